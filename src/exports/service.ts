import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../observability/auditLog.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import { badInput, forbidden, notFound, notYours } from '../errors.js';
import type { Export } from '../db/models.js';
import type { Viewer } from '../kernel/requestIdentity.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import { readableAuthor, searchWords, type ReportFilter } from '../reports/filter.js';
import { ChunkStore } from './chunkStore.js';
import type { ExportFormat } from './formats.js';
import { Leases } from '../db/leases.js';
import { ExportLinks, InvalidLinkError, type LinkClaims } from './links.js';
import type { ReportsScope } from './sources.js';
import { ExportWorker } from './worker.js';

export type ExportKind = 'REPORTS' | 'AUDIT_LOG';
export type ExportStatus = 'PENDING' | 'READY' | 'FAILED' | 'EXPIRED';

export interface CreateExportInput {
  kind: ExportKind;
  format: ExportFormat;
  filter?: ReportFilter | null;
}

/** Why a download is refused, as an HTTP status: tampered 403, gone 404, expired 410, not ready 409. */
export type DownloadCheck =
  | { ok: true; export: Export }
  | { ok: false; status: 403 | 404 | 409 | 410; message: string; invalidLink?: boolean };

/** Stored chunks read per round trip while streaming a download (about 1 MiB). */
const CHUNKS_PER_READ = 4;

export interface ExportsDeps {
  db: Database;
  audit: AuditLog;
  logger: Logger;
  pubsub: PubSub;
  config: Pick<Config, 'jwt' | 'exportLinkTtlSeconds' | 'exportRetentionSeconds'>;
  /** The public base URL of download links (PUBLIC_URL, else the server's own URL). */
  baseUrl: () => string;
}

/**
 * Exports: created PENDING and produced by the background worker into the database, visible to
 * their creator only, downloaded through signed links, EXPIRED after EXPORT_RETENTION (and then
 * deleted by the PURGE_EXPIRED_EXPORTS maintenance task, src/system/maintenance.ts).
 */
export class ExportsService {
  readonly links: ExportLinks;
  private readonly worker: ExportWorker;
  private readonly store: ChunkStore;

  constructor(private readonly deps: ExportsDeps) {
    this.links = new ExportLinks(deps.config);
    this.store = new ChunkStore(deps.db);
    this.worker = new ExportWorker({ db: deps.db, audit: deps.audit, logger: deps.logger, pubsub: deps.pubsub, leases: new Leases(deps.db, randomUUID()) });
  }

  private get prisma() {
    return this.deps.db.prisma;
  }

  /** Starts the worker; its first sweep picks up exports a crash left PENDING. */
  start(): void {
    this.worker.start();
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  /** Returns at once with the PENDING export; the worker produces the file. */
  async create(viewer: Viewer, input: CreateExportInput): Promise<Export> {
    if (input.kind === 'AUDIT_LOG' && viewer.role !== 'ADMIN') throw forbidden('AUDIT_LOG exports are for ADMIN only');
    if (input.kind === 'AUDIT_LOG' && input.filter) throw badInput('filter', 'only REPORTS exports take a filter');
    searchWords(input.filter?.search); // a term out of bounds is refused now, not when the worker runs
    // The reach is fixed now: a later role change does not widen or narrow this export.
    const scope: ReportsScope | null = input.kind === 'REPORTS' ? { filter: input.filter ?? null, author: readableAuthor(viewer) } : null;
    const createdAt = new Date();
    const row = await this.prisma.export.create({
      data: {
        createdAt,
        creatorId: viewer.id,
        kind: input.kind,
        format: input.format,
        filterJson: scope ? JSON.stringify(scope) : null,
        expiresAt: new Date(createdAt.getTime() + this.deps.config.exportRetentionSeconds * 1000),
      },
    });
    this.worker.enqueue(row.id);
    return row;
  }

  /** Someone else's export reads as NOT_FOUND. */
  async get(viewer: Viewer, id: string): Promise<Export> {
    const row = await this.prisma.export.findUnique({ where: { id } });
    if (!row) throw notFound('export');
    if (row.creatorId !== viewer.id) throw notYours('Export', id);
    return row;
  }

  /** EXPIRED is computed on read, so it holds from the instant of expiry, before any purge. */
  statusOf(row: Pick<Export, 'status' | 'expiresAt'>, now = new Date()): ExportStatus {
    return row.expiresAt <= now ? 'EXPIRED' : (row.status as ExportStatus);
  }

  async downloadUrl(row: Export): Promise<string | null> {
    if (this.statusOf(row) !== 'READY') return null;
    const token = await this.links.sign({ exportId: row.id, creatorId: row.creatorId }, row.expiresAt);
    return `${this.deps.baseUrl()}/exports/${row.id}/download?token=${token}`;
  }

  /** Whether `token` lets its bearer download export `id` now. */
  async checkDownload(id: string, token: string | undefined): Promise<DownloadCheck> {
    if (!token) return { ok: false, status: 403, message: 'a download link token is required', invalidLink: true };
    let claims: LinkClaims;
    try {
      claims = await this.links.verify(token);
    } catch (error) {
      if (error instanceof InvalidLinkError && error.reason === 'expired') return { ok: false, status: 410, message: 'download link expired' };
      return { ok: false, status: 403, message: 'invalid download link', invalidLink: true };
    }
    if (claims.exportId !== id) return { ok: false, status: 403, message: 'invalid download link', invalidLink: true };
    const row = await this.prisma.export.findUnique({ where: { id }, include: { creator: { select: { disabled: true } } } });
    if (!row) return { ok: false, status: 404, message: 'export not found' };
    if (row.creatorId !== claims.creatorId || row.creator.disabled) return { ok: false, status: 403, message: 'download not allowed' };
    const status = this.statusOf(row);
    if (status === 'EXPIRED') return { ok: false, status: 410, message: 'export expired' };
    if (status !== 'READY') return { ok: false, status: 409, message: `export is ${status}` };
    return { ok: true, export: row };
  }

  /** The file's pieces in order, a few at a time: a download's memory does not grow with its size. */
  async *chunks(exportId: string): AsyncGenerator<Uint8Array> {
    for (let next = 0; ; next += CHUNKS_PER_READ) {
      const chunks = await this.store.read(exportId, next, CHUNKS_PER_READ);
      yield* chunks;
      if (chunks.length < CHUNKS_PER_READ) return;
    }
  }
}
