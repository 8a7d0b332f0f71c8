// Process wiring: store, users, governor, metrics, chaos, and one listener per protocol.
// Used by `tegami serve` and by the embedding API (startServer).
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { handleImapConnection } from '../protocol/imap/index.ts';
import { analyzeMessage } from '../protocol/mime/index.ts';
import { handlePop3Connection } from '../protocol/pop3/index.ts';
import { LoginGuard } from '../protocol/login-guard.ts';
import type { Logger, SessionContext } from '../protocol/session-context.ts';
import type { PlaintextLogin } from '../protocol/transport-security.ts';
import { openStore, ShardMapError, type OpenStoreOptions, type StoreHealth } from '../storage/index.ts';
import { UnknownUserError } from '../storage/errors.ts';
import type { MailStore } from '../storage/types.ts';
import { ChaosStore, type ChaosSettings } from './chaos/index.ts';
import { Governor, NO_SHEDDING, type GovernorOptions } from './governor/index.ts';
import { startIngress, toCrlf } from './ingress/index.ts';
import { listen, type Listener } from './listeners.ts';
import { MailInspector, type MessageQuery, type WaitOptions } from './embedding/mail-inspector.ts';
import type { ReceivedMessage } from './embedding/received-message.ts';
import { createHttpApi } from './http-api/index.ts';
import { createLogger, type LogLevel } from './logger.ts';
import { TlsCertificates, type TlsSource } from './tls/index.ts';
import { Metrics, startMetricsServer, timedStore } from './metrics/index.ts';
import { UserDirectory } from './users/index.ts';

/** An embedded server's login guard: failures are logged, never slowed or refused. */
const NO_LOGIN_PAUSES = { baseDelayMs: 0, maxDelayMs: 0, refuseAfter: Number.POSITIVE_INFINITY };

