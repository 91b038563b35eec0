import { describe, expect, it } from 'vitest';
import { DATA_MAX_DEPTH, DATA_MAX_ENTRIES, dataShapeProblem, readData, serializeData, UnreadableData, validateBody, validateTags, validateTitle } from '../../src/reports/validation.js';
import { decodeCursor, encodeCursor } from '../../src/kernel/pagination.js';

const field = (name: string) => expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: name }) });

describe('report validation', () => {
  it('trims titles and counts characters, not UTF-16 units', () => {
    expect(validateTitle('  Title ')).toBe('Title');
    expect(validateTitle('😀'.repeat(200))).toHaveLength(400);
    expect(() => validateTitle(' ')).toThrow(field('title'));
    expect(() => validateTitle('😀'.repeat(201))).toThrow(field('title'));
  });

  it('bounds the body', () => {
    expect(validateBody('b'.repeat(100_000))).toHaveLength(100_000);
    expect(() => validateBody('b'.repeat(100_001))).toThrow(field('body'));
  });

  it('keeps tag order, drops case-insensitive duplicates and bounds count and length', () => {
    expect(validateTags([' b ', 'A', 'a', 'c'])).toEqual(['b', 'A', 'c']);
    expect(() => validateTags(Array.from({ length: 21 }, (_, i) => `t${i}`))).toThrow(field('tags'));
    expect(() => validateTags(['x'.repeat(41)])).toThrow(field('tags'));
    expect(() => validateTags(['  '])).toThrow(field('tags'));
  });

  it('serialises data within 64 KiB of UTF-8', () => {
    expect(serializeData(null)).toBeNull();
    expect(serializeData({ a: [1] })).toBe('{"a":[1]}');
    expect(() => serializeData('é'.repeat(33_000))).toThrow(field('data')); // 66 KB as UTF-8, 33 K characters
  });
});

describe('cursors', () => {
  it('round-trips creation time and id and refuses garbage', () => {
    const row = { createdAt: new Date('2025-01-01T00:00:00.123Z'), id: '0b7e3f8e-6a51-4c57-9c0e-2a1c3f2b9d10' };
    expect(decodeCursor(encodeCursor(row))).toEqual(row);
    expect(() => decodeCursor('bm9wZQ')).toThrow(field('after'));
  });
});

describe('report data bounds', () => {
  const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown;

  it('accepts data up to the depth and entry bounds', () => {
    expect(dataShapeProblem(nested(DATA_MAX_DEPTH))).toBeUndefined();
    expect(dataShapeProblem(Array.from({ length: DATA_MAX_ENTRIES }, () => 1))).toBeUndefined();
    expect(dataShapeProblem('text')).toBeUndefined();
  });

  it('names what is wrong past them, however deep', () => {
    expect(dataShapeProblem(nested(DATA_MAX_DEPTH + 1))).toMatch(/nest at most/);
    expect(dataShapeProblem(nested(100_000))).toMatch(/nest at most/);
    expect(dataShapeProblem({ a: Array.from({ length: DATA_MAX_ENTRIES }, () => 1) })).toMatch(/keys and items/);
    expect(() => serializeData(nested(50))).toThrow(/data: must nest/);
  });

  it('reads stored data within the bounds and refuses the rest as unreadable', () => {
    expect(readData(null)).toBeNull();
    expect(readData('{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(() => readData('{oops')).toThrow(UnreadableData);
    expect(() => readData(`${'['.repeat(5000)}${']'.repeat(5000)}`)).toThrow(UnreadableData);
  });
});
