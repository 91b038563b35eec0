import type { FastifyHelmetOptions } from '@fastify/helmet';

/** The API's own CSP: it serves JSON, so nothing may load, frame it, or be framed. */
export const API_CSP = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

const APOLLO_CDN = 'https://apollo-server-landing-page.cdn.apollographql.com';
const SANDBOX_CDN = 'https://embeddable-sandbox.cdn.apollographql.com';
const SANDBOX_FRAME = 'https://sandbox.embed.apollographql.com';

/**
 * The development landing page (Apollo Sandbox) loads its script from Apollo's CDN and embeds an
 * iframe: it gets this CSP instead of the API's. The page also carries its own nonce-based CSP.
 */
export const LANDING_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'self' 'unsafe-inline' ${SANDBOX_CDN} ${APOLLO_CDN}`,
  `style-src 'self' 'unsafe-inline' https://fonts.googleapis.com ${APOLLO_CDN}`,
  `img-src 'self' data: ${APOLLO_CDN}`,
  'font-src https://fonts.gstatic.com',
  `frame-src ${SANDBOX_FRAME}`,
  "connect-src 'self'",
  `manifest-src ${APOLLO_CDN}`,
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function helmetOptions(production: boolean): FastifyHelmetOptions {
  return {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
    // HSTS only in production, where TLS terminates in front of the server.
    hsts: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  };
}

/** Whether an Origin is allowed by a CORS list; `http://localhost:*` matches any port. */
export function originAllowed(origin: string, allowed: string[]): boolean {
  return allowed.some((pattern) => {
    if (pattern === '*') return true;
    if (pattern.endsWith(':*')) {
      const prefix = pattern.slice(0, -2);
      return origin === prefix || new RegExp(`^${escapeRegExp(prefix)}:\\d{1,5}$`).test(origin);
    }
    return origin === pattern;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
