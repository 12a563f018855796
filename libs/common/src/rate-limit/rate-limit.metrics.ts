import { makeCounterProvider } from '@willsoto/nestjs-prometheus';

export const RATE_LIMIT_REJECTIONS = 'rate_limit_rejections_total';

export const rateLimitMetrics = [
  makeCounterProvider({
    name: RATE_LIMIT_REJECTIONS,
    help: 'Requests rejected with 429 by the rate limiter, by route template.',
    labelNames: ['route'],
  }),
];
