import type { Resolvers } from '../generated/graphql.js';
import { selectsField } from '../kernel/selection.js';
import { viewerOf } from '../kernel/viewer.js';
import { readData } from './validation.js';

export const reportResolvers: Resolvers = {
  Query: {
    reports: (_parent, { first, after, filter }, ctx, info) => ctx.services.reports.list(viewerOf(ctx), first, after, filter, selectsField(info, 'totalCount')),
    report: (_parent, { id }, ctx) => ctx.services.reports.get(viewerOf(ctx), id),
  },
  Mutation: {
    createReport: (_parent, { input }, ctx) => ctx.services.reports.create(viewerOf(ctx), input),
    updateReport: (_parent, { id, input }, ctx) => ctx.services.reports.update(viewerOf(ctx), id, input),
    deleteReport: (_parent, { id }, ctx) => ctx.services.reports.delete(viewerOf(ctx), id),
  },
  Report: {
    tags: (report) => JSON.parse(report.tagsJson) as string[],
    data: (report) => readData(report.dataJson),
    // Batched: a page of reports loads its authors in one query. The foreign key cascades, so the author exists.
    author: async (report, _args, ctx) => (await ctx.loaders.users.load(report.authorId))!,
  },
};
