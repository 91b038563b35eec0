import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import type { Config } from '../config/config.js';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from '../db/errors.js';
import { ErrorCode, OUTAGE_RETRY_AFTER_SECONDS, contractCodeOf } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { clientErrorCodeOf } from './clientErrors.js';

/** Extension keys a client may see; anything else (stack traces, exceptions) is dropped. */
const SAFE_EXTENSIONS = new Set(['code', 'field', 'retryAfter', 'feature', 'limit', 'requestId', 'http']);

/** graphql's "Did you mean …?" hints, which reveal schema names (also in variable coercion errors). */
const SUGGESTION = /\s*Did you mean .*$/s;

/**
 * Only deliberate errors carrying a contract code pass through. Everything else becomes
 * INTERNAL_SERVER_ERROR, logged here with its stack; the client sees no internal message.
 * Internal messages are shown in development only; suggestions are removed in production
 * (Apollo's hideSchemaDetailsFromClientErrors misses those in invalid-variable errors).
 */
export type ErrorMasker = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export function createErrorMasker(logger: Logger, env: Config['env'], onDatabaseUnavailable: () => void = () => undefined): ErrorMasker {
  const showInternalMessages = env === 'development';
  const messageOf = (message: string) => (env === 'production' ? message.replace(SUGGESTION, '') : message);
  return (formatted, error) => {
    const given = contractCodeOf(formatted.extensions?.['code']);
    // Apollo fills in INTERNAL_SERVER_ERROR for its own code-less request errors: classify those first.
    const code = given && given !== ErrorCode.INTERNAL_SERVER_ERROR ? given : (clientErrorCodeOf(error) ?? given);
    if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const extensions: Record<string, unknown> = { code };
      for (const [key, value] of Object.entries(formatted.extensions ?? {})) {
        if (SAFE_EXTENSIONS.has(key) && key !== 'code' && key !== 'http') extensions[key] = value;
      }
      return { message: messageOf(formatted.message), locations: formatted.locations, path: formatted.path, extensions };
    }
    const original = unwrapResolverError(error);
    if (isDatabaseUnavailable(original)) {
      // Not a bug but an outage: clients are told to retry, and it is not counted as a server fault.
      logger.warn({ err: original, path: formatted.path }, 'database unavailable');
      onDatabaseUnavailable();
      return {
        message: DATABASE_UNAVAILABLE,
        path: formatted.path,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter: OUTAGE_RETRY_AFTER_SECONDS },
      };
    }
    logger.error({ err: original, path: formatted.path }, 'internal error');
    return {
      message: showInternalMessages ? formatted.message : 'Internal server error',
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

/**
 * The contract code an error will reach the client with, from the error as raised (before
 * masking): its own code, a client mistake's code (Apollo's code-less 4xx request errors),
 * SERVICE_UNAVAILABLE for a database outage, else INTERNAL_SERVER_ERROR.
 */
export function errorCodeOf(error: { extensions?: Record<string, unknown> }): ErrorCode {
  const code = contractCodeOf(error.extensions?.['code']);
  if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR) return code;
  const clientMistake = clientErrorCodeOf(error);
  if (clientMistake) return clientMistake;
  return isDatabaseUnavailable(unwrapResolverError(error)) ? ErrorCode.SERVICE_UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR;
}
