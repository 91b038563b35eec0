import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROMTOOL, promtoolAvailable } from '../helpers/binaries.js';
import { ROOT } from '../helpers/process.js';

const ops = (file: string) => path.join(ROOT, 'ops', file);
const alertNames = (text: string, key: string) => new Set([...text.matchAll(new RegExp(`^\\s*-?\\s*${key}:\\s*(\\w+)`, 'gm'))].map((m) => m[1]));

describe.skipIf(!promtoolAvailable())('ops/alerts.yml unit tests (promtool test rules)', () => {
  it('covers every alert rule', () => {
    const rules = alertNames(readFileSync(ops('alerts.yml'), 'utf8'), 'alert');
    const tested = alertNames(readFileSync(ops('alerts.test.yml'), 'utf8'), 'alertname');
    expect(rules.size).toBeGreaterThan(5);
    expect([...rules].filter((name) => !tested.has(name))).toEqual([]);
  });

  it('passes', () => {
    const result = spawnSync(PROMTOOL, ['test', 'rules', ops('alerts.test.yml')], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});
