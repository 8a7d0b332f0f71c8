// Load shedding: admission decisions, the fair admission queue and overload detection.
export { Governor, DEFAULT_GOVERNOR_OPTIONS } from './governor.ts';
export type { GovernorOptions, GovernorStats, OverloadReason } from './governor.ts';
