import { ConfigValidationError, validateEnv } from './validate-env';

describe('validateEnv', () => {
  it('applies the documented defaults to an empty environment', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      DATA_DIR: './data',
      MIGRATIONS_RUN: true,
      MAX_BODY_BYTES: 1048576,
      RATE_LIMIT_PER_MINUTE: 600,
      AUTH_RATE_LIMIT_PER_MINUTE: 20,
      TRUST_PROXY: false,
      BCRYPT_ROUNDS: 12,
      API_KEYS_MAX_PER_USER: 100,
      JWT_ACCESS_TTL: '15m',
      JWT_REFRESH_TTL: '7d',
      JOBS_CONCURRENCY: 10,
      JOBS_WORKER_ENABLED: true,
      JOBS_LEASE_SECONDS: 30,
      JOBS_MAX_RESULT_BYTES: 262144,
      JOBS_BATCH_MAX: 1000,
      JOBS_RETENTION_DAYS: 30,
      SHUTDOWN_GRACE_SECONDS: 25,
      AUDIT_RETENTION_DAYS: 365,
    });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('converts strings: numbers and booleans', () => {
    const env = validateEnv({
      PORT: '8080',
      TRUST_PROXY: 'true',
      JOBS_WORKER_ENABLED: '0',
      DATABASE_URL: '',
    });
    expect(env).toMatchObject({ PORT: 8080, TRUST_PROXY: true, JOBS_WORKER_ENABLED: false });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('takes numbers in plain decimal only: a hex or exponent form is a typo, not a number', () => {
    const problems = (env: Record<string, string>) => {
      try {
        validateEnv(env);
        return [];
      } catch (e) {
        return (e as ConfigValidationError).problems.map((p) => p.variable).sort();
      }
    };
    expect(problems({ PORT: '0x1135', JOBS_CONCURRENCY: '1e1', JOBS_BATCH_MAX: '10.0' })).toEqual([
      'JOBS_BATCH_MAX',
      'JOBS_CONCURRENCY',
      'PORT',
    ]);
    expect(validateEnv({ PORT: ' 4405 ', JOBS_CONCURRENCY: '07' })).toMatchObject({
      PORT: 4405,
      JOBS_CONCURRENCY: 7,
    });
  });

  it('takes the first admin from ADMIN_EMAIL and ADMIN_PASSWORD together, never from one alone', () => {
    for (const [given, missing] of [
      [{ ADMIN_EMAIL: 'ops@example.com' }, 'ADMIN_PASSWORD'],
      [{ ADMIN_PASSWORD: 'admin-password-0123' }, 'ADMIN_EMAIL'],
      [
        { ADMIN_PASSWORD: 'admin-password-0123', NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) },
        'ADMIN_EMAIL',
      ],
    ] as const) {
      expect(() => validateEnv(given)).toThrow(`${missing} (ADMIN_EMAIL and ADMIN_PASSWORD are set together`);
    }
    expect(
      validateEnv({ ADMIN_EMAIL: 'ops@example.com', ADMIN_PASSWORD: 'admin-password-0123' }),
    ).toMatchObject({
      ADMIN_EMAIL: 'ops@example.com',
    });
  });

  it('takes an empty value as no value: the default, never a zero', () => {
    const env = validateEnv({
      PORT: '',
      HOST: ' ',
      RATE_LIMIT_PER_MINUTE: '',
      AUTH_RATE_LIMIT_PER_MINUTE: '',
      SHUTDOWN_GRACE_SECONDS: '',
      JOBS_HTTP_MAX_RESPONSE_BYTES: '',
      MIGRATIONS_RUN: '',
      TRUST_PROXY: '',
    });
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      RATE_LIMIT_PER_MINUTE: 600,
      AUTH_RATE_LIMIT_PER_MINUTE: 20,
      SHUTDOWN_GRACE_SECONDS: 25,
      JOBS_HTTP_MAX_RESPONSE_BYTES: 65536,
      MIGRATIONS_RUN: true,
      TRUST_PROXY: false,
    });
  });

  it("takes TRUST_PROXY as a boolean or the proxies' addresses, and refuses anything else", () => {
    expect(validateEnv({ TRUST_PROXY: 'uniquelocal, 203.0.113.0/24,::1, fd00::/8' }).TRUST_PROXY).toBe(
      'uniquelocal, 203.0.113.0/24,::1, fd00::/8',
    );
    expect(validateEnv({ TRUST_PROXY: 'False' }).TRUST_PROXY).toBe(false);
    expect(validateEnv({ TRUST_PROXY: 'TRUE' }).TRUST_PROXY).toBe(true);
    // A hop count is refused (Fastify would trust no one with it, silently), and so is `1`, which
    // reads as one hop but would have meant every hop; other boolean spellings are not taken either.
    for (const value of [
      '2',
      '1',
      '0',
      'on',
      'yes',
      '10.0.0.0/33',
      'proxy.example.com',
      '10.0.0.1,',
      '::1/129',
      '10.0.0.0/8/1',
    ]) {
      expect(() => validateEnv({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
    }
  });

  it('reports every offending variable at once', () => {
    let error: unknown;
    try {
      validateEnv({ PORT: '-1', RATE_LIMIT_PER_MINUTE: 'many', TRUST_PROXY: 'maybe', JWT_SECRET: 'short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const variables = (error as ConfigValidationError).problems.map((p) => p.variable).sort();
    expect(variables).toEqual(['JWT_SECRET', 'PORT', 'RATE_LIMIT_PER_MINUTE', 'TRUST_PROXY']);
  });

  it('refuses an admin it could not log in, tokens dead on arrival and origins that are not origins', () => {
    let error: unknown;
    try {
      validateEnv({
        ADMIN_EMAIL: 'notanemail',
        ADMIN_PASSWORD: 'admin-password-0123',
        JWT_ACCESS_TTL: '0',
        JWT_REFRESH_TTL: '0d',
        CORS_ORIGINS: 'not a url',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const variables = (error as ConfigValidationError).problems.map((p) => p.variable).sort();
    expect(variables).toEqual(['ADMIN_EMAIL', 'CORS_ORIGINS', 'JWT_ACCESS_TTL', 'JWT_REFRESH_TTL']);
    for (const ttl of ['1000000000d', '99999999999', '3651d']) {
      expect(() => validateEnv({ JWT_REFRESH_TTL: ttl })).toThrow('JWT_REFRESH_TTL must be a duration');
      expect(() => validateEnv({ JWT_ACCESS_TTL: ttl })).toThrow('JWT_ACCESS_TTL must be a duration');
    }
    expect(validateEnv({ JWT_REFRESH_TTL: '3650d' }).JWT_REFRESH_TTL).toBe('3650d');
    expect(
      validateEnv({
        ADMIN_EMAIL: 'admin@localhost',
        ADMIN_PASSWORD: 'admin-password-0123',
        JWT_ACCESS_TTL: '60',
        CORS_ORIGINS: 'https://app.example.com, http://localhost:5173,http://[::1]:8080',
      }),
    ).toMatchObject({ ADMIN_EMAIL: 'admin@localhost', JWT_ACCESS_TTL: '60' });
    expect(validateEnv({ CORS_ORIGINS: '*' }).CORS_ORIGINS).toBe('*');
    for (const origins of [
      '*,https://app.example.com',
      'https://app.example.com/',
      'app.example.com',
      'https://a.example,',
      'ftp://x.example',
    ]) {
      expect(() => validateEnv({ CORS_ORIGINS: origins })).toThrow(/CORS_ORIGINS/);
    }
  });

  it('has no default secret in production', () => {
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
    expect(() =>
      validateEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), BCRYPT_ROUNDS: '9' }),
    ).toThrow(/BCRYPT_ROUNDS must be at least 10/);
    expect(validateEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).BCRYPT_ROUNDS).toBe(12);
  });

  it("refuses deploy/secret.example.yaml's placeholders in production, naming each", () => {
    const example = {
      NODE_ENV: 'production',
      JWT_SECRET: 'CHANGE-ME-to-a-random-string-of-at-least-32-chars',
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'change-me-strong-password',
      METRICS_TOKEN: 'CHANGE-ME-metrics-token',
    };
    expect(() => validateEnv(example)).toThrow(
      /JWT_SECRET still holds the CHANGE-ME placeholder.*ADMIN_PASSWORD still holds.*METRICS_TOKEN still holds/s,
    );
    // Development keeps the example usable as it is.
    expect(() => validateEnv({ ...example, NODE_ENV: 'development' })).not.toThrow();
  });

  it('ignores variables it does not know', () => {
    expect(validateEnv({ HOME: '/root', PATH: '/bin' })).not.toHaveProperty('HOME');
  });
});
