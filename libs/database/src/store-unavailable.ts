// Connection-level failures: the store is down, restarting, full or unreachable, as opposed to a
// bad query. SQLSTATE class 08 (connection exception), class 53 (insufficient resources: too many
// connections, disk full, out of memory), 57P01-57P03 (shutdown, cannot connect now), and any
// error of severity FATAL or PANIC: the server ended the session, which is how it refuses a
// connection it will not serve (a database closed to connections, a role it does not accept).
// The driver reports severity as the server words it: lc_messages in English, the default.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
];

/** True when `error` means the store cannot be reached right now (→ 503, retry later). */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || /^(08|53)/.test(code) || /^57P0[123]$/.test(code)) return true;
  }
  const severity = (error as { severity?: unknown }).severity;
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  if (MESSAGES.some((m) => error.message.includes(m))) return true;
  const cause = (error as { driverError?: unknown; cause?: unknown }).driverError ?? error.cause;
  return cause !== undefined && cause !== error && isStoreUnavailable(cause);
}
