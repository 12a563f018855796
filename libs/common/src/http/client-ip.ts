import { isIP, isIPv4 } from 'node:net';

/**
 * The client's address as rate limits and the audit trail key it: without a port, and an
 * IPv4-mapped IPv6 address as the IPv4 one. Some proxies (Azure's Application Gateway among them)
 * append `ip:port` or `[ipv6]:port` to X-Forwarded-For, and Fastify (proxy-addr) hands such an
 * entry on whole: every new source port would then have opened a fresh rate-limit budget. What
 * is no address with a port is returned as it came.
 */
export function clientIp(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(ip);
  if (bracketed && isIP(bracketed[1]) === 6) return unmapped(bracketed[1]);
  const withPort = /^([\d.]+):\d{1,5}$/.exec(ip);
  if (withPort && isIPv4(withPort[1])) return withPort[1];
  return unmapped(ip);
}

function unmapped(ip: string): string {
  const mapped = /^::ffff:([\d.]+)$/i.exec(ip);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : ip;
}
