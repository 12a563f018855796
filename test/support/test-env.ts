/** Environment every test app starts with; a test overrides what it is about. */
export const BASE_TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
  BCRYPT_ROUNDS: '4',
  RATE_LIMIT_PER_MINUTE: '0',
  AUTH_RATE_LIMIT_PER_MINUTE: '0',
  PORT: '0',
  ADMIN_EMAIL: 'admin@test.local',
  ADMIN_PASSWORD: 'admin-password-0123',
  HOST: '127.0.0.1',
};

/** PostgreSQL server of this run, when the suite runs against one (CI's second pass). */
export const SERVER_URL = process.env.DATABASE_URL;
