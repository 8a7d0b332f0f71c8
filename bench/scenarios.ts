// The scenarios `npm run bench` runs. Each one names the mailboxes it needs (a fixture) and measures
// one repeat against one server; the runner alternates tegami and the peer repeat by repeat, so
// machine noise hits both alike, and keeps min/median/max over repeats.
import net from 'node:net';
import { RawImap } from './lib/imap-raw.ts';
import { IdleWatcher } from './lib/idle-watcher.ts';
import { benchMessage, MailSender, type Dialect } from './lib/mail-sender.ts';
import { pop3Poll } from './lib/pop3-session.ts';
import { latencySummary, round } from './lib/stats.ts';
import type { Fixture, Side, Target } from './lib/targets.ts';

export type Size = 'quick' | 'full';

export interface FigureSpec {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** tegami / peer target from the issue, when there is one. */
  target?: { ratio: number; op: '≥' | '≤' };
}

/** One repeat's numbers, by figure key; `samples` keeps raw latencies for distribution charts. */
export interface Measurement {
  figures: Record<string, number>;
  samples?: number[];
}

export interface Scenario {
  name: string;
  title: string;
  fixture(size: Size): Fixture;
  /** Sides this scenario can run on (Dovecot has no SMTP listener here). */
  sides: Side[];
  figures: FigureSpec[];
  /** Before the timed repeats: first logins pay scrypt / index loads on both sides. */
  warmUp?(t: Target, size: Size): Promise<void>;
  measure(t: Target, size: Size): Promise<Measurement>;
}

const BOTH: Side[] = ['tegami', 'dovecot'];

async function warmLogins(t: Target): Promise<void> {
  await Promise.all(t.users.map((u) => pop3Poll('127.0.0.1', t.ports.pop3, u.name, u.password, 120_000)));
}

const pollStorm: Scenario = {
  name: 'poll-storm',
  title: 'POP3 poll storm: 50 "leave a copy" clients, 50 users (LOGIN, STAT, UIDL, QUIT in a loop)',
  fixture: (size) => ({ users: 50, messages: size === 'full' ? 1000 : 200 }),
  sides: BOTH,
  figures: [
    { key: 'sessionsPerSecond', label: 'sessions/s', unit: '/s', better: 'higher', target: { ratio: 1.5, op: '≥' } },
    { key: 'p99', label: 'session p99', unit: 'ms', better: 'lower' },
    { key: 'cpuMsPerSession', label: 'server CPU per session', unit: 'ms', better: 'lower' },
    { key: 'distinctUidlLists', label: 'distinct UIDL lists per user (must be 1)', unit: '', better: 'lower' },
  ],
  warmUp: warmLogins,
  async measure(t, size) {
    const seconds = size === 'full' ? 10 : 4;
    const ms: number[] = [];
    const lists = new Map<string, Set<string>>();
    let errors = 0;
    const cpu0 = t.cpuSeconds();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(Array.from({ length: 50 }, async (_, c) => {
      const u = t.users[c % t.users.length]!;
      while (performance.now() < end) {
        const r = await pop3Poll('127.0.0.1', t.ports.pop3, u.name, u.password);
        if (!r.ok) {
          errors++;
          continue;
        }
        ms.push(r.ms);
        let s = lists.get(u.name);
        if (!s) lists.set(u.name, (s = new Set()));
        s.add(r.uidlHash!);
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = t.cpuSeconds() - cpu0;
    return {
      figures: {
        sessionsPerSecond: round(ms.length / elapsed, 1),
        p99: round(latencySummary(ms).p99),
        cpuMsPerSession: round((cpu * 1000) / Math.max(1, ms.length), 3),
        distinctUidlLists: Math.max(0, ...[...lists.values()].map((s) => s.size)),
        errors,
      },
      samples: ms,
    };
  },
};

function loginUidl(messages: number, name: string): Scenario {
  return {
    name,
    title: `LOGIN + UIDL on a mailbox of ${messages.toLocaleString('en')} messages (one client, back to back)`,
    fixture: () => ({ users: 1, messages }),
    sides: BOTH,
    figures: [{ key: 'p50', label: 'LOGIN+UIDL p50', unit: 'ms', better: 'lower', target: messages >= 100_000 ? { ratio: 0.5, op: '≤' } : undefined }],
    warmUp: warmLogins,
    async measure(t) {
      const u = t.users[0]!;
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await pop3Poll('127.0.0.1', t.ports.pop3, u.name, u.password, 120_000);
        if (!r.ok || r.messages !== messages) throw new Error(`${t.side}: LOGIN+UIDL gave ${r.error ?? `${r.messages} messages`}`);
        ms.push(r.ms);
      }
      return { figures: { p50: round(latencySummary(ms).p50) }, samples: ms };
    },
  };
}

function selectFetchFlags(messages: number, name: string): Scenario {
  return {
    name,
    title: `IMAP SELECT + UID FETCH 1:* (UID FLAGS) on ${messages.toLocaleString('en')} messages`,
    fixture: () => ({ users: 1, messages }),
    sides: BOTH,
    figures: [{ key: 'p50', label: 'SELECT + UID FETCH FLAGS p50', unit: 'ms', better: 'lower', target: messages >= 100_000 ? { ratio: 1.0, op: '≤' } : undefined }],
    warmUp: warmLogins,
    async measure(t) {
      const u = t.users[0]!;
      const c = await RawImap.connect(t.ports.imap, u.name, u.password);
      const ms: number[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          const sel = await c.command('SELECT INBOX');
          const f = await c.command('UID FETCH 1:* (UID FLAGS)');
          ms.push(performance.now() - t0);
          if (!/ OK/.test(sel.tail) || !/ OK/.test(f.tail)) throw new Error(`${t.side}: ${sel.tail} / ${f.tail}`);
          await c.command('UNSELECT');
        }
      } finally {
        c.close();
      }
      return { figures: { p50: round(latencySummary(ms).p50) }, samples: ms };
    },
  };
}

/** What loopback TCP moves per second on this machine right now: the ceiling for body FETCH. */
export async function loopbackMBps(bytes = 512 * 2 ** 20): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 120);
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      let n = 0;
      const t0 = performance.now();
      s.on('data', (d) => {
        n += d.length;
        if (n >= bytes) {
          resolve(round(n / 1e6 / ((performance.now() - t0) / 1000), 1));
          s.destroy();
          srv.close();
        }
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('error', () => {});
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!c.write(chunk)) return void c.once('drain', pump);
        }
      };
      c.once('connect', pump);
    });
    srv.on('error', reject);
  });
}

