// One POP3 session (RFC 1939, 2449, 3206, 5034).
//
// Concurrency model: a session takes a snapshot of INBOX at login. Message numbers never shift inside
// the session and STAT/LIST/UIDL never show a message DELE'd in it. QUIT expunges the DELE'd UIDs
// durably before "+OK"; a dropped connection deletes nothing. There is no maildrop lock: two sessions
// on one mailbox each work on their own snapshot, and expunging a UID another session already removed
// is a no-op in the store, so nothing is lost or shown twice.
//
// Every list answer (STAT, LIST, UIDL) is built whole in memory from the snapshot and written in one
// piece; an error before that is sent as "-ERR [SYS/TEMP]" and no line of the list (invariant 2).
import type { Socket } from 'node:net';
import { MessageGoneError, StoreUnavailableError } from '../../storage/errors.ts';
import type { MailboxSnapshot, MessageMeta } from '../../storage/types.ts';
import { AdmissionSlots } from '../admission-slots.ts';
import { hangUp } from '../hang-up.ts';
import { LineReader } from '../line/line-reader.ts';
import { OverloadedError, type SessionContext } from '../session-context.ts';
import { decodeSaslPlain } from '../sasl/plain.ts';
import { isEncrypted, loginAllowed, switchToTls } from '../transport-security.ts';
import { writeDotStuffed, type BodyWriter } from './dot-stuffing.ts';
import { sizeListing, uidlFingerprint, uidlListing } from './listing-cache.ts';
import { listenToSession } from '../session-socket.ts';
import { socketDrained } from '../socket-drain.ts';
import { MAX_AUTH_FAILURES, MAX_BAD_COMMANDS } from '../session-limits.ts';

const MAX_LINE = 1024;
/**
 * Back-pressure (invariant 10): reading pauses while this many lines wait to run, or while this
 * much output waits for a client that does not read it (3 MB of pipelined commands with nobody
 * reading cost +61 MB before).
 */
const MAX_QUEUED = 32;
const MAX_PENDING_OUTPUT = 256 * 1024;
const NOTHING = Buffer.alloc(0);
/** Pipelined commands run back to back at most this many before the session yields the event loop. */
const YIELD_EVERY = 32;

type State = 'authorization' | 'transaction' | 'closed';

/** A reply the client can act on. */
class Pop3Error extends Error {
  constructor(readonly reply: string) {
    super(reply);
  }
}

export class Pop3Session implements BodyWriter {
  private state: State = 'authorization';
  private lines = new LineReader(MAX_LINE);
  private readonly queue: (Buffer | 'too-long')[] = [];
  private busy = false;
  private user: string | undefined;
  private pendingUser: string | undefined;
  private snapshot: MailboxSnapshot | undefined;
  private readonly deleted = new Set<number>();
  private badCommands = 0;
  private authFailures = 0;
  private readonly slots = new AdmissionSlots();
  /** Set while AUTH waits for the client's base64 response on the next line. */
  private saslContinuation: ((line: string) => Promise<void>) | undefined;

  /** The client's address, kept from the TCP connection for the whole session (also after STLS). */
  private readonly remoteAddress: string;

  /** `socket` is the TCP connection, or a TLS socket over it on a POP3S port; STLS replaces it. */
  constructor(private socket: Socket, private readonly ctx: SessionContext) {
    this.remoteAddress = socket.remoteAddress ?? '';
  }

  /** Greets the client, or refuses it and returns false. */
  start(): boolean {
    const s = this.socket;
    const admission = this.ctx.governor.admitSession('pop3', this.remoteAddress);
    if (admission.refused) {
      // The cheapest refusal there is: one write, then the socket goes (no timers beyond hangUp's).
      s.on('error', () => undefined);
      s.write(`-ERR [SYS/TEMP] ${admission.text}\r\n`);
      hangUp(s);
      return false;
    }
    this.slots.admitted(admission);
    this.listen(s);
    this.send(`+OK ${this.ctx.serverName} POP3 server ready`);
    return true;
  }

