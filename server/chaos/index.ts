// Fault injection: latency, failures, forced shedding, scripted SMTP replies.
export { ChaosStore, NO_CHAOS, parseChaos, seeded } from './chaos-store.ts';
export type { ChaosProtocol, ChaosSettings, FailNext, SmtpReply, SmtpStage } from './chaos-store.ts';
