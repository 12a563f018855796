import type { FieldError } from './domain-error';

/**
 * Deepest nesting a request value may have. Deeper input is refused before anything recursive
 * walks it: class-transformer, JSON.stringify and PostgreSQL's jsonb parser all overflow their
 * stacks somewhere past a few thousand levels (a 500), and no real job payload nests this deep.
 */
export const MAX_JSON_DEPTH = 64;

// What PostgreSQL cannot store, in one place: it refuses NUL in text and jsonb; an unpaired UTF-16
// surrogate has no UTF-8 encoding (pg would store U+FFFD for it in text, and jsonb refuses its
// \ud800 escape); JSON has no Infinity. Requests carrying such values are refused
// (findUnstorableValue); what the service itself must store from untrusted sources (a handler's
// result or error) is repaired (storableJson, storableText).
const LONE_SURROGATE = /\p{Cs}/u;
const MAX_FIELD_LENGTH = 200;

/**
 * The first place in a parsed request value (body, query or path param) that the store could not
 * hold as given (or that would be dropped on the way), as a field error; undefined when there is
 * none. Iterative, so any depth is safe. Under `itemsKey` (a batch's items, each checked on its
 * own later) only the nesting and reserved keys are checked here: such a body is refused whole,
 * before anything recursive walks it or deletes keys from it.
 */
export function findUnstorableValue(
  root: unknown,
  rootField = '',
  itemsKey?: string,
): FieldError | undefined {
  const stack: { value: unknown; field: string; depth: number; nestingOnly: boolean }[] = [
    { value: root, field: rootField, depth: 0, nestingOnly: false },
  ];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, field, depth, nestingOnly } = next;
    if (typeof value === 'string') {
      const problem = nestingOnly ? undefined : textProblem(value);
      if (problem) return { field: field || '(body)', message: `must ${problem}` };
    } else if (typeof value === 'number') {
      // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null: a silent change.
      if (!nestingOnly && !Number.isFinite(value)) {
        return { field: field || '(body)', message: 'must be a finite number' };
      }
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        return { field: field || '(body)', message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` };
      }
      for (const [key, child] of Object.entries(value)) {
        // Reserved keys too refuse a whole body: the pipe would delete them from every item first.
        if (RESERVED_KEYS.has(key)) {
          return { field: join(field, key), message: `${key} is a reserved name and cannot be a key` };
        }
        const problem = nestingOnly ? undefined : textProblem(key);
        if (problem) return { field: field || '(body)', message: `must have keys that ${problem}` };
        const items = depth === 0 && key === itemsKey && Array.isArray(child);
        stack.push({
          value: child,
          field: join(field, key),
          depth: depth + 1,
          nestingOnly: nestingOnly || items,
        });
      }
    }
  }
  return undefined;
}

/**
 * Keys Nest's ValidationPipe deletes at every depth (against prototype pollution) without a word:
 * a job payload would lose them silently. Refused instead, like Fastify refuses `__proto__`.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'not contain NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(text)) return 'be well-formed Unicode (no unpaired surrogates)';
  return undefined;
}

function join(parent: string, key: string): string {
  const field = parent ? `${parent}.${key}` : key;
  return field.length > MAX_FIELD_LENGTH ? `${field.slice(0, MAX_FIELD_LENGTH)}…` : field;
}

/** `\u0000` and lone surrogate escapes in JSON text, not preceded by an escaping backslash. */
const UNSTORABLE_ESCAPE =
  /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|d[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})d[c-f][0-9a-f]{2})/gi;

/** JSON text (as JSON.stringify writes it) that a jsonb column accepts: each offender becomes U+FFFD. */
export function storableJson(json: string): string {
  return json.replace(UNSTORABLE_ESCAPE, '\\ufffd');
}

/** Text that a text column accepts: each NUL becomes U+FFFD. */
export function storableText(text: string): string {
  return text.replace(/\0/g, '\ufffd');
}
