import ipaddr from 'ipaddr.js';

/**
 * The client's address as rate limits and the audit trail key it: without a port, and one text
 * per address (an IPv4-mapped IPv6 address as the IPv4 one). Some proxies (Azure's Application
 * Gateway among them) append `ip:port` or `[ipv6]:port` to X-Forwarded-For, and Fastify
 * (proxy-addr) hands such an entry on whole: every new source port would then have opened a fresh
 * rate-limit budget. What is no address is returned as it came.
 */
export function clientIp(ip: string): string {
  // A plain IPv4 address, what nearly every request carries, needs no parsing.
  if (!ip.includes(':')) return ip;
  const bracketed = /^\[(.+)\](?::\d{1,5})?$/.exec(ip)?.[1];
  if (bracketed !== undefined)
    return ipaddr.IPv6.isValid(bracketed) ? ipaddr.process(bracketed).toString() : ip;
  const withPort = /^(.+):\d{1,5}$/.exec(ip)?.[1];
  if (withPort !== undefined && ipaddr.IPv4.isValidFourPartDecimal(withPort)) return withPort;
  return ipaddr.IPv6.isValid(ip) ? ipaddr.process(ip).toString() : ip;
}
