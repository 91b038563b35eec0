import type { Resolvers } from '../generated/graphql.js';
import { viewerOf } from '../kernel/viewer.js';

/*
 * Subscription fields have only `subscribe`, never `resolve`: graphql-middleware wraps `resolve`
 * when there is one, which would run shield per event instead of once at subscribe time. The
 * streams yield `{ alertRaised }` / `{ systemMetrics }` payloads for the default resolver.
 */
export const systemResolvers: Resolvers = {
  Query: {
    systemStatus: (_parent, _args, ctx) => ctx.services.system.status(),
    systemMetricsHistory: (_parent, { range }, ctx) => ctx.services.system.history(range),
    diagnostics: (_parent, _args, ctx) => ctx.services.system.diagnostics(),
    alerts: (_parent, { first, filter }, ctx) => ctx.services.alerts.list(first, filter),
  },
  Mutation: {
    raiseAlert: (_parent, { input }, ctx) => ctx.services.alerts.raiseManual(input),
    acknowledgeAlert: (_parent, { id }, ctx) => ctx.services.alerts.acknowledge(id, viewerOf(ctx).id),
    resolveAlert: (_parent, { id }, ctx) => ctx.services.alerts.resolve(id, viewerOf(ctx).id),
    runMaintenance: async (_parent, { task }, ctx, info) => {
      const result = await ctx.services.system.runMaintenance(task);
      (ctx.auditDetail ??= {})[info.path.key] = { ...result };
      return result;
    },
  },
  Subscription: {
    alertRaised: { subscribe: (_parent, { minSeverity }, ctx) => ctx.services.alerts.subscribe(minSeverity ?? 'INFO') },
    systemMetrics: { subscribe: (_parent, _args, ctx) => ctx.services.system.metricsStream() },
  },
};
