// Runs one protocol handler on a loopback port over a memory store, with a fixed set of users, an
// admitting governor and quiet logs — for protocol tests that need to control each collaborator
// (a failing store, a governor that sheds) without the whole server.
import net from 'node:net';
import { LoginGuard, type LoginGuardOptions } from '../../protocol/login-guard.ts';
import type { Governor, Logger, SessionContext } from '../../protocol/session-context.ts';
import { openStore, StoreUnavailableError } from '../../storage/index.ts';
import type { MailStore } from '../../storage/types.ts';

export const admitAll: Governor = {
  admitSession: () => ({ refused: false, started() {}, active() {}, release() {} }),
  admitLogin: () => ({ refused: false, started() {}, active() {}, release() {} }),
  heavy: (_p, _u, _c, work) => work(),
  loginWork: (_p, _u, work) => work(),
  turn: () => undefined,
};

export const quietLog: Logger & { lines: { msg?: string; obj: object }[] } = {
  lines: [],
  info(obj, msg) { this.lines.push({ obj, msg }); },
  warn(obj, msg) { this.lines.push({ obj, msg }); },
  error(obj, msg) { this.lines.push({ obj, msg }); },
  debug() {},
};

export interface Harness {
  port: number;
  store: MailStore;
  ctx: SessionContext;
  close(): Promise<void>;
}

export async function startHarness(
  handler: (socket: net.Socket, ctx: SessionContext) => void,
  opts: {
    users?: Record<string, string>;
    wrapStore?: (s: MailStore) => MailStore;
    governor?: Governor;
    analyzer?: (raw: Buffer) => unknown;
    idleTimeoutMs?: number;
    expungeLogKeep?: number;
    logins?: LoginGuardOptions;
  } = {},
): Promise<Harness> {
  const users = opts.users ?? { alice: 'secret' };
  const inner = await openStore({ memory: true, analyzer: opts.analyzer, expungeLogKeep: opts.expungeLogKeep });
  for (const u of Object.keys(users)) await inner.ensureUser(u);
  const store = opts.wrapStore ? opts.wrapStore(inner) : inner;
  const ctx: SessionContext = {
    store,
    logins: new LoginGuard(opts.logins),
    auth: { verify: async (u, p) => (users[u.toLowerCase()] === p ? u.toLowerCase() : undefined) },
    governor: opts.governor ?? admitAll,
    log: { ...quietLog, lines: [] } as Logger,
    serverName: 'tegami',
    maxMessageSize: 10 * 1024 * 1024,
    idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    handler(s, ctx);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    store,
    ctx,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      await inner.close();
    },
  };
}

/** A store whose chosen methods fail (or stall) on demand; everything else passes through. */
export function switchableStore(inner: MailStore) {
  const failing = new Set<string>();
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (failing.has(String(prop))) {
          const err = new StoreUnavailableError(`injected failure in ${String(prop)}`);
          if (prop === 'readBody') {
            return (async function* () {
              throw err;
            })();
          }
          return Promise.reject(err);
        }
        return v.apply(target, args);
      };
    },
  });
  return { store: proxy as MailStore, failing };
}
