import { RequestValidationError } from '../errors/domain-error';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

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
    const createdAt = new Date(String(at));
    if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(createdAt.getTime()))
      throw new Error();
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error();
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
