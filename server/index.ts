// The embedding API: start a whole server in-process (memory store, ephemeral ports by default),
// deliver, assert, close.
export { startServer } from './server.ts';
export type { ReceivedMessage, ServerOptions, TegamiServer } from './server.ts';
