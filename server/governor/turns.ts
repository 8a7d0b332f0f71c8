// Which session work runs first when the event loop is behind: invariant 6's order inside one loop.
//
// Every session shares one event loop. A loop turn reads every socket that has input and runs what
// it read, so at ten times capacity one turn holds many sessions' commands, and a login's answer
// waits until all of them have run — twice per POP3 login (USER, then PASS). Logins would then follow
// mailbox load, which invariant 7 forbids. So commands other than logins and goodbyes take turns: in
// any turn they start only until the turn has used `budgetMs`; the rest wait, in arrival order, for
// the next check phase (setImmediate, after the next round of reads), which again starts them only
// until the budget is used. Logins run as soon as they are read. A turn is then about two budgets
// long plus the reading, whatever the load, and a login waits for one turn instead of for everything
// queued. Nothing is refused here and nothing reordered within a session; when nothing waits a
// command starts at once, so below capacity this costs a setImmediate per busy turn.
//
// The budget counts what the started commands did, not how many started: each is released by its own
// setImmediate, and Node runs all pending microtasks between two immediates, so a command's work up to
// its first real I/O wait is over (and on the clock) before the next one is considered.
import { performance } from 'node:perf_hooks';
import type { Clock } from './admission-queue.ts';

/** Release steps planned for one check phase at most; the rest wait for the phase after. */
const MAX_STEPS = 64;

export class Turns {
  private readonly waiting: (() => void)[] = [];
  /** When the current turn began using its budget; undefined between turns with nothing waiting. */
  private turnStart: number | undefined;
  /** Check phases begun; an immediate scheduled now runs in phase `phase + 1`. */
  private phase = 0;
  /** The phase for which `begin` and `steps` release steps are scheduled. */
  private plannedPhase = 0;
  private steps = 0;

  constructor(private readonly budgetMs: number, private readonly now: Clock = () => performance.now()) {}

  /** Commands waiting for a turn. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Undefined when the work may start now; otherwise a promise that resolves at its turn. */
  take(): Promise<void> | undefined {
    const t = this.now();
    if (this.turnStart === undefined) {
      this.turnStart = t;
      this.plan(0);
    }
    if (this.waiting.length === 0 && t - this.turnStart < this.budgetMs) return undefined;
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.plan(this.waiting.length);
    });
  }

  /** Makes sure the next check phase starts with `begin` and holds `n` release steps (≤ MAX_STEPS). */
  private plan(n: number): void {
    const next = this.phase + 1;
    if (this.plannedPhase !== next) {
      this.plannedPhase = next;
      this.steps = 0;
      setImmediate(this.begin);
    }
    for (const want = Math.min(n, MAX_STEPS); this.steps < want; this.steps++) setImmediate(this.step);
  }

  private readonly begin = (): void => {
    this.phase++;
    if (this.waiting.length === 0) {
      this.turnStart = undefined;
      return;
    }
    this.turnStart = this.now();
    // What this phase's budget leaves waiting goes on in the phase after.
    this.plan(this.waiting.length);
  };

  private readonly step = (): void => {
    if (this.waiting.length === 0 || this.now() - (this.turnStart ?? 0) >= this.budgetMs) return;
    this.waiting.shift()!();
  };
}
