import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../config/config.js';

const AUDIENCE = 'bastion-export-download';

export class InvalidLinkError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(`download link ${reason}`);
  }
}

export interface LinkClaims {
  exportId: string;
  creatorId: string;
}

/**
 * Signed download links (jose, HS256). The key is derived from the server's JWT secret (or its
 * EdDSA private key) with HKDF under its own label, so a link is never a valid access token and an
 * access token never a valid link. A link names one export and its creator, and expires after
 * EXPORT_LINK_TTL, never later than the export itself.
 */
export class ExportLinks {
  private readonly key: KeyObject;
  private readonly issuer: string;
  private readonly ttlSeconds: number;

  constructor(config: Pick<Config, 'jwt' | 'exportLinkTtlSeconds'>) {
    const material = config.jwt.secret ?? config.jwt.privateKeyPem;
    if (!material) throw new Error('export links need JWT_SECRET or JWT_PRIVATE_KEY');
    this.key = createSecretKey(Buffer.from(hkdfSync('sha256', material, 'bastion', 'export-download-link', 32)));
    this.issuer = config.jwt.issuer;
    this.ttlSeconds = config.exportLinkTtlSeconds;
  }

  async sign(claims: LinkClaims, exportExpiresAt: Date): Promise<string> {
    const expires = Math.min(Math.floor(Date.now() / 1000) + this.ttlSeconds, Math.floor(exportExpiresAt.getTime() / 1000));
    return new SignJWT({ uid: claims.creatorId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.exportId)
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(expires)
      .sign(this.key);
  }

  async verify(token: string): Promise<LinkClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.issuer,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp', 'uid'],
      });
      if (typeof payload.uid !== 'string' || typeof payload.sub !== 'string') throw new InvalidLinkError('invalid');
      return { exportId: payload.sub, creatorId: payload.uid };
    } catch (error) {
      if (error instanceof InvalidLinkError) throw error;
      throw new InvalidLinkError(error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid');
    }
  }
}
