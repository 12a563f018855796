import { Transform } from 'class-transformer';

/**
 * Query strings arrive as text: `true`/`false` become booleans, anything else stays a string and
 * fails the property's @IsBoolean() with a clear 400.
 */
export const QueryBoolean = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));
