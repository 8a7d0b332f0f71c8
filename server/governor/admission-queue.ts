// The bounded queue heavy commands wait in. Fair per account: one FIFO per user, served round-robin,
// so a user with a hundred queued commands delays another user's single command by at most one
// turn (invariant 8). Logins go first: the work a login needs before its answer (POP3's snapshot of
// the maildrop) waits in a lane of its own that is served before any queued command, because
// logins rank above new sessions' reads (invariant 6) and their latency must not follow mailbox load
// (invariant 7) — behind a queue of UIDLs a login would wait as long as they take. Each item has a deadline; one that cannot START before it is refused with
// OverloadedError — before the protocol has written a byte of its answer. Started work always runs
// to the end. Sojourn times (enqueue → start) feed the CoDel detector.
//
// The per-account share and the deadline refuse only while `mayShed` says arrivals outran service:
// a closed loop of clients (imaptest's fifty on one account, say) waits its turn however long the
// turns take, instead of being told to come back — coming back would only add to the load.
import { OverloadedError } from '../../protocol/session-context.ts';

export interface QueueOptions {
  /** Heavy commands running at once. */
  concurrency: number;
  /** Items waiting at most, over all users; beyond it new items are refused at once. */
  maxQueued: number;
  /** Running + waiting items per user at most. */
  maxPerUser: number;
  /** How long an item may wait to start, ms. */
  deadlineMs: number;
}

/** Which lane an item waits in: `login` is served before `command`. */
export type Lane = 'login' | 'command';

interface Item {
  user: string;
  lane: Lane;
  enqueued: number;
  start: () => void;
  timer?: NodeJS.Timeout;
}

export type Clock = () => number;

export class AdmissionQueue {
  private running = 0;
  private queued = 0;
  private readonly perUser = new Map<string, Item[]>();
  /** Users with waiting items, in round-robin order. */
  private readonly ring: string[] = [];
  /** Logins waiting, oldest first (one per session at most, so no per-user ring is needed). */
  private readonly logins: Item[] = [];
  private readonly active = new Map<string, number>();

  constructor(
    private readonly opts: QueueOptions,
    private readonly onSojourn: (ms: number) => void,
    private readonly now: Clock = () => performance.now(),
    private readonly mayShed: () => boolean = () => true,
  ) {}

  get depth(): number {
    return this.queued;
  }

  get inFlight(): number {
    return this.running;
  }

  async run<T>(user: string, work: () => Promise<T>, lane: Lane = 'command'): Promise<T> {
    const mine = this.active.get(user) ?? 0;
    if (mine >= this.opts.maxPerUser && this.mayShed()) throw new OverloadedError('too many commands in progress for this account');
    this.active.set(user, mine + 1);
    try {
      const ahead = lane === 'login' ? this.logins.length : this.queued;
      if (this.running < this.opts.concurrency && ahead === 0) {
        this.running++;
        this.onSojourn(0);
      } else {
        await this.wait(user, lane);
      }
      try {
        return await work();
      } finally {
        this.running--;
        this.next();
      }
    } finally {
      const n = (this.active.get(user) ?? 1) - 1;
      if (n === 0) this.active.delete(user);
      else this.active.set(user, n);
    }
  }

  private wait(user: string, lane: Lane): Promise<void> {
    if (this.queued >= this.opts.maxQueued) return Promise.reject(new OverloadedError('admission queue is full'));
    return new Promise<void>((resolve, reject) => {
      const item: Item = {
        user,
        lane,
        enqueued: this.now(),
        start: resolve,
      };
      const expire = () => {
        if (!this.mayShed()) {
          item.timer = setTimeout(expire, this.opts.deadlineMs);
          return;
        }
        this.remove(item);
        reject(new OverloadedError('waited too long for a turn'));
      };
      item.timer = setTimeout(expire, this.opts.deadlineMs);
      this.queued++;
      if (lane === 'login') {
        this.logins.push(item);
        return;
      }
      let q = this.perUser.get(user);
      if (!q) {
        this.perUser.set(user, (q = []));
        this.ring.push(user);
      }
      q.push(item);
    });
  }

  private remove(item: Item): void {
    if (item.lane === 'login') {
      const i = this.logins.indexOf(item);
      if (i >= 0) {
        this.logins.splice(i, 1);
        this.queued--;
      }
      return;
    }
    const q = this.perUser.get(item.user);
    const i = q ? q.indexOf(item) : -1;
    if (i < 0) return;
    q!.splice(i, 1);
    this.queued--;
    if (q!.length === 0) this.dropUser(item.user);
  }

  private dropUser(user: string): void {
    this.perUser.delete(user);
    const r = this.ring.indexOf(user);
    if (r >= 0) this.ring.splice(r, 1);
  }

  private next(): void {
    while (this.running < this.opts.concurrency && this.queued > 0) {
      const item = this.logins.shift() ?? this.nextCommand();
      this.queued--;
      clearTimeout(item.timer);
      this.running++;
      this.onSojourn(this.now() - item.enqueued);
      item.start();
    }
  }

  /** The next command in round-robin order over the users that have one waiting. */
  private nextCommand(): Item {
    const user = this.ring.shift()!;
    const q = this.perUser.get(user)!;
    const item = q.shift()!;
    if (q.length > 0) this.ring.push(user);
    else this.perUser.delete(user);
    return item;
  }
}
