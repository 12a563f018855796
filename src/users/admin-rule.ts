import type { Role } from '@lib/common';

export interface AdminStanding {
  role: Role;
  disabled: boolean;
}

/**
 * CONTRACT §4: the last active admin cannot be removed, demoted or disabled. `after` is null when
 * the user is deleted; `otherActiveAdmins` counts active admins other than this user.
 */
export function removesLastAdmin(
  before: AdminStanding,
  after: AdminStanding | null,
  otherActiveAdmins: number,
): boolean {
  const wasActiveAdmin = before.role === 'admin' && !before.disabled;
  const staysActiveAdmin = after !== null && after.role === 'admin' && !after.disabled;
  return wasActiveAdmin && !staysActiveAdmin && otherActiveAdmins === 0;
}
