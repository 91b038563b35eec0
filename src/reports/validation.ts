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

/** The JSON text stored for `data` (null stays null), at most 64 KiB of UTF-8. */
export function serializeData(data: unknown): string | null {
  if (data === null || data === undefined) return null;
  const text = JSON.stringify(data);
  if (Buffer.byteLength(text, 'utf8') > DATA_MAX_BYTES) throw badInput('data', `must be at most ${DATA_MAX_BYTES} bytes as JSON`);
  return text;
}

/** What the search filter matches: title and body, lower-cased the same way on both databases. */
export function searchTextOf(title: string, body: string): string {
  return `${title}\n${body}`.toLowerCase();
}
