// One IMAP connection: framing, the state machine, dispatch to command modules, and the moments at
// which untagged updates from other sessions are told to the client.
import type { Socket } from 'node:net';
import {
  MailboxExistsError, MailboxNotFoundError, MessageGoneError, StoreFullError, StoreRuleError, StoreUnavailableError, UnknownUserError,
} from '../../storage/errors.ts';
import { OverloadedError, type Admitted, type SessionContext } from '../session-context.ts';
import { isEncrypted, loginAllowed, switchToTls } from '../transport-security.ts';
import { EXPUNGED_TEXT, ImapError, type SessionState } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { AdmissionSlots } from '../admission-slots.ts';
import { hangUp } from '../hang-up.ts';
import { MailboxNameError } from './mailbox-name.ts';
import { CommandReader, type CommandPart, type ReaderEvent } from './parser/command-reader.ts';
import { ParseError, parseCommand, type ParsedCommand } from './parser/tokens.ts';
import type { SelectedMailbox } from './selected-mailbox.ts';
import { listenToSession } from '../session-socket.ts';
import { socketDrained } from '../socket-drain.ts';
import { MAX_AUTH_FAILURES, MAX_BAD_COMMANDS } from '../session-limits.ts';

const AUTHENTICATED_IDLE_MS = 30 * 60_000;
/** A command line (Dovecot's imap_max_line_length is the same). */
const MAX_LINE = 64 * 1024;
/**
 * Literals before login can only be a user name or a password: a few KB, as Dovecot (a
 * `LOGIN {999999999999}` got "+ Ready" and the server kept whatever followed: 150 MB → +150 MB).
 */
const PRELOGIN_LITERAL = 8 * 1024;
/** After login, literals outside APPEND are mailbox names and search strings: a command line's worth. */
const COMMAND_LITERAL = MAX_LINE;
/**
 * Back-pressure (invariant 10): reading pauses while this many parsed events wait to run, or while
 * this much output waits for a client that does not read it (4 MB of pipelined commands with
 * nobody reading cost +25 MB before).
 */
const MAX_QUEUED = 32;
const MAX_PENDING_OUTPUT = 256 * 1024;
const NOTHING = Buffer.alloc(0);
/** Pipelined commands run back to back at most this many before the session yields the event loop. */
const YIELD_EVERY = 32;

export class ImapSession {
  state: SessionState = 'not-authenticated';
  user: string | undefined;
  selected: SelectedMailbox | undefined;
  /**
   * Extensions the client turned on with ENABLE (or implicitly, e.g. CONDSTORE by a MODSEQ fetch),
   * by their capability name as advertised: 'CONDSTORE', 'QRESYNC', 'IMAP4rev2'.
   */
  readonly enabled = new Set<string>();
  private reader: CommandReader;
  private readonly queue: ReaderEvent[] = [];
  private busy = false;
  private lineWaiter: ((line: string | undefined) => void) | undefined;
  private updateWaiter: (() => void) | undefined;
  private badCommands = 0;
  private authFailures = 0;
  private readonly slots = new AdmissionSlots();
  private closed = false;
  private connection: Socket;
  /** The client's address, for the whole session (STARTTLS replaces the socket, not the client). */
  readonly remoteAddress: string;

  constructor(socket: Socket, readonly ctx: SessionContext) {
    this.connection = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.reader = this.newReader();
  }

  private newReader(): CommandReader {
    return new CommandReader({ maxLine: MAX_LINE });
  }

  /** The connection: the TCP socket, or the TLS socket over it after STARTTLS (or on an IMAPS port). */
  get socket(): Socket {
    return this.connection;
  }

  /** Greets the client, or refuses it and returns false. */
  start(): boolean {
    const s = this.socket;
    const admission = this.ctx.governor.admitSession('imap', this.remoteAddress);
    if (admission.refused) {
      // The cheapest refusal there is: one write, then the socket goes (no timers beyond hangUp's).
      s.on('error', () => undefined);
      s.write(`* BYE [UNAVAILABLE] ${admission.text}\r\n`);
      hangUp(s);
      return false;
    }
    this.slots.admitted(admission);
    // An answer is often two writes (untagged lines, then the tagged one): with Nagle on, the second
    // waits for the client's delayed ACK of the first — 40 ms per SELECT on Linux.
    s.setNoDelay(true);
    this.listen(s);
    this.send(`* OK [CAPABILITY ${this.capabilities().join(' ')}] ${this.ctx.serverName} IMAP4rev1 ready`);
    return true;
  }

  private listen(s: Socket): void {
    listenToSession(s, this.ctx.idleTimeoutMs, {
      gone: () => this.close(),
      releaseSlots: () => this.slots.release(),
      drained: () => this.flow(),
      idle: () => {
        this.send('* BYE idle for too long, closing');
        this.end();
      },
      data: (d: Buffer) => this.feed(d),
    });
  }

