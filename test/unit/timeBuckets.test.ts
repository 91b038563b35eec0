import { describe, expect, it } from 'vitest';
import { bucketStart, bucketStarts, zeroFilled } from '../../src/analytics/timeBuckets.js';
import { resolveRange } from '../../src/kernel/timeRange.js';

const iso = (d: Date) => d.toISOString();

describe('time buckets (UTC)', () => {
  it('floors to the hour and the day', () => {
    expect(iso(bucketStart(new Date('2025-03-09T10:59:59.999Z'), 'HOUR'))).toBe('2025-03-09T10:00:00.000Z');
    expect(iso(bucketStart(new Date('2025-03-09T23:59:59.999Z'), 'DAY'))).toBe('2025-03-09T00:00:00.000Z');
  });

  it('starts weeks on Monday', () => {
    expect(iso(bucketStart(new Date('2025-01-06T00:00:00.000Z'), 'WEEK'))).toBe('2025-01-06T00:00:00.000Z'); // Monday
    expect(iso(bucketStart(new Date('2025-01-12T23:59:59.999Z'), 'WEEK'))).toBe('2025-01-06T00:00:00.000Z'); // Sunday
    expect(iso(bucketStart(new Date('2025-01-01T12:00:00.000Z'), 'WEEK'))).toBe('2024-12-30T00:00:00.000Z'); // across a year
    expect(iso(bucketStart(new Date('1969-12-31T12:00:00.000Z'), 'WEEK'))).toBe('1969-12-29T00:00:00.000Z'); // before the epoch
  });

  it('lists every bucket of a half-open range, at least one', () => {
    const from = new Date('2025-01-05T22:15:00Z');
    expect(bucketStarts(from, new Date('2025-01-06T01:00:00Z'), 'HOUR').map(iso)).toEqual([
      '2025-01-05T22:00:00.000Z',
      '2025-01-05T23:00:00.000Z',
      '2025-01-06T00:00:00.000Z',
    ]);
    expect(bucketStarts(from, from, 'DAY').map(iso)).toEqual(['2025-01-05T00:00:00.000Z']);
    expect(bucketStarts(new Date('2024-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'), 'DAY')).toHaveLength(366);
  });

  it('fills missing buckets with zeros', () => {
    const counts = new Map([[Date.parse('2025-01-02T00:00:00Z'), 4]]);
    expect(zeroFilled(new Date('2025-01-01T00:00:00Z'), new Date('2025-01-04T00:00:00Z'), 'DAY', counts).map((p) => p.count)).toEqual([0, 4, 0]);
  });
});

describe('time ranges', () => {
  const now = new Date('2025-06-01T00:00:00Z');

  it('defaults to the 30 days before now', () => {
    expect(resolveRange(undefined, now)).toEqual({ from: new Date('2025-05-02T00:00:00Z'), to: now });
    expect(resolveRange({ to: '2025-02-01T00:00:00Z' }, now).from).toEqual(new Date('2025-01-02T00:00:00Z'));
  });

  it('refuses reversed ranges and ranges over 366 days, naming the field', () => {
    expect(() => resolveRange({ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' })).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'range' }) }));
    expect(() => resolveRange({ from: '2024-01-01T00:00:00Z', to: '2025-01-02T00:00:00.001Z' })).toThrow(/one year/);
    expect(resolveRange({ from: '2024-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }).from).toEqual(new Date('2024-01-01T00:00:00Z'));
  });
});
