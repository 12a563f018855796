import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

// The SSRF rules of the `http` job type (CONTRACT §5). Deny by default: only globally routable
// unicast addresses may be called, unless the URL's host is allow-listed.

// Cloud instance-metadata endpoints (AWS, GCP, Azure; AWS's IPv6 one): named in refusals.
const METADATA = new Set(
  ['169.254.169.254', 'fd00:ec2::254'].map((address) => ipaddr.parse(address).toNormalizedString()),
);

const RANGE_NAMES: Record<string, string> = {
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  ipv4Mapped: 'IPv4-mapped',
  rfc6052: 'NAT64',
};

/**
 * Why an IP address may not be called (`loopback`, `private`, `metadata`, …), or null when it is
 * a public unicast address.
 */
export function refusedRange(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return 'not an IP address';
  }
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    // An IPv4 address carried inside IPv6 is reached as that IPv4 address; judge that one.
    // The NAT64 well-known prefix only ever translates to public IPv4 in practice, but a DNS64
    // answer for an internal name would embed an internal address.
    if (v6.range() === 'ipv4Mapped' || isNat64WellKnown(v6)) return refusedRange(embeddedIPv4(v6));
    if (METADATA.has(v6.toNormalizedString())) return 'metadata';
    // Outside 2000::/3 nothing is global unicast, including IPv4-compatible ::a.b.c.d, which
    // ipaddr.js would call unicast.
    const range = v6.range();
    if (range !== 'unicast') return RANGE_NAMES[range] ?? range;
    return v6.parts[0] >= 0x2000 && v6.parts[0] <= 0x3fff ? null : 'reserved';
  }
  if (METADATA.has(ip.toString())) return 'metadata';
  const range = ip.range();
  return range === 'unicast' ? null : (RANGE_NAMES[range] ?? range);
}

function isNat64WellKnown(ip: ipaddr.IPv6): boolean {
  return ip.match(ipaddr.IPv6.parse('64:ff9b::'), 96);
}

function embeddedIPv4(ip: ipaddr.IPv6): string {
  const [, , , , , , high, low] = ip.parts;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * JOBS_HTTP_ALLOWED_HOSTS: hosts the `http` type may call whatever they resolve to. An entry is
 * matched against the URL's host as written (after WHATWG normalisation, so `0x7f.1` is
 * `127.0.0.1`), never against resolved addresses: listing `127.0.0.1` allows
 * `http://127.0.0.1/` but not `http://localhost/`. `*.example.internal` matches any subdomain.
 */
export class HostAllowList {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      if (entry.startsWith('*.')) this.suffixes.push(`.${normaliseHost(entry.slice(2))}`);
      else this.exact.add(normaliseHost(entry));
    }
  }

  has(host: string): boolean {
    const name = normaliseHost(host);
    return this.exact.has(name) || this.suffixes.some((suffix) => name.endsWith(suffix));
  }
}

/** The host as WHATWG URL writes it (IPv6 in brackets, IPv4 in dotted decimal), no final dot. */
function normaliseHost(host: string): string {
  const bare = host.trim().replace(/\.$/, '');
  const literal = bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
  try {
    return new URL(`http://${literal}/`).hostname;
  } catch {
    throw new Error(`"${host}" is not a host name or IP address`);
  }
}

/**
 * The reason a URL may not be called before any DNS is involved (scheme, credentials, an IP
 * literal in a refused range), or null. Used at submit time and again before each attempt,
 * because IP literals never reach the guarded DNS lookup.
 */
export function refuseUrl(url: URL, allow: HostAllowList): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed; send a header';
  if (!isIpLiteral(url.hostname) || allow.has(url.hostname)) return null;
  const range = refusedRange(url.hostname);
  return range === null ? null : refusal(url.hostname, url.hostname, range);
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || ipaddr.IPv4.isValidFourPartDecimal(hostname);
}

function refusal(host: string, address: string, range: string): string {
  const via = host === address ? '' : ` resolves to ${address}, which`;
  return `${host}${via} is a ${range} address; list the host in JOBS_HTTP_ALLOWED_HOSTS to call it`;
}

/** A run-time SSRF refusal: the job fails at once (code HTTP_TARGET_REFUSED). */
export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

export type Resolve = (hostname: string, family: LookupOptions['family']) => Promise<LookupAddress[]>;

const resolveAll: Resolve = (hostname, family) => dnsLookup(hostname, { all: true, family });

/**
 * A `lookup` for net/tls.connect that resolves every address of the host, refuses the
 * connection if any of them is not public (unless the host is allow-listed), and hands the
 * socket exactly the addresses it checked: check and connect share one resolution, so a DNS
 * answer that changes in between (rebinding) cannot slip through.
 */
export function guardedLookup(allow: HostAllowList, resolve: Resolve = resolveAll): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, options.family, allow, resolve).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

async function checkedAddresses(
  hostname: string,
  family: LookupOptions['family'],
  allow: HostAllowList,
  resolve: Resolve,
): Promise<LookupAddress[]> {
  const addresses = await resolve(hostname, family);
  if (addresses.length === 0) throw new Error(`${hostname} has no address`);
  if (allow.has(hostname)) return addresses;
  for (const { address } of addresses) {
    const range = refusedRange(address);
    if (range !== null) throw new TargetRefusedError(refusal(hostname, address, range));
  }
  return addresses;
}
