import type { Resolvers } from '../generated/graphql.js';
import { resolveRange } from '../kernel/timeRange.js';

export const analyticsResolvers: Resolvers = {
  Query: {
    analyticsOverview: (_parent, { range }, ctx) => ctx.services.analytics.overview(resolveRange(range)),
    reportTimeseries: (_parent, { range, bucket }, ctx) => ctx.services.analytics.reportTimeseries(resolveRange(range), bucket),
    securityOverview: (_parent, { range }, ctx) => ctx.services.analytics.securityOverview(resolveRange(range)),
  },
};
