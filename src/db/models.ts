/**
 * The rows the domains work with, as Prisma types them. Both databases' clients generate the same
 * model types, so the SQLite client's stand for both; domains import them from here, not from the
 * generated code, which stays the db room's business.
 */
export type { Alert, AuditEvent, Export, MetricSample, Report, User } from '../generated/prisma-sqlite/client.js';
