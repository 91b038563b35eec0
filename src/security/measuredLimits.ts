import type { DocumentNode } from 'graphql';
import type { LimitMode, LimitName } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** A limit an operation went past in measure mode, and by how much. */
export interface Exceeded {
  limit: LimitName;
  value: number;
  max: number;
}

/** Distinct (limit, operation) pairs logged; past it, new pairs are counted but not logged. */
const MAX_LOGGED_PAIRS = 5000;
const MAX_NAME_LENGTH = 100;

/**
 * Limits in measure mode (LIMITS_MODE, LIMIT_MODES): an operation over one runs, is counted in
 * `bastion_query_limit_measured_total{limit}` every time, and is logged at warn level the first
 * time its (limit, operation name) pair is seen, so a hot operation does not flood the logs.
 *
 * Query limits are measured by validation rules, which Apollo runs once per document (it caches
 * validated documents): the rules note what a document exceeds here, and each executed operation
 * reports its document's notes (`reportDocument`), so the counter counts operations, not documents.
 */
export class MeasuredLimits {
  /** Whether any limit is in measure mode: when none is, the per-request path does nothing. */
  readonly active: boolean;
  private readonly byDocument = new WeakMap<DocumentNode, Exceeded[]>();
  private readonly logged = new Set<string>();
  /** Set once MAX_LOGGED_PAIRS pairs were logged: many distinct names must not flood the logs either. */
  private saturated = false;

  constructor(
    readonly modes: Readonly<Record<LimitName, LimitMode>>,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.active = Object.values(modes).includes('measure');
  }

  /** The limits in measure mode, for the start-up log. */
  measured(): LimitName[] {
    return (Object.keys(this.modes) as LimitName[]).filter((limit) => this.modes[limit] === 'measure');
  }

  /** Called by a measure-mode validation rule: `document` went past `limit`. */
  noteDocument(document: DocumentNode, exceeded: Exceeded): void {
    const notes = this.byDocument.get(document);
    if (notes) notes.push(exceeded);
    else this.byDocument.set(document, [exceeded]);
  }

  /** One executed operation of `document`: reports every limit its document went past. */
  reportDocument(document: DocumentNode, operationName: string | undefined): void {
    const notes = this.byDocument.get(document);
    if (!notes) return;
    for (const { limit, value, max } of notes) this.report(limit, { operation: operationName ?? 'anonymous' }, value, max);
  }

  /** Counts one operation over `limit`; logs it the first time its subject (operation name, or budget key) is seen over it. */
  report(limit: LimitName, subject: { operation: string } | { key: string }, value: number, max: number): void {
    this.metrics.queryLimitMeasured.inc({ limit });
    // Client-chosen names are kept and logged at most 100 characters long: 5,000 long names must not fill the memory.
    const name = ('operation' in subject ? subject.operation : subject.key).slice(0, MAX_NAME_LENGTH);
    const pair = `${limit}\u0000${name}`;
    if (this.logged.has(pair) || this.saturated) return;
    if (this.logged.size >= MAX_LOGGED_PAIRS) {
      this.saturated = true;
      this.logger.warn({ pairs: MAX_LOGGED_PAIRS }, 'measure mode: further operations over a limit are counted but no longer logged');
      return;
    }
    this.logged.add(pair);
    const named = 'operation' in subject ? { operation: name } : { key: name };
    this.logger.warn({ limit, ...named, measured: value, max, mode: 'measure' }, `operation over the ${limit} limit ran (measure mode)`);
  }
}
