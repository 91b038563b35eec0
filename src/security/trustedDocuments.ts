import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config.js';
import { ErrorCode } from '../errors.js';

/** What a client sent: a document, a persisted-document id, or an APQ hash. */
export interface OperationSource {
  query?: unknown;
  documentId?: unknown;
  extensions?: { persistedQuery?: { sha256Hash?: unknown } } | unknown;
}

export type TrustedResolution =
  | { ok: true; query: string }
  | { ok: false; code: typeof ErrorCode.PERSISTED_QUERY_NOT_FOUND | typeof ErrorCode.FORBIDDEN; message: string };

/**
 * The trusted-documents list (TRUSTED_DOCUMENTS=<manifest>): the persisted-documents manifest that
 * codegen writes (`"sha256:<hex>": "<document>"`). Only these operations run, sent by hash
 * (`documentId` or APQ's `extensions.persistedQuery.sha256Hash`) or as the exact document text.
 */
export class TrustedDocuments {
  private constructor(private readonly byHash: Map<string, string>) {}

  static load(file: string): TrustedDocuments {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError('TRUSTED_DOCUMENTS', `must name a readable JSON manifest (${(error as Error).message})`);
    }
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      throw new ConfigError('TRUSTED_DOCUMENTS', 'must be a JSON object of hash → document');
    }
    const byHash = new Map<string, string>();
    for (const [key, document] of Object.entries(manifest)) {
      if (typeof document !== 'string') throw new ConfigError('TRUSTED_DOCUMENTS', `entry ${key} is not a document string`);
      byHash.set(sha256(document), document);
    }
    return new TrustedDocuments(byHash);
  }

  resolve(source: OperationSource): TrustedResolution {
    const hash = requestedHash(source);
    if (hash !== undefined) {
      const query = this.byHash.get(hash);
      return query !== undefined
        ? { ok: true, query }
        : { ok: false, code: ErrorCode.PERSISTED_QUERY_NOT_FOUND, message: 'PersistedQueryNotFound' };
    }
    if (typeof source.query === 'string' && this.byHash.has(sha256(source.query))) return { ok: true, query: source.query };
    return { ok: false, code: ErrorCode.FORBIDDEN, message: 'only trusted documents may run on this server' };
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The hex hash a client asked for, from `documentId` ("sha256:<hex>") or APQ's extension. */
function requestedHash(source: OperationSource): string | undefined {
  if (typeof source.documentId === 'string') return source.documentId.replace(/^sha256:/, '').toLowerCase();
  const extensions = source.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
  const apq = extensions?.persistedQuery?.sha256Hash;
  return typeof apq === 'string' ? apq.replace(/^sha256:/, '').toLowerCase() : undefined;
}
