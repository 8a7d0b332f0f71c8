// Fault injection around the real store, and nothing else: on demand, reads or writes get extra
// latency or fail with StoreUnavailableError, with a probability — so tests, embedders and
// `serve --chaos` can watch the server say "try later" instead of lying. Timing the store for the
// metrics and the governor is production work and lives apart (server/metrics/timed-store.ts).
import { StoreUnavailableError } from '../../storage/errors.ts';
import type { MailStore } from '../../storage/types.ts';
import { interceptStore, type StoreOpKind } from '../store-interceptor.ts';

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
}

/** The wrapped store (every MailStore method), plus the controls below. */
export interface ChaosStore extends MailStore {}

export class ChaosStore {
  private settings: ChaosSettings;

  constructor(
    inner: MailStore,
    private readonly governor: ChaosTarget,
    settings: Partial<ChaosSettings> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.settings = { ...NO_CHAOS };
    this.set(settings);
    Object.assign(this, interceptStore(inner, { before: (kind, op) => this.before(kind, op) }));
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

  private async before(kind: StoreOpKind, op: string): Promise<void> {
    const s = this.settings;
    const latency = kind === 'read' ? s.readLatencyMs : s.writeLatencyMs;
    const failRate = kind === 'read' ? s.readFailRate : s.writeFailRate;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (failRate > 0 && this.random() < failRate) throw new StoreUnavailableError(`injected ${kind} failure in ${op}`);
  }
}
