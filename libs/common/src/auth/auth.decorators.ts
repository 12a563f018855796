import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Principal, Role } from './principal';

export const IS_PUBLIC_KEY = 'auth:public';
export const ROLES_KEY = 'auth:roles';
export const SIGNED_IN_ONLY_KEY = 'auth:signed-in-only';

/** Opts a route (or controller) out of authentication; everything else requires it. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);

/** Restricts a route (or controller) to the given roles; others get 403. */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);

/**
 * Refuses a route (or controller) to API keys (403): it needs a user's bearer token. For what
 * would let a leaked key outlive its revocation or take over the account: new keys, the password.
 */
export const SignedInOnly = (): MethodDecorator & ClassDecorator => SetMetadata(SIGNED_IN_ONLY_KEY, true);

/** The authenticated caller, as set on the request by the authentication guard. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal =>
    context.switchToHttp().getRequest<{ user: Principal }>().user,
);
