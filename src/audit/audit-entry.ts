import type { RequestContextData } from '@lib/common';
import type { ActorType } from './audit-log.entity';

export interface Actor {
  type: ActorType;
  id: string | null;
}

/** Before/after of each changed field (CONTRACT §6). */
export type AuditChanges = Record<string, { before?: unknown; after?: unknown }>;

/** What a caller audits; the rest of the row (time, ip, user agent, request id) is filled in. */
export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  /** Defaults to true; denials and failed attempts pass false. */
  success?: boolean;
  errorCode?: string | null;
  changes?: AuditChanges | null;
  /** Defaults to the caller of the current request: anonymous without credentials, system outside a request. */
  actor?: Actor;
}

// `pass` covers password, currentPassword, passwordHash; `^key$` is anchored so that keyPrefix or
// monkey survive. Authorization and cookie catch a caller that dumps request headers.
const SECRET_KEY = /pass(word)?|secret|token|hash|^key$|api[_-]?key|authorization|cookie/i;

/**
 * Defence in depth: whatever a caller passes, `changes` never stores a secret. Drops every key
 * (at any depth, inside arrays too) whose name looks like one; an empty result becomes null.
 */
export function stripSecrets(changes: AuditChanges | null | undefined): Record<string, unknown> | null {
  if (!changes) return null;
  const kept = strip(changes) as Record<string, unknown>;
  return Object.keys(kept).length > 0 ? kept : null;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !SECRET_KEY.test(key))
      .map(([key, nested]) => [key, strip(nested)]),
  );
}

/**
 * Who acted, from the request context: the authenticated user or API key (as its owner), else
 * anonymous. The authentication guard sets a request id on every request, so a context without
 * one means no request at all: a maintenance loop or start-up, i.e. the system.
 */
export function actorFrom(context: RequestContextData): Actor {
  if (context.principal) return { type: context.principal.kind, id: context.principal.userId };
  return context.requestId ? { type: 'anonymous', id: null } : { type: 'system', id: null };
}
