import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { concatAST, parse, subscribe, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { auditTargets } from '../../src/graphql/auditTargets.js';
import { buildSchema, loadTypeDefs } from '../../src/graphql/schema.js';
import type { Resolvers } from '../../src/generated/graphql.js';
import { createLimiterStore } from '../../src/security/limiterStore.js';
import { PolicyError } from '../../src/security/policy.js';
import { ROOT, spawnServer } from '../helpers/process.js';
import { createStorage, testEnv } from '../helpers/server.js';

const config = { features: { ANALYTICS: true, EXPORTS: true, ADMIN: true }, rateLimits: {} };
const limiterStore = createLimiterStore(undefined, 'test:');

/** The real SDL plus a fixture extension. */
function schemaWith(extension: string, resolvers: Resolvers[] = []) {
  return buildSchema({ typeDefs: concatAST([loadTypeDefs(), parse(extension)]), resolvers, config, limiterStore });
}

describe('root field policy', () => {
  it('accepts the real schema: every root field declares its policy', () => {
    expect(() => buildSchema({ typeDefs: loadTypeDefs(), resolvers: [], config, limiterStore })).not.toThrow();
  });

  it('refuses to build a schema with an undeclared root field, naming it', () => {
    for (const [type, extension] of [
      ['Query', 'extend type Query { leak: String }'],
      ['Mutation', 'extend type Mutation { leak: Boolean }'],
      ['Subscription', 'extend type Subscription { leak: String }'],
    ] as const) {
      expect(() => schemaWith(extension)).toThrow(PolicyError);
      expect(() => schemaWith(extension)).toThrow(`${type}.leak declares no access policy (@public or @auth)`);
    }
  });

  it('does not accept another directive in place of a policy', () => {
    expect(() => schemaWith('extend type Query { leak: String @deprecated @rateLimit(limit: 1, duration: 1) @feature(name: ADMIN) }')).toThrow(
      'Query.leak declares no access policy',
    );
  });

  it('refuses a field that declares both @public and @auth', () => {
    expect(() => schemaWith('extend type Query { both: String @public @auth }')).toThrow('Query.both declares both @public and @auth');
  });
  it('declares every mutation\'s audit target next to it, and refuses a mutation without one', () => {
    const targets = auditTargets(buildSchema({ typeDefs: loadTypeDefs(), resolvers: [], config, limiterStore }));
    expect(targets.get('createReport')).toBe('Report');
    expect(targets.get('logout')).toBe('Session');
    expect(() => auditTargets(schemaWith('extend type Mutation { unaudited: Boolean @auth }'))).toThrow('Mutation.unaudited declares no @audit(target:)');
  });

  it('stops the server process at start, naming the field', async () => {
    const schemaDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-schema-'));
    const storage = await createStorage();
    cpSync(path.join(ROOT, 'schema'), schemaDir, { recursive: true });
    writeFileSync(path.join(schemaDir, 'undeclared.graphql'), 'extend type Query { leak: String }\n');
    const proc = spawnServer({ ...testEnv(storage), LOG_LEVEL: 'info', SCHEMA_DIR: schemaDir });
    try {
      const stillRunning = new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 20_000).unref());
      expect(await Promise.race([proc.exit, stillRunning])).toBe(1);
      expect(proc.output()).toContain('Query.leak declares no access policy');
      expect(proc.output()).not.toContain('"msg":"listening"');
    } finally {
      // A server that started anyway is stopped (the test has failed).
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      rmSync(schemaDir, { recursive: true, force: true });
      await storage.dispose();
    }
  });
});

describe('shield on subscriptions', () => {
  /** A subscription with its own `subscribe` and `resolve` (the case graphql-middleware gets wrong). */
  function fixture() {
    const calls = { subscribe: 0, resolve: 0 };
    async function* ticks() {
      yield { tick: 'one' };
    }
    const schema = schemaWith('extend type Subscription { adminTicks: String @auth(requires: ADMIN) }', [
      {
        Subscription: {
          adminTicks: {
            subscribe: () => {
              calls.subscribe += 1;
              return ticks();
            },
            resolve: (payload: { tick: string }) => {
              calls.resolve += 1;
              return payload.tick;
            },
          },
        },
      } as unknown as Resolvers,
    ]);
    const run = (role: 'USER' | 'ADMIN') =>
      subscribe({
        schema,
        document: parse('subscription { adminTicks }'),
        contextValue: { viewer: { id: 'u1', role, sessionId: 's1' }, security: { denied: () => undefined }, ip: '127.0.0.1', requestId: 'r1' },
      });
    return { calls, run };
  }

  it('refuses an unauthorised subscriber at subscribe time: its `subscribe` never runs', async () => {
    const { calls, run } = fixture();
    const result = (await run('USER')) as ExecutionResult;
    expect(Symbol.asyncIterator in result).toBe(false);
    expect(result.errors?.map((e) => e.extensions['code'])).toEqual(['FORBIDDEN']);
    expect(calls).toEqual({ subscribe: 0, resolve: 0 });
  });

  it('lets an authorised subscriber through, with its own `resolve` for each event', async () => {
    const { calls, run } = fixture();
    const stream = (await run('ADMIN')) as AsyncGenerator<ExecutionResult>;
    const first = await stream.next();
    expect(first.value).toEqual({ data: { adminTicks: 'one' } });
    expect(calls).toEqual({ subscribe: 1, resolve: 1 });
  });
});
