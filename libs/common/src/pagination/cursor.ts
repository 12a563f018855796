import { RequestValidationError } from '../errors/domain-error';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Four-digit years from 0001: toISOString() writes other years with a sign, which this refuses.
const ISO_UTC_MS = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A position in a list ordered by (createdAt desc, id desc). */
export interface Keyset {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: Keyset): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

/** Rejects anything this service did not hand out as a 400 on `cursor`. */
export function decodeCursor(cursor: string): Keyset {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    // Exactly what encodeCursor writes, so nothing reaches the query that the store would refuse
    // (a year PostgreSQL cannot hold, a string that is no UUID): those were 500s.
    if (typeof at !== 'string' || typeof id !== 'string' || !UUID.test(id) || !ISO_UTC_MS.test(at))
      throw new Error();
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) throw new Error();
    return { createdAt, id };
  } catch {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor is not a valid page cursor' }]);
  }
}

/** Builds a page from `limit + 1` fetched rows: the extra row only says whether more exist. */
export function toPage<R extends Keyset, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
