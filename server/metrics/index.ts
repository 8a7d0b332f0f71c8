// Prometheus metrics, the HTTP endpoint that serves them, and the store's timing.
export { Metrics } from './metrics.ts';
export { startMetricsServer } from './metrics-server.ts';
export type { MetricsServer } from './metrics-server.ts';
export { timedStore } from './timed-store.ts';
