import 'reflect-metadata';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsByteLength,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  isIP,
  ValidateBy,
} from 'class-validator';
import { durationSeconds } from './duration';

/**
 * Plain decimal digits become a number; anything else stays a string for @IsInt to refuse.
 * Number() alone would take `0x1135` as port 4405 and `1e1` as 10: a typo that starts.
 */
const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * TRUST_PROXY as Fastify's trustProxy takes it: a boolean, or the proxies' addresses. `true`
 * believes every hop, so the client IP is the left-most X-Forwarded-For entry, which the client
 * may have written itself; listed proxies are skipped from the right, and the first address that
 * is not one of them is the client. (Fastify refuses hop counts: they cannot tell a proxy from
 * a client that connects directly.)
 */
const toTrustProxy = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim();
  // Only the two words: `1` reads as "one hop" to anyone who knows Express, and would trust all.
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return v;
};

/** What proxy-addr (Fastify's trustProxy) takes as a trusted proxy: an address, a CIDR or a named range. */
function isProxyAddress(text: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(text)) return true;
  const [address, prefix, ...rest] = text.split('/');
  const version = isIP(address) ? (address.includes(':') ? 6 : 4) : 0;
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

function IsTrustProxy(): PropertyDecorator {
  return ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'boolean' ||
        (typeof value === 'string' && value.split(',').every((part) => isProxyAddress(part.trim()))),
      defaultMessage: () =>
        "TRUST_PROXY must be false, the proxies' addresses or CIDRs (comma-separated; or loopback, " +
        'linklocal, uniquelocal), or true',
    },
  });
}

/** A duration such as `900`, `15m`, `7d` (seconds, minutes, hours, days); never zero. */
const DURATION = /^[1-9]\d*[smhd]?$/;
/**
 * Ten years: a token's expiry must stay a date. `1000000000d` had passed and turned every login's
 * refresh-token expiry into an invalid timestamp (a 500).
 */
const MAX_TTL_SECONDS = 3650 * 86_400;

function IsTtl(name: string, example: string): PropertyDecorator {
  return ValidateBy({
    name: 'isTtl',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && DURATION.test(value) && durationSeconds(value) <= MAX_TTL_SECONDS,
      defaultMessage: () => `${name} must be a duration above zero and at most 3650d, like ${example}`,
    },
  });
}

/** Browser origins (scheme, host, optional port; no path), comma-separated; or `*`, any origin. */
const ORIGIN = String.raw`\s*https?://(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?\s*`;
const ORIGIN_LIST = new RegExp(`^\\s*\\*\\s*$|^${ORIGIN}(?:,${ORIGIN})*$`);

/** Host names (`*.` for subdomains) or IP addresses (IPv6 with or without brackets), comma-separated. */
const HOST = String.raw`\s*(?:(?:\*\.)?[A-Za-z0-9._-]+|\[?[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*\]?)\s*`;
const HOST_LIST = new RegExp(`^${HOST}(?:,${HOST})*$`);

/**
 * Every environment variable the service reads, with its default. This class is the single
 * source of truth for configuration: README.md and .env.example list exactly these fields.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @IsString()
  @MinLength(1)
  DATA_DIR = './data';

  @Transform(toBoolean)
  @IsBoolean()
  MIGRATIONS_RUN = true;

  @Transform(toInteger)
  @IsInt()
  @Min(1024)
  @Max(512 * 1024 * 1024)
  MAX_BODY_BYTES = 1024 * 1024;

  @IsOptional()
  @Matches(ORIGIN_LIST, {
    message:
      'CORS_ORIGINS must be comma-separated origins like https://app.example.com or http://localhost:5173',
  })
  CORS_ORIGINS?: string;

  @Transform(toTrustProxy)
  @IsTrustProxy()
  TRUST_PROXY: boolean | string = false;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 600;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  AUTH_RATE_LIMIT_PER_MINUTE = 20;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @IsString()
  @MinLength(16)
  METRICS_TOKEN?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(4)
  @Max(15)
  BCRYPT_ROUNDS = 12;

  // Unrevoked keys a user may hold at once: bounds what one account can pile up (each key is a
  // row, listed unpaginated by GET /v1/users/me/api-keys).
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(10000)
  API_KEYS_MAX_PER_USER = 100;

  // Required in production (see validate-env.ts) so that tokens survive restarts and are shared
  // by replicas; in development a secret is generated and kept under DATA_DIR (CONTRACT §4).
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsTtl('JWT_ACCESS_TTL', '900, 15m, 1h')
  JWT_ACCESS_TTL = '15m';

  @IsTtl('JWT_REFRESH_TTL', '3600, 12h, 7d')
  JWT_REFRESH_TTL = '7d';

  @IsOptional()
  // As POST /v1/auth/login takes it: an admin created under an address it refuses could never log in.
  @IsEmail({ require_tld: false }, { message: 'ADMIN_EMAIL must be an email address' })
  @MaxLength(254)
  ADMIN_EMAIL?: string;

  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'ADMIN_PASSWORD must be at least 12 characters' })
  // bcrypt checks only the first 72 bytes, and login refuses longer passwords.
  @IsByteLength(0, 72, { message: 'ADMIN_PASSWORD must be at most 72 bytes' })
  ADMIN_PASSWORD?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(1000)
  JOBS_CONCURRENCY = 10;

  @Transform(toBoolean)
  @IsBoolean()
  JOBS_WORKER_ENABLED = true;

  @Transform(toInteger)
  @IsInt()
  @Min(10)
  @Max(60_000)
  JOBS_POLL_INTERVAL_MS = 1000;

  @Transform(toInteger)
  @IsInt()
  @Min(5)
  @Max(3600)
  JOBS_LEASE_SECONDS = 30;

  @Transform(toInteger)
  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  JOBS_MAX_RESULT_BYTES = 256 * 1024;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(10_000)
  JOBS_BATCH_MAX = 1000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  JOBS_RETENTION_DAYS = 30;

  @IsOptional()
  @Matches(HOST_LIST, {
    message:
      'JOBS_HTTP_ALLOWED_HOSTS must list host names or IP addresses, comma-separated, without scheme or port',
  })
  JOBS_HTTP_ALLOWED_HOSTS?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(16 * 1024 * 1024)
  JOBS_HTTP_MAX_RESPONSE_BYTES = 64 * 1024;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(1000)
  JOBS_HTTP_BREAKER_FAILURES = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3600)
  JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS = 30;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(3600)
  SHUTDOWN_GRACE_SECONDS = 25;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  AUDIT_RETENTION_DAYS = 365;
}
