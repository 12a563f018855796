import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RequestContext, type RequestContextData } from './request-context';

const SCOPE = Symbol('requestContext');
type ScopedRequest = FastifyRequest & { [SCOPE]?: RequestContextData };

/**
 * One scope per HTTP request, opened by two Fastify hooks rather than Nest middleware (a middie
 * pass and several awaits per request). onRequest opens it with the request id, so every log
 * line from then on carries the id; preHandler resumes it, because body parsing continues on the
 * socket's events and loses the async scope before guards and the controller run.
 */
@Injectable()
class RequestScopeHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly context: RequestContext,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    fastify.addHook('onRequest', (request: ScopedRequest, _reply, done) => {
      const scope: RequestContextData = { requestId: String(request.id) };
      request[SCOPE] = scope;
      this.context.run(done, scope);
    });
    fastify.addHook('preHandler', (request: ScopedRequest, _reply, done) =>
      this.context.run(done, request[SCOPE]),
    );
  }
}

/** Exposes RequestContext and opens one scope per HTTP request. */
@Global()
@Module({
  providers: [RequestContext, RequestScopeHooks],
  exports: [RequestContext],
})
export class RequestContextModule {}
