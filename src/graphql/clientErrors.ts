import { ErrorCode } from '../errors.js';

/** Apollo's message when an APQ request carries a document whose hash is not the one it names. */
const HASH_MISMATCH = 'provided sha does not match query';

interface RequestErrorShape {
  message?: unknown;
  path?: unknown;
  originalError?: unknown;
  extensions?: { code?: unknown; http?: { status?: unknown } };
}

/**
 * The contract code of a request error that Apollo raises without a code of its own: a mismatched
 * persisted-query hash, an unsupported persisted-query version, and the like. Apollo marks these
 * with a 4xx HTTP status; they are the client's mistake, never an INTERNAL_SERVER_ERROR.
 * Undefined for anything else (resolver faults and thrown exceptions stay server errors).
 */
export function clientErrorCodeOf(error: unknown): ErrorCode | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as RequestErrorShape;
  if (candidate.extensions?.code !== undefined || candidate.originalError || candidate.path) return undefined;
  const status = candidate.extensions?.http?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return candidate.message === HASH_MISMATCH ? ErrorCode.PERSISTED_QUERY_NOT_FOUND : ErrorCode.BAD_USER_INPUT;
}