export interface ServerOptions {
  /** Data directory: LevelDB in DIR/mail, users in DIR/users.json. Without it the store lives in memory. */
  dataDir?: string;
  /**
   * The mail store by URL instead (`postgres://user:password@host/database`, README "Running on
   * PostgreSQL"); users still live in dataDir's users.json, or in memory without a dataDir.
   */
  store?: string;
  /**
   * The mail in several PostgreSQL clusters, each account in one: the shard map file (README
   * "Sharding by account"), re-read when it changes. Instead of `store`; users as with `store`.
   */
  shardMap?: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  pop3Port?: number;
  imapPort?: number;
  smtpPort?: number;
  lmtpPort?: number;
  /** Serve Prometheus metrics, /healthz and /readyz on this port (0 = any free port). Off when absent. */
  metricsPort?: number;
  /**
   * Also serve the HTTP API on the metrics port: Mailpit-compatible /api/v1 (list, search, read, delete
   * messages) plus accounts, chaos and a wait for mail (README). Anyone who reaches the port can read
   * and delete all mail: for tests, off by default.
   */
  httpApi?: boolean;
  /** Accounts to create at start (name → password), kept in memory only. */
  users?: Record<string, string>;
  /**
   * Catch-all for tests: an account comes into being at its first delivery (RCPT TO, deliver()) or
   * login. `true`: any password logs in; `{ password }`: only that one. Off by default: mail for an
   * unknown name is refused (SMTP 550, deliver() throws UnknownUserError).
   */
  autoCreateUsers?: boolean | { password: string };
  /** SMTP/LMTP offer AUTH PLAIN/LOGIN and accept any credentials (off: no AUTH, as before). */
  acceptAnySmtpAuth?: boolean;
  /**
   * Before its 220 greeting, wait 100 ms (smtp-server's early-talker check) and look up the client's
   * reverse DNS name. Off for an embedded server (each test connection would pay ≈ 105 ms);
   * `tegami serve` turns it on.
   */
  smtpGreetingDelay?: boolean;
  /**
   * Slow failed logins per address and account and refuse an address that keeps failing
   * (protocol/login-guard.ts). Off for an embedded server — a test suite's own wrong-password tests
   * from 127.0.0.1 would be slowed to 5 s and then refused; failures are still logged. `tegami
   * serve` turns it on.
   */
  guardLogins?: boolean;
  logLevel?: LogLevel;
  /** Largest message accepted over SMTP/LMTP/APPEND, octets (default 50 MB). */
  maxMessageSize?: number;
  /** Inactivity after which a session is closed, ms (default 10 minutes, RFC 1939). */
  idleTimeoutMs?: number;
  /**
   * Admission control (see README, Overload). The defaults never refuse a bounded set of clients that
   * wait for their answers, however busy the machine; `false` turns every limit and all shedding off.
   */
  governor?: Partial<GovernorOptions> | false;
  chaos?: Partial<ChaosSettings>;
  /** How long close() lets open sessions finish before cutting them, ms (default 0: at once; `tegami serve` waits 10 s). */
  drainMs?: number;
  /** Keep expunged mail recoverable (tegami undelete) this long before it is reclaimed, ms (default 0). */
  retentionMs?: number;
  /**
   * With a data directory: refuse new mail (SMTP/LMTP 452 4.3.1, IMAP APPEND NO [OVERQUOTA]) while
   * it has less free space than this, bytes, so deletions and LevelDB's housekeeping still have room.
   * Default 64 MB; 0 turns it off.
   */
  minFreeSpace?: number;
  /** How the store reopens after a disk fault, and when it gives up (see storage/level/store-health.ts). */
  storeRecovery?: OpenStoreOptions['recovery'];
  /**
   * TLS for STARTTLS/STLS and the implicit-TLS ports: `true` = a self-signed certificate for localhost
   * (generated once into DIR/tls/ with a data directory, in memory otherwise), or PEM `{ cert, key }`,
   * or `{ certFile, keyFile }` (re-read when they change). Off by default unless an implicit-TLS port is set.
   */
  tls?: boolean | TlsSource;
  /** IMAP over TLS from the first byte (IMAPS; 0 = any free port). Off when absent. */
  imapsPort?: number;
  /** POP3 over TLS from the first byte (POP3S). Off when absent. */
  pop3sPort?: number;
  /** Where LOGIN/USER/AUTH PLAIN may be used without TLS: 'loopback' (default), 'always', 'never'. */
  plaintextLogin?: PlaintextLogin;
}

/** The default free-space floor: LevelDB's memtable flush (4 MB) and compactions (tens of MB) must fit. */
export const DEFAULT_MIN_FREE_SPACE = 64 * 1024 * 1024;

