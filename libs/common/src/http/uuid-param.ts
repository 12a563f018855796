import { ParseUUIDPipe } from '@nestjs/common';
import { RequestValidationError } from '../errors/domain-error';

/**
 * A path parameter that must be a UUID (any version). A malformed one is a validation error like
 * any other (CONTRACT §3): 400 with `errors: [{field, message}]` naming the parameter; Nest's own
 * pipe answered a bare 400 without them.
 */
export function uuidParam(field = 'id'): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () => new RequestValidationError([{ field, message: `${field} must be a UUID` }]),
  });
}
