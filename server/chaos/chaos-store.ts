// Fault injection around the real store, and nothing else: on demand, reads or writes get extra
// latency or fail with StoreUnavailableError, with a probability (seedable, so a failing run can be
// replayed) or exactly the next N times for one operation, account or protocol — so tests, embedders
// and `serve --chaos` can watch the server say "try later" instead of lying. SMTP replies can be
// scripted per stage (MAIL, RCPT, DATA) as well. Timing the store for the metrics and the governor is
// production work and lives apart (server/metrics/timed-store.ts).
//
// Each protocol gets its own view (forProtocol): the views share the settings and the scripted
// failures, and know which protocol is asking.
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
  /** Seeds the random draws of the fail rates (same seed, same sequence of failures); unset = Math.random. */
  seed?: number;
}

export const NO_CHAOS: ChaosSettings = { readLatencyMs: 0, readFailRate: 0, writeLatencyMs: 0, writeFailRate: 0, forceShed: false };

export type ChaosProtocol = 'pop3' | 'imap' | 'smtp';

/** Fail the next `count` (default 1) store operations that match every field given. */
export interface FailNext {
  /** 'read', 'write', or one operation: 'snapshot', 'readBody', 'deliver', 'append', 'expunge', 'storeFlags'… */
  op?: string;
  /** Operations on this account's mailboxes (body reads carry no account: leave `user` out for them). */
  user?: string;
  /** Operations a session of this protocol asks for ('smtp' includes LMTP). */
  protocol?: ChaosProtocol;
  count?: number;
}

export type SmtpStage = 'MAIL' | 'RCPT' | 'DATA';

/** Answer the next `count` (default 1) SMTP/LMTP commands of a stage with this reply instead. */
export interface SmtpReply {
  stage: SmtpStage;
  /** A 4xx or 5xx code. */
  code: number;
  message?: string;
  count?: number;
}

const KEYS: Record<string, keyof ChaosSettings> = {
  'read-latency': 'readLatencyMs',
  'read-fail': 'readFailRate',
  'write-latency': 'writeLatencyMs',
  'write-fail': 'writeFailRate',
  'force-shed': 'forceShed',
  seed: 'seed',
};

/** `read-fail=0.3,read-latency=200,force-shed,seed=7` → settings. */
export function parseChaos(spec: string): Partial<ChaosSettings> {
  const out: Partial<Record<keyof ChaosSettings, number | boolean>> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const key = KEYS[k!];
    if (!key) throw new Error(`unknown chaos setting "${k}" (known: ${Object.keys(KEYS).join(', ')})`);
    if (key === 'forceShed') out.forceShed = v === undefined || v === 'true' || v === '1';
    else {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`bad value for ${k}: ${v ?? '(none)'} (a number ≥ 0)`);
      if (key.endsWith('Rate') && n > 1) throw new Error(`bad value for ${k}: ${v} (a probability from 0 to 1)`);
      out[key] = n;
    }
  }
  return out as Partial<ChaosSettings>;
}

/** mulberry32: a small seedable generator, good enough to draw failures reproducibly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosTarget {
  forceShed(on: boolean): void;
}

/** Operations whose first argument is not an account (a body id), and one whose is a list of them. */
const NO_ACCOUNT = new Set(['readBody', 'readBodies', 'readSummary']);

/** The account(s) an operation is on, from its arguments. */
function accountsOf(op: string, args: readonly unknown[]): string | readonly string[] | undefined {
  if (NO_ACCOUNT.has(op)) return undefined;
  const first = args[0];
  return typeof first === 'string' || Array.isArray(first) ? (first as string | string[]) : undefined;
}

/** What the protocol views share. */
class ChaosState {
  settings: ChaosSettings = { ...NO_CHAOS };
  random: () => number;
  failNext: (FailNext & { left: number })[] = [];
  smtpReplies: (SmtpReply & { left: number })[] = [];

  constructor(readonly defaultRandom: () => number) {
    this.random = defaultRandom;
  }
}

