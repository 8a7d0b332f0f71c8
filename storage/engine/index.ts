// The engine's public face, for storage/index.ts and for the author of a backend: the engine, the
// interface a backend implements, and the records it keeps.
export { MailEngine, type EngineOptions } from './mail-engine.ts';
export { CommitConflictError, CommitOutcomeUnknownError } from './backend.ts';
export type {
  Backend, BackendState, Change, CommitExpectations, CommitResult, QueueSummary, RemoteChange, SharedBackend, StoredMailbox, VersionedAccount,
} from './backend.ts';
export type { Counters, ExpungedFrom, MailboxRecord, QueuedReclaim, ReclaimItem } from './records.ts';
