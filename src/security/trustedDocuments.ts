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

/** Apollo's persisted-query manifest, as `npm run codegen` writes it (client/generated/persisted-query-manifest.json). */
interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: Array<{ id: string; name: string; type: string; body: string }>;
}

/**
 * The trusted-documents list (TRUSTED_DOCUMENTS=<manifest>): Apollo's persisted-query manifest, whose
 * bodies are the documents exactly as Apollo Client sends them (`__typename` included) and whose ids
 * are their sha256. Only these operations run, sent by hash (`documentId` or APQ's
 * `extensions.persistedQuery.sha256Hash`) or as the exact document text.
 */
export class TrustedDocuments {
  private constructor(
    private readonly byHash: Map<string, string>,
    private readonly nameByBody: Map<string, string>,
  ) {}

  static load(file: string): TrustedDocuments {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError('TRUSTED_DOCUMENTS', `must name a readable JSON manifest (${(error as Error).message})`);
    }
    if (!isPersistedQueryManifest(manifest)) {
      throw new ConfigError(
        'TRUSTED_DOCUMENTS',
        'must be an Apollo persisted-query manifest (client/generated/persisted-query-manifest.json, written by npm run codegen)',
      );
    }
    const byHash = new Map<string, string>();
    const nameByBody = new Map<string, string>();
    for (const operation of manifest.operations) {
      // One hash for one text: an id that is not the body's sha256 would never match what clients send.
      if (operation.id !== sha256(operation.body)) {
        throw new ConfigError('TRUSTED_DOCUMENTS', `operation ${operation.name}: its id is not the sha256 of its body`);
      }
      byHash.set(operation.id, operation.body);
      nameByBody.set(operation.body, operation.name);
    }
    return new TrustedDocuments(byHash, nameByBody);
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

  /** The manifest's name for a document text, when it is a trusted document (a bounded set: metric labels). */
  nameOf(query: string): string | undefined {
    return this.nameByBody.get(query);
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

function isPersistedQueryManifest(value: unknown): value is PersistedQueryManifest {
  const manifest = value as Partial<PersistedQueryManifest> | null;
  return (
    typeof manifest === 'object' &&
    manifest !== null &&
    manifest.format === 'apollo-persisted-query-manifest' &&
    manifest.version === 1 &&
    Array.isArray(manifest.operations) &&
    manifest.operations.every((op) => typeof op?.id === 'string' && typeof op.body === 'string' && typeof op.name === 'string')
  );
}
