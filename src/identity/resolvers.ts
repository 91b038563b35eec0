import type { Resolvers } from '../generated/graphql.js';
import { viewerOf } from '../kernel/viewer.js';

export const identityResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, ctx) => ctx.services.identity.me(viewerOf(ctx)),
    users: (_parent, { first, after, filter }, ctx) => ctx.services.identity.users(first, after, filter),
    user: (_parent, { id }, ctx) => ctx.services.identity.user(id),
  },
  Mutation: {
    register: async (_parent, { input }, ctx) => {
      const payload = await ctx.services.identity.register(input, ctx);
      ctx.signedInAs = payload.user.id;
      return payload;
    },
    login: async (_parent, { input }, ctx) => {
      const payload = await ctx.services.identity.login(input, ctx);
      ctx.signedInAs = payload.user.id;
      return payload;
    },
    refreshToken: async (_parent, { refreshToken }, ctx) => {
      const payload = await ctx.services.identity.refresh(refreshToken, ctx);
      ctx.signedInAs = payload.user.id;
      return payload;
    },
    logout: (_parent, { refreshToken }, ctx) => ctx.services.identity.logout(viewerOf(ctx), refreshToken),
    logoutAll: (_parent, _args, ctx) => ctx.services.identity.logoutAll(viewerOf(ctx)),
    updateMe: (_parent, { input }, ctx) => ctx.services.identity.updateMe(viewerOf(ctx), input),
    changePassword: (_parent, { input }, ctx) => ctx.services.identity.changePassword(viewerOf(ctx), input),
    setUserRole: (_parent, { id, role }, ctx) => ctx.services.identity.setUserRole(viewerOf(ctx), id, role),
    setUserDisabled: (_parent, { id, disabled }, ctx) =>
      ctx.services.identity.setUserDisabled(viewerOf(ctx), id, disabled),
  },
};
