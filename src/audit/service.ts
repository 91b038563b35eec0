import type { Database } from '../db/database.js';
import type { AuditEvent } from '../db/models.js';
import { NEWEST_FIRST, afterCursor, decodeCursor, pageSize, toConnection, type Connection } from '../kernel/pagination.js';
import type { AuditLog } from '../observability/auditLog.js';

export interface AuditFilter {
  action?: string | null;
  actorId?: string | null;
  outcome?: string | null;
  from?: Date | string | null;
  to?: Date | string | null;
}

/** Reading the audit log (ADMIN). Writing is AuditLog's job. */
export class AuditQueries {
  constructor(
    private readonly db: Database,
    private readonly writer: AuditLog,
  ) {}

  /** Newest first; `from` is inclusive and `to` exclusive. */
  async list(first: number | null | undefined, after: string | null | undefined, filter: AuditFilter | null | undefined): Promise<Connection<AuditEvent>> {
    const size = pageSize(first);
    const cursor = decodeCursor(after);
    // The writer buffers: flush so that what was just done is in the answer.
    await this.writer.flush();
    const createdAt = {
      ...(filter?.from ? { gte: new Date(filter.from) } : {}),
      ...(filter?.to ? { lt: new Date(filter.to) } : {}),
    };
    const where = {
      ...(filter?.action ? { action: filter.action } : {}),
      ...(filter?.actorId ? { actorId: filter.actorId } : {}),
      ...(filter?.outcome ? { outcome: filter.outcome } : {}),
      ...(filter?.from || filter?.to ? { createdAt } : {}),
    };
    const [rows, totalCount] = await Promise.all([
      this.db.prisma.auditEvent.findMany({ where: { AND: [where, afterCursor(cursor)] }, orderBy: NEWEST_FIRST, take: size + 1 }),
      this.db.prisma.auditEvent.count({ where }),
    ]);
    return toConnection(rows, size, totalCount);
  }
}
