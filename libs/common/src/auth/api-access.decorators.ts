import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Roles } from './auth.decorators';

/**
 * For a controller whose routes need a caller (every route does unless @Public): documents both
 * credentials (a bearer token or an X-API-Key) and the 401 that the authentication guard answers.
 */
export const AuthenticatedApi = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    ApiBearerAuth('bearer'),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: 'Missing, invalid or expired credentials.' }),
  );

/** Admins only: Roles('admin') (403 for anyone else), documented as such. */
export const AdminApi = (): ClassDecorator & MethodDecorator =>
  applyDecorators(AuthenticatedApi(), ApiForbiddenResponse({ description: 'Not an admin.' }), Roles('admin'));
