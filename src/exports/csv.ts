/** Leading characters that make spreadsheets read a cell as a formula (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
/**
 * Where a spreadsheet may cut a field into cells: the separators of the common locales (`,` and
 * `;`), tab, and line breaks (an importer that ignores quoting splits rows there).
 */
const SPLIT_POINTS = /([,;\t\r\n])/;
/** Characters that force quoting: RFC 4180's comma, quote and line breaks, and the `;` separator. */
const NEEDS_QUOTES = /[",;\r\n]/;

/**
 * A field with every piece a spreadsheet could split out neutralised (OWASP CSV injection): a
 * piece that starts like a formula gets a leading `'`, so `sc;=1+1` becomes `sc;'=1+1`.
 */
function neutralised(value: string): string {
  const pieces = value.split(SPLIT_POINTS); // separators kept at the odd indexes
  const inner = pieces.map((piece, i) => (i >= 2 && i % 2 === 0 && FORMULA_START.test(piece) ? `'${piece}` : piece)).join('');
  // The field's own start is checked as a whole: tab and CR start a formula and split cells too.
  return FORMULA_START.test(value) ? `'${inner}` : inner;
}

/** One CSV field: formulas neutralised with a leading `'`, quoted per RFC 4180 (and for `;`) when needed. */
export function csvField(value: string): string {
  const safe = neutralised(value);
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV record, CRLF-terminated as RFC 4180 says. */
export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
