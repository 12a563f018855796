import { isStoreUnavailable } from './store-unavailable';

// SQLSTATE classes of a statement the store refuses for what it says, not for the store's
// state: 22 data exception (e.g. NUL in text), 23 integrity constraint violation, 42 syntax error
// or access rule violation, 54 program limit exceeded. Sent again, it fails again.
const REJECTED_CLASSES = new Set(['22', '23', '42', '54']);

/** True when `error` is PostgreSQL refusing the statement itself: retrying cannot help. */
export function isRejectedStatement(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // A session the server refused (FATAL, even with a class-42 code such as a revoked permission)
  // or a store out of reach is the store's state, not this statement: it may pass later.
  if (isStoreUnavailable(error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return REJECTED_CLASSES.has(code.slice(0, 2));
  const cause = (error as { driverError?: unknown }).driverError;
  return cause !== undefined && cause !== error && isRejectedStatement(cause);
}
