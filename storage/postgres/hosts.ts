// libpq's multi-host URL for node-postgres, which connects to one host only:
// postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write. With read-write (or primary),
// every new connection goes to the host that accepts writes, found by asking each host in turn, so
// after a failover (Patroni promotes a standby) the pools reach the new primary by themselves: the
// old primary's connections break, the next ones look again. No proxy (HAProxy, pgbouncer) needed.
import pg from 'pg';

export interface Host {
  host: string;
  port: number;
}

export interface PostgresTarget {
  /** The hosts in the URL's order. */
  hosts: Host[];
  /** The URL with the first host only and libpq's own parameters removed: what node-postgres parses. */
  url: string;
  /** Whether connections must go to a host that accepts writes (target_session_attrs=read-write|primary). */
  readWrite: boolean;
}

const ATTRS = 'target_session_attrs';
const DEFAULT_PORT = 5432;

/** Reads the host list and target_session_attrs of a postgres:// URL; a single host is a list of one. */
export function parseTarget(url: string): PostgresTarget {
  const m = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/.exec(url);
  if (!m) throw new Error('expected postgres://[user[:password]@]host[:port][,host[:port]…]/database');
  const [, scheme, auth = '', hostList, rest] = m;
  const hosts = hostList!.split(',').map((h): Host => {
    // [::1]:5432, host:5432, host
    const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(h);
    if (!hp || hp[1] === '') throw new Error(`bad host "${h}" in the store URL`);
    return { host: hp[1]!.replace(/^\[(.*)\]$/, '$1'), port: hp[2] ? Number(hp[2]) : DEFAULT_PORT };
  });
  const q = rest!.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : rest!.slice(q + 1));
  const attrs = params.get(ATTRS) ?? 'any';
  if (!['any', 'read-write', 'primary'].includes(attrs)) {
    throw new Error(`${ATTRS}=${attrs} is not supported in the store URL (any, read-write or primary: tegami writes)`);
  }
  params.delete(ATTRS);
  const first = hosts[0]!;
  const hostText = first.host.includes(':') ? `[${first.host}]` : first.host;
  const query = params.toString();
  return {
    hosts,
    url: `${scheme}${auth}${hostText}:${first.port}${q < 0 ? rest : rest!.slice(0, q)}${query ? `?${query}` : ''}`,
    readWrite: attrs !== 'any',
  };
}

const show = (h: Host) => `${h.host}:${h.port}`;

/**
 * Remembers which host took the last connection, so that new connections go straight there; a host
 * that fails (refuses, breaks, turns out read-only) is forgotten and the next connection asks every
 * host at once.
 */
class HostPicker {
  private current: Host | undefined;

  constructor(private readonly target: PostgresTarget, private readonly probeTimeoutMs: number) {}

  async pick(config: pg.ClientConfig): Promise<Host> {
    if (this.current) return this.current;
    if (this.target.hosts.length === 1) return this.target.hosts[0]!;
    // all at once, so that dead hosts cost one timeout, not one each; the URL's order breaks ties
    const answers = await Promise.all(this.target.hosts.map((h) => this.probe(h, config)));
    const i = answers.findIndex((a) => a === undefined);
    if (i < 0) {
      throw new Error(`no ${this.target.readWrite ? 'read-write ' : ''}PostgreSQL among ${this.target.hosts.map((h, j) => `${show(h)} (${answers[j]})`).join(', ')}`);
    }
    return (this.current = this.target.hosts[i]!);
  }

  /** Forgets a host that failed, unless another one was picked since. */
  failed(h: Host): void {
    if (this.current === h) this.current = undefined;
  }

  /** Undefined if the host would do, else why not. */
  private async probe(h: Host, config: pg.ClientConfig): Promise<string | undefined> {
    const c = aimed(new pg.Client({ ...config, connectionTimeoutMillis: this.probeTimeoutMs }), h);
    c.on('error', () => undefined);
    try {
      await c.connect();
      return this.target.readWrite && !(await writable(c)) ? 'read-only: a standby' : undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/**
 * Points a client that has not connected yet at one host. Not through its config: pg takes host and
 * port from the connection string first, and ours names the first host.
 */
function aimed<C extends pg.Client>(c: C, h: Host): C {
  c.host = h.host;
  c.port = h.port;
  Object.assign((c as unknown as { connectionParameters: Host }).connectionParameters, h);
  return c;
}

/** What libpq asks for read-write: a hot standby is always read-only, and so is a primary set read-only. */
async function writable(c: pg.ClientBase): Promise<boolean> {
  const { rows } = await c.query<{ ro: string }>(`SELECT current_setting('transaction_read_only') AS ro`);
  return rows[0]?.ro === 'off';
}

/**
 * The pg.Client class for a pg.Pool over `target`: each new connection goes to the picked host and,
 * for read-write, checks that it still takes writes. One class per backend, so that all of its pools
 * share what they learnt about the hosts.
 */
export function clientForTarget(target: PostgresTarget, probeTimeoutMs: number): typeof pg.Client {
  const picker = new HostPicker(target, probeTimeoutMs);
  class TargetClient extends pg.Client {
    constructor(private readonly config: pg.ClientConfig) {
      super(config);
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | void {
      const done = this.connectToTarget().then(() => this);
      if (!callback) return done;
      done.then(() => callback(undefined as unknown as Error), callback);
    }

    private async connectToTarget(): Promise<void> {
      const h = await picker.pick(this.config);
      aimed(this, h);
      try {
        await super.connect();
        if (target.readWrite && !(await writable(this))) throw new Error(`PostgreSQL at ${show(h)} is read-only now (a standby)`);
      } catch (err) {
        picker.failed(h);
        await this.end().catch(() => undefined);
        throw err;
      }
      // a connection that breaks later (its server died, failover) makes the next one look again;
      // one ended on purpose (the pool's idle timeout, close) emits no error
      this.once('error', () => picker.failed(h));
    }
  }
  return TargetClient;
}