  private listen(s: Socket): void {
    listenToSession(s, this.ctx.idleTimeoutMs, {
      gone: () => this.close(),
      releaseSlots: () => this.slots.release(),
      drained: () => this.flow(),
      idle: () => {
        this.send('-ERR autologout: idle for too long');
        this.end();
      },
      data: (d: Buffer) => this.onData(d),
    });
  }

  /** Splits what was read into lines, as many as the queue has room for. */
  private onData(d: Buffer = NOTHING): void {
    for (const ev of this.lines.push(d, Math.max(0, MAX_QUEUED - this.queue.length))) this.queue.push(ev.kind === 'line' ? ev.line : 'too-long');
    this.flow();
    void this.pump();
  }

  /** Reads while there is room: few lines waiting, output taken by the client. */
  private flow(): void {
    if (this.state === 'closed') return;
    if (this.lines.backlog > MAX_LINE || this.socket.writableLength > MAX_PENDING_OUTPUT) this.socket.pause();
    else this.socket.resume();
  }

  /** Commands run strictly one after another, in arrival order (PIPELINING). */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let ran = 0;
    try {
      while (this.queue.length && this.state !== 'closed') {
        const item = this.queue.shift()!;
        if (item === 'too-long') {
          this.saslContinuation = undefined;
          this.bad('-ERR line too long');
          continue;
        }
        const line = item.toString('latin1');
        // Logins and QUIT run as soon as read; the rest of a logged-in session waits its turn when
        // the loop is behind (server/governor/turns.ts).
        if (this.state === 'transaction' && !/^QUIT$/i.test(line)) {
          const turn = this.ctx.governor.turn();
          if (turn) await turn;
          if (this.isClosed) break;
        }
        await this.handleLine(line);
        // Back-pressure: stop reading while a large answer drains.
        if (this.socket.writableNeedDrain) await this.drained();
        // Commands that finish without I/O would run back to back in microtasks: let others in.
        else if (++ran % YIELD_EVERY === 0) await new Promise(setImmediate);
        if (this.queue.length < MAX_QUEUED / 2 && this.lines.backlog) this.onData();
        this.flow();
      }
    } finally {
      this.busy = false;
    }
  }

  private async handleLine(line: string): Promise<void> {
    this.slots.active();
    const cont = this.saslContinuation;
    if (cont) {
      this.saslContinuation = undefined;
      return cont(line);
    }
    const m = /^([A-Za-z]{1,8})(?: (.*))?$/.exec(line);
    if (!m) return this.bad('-ERR unknown command');
    const cmd = m[1]!.toUpperCase();
    const arg = m[2] ?? '';
    try {
      await this.dispatch(cmd, arg);
    } catch (err) {
      this.send(this.replyFor(err, cmd));
    }
  }

  private replyFor(err: unknown, cmd: string): string {
    if (err instanceof Pop3Error) return err.reply;
    if (err instanceof OverloadedError) return `-ERR [SYS/TEMP] server busy, try again later`;
    if (err instanceof StoreUnavailableError) return `-ERR [SYS/TEMP] mailbox temporarily unavailable, try again later`;
    if (err instanceof MessageGoneError) return '-ERR message was deleted by another session';
    this.ctx.log.error({ err, cmd, user: this.user }, 'pop3 command failed');
    return '-ERR [SYS/TEMP] internal error, try again later';
  }

  private async dispatch(cmd: string, arg: string): Promise<void> {
    switch (cmd) {
      case 'CAPA':
        return this.capa();
      case 'QUIT':
        return this.quit();
      case 'NOOP':
        this.requireTransaction();
        return this.send('+OK');
    }
    if (this.state === 'authorization') {
      switch (cmd) {
        case 'USER':
          return this.userCmd(arg);
        case 'PASS':
          return this.passCmd(arg);
        case 'AUTH':
          return this.authCmd(arg);
        case 'STLS':
          return this.stls();
        case 'STAT': case 'LIST': case 'RETR': case 'DELE': case 'RSET': case 'TOP': case 'UIDL':
          return this.bad('-ERR not logged in yet');
        default:
          return this.bad('-ERR unknown command');
      }
    }
    switch (cmd) {
      case 'STAT':
        return this.stat();
      case 'LIST':
        return this.list(arg);
      case 'UIDL':
        return this.uidl(arg);
      case 'RETR':
        return this.retr(arg);
      case 'TOP':
        return this.top(arg);
      case 'DELE':
        return this.dele(arg);
      case 'RSET':
        this.deleted.clear();
        return this.send(`+OK ${this.live().length} messages`);
      case 'USER': case 'PASS': case 'AUTH': case 'STLS':
        return this.bad('-ERR already logged in');
      default:
        return this.bad('-ERR unknown command');
    }
  }

  // ---- authorization -------------------------------------------------------------------------

  private capa(): void {
    const caps = ['CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'IMPLEMENTATION tegami'];
    if (this.state === 'authorization') {
      if (this.ctx.tls && !isEncrypted(this.socket)) caps.push('STLS');
      // RFC 2595 4: mechanisms that would send the password in the clear are not announced where refused
      if (this.loginAllowed()) caps.push('USER', 'SASL PLAIN');
    }
    this.sendMulti('+OK capability list follows', caps);
  }

  private loginAllowed(): boolean {
    return loginAllowed(this.ctx.plaintextLogin, this.remoteAddress, isEncrypted(this.socket));
  }

  /** RFC 2449 [AUTH]: the client should not retry this login as it is; RFC 2595: STLS first. */
  private requirePrivacy(): void {
    if (!this.loginAllowed()) {
      throw new Pop3Error(`-ERR [AUTH] plaintext authentication disallowed on this connection${this.ctx.tls ? ': use STLS first' : ''}`);
    }
  }

  /**
   * RFC 2595 4. The "+OK" is written to the plaintext connection, then lines read and not yet executed
   * are dropped with the reader that held them (CVE-2011-0411): the next byte read is the handshake.
   */
  private stls(): void {
    if (isEncrypted(this.socket)) return this.bad('-ERR TLS is already active');
    if (!this.ctx.tls) return this.bad('-ERR STLS not available: the server has no certificate');
    this.send('+OK begin TLS negotiation');
    this.queue.length = 0;
    this.lines = new LineReader(MAX_LINE);
    this.pendingUser = undefined;
    this.socket = switchToTls(this.socket, this.ctx.tls);
    this.listen(this.socket);
  }

  private userCmd(arg: string): void {
    this.requirePrivacy();
    if (!arg || arg.length > 255) return this.bad('-ERR USER needs a name');
    this.pendingUser = arg;
    this.send('+OK send PASS');
  }

  private async passCmd(arg: string): Promise<void> {
    this.requirePrivacy();
    const user = this.pendingUser;
    this.pendingUser = undefined;
    if (user === undefined) return this.bad('-ERR send USER first');
    await this.login(user, arg);
  }

  private async authCmd(arg: string): Promise<void> {
    const [mech, initial] = arg.split(' ');
    if (!mech) return this.sendMulti('+OK supported mechanisms follow', ['PLAIN']);
    if (mech.toUpperCase() !== 'PLAIN') return this.bad('-ERR unsupported SASL mechanism');
    this.requirePrivacy();
    const finish = async (response: string) => {
      if (response === '*') return this.send('-ERR AUTH cancelled');
      const creds = decodeSaslPlain(response === '=' ? '' : response);
      if (!creds) return this.loginFailed('');
      return this.login(creds.authcid, creds.password, creds.authzid);
    };
    if (initial !== undefined) return finish(initial);
    this.saslContinuation = finish;
    this.send('+ ');
  }

  private async login(user: string, password: string, authzid?: string): Promise<void> {
    const address = this.remoteAddress;
    if (!this.ctx.logins.allowed(address)) throw new Pop3Error('-ERR [SYS/TEMP] too many failed logins from your address, try again later');
    const name = await this.ctx.auth.verify(user, password);
    // Gone while the password was checked: take no slot that close() could no longer give back.
    if (this.isClosed) return;
    if (!name || (authzid && authzid !== user && authzid !== name)) return this.loginFailed(user);
    this.ctx.logins.succeeded(address);
    const admission = this.ctx.governor.admitLogin('pop3', name, this.remoteAddress);
    if (admission.refused) {
      throw new Pop3Error(admission.kind === 'limit' ? `-ERR [IN-USE] ${admission.text}` : `-ERR [SYS/TEMP] ${admission.text}`);
    }
    try {
      this.snapshot = await this.ctx.governor.loginWork('pop3', name, () => this.ctx.store.snapshot(name, 'INBOX'));
    } catch (err) {
      admission.release();
      throw err;
    }
    if (this.isClosed) return admission.release();
    this.slots.loggedIn(admission);
    this.user = name;
    this.state = 'transaction';
    const live = this.snapshot.messages;
    this.ctx.log.info({ user: name, messages: live.length, uidlHash: uidlFingerprint(live) }, 'pop3 login');
    this.send(`+OK ${live.length} messages`);
  }

  private async loginFailed(user: string): Promise<void> {
    this.authFailures++;
    await this.ctx.logins.failed('pop3', this.remoteAddress, user, this.ctx.log);
    this.send('-ERR [AUTH] invalid user name or password');
    if (this.authFailures >= MAX_AUTH_FAILURES) this.end();
  }

  // ---- transaction -----------------------------------------------------------------------------

  private requireTransaction(): void {
    if (this.state !== 'transaction') throw new Pop3Error('-ERR not logged in yet');
  }

  /** The snapshot's messages less those DELE'd; the snapshot itself (and its cached listings) when none are. */
  private live(): readonly MessageMeta[] {
    const all = this.snapshot!.messages;
    return this.deleted.size ? all.filter((_, i) => !this.deleted.has(i + 1)) : all;
  }

  /** Parses a message number argument and returns the message, or throws the reply. */
  private message(arg: string | undefined): { n: number; meta: MessageMeta } {
    if (!arg || !/^\d{1,10}$/.test(arg)) throw new Pop3Error('-ERR message number required');
    const n = Number(arg);
    const meta = this.snapshot!.messages[n - 1];
    if (!meta) throw new Pop3Error('-ERR no such message');
    if (this.deleted.has(n)) throw new Pop3Error('-ERR message already deleted');
    return { n, meta };
  }

  private heavy<T>(command: string, work: () => Promise<T>): Promise<T> {
    return this.ctx.governor.heavy('pop3', this.user!, command, work);
  }

  private async stat(): Promise<void> {
    const reply = await this.heavy('STAT', async () => {
      const live = this.live();
      return `+OK ${live.length} ${live.reduce((s, m) => s + m.size, 0)}`;
    });
    this.send(reply);
  }

  private async list(arg: string): Promise<void> {
    if (arg) {
      const { n, meta } = this.message(arg);
      return this.send(`+OK ${n} ${meta.size}`);
    }
    if (this.deleted.size === 0) {
      const all = this.snapshot!.messages;
      const listing = await this.heavy('LIST', async () => sizeListing(all));
      return this.sendListing(`+OK ${all.length} messages`, listing);
    }
    const lines = await this.heavy('LIST', async () => this.numbered((m) => String(m.size)));
    this.sendMulti(`+OK ${lines.length} messages`, lines);
  }

  private async uidl(arg: string): Promise<void> {
    if (arg) {
      const { n, meta } = this.message(arg);
      return this.send(`+OK ${n} ${meta.uidl}`);
    }
    if (this.deleted.size === 0) {
      const listing = await this.heavy('UIDL', async () => uidlListing(this.snapshot!.messages));
      return this.sendListing('+OK unique-id listing follows', listing);
    }
    const lines = await this.heavy('UIDL', async () => this.numbered((m) => m.uidl));
    this.sendMulti('+OK unique-id listing follows', lines);
  }

  private numbered(value: (m: MessageMeta) => string): string[] {
    const out: string[] = [];
    this.snapshot!.messages.forEach((m, i) => {
      if (!this.deleted.has(i + 1)) out.push(`${i + 1} ${value(m)}`);
    });
    return out;
  }

  private dele(arg: string): void {
    const { n } = this.message(arg);
    this.deleted.add(n);
    this.send(`+OK message ${n} deleted`);
  }

  private async retr(arg: string): Promise<void> {
    const { meta } = this.message(arg);
    await this.heavy('RETR', () => writeDotStuffed(this, this.ctx.store.readBody(meta.bodyId, undefined, undefined, this.user), `+OK ${meta.size} octets`, Infinity));
  }

  private async top(arg: string): Promise<void> {
    const [num, lines, extra] = arg.split(' ');
    if (lines === undefined || extra !== undefined || !/^\d{1,9}$/.test(lines)) throw new Pop3Error('-ERR usage: TOP msg lines');
    const { meta } = this.message(num);
    await this.heavy('TOP', () => writeDotStuffed(this, this.ctx.store.readBody(meta.bodyId, undefined, undefined, this.user), '+OK top of message follows', Number(lines)));
  }

  private async quit(): Promise<void> {
    if (this.state !== 'transaction') {
      this.send(`+OK ${this.ctx.serverName} POP3 server signing off`);
      return this.end();
    }
    const uids = [...this.deleted].map((n) => this.snapshot!.messages[n - 1]!.uid);
    if (uids.length) {
      try {
        // Finishing admitted work is never shed (invariant 6): no governor queue here.
        await this.ctx.store.expunge(this.user!, 'INBOX', uids);
      } catch (err) {
        // RFC 1939's wording: a big QUIT commits in slices, so some may be gone and some not.
        this.send(err instanceof StoreUnavailableError ? '-ERR [SYS/TEMP] some deleted messages not removed, try again later' : this.replyFor(err, 'QUIT'));
        return this.end();
      }
    }
    const live = this.live();
    this.ctx.log.info({ user: this.user, deleted: uids.length, messages: live.length, uidlHash: uidlFingerprint(live) }, 'pop3 logout');
    this.send(`+OK ${this.ctx.serverName} POP3 server signing off (${live.length} messages left)`);
    this.end();
  }

  // ---- output ----------------------------------------------------------------------------------

  private bad(reply: string): void {
    this.send(reply);
    if (++this.badCommands >= MAX_BAD_COMMANDS) {
      this.send('-ERR too many bad commands, closing');
      this.end();
    }
  }

  send(line: string): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.socket.write(line + '\r\n');
  }

  /** A multi-line answer, built whole and written in one piece. */
  private sendMulti(status: string, lines: readonly string[]): void {
    let out = status + '\r\n';
    for (const l of lines) out += (l.startsWith('.') ? '.' + l : l) + '\r\n';
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.socket.write(out + '.\r\n');
  }

  /** A pre-rendered listing (lines and the final "."), after its status line. */
  private sendListing(status: string, listing: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.socket.cork();
    this.socket.write(status + '\r\n');
    this.socket.write(listing);
    this.socket.uncork();
  }

  write(chunk: Buffer): boolean {
    if (this.socket.destroyed) throw new StoreUnavailableError('client went away');
    return this.socket.write(chunk);
  }

  drained(): Promise<void> {
    return socketDrained(this.socket);
  }

  /** An answer that failed after its first line cannot be finished: cut the connection. */
  abort(): void {
    this.socket.destroy();
  }

  /** A getter, so that a check after an await is not narrowed away by the one before it. */
  private get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Goodbye said: read nothing more, destroy the socket once the output is flushed. */
  private end(): void {
    if (this.state === 'closed') return;
    hangUp(this.socket);
    this.close();
  }

  private close(): void {
    this.state = 'closed';
    this.queue.length = 0;
    this.saslContinuation = undefined;
  }
}
