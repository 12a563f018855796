export * from './logging/logging.module';
export * from './logging/redaction';
export * from './metrics/http-metrics';
export * from './metrics/metrics.module';
export * from './logging/root-logger';
export * from './metrics/counter-tally';
export * from './logging/startup-logger';
