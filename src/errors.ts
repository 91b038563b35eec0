import { GraphQLError } from 'graphql';

/** The contract's closed set of error codes. Anything else reaching a client is masked. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  FEATURE_DISABLED: 'FEATURE_DISABLED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /** A dependency (the database, Redis where there is no fallback) cannot be reached right now. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const CONTRACT_CODES = new Set<string>(Object.values(ErrorCode));

/** Apollo's own codes that are safe to show, mapped onto the contract's. */
const APOLLO_CODES: Record<string, ErrorCode> = {
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.PERSISTED_QUERY_NOT_FOUND,
};

export function isContractCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CONTRACT_CODES.has(code);
}

/** Maps an error code from GraphQL or Apollo onto the contract; undefined when it must be masked. */
export function contractCodeOf(code: unknown): ErrorCode | undefined {
  if (isContractCode(code)) return code;
  return typeof code === 'string' ? APOLLO_CODES[code] : undefined;
}

/** A deliberate error: its message and code are meant for the client. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

/**
 * A refusal by a service's ownership rule (someone else's report or export), outside the SDL's
 * policies. The API reports it as the same denied security event as a policy refusal
 * (src/graphql/plugins.ts); its message is the one a missing resource gets, so nothing leaks.
 */
export class OwnershipDenied extends AppError {
  constructor(
    code: typeof ErrorCode.NOT_FOUND | typeof ErrorCode.FORBIDDEN,
    message: string,
    /** What was refused, e.g. `Report:<id>`. */
    readonly resource: string,
  ) {
    super(code, message);
  }
}

/** Someone else's resource, answered exactly as a missing one. */
export const notYours = (what: string, id: string) => new OwnershipDenied(ErrorCode.NOT_FOUND, `${what.toLowerCase()} not found`, `${what}:${id}`);

export const unauthenticated = (message = 'authentication required') => new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'not allowed') => new AppError(ErrorCode.FORBIDDEN, message);
export const notFound = (what = 'resource') => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
export const conflict = (message: string, field?: string) =>
  new AppError(ErrorCode.CONFLICT, message, field ? { field } : {});
export const badInput = (field: string, message: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`, { field });
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError(ErrorCode.RATE_LIMITED, `too many requests, retry in ${retryAfterSeconds} s`, {
    retryAfter: retryAfterSeconds,
  });
export const featureDisabled = (feature: string) =>
  new AppError(ErrorCode.FEATURE_DISABLED, `${feature.toLowerCase()} is disabled on this server`, { feature });

/** Seconds a client is asked to wait before retrying during a dependency outage. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

export const serviceUnavailable = (message: string) =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, message, { retryAfter: OUTAGE_RETRY_AFTER_SECONDS });
