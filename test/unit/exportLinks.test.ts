import { describe, expect, it } from 'vitest';
import { ExportLinks, InvalidLinkError } from '../../src/exports/links.js';

const config = (secret: string, ttl = 900) => ({
  jwt: { secret, privateKeyPem: undefined, publicKeyPem: undefined, issuer: 'bastion', audience: 'bastion-api' },
  exportLinkTtlSeconds: ttl,
});
const SECRET = 'x'.repeat(32);
const claims = { exportId: 'e1', creatorId: 'u1' };

describe('export download links', () => {
  it('round-trips the export and its creator', async () => {
    const links = new ExportLinks(config(SECRET));
    const token = await links.sign(claims, new Date(Date.now() + 3600_000));
    await expect(links.verify(token)).resolves.toEqual(claims);
  });

  it('expires with the link TTL, or earlier with the export', async () => {
    const links = new ExportLinks(config(SECRET, 60));
    const exp = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    const now = Math.floor(Date.now() / 1000);
    expect(exp(await links.sign(claims, new Date(Date.now() + 3600_000)))).toBeLessThanOrEqual(now + 61);
    expect(exp(await links.sign(claims, new Date((now + 10) * 1000)))).toBe(now + 10);
    await expect(links.verify(await links.sign(claims, new Date(Date.now() - 5000)))).rejects.toEqual(new InvalidLinkError('expired'));
  });

  it('refuses links signed with another secret', async () => {
    const other = await new ExportLinks(config('y'.repeat(32))).sign(claims, new Date(Date.now() + 3600_000));
    await expect(new ExportLinks(config(SECRET)).verify(other)).rejects.toEqual(new InvalidLinkError('invalid'));
  });
});
