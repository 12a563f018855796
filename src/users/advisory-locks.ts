import type { EntityManager } from 'typeorm';

/**
 * Serialises every change to who is an active admin (bootstrap, demote, disable, delete), so two
 * admins cannot demote each other at once and replicas starting together create one first admin.
 */
export const ADMIN_CHANGES_LOCK = 7_262_024_002;

/** The first key of a refresh-token family's lock (the two-key form: its own key space). */
const TOKEN_FAMILY_LOCK = 7_262_024;

/**
 * Serialises what changes one refresh-token family (a rotation, the revocation of a reused
 * token's family, a logout) until the transaction ends. Without it, a family revoked while
 * another request rotated one of its tokens missed the token that rotation added, and the thief
 * kept a live session (black-box, 16-24 of 40 races). Lock order: the user's row, then the family,
 * then its tokens.
 */
export async function lockFamily(em: EntityManager, familyId: string): Promise<void> {
  await em.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TOKEN_FAMILY_LOCK, familyId]);
}
