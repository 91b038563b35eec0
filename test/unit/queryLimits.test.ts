import { buildSchema, parse, specifiedRules, validate, type ValidationRule } from 'graphql';
import { describe, expect, it } from 'vitest';
import { aliasRule, costRule, depthRule, directiveCountRule } from '../../src/security/queryLimits.js';

const schema = buildSchema(/* GraphQL */ `
  type Query {
    me: User
    users(first: Int = 20): UserConnection
  }
  type UserConnection { edges: [UserEdge!]! }
  type UserEdge { node: User! }
  type User {
    id: ID!
    name: String
    friends(first: Int = 10): UserConnection
    best: User
  }
`);

function check(query: string, rules: ValidationRule[]) {
  return validate(schema, parse(query), [...specifiedRules, ...rules]).map((e) => e.message);
}

describe('aliasRule', () => {
  const rules = [aliasRule(3)];
  it('accepts up to the limit and reports once past it', () => {
    expect(check('{ a: me { id } b: me { id } c: me { id } }', rules)).toEqual([]);
    const errors = check('{ a: me { id } b: me { id } c: me { id } d: me { id } e: me { id } }', rules);
    expect(errors).toEqual(['Too many aliases: at most 3 per document']);
  });

  it('counts aliases nested anywhere in the document, fragments included', () => {
    const query = '{ me { ...F } } fragment F on User { a: id b: id c: name d: name }';
    expect(check(query, rules)).toEqual(['Too many aliases: at most 3 per document']);
  });
});

describe('directiveCountRule', () => {
  it('reports one error past the limit, whatever the flood', () => {
    const flood = Array.from({ length: 200 }, () => '@include(if: true)').join(' ');
    // Only this rule: graphql's own rules would also report each repeated @include.
    const errors = validate(schema, parse(`{ me { id ${flood} } }`), [directiveCountRule(4)]).map((e) => e.message);
    expect(errors).toEqual(['Too many directives: at most 4 per document']);
    expect(check('{ me { id @include(if: true) @skip(if: false) } }', [directiveCountRule(4)])).toEqual([]);
  });
});

/** `levels` fragments, each spreading the next twice: 2^(levels-1) copies of `leaf` once inlined. */
function fanOut(levels: number, leaf: string): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ${i === levels - 1 ? leaf : `...F${i + 1} ...F${i + 1}`} }`);
  return `{ ...F0 } ${fragments.join(' ')}`;
}

describe('depthRule', () => {
  const rules = [depthRule(3)];
  it('counts depth through fragments and inline fragments', () => {
    expect(check('{ me { best { best { id } } } }', rules)).toEqual([]);
    expect(check('{ me { best { best { best { id } } } } }', rules)).toHaveLength(1);
    const hidden = '{ me { ...A } } fragment A on User { best { ...B } } fragment B on User { best { ... on User { best { id } } } }';
    expect(check(hidden, rules)[0]).toMatch(/exceeds maximum operation depth of 3/);
  });

  it('refuses fragments that expand past 10,000 fields without walking them', () => {
    expect(check(fanOut(20, 'me { id }'), [depthRule(3)])).toEqual(['Query is too complex: its fragments expand to more than 10000 fields']);
    expect(check(fanOut(10, 'me { id }'), [depthRule(3)])).toEqual([]);
  });

  it('leaves unknown and circular fragments to graphql’s own rules instead of crashing', () => {
    expect(check('{ me { ...Missing } }', rules)).toEqual(['Unknown fragment "Missing".']);
    const circular = check('{ me { ...A } } fragment A on User { best { ...B } } fragment B on User { best { ...A } }', rules);
    expect(circular.some((m) => m.startsWith('Cannot spread fragment "A" within itself'))).toBe(true);
  });
});

describe('costRule', () => {
  it('multiplies children by `first`, its declared default, or the page maximum for a variable', () => {
    // users(first: 5): 1 + 5 × (edges 1 + node 1) = 11
    expect(check('{ users(first: 5) { edges { node { id } } } }', [costRule(11)])).toEqual([]);
    expect(check('{ users(first: 5) { edges { node { id } } } }', [costRule(10)])).toEqual(['Query is too costly: 11 > 10']);
    // The declared default (20): 1 + 20 × 2 = 41
    expect(check('{ users { edges { node { id } } } }', [costRule(40)])).toEqual(['Query is too costly: 41 > 40']);
    // A variable could be anything up to the page maximum (100), whatever its default: 1 + 100 × 2 = 201
    expect(check('query($n: Int) { users(first: $n) { edges { node { id } } } }', [costRule(200)])).toEqual(['Query is too costly: 201 > 200']);
    expect(check('query($n: Int = 2) { users(first: $n) { edges { node { id } } } }', [costRule(200)])).toEqual(['Query is too costly: 201 > 200']);
  });

  it('stops a nested-connection bomb that stays under the depth limit', () => {
    const bomb = '{ users(first: 100) { edges { node { friends(first: 100) { edges { node { friends(first: 100) { edges { node { id } } } } } } } } } }';
    const errors = check(bomb, [costRule(10_000)]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Query is too costly: \d+ > 10000$/);
  });

  it('prices every spread of a fragment, computing each fragment once', () => {
    // 2^19 copies of `me { id }`, cost 1 each.
    expect(check(fanOut(20, 'me { id }'), [costRule(1000)])).toEqual([`Query is too costly: ${2 ** 19} > 1000`]);
  });

  it('counts fragments once per spread and survives unsound fragments', () => {
    const viaFragment = '{ users(first: 5) { ...E } } fragment E on UserConnection { edges { node { id } } }';
    expect(check(viaFragment, [costRule(10)])).toEqual(['Query is too costly: 11 > 10']);
    expect(check('{ users(first: 100) { ...Missing } }', [costRule(1)])).toEqual(['Unknown fragment "Missing".']);
  });
});
