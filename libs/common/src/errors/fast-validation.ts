import type { Type } from '@nestjs/common';
import { Transform, type TransformFnParams, TransformationType } from 'class-transformer';
// class-transformer exports no public accessor for its decorator metadata.
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, type ValidationArguments, ValidationTypes } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/**
 * Keeps the property exactly as it came in the request instead of class-transformer's copy,
 * which drops keys such as `toString` and empties any object with a `constructor` key. The fast
 * path below knows this transform is the identity.
 */
export const KeepAsSent = (): PropertyDecorator => Transform(asSent);

function asSent({ obj, key }: TransformFnParams): unknown {
  return (obj as Record<string, unknown>)[key];
}

/**
 * A check compiled from a DTO's class-validator and class-transformer metadata that answers, for
 * a parsed JSON object, the instance plainToInstance + validateSync would produce when it is sure
 * they would accept it, and undefined whenever it is not sure (the caller then runs the real
 * thing, which also words the errors). It only understands what it can mirror exactly: the
 * class-validator built-ins in VALUE_ONLY (called themselves, so their semantics are theirs),
 * IsOptional, ValidateNested with @Type, and @KeepAsSent; a property with anything else, or
 * holding an object it would have to copy, makes it answer undefined.
 */
export type FastValidator<T> = (plain: object) => T | undefined;

/**
 * Built-in constraints whose validators read only the value and the decorator's constraints
 * (never other properties), synchronously.
 */
const VALUE_ONLY = new Set([
  'isArray',
  'arrayMinSize',
  'arrayMaxSize',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isObject',
  'isIn',
  'isIso8601',
  'isUuid',
  'min',
  'max',
  'minLength',
  'maxLength',
  'matches',
]);

interface PropertyRule {
  name: string;
  /**
   * Undefined: the slow path decides when this property is present, or when it is absent and not
   * IsOptional (class-validator checks absent properties too).
   */
  check?: (value: unknown) => unknown;
  optional: boolean;
}

const UNSURE = Symbol('unsure');
const compiled = new WeakMap<Type<object>, FastValidator<object> | null>();

/** The compiled check of `cls`, built once; null when the class has nothing it can mirror. */
export function fastValidator<T extends object>(cls: Type<T>): FastValidator<T> | null {
  if (!compiled.has(cls)) compiled.set(cls, compile(cls));
  return compiled.get(cls) as FastValidator<T> | null;
}

function compile<T extends object>(cls: Type<T>): FastValidator<T> | null {
  if (hasClassLevelTransformerRules(cls)) return null;
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false, undefined);
  if (metadatas.length === 0) return null;
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const metadata of metadatas) {
    byProperty.set(metadata.propertyName, [...(byProperty.get(metadata.propertyName) ?? []), metadata]);
  }
  const rules: PropertyRule[] = [];
  for (const [name, list] of byProperty) {
    if (name in Object.prototype || hasAccessor(cls, name)) return null;
    const optional = list.some(
      (m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION && m.name === 'isOptional',
    );
    rules.push({ name, check: propertyCheck(cls, name, list), optional });
  }
  const known = new Map(rules.map((rule) => [rule.name, rule]));
  return (plain) => {
    if (Object.getPrototypeOf(plain) !== Object.prototype) return undefined;
    for (const key of Object.keys(plain)) if (!known.has(key)) return undefined;
    const instance = new cls() as Record<string, unknown>;
    for (const rule of rules) {
      const present = Object.hasOwn(plain, rule.name);
      const value = present ? (plain as Record<string, unknown>)[rule.name] : undefined;
      if (!rule.check) {
        if (present || !rule.optional) return undefined;
        continue;
      }
      const result = rule.check(value);
      if (result === UNSURE) return undefined;
      if (present) instance[rule.name] = result;
    }
    return instance as T;
  };
}

/**
 * The value's check for one property: its instance value (the value itself, or the nested
 * instance), UNSURE, or undefined when this property cannot be mirrored at all.
 */
function propertyCheck(
  cls: Type<object>,
  name: string,
  metadatas: ValidationMetadata[],
): ((value: unknown) => unknown) | undefined {
  let optional = false;
  let nested: FastValidator<object> | null | undefined;
  const validators: ((value: unknown) => boolean)[] = [];
  for (const metadata of metadatas) {
    if (metadata.each || metadata.validateIf || metadata.always !== undefined) return undefined;
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION && metadata.name === 'isOptional') {
      optional = true;
    } else if (metadata.type === ValidationTypes.NESTED_VALIDATION) {
      nested = nestedValidator(cls, name);
      if (!nested) return undefined;
    } else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION) {
      const validator = valueOnlyValidator(metadata);
      if (!validator) return undefined;
      validators.push(validator);
    } else if (metadata.type !== ValidationTypes.WHITELIST) {
      return undefined;
    }
  }
  const keptAsSent = transformIsIdentity(cls, name);
  if (keptAsSent === undefined) return undefined;
  if (nested && keptAsSent) return undefined;
  return (value) => {
    if (optional && (value === null || value === undefined)) return value;
    for (const validator of validators) if (!validator(value)) return UNSURE;
    if (nested) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return UNSURE;
      return nested(value) ?? UNSURE;
    }
    // Anything but a primitive would be copied by class-transformer, unless kept as sent.
    return keptAsSent || value === null || typeof value !== 'object' ? value : UNSURE;
  };
}

function valueOnlyValidator(metadata: ValidationMetadata): ((value: unknown) => boolean) | undefined {
  const constraints = getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls);
  if (constraints.length !== 1 || constraints[0].async || !VALUE_ONLY.has(constraints[0].name ?? '')) {
    return undefined;
  }
  const instance = constraints[0].instance as {
    validate(value: unknown, args: ValidationArguments): boolean | Promise<boolean>;
  };
  // VALUE_ONLY validators read the constraints from their arguments, nothing else.
  const args = { constraints: metadata.constraints, property: metadata.propertyName } as ValidationArguments;
  return (value) => instance.validate(value, args) === true;
}

/** @Type(() => Nested) without options; the nested class compiled in turn. */
function nestedValidator(cls: Type<object>, name: string): FastValidator<object> | null | undefined {
  const type = defaultMetadataStorage.findTypeMetadata(cls, name);
  if (!type || Object.keys(type.options ?? {}).length > 0) return undefined;
  const nested = type.typeFunction() as Type<object> | undefined;
  return typeof nested === 'function' ? fastValidator(nested) : undefined;
}

/** true: @KeepAsSent; false: no transform; undefined: some transform the fast path cannot know. */
function transformIsIdentity(cls: Type<object>, name: string): boolean | undefined {
  const transforms = defaultMetadataStorage.findTransformMetadatas(
    cls,
    name,
    TransformationType.PLAIN_TO_CLASS,
  );
  if (transforms.length === 0) return false;
  const identity = transforms.every(
    (t) => t.transformFn === asSent && Object.keys(t.options ?? {}).length === 0,
  );
  return identity ? true : undefined;
}

function hasClassLevelTransformerRules(cls: Type<object>): boolean {
  return (
    defaultMetadataStorage.getStrategy(cls) !== 'none' ||
    defaultMetadataStorage.getExposedMetadatas(cls).length > 0 ||
    defaultMetadataStorage.getExcludedMetadatas(cls).length > 0
  );
}

/** class-transformer skips a key the class defines as an accessor or method. */
function hasAccessor(cls: Type<object>, name: string): boolean {
  for (let proto = cls.prototype as object | null; proto && proto !== Object.prototype;) {
    if (Object.getOwnPropertyDescriptor(proto, name)) return true;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return false;
}
