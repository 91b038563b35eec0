import type { Database } from '../db/database.js';
import { deleteInBatches } from '../db/deleteInBatches.js';

/** The exports domain's part of maintenance: exports past their expiry, with their file chunks. */
export async function purgeExpiredExports(db: Database): Promise<{ exports: number; chunks: number }> {
  const { prisma } = db;
  const where = { expiresAt: { lt: new Date() } };
  let chunks = 0;
  const exports = await deleteInBatches(
    (take) => prisma.export.findMany({ where, select: { id: true }, take }),
    async (ids) => {
      const [removedChunks, removedExports] = await prisma.$transaction([
        prisma.exportChunk.deleteMany({ where: { exportId: { in: ids } } }),
        prisma.export.deleteMany({ where: { id: { in: ids } } }),
      ]);
      chunks += removedChunks.count;
      return removedExports;
    },
  );
  return { exports, chunks };
}
