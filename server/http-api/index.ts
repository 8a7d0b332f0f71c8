// The HTTP API for tests in another process (Mailpit-compatible messages, plus accounts and chaos).
export { createHttpApi } from './http-api.ts';
export type { HttpApiHost } from './http-api.ts';
