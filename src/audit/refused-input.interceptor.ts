import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { catchError, from, mergeMap, type Observable, throwError } from 'rxjs';
import { type Principal, RequestValidationError, storableText } from '@lib/common';
import { AuditService } from './audit.service';

/** What a route does, as its audit rows name it; `resourceId` says where the row's id comes from. */
export interface AuditedRoute {
  action: string;
  resourceType: string;
  /** A path parameter's name, or `caller` for the caller's own account (`/v1/users/me…`). */
  resourceId?: string;
}

const AUDITED_ROUTE = Symbol('audited route');

/**
 * Marks a mutating route whose input may be refused before its service runs: Nest's validation
 * pipe rejects a bad body, query or path parameter before the handler, where the service's own
 * refusals are audited (AuditService.refusalsAudited). Such a refusal is a failed attempt too
 * (CONTRACT §6), so it gets its row: success=false, errorCode REQUEST.VALIDATION_FAILED.
 */
export const AuditsRefusedInput = (route: AuditedRoute): MethodDecorator =>
  applyDecorators(SetMetadata(AUDITED_ROUTE, route), UseInterceptors(RefusedInputInterceptor));

/**
 * Records the refusals AuditsRefusedInput asks for. Only RequestValidationError, which the pipe and
 * the controllers raise: services refuse with their own codes and audit those themselves.
 */
@Injectable()
export class RefusedInputInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.reflector.get<AuditedRoute | undefined>(AUDITED_ROUTE, context.getHandler());
    if (!route) return next.handle();
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (!(error instanceof RequestValidationError)) {
          return throwError(() => error);
        }
        const request = context
          .switchToHttp()
          .getRequest<{ params?: Record<string, string>; user?: Principal }>();
        const resourceId =
          route.resourceId === 'caller'
            ? (request.user?.userId ?? null)
            : route.resourceId
              ? storableOrNull(request.params?.[route.resourceId])
              : null;
        const entry = {
          action: route.action,
          resourceType: route.resourceType,
          resourceId,
          success: false,
          errorCode: error.code,
        };
        return from(this.audit.record(entry)).pipe(mergeMap(() => throwError(() => error)));
      }),
    );
  }
}

/** A refused path parameter as the row can hold it: it may carry the NUL that got it refused. */
function storableOrNull(param: string | undefined): string | null {
  return param === undefined ? null : storableText(param);
}
