/** The SQLSTATE of a PostgreSQL error, as the driver raised it or as TypeORM wrapped it. */
export function sqlState(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  const cause = (error as { driverError?: unknown }).driverError;
  return cause !== error ? sqlState(cause) : undefined;
}

/** A row refused by a unique index or constraint. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}
