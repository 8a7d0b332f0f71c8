// One way to wrap every operation of a MailStore: fault injection (server/chaos) and timing
// (server/metrics/timed-store.ts) are each a pair of hooks, not a copy of the store's forty methods.
import type { MailStore } from '../storage/types.ts';

export type StoreOpKind = 'read' | 'write';

type Wrapped = Exclude<keyof MailStore, 'readBody' | 'holdBodies' | 'watch' | 'stats' | 'close'>;

/** Every operation, read or write. A method added to MailStore fails to compile until it is listed. */
export const STORE_OPS: Record<Wrapped, StoreOpKind> = {
  ensureUser: 'write', listMailboxes: 'read', getMailbox: 'read', createMailbox: 'write', deleteMailbox: 'write',
  deleteAccount: 'write', renameMailbox: 'write', setSubscribed: 'write', subscriptions: 'read', snapshot: 'read', append: 'write',
  deliver: 'write', importMessages: 'write', readBodies: 'read', readSummary: 'read', storeFlags: 'write',
  expunge: 'write', copy: 'write', move: 'write', changesSince: 'read',
};

export interface StoreHooks {
  /** Runs before the operation (with its arguments); may wait or throw. */
  before?(kind: StoreOpKind, op: string, args: readonly unknown[]): Promise<void> | void;
  /** How long the operation took, `before` included (for readBody: until its first chunk), ms. */
  after?(op: string, ms: number): void;
}

export function interceptStore(inner: MailStore, hooks: StoreHooks): MailStore {
  const out: Partial<Record<keyof MailStore, unknown>> = {
    watch: inner.watch.bind(inner),
    stats: inner.stats.bind(inner),
    close: inner.close.bind(inner),
    // bookkeeping in memory, not a store operation: neither timed nor failed on purpose
    holdBodies: inner.holdBodies.bind(inner),
    async *readBody(bodyId: string, start?: number, end?: number, account?: string) {
      const t0 = performance.now();
      await hooks.before?.('read', 'readBody', [bodyId, start, end, account]);
      let first = true;
      for await (const chunk of inner.readBody(bodyId, start, end, account)) {
        if (first) {
          first = false;
          hooks.after?.('readBody', performance.now() - t0);
        }
        yield chunk;
      }
    },
  };
  for (const [op, kind] of Object.entries(STORE_OPS)) {
    const method = (inner[op as Wrapped] as (...args: unknown[]) => Promise<unknown>).bind(inner);
    out[op as Wrapped] = async (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        await hooks.before?.(kind, op, args);
        return await method(...args);
      } finally {
        hooks.after?.(op, performance.now() - t0);
      }
    };
  }
  return out as MailStore;
}
