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

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

export const REDACTED = '[REDACTED]';
