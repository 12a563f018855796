/**
 * Paths pino blanks out before a line is written (CONTRACT §7): credentials in headers, and
 * secret-looking fields in any logged object, one or two levels deep.
 */
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'accessToken',
  'refreshToken',
  'token',
  'secret',
  'apiKey',
  'key',
  'authorization',
];

/**
 * What a failed statement carries beside its message: TypeORM's QueryFailedError keeps the
 * statement's parameters, and PostgreSQL's `detail` may quote the whole row ("Failing row
 * contains (…)", a password hash included). The message, code and query text stay.
 */
const STATEMENT_VALUES = ['parameters', 'detail'].flatMap((f) => [`err.${f}`, `err.driverError.${f}`]);

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...STATEMENT_VALUES,
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

export const REDACTED = '[REDACTED]';
