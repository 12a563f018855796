import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type DynamicModule, type ModuleMetadata, VersioningType } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import {
  clientErrorResponse,
  genRequestId,
  PROBLEM_CONTENT_TYPE,
  REQUEST_ID_HEADER,
  ShutdownState,
  toProblem,
  useJsonBodyParser,
} from '@lib/common';
import { appConfig } from '@lib/config';
import { StartupLogger } from '@lib/observability';
import { STATUS_BY_CODE } from './app.errors';
import { AppModule } from './app.module';
import { setupOpenApi } from './openapi';

// A problem's `instance` for a path the router refused: enough to recognise it, not an echo of
// up to 16 KiB of whatever was sent.
const MAX_INSTANCE_LENGTH = 256;

// Swagger UI needs inline styles and data: images; everything else stays same-origin.
const CONTENT_SECURITY_POLICY = {
  directives: {
    defaultSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
    scriptSrc: ["'self'"],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
    // Helmet's default would make a browser fetch Swagger UI's own assets over https when /docs
    // is opened over plain http from another host (compose on a server, a port-forward), where
    // they fail. TLS is the ingress's to enforce; it is also what makes browsers honour HSTS.
    upgradeInsecureRequests: null,
  },
};

/**
 * Builds the fully configured app without listening, for main.ts and for the e2e tests.
 * `imports` adds modules next to AppModule (tests mount fixtures this way).
 */
export async function createApp(imports: ModuleMetadata['imports'] = []): Promise<NestFastifyApplication> {
  const cfg = appConfig();
  const securityHeaders = helmetHeaders();
  // The API's answers are one caller's: tokens, keys shown once, their jobs. No cache keeps them.
  const apiHeaders = { ...securityHeaders, 'cache-control': 'no-store' };
  const headersFor = (request: FastifyRequest) =>
    request.url.startsWith('/v1/') ? apiHeaders : securityHeaders;
  const adapter = new FastifyAdapter({
    bodyLimit: cfg.maxBodyBytes,
    trustProxy: cfg.trustProxy,
    genReqId: genRequestId,
    requestIdHeader: false,
    // Keep serving while hooks drain on shutdown; readiness already tells the balancer to go.
    return503OnClosing: false,
    logger: false,
    // No Nest middleware (request context, logging and metrics are Fastify hooks), so no middie
    // and its onRequest pass on every request. Nest middleware would need it registered again.
    skipMiddie: true,
    // Router-level refusals (a malformed %-escape, a path param over maxParamLength) answer
    // before any hook or filter runs; render them as problem+json like every other error.
    // They skip the onRequest hook too, so they get its headers here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0];
      const context = { instance: path.slice(0, MAX_INSTANCE_LENGTH), requestId: String(request.id) };
      const { problem, headers } = toProblem(error, context, STATUS_BY_CODE);
      void reply
        .status(problem.status)
        .headers({ ...headersFor(request), ...headers, [REQUEST_ID_HEADER]: String(request.id) })
        .type(PROBLEM_CONTENT_TYPE)
        .send(problem);
    },
    // What Node's HTTP parser refuses before there is a request (headers over 16 KiB, a
    // malformed request line): problem+json too, not Fastify's own JSON.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorResponse(error, securityHeaders));
      socket.destroy(error);
    },
  });
  const root: DynamicModule = { module: class JobsServiceRoot {}, imports: [AppModule, ...imports] };
  // JSON everywhere (CONTRACT §3): one JSON parser (json-body-parser.ts). Nest would add a form
  // parser, and Fastify a text/plain one; any other Content-Type with a body is a 415.
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    bufferLogs: true,
    // What Nest logs before pino takes over is flushed here when the start fails (the store
    // unreachable, say): pino lines like the rest, and only what explains the failure.
    logger: new StartupLogger(),
    abortOnError: false,
    bodyParser: false,
  });
  app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
  useJsonBodyParser(app.getHttpAdapter().getInstance());
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(headersFor(request)).header(REQUEST_ID_HEADER, request.id);
    done();
  });
  // Server close only drops connections idle at that instant; a keep-alive connection whose
  // response finishes later would hold the process until its keep-alive timeout.
  const shutdown = app.get(ShutdownState);
  fastify.addHook('onSend', (_request, reply, _payload, done) => {
    if (shutdown.isShuttingDown) void reply.header('connection', 'close');
    done();
  });
  // @fastify/cors allows only GET, HEAD and POST unless told, and exposes no header to scripts:
  // a browser client could not PATCH its profile or DELETE a job, nor read a 202's Location or
  // pace itself by the rate-limit headers.
  if (cfg.corsOrigins.length > 0) {
    app.enableCors({
      origin: cfg.corsOrigins,
      credentials: false,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      exposedHeaders: [
        'Location',
        'Retry-After',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        REQUEST_ID_HEADER,
      ],
    });
  }
  app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
  setupOpenApi(app, process.env.npm_package_version ?? '0.1.0');
  return app;
}

/**
 * Helmet's headers, worked out once: with static directives they depend on its options only, so
 * running its chain of 13 middlewares on every response (and @fastify/helmet rebuilding it, CSP
 * parsing included, per request) buys nothing.
 */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: () => undefined,
  };
  helmet({ contentSecurityPolicy: CONTENT_SECURITY_POLICY })(
    {} as IncomingMessage,
    response as unknown as ServerResponse,
    (error?: unknown) => {
      if (error instanceof Error) throw error;
    },
  );
  return headers;
}
