// The `tegami` command line (DESIGN.md contract): serve, user add|list|del, import.
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { analyzeMessage } from '../protocol/mime/index.ts';
import { migrateStore, openStore, UnknownUserError } from '../storage/index.ts';
import { parseChaos } from './chaos/index.ts';
import { importMbox } from './mbox-import.ts';
import { packageVersion } from './package-version.ts';
import { DEFAULT_MIN_FREE_SPACE, startServer, type ServerOptions } from './server.ts';
import { accountName, readPasswordFromStdin, userAdd, userDel, userList } from './users/index.ts';

const DEFAULTS = { data: './data', host: '127.0.0.1', pop3: 1110, imap: 1143, smtp: 2525, lmtp: 2424 };

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
}

function userPair(v: string, acc: Record<string, string>): Record<string, string> {
  const i = v.indexOf(':');
  if (i <= 0) throw new InvalidArgumentError('expected NAME:PASSWORD');
  return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
}

function chaosSpec(v: string): ReturnType<typeof parseChaos> {
  try {
    return parseChaos(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** "7d", "12h", "30m", "90s", or milliseconds. */
function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('a duration like 7d, 12h, 30m, 90s');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

/** "64MB", "1.5GB", "512k", or bytes (binary units: 1 MB = 1048576 bytes). */
function size(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('a size like 64MB, 1GB, 512k or a number of bytes');
  return Math.round(Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase()));
}

/** Exit status when the store cannot recover: EX_TEMPFAIL, so a supervisor restarts the process. */
const EXIT_STORE_FAILED = 75;

/** --since: an ISO date, or a duration back from now. */
function since(v: string): number {
  const t = Date.parse(v);
  if (Number.isFinite(t) && /\d{4}-\d{2}/.test(v)) return t;
  return Date.now() - duration(v);
}

function fail(err: unknown): never {
  const e = err as { code?: string; message?: string };
  // LevelDB's LOCK file held by a running server; not any error whose text mentions a lock.
  const busy = e?.code === 'LEVEL_DATABASE_NOT_OPEN' && /\bLOCK\b/.test(String((err as Error)?.cause ?? ''));
  // LevelDB says only "Database failed to open"; why (a full disk, say) is in its cause.
  const cause = (err as Error)?.cause instanceof Error ? `: ${((err as Error).cause as Error).message}` : '';
  process.stderr.write(`tegami: ${busy ? 'the data directory is in use (stop the server first)' : `${e?.message ?? String(err)}${cause}`}\n`);
  process.exit(1);
}

// LevelDB creates its files 0666 less the umask; a mail store is nobody else's to read (the data
// directory is also made 0700, which is all an embedding process gets: umask is process-wide).
process.umask(0o077);

/** NAME as the account it names (storage/user-names.ts), or the CLI's error and exit. */
function account(given: string): string {
  try {
    return accountName(given);
  } catch (err) {
    fail(err);
  }
}

const program = new Command('tegami')
  .description('POP3 + IMAP mail store with SMTP/LMTP ingress over LevelDB')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError();

program
  .command('serve')
  .description('serve POP3, IMAP, SMTP and LMTP; prints "ready pop3=H:P imap=H:P smtp=H:P lmtp=H:P" when listening')
  .option('--data <dir>', 'data directory (LevelDB store and users file)', DEFAULTS.data)
  .option('--memory', 'keep everything in memory (nothing is written to disk)')
  .option('--store <url>', 'keep the mail in PostgreSQL (postgres://user:password@host/db); users stay in --data')
  .option('--shard-map <file>', 'keep the mail in several PostgreSQL clusters, each account in one, as this JSON file says (re-read when it changes); users stay in --data')
  .option('--host <host>', 'address to listen on', DEFAULTS.host)
  .option('--pop3-port <n>', 'POP3 port (0 = any free port)', port, DEFAULTS.pop3)
  .option('--imap-port <n>', 'IMAP port', port, DEFAULTS.imap)
  .option('--smtp-port <n>', 'SMTP port', port, DEFAULTS.smtp)
  .option('--lmtp-port <n>', 'LMTP port', port, DEFAULTS.lmtp)
  .option('--metrics-port <n>', 'serve Prometheus /metrics, /healthz, /readyz on this port', port)
  .option('--http-api', 'also serve the HTTP API (Mailpit-compatible /api/v1, accounts, chaos) on the metrics port; for tests: it can read and delete all mail')
  .option('--user <name:password>', 'add an account for this run (repeatable)', userPair, {})
  .addOption(new Option('--log-level <level>', 'how much to log').choices(['silent', 'error', 'warn', 'info', 'debug']).default('info'))
  .option('--max-message-size <size>', 'largest message accepted, e.g. 10MB (default 50MB)', size)
  .option('--chaos <spec>', 'fault injection, e.g. read-fail=0.1,read-latency=200,seed=7 (testing only)', chaosSpec)
  .option('--retention <duration>', 'keep expunged mail recoverable with `tegami undelete` this long (e.g. 7d)', duration)
  .option('--min-free-space <size>', 'refuse new mail with "try later" below this much free disk space (0 = off)', size, DEFAULT_MIN_FREE_SPACE)
  .option('--store-give-up <duration>', 'after a disk fault, exit with status 75 if the store cannot be reopened for this long (default 2m)', duration)
  .option('--imaps-port <n>', 'IMAP over TLS (implicit TLS) on this port', port)
  .option('--pop3s-port <n>', 'POP3 over TLS (implicit TLS) on this port', port)
  .option('--tls-cert <file>', 'TLS certificate (PEM, re-read when it changes); default: a self-signed one for localhost in DIR/tls/')
  .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
  .option('--allow-plaintext', 'allow passwords without TLS from any address (default: only from loopback)')
  .action(async (o) => {
    if (o.httpApi && o.metricsPort === undefined) fail(new Error('--http-api is served on the metrics port: give --metrics-port N too'));
    if (!o.tlsCert !== !o.tlsKey) fail(new Error('--tls-cert and --tls-key go together'));
    if (o.shardMap && (o.store || o.memory)) fail(new Error('--shard-map names the stores itself: leave out --store and --memory'));
    const opts: ServerOptions = {
      dataDir: o.memory ? undefined : resolve(o.data),
      store: o.store,
      shardMap: o.shardMap === undefined ? undefined : resolve(o.shardMap),
      host: o.host,
      pop3Port: o.pop3Port,
      imapPort: o.imapPort,
      smtpPort: o.smtpPort,
      lmtpPort: o.lmtpPort,
      metricsPort: o.metricsPort,
      httpApi: o.httpApi === true,
      users: o.user,
      logLevel: o.logLevel,
      maxMessageSize: o.maxMessageSize,
      chaos: o.chaos,
      retentionMs: o.retention,
      minFreeSpace: o.minFreeSpace,
      storeRecovery: o.storeGiveUp === undefined ? undefined : { giveUpAfterMs: o.storeGiveUp },
      drainMs: 10_000,
      smtpGreetingDelay: true,
      guardLogins: true,
      tls: o.tlsCert ? { certFile: resolve(o.tlsCert), keyFile: resolve(o.tlsKey) } : true,
      imapsPort: o.imapsPort,
      pop3sPort: o.pop3sPort,
      plaintextLogin: o.allowPlaintext ? 'always' : 'loopback',
    };
    const server = await startServer(opts).catch(fail);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.log.info({ signal }, 'draining sessions');
      server.close().then(() => process.exit(0), (err) => fail(err));
    };
    // Handlers first: whoever reads the ready line may send SIGTERM at once.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // The store gave up reopening (or its indexes no longer match the disk): only a new process helps.
    server.storeHealth.onChange((h) => {
      if (!h.gaveUp || stopping) return;
      stopping = true;
      process.stderr.write(`tegami: the mail store cannot recover (${h.cause}); exiting with status ${EXIT_STORE_FAILED} so that a supervisor restarts it\n`);
      void server.close().finally(() => process.exit(EXIT_STORE_FAILED));
    });
    process.stdout.write(server.readyLine() + '\n');
  });

const user = program.command('user').description('manage accounts (works while a server runs on the same --data)');

user
  .command('add <name>')
  .description('add an account, or change its password')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .option('--password-stdin', 'read the password from standard input (one line)')
  .action(async (name: string, o) => {
    const password = await readPasswordFromStdin({ prompt: !o.passwordStdin }).catch(fail);
    const dir = resolve(o.data);
    await userAdd(dir, name, password).catch(fail);
    process.stdout.write(`user ${name} added to ${join(dir, 'users.json')}\n`);
    // The CLI cannot see which servers run; it can see whether one ever used this directory.
    if (!existsSync(join(dir, 'mail'))) {
      process.stdout.write(`note: no server has used ${dir} yet; one started with --data ${o.data} will read it, one started with --memory never does (give it --user ${name}:PASSWORD)\n`);
    }
  });

user
  .command('list')
  .description('list accounts')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .action(async (o) => {
    for (const n of await Promise.resolve(userList(resolve(o.data))).catch(fail)) process.stdout.write(n + '\n');
  });

user
  .command('del <name>')
  .description('remove an account: it can no longer log in; with --purge its mail goes too (server stopped)')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .option('--purge', 'also delete all its mailboxes and mail (reclaimed in the background); needs the server stopped')
  .action(async (given: string, o) => {
    const name = account(given);
    if (o.purge) {
      const store = await openStore({ path: join(resolve(o.data), 'mail') }).catch(fail);
      try {
        // an account that never received mail has nothing in the store to purge
        await store.deleteAccount(name).catch((err) => {
          if (!(err instanceof UnknownUserError)) throw err;
        });
        await store.reclaimDrained();
      } catch (err) {
        await store.close();
        fail(err);
      }
      await store.close();
    }
    await userDel(resolve(o.data), name).catch((err: Error) => {
      // an account that only had mail left (its login was removed earlier) is purged all the same
      if (!(o.purge && err.message.startsWith('no such user'))) fail(err);
    });
    process.stdout.write(`user ${name} removed${o.purge ? ', with all its mail' : ''}\n`);
  });

program
  .command('import <name> <mbox>')
  .description('bulk-import an mbox file into NAME\'s mailbox (server stopped)')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .option('--mailbox <name>', 'target mailbox', 'INBOX')
  .option('--min-free-space <size>', 'stop before the disk has less free space than this (as serve does)', size, DEFAULT_MIN_FREE_SPACE)
  .action(async (given: string, file: string, o) => {
    const name = account(given);
    const known = await Promise.resolve(userList(resolve(o.data))).catch(fail);
    if (!known.includes(name)) fail(new Error(`no account "${name}" in ${join(resolve(o.data), 'users.json')}: add it first (tegami user add ${name} --data ${o.data})`));
    const store = await openStore({ path: join(resolve(o.data), 'mail'), analyzer: analyzeMessage, minFreeBytes: o.minFreeSpace }).catch(fail);
    try {
      await store.ensureUser(name);
      const r = await importMbox(store, name, resolve(file), { mailbox: o.mailbox, progressBar: true });
      const mbps = r.bytes / 1e6 / Math.max(r.seconds, 0.001);
      const skipped = r.skipped ? `; skipped ${r.skipped} already in ${o.mailbox} (same X-UIDL, or same Message-ID)` : '';
      process.stdout.write(`imported ${r.messages} messages (${(r.bytes / 1e6).toFixed(1)} MB) in ${r.seconds.toFixed(1)} s, ${mbps.toFixed(1)} MB/s${skipped}\n`);
    } catch (err) {
      await store.close();
      fail(err);
    }
    await store.close();
  });

program
  .command('undelete <name>')
  .description('bring back mail NAME expunged within the retention time (server stopped); it gets new UIDs')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .option('--since <when>', 'only mail expunged after this (ISO date, or a duration back from now like 2h)', since)
  .action(async (given: string, o) => {
    const name = account(given);
    const store = await openStore({ path: join(resolve(o.data), 'mail'), analyzer: analyzeMessage, retentionMs: Infinity }).catch(fail);
    try {
      const n = await store.undelete(name, o.since ?? 0);
      process.stdout.write(`restored ${n} message${n === 1 ? '' : 's'} for ${name}\n`);
    } catch (err) {
      await store.close();
      fail(err);
    }
    await store.close();
  });

program
  .command('migrate-store')
  .description('copy the mail of a data directory into an empty PostgreSQL database, keeping UIDs, UIDLs and UIDVALIDITY (server stopped)')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .option('--store <url>', 'the target: postgres://user:password@host/database')
  .option('--shard-map <file>', 'or several clusters: each account goes to the one the map pins it to, else to its newAccounts')
  .action(async (o) => {
    if (!o.store === !o.shardMap) fail(new Error('give the target: --store URL, or --shard-map FILE'));
    const dir = join(resolve(o.data), 'mail');
    if (!existsSync(dir)) fail(new Error(`no store in ${resolve(o.data)} (expected ${dir})`));
    const t0 = performance.now();
    const r = await migrateStore({ path: dir }, o.store ? { url: o.store } : { shardMap: resolve(o.shardMap) }).catch(fail);
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`copied ${r.accounts} accounts, ${r.messages} messages, ${r.bodies} bodies (${(r.bytes / 1e6).toFixed(1)} MB) in ${s.toFixed(1)} s\n`);
  });

program
  .command('stats')
  .description('accounts, mailboxes and the deletion backlog of a data directory (server stopped; a running server shows them on --metrics-port /metrics)')
  .option('--data <dir>', 'data directory', DEFAULTS.data)
  .action(async (o) => {
    const store = await openStore({ path: join(resolve(o.data), 'mail'), retentionMs: Infinity, reclaimGate: () => false }).catch(fail);
    try {
      for (const u of await store.listUsers()) {
        for (const b of await store.listMailboxes(u)) {
          process.stdout.write(`${u}\t${b.name}\tmessages=${b.messages}\tunseen=${b.unseen}\tuidvalidity=${b.uidValidity}\tuidnext=${b.uidNext}\n`);
        }
      }
      const r = store.stats().reclaimBacklog;
      process.stdout.write(`reclaim backlog: ${r.bodies} bodies, ${(r.bytes / 1e6).toFixed(1)} MB, ${r.accounts} accounts, oldest ${(r.oldestMs / 1000).toFixed(0)} s\n`);
    } finally {
      await store.close();
    }
  });

await program.parseAsync(process.argv);
