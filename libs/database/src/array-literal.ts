/** What arrayLiteral() takes: scalars as node-postgres would send them, null for SQL NULL. */
export type ArrayElement = string | number | boolean | Date | null | undefined;

/**
 * A PostgreSQL array literal (`{"a",NULL,"b"}`) to pass as a text parameter and cast (`$1::uuid[]`).
 * node-postgres builds the same text from a JS array, but only at the moment it sends the
 * query; built beforehand, a pipelined batch's next statement is ready to go while the database
 * still runs the one before (JobsService.insertMany). Every non-null element is quoted, with `"`
 * and `\` escaped, so no content can break out of its element. Dates go as ISO-8601 UTC.
 *
 * Built with as little garbage as it can: a batch's columns are mostly one value repeated
 * (statuses, NULLs), made once and repeated, and the others are joined once rather than grown
 * element by element. Worker batches build a dozen of these per 500 jobs; growing them had been
 * a fifth of what the worker allocated on a drain of noop jobs.
 */
export function arrayLiteral<T = ArrayElement>(
  rows: readonly T[],
  pick: (row: T) => ArrayElement = (row) => row as ArrayElement,
): string {
  const count = rows.length;
  if (count === 0) return '{}';
  const first = pick(rows[0]);
  let index = 1;
  while (index < count && pick(rows[index]) === first) index += 1;
  if (index === count) return `{${`${element(first)},`.repeat(count - 1)}${element(first)}}`;
  const items = new Array<string>(count);
  items[0] = element(first);
  for (let i = 1; i < count; i += 1) items[i] = element(pick(rows[i]));
  return `{${items.join(',')}}`;
}

function element(value: ArrayElement): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') return `"${value}"`;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return quote(value instanceof Date ? value.toISOString() : value);
}

function quote(text: string): string {
  return text.includes('"') || text.includes('\\') ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}
