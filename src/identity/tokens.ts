import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, importPKCS8, importSPKI, jwtVerify, errors as joseErrors, type CryptoKey } from 'jose';
import type { Config } from '../config/config.js';
import { isRole, type Role } from '../kernel/roles.js';

export interface AccessClaims {
  userId: string;
  role: Role;
  sessionId: string;
  /** The user's token version when issued; a bump (logoutAll, password change) retires the token. */
  tokenVersion: number;
  expiresAt: number; // epoch seconds
}

export class InvalidTokenError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(`token ${reason}`);
  }
}

/** Verified tokens kept until they expire, so a token's signature is checked once, not per request. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Access tokens: JWTs signed with jose, HS256 from JWT_SECRET or EdDSA from a configured key pair.
 * Every claim is verified: signature, algorithm, issuer, audience, expiry, and the shape of our claims.
 */
export class AccessTokens {
  private readonly verified = new Map<string, AccessClaims>();

  private constructor(
    private readonly signingKey: KeyObject | CryptoKey,
    private readonly verifyKey: KeyObject | CryptoKey,
    private readonly algorithm: 'HS256' | 'EdDSA',
    private readonly jwt: Config['jwt'],
    readonly ttlSeconds: number,
  ) {}

  static async create(config: Config): Promise<AccessTokens> {
    const { jwt } = config;
    if (jwt.privateKeyPem && jwt.publicKeyPem) {
      const privateKey = await importPKCS8(jwt.privateKeyPem, 'EdDSA');
      const publicKey = await importSPKI(jwt.publicKeyPem, 'EdDSA');
      return new AccessTokens(privateKey, publicKey, 'EdDSA', jwt, config.accessTokenTtlSeconds);
    }
    // Imported once: jose would import a raw secret again on every call.
    const key = createSecretKey(Buffer.from(jwt.secret!, 'utf8'));
    return new AccessTokens(key, key, 'HS256', jwt, config.accessTokenTtlSeconds);
  }

  /** Forgets every verified token (maintenance CLEAR_CACHES); returns how many were cached. */
  clear(): number {
    const count = this.verified.size;
    this.verified.clear();
    return count;
  }

  async issue(claims: Omit<AccessClaims, 'expiresAt'>): Promise<string> {
    return new SignJWT({ role: claims.role, sid: claims.sessionId, ver: claims.tokenVersion })
      .setProtectedHeader({ alg: this.algorithm, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(this.jwt.issuer)
      .setAudience(this.jwt.audience)
      .setIssuedAt()
      .setJti(randomBytes(9).toString('base64url'))
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.signingKey);
  }

  /** The claims of a token verified here before and not yet expired; undefined when it must be verified in full. */
  cachedClaims(token: string): AccessClaims | undefined {
    const cached = this.verified.get(token);
    if (!cached) return undefined;
    if (cached.expiresAt * 1000 > Date.now()) return cached;
    this.verified.delete(token); // verified in full again, it is refused as expired
    return undefined;
  }

  async verify(token: string): Promise<AccessClaims> {
    const cached = this.cachedClaims(token);
    if (cached) return cached;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.verifyKey, {
        algorithms: [this.algorithm],
        issuer: this.jwt.issuer,
        audience: this.jwt.audience,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      throw new InvalidTokenError(error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid');
    }
    const { sub, role, sid, ver, exp } = payload;
    if (typeof sub !== 'string' || !isRole(role) || typeof sid !== 'string' || typeof ver !== 'number' || typeof exp !== 'number') {
      throw new InvalidTokenError('invalid');
    }
    const claims: AccessClaims = { userId: sub, role, sessionId: sid, tokenVersion: ver, expiresAt: exp };
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      // Drop the oldest entry (Map keeps insertion order).
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, claims);
    return claims;
  }
}

/** Refresh tokens are opaque random values; only their SHA-256 is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The token in `Authorization: Bearer <token>`; undefined when absent, null when malformed. */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  return match ? match[1]! : null;
}
