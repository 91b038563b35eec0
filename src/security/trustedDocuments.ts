import { ConfigError, type TrustedDocumentsMode } from '../config/config.js';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { compileManifest, ManifestError, sha256, type CompiledManifest, type DocumentChecks, type TrustedDocument } from './trustedManifest.js';
import { UnknownOperations } from './unknownOperations.js';

export type { TrustedDocument } from './trustedManifest.js';

/** What a client sent: a document, a persisted-document id, or an APQ hash. */
export interface OperationSource {
  query?: unknown;
  documentId?: unknown;
  operationName?: unknown;
  extensions?: { persistedQuery?: { sha256Hash?: unknown } } | unknown;
}

export type TrustedResolution =
  /** In the list: run `query` (the manifest's text); `document` was parsed and validated at load. */
  | { ok: true; outcome: 'trusted'; query: string; name: string; document: TrustedDocument }
  /** Not in the list, and TRUSTED_DOCUMENTS_MODE=log-unknown: run it as sent, with every limit. */
  | { ok: true; outcome: 'unknown' }
  | { ok: false; outcome: 'refused'; code: typeof ErrorCode.PERSISTED_QUERY_NOT_FOUND | typeof ErrorCode.FORBIDDEN; message: string };

export interface TrustedDocumentsOptions {
  /** The manifest (TRUSTED_DOCUMENTS), read at start and again on every reload. */
  file: string;
  mode: TrustedDocumentsMode;
  checks: DocumentChecks;
  metrics: Metrics;
  logger: Logger;
}

const TEXT_REFUSED = 'this server runs operations sent by id only (documentId or extensions.persistedQuery.sha256Hash), not document text';
const NOT_TRUSTED = 'only trusted documents may run on this server';

/**
 * The trusted-documents list (TRUSTED_DOCUMENTS=<manifest>): Apollo's persisted-query manifest,
 * whose bodies are the documents exactly as Apollo Client sends them (`__typename` included) and
 * whose ids are their sha256. Every document is parsed and validated once, at load.
 * TRUSTED_DOCUMENTS_MODE says what the list does:
 * - `log-unknown`: everything runs; what is not in the list is counted and logged (bounded);
 * - `enforce`: only the list runs, sent by id (`documentId`, APQ's hash) or as its exact text;
 * - `require-id`: only the list runs, sent by id; text is refused, even the list's own (answering
 *   text by whether it is trusted would tell anyone which documents the list holds).
 * `reload()` reads the manifest again; a manifest that fails leaves the current list in force.
 */
export class TrustedDocuments {
  private readonly unknown: UnknownOperations;

  private constructor(
    private readonly options: TrustedDocumentsOptions,
    /** Replaced whole by a successful reload: a request sees the old list or the new one, never a mix. */
    private list: CompiledManifest,
  ) {
    this.unknown = new UnknownOperations(options.logger, options.metrics);
    this.announce('trusted documents loaded');
  }

  /** At start: a manifest that fails stops the server, naming each failing operation. */
  static load(options: TrustedDocumentsOptions): TrustedDocuments {
    try {
      return new TrustedDocuments(options, compileManifest(options.file, options.checks));
    } catch (error) {
      if (error instanceof ManifestError) throw new ConfigError('TRUSTED_DOCUMENTS', error.message);
      throw error;
    }
  }

  get mode(): TrustedDocumentsMode {
    return this.options.mode;
  }

  get size(): number {
    return this.list.byId.size;
  }

  /** The manifest document with this id (hex sha256), e.g. Apollo's `queryHash` for a trusted request. */
  get(id: string): TrustedDocument | undefined {
    return this.list.byId.get(id);
  }

  /** The manifest's name for a document text, when it is a trusted document (a bounded set: metric labels). */
  nameOf(query: string): string | undefined {
    return this.list.byId.get(sha256(query))?.name;
  }

  /** Reads the manifest again (SIGHUP). On any failure the list in force stays, and the failure is logged. */
  reload(): boolean {
    const { logger, metrics, file } = this.options;
    let next: CompiledManifest;
    try {
      next = compileManifest(file, this.options.checks);
    } catch (error) {
      // Whatever went wrong, the list in force keeps serving: a reload never takes the API down.
      metrics.trustedDocumentsReloads.inc({ result: 'failure' });
      const problems = error instanceof ManifestError ? error.problems.length : 1;
      logger.error(
        { file, problems, inForce: this.size, ...(error instanceof ManifestError ? {} : { err: error }) },
        `trusted documents: reload refused, the previous list of ${this.size} operations stays in force: ${(error as Error).message}`,
      );
      return false;
    }
    this.list = next;
    metrics.trustedDocumentsReloads.inc({ result: 'success' });
    this.announce('trusted documents reloaded');
    return true;
  }

  resolve(source: OperationSource): TrustedResolution {
    const { mode } = this.options;
    const hash = requestedHash(source);
    if (hash !== undefined) {
      const document = this.list.byId.get(hash);
      if (document) return this.trusted(document);
      // In log-unknown an APQ hash goes on to Apollo's own APQ cache, as without a list; a
      // documentId alone names nothing Apollo could run.
      if (mode === 'log-unknown' && (typeof source.query === 'string' || source.documentId === undefined)) return this.unknownRuns(hash, source);
      return this.refused(ErrorCode.PERSISTED_QUERY_NOT_FOUND, 'PersistedQueryNotFound');
    }
    if (mode === 'require-id') return this.refused(ErrorCode.FORBIDDEN, TEXT_REFUSED);
    const textHash = typeof source.query === 'string' ? sha256(source.query) : undefined;
    const document = textHash === undefined ? undefined : this.list.byId.get(textHash);
    if (document) return this.trusted(document);
    if (mode === 'log-unknown') return this.unknownRuns(textHash, source);
    return this.refused(ErrorCode.FORBIDDEN, NOT_TRUSTED);
  }

  private trusted(document: TrustedDocument): TrustedResolution {
    this.options.metrics.trustedDocumentRequests.inc({ outcome: 'trusted' });
    return { ok: true, outcome: 'trusted', query: document.body, name: document.name, document };
  }

  private unknownRuns(hash: string | undefined, source: OperationSource): TrustedResolution {
    this.unknown.record(hash, source.operationName);
    return { ok: true, outcome: 'unknown' };
  }

  private refused(code: typeof ErrorCode.PERSISTED_QUERY_NOT_FOUND | typeof ErrorCode.FORBIDDEN, message: string): TrustedResolution {
    this.options.metrics.trustedDocumentRequests.inc({ outcome: 'refused' });
    return { ok: false, outcome: 'refused', code, message };
  }

  private announce(message: string): void {
    const { logger, metrics, file, mode } = this.options;
    metrics.trustedDocumentsLoaded.set(this.size);
    logger.info({ file, mode, operations: this.size, exempted: this.list.exempted.length }, `${message}: ${this.size} operations`);
    for (const { name, id, limit } of this.list.exempted) {
      logger.warn({ operation: name, documentId: `sha256:${id}` }, `trusted document ${name} is over a query limit and runs without the limits (TRUSTED_DOCUMENTS_SKIP_LIMITS): ${limit}`);
    }
  }
}

/** The hex hash a client asked for, from `documentId` ("sha256:<hex>") or APQ's extension. */
function requestedHash(source: OperationSource): string | undefined {
  if (typeof source.documentId === 'string') return source.documentId.replace(/^sha256:/, '').toLowerCase();
  const extensions = source.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
  const apq = extensions?.persistedQuery?.sha256Hash;
  return typeof apq === 'string' ? apq.replace(/^sha256:/, '').toLowerCase() : undefined;
}
