// POP3 poll storm: C concurrent "leave a copy" clients doing connect, login, STAT, UIDL, QUIT in a
// loop for S seconds against mailboxes of N messages. Prints sessions/s, session and auth latency,
// errors by response code, server CPU per session, and the number of distinct UIDL lists seen per
// user — which must be 1 (the incident's failure was exactly a second list).
//
//   npx tsx bench/pop3-poll-storm.ts [--messages 1000] [--clients 50] [--users 50] [--seconds 10]
import { parseArgs } from 'node:util';
import { preparePopulatedDataDir } from './lib/fixture-data.ts';
import { machineInfo, processCpuSeconds } from './lib/machine.ts';
import { pop3Poll, type PollResult } from './lib/pop3-session.ts';
import { writeResult } from './lib/results.ts';
import { latencySummary, round } from './lib/stats.ts';
import { startServerProcess } from '../test/helpers/server-process.ts';

export interface PollStormParams {
  messages: number;
  clients: number;
  users: number;
  seconds: number;
}

export interface PollStormResult {
  params: PollStormParams;
  sessions: number;
  sessionsPerSecond: number;
  latencyMs: ReturnType<typeof latencySummary>;
  authMs: ReturnType<typeof latencySummary>;
  errors: Record<string, number>;
  distinctUidlListsPerUser: number;
  serverCpuMsPerSession: number;
  /** First session of every account at once (scrypt + index load), before the timed part. */
  warmupMs: number;
}

export async function runPollStorm(p: PollStormParams): Promise<PollStormResult> {
  const { dataDir, users } = await preparePopulatedDataDir({ users: p.users, messages: p.messages });
  const server = await startServerProcess(['--data', dataDir, '--log-level', 'error']);
  try {
    const port = server.ports.pop3;
    // Warm-up, not timed: the first login of each account pays scrypt and loads its index from disk.
    const coldStart = performance.now();
    await Promise.all(users.map((u) => pop3Poll('127.0.0.1', port, u.name, u.password)));
    const coldMs = performance.now() - coldStart;
    const results: PollResult[] = [];
    const lists = new Map<string, Set<string>>();
    const cpu0 = processCpuSeconds(server.child.pid!);
    const t0 = performance.now();
    const deadline = t0 + p.seconds * 1000;
    await Promise.all(
      Array.from({ length: p.clients }, async (_, c) => {
        const user = users[c % users.length]!;
        while (performance.now() < deadline) {
          const r = await pop3Poll('127.0.0.1', port, user.name, user.password);
          results.push(r);
          if (r.uidlHash) {
            let s = lists.get(user.name);
            if (!s) lists.set(user.name, (s = new Set()));
            s.add(r.uidlHash);
          }
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = processCpuSeconds(server.child.pid!) - cpu0;
    const ok = results.filter((r) => r.ok);
    const errors: Record<string, number> = {};
    for (const r of results) if (!r.ok) errors[r.error!] = (errors[r.error!] ?? 0) + 1;
    return {
      params: p,
      sessions: ok.length,
      sessionsPerSecond: round(ok.length / elapsed, 1),
      latencyMs: mapRound(latencySummary(ok.map((r) => r.ms))),
      authMs: mapRound(latencySummary(ok.map((r) => r.authMs!))),
      errors,
      distinctUidlListsPerUser: Math.max(0, ...[...lists.values()].map((s) => s.size)),
      serverCpuMsPerSession: round((cpu * 1000) / Math.max(1, ok.length), 3),
      warmupMs: round(coldMs),
    };
  } finally {
    await server.stop();
  }
}

function mapRound<T extends Record<string, number>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)])) as T;
}

async function main() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '1000' },
      clients: { type: 'string', default: '50' },
      users: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '10' },
    },
  });
  const params: PollStormParams = {
    messages: Number(values.messages),
    clients: Number(values.clients),
    users: Number(values.users),
    seconds: Number(values.seconds),
  };
  const before = machineInfo();
  const r = await runPollStorm(params);
  const out = { bench: 'pop3-poll-storm', machine: before, loadavgAfter: machineInfo().loadavg, ...r };
  const file = writeResult('pop3-poll-storm', out);
  console.log(`pop3 poll storm: ${params.clients} clients, ${params.users} users, ${params.messages} messages each, ${params.seconds} s`);
  console.log(`  sessions/s          ${r.sessionsPerSecond}`);
  console.log(`  session ms          p50 ${r.latencyMs.p50}  p99 ${r.latencyMs.p99}  max ${r.latencyMs.max}`);
  console.log(`  auth ms             p50 ${r.authMs.p50}  p99 ${r.authMs.p99}`);
  console.log(`  server CPU/session  ${r.serverCpuMsPerSession} ms`);
  console.log(`  warm-up             ${r.warmupMs} ms (first login of all ${params.users} accounts, not timed above)`);
  console.log(`  errors              ${JSON.stringify(r.errors)}`);
  console.log(`  distinct UIDL lists per user: ${r.distinctUidlListsPerUser} (must be 1)`);
  console.log(`  machine load        ${before.loadavg.join(' ')}`);
  console.log(`  result: ${file}`);
  if (r.distinctUidlListsPerUser > 1) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
