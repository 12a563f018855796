import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HttpMetrics, httpMetricProviders } from './http-metrics';
import { MetricsController, MetricsTokenGuard } from './metrics.controller';

/**
 * Prometheus at /metrics: default process metrics plus HTTP metrics. Domain modules declare
 * their own counters with makeCounterProvider in the module that owns them.
 */
@Global()
@Module({
  imports: [PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: true } })],
  providers: [HttpMetrics, MetricsTokenGuard, ...httpMetricProviders],
  exports: [PrometheusModule],
})
export class MetricsModule {}
