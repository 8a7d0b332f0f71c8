// Password guessing, slowed per address and per account, in one place for POP3 and IMAP.
//
// Every failed login is answered after a pause that grows with the recent failures of its address
// and of its account (250 ms for the first few, doubling to at most 5 s); an address that keeps
// failing is refused for a while with a temporary code ("try again later"). An account is only
// ever slowed, never refused: refusing it would let anyone lock its owner out. Counts fade after
// a quiet window, so nobody is locked out for good. Each failure is logged with the user name and
// the address, never the password.
import type { Logger, Protocol } from './session-context.ts';

export interface LoginGuardOptions {
  /** Failures are forgotten after this long without one, ms. */
  windowMs?: number;
  /** Failures answered after the base pause before it starts to grow. */
  freeFailures?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Failures from one address within the window after which its logins are refused. */
  refuseAfter?: number;
  /** Addresses and accounts remembered at most (the oldest is forgotten first). */
  maxTracked?: number;
}

interface Count {
  n: number;
  last: number;
}

export class LoginGuard {
  private readonly byAddress = new Map<string, Count>();
  private readonly byAccount = new Map<string, Count>();
  private readonly o: Required<LoginGuardOptions>;

  constructor(opts: LoginGuardOptions = {}, private readonly now: () => number = Date.now) {
    this.o = { windowMs: 10 * 60_000, freeFailures: 3, baseDelayMs: 250, maxDelayMs: 5_000, refuseAfter: 30, maxTracked: 10_000, ...opts };
  }

  /** May this address try a password now? False: answer a temporary refusal, check nothing. */
  allowed(address: string): boolean {
    return this.current(this.byAddress, address) < this.o.refuseAfter;
  }

  /** Records a failure, logs it, and resolves when the failure may be answered. */
  async failed(protocol: Protocol, address: string, user: string, log: Logger): Promise<void> {
    const a = this.bump(this.byAddress, address);
    const u = this.bump(this.byAccount, user.toLowerCase());
    log.warn({ protocol, user: user.slice(0, 128), address, failuresFromAddress: a, failuresOfAccount: u }, 'login failed');
    const over = Math.max(a, u) - this.o.freeFailures;
    const delay = over <= 0 ? this.o.baseDelayMs : Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(over, 16));
    await new Promise((r) => setTimeout(r, delay));
  }

  /** A right password from this address clears its count (its owner's typos are forgiven). */
  succeeded(address: string): void {
    this.byAddress.delete(address);
  }

  private current(map: Map<string, Count>, key: string): number {
    const c = map.get(key);
    if (!c) return 0;
    if (this.now() - c.last > this.o.windowMs) {
      map.delete(key);
      return 0;
    }
    return c.n;
  }

  private bump(map: Map<string, Count>, key: string): number {
    const n = this.current(map, key) + 1;
    map.delete(key); // re-inserted last: the Map's order is least recently failed first
    map.set(key, { n, last: this.now() });
    if (map.size > this.o.maxTracked) map.delete(map.keys().next().value!);
    return n;
  }
}
