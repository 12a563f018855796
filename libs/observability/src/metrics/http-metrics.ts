import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  InjectMetric,
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Counter, Gauge, Histogram } from 'prom-client';

const LABELS = ['method', 'route', 'status_code'];

export const httpMetricProviders = [
  makeCounterProvider({ name: 'http_requests_total', help: 'HTTP requests served.', labelNames: LABELS }),
  makeHistogramProvider({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration from arrival to response.',
    labelNames: LABELS,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  makeGaugeProvider({ name: 'http_requests_in_flight', help: 'HTTP requests being served now.' }),
];

/** The route template (`/v1/jobs/:id`), never the raw URL, so label cardinality stays bounded. */
export function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/**
 * Records every HTTP request. Fastify hooks rather than a Nest interceptor, because an
 * interceptor never sees what guards, body parsing or the router reject (401, 413, 429, 404),
 * and those are exactly the responses an operator needs to count.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectMetric('http_requests_total') private readonly total: Counter<string>,
    @InjectMetric('http_request_duration_seconds') private readonly duration: Histogram<string>,
    @InjectMetric('http_requests_in_flight') private readonly inFlight: Gauge<string>,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (_request, _reply, done) => {
      this.inFlight.inc();
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      this.inFlight.dec();
      const labels = {
        method: request.method,
        route: routeLabel(request),
        status_code: String(reply.statusCode),
      };
      this.total.inc(labels);
      this.duration.observe(labels, reply.elapsedTime / 1000);
      done();
    });
  }
}
