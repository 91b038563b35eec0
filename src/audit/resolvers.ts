import type { Resolvers } from '../generated/graphql.js';

export const auditResolvers: Resolvers = {
  Query: {
    auditLog: (_parent, { first, after, filter }, ctx) => ctx.services.auditQueries.list(first, after, filter),
  },
  AuditEvent: {
    // Batched per page; null when anonymous or the user has since been deleted.
    actor: (event, _args, ctx) => (event.actorId ? ctx.loaders.users.load(event.actorId) : null),
  },
};
