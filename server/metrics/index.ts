// Prometheus metrics and the HTTP endpoint that serves them.
export { Metrics } from './metrics.ts';
export { startMetricsServer } from './metrics-server.ts';
export type { MetricsServer } from './metrics-server.ts';
