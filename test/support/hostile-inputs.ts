import fc from 'fast-check';
import { anyJson, hostileText, isWellFormed, tooDeep, tooLong, unstorableText } from './hostile';

// What each input field accepts, written from the DTOs, and generators of values it must refuse.
// A generated request is invalid by construction: a valid base with at least one broken part.

export type Field =
  | { kind: 'text'; max: number; min?: number }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  /** A string with a format or pattern; `invalid` yields strings that never match it. */
  | { kind: 'format'; invalid: fc.Arbitrary<string>; max?: number }
  | { kind: 'password' }
  /** A free-form JSON object (a job payload). */
  | { kind: 'object' }
  | { kind: 'nested'; shape: Shape }
  | { kind: 'list' };

export interface Shape {
  /** A body (or query) that passes validation; never sent as it is. */
  valid: Record<string, unknown>;
  fields: Record<string, Field>;
  required?: string[];
}

const wrongTypeFor = {
  text: fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.object(),
  ),
  number: fc.oneof(
    hostileText(),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.object(),
    fc.constantFrom('1', '1e400', 'NaN', 'Infinity', '-0', '0x10', ''),
  ),
};

const notMatching = (re: RegExp) => hostileText().filter((s) => !re.test(s));

/** Strings that are not ISO 8601 dates: they never start with a digit or a sign. */
export const notIsoDate = fc.oneof(
  notMatching(/^[\d+-]/),
  fc.constantFrom(
    '2024-02-30T00:00:00Z',
    '2024-13-01',
    '0000-01-01T00:00:00Z',
    '99999-01-01T00:00:00Z',
    '2024-01-01T25:00:00Z',
    '2024-01-01 00:00:00Z',
    '1e400',
    'now()',
  ),
);
export const notUuid = notMatching(/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i);
export const notEmail = notMatching(/@/);

/** Values of every other type than `field` takes, out of its range, or unstorable. */
export function invalidValue(field: Field, required: boolean): fc.Arbitrary<unknown> {
  const common: fc.Arbitrary<unknown>[] = [tooDeep, unstorableText];
  if (required) common.push(fc.constant(null));
  return fc.oneof(...common, ...invalidByKind(field));
}

function invalidByKind(field: Field): fc.Arbitrary<unknown>[] {
  switch (field.kind) {
    case 'text':
      return [wrongTypeFor.text, tooLong(field.max), ...(field.min ? [fc.constant('')] : [])];
    case 'int':
      return [
        wrongTypeFor.number,
        fc.integer({ max: field.min - 1 }),
        fc.integer({ min: field.max + 1 }),
        fc.constantFrom(field.min + 0.5, 1e300, -1e300, Number.MAX_SAFE_INTEGER + 2),
      ];
    case 'number':
      return [
        wrongTypeFor.number,
        fc.double({ max: field.min, maxExcluded: true, noNaN: true }),
        fc.double({ min: field.max, minExcluded: true, noNaN: true }),
      ];
    case 'bool':
      return [
        fc.oneof(
          hostileText(),
          fc.constantFrom('true', 'false', 0, 1),
          fc.array(fc.boolean(), { minLength: 1 }),
        ),
      ];
    case 'enum':
      return [
        hostileText().filter((s) => !field.values.includes(s)),
        fc.constantFrom(...field.values.map((v) => v.toUpperCase()), ` ${field.values[0]}`, 1, [
          field.values[0],
        ]),
      ];
    case 'format':
      return [field.invalid, wrongTypeFor.text, ...(field.max ? [tooLong(field.max)] : [])];
    case 'password':
      return [
        wrongTypeFor.text,
        fc.string({ maxLength: 11 }),
        fc.string({ minLength: 73, maxLength: 200 }),
        fc.constant('é'.repeat(40)),
      ];
    case 'object':
      return [
        fc.oneof(hostileText(), fc.integer(), fc.boolean(), fc.array(anyJson, { maxLength: 3 })),
        unstorableText.map((bad) => ({ ok: 1, nested: { value: bad } })),
        unstorableText.map((bad) => ({ [bad]: 'key' })),
        tooDeep.map((deep) => ({ deep })),
      ];
    case 'nested':
      return [
        fc.oneof(hostileText(), fc.integer(), fc.array(anyJson, { maxLength: 3 })),
        invalidBody(field.shape, false),
      ];
    case 'list':
      return [fc.oneof(hostileText(), fc.integer(), fc.object(), fc.constant([]))];
  }
}

/** One way of breaking a valid body; applying any of them makes it invalid. */
export function invalidBody(shape: Shape, allowNonObject = true): fc.Arbitrary<unknown> {
  const names = Object.keys(shape.fields);
  const required = shape.required ?? [];
  const mutations: fc.Arbitrary<unknown>[] = [
    // One field with a value it must refuse.
    fc.constantFrom(...names).chain((name) =>
      invalidValue(shape.fields[name], required.includes(name)).map((value) => ({
        ...shape.valid,
        [name]: value,
      })),
    ),
    // An unknown field (rejected, never dropped), with a hostile name and value.
    fc
      .tuple(
        hostileText(300).filter((key) => !names.includes(key)),
        fc.oneof(anyJson, tooDeep),
      )
      .map(([key, value]) => ({ ...shape.valid, [key]: value })),
  ];
  if (required.length > 0) {
    mutations.push(
      fc.constantFrom(...required).map((name) => {
        const body = { ...shape.valid };
        delete body[name];
        return body;
      }),
    );
  }
  if (allowNonObject) {
    mutations.push(
      fc.oneof(hostileText(), fc.integer(), fc.boolean(), fc.array(anyJson, { maxLength: 4 }), tooDeep),
    );
  }
  return fc.oneof(...mutations);
}

/** Query values are text: each field gets strings (or repeated keys) it must refuse. */
export function invalidQuery(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(shape.fields);
  const text = hostileText().filter(isWellFormed);
  const byField = fc.constantFrom(...names).chain((name) => {
    const field = shape.fields[name];
    const bad: fc.Arbitrary<unknown>[] = [
      fc.tuple(text, text).map(([a, b]) => [a, b]),
      fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `${a}\u0000${b}`),
    ];
    if (field.kind === 'text') bad.push(tooLong(field.max));
    if (field.kind === 'int') {
      bad.push(
        fc.integer({ max: field.min - 1 }).map(String),
        fc.integer({ min: field.max + 1 }).map(String),
        fc.constantFrom('1.5', 'abc', '1e400', 'NaN', '', ' ', '-0x1', '99999999999999999999'),
      );
    }
    if (field.kind === 'enum') bad.push(text.filter((s) => !field.values.includes(s)));
    if (field.kind === 'bool') bad.push(text.filter((s) => s !== 'true' && s !== 'false'));
    if (field.kind === 'format') bad.push(field.invalid.filter(isWellFormed));
    return fc.oneof(...bad).map((value) => ({ ...shape.valid, [name]: value }));
  });
  const unknown = fc
    .tuple(
      text.filter((key) => key.length > 0 && !names.includes(key)),
      text,
    )
    .map(([key, value]) => ({ ...shape.valid, [key]: value }));
  return fc.oneof(byField, unknown);
}
