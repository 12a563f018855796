import { type ArgumentMetadata, type Type, ValidationPipe, type ValidationError } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { type FieldError, RequestValidationError } from './domain-error';
import { fastValidator } from './fast-validation';
import { findUnstorableValue } from './storable-json';

/** `[{property:'a', children:[{property:'b', constraints}]}]` → `[{field:'a.b', message}]`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field: field || '(body)',
      message,
    }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/**
 * The single validation pipe: unknown fields are rejected rather than silently dropped
 * (CONTRACT §3), and failures become a RequestValidationError with `errors[]`. Before the DTO
 * rules, every body, query and path param is checked for what no DTO rule catches and the store
 * cannot hold (NUL, unpaired surrogates, any string or key at any depth, and absurd nesting), so
 * that such input is a 400 rather than a database error, and for keys that would vanish silently.
 */
export function createValidationPipe(): ValidationPipe {
  return new StorableValidationPipe({
    ...VALIDATION_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
  });
}

const VALIDATED_PER_ITEM = Symbol('validated per item');

/**
 * An array property whose items the handler validates one by one, each item answered with its
 * own errors (a batch): the pipe checks only their nesting and reserved keys, so that one bad
 * item cannot refuse the others. The handler must run findUnstorableValue on each item itself.
 */
export const ValidatedPerItem = (): PropertyDecorator => (target, key) =>
  Reflect.defineMetadata(VALIDATED_PER_ITEM, key, target.constructor);

class StorableValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const itemsKey = metadata.metatype
        ? (Reflect.getMetadata(VALIDATED_PER_ITEM, metadata.metatype) as string | undefined)
        : undefined;
      const error = findUnstorableValue(value, metadata.data ?? '', itemsKey);
      if (error) throw new RequestValidationError([error]);
    }
    const inherited = metadata.type === 'custom' ? [] : inheritedKeyErrors(value);
    if (inherited.length > 0) throw new RequestValidationError(inherited);
    // Nest's pipe passes a null or missing body through unvalidated, and an array is checked item
    // by item: a DTO whose fields are all optional took `null`, `[]` or no body as a no-op 200.
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object && !isObject(value)) {
      throw new RequestValidationError([{ field: '(body)', message: 'the body must be a JSON object' }]);
    }
    // The prototype-key stripping the pipe starts with is moot here: findUnstorableValue refused them.
    const fast =
      metadata.type !== 'custom' && metadata.metatype && value !== null && typeof value === 'object'
        ? fastValidator(metadata.metatype as Type<object>)?.(value)
        : undefined;
    return fast ?? (await super.transform(value, metadata));
  }
}

/**
 * `plain` through the pipe's rules, for input validated outside it (batch items, job payloads):
 * fields named like Object.prototype members refused, then the DTO's rules. Returns the instance
 * of `cls`, or the field errors, named under `prefix`. Input the compiled fast path is sure of
 * skips class-transformer and class-validator (most of a 1,000-job batch's CPU otherwise).
 */
export function validateAs<T extends object>(cls: Type<T>, plain: object, prefix = ''): T | FieldError[] {
  const inherited = inheritedKeyErrors(plain).map((error) => ({
    ...error,
    field: prefix ? `${prefix}.${error.field}` : error.field,
  }));
  if (inherited.length > 0) return inherited;
  return fastValidator(cls)?.(plain) ?? classValidate(cls, plain, prefix);
}

/** The reference path of validateAs: class-transformer, then class-validator with the pipe's options. */
export function classValidate<T extends object>(cls: Type<T>, plain: object, prefix = ''): T | FieldError[] {
  const instance = plainToInstance(cls, plain);
  const errors = validateSync(instance, VALIDATION_OPTIONS);
  return errors.length > 0 ? flattenValidationErrors(errors, prefix) : instance;
}

/** Unknown fields are errors, and error reports never echo the submitted values. */
const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
} as const;

/**
 * Unknown fields named like Object.prototype members (`constructor`, `toString`, `__proto__` in a
 * query…) or `prototype`: class-transformer drops them before the whitelist check sees them, so they would be
 * silently ignored instead of refused like any other unknown field (CONTRACT §3).
 */
function inheritedKeyErrors(value: unknown): FieldError[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.keys(value)
    .filter((key) => key in Object.prototype || key === 'prototype')
    .map(unknownFieldError);
}

/** An unknown field, worded as class-validator's whitelist words it. */
export function unknownFieldError(field: string): FieldError {
  return { field, message: `property ${field} should not exist` };
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
