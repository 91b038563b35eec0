import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from '../../src/exports/csv.js';
import { formatWriter } from '../../src/exports/formats.js';

describe('CSV (RFC 4180) with formula neutralisation', () => {
  it('leaves plain fields alone', () => {
    expect(csvField('plain text 123')).toBe('plain text 123');
    expect(csvField('')).toBe('');
    expect(csvField("it's")).toBe("it's");
  });

  it('quotes fields with commas, quotes, CR or LF and doubles quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it.each(['=1+2', '+1', '-1', '@SUM(A1)', '\tTAB', '\rCR'])('neutralises %j with a leading quote', (value) => {
    expect(csvField(value).replace(/^"|"$/g, '')).toBe(`'${value}`);
  });

  it('neutralises first, then quotes', () => {
    expect(csvField('=HYPERLINK("x","y")')).toBe('"\'=HYPERLINK(""x"",""y"")"');
    expect(csvField('\r\n')).toBe('"\'\r\n"');
    expect(csvField('a=b')).toBe('a=b');
  });

  it('quotes fields with the `;` separator of other locales', () => {
    expect(csvField('a;b')).toBe('"a;b"');
  });

  it.each([
    ['sc;=1+1', `"sc;'=1+1"`],
    ['a,+1', `"a,'+1"`],
    ['x;-2;@SUM(A1)', `"x;'-2;'@SUM(A1)"`],
    ['tab\t=1', `tab\t'=1`],
    ['line\n=1', `"line\n'=1"`],
    ['=1;=2', `"'=1;'=2"`],
    ['a;b=c', '"a;b=c"'],
  ])('neutralises every piece a spreadsheet could split out of %j (OWASP)', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('ends every record with CRLF', () => {
    expect(csvRecord(['a', 'b,c', ''])).toBe('a,"b,c",\r\n');
  });
});

describe('export format writers', () => {
  const rows = [{ a: 1, b: 'x', c: ['t'] }, { a: 2, b: null, c: { k: 'v' } }];
  const write = (format: 'CSV' | 'JSON' | 'NDJSON', items: typeof rows) => {
    const writer = formatWriter(format, ['a', 'b', 'c']);
    return writer.start() + items.map((row, i) => writer.row(row, i)).join('') + writer.end();
  };

  it('writes JSON as one array, also when empty', () => {
    expect(JSON.parse(write('JSON', rows))).toEqual(rows);
    expect(JSON.parse(write('JSON', []))).toEqual([]);
  });

  it('writes NDJSON as one object per line', () => {
    expect(write('NDJSON', rows).split('\n')).toEqual([JSON.stringify(rows[0]), JSON.stringify(rows[1]), '']);
    expect(write('NDJSON', [])).toBe('');
  });

  it('writes CSV with a header, empty nulls and JSON for structured values', () => {
    expect(write('CSV', rows)).toBe('a,b,c\r\n1,x,"[""t""]"\r\n2,,"{""k"":""v""}"\r\n');
  });
});
