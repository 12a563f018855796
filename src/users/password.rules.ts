import { ValidateBy, type ValidationOptions } from 'class-validator';

export const PASSWORD_MIN_LENGTH = 12;
// bcrypt ignores everything after 72 bytes; refuse longer passwords instead of silently truncating.
export const PASSWORD_MAX_BYTES = 72;

/** A new password: at least 12 characters, at most 72 bytes of UTF-8. */
export function IsNewPassword(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNewPassword',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          [...value].length >= PASSWORD_MIN_LENGTH &&
          Buffer.byteLength(value, 'utf8') <= PASSWORD_MAX_BYTES,
        defaultMessage: () =>
          `$property must be at least ${PASSWORD_MIN_LENGTH} characters and at most ${PASSWORD_MAX_BYTES} bytes`,
      },
    },
    options,
  );
}
