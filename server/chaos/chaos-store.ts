// Fault injection and store instrumentation in one wrapper around the real store. Every operation is
// timed (the governor's storage-latency signal and the store metrics); on demand, reads or writes
// get extra latency or fail with StoreUnavailableError, with a probability — so tests, embedders and
// `serve --chaos` can watch the server say "try later" instead of lying.
import { StoreUnavailableError } from '../../storage/errors.ts';
import type { MailStore } from '../../storage/types.ts';
import type { Metrics } from '../metrics/index.ts';

export interface ChaosSettings {
  readLatencyMs: number;
  readFailRate: number;
  writeLatencyMs: number;
  writeFailRate: number;
  /** Refuse all new work at the door, as if overloaded. */
  forceShed: boolean;
}

export const NO_CHAOS: ChaosSettings = { readLatencyMs: 0, readFailRate: 0, writeLatencyMs: 0, writeFailRate: 0, forceShed: false };

const KEYS: Record<string, keyof ChaosSettings> = {
  'read-latency': 'readLatencyMs',
  'read-fail': 'readFailRate',
  'write-latency': 'writeLatencyMs',
  'write-fail': 'writeFailRate',
  'force-shed': 'forceShed',
};

/** `read-fail=0.3,read-latency=200,force-shed` → settings. */
export function parseChaos(spec: string): Partial<ChaosSettings> {
  const out: Partial<Record<keyof ChaosSettings, number | boolean>> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const key = KEYS[k!];
    if (!key) throw new Error(`unknown chaos setting "${k}" (known: ${Object.keys(KEYS).join(', ')})`);
    if (key === 'forceShed') out.forceShed = v === undefined || v === 'true' || v === '1';
    else {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || (key.endsWith('Rate') && n > 1)) throw new Error(`bad value for ${k}: ${v}`);
      out[key] = n;
    }
  }
  return out as Partial<ChaosSettings>;
}

export interface ChaosTarget {
  forceShed(on: boolean): void;
  observeStorage(ms: number): void;
}

type Kind = 'read' | 'write';

export class ChaosStore implements MailStore {
  private settings: ChaosSettings;

  constructor(
    private readonly inner: MailStore,
    private readonly governor: ChaosTarget,
    settings: Partial<ChaosSettings> = {},
    private readonly metrics?: Metrics,
    private readonly random: () => number = Math.random,
  ) {
    this.settings = { ...NO_CHAOS };
    this.set(settings);
  }

  /** Change the injected faults at run time; `set({})` keeps the current ones, `reset()` clears them. */
  set(change: Partial<ChaosSettings>): void {
    this.settings = { ...this.settings, ...change };
    this.governor.forceShed(this.settings.forceShed);
  }

  reset(): void {
    this.set(NO_CHAOS);
  }

  get current(): Readonly<ChaosSettings> {
    return this.settings;
  }

  private async before(kind: Kind, op: string): Promise<void> {
    const s = this.settings;
    const latency = kind === 'read' ? s.readLatencyMs : s.writeLatencyMs;
    const failRate = kind === 'read' ? s.readFailRate : s.writeFailRate;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (failRate > 0 && this.random() < failRate) throw new StoreUnavailableError(`injected ${kind} failure in ${op}`);
  }

  private async op<T>(kind: Kind, op: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      await this.before(kind, op);
      return await work();
    } finally {
      const ms = performance.now() - t0;
      this.governor.observeStorage(ms);
      this.metrics?.storeOp.observe({ op }, ms / 1000);
    }
  }

  ensureUser: MailStore['ensureUser'] = (u) => this.op('write', 'ensureUser', () => this.inner.ensureUser(u));
  listMailboxes: MailStore['listMailboxes'] = (u) => this.op('read', 'listMailboxes', () => this.inner.listMailboxes(u));
  getMailbox: MailStore['getMailbox'] = (u, n) => this.op('read', 'getMailbox', () => this.inner.getMailbox(u, n));
  createMailbox: MailStore['createMailbox'] = (u, n, o) => this.op('write', 'createMailbox', () => this.inner.createMailbox(u, n, o));
  deleteMailbox: MailStore['deleteMailbox'] = (u, n) => this.op('write', 'deleteMailbox', () => this.inner.deleteMailbox(u, n));
  deleteAccount: MailStore['deleteAccount'] = (u) => this.op('write', 'deleteAccount', () => this.inner.deleteAccount(u));
  renameMailbox: MailStore['renameMailbox'] = (u, f, t) => this.op('write', 'renameMailbox', () => this.inner.renameMailbox(u, f, t));
  setSubscribed: MailStore['setSubscribed'] = (u, n, s) => this.op('write', 'setSubscribed', () => this.inner.setSubscribed(u, n, s));
  snapshot: MailStore['snapshot'] = (u, m) => this.op('read', 'snapshot', () => this.inner.snapshot(u, m));
  append: MailStore['append'] = (u, m, r, o) => this.op('write', 'append', () => this.inner.append(u, m, r, o));
  deliver: MailStore['deliver'] = (us, r, o) => this.op('write', 'deliver', () => this.inner.deliver(us, r, o));
  importMessages: MailStore['importMessages'] = (u, m, ms) => this.op('write', 'importMessages', () => this.inner.importMessages(u, m, ms));
  readBodies: MailStore['readBodies'] = (r) => this.op('read', 'readBodies', () => this.inner.readBodies(r));
  readSummary: MailStore['readSummary'] = (b) => this.op('read', 'readSummary', () => this.inner.readSummary(b));
  storeFlags: MailStore['storeFlags'] = (u, m, ids, mode, f, o) => this.op('write', 'storeFlags', () => this.inner.storeFlags(u, m, ids, mode, f, o));
  expunge: MailStore['expunge'] = (u, m, ids) => this.op('write', 'expunge', () => this.inner.expunge(u, m, ids));
  copy: MailStore['copy'] = (u, f, ids, t) => this.op('write', 'copy', () => this.inner.copy(u, f, ids, t));
  move: MailStore['move'] = (u, f, ids, t) => this.op('write', 'move', () => this.inner.move(u, f, ids, t));
  changesSince: MailStore['changesSince'] = (u, m, s) => this.op('read', 'changesSince', () => this.inner.changesSince(u, m, s));
  watch: MailStore['watch'] = (u, m, l) => this.inner.watch(u, m, l);
  stats: MailStore['stats'] = () => this.inner.stats();
  close: MailStore['close'] = () => this.inner.close();

  async *readBody(bodyId: string, start?: number, end?: number): AsyncIterable<Buffer> {
    const t0 = performance.now();
    await this.before('read', 'readBody');
    let first = true;
    for await (const chunk of this.inner.readBody(bodyId, start, end)) {
      if (first) {
        first = false;
        const ms = performance.now() - t0;
        this.governor.observeStorage(ms);
        this.metrics?.storeOp.observe({ op: 'readBody' }, ms / 1000);
      }
      yield chunk;
    }
  }
}
