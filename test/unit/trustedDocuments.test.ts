import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type TrustedDocumentsMode } from '../../src/config/config.js';
import { documentChecks } from '../../src/graphql/admission.js';
import { buildSchema, loadTypeDefs } from '../../src/graphql/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createLimiterStore } from '../../src/security/limiterStore.js';
import { MeasuredLimits } from '../../src/security/measuredLimits.js';
import { QueryCosts } from '../../src/security/queryCost.js';
import { queryLimitRules } from '../../src/security/queryLimits.js';
import { TrustedDocuments } from '../../src/security/trustedDocuments.js';
import { UnknownOperations } from '../../src/security/unknownOperations.js';
import { ROOT } from '../helpers/process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bastion-trusted-'));
const write = (name: string, value: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const operation = (name: string, body: string) => ({ id: sha256(body), name, type: 'query', body });
const manifest = (...operations: unknown[]) => ({ format: 'apollo-persisted-query-manifest', version: 1, operations });

const ME = 'query Me { me { id } }';
/** Deeper than MAX_QUERY_DEPTH=3, valid otherwise. */
const DEEP = 'query Deep { reports { edges { node { author { id } } } } }';
const baseEnv = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DATA_DIR: dir };
const limiterStore = createLimiterStore(undefined, 'test:');

function load(file: string, env: Record<string, string> = {}) {
  const config = loadConfig({ ...baseEnv, TRUSTED_DOCUMENTS: file, ...env });
  const schema = buildSchema({ typeDefs: loadTypeDefs(), resolvers: [], config, limiterStore });
  const metrics = new Metrics();
  const limits = queryLimitRules(
    { maxDepth: config.maxQueryDepth, maxAliases: config.maxAliases, maxDirectives: config.maxDirectives, maxCost: config.maxCost, maxTokens: config.maxTokens },
    new QueryCosts(),
    new MeasuredLimits(config.limitModes, metrics, createLogger('silent')),
  );
  const trusted = TrustedDocuments.load({
    file,
    mode: config.trustedDocumentsMode,
    checks: documentChecks(config, schema, limits),
    metrics,
    logger: createLogger('silent'),
  });
  return { trusted, metrics };
}

describe('TRUSTED_DOCUMENTS manifest', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads the manifest npm run codegen writes, and refuses codegen's own persisted-documents file", () => {
    expect(() => load(path.join(ROOT, 'client', 'generated', 'persisted-query-manifest.json'))).not.toThrow();
    expect(() => load(path.join(ROOT, 'client', 'generated', 'persisted-documents.json'))).toThrow(/TRUSTED_DOCUMENTS.*Apollo persisted-query manifest/);
  });

  it('refuses an operation whose id is not the sha256 of its body', () => {
    const file = write('mismatch.json', manifest({ ...operation('Me', ME), id: '0'.repeat(64) }));
    expect(() => load(file)).toThrow(/Me: its id is not the sha256 of its body/);
  });

  it('refuses, naming each, documents that do not validate against the schema', () => {
    const file = write('invalid.json', manifest(operation('Me', ME), operation('Gone', 'query Gone { nope }'), operation('Typo', 'query Typo { me { idd } }')));
    expect(() => load(file)).toThrow(/operation Gone .*Cannot query field "nope".*operation Typo .*Cannot query field "idd"/);
  });

  it('refuses a document over a query limit, unless TRUSTED_DOCUMENTS_SKIP_LIMITS exempts it', () => {
    const file = write('deep.json', manifest(operation('Me', ME), operation('Deep', DEEP)));
    expect(() => load(file, { MAX_QUERY_DEPTH: '3' })).toThrow(/operation Deep .*over a query limit: .*depth/);
    const { trusted } = load(file, { MAX_QUERY_DEPTH: '3', TRUSTED_DOCUMENTS_SKIP_LIMITS: 'true' });
    expect(trusted.get(sha256(DEEP))).toMatchObject({ name: 'Deep', type: 'query', exemptFromLimits: true });
    expect(trusted.get(sha256(ME))).toMatchObject({ exemptFromLimits: false });
  });

  it('resolves by mode: enforce runs the list by id or text; require-id by id only; log-unknown runs the rest', () => {
    const file = write('modes.json', manifest(operation('Me', ME)));
    const byId = { documentId: `sha256:${sha256(ME)}` };
    const byApq = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(ME) } } };
    const outcome = (mode: TrustedDocumentsMode, source: object) => {
      const resolution = load(file, { TRUSTED_DOCUMENTS_MODE: mode }).trusted.resolve(source);
      return resolution.ok ? resolution.outcome : resolution.code;
    };
    expect(outcome('enforce', byId)).toBe('trusted');
    expect(outcome('enforce', byApq)).toBe('trusted');
    expect(outcome('enforce', { query: ME })).toBe('trusted');
    expect(outcome('enforce', { query: '{ __typename }' })).toBe('FORBIDDEN');
    expect(outcome('require-id', byId)).toBe('trusted');
    expect(outcome('require-id', byApq)).toBe('trusted');
    expect(outcome('require-id', { query: ME })).toBe('FORBIDDEN');
    expect(outcome('require-id', { documentId: `sha256:${sha256('x')}` })).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(outcome('log-unknown', { query: ME })).toBe('trusted');
    expect(outcome('log-unknown', { query: '{ __typename }' })).toBe('unknown');
    expect(outcome('log-unknown', { documentId: `sha256:${sha256('x')}` })).toBe('PERSISTED_QUERY_NOT_FOUND');
    const { trusted } = load(file);
    expect(trusted.resolve(byId)).toMatchObject({ ok: true, outcome: 'trusted', name: 'Me', query: ME });
  });

  it('keeps the list in force when a reload fails, and swaps it when one succeeds', async () => {
    const file = write('reload.json', manifest(operation('Me', ME)));
    const { trusted, metrics } = load(file);
    writeFileSync(file, JSON.stringify(manifest(operation('Me', ME), operation('Gone', 'query Gone { nope }'))));
    expect(trusted.reload()).toBe(false);
    expect(trusted.size).toBe(1);
    writeFileSync(file, '{ not json');
    expect(trusted.reload()).toBe(false);
    const OTHER = 'query Other { __typename }';
    writeFileSync(file, JSON.stringify(manifest(operation('Other', OTHER))));
    expect(trusted.reload()).toBe(true);
    expect(trusted.get(sha256(ME))).toBeUndefined();
    expect(trusted.get(sha256(OTHER))?.name).toBe('Other');
    const metricsText = await metrics.registry.metrics();
    expect(metricsText).toContain('bastion_trusted_documents_reloads_total{result="failure"} 2');
    expect(metricsText).toContain('bastion_trusted_documents_loaded 1');
  });
});

