import type { LookupAddress, LookupOptions } from 'node:dns';
import {
  guardedLookup,
  HostAllowList,
  refusedRange,
  refuseUrl,
  type Resolve,
  TargetRefusedError,
} from './http-target-guard';

describe('refusedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    // IPv4 inside IPv6 is judged as the IPv4 address it reaches.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    // IPv4-compatible (deprecated) and other space outside 2000::/3. inet_ntop writes the
    // former as ::127.0.0.1, which ipaddr.js reads as mapped: refused either way.
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'reserved'],
    ['100::1', 'discard'],
    ['4000::1', 'reserved'],
  ])('%s is refused as %s', (address, range) => {
    expect(refusedRange(address)).toBe(range);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('%s is public', (address) => {
    expect(refusedRange(address)).toBeNull();
  });

  it('accepts the bracketed form URL.hostname uses', () => {
    expect(refusedRange('[::1]')).toBe('loopback');
    expect(refusedRange('[2606:4700::1111]')).toBeNull();
  });
});

describe('HostAllowList', () => {
  it('matches host names exactly, case- and final-dot-insensitively', () => {
    const allow = new HostAllowList(['Hooks.Internal', 'localhost']);
    expect(allow.has('hooks.internal')).toBe(true);
    expect(allow.has('HOOKS.internal.')).toBe(true);
    expect(allow.has('localhost')).toBe(true);
    expect(allow.has('evil.hooks.internal')).toBe(false);
    expect(allow.has('hooks.internal.evil.com')).toBe(false);
    expect(allow.has('127.0.0.1')).toBe(false);
  });

  it('`*.` entries match any subdomain, not the bare domain', () => {
    const allow = new HostAllowList(['*.svc.cluster.local']);
    expect(allow.has('api.ns.svc.cluster.local')).toBe(true);
    expect(allow.has('svc.cluster.local')).toBe(false);
    expect(allow.has('evilsvc.cluster.local')).toBe(false);
  });

  it('normalises IP entries as URL hosts, so every spelling of the address matches', () => {
    const allow = new HostAllowList(['127.0.0.1', '::1', '[fd00::0001]']);
    for (const url of ['http://127.0.0.1/', 'http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.1/']) {
      expect(allow.has(new URL(url).hostname)).toBe(true);
    }
    expect(allow.has('[::1]')).toBe(true);
    expect(allow.has('[0:0::1]')).toBe(true);
    expect(allow.has('[fd00::1]')).toBe(true);
    expect(allow.has('127.0.0.2')).toBe(false);
    // A host name is never matched by the address it resolves to.
    expect(allow.has('localhost')).toBe(false);
  });

  it('refuses an entry that is not a host', () => {
    expect(() => new HostAllowList(['exa mple.com'])).toThrow(/not a host name or IP address/);
  });
});

describe('refuseUrl (submit time and before each attempt)', () => {
  const none = new HostAllowList([]);

  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://10.0.0.1:8080/x',
    'http://192.168.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://[fc00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'https://[::ffff:10.0.0.1]/',
  ])('refuses the literal %s', (url) => {
    expect(refuseUrl(new URL(url), none)).toMatch(/JOBS_HTTP_ALLOWED_HOSTS/);
  });

  it('names the address class', () => {
    expect(refuseUrl(new URL('http://169.254.169.254/'), none)).toMatch(/is a metadata address/);
    expect(refuseUrl(new URL('http://0x7f.1/'), none)).toMatch(/^127\.0\.0\.1 is a loopback address/);
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'javascript:alert(1)'])(
    'refuses the scheme of %s',
    (url) => {
      expect(refuseUrl(new URL(url), none)).toBe('only http and https URLs are allowed');
    },
  );

  it('refuses credentials in the URL', () => {
    expect(refuseUrl(new URL('https://user:pw@example.com/'), none)).toMatch(/credentials/);
  });

  it('leaves host names to the run-time lookup and accepts public literals', () => {
    expect(refuseUrl(new URL('http://localhost:8080/'), none)).toBeNull();
    expect(refuseUrl(new URL('https://example.com/hook'), none)).toBeNull();
    expect(refuseUrl(new URL('http://93.184.215.14/'), none)).toBeNull();
    expect(refuseUrl(new URL('http://[2606:4700::1111]/'), none)).toBeNull();
  });

  it('lets allow-listed literals through', () => {
    const allow = new HostAllowList(['127.0.0.1', '::1']);
    expect(refuseUrl(new URL('http://127.0.0.1:3000/'), allow)).toBeNull();
    expect(refuseUrl(new URL('http://0x7f.1:3000/'), allow)).toBeNull();
    expect(refuseUrl(new URL('http://[::1]:3000/'), allow)).toBeNull();
    expect(refuseUrl(new URL('http://127.0.0.2/'), allow)).not.toBeNull();
  });
});

