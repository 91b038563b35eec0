import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMTOOL, promtoolAvailable } from '../helpers/binaries.js';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { ROOT } from '../helpers/process.js';
import { createStorage, loginAdmin, skipSuite, type TestStorage } from '../helpers/server.js';

const CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'FEATURE_DISABLED',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'INTERNAL_SERVER_ERROR',
];

/** The value of one series in a Prometheus text scrape, or undefined when the series is absent. */
function valueOf(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.skipIf(skipSuite())('Prometheus sees first events (production server)', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  const scrape = async () =>
    (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } })).text();

  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'production'));
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  it('exports every known label value at 0 from start', async () => {
    const text = await scrape();
    const expected = [
      ...['INFO', 'WARNING', 'CRITICAL'].map((severity) => `bastion_alerts_total{severity="${severity}"}`),
      ...CODES.map((code) => `bastion_graphql_errors_total{code="${code}"}`),
      ...['denied', 'invalid_token', 'rate_limited', 'failed_login', 'token_replay'].map((type) => `bastion_security_events_total{type="${type}"}`),
      ...['http', 'loginFailures', 'Mutation.login', 'Mutation.register', 'Mutation.createReport', 'Mutation.createExport'].map(
        (limit) => `bastion_rate_limit_rejections_total{limit="${limit}"}`,
      ),
      'bastion_auth_events_total{event="refresh",result="replay"}',
      'bastion_auth_events_total{event="login",result="failure"}',
    ];
    expect(expected.filter((series) => valueOf(text, series) !== 0)).toEqual([]);
  });

  it.skipIf(!promtoolAvailable())("fires BastionCriticalAlertRaised on the server's first CRITICAL alert", async () => {
    const series = 'bastion_alerts_total{severity="CRITICAL"}';
    const before = valueOf(await scrape(), series);
    const admin = await loginAdmin(server);
    const raised = await server.gql(
      'mutation { raiseAlert(input: { severity: CRITICAL, kind: "FIRST_EVENT", message: "the first one" }) { id } }',
      undefined,
      { token: admin.accessToken },
    );
    expect(raised.body.errors).toBeUndefined();
    const after = valueOf(await scrape(), series);
    expect(after).toBe(1);

    // The two scrapes as Prometheus stored them (an absent series is a gap), judged by the shipped rules.
    const sample = (value: number | undefined) => (value === undefined ? '_' : String(value));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bastion-first-event-'));
    try {
      writeFileSync(
        path.join(dir, 'test.yml'),
        [
          'rule_files:',
          `  - ${JSON.stringify(path.join(ROOT, 'ops', 'alerts.yml'))}`,
          'evaluation_interval: 15s',
          'tests:',
          '  - interval: 15s',
          '    input_series:',
          `      - series: ${JSON.stringify(series.replace('{', '{instance="bastion-1:4000",'))}`,
          `        values: "${sample(before)} ${sample(after)} ${sample(after)}"`,
          '    alert_rule_test:',
          '      - eval_time: 30s',
          '        alertname: BastionCriticalAlertRaised',
          '        exp_alerts:',
          '          - exp_labels: { severity: critical, instance: "bastion-1:4000" }',
          '            exp_annotations:',
          '              summary: "Bastion raised a CRITICAL alert on bastion-1:4000; see the alerts query"',
          '',
        ].join('\n'),
      );
      const result = spawnSync(PROMTOOL, ['test', 'rules', path.join(dir, 'test.yml')], { encoding: 'utf8' });
      expect(result.stdout + result.stderr).toContain('SUCCESS');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