describe('TRUSTED_DOCUMENTS_MODE and friends, validated at start', () => {
  it('refuses a mode or the limits switch without a manifest, an unknown mode, and skipping limits in log-unknown', () => {
    expect(() => loadConfig({ ...baseEnv, TRUSTED_DOCUMENTS_MODE: 'enforce' })).toThrow(/TRUSTED_DOCUMENTS_MODE needs TRUSTED_DOCUMENTS/);
    expect(() => loadConfig({ ...baseEnv, TRUSTED_DOCUMENTS_SKIP_LIMITS: 'true' })).toThrow(/TRUSTED_DOCUMENTS_SKIP_LIMITS needs TRUSTED_DOCUMENTS/);
    expect(() => loadConfig({ ...baseEnv, TRUSTED_DOCUMENTS: 'm.json', TRUSTED_DOCUMENTS_MODE: 'block' })).toThrow(/TRUSTED_DOCUMENTS_MODE must be one of log-unknown, enforce, require-id/);
    expect(() => loadConfig({ ...baseEnv, TRUSTED_DOCUMENTS: 'm.json', TRUSTED_DOCUMENTS_MODE: 'log-unknown', TRUSTED_DOCUMENTS_SKIP_LIMITS: 'true' })).toThrow(
      /TRUSTED_DOCUMENTS_SKIP_LIMITS applies only when TRUSTED_DOCUMENTS_MODE is enforce or require-id/,
    );
    expect(loadConfig({ ...baseEnv, TRUSTED_DOCUMENTS: 'm.json' }).trustedDocumentsMode).toBe('enforce');
  });
});

describe('unknown operations in log-unknown mode', () => {
  it('counts every one, logs each distinct document once, and remembers a bounded number of them', async () => {
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => lines.push(line) });
    const metrics = new Metrics();
    const unknown = new UnknownOperations(logger, metrics, 3);
    for (let round = 0; round < 5; round++) for (let i = 0; i < 10; i++) unknown.record(sha256(`doc ${i}`), `Op${i}`);
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; documentId?: string });
    expect(logged.filter((l) => l.msg.startsWith('unknown operation:')).map((l) => l.documentId)).toEqual([0, 1, 2].map((i) => `sha256:${sha256(`doc ${i}`)}`));
    expect(logged.filter((l) => l.msg.includes('remembered maximum'))).toHaveLength(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('bastion_trusted_documents_requests_total{outcome="unknown"} 50');
    expect(text).toContain('bastion_trusted_documents_unknown_distinct 3');
  });
});