describe('guardedLookup (run time, inside the connection)', () => {
  const v4 = (address: string): LookupAddress => ({ address, family: 4 });
  const v6 = (address: string): LookupAddress => ({ address, family: 6 });
  const resolving =
    (answers: Record<string, LookupAddress[]>): Resolve =>
    (hostname) =>
      hostname in answers
        ? Promise.resolve(answers[hostname])
        : Promise.reject(
            Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
          );

  const answers = {
    'public.example': [v4('93.184.215.14'), v6('2606:4700::1111')],
    'mixed.example': [v4('93.184.215.14'), v4('10.0.0.5')],
    'rebind.example': [v6('2606:4700::1111'), v6('::ffff:169.254.169.254')],
    localhost: [v4('127.0.0.1'), v6('::1')],
    'empty.example': [],
  };

  function lookup(hostname: string, options: LookupOptions, allowed: string[] = []) {
    return new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }>(
      (resolve) => {
        guardedLookup(new HostAllowList(allowed), resolving(answers))(
          hostname,
          options,
          (error, address, family) => resolve({ error, address, family }),
        );
      },
    );
  }

  it('hands the socket every checked address when asked for all (autoSelectFamily)', async () => {
    const { error, address } = await lookup('public.example', { all: true });
    expect(error).toBeNull();
    expect(address).toEqual(answers['public.example']);
  });

  it('hands the socket the first checked address otherwise', async () => {
    expect(await lookup('public.example', {})).toEqual({ error: null, address: '93.184.215.14', family: 4 });
  });

  it.each([
    ['mixed.example', /mixed\.example resolves to 10\.0\.0\.5, which is a private address/],
    ['rebind.example', /resolves to ::ffff:169\.254\.169\.254, which is a metadata address/],
    ['localhost', /localhost resolves to 127\.0\.0\.1, which is a loopback address/],
  ])('refuses %s when any one of its addresses is not public', async (host, message) => {
    const { error } = await lookup(host, { all: true });
    expect(error).toBeInstanceOf(TargetRefusedError);
    expect(error?.message).toMatch(message);
  });

  it('lets an allow-listed name resolve to anything, and only by its own name', async () => {
    expect((await lookup('localhost', { all: true }, ['localhost'])).error).toBeNull();
    expect((await lookup('localhost', { all: true }, ['127.0.0.1', '::1'])).error).toBeInstanceOf(
      TargetRefusedError,
    );
  });

  it('passes resolver failures through (retryable network errors)', async () => {
    const { error } = await lookup('nowhere.example', {});
    expect(error).not.toBeInstanceOf(TargetRefusedError);
    expect(error?.code).toBe('ENOTFOUND');
    expect((await lookup('empty.example', {})).error?.message).toMatch(/has no address/);
  });

  it('resolves with the real resolver by default', async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      guardedLookup(new HostAllowList([]))('localhost', { all: true }, (err) => resolve(err));
    });
    expect(error).toBeInstanceOf(TargetRefusedError);
  });
});
