import { describe, expect, it } from 'vitest';
import { chooseIndexed, MATCH_TRIGRAMS, reportCondition, reportCountSql, reportPageSql, trigramsOf } from '../../src/reports/filter.js';

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('what the trigram index is given for a search', () => {
  it('splits words into distinct trigrams by code point, not UTF-16 unit', () => {
    expect(trigramsOf(['report', 'port'])).toEqual(['rep', 'epo', 'por', 'ort']);
    expect(trigramsOf(['😀😀😀x'])).toEqual(['😀😀😀', '😀😀x']);
    expect(trigramsOf(['ab'])).toEqual([]);
  });

  it('SQLite: every trigram without counts, the rarest ones with counts, quotes doubled', () => {
    expect(chooseIndexed('sqlite', ['report', '4242'])).toBe('"rep" AND "epo" AND "por" AND "ort" AND "424" AND "242"');
    const known = counts({ rep: 10_000, epo: 10_000, por: 10_000, ort: 10_000, '424': 299, '242': 300 });
    expect(MATCH_TRIGRAMS).toBe(2);
    expect(chooseIndexed('sqlite', ['report', '4242'], known)).toBe('"424" AND "242"');
    // A trigram in no report at all is the rarest there is: the index then finds nothing, rightly.
    expect(chooseIndexed('sqlite', ['report', 'zqxj'], counts({ ...Object.fromEntries(known), zqx: 0, qxj: 0 }))).toBe('"zqx" AND "qxj"');
    expect(chooseIndexed('sqlite', ['"a"b'], counts({ '"a"': 1, 'a"b': 5 }))).toBe('"""a""" AND "a""b"');
    // Words too short for the index never reach it; with none left, there is no index lookup.
    expect(chooseIndexed('sqlite', ['of', 'report'], known)).toBe('"rep" AND "epo"');
    expect(chooseIndexed('sqlite', ['of', 'x'], known)).toBeNull();
  });

  it('PostgreSQL: the LIKE pattern of the rarest word (without counts, the longest), wildcards escaped', () => {
    expect(chooseIndexed('postgresql', ['report', '4242'])).toBe('%report%');
    expect(chooseIndexed('postgresql', ['report', '4242'], counts({ report: 10_000, '4242': 20 }))).toBe('%4242%');
    expect(chooseIndexed('postgresql', ['abc', 'abcd'], counts({ abc: 3, abcd: 3 }))).toBe('%abcd%');
    expect(chooseIndexed('postgresql', ['50%_\\x', 'zz'], counts({ '50%_\\x': 1 }))).toBe('%50\\%\\_\\\\x%');
    expect(chooseIndexed('postgresql', ['of', 'x'])).toBeNull();
  });

  it('points the page and count statements at the argument to replace, and checks every word literally', () => {
    const sqlite = reportCondition({ search: 'Report 4242 of' }, 'author', 'sqlite');
    expect(sqlite.index).toEqual({ arg: 1, words: ['report', '4242', 'of'] });
    expect(sqlite.args).toEqual(['author', chooseIndexed('sqlite', ['report', '4242']), 'report', '4242', 'of']);
    expect(sqlite.sql.match(/instr\(/g)).toHaveLength(3);
    const pg = reportCondition({ search: 'Report 4242 of', status: 'DRAFT' }, null, 'postgresql');
    expect(pg.index).toEqual({ arg: 1, words: ['report', '4242', 'of'] });
    expect(pg.sql).toContain(`r."searchText" LIKE $2`);
    expect(pg.sql.match(/strpos\(r\."searchText", \$\d+\) > 0/g)).toHaveLength(3);
    expect(pg.sql.match(/LIKE/g)).toHaveLength(1); // GIN reads the chosen word's trigrams only
    for (const statement of [reportPageSql(pg, 'postgresql', 21), reportCountSql(pg)]) expect(statement.index).toEqual(pg.index);
    // Only short words: no index lookup, nothing to choose.
    expect(reportCondition({ search: 'of x' }, null, 'postgresql').index).toBeUndefined();
    expect(reportCondition({ search: 'of x' }, null, 'postgresql').sql).not.toContain('LIKE');
  });
});
