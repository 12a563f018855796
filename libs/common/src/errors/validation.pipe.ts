import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { type FieldError, RequestValidationError } from './domain-error';

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
 * (CONTRACT §3), and failures become a RequestValidationError with `errors[]`.
 */
export function createValidationPipe(): ValidationPipe {
  return new SafeInputValidationPipe({
    ...VALIDATION_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
  });
}

/** U+0000 or an unpaired surrogate: what PostgreSQL refuses in text or jsonb. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Deeper input exhausts the stack of the recursive validation and transformation below. */
export const MAX_INPUT_DEPTH = 64;

/**
 * What the pipe refuses before validating (each a 500 otherwise; CONTRACT §3 wants 400): any
 * string or key in a body, query or path parameter that PostgreSQL could not store, and nesting
 * deeper than MAX_INPUT_DEPTH. As field errors, with the field's path.
 */
export function unsafeInputFields(value: unknown, path = '', depth = 0): FieldError[] {
  const here = path || '(body)';
  if (typeof value === 'string') {
    return UNSTORABLE.test(value)
      ? [{ field: here, message: `${here} contains a NUL or unpaired surrogate` }]
      : [];
  }
  if (value === null || typeof value !== 'object') return [];
  if (depth >= MAX_INPUT_DEPTH)
    return [{ field: here, message: `nested deeper than ${MAX_INPUT_DEPTH} levels` }];
  return Object.entries(value).flatMap(([key, inner]) => {
    const field = path ? `${path}.${key}` : key;
    const own = UNSTORABLE.test(key)
      ? [{ field: here, message: 'a key contains a NUL or unpaired surrogate' }]
      : [];
    return [...own, ...unsafeInputFields(inner, field, depth + 1)];
  });
}

/** The ValidationPipe, refusing first what validation or the store could not handle. */
class SafeInputValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const errors = unsafeInputFields(value, metadata.data ?? '');
      if (errors.length > 0) return Promise.reject(new RequestValidationError(errors));
    }
    return super.transform(value, metadata);
  }
}

/**
 * The rules of the pipe, for input validated outside it (batch items, job payloads): unknown
 * fields are errors, and error reports never echo the submitted values.
 */
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
} as const;
