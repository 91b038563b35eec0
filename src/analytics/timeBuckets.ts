export type TimeBucket = 'HOUR' | 'DAY' | 'WEEK';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

export const BUCKET_MS: Record<TimeBucket, number> = { HOUR: HOUR_MS, DAY: DAY_MS, WEEK: 7 * DAY_MS };

/** Start of the UTC bucket holding `t`; weeks start on Monday (as PostgreSQL's date_trunc('week')). */
export function bucketStart(t: Date, bucket: TimeBucket): Date {
  const ms = t.getTime();
  if (bucket === 'HOUR') return new Date(ms - mod(ms, HOUR_MS));
  const day = ms - mod(ms, DAY_MS);
  if (bucket === 'DAY') return new Date(day);
  const daysSinceMonday = (new Date(day).getUTCDay() + 6) % 7;
  return new Date(day - daysSinceMonday * DAY_MS);
}

/** Every bucket start of [from, to), at least the one holding `from`. */
export function bucketStarts(from: Date, to: Date, bucket: TimeBucket): Date[] {
  const starts: Date[] = [];
  for (let t = bucketStart(from, bucket).getTime(); starts.length === 0 || t < to.getTime(); t += BUCKET_MS[bucket]) {
    starts.push(new Date(t));
  }
  return starts;
}

/** Per-bucket counts from the database (bucket start → count), with every empty bucket as zero. */
export function zeroFilled(from: Date, to: Date, bucket: TimeBucket, counts: Map<number, number>): Array<{ t: Date; count: number }> {
  return bucketStarts(from, to, bucket).map((t) => ({ t, count: counts.get(t.getTime()) ?? 0 }));
}

/** Modulo that stays positive for instants before 1970. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
