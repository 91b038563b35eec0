import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** Distinct unknown documents logged; past this many, further new ones are only counted. */
export const MAX_UNKNOWN_REMEMBERED = 1000;

/**
 * Operations outside the trusted-documents list that TRUSTED_DOCUMENTS_MODE=log-unknown lets run:
 * each one is counted, and each distinct document (by sha256) is logged once, for the first
 * MAX_UNKNOWN_REMEMBERED of them. Memory and log volume stay bounded whatever clients send. The
 * document text is not logged: literals written inline (a password, a token) would land in the logs.
 */
export class UnknownOperations {
  private readonly seen = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly capacity = MAX_UNKNOWN_REMEMBERED,
  ) {}

  record(hash: string | undefined, operationName: unknown): void {
    this.metrics.trustedDocumentRequests.inc({ outcome: 'unknown' });
    if (hash === undefined || this.seen.size >= this.capacity || this.seen.has(hash)) return;
    this.seen.add(hash);
    this.metrics.trustedDocumentsUnknownDistinct.set(this.seen.size);
    this.logger.warn(
      { documentId: `sha256:${hash}`, operationName: typeof operationName === 'string' ? operationName.slice(0, 100) : undefined },
      'unknown operation: not in the trusted-documents list; it ran because TRUSTED_DOCUMENTS_MODE is log-unknown',
    );
    if (this.seen.size === this.capacity) {
      this.logger.warn({ remembered: this.capacity }, 'unknown operations: the remembered maximum is reached; further distinct ones are counted, not logged');
    }
  }
}
