/** Prisma's unique-constraint violation (P2002), whatever the provider. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

/** Prisma's "record to update/delete not found" (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2025';
}

/** Prisma's codes for a database that cannot be reached or stopped answering. */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** Driver-adapter error kinds with the same meaning. */
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/** What a client is told during a database outage (a deliberate message: clients should retry). */
export const DATABASE_UNAVAILABLE = 'the database is unavailable; retry shortly';

/** Whether an error means "the database is down or unreachable" (not a bad query). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, meta, cause } = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } }; cause?: { kind?: unknown } };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  const kind = meta?.driverAdapterError?.cause?.kind ?? cause?.kind;
  return typeof kind === 'string' && UNAVAILABLE_KINDS.has(kind);
}
