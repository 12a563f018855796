import { applyDecorators } from '@nestjs/common';
import { IsISO8601, Matches } from 'class-validator';

/**
 * The ISO 8601 forms an instant may take in a request: a calendar date, `T`, hours and minutes,
 * optional seconds and fraction, and a UTC offset or Z. ISO 8601 has more (week and ordinal
 * dates, the basic format, hour-only times, comma fractions, `+01`), which class-validator's
 * IsISO8601 accepts but JavaScript's Date cannot read: they reached the store as an invalid
 * date and came back as a 500.
 */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const DATE_OR_TIMESTAMP = new RegExp(`^\\d{4}-\\d{2}-\\d{2}$|${TIMESTAMP.source}`);

/** An instant with its UTC offset, e.g. `2026-12-04T10:00:00Z`; IsISO8601 checks the calendar. */
export const IsTimestamp = (): PropertyDecorator =>
  applyDecorators(
    IsISO8601({ strict: true }),
    Matches(TIMESTAMP, {
      message: ({ property }) =>
        `${property} must be a timestamp with a UTC offset or Z, like 2026-12-04T10:00:00Z`,
    }),
  );

/** A timestamp as above, or a date (`2026-12-04`, midnight UTC). */
export const IsDateOrTimestamp = (): PropertyDecorator =>
  applyDecorators(
    IsISO8601({ strict: true }),
    Matches(DATE_OR_TIMESTAMP, {
      message: ({ property }) =>
        `${property} must be a date (2026-12-04) or a timestamp with a UTC offset or Z (2026-12-04T10:00:00Z)`,
    }),
  );
