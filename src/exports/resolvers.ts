import type { Resolvers } from '../generated/graphql.js';
import { viewerOf } from '../kernel/viewer.js';

export const exportResolvers: Resolvers = {
  Query: {
    export: (_parent, { id }, ctx) => ctx.services.exports.get(viewerOf(ctx), id),
  },
  Mutation: {
    createExport: (_parent, { input }, ctx) => ctx.services.exports.create(viewerOf(ctx), input),
  },
  Export: {
    status: (row, _args, ctx) => ctx.services.exports.statusOf(row),
    downloadUrl: (row, _args, ctx) => ctx.services.exports.downloadUrl(row),
  },
};