/** The wrapped store (every MailStore method), plus the controls below. */
export interface ChaosStore extends MailStore {}

export class ChaosStore {
  private readonly state: ChaosState;

  constructor(
    private readonly inner: MailStore,
    private readonly governor: ChaosTarget,
    settings: Partial<ChaosSettings> | ChaosState = {},
    random: () => number = Math.random,
    private readonly protocol?: ChaosProtocol,
  ) {
    if (settings instanceof ChaosState) this.state = settings;
    else {
      this.state = new ChaosState(random);
      this.set(settings);
    }
    Object.assign(this, interceptStore(inner, { before: (kind, op, args) => this.before(kind, op, args) }));
  }

  /** The same chaos, seen by one protocol's sessions (what `failNext({ protocol })` matches). */
  forProtocol(protocol: ChaosProtocol): ChaosStore {
    return new ChaosStore(this.inner, this.governor, this.state, this.state.defaultRandom, protocol);
  }

  /** Change the injected faults at run time; `set({})` keeps the current ones, `reset()` clears them. */
  set(change: Partial<ChaosSettings>): void {
    const s = this.state;
    s.settings = { ...s.settings, ...change };
    if ('seed' in change) s.random = change.seed === undefined ? s.defaultRandom : seeded(change.seed);
    this.governor.forceShed(s.settings.forceShed);
  }

  /** Clears everything: settings, scripted failures and SMTP replies. */
  reset(): void {
    this.state.failNext = [];
    this.state.smtpReplies = [];
    this.set({ ...NO_CHAOS, seed: undefined });
  }

  get current(): Readonly<ChaosSettings> {
    return this.state.settings;
  }

  /** Fail the next matching store operation(s) with StoreUnavailableError (a temporary error for the client). */
  failNext(rule: FailNext = {}): void {
    this.state.failNext.push({ ...rule, left: rule.count ?? 1 });
  }

  /** Answer the next SMTP/LMTP command(s) of a stage with a chosen code. */
  smtpReply(reply: SmtpReply): void {
    if (!Number.isInteger(reply.code) || reply.code < 400 || reply.code > 599) throw new RangeError(`an SMTP error reply is 4xx or 5xx, not ${reply.code}`);
    this.state.smtpReplies.push({ ...reply, left: reply.count ?? 1 });
  }

  /** The scripted reply for this stage, if one is due (used up as it is taken). */
  takeSmtpReply(stage: SmtpStage): { code: number; message: string } | undefined {
    const r = this.state.smtpReplies.find((x) => x.stage === stage && x.left > 0);
    if (!r) return undefined;
    r.left--;
    this.state.smtpReplies = this.state.smtpReplies.filter((x) => x.left > 0);
    return { code: r.code, message: r.message ?? `injected ${r.code} reply at ${stage}` };
  }

  private scripted(kind: StoreOpKind, op: string, args: readonly unknown[]): boolean {
    const user = accountsOf(op, args);
    const rule = this.state.failNext.find(
      (r) =>
        r.left > 0 &&
        (r.op === undefined || r.op === op || r.op === kind) &&
        (r.user === undefined || (typeof user === 'string' ? r.user === user : !!user?.includes(r.user))) &&
        (r.protocol === undefined || r.protocol === this.protocol),
    );
    if (!rule) return false;
    rule.left--;
    this.state.failNext = this.state.failNext.filter((x) => x.left > 0);
    return true;
  }

  private async before(kind: StoreOpKind, op: string, args: readonly unknown[]): Promise<void> {
    const s = this.state.settings;
    const latency = kind === 'read' ? s.readLatencyMs : s.writeLatencyMs;
    const failRate = kind === 'read' ? s.readFailRate : s.writeFailRate;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (this.state.failNext.length && this.scripted(kind, op, args)) throw new StoreUnavailableError(`injected ${kind} failure in ${op} (failNext)`);
    if (failRate > 0 && this.state.random() < failRate) throw new StoreUnavailableError(`injected ${kind} failure in ${op}`);
  }
}
