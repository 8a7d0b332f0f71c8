// Fault injection: latency, failures, forced shedding.
export { ChaosStore, NO_CHAOS, parseChaos } from './chaos-store.ts';
export type { ChaosSettings } from './chaos-store.ts';
