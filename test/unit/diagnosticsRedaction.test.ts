import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { configEntries, redactUrl } from '../../src/system/diagnostics.js';

describe('diagnostics: configuration with secrets redacted', () => {
  it('cuts credentials and query strings out of URLs, and the path of webhook URLs', () => {
    expect(redactUrl('postgresql://app:s3cret@db.internal:5432/bastion?sslmode=require')).toBe('postgresql://[redacted]@db.internal:5432/bastion?[redacted]');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('https://hooks.example.com/services/T0/B0/XYZ', true)).toBe('https://hooks.example.com/[redacted]');
    expect(redactUrl('not a url')).toBe('[redacted]');
  });

  it('shows every key, secrets as [redacted] and unset values as null', () => {
    const config = loadConfig({
      JWT_SECRET: 'a-very-secret-jwt-secret-of-32-bytes-or-more',
      METRICS_TOKEN: 'scrape-token',
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD: 'root-password-123',
      DATABASE_URL: 'postgres://app:pw123456@db:5432/bastion',
    });
    const entries = Object.fromEntries(configEntries(config).map((e) => [e.key, e.value]));
    expect(entries).toMatchObject({
      'jwt.secret': '[redacted]',
      'jwt.privateKeyPem': null,
      metricsToken: '[redacted]',
      adminPassword: '[redacted]',
      adminEmail: 'root@example.com',
      databaseUrl: 'postgres://[redacted]@db:5432/bastion',
      accessTokenTtlSeconds: '900',
      'alertThresholds.cpuPercent': '90',
      corsOrigins: expect.stringContaining('http://localhost:*'),
    });
    const text = JSON.stringify(entries);
    for (const secret of ['a-very-secret-jwt-secret', 'scrape-token', 'root-password-123', 'pw123456']) expect(text).not.toContain(secret);
  });
});