export interface TegamiServer {
  readonly host: string;
  readonly ports: { pop3: number; imap: number; smtp: number; lmtp: number; metrics?: number; imaps?: number; pop3s?: number };
  /** The TLS certificate new connections get (PEM), to trust in a test client; undefined without TLS. */
  readonly certificate: string | undefined;
  readonly store: MailStore;
  readonly users: UserDirectory;
  readonly governor: Governor;
  /** Fault injection: latency, failures and forced shedding, for tests (see README). */
  readonly chaos: ChaosStore;
  /** ok / failed / recovering; `gaveUp` means the process should be restarted (the CLI exits). */
  readonly storeHealth: StoreHealth;
  readonly log: Logger;
  addUser(name: string, password: string): Promise<void>;
  /**
   * Delivers an RFC 822 message to an account's INBOX (a name, or an address), as SMTP would: bare LF
   * is turned into CRLF, and an unknown account is refused (UnknownUserError) unless autoCreateUsers.
   */
  deliver(user: string, rfc822: string | Buffer): Promise<void>;
  /** A mailbox's messages, parsed — for asserting in tests. Unaffected by chaos. */
  messages(user: string, mailbox?: string): Promise<ReceivedMessage[]>;
  /** Every message of every account and mailbox. */
  allMessages(): Promise<ReceivedMessage[]>;
  /** Resolves when a matching message is there (at once if it already is); no polling. */
  waitForMessage(query: MessageQuery & WaitOptions): Promise<ReceivedMessage>;
  /** Resolves with all matching messages once there are `count` of them. */
  waitForMessages(query: MessageQuery & WaitOptions): Promise<ReceivedMessage[]>;
  /** Resolves after `timeoutMs` (default 500) if no matching message is there or arrives; rejects as soon as one does. */
  waitForNoMessage(query: MessageQuery & Pick<WaitOptions, 'timeoutMs'>): Promise<void>;
  /** Deletes every message of one account, or of all; accounts stay. */
  purge(user?: string): Promise<void>;
  /** Between tests: purge all mail and clear chaos. */
  reset(): Promise<void>;
  /** The ready line `tegami serve` prints. */
  readyLine(): string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** One line when the store fails (with the cause), one when it is back, one if recovery gives up. */
function watchStoreHealth(health: StoreHealth, log: Logger): void {
  let failedAt: number | undefined;
  health.onChange((h) => {
    if (h.gaveUp) return log.error({ cause: h.cause }, 'store cannot recover: restart the process');
    if (h.state === 'ok') {
      if (failedAt !== undefined) log.warn({ downMs: Date.now() - failedAt }, 'store recovered: writes accepted again');
      failedAt = undefined;
    } else if (failedAt === undefined) {
      failedAt = Date.now();
      log.error({ cause: h.cause }, 'store failed: writes get temporary errors while it reopens in the background');
    }
  });
}

export type { ReceivedMessage };

export async function startServer(opts: ServerOptions = {}): Promise<TegamiServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = createLogger(opts.logLevel ?? 'silent');
  const maxMessageSize = opts.maxMessageSize ?? 50 * 1024 * 1024;
  const metrics = new Metrics();
  const governor = new Governor(opts.governor === false ? NO_SHEDDING : opts.governor ?? {}, metrics, undefined, true, log);
  // Mail and password hashes: nobody else on the machine may list or read them.
  if (opts.dataDir) mkdirSync(join(opts.dataDir, 'mail'), { recursive: true, mode: 0o700 });
  const inner = await openStore({
    ...(opts.shardMap ? { shardMap: opts.shardMap } : opts.store ? { url: opts.store } : opts.dataDir ? { path: join(opts.dataDir, 'mail') } : { memory: true }),
    onShardMapError: (err) => log.error({ err }, err instanceof ShardMapError ? 'shard map not used; the last good one stays in force' : 'cluster unavailable: its accounts get temporary errors until it is back'),
    onShardMapReload: (clusters) => log.info({ clusters }, 'shard map reloaded'),
    analyzer: analyzeMessage,
    reclaimGate: () => governor.background(),
    retentionMs: opts.retentionMs,
    onBackgroundError: (err) => log.error({ err }, 'reclaim step failed; retrying after a pause'),
    minFreeBytes: opts.minFreeSpace ?? DEFAULT_MIN_FREE_SPACE,
    recovery: opts.storeRecovery,
  });
  watchStoreHealth(inner.health, log);
  const chaos = new ChaosStore(inner, governor, opts.chaos ?? {});
  const store: MailStore = timedStore(chaos, governor, metrics);
  const userOptions = opts.autoCreateUsers ? { autoCreate: opts.autoCreateUsers } : {};
  const users = opts.dataDir
    ? await UserDirectory.open(opts.dataDir, { ...userOptions, onError: (err) => log.error({ err }, 'users file unreadable; keeping the accounts it had before') }).catch(async (err: unknown) => {
      log.error({ err }, 'cannot start: users file unreadable');
      await inner.close();
      throw err;
    })
    : UserDirectory.inMemory(userOptions);
  const inspector = new MailInspector(inner, users);
  const ensure = (name: string) => inner.ensureUser(name).catch((err) => log.error({ err, user: name }, 'cannot create mailbox'));
  users.onAdded((name) => void ensure(name));
  for (const [name, password] of Object.entries(opts.users ?? {})) await users.addInMemory(name, password);
  // sharded, an account whose cluster is down waits for it (temporary errors); the others are served
  for (const name of users.list()) await (opts.shardMap ? ensure(name) : inner.ensureUser(name));

