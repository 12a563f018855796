/**
 * Serialises every change to who is an active admin (bootstrap, demote, disable, delete), so two
 * admins cannot demote each other at once and replicas starting together create one first admin.
 */
export const ADMIN_CHANGES_LOCK = 7_262_024_002;
