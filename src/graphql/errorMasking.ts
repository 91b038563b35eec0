import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode, contractCodeOf } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/** Extension keys a client may see; anything else (stack traces, exceptions) is dropped. */
const SAFE_EXTENSIONS = new Set(['code', 'field', 'retryAfter', 'feature', 'limit', 'requestId', 'http']);

/**
 * Only deliberate errors carrying a contract code pass through. Everything else becomes
 * INTERNAL_SERVER_ERROR, logged here with its stack; the client sees no internal message.
 */
export function createErrorMasker(logger: Logger, showInternalMessages: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = contractCodeOf(formatted.extensions?.['code']);
    if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const extensions: Record<string, unknown> = { code };
      for (const [key, value] of Object.entries(formatted.extensions ?? {})) {
        if (SAFE_EXTENSIONS.has(key) && key !== 'code' && key !== 'http') extensions[key] = value;
      }
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions };
    }
    const original = unwrapResolverError(error);
    logger.error({ err: original, path: formatted.path }, 'internal error');
    return {
      message: showInternalMessages ? formatted.message : 'Internal server error',
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
