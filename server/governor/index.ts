// Load shedding: admission decisions, the fair admission queue, overload detection and the accept gate.
export { Governor, DEFAULT_GOVERNOR_OPTIONS, NO_SHEDDING } from './governor.ts';
export type { GovernorOptions, GovernorStats, OverloadReason } from './governor.ts';
export type { AcceptListener } from './accept-gate.ts';
