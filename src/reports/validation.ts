import { badInput } from '../errors.js';

/** The SDL's documented bounds of a report. */
export const TITLE_MAX = 200;
export const BODY_MAX = 100_000;
export const TAGS_MAX = 20;
export const TAG_MAX = 40;
export const DATA_MAX_BYTES = 64 * 1024;

/** Characters as people count them (code points), not UTF-16 units; stops counting past `max`. */
function exceeds(text: string, max: number): boolean {
  if (text.length <= max) return false; // code points never outnumber UTF-16 units
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

export function validateTitle(title: string): string {
  const trimmed = title.trim();
  if (trimmed.length === 0) throw badInput('title', 'must not be empty');
  if (exceeds(trimmed, TITLE_MAX)) throw badInput('title', `must be at most ${TITLE_MAX} characters`);
  return trimmed;
}

export function validateBody(body: string): string {
  if (exceeds(body, BODY_MAX)) throw badInput('body', `must be at most ${BODY_MAX} characters`);
  return body;
}

/**
 * Trimmed tags in the order given, without duplicates (compared case-insensitively, first spelling
 * kept), so the ReportTag rows, which hold the lower-cased tag for filtering, stay unique.
 */
export function validateTags(tags: readonly string[]): string[] {
  if (tags.length > TAGS_MAX) throw badInput('tags', `at most ${TAGS_MAX} tags`);
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag.length === 0 || exceeds(tag, TAG_MAX)) throw badInput('tags', `each tag must be 1 to ${TAG_MAX} characters`);
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(tag);
  }
  return kept;
}

/** How deeply `data` may nest (objects and arrays) and how many keys and items it may hold in all. */
export const DATA_MAX_DEPTH = 32;
export const DATA_MAX_ENTRIES = 5000;

/**
 * What is wrong with a JSON value's shape, if anything: nesting deeper than DATA_MAX_DEPTH or more
 * than DATA_MAX_ENTRIES keys and items in all. Walks with its own stack, so no depth overflows it,
 * and stops at the first excess.
 */
export function dataShapeProblem(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let entries = 0;
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= DATA_MAX_DEPTH) return `must nest at most ${DATA_MAX_DEPTH} levels deep`;
    const children = Array.isArray(node) ? node : Object.values(node);
    entries += children.length;
    if (entries > DATA_MAX_ENTRIES) return `must hold at most ${DATA_MAX_ENTRIES} keys and items in all`;
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

/** The JSON text stored for `data` (null stays null): bounded in depth, entries and size (64 KiB of UTF-8). */
export function serializeData(data: unknown): string | null {
  if (data === null || data === undefined) return null;
  const problem = dataShapeProblem(data);
  if (problem) throw badInput('data', problem);
  const text = JSON.stringify(data);
  if (Buffer.byteLength(text, 'utf8') > DATA_MAX_BYTES) throw badInput('data', `must be at most ${DATA_MAX_BYTES} bytes as JSON`);
  return text;
}

/** Stored `data` that cannot be handed out as JSON (written around the input bounds, e.g. straight into the database). */
export class UnreadableData extends Error {
  constructor(reason: string) {
    super(`stored report data cannot be read: ${reason}`);
    this.name = 'UnreadableData';
  }
}

/**
 * Stored `data` as a value, within the same bounds as input. Throws UnreadableData otherwise, so
 * one bad row fails its own `data` field (GraphQL nulls it) instead of the whole response, which
 * could not be serialised.
 */
export function readData(dataJson: string | null): unknown {
  if (dataJson === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(dataJson);
  } catch {
    throw new UnreadableData('not JSON');
  }
  const problem = dataShapeProblem(value);
  if (problem) throw new UnreadableData(problem);
  return value;
}

/** What the search filter matches: title and body, lower-cased the same way on both databases. */
export function searchTextOf(title: string, body: string): string {
  return `${title}\n${body}`.toLowerCase();
}
