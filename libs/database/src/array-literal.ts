/** What arrayLiteral() takes: scalars as node-postgres would send them, null for SQL NULL. */
export type ArrayElement = string | number | boolean | Date | null | undefined;

/**
 * A PostgreSQL array literal (`{"a",NULL,"b"}`) to pass as a text parameter and cast (`$1::uuid[]`).
 * node-postgres builds the same text from a JS array, but only at the moment it sends the
 * query; built beforehand, a pipelined batch's next statement is ready to go while the database
 * still runs the one before (JobsService.insertMany). Every non-null element is quoted, with `"`
 * and `\` escaped, so no content can break out of its element. Dates go as ISO-8601 UTC.
 */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) out += 'NULL';
    else if (typeof value === 'number') out += `"${value}"`;
    else if (typeof value === 'boolean') out += value ? 't' : 'f';
    else out += quote(value instanceof Date ? value.toISOString() : value);
  }
  return `${out}}`;
}

function quote(text: string): string {
  return text.includes('"') || text.includes('\\') ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}
