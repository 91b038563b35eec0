import type { Database } from '../db/database.js';
import { deleteInBatches } from '../db/deleteInBatches.js';

/** Identity's part of maintenance: sessions past their expiry; their refresh tokens go with them (cascade). */
export function purgeExpiredSessions(db: Database): Promise<number> {
  const { session } = db.prisma;
  const where = { expiresAt: { lt: new Date() } };
  return deleteInBatches(
    (take) => session.findMany({ where, select: { id: true }, take }),
    (ids) => session.deleteMany({ where: { id: { in: ids } } }),
  );
}
