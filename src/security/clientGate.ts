import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Config } from '../config/config.js';
import { ErrorCode } from '../errors.js';
import { ipMatcher } from './ipList.js';
import type { SecurityEvents } from './securityEvents.js';

export interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
}

/** proxy-addr's trust function: which hop may speak for the client (TRUSTED_PROXIES). */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * Who the client is and whether it may come in, the same for every transport: the client address
 * (X-Forwarded-For believed only from TRUSTED_PROXIES), trusted hosts, the IP allow and deny lists,
 * and automatic blocks. Fastify is given the same trust function, so `request.ip` and a WebSocket
 * upgrade's address are computed alike.
 */
export class ClientGate {
  readonly trustProxy: TrustProxy;
  private readonly denied: (ip: string) => boolean;
  private readonly allowed: ((ip: string) => boolean) | undefined;
  private readonly trustedHosts: Set<string>;

  constructor(
    config: Pick<Config, 'trustedProxies' | 'ipDenyList' | 'ipAllowList' | 'trustedHosts'>,
    private readonly security: SecurityEvents,
  ) {
    this.trustProxy = config.trustedProxies.length > 0 ? proxyAddr.compile(config.trustedProxies) : () => false;
    this.denied = ipMatcher(config.ipDenyList);
    this.allowed = config.ipAllowList.length > 0 ? ipMatcher(config.ipAllowList) : undefined;
    this.trustedHosts = new Set(config.trustedHosts);
  }

  /** The client address of a raw request (for transports Fastify does not parse, i.e. WebSocket upgrades). */
  clientIp(request: IncomingMessage): string {
    return proxyAddr(request, this.trustProxy);
  }

  /** Why a client is refused before anything else runs, if it is. */
  refusalOf(ip: string, hostHeader: string | undefined): Refusal | undefined {
    if (this.trustedHosts.size > 0) {
      const host = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '');
      if (!this.trustedHosts.has(host)) return { status: 400, code: ErrorCode.BAD_USER_INPUT, message: 'unknown host' };
    }
    if (this.denied(ip) || (this.allowed && !this.allowed(ip))) return { status: 403, code: ErrorCode.FORBIDDEN, message: 'forbidden' };
    if (this.security.isBlocked(ip)) {
      return { status: 403, code: ErrorCode.FORBIDDEN, message: 'blocked after too many security events; try again later' };
    }
    return undefined;
  }
}
