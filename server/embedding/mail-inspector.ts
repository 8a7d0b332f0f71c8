// What a test asks of the mail: read it, wait for it, clear it. Works on the store beneath the chaos
// wrapper, so faults injected for the protocols never break the test's own assertions.
//
// Waiting does not poll: it subscribes to the mailbox's events (the ones IMAP IDLE uses) before
// looking, so a message committed between the look and the subscription is not missed, and it
// re-checks only when the mailbox says something arrived.
import { UnknownUserError } from '../../storage/errors.ts';
import { readAll } from '../../storage/read-all.ts';
import type { MailStore, MailStoreAdmin, MessageMeta } from '../../storage/types.ts';
import { toReceivedMessage, type ReceivedMessage } from './received-message.ts';

export interface MessageQuery {
  /** The account (a name, or an address: its local part without a +tag). */
  user?: string;
  /** An address the message was for: its account is searched, and the message must name it in its
   * envelope recipient, To or Cc (so `alice+signup@…` tells apart mail sent to that alias). */
  to?: string;
  /** Default INBOX. */
  mailbox?: string;
  /** Exact subject, or a pattern. */
  subject?: string | RegExp;
  match?: (message: ReceivedMessage) => boolean;
}

export interface WaitOptions {
  /** How many matching messages to wait for (default 1). */
  count?: number;
  /** Give up after this long, ms (default 5,000 for a wait for mail, 500 for a wait for none). */
  timeoutMs?: number;
}

export interface MailInspectorHost {
  /** The account for a name or address. */
  canonical(nameOrAddress: string): string;
  /** Whether the account exists (or may come into being, with autoCreateUsers). */
  has(name: string): boolean;
}

const describe = (q: MessageQuery): string =>
  JSON.stringify({ ...q, subject: q.subject instanceof RegExp ? String(q.subject) : q.subject, match: q.match ? 'function' : undefined });

export class MailInspector {
  // Parsed messages by their (immutable) listing entry: a wait re-reads the listing on each arrival,
  // not every message.
  private readonly parsed = new WeakMap<MessageMeta, Promise<ReceivedMessage>>();

  constructor(private readonly store: MailStore & MailStoreAdmin, private readonly host: MailInspectorHost) {}

  private read(user: string, mailbox: string, meta: MessageMeta): Promise<ReceivedMessage> {
    let p = this.parsed.get(meta);
    if (!p) {
      p = readAll(this.store.readBody(meta.bodyId, undefined, undefined, user)).then((raw) => toReceivedMessage(user, mailbox, meta, raw));
      this.parsed.set(meta, p);
    }
    return p;
  }

  async messages(user: string, mailbox = 'INBOX'): Promise<ReceivedMessage[]> {
    const name = this.host.canonical(user);
    const snap = await this.store.snapshot(name, mailbox);
    return Promise.all(snap.messages.map((m) => this.read(name, mailbox, m)));
  }

  /** Every message of every account, in every mailbox. */
  async allMessages(): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (const user of await this.store.listUsers()) {
      for (const box of await this.store.listMailboxes(user)) out.push(...(await this.messages(user, box.name)));
    }
    return out;
  }

  private target(q: MessageQuery): { user: string; mailbox: string } {
    const who = q.user ?? q.to;
    if (!who) throw new TypeError('waitForMessage needs `user` or `to`');
    const user = this.host.canonical(who);
    if (!this.host.has(user)) throw new UnknownUserError(user);
    return { user, mailbox: q.mailbox ?? 'INBOX' };
  }

  private matches(q: MessageQuery, m: ReceivedMessage): boolean {
    if (q.subject !== undefined && !(typeof q.subject === 'string' ? m.subject === q.subject : q.subject.test(m.subject ?? ''))) return false;
    if (q.to !== undefined && q.to.includes('@')) {
      const to = q.to.toLowerCase();
      if (m.envelopeTo?.toLowerCase() !== to && !m.recipients.includes(to)) return false;
    }
    return q.match ? q.match(m) : true;
  }

  /**
   * Calls `check` with the mailbox's matching messages now and after every arrival, until it answers
   * (a value resolves, an Error rejects) or `timeoutMs` passes (then `onTimeout` answers).
   */
  private async watch<T>(q: MessageQuery, timeoutMs: number, check: (found: ReceivedMessage[]) => T | Error | undefined, onTimeout: (found: ReceivedMessage[]) => T | Error): Promise<T> {
    const { user, mailbox } = this.target(q);
    await this.store.ensureUser(user);
    return new Promise<T>((resolve, reject) => {
      let found: ReceivedMessage[] = [];
      let done = false;
      let unwatch: (() => void) | undefined;
      let pending = Promise.resolve();
      const finish = (result: T | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unwatch?.();
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const look = () => {
        pending = pending.then(async () => {
          if (done) return;
          const snap = await this.store.snapshot(user, mailbox);
          const all = await Promise.all(snap.messages.map((m) => this.read(user, mailbox, m)));
          found = all.filter((m) => this.matches(q, m));
          const result = check(found);
          if (result !== undefined) finish(result);
        }).catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
      };
      const timer = setTimeout(() => finish(onTimeout(found)), timeoutMs);
      this.store.watch(user, mailbox, (ev) => {
        if (ev.type === 'exists') look();
      }).then((off) => {
        unwatch = off;
        if (done) off();
        else look();
      }, (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
    });
  }

  /** Resolves with the matching messages once there are `count` (default 1) of them. */
  waitForMessages(q: MessageQuery & WaitOptions): Promise<ReceivedMessage[]> {
    const count = q.count ?? 1;
    const timeoutMs = q.timeoutMs ?? 5000;
    return this.watch(q, timeoutMs, (found) => (found.length >= count ? found : undefined), (found) =>
      new Error(`no ${count > 1 ? `${count} messages` : 'message'} matching ${describe(q)} within ${timeoutMs} ms (${found.length} matched)`),
    );
  }

  /** Resolves with the `count`-th matching message (the first, by default). */
  async waitForMessage(q: MessageQuery & WaitOptions): Promise<ReceivedMessage> {
    const found = await this.waitForMessages(q);
    return found[(q.count ?? 1) - 1]!;
  }

  /** Resolves if no matching message is there, or arrives, within `timeoutMs` (default 500); rejects at once if one does. */
  waitForNoMessage(q: MessageQuery & Pick<WaitOptions, 'timeoutMs'>): Promise<void> {
    return this.watch<void>(q, q.timeoutMs ?? 500, (found) => (found.length ? new Error(`a message matching ${describe(q)} arrived: "${found[0]!.subject ?? ''}"`) : undefined), () => undefined);
  }

  /** Deletes every message of USER (all mailboxes), or of every account; the accounts stay. */
  async purge(user?: string): Promise<void> {
    const users = user === undefined ? await this.store.listUsers() : [this.host.canonical(user)];
    for (const u of users) {
      for (const box of await this.store.listMailboxes(u).catch((err: unknown) => (err instanceof UnknownUserError ? [] : Promise.reject(err)))) {
        const snap = await this.store.snapshot(u, box.name);
        if (snap.messages.length) await this.store.expunge(u, box.name, snap.messages.map((m) => m.uid));
      }
    }
  }
}
