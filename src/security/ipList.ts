import proxyAddr from '@fastify/proxy-addr';

/** Matches an address against a list of IPs and CIDR ranges (IPv4, IPv6, v4-mapped v6). */
export function ipMatcher(list: string[]): (ip: string) => boolean {
  if (list.length === 0) return () => false;
  const trusted = proxyAddr.compile(list);
  return (ip) => trusted(ip, 0);
}
