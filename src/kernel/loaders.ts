import DataLoader from 'dataloader';
import type { Database } from '../db/database.js';
import type { User } from '../db/models.js';

/**
 * Per-request batching: every `author` / `actor` of a page is fetched in one query.
 * Created lazily, so requests that need no loader pay nothing.
 */
export class Loaders {
  private usersLoader: DataLoader<string, User | null> | undefined;

  constructor(private readonly db: Database) {}

  get users(): DataLoader<string, User | null> {
    this.usersLoader ??= new DataLoader(async (ids) => {
      const rows = await this.db.prisma.user.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    return this.usersLoader;
  }
}
