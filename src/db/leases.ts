import type { Database } from './database.js';
import { isUniqueViolation } from './errors.js';

/**
 * Named leases in the Lease table: one holder at a time across every instance. A holder that
 * dies stops renewing; once the lease has expired anyone may take it over.
 */
export class Leases {
  constructor(
    private readonly db: Database,
    /** This instance. */
    private readonly holder: string,
  ) {}

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlMs);
    try {
      await this.db.prisma.lease.create({ data: { name, holder: this.holder, expiresAt } });
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const { count } = await this.db.prisma.lease.updateMany({
      where: { name, OR: [{ expiresAt: { lt: now } }, { holder: this.holder }] },
      data: { holder: this.holder, expiresAt },
    });
    return count === 1;
  }

  /** Extends a lease this instance holds; false when it was lost (expired and taken over). */
  async renew(name: string, ttlMs: number): Promise<boolean> {
    const { count } = await this.db.prisma.lease.updateMany({
      where: { name, holder: this.holder },
      data: { expiresAt: new Date(Date.now() + ttlMs) },
    });
    return count === 1;
  }

  async release(name: string): Promise<void> {
    await this.db.prisma.lease.deleteMany({ where: { name, holder: this.holder } });
  }
}
