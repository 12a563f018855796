export const ROLES = ['admin', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: a user with a JWT, or a machine with one of that user's API keys. */
export interface Principal {
  kind: 'user' | 'apikey';
  /** The user, also for an API key (a key acts as its owner, with the owner's role). */
  userId: string;
  role: Role;
  apiKeyId?: string;
}
