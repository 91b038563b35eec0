import { parse, specifiedRules, validate, buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig, type LimitMode, type LimitName } from '../../src/config/config.js';
import type { Logger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { MeasuredLimits } from '../../src/security/measuredLimits.js';
import { QueryCosts } from '../../src/security/queryCost.js';
import { MEASURED_TOKENS_CEILING, parserTokenLimit, queryLimitRules } from '../../src/security/queryLimits.js';

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) };

describe('limit modes (LIMITS_MODE, LIMIT_MODES)', () => {
  it('default to enforce for every limit', () => {
    expect(Object.values(loadConfig(BASE).limitModes)).toEqual(Array(6).fill('enforce'));
  });

  it('take a mode for all, then overrides per limit', () => {
    const modes = loadConfig({ ...BASE, LIMITS_MODE: 'measure', LIMIT_MODES: 'cost=enforce, budget = enforce' }).limitModes;
    expect(modes).toEqual({ depth: 'measure', aliases: 'measure', tokens: 'measure', directives: 'measure', cost: 'enforce', budget: 'enforce' });
  });

  it('refuse unknown limits and modes, naming the variable', () => {
    expect(() => loadConfig({ ...BASE, LIMITS_MODE: 'warn' })).toThrow(/LIMITS_MODE/);
    expect(() => loadConfig({ ...BASE, LIMIT_MODES: 'height=measure' })).toThrow(/LIMIT_MODES .*"height=measure"/);
    expect(() => loadConfig({ ...BASE, LIMIT_MODES: 'depth=off' })).toThrow(/LIMIT_MODES/);
    expect(() => loadConfig({ ...BASE, LIMIT_MODES: 'depth' })).toThrow(/LIMIT_MODES/);
  });

  it('EXPOSE_COST is on in development only, unless set', () => {
    expect(loadConfig({ ...BASE, NODE_ENV: 'development' }).exposeCost).toBe(true);
    expect(loadConfig({ ...BASE, NODE_ENV: 'production', METRICS_TOKEN: 't' }).exposeCost).toBe(false);
    expect(loadConfig({ ...BASE, NODE_ENV: 'production', METRICS_TOKEN: 't', EXPOSE_COST: 'true' }).exposeCost).toBe(true);
    expect(loadConfig(BASE).exposeCost).toBe(false);
    expect(() => loadConfig({ ...BASE, EXPOSE_COST: 'maybe' })).toThrow(/EXPOSE_COST/);
  });

  it('keep a hard ceiling on tokens when they are only measured', () => {
    expect(parserTokenLimit(2000, 'enforce')).toBe(2000);
    expect(parserTokenLimit(2000, 'measure')).toBe(2000 * MEASURED_TOKENS_CEILING);
  });
});

const schema = buildSchema(/* GraphQL */ `
  type Query {
    me: User
    users(first: Int = 20): UserConnection
  }
  type UserConnection { edges: [UserEdge!]! }
  type UserEdge { node: User! }
  type User { id: ID! best: User }
`);

const LIMITS = { maxDepth: 2, maxAliases: 1, maxDirectives: 1, maxCost: 10, maxTokens: 100 };
const DEEP_AND_COSTLY = '{ a: users(first: 5) { edges { node { best { id @skip(if: false) @include(if: true) } } } } b: me { id } }';

function measuring(mode: LimitMode) {
  const logs: Array<Record<string, unknown>> = [];
  const logger = { warn: (fields: Record<string, unknown>) => void logs.push(fields) } as unknown as Logger;
  const metrics = new Metrics();
  const modes = Object.fromEntries(['depth', 'aliases', 'tokens', 'directives', 'cost', 'budget'].map((l) => [l, mode])) as Record<LimitName, LimitMode>;
  const measured = new MeasuredLimits(modes, metrics, logger);
  const rules = queryLimitRules(LIMITS, new QueryCosts(), measured);
  const counted = async () =>
    Object.fromEntries((await metrics.queryLimitMeasured.get()).values.filter((v) => v.value > 0).map((v) => [v.labels['limit'], v.value]));
  return { logs, measured, rules, counted };
}

describe('query limits in measure mode', () => {
  it('enforce mode refuses what measure mode lets through', () => {
    const { rules } = measuring('enforce');
    expect(validate(schema, parse(DEEP_AND_COSTLY), [...specifiedRules, ...rules]).map((e) => e.extensions['limit'])).toEqual(
      expect.arrayContaining(['aliases', 'directives', 'cost']),
    );
  });

  it('measure mode reports no error, and each executed operation counts every limit its document exceeds', async () => {
    const { rules, measured, counted, logs } = measuring('measure');
    const document = parse(DEEP_AND_COSTLY);
    expect(validate(schema, document, [...specifiedRules, ...rules])).toEqual([]);
    measured.reportDocument(document, 'Deep');
    measured.reportDocument(document, 'Deep');
    expect(await counted()).toEqual({ depth: 2, aliases: 2, directives: 2, cost: 2 });
    // Logged once per (limit, operation): four lines, not eight.
    expect(logs.map((l) => [l['limit'], l['operation'], l['measured']])).toEqual([
      ['depth', 'Deep', 4],
      ['aliases', 'Deep', 2],
      ['directives', 'Deep', 2],
      ['cost', 'Deep', 2 + 5 * 3],
    ]);
  });

  it('counts tokens as the parser does, comments excluded', async () => {
    const { rules, measured, counted, logs } = measuring('measure');
    const query = `# ${'a comment '.repeat(50)}\n{ ${Array.from({ length: 40 }, () => 'me { id }').join(' ')} }`;
    // The parser counts 162 tokens: `{`, 40 × `me { id }`, `}`.
    expect(() => parse(query, { maxTokens: 161 })).toThrow(/more that 161 tokens/);
    expect(() => parse(query, { maxTokens: 162 })).not.toThrow();
    const document = parse(query);
    validate(schema, document, [...specifiedRules, ...rules]);
    measured.reportDocument(document, undefined);
    expect((await counted())['tokens']).toBe(1);
    expect(logs.find((l) => l['limit'] === 'tokens')).toMatchObject({ operation: 'anonymous', measured: 162, max: LIMITS.maxTokens });
  });
});

describe('measure-mode logging', () => {
  it('logs each (limit, operation) once, names cut at 100 characters, and stops logging past 5,000 pairs', async () => {
    const { measured, logs, counted } = measuring('measure');
    const long = 'N'.repeat(500);
    measured.report('cost', { operation: long }, 20, 10);
    measured.report('cost', { operation: `${long}-other-tail` }, 20, 10);
    expect(logs).toHaveLength(1);
    expect(logs[0]!['operation']).toBe('N'.repeat(100));
    for (let i = 0; i < 6000; i++) measured.report('depth', { operation: `Op${i}` }, 5, 3);
    expect(logs).toHaveLength(5001);
    expect(logs[5000]).toEqual({ pairs: 5000 });
    expect(await counted()).toEqual({ cost: 2, depth: 6000 });
  });
});
