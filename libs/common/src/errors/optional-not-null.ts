import { ValidateIf } from 'class-validator';

/**
 * May be left out, but not sent as null: class-validator's IsOptional skips null too, which let
 * `{"role": null}` through to a NOT NULL column (a 500). The property's other rules then say
 * what a value must be.
 */
export const OptionalNotNull = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);
