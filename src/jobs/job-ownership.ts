/** Who may see and act on a job (CONTRACT §5): its owner, and admins. Others get a 404, never a 403. */
export interface Caller {
  userId: string;
  role: 'admin' | 'user';
}

export function canAccessJob(caller: Caller, ownerId: string): boolean {
  return caller.role === 'admin' || caller.userId === ownerId;
}

/**
 * The owner filter of a list: users are always limited to their own jobs (asking for someone
 * else's gives an empty list, not an error that would confirm the id exists); admins see all,
 * or one owner's when they ask. `null` means nothing is visible.
 */
export function listOwnerScope(caller: Caller, requestedOwnerId?: string): string | undefined | null {
  if (caller.role === 'admin') return requestedOwnerId;
  if (requestedOwnerId !== undefined && requestedOwnerId !== caller.userId) return null;
  return caller.userId;
}
