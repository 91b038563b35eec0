import type { Database } from '../db/database.js';
import { deleteInBatches } from '../db/deleteInBatches.js';

const DAY_MS = 24 * 3600 * 1000;

/** The audit domain's part of maintenance: events older than the retention (AUDIT_RETENTION_DAYS). */
export function purgeOldAudit(db: Database, retentionDays: number): Promise<number> {
  const { auditEvent } = db.prisma;
  const where = { createdAt: { lt: new Date(Date.now() - retentionDays * DAY_MS) } };
  return deleteInBatches(
    (take) => auditEvent.findMany({ where, select: { id: true }, take }),
    (ids) => auditEvent.deleteMany({ where: { id: { in: ids } } }),
  );
}
