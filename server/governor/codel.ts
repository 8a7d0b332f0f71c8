// CoDel-style overload detection (Nichols & Jacobson): overloaded once queue sojourn times have
// stayed above a target for a whole interval — a standing queue, not a passing spike. One sojourn
// under the target ends it, and so does silence: with no traffic there is no queue.
import type { Clock } from './admission-queue.ts';

export class CoDel {
  private aboveSince: number | undefined;
  private lastObserved = -Infinity;
  private dropping = false;

  constructor(private readonly targetMs: number, private readonly intervalMs: number, private readonly now: Clock) {}

  observe(sojournMs: number): void {
    const t = this.now();
    this.lastObserved = t;
    if (sojournMs < this.targetMs) {
      this.aboveSince = undefined;
      this.dropping = false;
      return;
    }
    if (this.aboveSince === undefined) this.aboveSince = t;
    else if (t - this.aboveSince >= this.intervalMs) this.dropping = true;
  }

  get overloaded(): boolean {
    return this.dropping && this.now() - this.lastObserved < this.intervalMs;
  }
}
