// PostgreSQL refuses U+0000 in text and jsonb, and an unpaired surrogate escape in jsonb. One
// such value fails the whole statement, and with it every attempt end batched alongside (the
// attempt writer retries that batch until it lands, so the worker would record nothing more).
// What handlers report is untrusted (an `http` target's body, an error message), so it is made
// storable on the way in: each offending character becomes U+FFFD, as undecodable bytes do.

/** `\u0000` and lone surrogate escapes in JSON text, not preceded by an escaping backslash. */
const UNSTORABLE_ESCAPE =
  /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|d[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})d[c-f][0-9a-f]{2})/gi;

/** JSON text (as JSON.stringify writes it) that a jsonb column accepts. */
export function storableJson(json: string): string {
  return json.replace(UNSTORABLE_ESCAPE, '\\ufffd');
}

/** Text that a text column accepts. */
export function storableText(text: string): string {
  return text.replace(/\0/g, '\ufffd');
}
