import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) };

describe('request and header time limits', () => {
  it('default to 30 s for a whole request and 10 s for its headers', () => {
    const config = loadConfig(BASE);
    expect([config.requestTimeoutMs, config.headersTimeoutMs]).toEqual([30_000, 10_000]);
  });

  it('are configurable', () => {
    const config = loadConfig({ ...BASE, REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '2000' });
    expect([config.requestTimeoutMs, config.headersTimeoutMs]).toEqual([5000, 2000]);
    expect(loadConfig({ ...BASE, REQUEST_TIMEOUT_MS: '4000' }).headersTimeoutMs).toBe(4000);
  });

  it('refuse bad values, naming the variable', () => {
    expect(() => loadConfig({ ...BASE, REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ ...BASE, REQUEST_TIMEOUT_MS: '0' })).toThrow(/REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ ...BASE, REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' })).toThrow(/HEADERS_TIMEOUT_MS/);
  });
});
