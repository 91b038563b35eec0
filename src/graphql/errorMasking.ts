import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import type { Config } from '../config/config.js';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from '../db/errors.js';
import { ErrorCode, contractCodeOf } from '../errors.js';
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
export function createErrorMasker(logger: Logger, env: Config['env']) {
  const showInternalMessages = env === 'development';
  const messageOf = (message: string) => (env === 'production' ? message.replace(SUGGESTION, '') : message);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
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
    logger.error({ err: original, path: formatted.path }, 'internal error');
    if (isDatabaseUnavailable(original)) {
      // Not a bug but an outage: say so, so clients retry instead of reporting it.
      return { message: DATABASE_UNAVAILABLE, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
    }
    return {
      message: showInternalMessages ? formatted.message : 'Internal server error',
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
