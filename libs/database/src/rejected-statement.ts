import { sqlState } from './sql-state';
import { isStoreUnavailable } from './store-unavailable';

// SQLSTATE classes of a statement the store refuses for what it says, not for the store's
// state: 22 data exception (e.g. NUL in text), 23 integrity constraint violation, 42 syntax error
// or access rule violation, 54 program limit exceeded. Sent again, it fails again.
const REJECTED_CLASSES = new Set(['22', '23', '42', '54']);

/** True when `error` is PostgreSQL refusing the statement itself: retrying cannot help. */
export function isRejectedStatement(error: unknown): boolean {
  // A session the server refused (FATAL, even with a class-42 code such as a revoked permission)
  // or a store out of reach is the store's state, not this statement: it may pass later.
  if (!(error instanceof Error) || isStoreUnavailable(error)) return false;
  const code = sqlState(error);
  return code !== undefined && REJECTED_CLASSES.has(code.slice(0, 2));
}