  /** TLS is on: the connection is encrypted (STARTTLS done, or an IMAPS port). */
  get encrypted(): boolean {
    return isEncrypted(this.socket);
  }

  /** Whether LOGIN and AUTHENTICATE PLAIN may be used now (the plaintext policy; always after TLS). */
  get loginAllowed(): boolean {
    return loginAllowed(this.ctx.plaintextLogin, this.remoteAddress, this.encrypted);
  }

  /**
   * Called right after the tagged OK to STARTTLS is written. Input read so far and not executed is
   * dropped with the reader that held it (CVE-2011-0411); the next byte read is the TLS handshake.
   * The client learns the capabilities again by asking (RFC 3501 6.2.1).
   */
  startTls(): void {
    this.queue.length = 0;
    this.reader = this.newReader();
    const secure = switchToTls(this.socket, this.ctx.tls!);
    this.connection = secure;
    this.listen(secure);
  }

  /**
   * IMAP4rev2 (RFC 9051) is a mode the client ENABLEs: from then on responses take their rev2 form
   * (no RECENT, ESEARCH for SEARCH, UTF-8 mailbox names). A rev1 client sees no difference.
   */
  get rev2(): boolean {
    return this.enabled.has('IMAP4rev2');
  }

  /**
   * CONDSTORE turned on by its first use (a MODSEQ fetch, UNCHANGEDSINCE): RFC 7162 3.1 — with a
   * mailbox selected, the client is told the mailbox's HIGHESTMODSEQ at that moment.
   */
  enableCondstore(): void {
    if (this.enabled.has('CONDSTORE')) return;
    this.enabled.add('CONDSTORE');
    if (this.selected) this.send(`* OK [HIGHESTMODSEQ ${this.selected.highestModseq}] highest modseq`);
  }

  capabilities(): string[] {
    const caps = [
      'IMAP4rev1', 'IMAP4rev2', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UIDPLUS', 'MOVE', 'UNSELECT', 'CHILDREN',
      'SPECIAL-USE', 'LIST-EXTENDED', 'LIST-STATUS', 'CONDSTORE', 'QRESYNC', 'ESEARCH', 'BINARY', 'STATUS=SIZE',
      'SORT', 'SORT=DISPLAY', 'ESORT', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES',
      `APPENDLIMIT=${this.ctx.maxMessageSize}`,
    ];
    if (this.state === 'not-authenticated') {
      if (this.ctx.tls && !this.encrypted) caps.push('STARTTLS');
      caps.push(this.loginAllowed ? 'AUTH=PLAIN' : 'LOGINDISABLED');
    }
    return caps;
  }

  // ---- input -------------------------------------------------------------------------------

  /** Frames what was read, as many commands as the queue has room for. */
  private feed(data: Buffer = NOTHING): void {
    this.onEvents(this.reader.push(data, Math.max(0, MAX_QUEUED - this.queue.length)));
  }

  private onEvents(events: ReaderEvent[]): void {
    for (const ev of events) {
      const w = this.lineWaiter;
      if (w && !this.queue.length) {
        this.lineWaiter = undefined;
        w(this.continuation(ev));
      } else this.queue.push(ev);
    }
    this.flow();
    void this.pump();
  }

