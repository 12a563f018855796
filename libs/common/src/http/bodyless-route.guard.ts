import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { RequestValidationError } from '../errors/domain-error';
import { unknownFieldError } from '../errors/validation.pipe';

/**
 * Refuses a body sent to a route that reads none (cancel, retry, pause, a DELETE): unknown body
 * fields are rejected, not silently dropped (CONTRACT §3), and the validation pipe only sees
 * bodies that a handler declares with @Body(). An empty object passes (`curl -d '{}'`). Bind it
 * after the access guards, so that a caller without access still gets 401 or 403 first.
 */
@Injectable()
export class BodylessRouteGuard implements CanActivate {
  private readonly takesBody = new WeakMap<object, boolean>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const body = context.switchToHttp().getRequest<{ body?: unknown }>().body;
    if (body === undefined || body === null || this.readsBody(context)) return true;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new RequestValidationError([{ field: '(body)', message: 'this route takes no body' }]);
    }
    const fields = Object.keys(body);
    if (fields.length === 0) return true;
    throw new RequestValidationError(fields.map(unknownFieldError));
  }

  private readsBody(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let reads = this.takesBody.get(handler);
    if (reads === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as object;
      // Keys are `${paramtype}:${index}`; a handler given the whole request may read its body too.
      const types = new Set(Object.keys(args).map((key) => Number(key.split(':')[0])));
      reads = types.has(RouteParamtypes.BODY) || types.has(RouteParamtypes.REQUEST);
      this.takesBody.set(handler, reads);
    }
    return reads;
  }
}