const fetchRounds = new Map<string, number>();
const FETCHES_PER_SAMPLE = 3;

const fetchBodies: Scenario = {
  name: 'fetch-bodies',
  title: 'IMAP body FETCH throughput: UID FETCH of 1,000 whole messages (BODY.PEEK[]) from a 10k realistic mailbox',
  fixture: (size) => ({ users: 1, messages: size === 'full' ? 10_000 : 3_000, profile: 'realistic' }),
  sides: BOTH,
  figures: [
    { key: 'mbPerSecond', label: 'body FETCH', unit: 'MB/s', better: 'higher', target: { ratio: 1.0, op: '≥' } },
    { key: 'ofLoopback', label: 'fraction of loopback bandwidth', unit: '', better: 'higher' },
    { key: 'cpuMsPerMB', label: 'server CPU per MB', unit: 'ms', better: 'lower' },
  ],
  // Both sides first serve five times as many other bodies as one FETCH measures, so the figure is
  // the steady state of a running server: a fresh tegami process compiles its hot paths over its
  // first four FETCHes of 1,000 bodies (`node --trace-opt`: 20, 32, 14 and 10 functions optimized in
  // FETCHes 1–4, none from the fifth on), and its CPU per MB falls from ~1.9 to ~0.9 ms meanwhile.
  async warmUp(t, size) {
    await warmLogins(t);
    const c = await RawImap.connect(t.ports.imap, t.users[0]!.name, t.users[0]!.password);
    try {
      await c.command('EXAMINE INBOX');
      const ranges = size === 'full'
        ? ['4001:5000', '5001:6000', '6001:7000', '7001:8000', '8001:9000']
        : ['1501:2000', '2001:2500', '2501:3000', '1501:2000', '2001:2500'];
      for (const r of ranges) await c.command(`UID FETCH ${r} (BODY.PEEK[])`);
    } finally {
      c.close();
    }
  },
  async measure(t, size) {
    const bodies = size === 'full' ? 1000 : 500;
    const loop = await loopbackMBps();
    const u = t.users[0]!;
    const c = await RawImap.connect(t.ports.imap, u.name, u.password);
    try {
      await c.command('EXAMINE INBOX');
      // Both sides fetch the same ranges in the same order: the byte mix (a few KB to MBs per
      // message) differs a lot along the mailbox, and random ranges per side made the ratio noisy.
      // One sample is several FETCHes: one lasts ~0.1 s, which CPU time (10 ms ticks) and the
      // scheduler of a shared 2-core machine measure too coarsely.
      let bytes = 0;
      let secs = 0;
      const cpu0 = t.cpuSeconds();
      for (let k = 0; k < FETCHES_PER_SAMPLE; k++) {
        const n = fetchRounds.get(t.side) ?? 0;
        fetchRounds.set(t.side, n + 1);
        const start = 1 + ((n * 397) % 1000);
        const t0 = performance.now();
        const r = await c.command(`UID FETCH ${start}:${start + bodies - 1} (BODY.PEEK[])`);
        secs += (performance.now() - t0) / 1000;
        if (!/ OK/.test(r.tail)) throw new Error(`${t.side}: ${r.tail}`);
        bytes += r.bytes;
      }
      const mb = bytes / 1e6;
      const mbps = mb / secs;
      return {
        figures: {
          mbPerSecond: round(mbps, 1),
          ofLoopback: round(mbps / loop, 3),
          cpuMsPerMB: round(((t.cpuSeconds() - cpu0) * 1000) / mb, 2),
          loopbackMBps: loop,
        },
      };
    } finally {
      c.close();
    }
  },
};

