import { createHash, randomBytes } from 'node:crypto';

/** A high-entropy opaque token (refresh tokens, API keys). */
export function newToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens are 256-bit random, so a fast hash is safe to store and to look up by; bcrypt is for
 * passwords, which are guessable.
 */
export function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
