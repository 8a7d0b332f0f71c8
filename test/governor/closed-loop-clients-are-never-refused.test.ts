// Busy is not overloaded (invariant 10, issue 12): a bounded set of clients that each wait for their
// answer is never refused, however busy the server's loop is and however much CPU other processes
// take. The first governor refused 460 of such POP3 polls in 10 s with 10 clients, and 2,004 with 50.
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapSync } from '../../bench/lib/imap-session.ts';
import { pop3Poll } from '../../bench/lib/pop3-session.ts';
import { startServer, type TegamiServer } from '../../server/index.ts';

const USERS = 25;
const POP3_CLIENTS = 50;
const IMAP_CLIENTS = 10;
const SECONDS = 3;

/** Busy loops on every core for `ms` — other processes taking the CPU, bounded in time. */
function hogCpu(threads: number, ms: number): Promise<unknown[]> {
  const code = `const end = Date.now() + ${ms}; while (Date.now() < end);`;
  return Promise.all(Array.from({ length: threads }, () => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('exit', resolve);
    w.once('error', reject);
  })));
}

async function shedTotal(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return [...text.matchAll(/^tegami_shed_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

describe('a closed loop of clients', () => {
  let server: TegamiServer;
  const users = Array.from({ length: USERS }, (_, i) => ({ name: `u${i}`, password: `pw${i}` }));

  beforeAll(async () => {
    // The embedded server's defaults: what a test suite gets.
    server = await startServer({ metricsPort: 0, users: Object.fromEntries(users.map((u) => [u.name, u.password])) });
    for (const u of users) for (let m = 0; m < 20; m++) await server.deliver(u.name, `Subject: ${m}\r\n\r\nbody ${m}\r\n`);
    // First logins run scrypt; pollers log in again and again with what is then cached.
    for (const u of users) expect((await pop3Poll('127.0.0.1', server.ports.pop3, u.name, u.password)).ok).toBe(true);
  });
  afterAll(() => server?.close());

  it(`of ${POP3_CLIENTS} POP3 pollers and ${IMAP_CLIENTS} IMAP syncs is never refused, even with other processes hogging both cores`, async () => {
    const outcomes = new Map<string, number>();
    const end = performance.now() + SECONDS * 1000;
    const client = async (c: number, imap: boolean) => {
      for (let i = 0; performance.now() < end; i++) {
        const u = users[(c + i) % USERS]!;
        const r = imap
          ? await imapSync('127.0.0.1', server.ports.imap, u.name, u.password, 20_000)
          : await pop3Poll('127.0.0.1', server.ports.pop3, u.name, u.password, 20_000);
        const key = r.ok ? 'ok' : `${imap ? 'imap' : 'pop3'} ${r.error}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    };
    await Promise.all([
      hogCpu(2, SECONDS * 1000),
      ...Array.from({ length: POP3_CLIENTS }, (_, c) => client(c, false)),
      ...Array.from({ length: IMAP_CLIENTS }, (_, c) => client(c, true)),
    ]);
    const ok = outcomes.get('ok') ?? 0;
    outcomes.delete('ok');
    expect(Object.fromEntries(outcomes)).toEqual({});
    expect(ok).toBeGreaterThan(POP3_CLIENTS + IMAP_CLIENTS);
    expect(await shedTotal(server.ports.metrics!)).toBe(0);
  });
});
