import { JwtService } from '@nestjs/jwt';
import type { ConfigType } from '@nestjs/config';
import type { authConfig } from '@lib/config';
import { TokenIssuer } from './token-issuer';

const SECRET = 'unit-test-secret-that-is-long-enough-0123';
const claims = { sub: '6f1f2a8e-0000-4000-8000-000000000001', role: 'user', jti: 'j', ver: 0 };

describe('TokenIssuer.verifyAccess (its verified-token memory)', () => {
  const jwt = new JwtService({ secret: SECRET });
  let issuer: TokenIssuer;
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const cfg = { accessTtl: '60s', refreshTtl: '7d' } as ConfigType<typeof authConfig>;
    issuer = new TokenIssuer(jwt, cfg);
  });
  afterEach(() => jest.useRealTimers());

  it('accepts a good token again from memory, and refuses it once it has expired', async () => {
    const token = jwt.sign(claims, { expiresIn: 60 });
    expect(await issuer.verifyAccess(token)).toMatchObject(claims);
    jest.setSystemTime(new Date('2030-01-01T00:00:59Z'));
    expect(await issuer.verifyAccess(token)).toMatchObject(claims);
    jest.setSystemTime(new Date('2030-01-01T00:01:00Z'));
    expect(await issuer.verifyAccess(token)).toBeNull();
    expect(await issuer.verifyAccess(token)).toBeNull();
  });

  it('never remembers a token that failed: a tampered copy of a known token is refused', async () => {
    const token = jwt.sign(claims, { expiresIn: 60 });
    await issuer.verifyAccess(token);
    const [header, payload, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin', exp: 4102444800 })).toString(
      'base64url',
    );
    expect(await issuer.verifyAccess(`${header}.${forged}.${signature}`)).toBeNull();
    expect(await issuer.verifyAccess(`${header}.${payload}.${signature.slice(0, -2)}xx`)).toBeNull();
    const other = new JwtService({ secret: `${SECRET}-other` }).sign(claims, { expiresIn: 60 });
    expect(await issuer.verifyAccess(other)).toBeNull();
  });

  it('refuses a validly signed token of another shape: no exp, a sub that is not a user id, no ver', async () => {
    expect(await issuer.verifyAccess(jwt.sign(claims))).toBeNull();
    expect(await issuer.verifyAccess(jwt.sign({ ...claims, sub: 'admin' }, { expiresIn: 60 }))).toBeNull();
    expect(await issuer.verifyAccess(jwt.sign({ ...claims, ver: '0' }, { expiresIn: 60 }))).toBeNull();
    const { jti: _jti, ...withoutJti } = claims;
    expect(await issuer.verifyAccess(jwt.sign(withoutJti, { expiresIn: 60 }))).toBeNull();
  });
});
