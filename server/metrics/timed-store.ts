// Production instrumentation of the store: every operation is timed, for the store metrics and for
// the governor's storage-latency signal. Always on; fault injection (server/chaos) is a separate
// wrapper inside this one, so injected latency looks to the governor like a slow disk would.
import type { MailStore } from '../../storage/types.ts';
import { interceptStore } from '../store-interceptor.ts';
import type { Metrics } from './metrics.ts';

export interface StorageLatencySink {
  observeStorage(ms: number): void;
}

export function timedStore(inner: MailStore, sink: StorageLatencySink, metrics?: Metrics): MailStore {
  return interceptStore(inner, {
    after(op, ms) {
      sink.observeStorage(ms);
      metrics?.storeOp.observe({ op }, ms / 1000);
    },
  });
}
