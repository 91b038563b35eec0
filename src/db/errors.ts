/** Prisma's unique-constraint violation (P2002), whatever the provider. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

/** Prisma's "record to update/delete not found" (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2025';
}

/**
 * Codes that mean "the database cannot be reached or stopped answering", not "this query is bad":
 * - Prisma: P1001 unreachable, P1002 timed out, P1008 operation timed out, P1017 connection
 *   closed, P2024 pool timeout;
 * - PostgreSQL SQLSTATE: 57014 statement timeout (query_canceled), 57P01..57P03 shutting down or
 *   starting, 53300 too many connections, class 08 connection exceptions;
 * - Node sockets: refused, reset, timed out, broken pipe, unreachable;
 * - SQLite: SQLITE_BUSY and SQLITE_LOCKED (another writer held the lock past busy_timeout).
 */
const UNAVAILABLE_CODES = new Set([
  'P1001', 'P1002', 'P1008', 'P1017', 'P2024',
  '57014', '57P01', '57P02', '57P03', '53300',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED',
]);
/** Driver-adapter error kinds with the same meaning. */
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLite's primary result codes for BUSY (5) and LOCKED (6), as the adapter reports them. */
const SQLITE_BUSY_CODES = new Set([5, 6]);
/** pg's own messages for these cases, which carry no code. */
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|database is locked/i;

/** What a client is told during a database outage (a deliberate message: clients should retry). */
export const DATABASE_UNAVAILABLE = 'the database is unavailable; retry shortly';

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  extendedCode?: unknown;
  meta?: { driverAdapterError?: { cause?: ErrorShape } };
  cause?: unknown;
}

/**
 * Whether an error means "the database is down, unreachable or too busy to answer in time" (not a
 * bad query). Looks through Prisma's wrapping, the driver adapter's error and any `cause` chain.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    const e = current as ErrorShape;
    if (matches(e) || matches(e.meta?.driverAdapterError?.cause)) return true;
    current = e.cause;
  }
  return false;
}

function matches(e: ErrorShape | undefined): boolean {
  if (!e) return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (typeof e.originalCode === 'string' && (UNAVAILABLE_CODES.has(e.originalCode) || e.originalCode.startsWith('08'))) return true;
  if (typeof e.kind === 'string' && UNAVAILABLE_KINDS.has(e.kind)) return true;
  if (e.kind === 'sqlite' && typeof e.extendedCode === 'number' && SQLITE_BUSY_CODES.has(e.extendedCode & 0xff)) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message);
}
