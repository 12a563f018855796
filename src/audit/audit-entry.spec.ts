import { actorFrom, stripSecrets } from './audit-entry';

describe('stripSecrets', () => {
  it('drops secret-looking keys at any depth, inside arrays too, and keeps the rest', () => {
    expect(
      stripSecrets({
        email: { before: 'a@b.c', after: 'd@e.f' },
        password: { after: 'x' },
        passwordHash: { after: 'h' },
        role: {
          before: 'user',
          after: { name: 'admin', refreshToken: 't', apiKey: 'k', api_key: 'k', key: 'k', keyPrefix: 'p' },
        },
        tags: { after: [{ secret: 's', ok: 1 }, 'plain', null] },
      }),
    ).toEqual({
      email: { before: 'a@b.c', after: 'd@e.f' },
      role: { before: 'user', after: { name: 'admin', keyPrefix: 'p' } },
      tags: { after: [{ ok: 1 }, 'plain', null] },
    });
  });

  it.each([
    'password',
    'currentPassword',
    'newPassword',
    'PASSWORD_HASH',
    'clientSecret',
    'accessToken',
    'tokenHash',
    'key',
    'apiKey',
    'x-api-key',
    'Authorization',
    'cookie',
  ])('treats %s as a secret', (name) => {
    expect(stripSecrets({ [name]: { after: 'v' } })).toBeNull();
  });

  it('keeps non-secret names that merely contain "key"', () => {
    expect(stripSecrets({ keyPrefix: { after: 'p' }, monkey: { after: 1 } })).toEqual({
      keyPrefix: { after: 'p' },
      monkey: { after: 1 },
    });
  });

  it('does not mutate its input and keeps dates as they are', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    const input = { when: { after: at }, token: { after: 't' } };
    expect(stripSecrets(input)).toEqual({ when: { after: at } });
    expect(input.token).toEqual({ after: 't' });
  });

  it('turns nothing, and nothing left, into null', () => {
    expect(stripSecrets(undefined)).toBeNull();
    expect(stripSecrets(null)).toBeNull();
    expect(stripSecrets({})).toBeNull();
    expect(stripSecrets({ password: { before: 'a', after: 'b' } })).toBeNull();
  });
});

describe('actorFrom', () => {
  it('is the user for a bearer caller and the key owner for an API-key caller', () => {
    expect(actorFrom({ requestId: 'r', principal: { kind: 'user', userId: 'u1', role: 'user' } })).toEqual({
      type: 'user',
      id: 'u1',
    });
    expect(
      actorFrom({
        requestId: 'r',
        principal: { kind: 'apikey', userId: 'u2', role: 'admin', apiKeyId: 'k' },
      }),
    ).toEqual({ type: 'apikey', id: 'u2' });
  });

  it('is anonymous in a request without credentials and the system outside any request', () => {
    expect(actorFrom({ requestId: 'r', ip: '127.0.0.1' })).toEqual({ type: 'anonymous', id: null });
    expect(actorFrom({})).toEqual({ type: 'system', id: null });
  });
});
