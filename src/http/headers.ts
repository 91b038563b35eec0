import helmet from 'helmet';

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

/**
 * The security headers of every response, computed once by helmet at start. Per request they are
 * copied onto the reply: helmet itself would rebuild them for every response (measured at ~6 % of
 * a small query's CPU time).
 */
export function securityHeaders(production: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: () => undefined,
  };
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
    // HSTS only in production, where TLS terminates in front of the server.
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    // Headers for HTML documents or long-gone browsers: a JSON API has no use for them, and each
    // one is bytes on every response.
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  middleware({} as never, collector as never, () => undefined);
  return headers;
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
