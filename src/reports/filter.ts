import type { Prisma, Provider } from '../db/database.js';
import type { Viewer } from '../kernel/requestIdentity.js';

export interface ReportFilter {
  status?: string | null;
  tag?: string | null;
  authorId?: string | null;
  search?: string | null;
  createdAfter?: Date | string | null;
  createdBefore?: Date | string | null;
}

/** The author whose reports a viewer may read: a USER only their own; null means everyone's. */
export function readableAuthor(viewer: Pick<Viewer, 'id' | 'role'>): string | null {
  return viewer.role === 'USER' ? viewer.id : null;
}

/**
 * LIKE patterns: PostgreSQL's LIKE treats a backslash as the escape character, so `%`, `_` and `\`
 * in a search are matched literally. Prisma emits SQLite's LIKE without an ESCAPE clause, so there
 * they cannot be escaped and keep their wildcard meaning.
 */
function likeLiteral(text: string, provider: Provider): string {
  return provider === 'postgresql' ? text.replace(/[\\%_]/g, (c) => `\\${c}`) : text;
}

/**
 * The Prisma `where` for reports matching `filter` that `author` (from readableAuthor) may read.
 * `createdAfter` is inclusive and `createdBefore` exclusive, so adjacent ranges never overlap.
 */
export function reportWhere(filter: ReportFilter | null | undefined, author: string | null, provider: Provider): Prisma.ReportWhereInput {
  const and: Prisma.ReportWhereInput[] = [];
  if (author !== null) and.push({ authorId: author });
  if (filter?.authorId) and.push({ authorId: filter.authorId });
  if (filter?.status) and.push({ status: filter.status });
  if (filter?.tag?.trim()) and.push({ tags: { some: { tag: filter.tag.trim().toLowerCase() } } });
  const search = filter?.search?.trim().toLowerCase();
  if (search) and.push({ searchText: { contains: likeLiteral(search, provider) } });
  if (filter?.createdAfter) and.push({ createdAt: { gte: new Date(filter.createdAfter) } });
  if (filter?.createdBefore) and.push({ createdAt: { lt: new Date(filter.createdBefore) } });
  return { AND: and };
}