function delivery(dialect: Dialect): Scenario {
  return {
    name: `deliver-${dialect}`,
    title: `${dialect.toUpperCase()} delivery, 10 concurrent senders, ~2 KB messages, each acknowledged only when durable`,
    fixture: () => ({ users: 10, messages: 0 }),
    sides: dialect === 'lmtp' ? BOTH : ['tegami'],
    figures: [
      { key: 'messagesPerSecond', label: 'messages/s', unit: '/s', better: 'higher', target: dialect === 'lmtp' ? { ratio: 2, op: '≥' } : undefined },
      { key: 'cpuMsPerMessage', label: 'server CPU per message', unit: 'ms', better: 'lower' },
    ],
    async measure(t, size) {
      const port = dialect === 'lmtp' ? t.ports.lmtp : t.ports.smtp;
      if (!port) throw new Error(`${t.side} has no ${dialect} listener`);
      const seconds = size === 'full' ? 10 : 4;
      let sent = 0;
      const cpu0 = t.cpuSeconds();
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const s = await MailSender.connect(port, dialect);
        try {
          while (performance.now() < end) {
            await s.send(`${t.users[i % t.users.length]!.name}@example.com`, benchMessage(sent));
            sent++;
          }
        } finally {
          s.close();
        }
      }));
      const secs = (performance.now() - t0) / 1000;
      return {
        figures: {
          messagesPerSecond: round(sent / secs, 1),
          cpuMsPerMessage: round(((t.cpuSeconds() - cpu0) * 1000) / Math.max(1, sent), 3),
        },
      };
    },
  };
}

const idleFanout: Scenario = {
  name: 'idle-fanout',
  title: 'IDLE fan-out: 40 clients idle on one INBOX; time from the start of an LMTP delivery until each saw EXISTS',
  fixture: () => ({ users: 1, messages: 10 }),
  sides: BOTH,
  figures: [
    { key: 'p50', label: 'delivery → EXISTS, median client', unit: 'ms', better: 'lower' },
    { key: 'max', label: 'delivery → EXISTS, last client', unit: 'ms', better: 'lower' },
  ],
  warmUp: warmLogins,
  async measure(t) {
    const u = t.users[0]!;
    const watchers = await Promise.all(Array.from({ length: 40 }, () => IdleWatcher.start(t.ports.imap, u.name, u.password)));
    const sender = await MailSender.connect(t.ports.lmtp, 'lmtp');
    const lat: number[] = [];
    try {
      let count = watchers[0]!.exists;
      for (let i = 0; i < 5; i++) {
        const seen = watchers.map((w) => w.nextExists(count));
        // from the start: a server may announce the message before its 250 reaches the sender
        const sent = performance.now();
        await sender.send(`${u.name}@example.com`, benchMessage(i));
        for (const at of await Promise.all(seen)) lat.push(at - sent);
        count++;
      }
    } finally {
      sender.close();
      for (const w of watchers) w.close();
    }
    const s = latencySummary(lat);
    return { figures: { p50: round(s.p50), max: round(s.max) }, samples: lat };
  },
};

export function scenarios(size: Size): Scenario[] {
  return [
    pollStorm,
    loginUidl(10_000, 'login-uidl-10k'),
    ...(size === 'full' ? [loginUidl(100_000, 'login-uidl-100k')] : []),
    selectFetchFlags(10_000, 'select-fetch-10k'),
    ...(size === 'full' ? [selectFetchFlags(100_000, 'select-fetch-100k')] : []),
    fetchBodies,
    delivery('lmtp'),
    delivery('smtp'),
    idleFanout,
  ];
}

/** Every scenario by name, whatever the size (a named 100k scenario runs even in a quick run). */
export function scenarioByName(name: string): Scenario | undefined {
  return scenarios('full').find((s) => s.name === name);
}
