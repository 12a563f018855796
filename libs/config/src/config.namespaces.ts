import { registerAs } from '@nestjs/config';
import { validateEnv } from './validate-env';

// Each namespace re-reads the validated environment so that tests that change process.env
// between app instances get fresh values; validation is cheap next to app start-up.
const env = () => validateEnv(process.env);

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export const appConfig = registerAs('app', () => {
  const e = env();
  return {
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    maxBodyBytes: e.MAX_BODY_BYTES,
    corsOrigins: list(e.CORS_ORIGINS),
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    metricsToken: e.METRICS_TOKEN,
  };
});

export const databaseConfig = registerAs('database', () => {
  const e = env();
  return {
    url: e.DATABASE_URL,
    poolSize: e.DATABASE_POOL_SIZE,
    dataDir: e.DATA_DIR,
    migrationsRun: e.MIGRATIONS_RUN,
  };
});

export const rateLimitConfig = registerAs('rateLimit', () => {
  const e = env();
  return {
    perMinute: e.RATE_LIMIT_PER_MINUTE,
    authPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    redisUrl: e.REDIS_URL,
  };
});

export const authConfig = registerAs('auth', () => {
  const e = env();
  return {
    bcryptRounds: e.BCRYPT_ROUNDS,
    apiKeysMaxPerUser: e.API_KEYS_MAX_PER_USER,
    jwtSecret: e.JWT_SECRET,
    accessTtl: e.JWT_ACCESS_TTL,
    refreshTtl: e.JWT_REFRESH_TTL,
    adminEmail: e.ADMIN_EMAIL,
    adminPassword: e.ADMIN_PASSWORD,
  };
});

export const jobsConfig = registerAs('jobs', () => {
  const e = env();
  return {
    concurrency: e.JOBS_CONCURRENCY,
    workerEnabled: e.JOBS_WORKER_ENABLED,
    pollIntervalMs: e.JOBS_POLL_INTERVAL_MS,
    leaseSeconds: e.JOBS_LEASE_SECONDS,
    maxResultBytes: e.JOBS_MAX_RESULT_BYTES,
    batchMax: e.JOBS_BATCH_MAX,
    retentionDays: e.JOBS_RETENTION_DAYS,
    httpAllowedHosts: list(e.JOBS_HTTP_ALLOWED_HOSTS),
    httpMaxResponseBytes: e.JOBS_HTTP_MAX_RESPONSE_BYTES,
    httpBreakerFailures: e.JOBS_HTTP_BREAKER_FAILURES,
    httpBreakerHalfOpenSeconds: e.JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS,
  };
});

export const auditConfig = registerAs('audit', () => ({ retentionDays: env().AUDIT_RETENTION_DAYS }));