  const tls = await openTls(opts, log).catch(async (err: unknown) => {
    users.close();
    await inner.close();
    throw err;
  });
  const ctx: SessionContext = {
    store,
    logins: new LoginGuard(opts.guardLogins ? {} : NO_LOGIN_PAUSES),
    auth: {
      async verify(user, password) {
        const t0 = performance.now();
        let result = 'error';
        try {
          const name = await users.verify(user, password);
          result = name ? 'ok' : 'fail';
          if (name && opts.autoCreateUsers) await inner.ensureUser(name); // the session opens its INBOX next
          return name;
        } finally {
          metrics.auth.observe({ result }, (performance.now() - t0) / 1000);
        }
      },
    },
    governor,
    log,
    serverName: 'tegami',
    maxMessageSize,
    idleTimeoutMs: opts.idleTimeoutMs ?? 10 * 60_000,
    tls,
    plaintextLogin: opts.plaintextLogin,
  };
  const listeners: Listener[] = [];
  let ingress: Awaited<ReturnType<typeof startIngress>> | undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  let imaps: Listener | undefined;
  let pop3s: Listener | undefined;
  let ready = false;
  try {
    // each protocol sees the store through its own chaos view, so chaos.failNext({ protocol }) can aim
    const pop3Ctx = { ...ctx, store: timedStore(chaos.forProtocol('pop3'), governor, metrics) };
    const imapCtx = { ...ctx, store: timedStore(chaos.forProtocol('imap'), governor, metrics) };
    listeners.push(await listen(host, opts.pop3Port ?? 0, (s) => handlePop3Connection(s, pop3Ctx), governor));
    listeners.push(await listen(host, opts.imapPort ?? 0, (s) => handleImapConnection(s, imapCtx), governor));
    if (tls && opts.imapsPort !== undefined) listeners.push(imaps = await listen(host, opts.imapsPort, (s) => handleImapConnection(tls.secure(s), imapCtx), governor));
    if (tls && opts.pop3sPort !== undefined) listeners.push(pop3s = await listen(host, opts.pop3sPort, (s) => handlePop3Connection(tls.secure(s), pop3Ctx), governor));
    ingress = await startIngress({
      host, smtpPort: opts.smtpPort ?? 0, lmtpPort: opts.lmtpPort ?? 0, store: timedStore(chaos.forProtocol('smtp'), governor, metrics),
      users, governor, log, maxMessageSize, instantGreeting: !opts.smtpGreetingDelay, acceptAnyAuth: opts.acceptAnySmtpAuth === true, faults: chaos,
      tls: tls?.options,
    });
    const started = ingress;
    tls?.onChange(() => started.setTls(tls.options));
    if (opts.metricsPort !== undefined) {
      metricsServer = await startMetricsServer({
        host, port: opts.metricsPort, metrics,
        ready: () => ready && !governor.forcedShed && inner.health.state === 'ok',
        ...(opts.httpApi ? {
          routes: createHttpApi({
            inspector, chaos, users,
            addUser: (name, password) => server.addUser(name, password),
            expunge: async (user, mailbox, uids) => void (await inner.expunge(user, mailbox, uids)),
          }),
        } : {}),
        beforeScrape: () => {
          for (const state of ['ok', 'failed', 'recovering'] as const) metrics.storeState.set({ state }, inner.health.state === state ? 1 : 0);
          const free = inner.freeBytes();
          if (free !== undefined) metrics.freeBytes.set(free);
          const { reclaimBacklog: b, reclaimed, nodes } = store.stats();
          if (nodes) {
            metrics.nodeReloads.set(nodes.reloads);
            metrics.nodeConflicts.set(nodes.conflicts);
            metrics.nodeReclaiming.set(nodes.reclaiming ? 1 : 0);
          }
          metrics.reclaimBacklog.set(b.bodies);
          metrics.reclaimBacklogBytes.set(b.bytes);
          metrics.reclaimBacklogAccounts.set(b.accounts);
          metrics.reclaimOldest.set(b.oldestMs / 1000);
          metrics.reclaimedBodies.set(reclaimed.bodies);
          metrics.reclaimedBytes.set(reclaimed.bytes);
        },
      });
    }
  } catch (err) {
    for (const l of listeners) await l.close(0);
    await ingress?.close();
    tls?.close();
    await store.close();
    throw err;
  }
  ready = true;
  const [pop3, imap] = listeners as [Listener, Listener];
  const ports = {
    pop3: pop3.port, imap: imap.port, smtp: ingress.smtpPort, lmtp: ingress.lmtpPort, metrics: metricsServer?.port,
    imaps: imaps?.port, pop3s: pop3s?.port,
  };

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      const grace = opts.drainMs ?? 0;
      await Promise.all([...listeners.map((l) => l.close(grace)), ingress!.close()]);
      await metricsServer?.close();
      users.close();
      tls?.close();
      governor.close();
      await store.close();
      log.info({}, 'stopped');
    })());

  const server: TegamiServer = {
    host,
    ports,
    store,
    users,
    governor,
    chaos,
    storeHealth: inner.health,
    log,
    get certificate() {
      return tls?.cert;
    },
    // The test helpers work on the store beneath chaos: injected faults are for the protocols.
    async addUser(name, password) {
      await users.addInMemory(name, password);
      await inner.ensureUser(users.canonical(name));
    },
    async deliver(user, rfc822) {
      const name = users.canonical(user);
      if (!users.has(name)) throw new UnknownUserError(name);
      await inner.ensureUser(name);
      await inner.deliver([name], toCrlf(Buffer.isBuffer(rfc822) ? rfc822 : Buffer.from(rfc822, 'utf8')));
    },
    messages: (user, mailbox) => inspector.messages(user, mailbox),
    allMessages: () => inspector.allMessages(),
    waitForMessage: (q) => inspector.waitForMessage(q),
    waitForMessages: (q) => inspector.waitForMessages(q),
    waitForNoMessage: (q) => inspector.waitForNoMessage(q),
    purge: (user) => inspector.purge(user),
    async reset() {
      chaos.reset();
      await inspector.purge();
    },
    readyLine() {
      const p = (port: number) => `${host}:${port}`;
      let line = `ready pop3=${p(ports.pop3)} imap=${p(ports.imap)} smtp=${p(ports.smtp)} lmtp=${p(ports.lmtp)}`;
      if (ports.metrics !== undefined) line += ` metrics=${p(ports.metrics)}`;
      if (ports.imaps !== undefined) line += ` imaps=${p(ports.imaps)}`;
      if (ports.pop3s !== undefined) line += ` pop3s=${p(ports.pop3s)}`;
      return line;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  log.info({ ports }, 'ready');
  return server;
}

/** An implicit-TLS port needs a certificate: asking for one turns TLS on (with a generated certificate unless given). */
async function openTls(opts: ServerOptions, log: Logger): Promise<TlsCertificates | undefined> {
  const wantsPort = opts.imapsPort !== undefined || opts.pop3sPort !== undefined;
  if (opts.tls === false && wantsPort) throw new Error('--imaps-port/--pop3s-port need TLS (tls: false was given)');
  const source = opts.tls === undefined ? (wantsPort ? true : undefined) : opts.tls || undefined;
  return source ? TlsCertificates.open(source, { dataDir: opts.dataDir, log }) : undefined;
}