  /** Reads while there is room: nothing queued beyond a bound, output taken, no literal undecided. */
  private flow(): void {
    if (this.closed) return;
    const full = this.reader.waiting || this.reader.backlog > MAX_LINE || this.socket.writableLength > MAX_PENDING_OUTPUT;
    if (full) this.socket.pause();
    else this.socket.resume();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let ran = 0;
    try {
      while (this.queue.length && !this.closed) {
        const ev = this.queue.shift()!;
        switch (ev.kind) {
          case 'command':
            await this.execute(ev.parts);
            break;
          case 'literal':
            this.onLiteral(ev);
            break;
          case 'too-long':
            this.tooLong(ev.tag);
            break;
        }
        if (this.socket.writableNeedDrain) await this.drained();
        // Commands that finish without I/O would run back to back in microtasks: let others in.
        else if (++ran % YIELD_EVERY === 0) await new Promise(setImmediate);
        if (this.queue.length < MAX_QUEUED / 2) this.feed();
        this.flow();
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * A literal is accepted, or refused before one byte of it is read, by the limit of where it
   * stands: before login, in APPEND, in any other command.
   */
  private onLiteral(ev: Extract<ReaderEvent, { kind: 'literal' }>): void {
    const first = ev.partial[0];
    const isAppend = this.state !== 'not-authenticated' && first !== undefined && 'text' in first && /^\S+\s+APPEND\b/i.test(first.text);
    const limit = this.state === 'not-authenticated' ? PRELOGIN_LITERAL : isAppend ? this.ctx.maxMessageSize : COMMAND_LITERAL;
    if (ev.size <= limit && ev.commandBytes <= limit + MAX_LINE) {
      if (ev.sync) this.send('+ Ready for literal data');
      this.reader.decide(true);
      this.feed();
      return;
    }
    this.send(isAppend ? `${ev.tag} NO [TOOBIG] message larger than ${limit} octets` : `${ev.tag} BAD [TOOBIG] literal larger than ${limit} octets`);
    this.refuseLiteral(ev);
  }

  /**
   * A synchronising literal refused was never sent (no "+"): reading goes on. A non-synchronising
   * one is on its way already; RFC 7888 section 4 lets the server read and discard it or close the
   * connection. Closing: discarding would cost the reading of as many bytes as the client claims
   * (up to a terabyte), and a client over APPENDLIMIT or the pre-login bound is not a mistaken one.
   */
  private refuseLiteral(ev: Extract<ReaderEvent, { kind: 'literal' }>): void {
    this.reader.decide(false);
    if (ev.sync) return this.feed();
    this.send('* BYE [TOOBIG] literal too large, closing');
    this.end();
  }

  /** A line over the limit: one answer and a close (a 10 MB line was 160 BADs, one per 64 KB). */
  private tooLong(tag: string): void {
    this.send(`${tag} BAD [TOOBIG] line too long`);
    this.send('* BYE line too long, closing');
    this.end();
  }

  /**
   * What a continuation (a SASL response, IDLE's DONE) reads: one line. A literal in it is
   * refused before a byte of it is read — a SASL response is one line of base64 (RFC 3501 6.2.2) —
   * and the line as far as it went is what the command sees (and rejects).
   */
  private continuation(ev: ReaderEvent): string | undefined {
    switch (ev.kind) {
      case 'command':
        return ev.parts.map((p) => ('text' in p ? p.text : p.literal.toString('latin1'))).join('');
      case 'too-long':
        this.tooLong(ev.tag);
        return undefined;
      case 'literal':
        this.refuseLiteral(ev);
        return ev.sync ? ev.partial.map((p) => ('text' in p ? p.text : '')).join('') + `{${ev.size}}` : undefined;
    }
  }

  /** The next line from the client (for AUTHENTICATE and IDLE continuations). */
  readLine(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const line = new Promise<string | undefined>((resolve) => (this.lineWaiter = resolve));
    const queued = this.queue.shift();
    if (queued) {
      const w = this.lineWaiter!;
      this.lineWaiter = undefined;
      w(this.continuation(queued));
    } else this.feed();
    this.flow();
    return line;
  }

  // ---- commands ------------------------------------------------------------------------------

  private async execute(parts: readonly CommandPart[]): Promise<void> {
    this.slots.active();
    let cmd: ParsedCommand;
    try {
      cmd = parseCommand(parts);
    } catch (err) {
      const tag = /^([^\s(){%*"\\\]]+)/.exec(('text' in parts[0]! ? parts[0].text : '') || '')?.[1] ?? '*';
      return this.bad(`${tag} BAD ${(err as Error).message}`);
    }
    const spec = COMMANDS[cmd.name];
    if (!spec) return this.bad(`${cmd.tag} BAD unknown command ${cmd.name.slice(0, 32)}`);
    if (!spec.states.includes(this.state)) {
      const why = this.state === 'not-authenticated' ? 'log in first' : this.state === 'authenticated' ? 'select a mailbox first' : 'not allowed now';
      return this.bad(`${cmd.tag} BAD ${cmd.name} not allowed: ${why}`);
    }
    // Logins and LOGOUT run as soon as read; the rest waits its turn when the loop is behind
    // (server/governor/turns.ts).
    if (this.state !== 'not-authenticated' && cmd.name !== 'LOGOUT') {
      const turn = this.ctx.governor.turn();
      if (turn) await turn;
      if (this.closed) return;
    }
    let tagged: string;
    let ok = false;
    try {
      tagged = `${cmd.tag} OK ${await spec.run(this, cmd)}`;
      ok = true;
    } catch (err) {
      tagged = this.errorReply(cmd, err);
      if (tagged.startsWith(`${cmd.tag} BAD`)) this.badCommands++;
    }
    if (this.closed) return;
    this.flushUpdates(!spec.noExpunge);
    this.send(tagged);
    if (ok) spec.afterOk?.(this);
    if (this.badCommands >= MAX_BAD_COMMANDS) {
      this.send('* BYE too many bad commands');
      this.end();
    } else if (this.authFailures >= MAX_AUTH_FAILURES) {
      this.send('* BYE too many failed logins');
      this.end();
    }
  }

  /** Counted by LOGIN/AUTHENTICATE; the connection closes after the answer to the last allowed. */
  loginFailed(): void {
    this.authFailures++;
  }

  private errorReply(cmd: ParsedCommand, err: unknown): string {
    const t = cmd.tag;
    if (err instanceof ImapError) return err.render(t);
    if (err instanceof ParseError) return `${t} BAD ${err.message}`;
    if (err instanceof MailboxNameError) return `${t} NO [${/^(CREATE|RENAME)$/.test(cmd.name) ? 'CANNOT' : 'NONEXISTENT'}] ${err.message}`;
    if (err instanceof OverloadedError) return `${t} NO [UNAVAILABLE] server busy, try again later`;
    // RFC 5530 3: OVERQUOTA is "the user would be over quota after the operation", and a server
    // without the QUOTA extension may send it ("there is a quota, but the client cannot find out
    // what the quota is") — the free-space floor is such a quota, shared by all. Unlike UNAVAILABLE
    // ("a subsystem is down") it tells the user what helps: deleting mail, which still works.
    if (err instanceof StoreFullError) return `${t} NO [OVERQUOTA] mail storage is full, try again later`;
    if (err instanceof StoreUnavailableError) return `${t} NO [UNAVAILABLE] mailbox temporarily unavailable, try again later`;
    if (err instanceof MailboxNotFoundError) return `${t} NO [NONEXISTENT] no such mailbox`;
    if (err instanceof MailboxExistsError) return `${t} NO [ALREADYEXISTS] mailbox already exists`;
    if (err instanceof StoreRuleError) return `${t} NO [CANNOT] ${err.message}`;
    if (err instanceof MessageGoneError) return `${t} NO [EXPUNGEISSUED] ${EXPUNGED_TEXT}`;
    if (err instanceof UnknownUserError) return `${t} NO [UNAVAILABLE] mailbox not available`;
    this.ctx.log.error({ err, command: cmd.name, user: this.user }, 'imap command failed');
    return `${t} NO [SERVERBUG] internal error`;
  }

  private bad(line: string): void {
    this.send(line);
    if (++this.badCommands >= MAX_BAD_COMMANDS) {
      this.send('* BYE too many bad commands');
      this.end();
    }
  }

  /** Tells the client what changed in the selected mailbox (EXISTS, FETCH FLAGS, EXPUNGE). */
  flushUpdates(allowExpunge: boolean): void {
    if (!this.selected) return;
    const lines = this.selected.sync(allowExpunge, this.enabled.has('CONDSTORE'), this.enabled.has('QRESYNC'));
    if (lines.length) this.write(lines.join('\r\n') + '\r\n');
    if (this.selected.deleted) {
      this.send('* BYE the selected mailbox was deleted');
      this.end();
    }
  }

  /** Called by the selected mailbox's watcher; wakes an IDLE. */
  notify(): void {
    this.updateWaiter?.();
  }

  /** Resolves at the next store event for the selected mailbox (IDLE). */
  nextUpdate(): Promise<void> {
    return new Promise((r) => (this.updateWaiter = () => {
      this.updateWaiter = undefined;
      r();
    }));
  }

  heavy<T>(command: string, work: () => Promise<T>): Promise<T> {
    return this.ctx.governor.heavy('imap', this.user ?? '', command, work);
  }

  loggedIn(user: string, admission: Admitted): void {
    this.user = user;
    this.slots.loggedIn(admission);
    this.state = 'authenticated';
    this.socket.setTimeout(Math.max(this.ctx.idleTimeoutMs, AUTHENTICATED_IDLE_MS));
  }

  deselect(): void {
    this.selected?.close();
    this.selected = undefined;
    if (this.state === 'selected') this.state = 'authenticated';
  }

  // ---- output --------------------------------------------------------------------------------

  send(line: string): void {
    this.write(line + '\r\n');
  }

  /** Strings are written as latin1: header-derived text holds the message's original bytes that way. */
  write(data: string | Buffer): boolean {
    if (this.closed || this.socket.destroyed) return true;
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  drained(): Promise<void> {
    return socketDrained(this.socket);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** An answer that failed half-way cannot be finished: cut the connection. */
  abort(): void {
    this.socket.destroy();
    this.close();
  }

  /** Goodbye said: read nothing more, destroy the socket once the output is flushed. */
  end(): void {
    if (this.closed) return;
    hangUp(this.socket);
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'logout';
    this.queue.length = 0;
    this.selected?.close();
    this.selected = undefined;
    this.lineWaiter?.(undefined);
    this.lineWaiter = undefined;
    this.updateWaiter?.();
  }
}
