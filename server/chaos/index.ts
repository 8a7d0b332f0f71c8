// Fault injection (latency, failures, forced shedding) and store instrumentation.
export { ChaosStore, NO_CHAOS, parseChaos } from './chaos-store.ts';
export type { ChaosSettings } from './chaos-store.ts';
