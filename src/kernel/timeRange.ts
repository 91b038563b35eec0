import { badInput } from '../errors.js';

const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_RANGE_MS = 30 * DAY_MS;
/** "At most one year": 366 days, so a whole leap year fits. */
export const MAX_RANGE_MS = 366 * DAY_MS;

export interface TimeRange {
  from: Date;
  to: Date;
}

/**
 * The SDL's TimeRangeInput: `to` defaults to now and `from` to 30 days before `to`. The range is
 * half-open, [from, to): an instant equal to `to` belongs to the next range.
 */
export function resolveRange(input: { from?: Date | string | null; to?: Date | string | null } | null | undefined, now = new Date()): TimeRange {
  const to = input?.to ? new Date(input.to) : now;
  const from = input?.from ? new Date(input.from) : new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (from.getTime() > to.getTime()) throw badInput('range', '`from` must not be after `to`');
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw badInput('range', 'must span at most one year (366 days)');
  return { from, to };
}
