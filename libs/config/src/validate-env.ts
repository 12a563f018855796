import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { EnvironmentVariables } from './env.schema';

/** Thrown when the environment is invalid; `message` names every offending variable at once. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: { variable: string; messages: string[] }[]) {
    super(
      'Invalid configuration: ' + problems.map((p) => `${p.variable} (${p.messages.join('; ')})`).join(', '),
    );
    this.name = 'ConfigValidationError';
  }
}

/**
 * Parses and validates the raw environment. An empty value is no value (the default), as
 * `.env.example`'s `VAR=` lines and compose's `${VAR:-}` give it: `PORT=` must not become port 0
 * nor `RATE_LIMIT_PER_MINUTE=` a rate limit turned off. `whitelist` strips everything the schema
 * does not declare, so the rest of the process environment (PATH, HOME, …) never leaks into config.
 */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const given = Object.entries(raw).filter(
    ([, value]) => !(typeof value === 'string' && value.trim() === ''),
  );
  const env = plainToInstance(EnvironmentVariables, Object.fromEntries(given));
  const problems = validateSync(env, { whitelist: true }).map((e) => ({
    variable: e.property,
    messages: Object.values(e.constraints ?? {}),
  }));
  problems.push(...firstAdminRules(env));
  if (env.NODE_ENV === 'production') problems.push(...productionRules(env));
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return env;
}

const PLACEHOLDER = 'CHANGE-ME';

// No default secret and no weak hashing may reach production (CONTRACT §4).
function productionRules(env: EnvironmentVariables): { variable: string; messages: string[] }[] {
  const problems = [];
  if (env.JWT_SECRET === undefined) {
    problems.push({ variable: 'JWT_SECRET', messages: ['JWT_SECRET is required when NODE_ENV=production'] });
  }
  // The placeholders of deploy/secret.example.yaml, applied unedited, are known to everyone.
  for (const variable of ['JWT_SECRET', 'ADMIN_PASSWORD', 'METRICS_TOKEN'] as const) {
    if (env[variable]?.toUpperCase().includes(PLACEHOLDER)) {
      problems.push({ variable, messages: [`${variable} still holds the ${PLACEHOLDER} placeholder`] });
    }
  }
  if (env.BCRYPT_ROUNDS < 10) {
    problems.push({
      variable: 'BCRYPT_ROUNDS',
      messages: ['BCRYPT_ROUNDS must be at least 10 when NODE_ENV=production'],
    });
  }
  return problems;
}

// The first admin needs both (CONTRACT §4): with one alone the start used to create a random
// admin@localhost, or none in production, and said neither was set.
function firstAdminRules(env: EnvironmentVariables): { variable: string; messages: string[] }[] {
  if ((env.ADMIN_EMAIL === undefined) === (env.ADMIN_PASSWORD === undefined)) return [];
  const missing = env.ADMIN_EMAIL === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD';
  return [{ variable: missing, messages: ['ADMIN_EMAIL and ADMIN_PASSWORD are set together or not at all'] }];
}
