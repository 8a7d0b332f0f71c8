// The embedding API: start a whole server in-process (memory store, ephemeral ports by default),
// deliver, assert, close. Also the types a test author names: the store contract, chaos settings
// and the errors the store raises (the same classes as `tegami/storage`).
export { startServer } from './server.ts';
export type { ServerOptions, TegamiServer } from './server.ts';
export type { ReceivedAttachment, ReceivedMessage } from './embedding/received-message.ts';
export type { MessageQuery, WaitOptions } from './embedding/mail-inspector.ts';
export type { ChaosProtocol, ChaosSettings, ChaosStore, FailNext, SmtpReply, SmtpStage } from './chaos/index.ts';
export type { StoreHealth, StoreState } from '../storage/index.ts';
export type * from '../storage/types.ts';
export * from '../storage/errors.ts';
