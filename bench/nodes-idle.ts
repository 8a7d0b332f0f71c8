// Two tegami nodes on one PostgreSQL (README "Running several nodes"): how long a delivery through
// node A takes to reach an IMAP client IDLEing on node B, beside the same client on node A itself.
// Each delivery is timed from the start of its LMTP transaction to the `* N EXISTS` line; the two
// watchers see the same deliveries, so the difference is what the notice and the reload on B cost.
//
//   low npx tsx bench/nodes-idle.ts [--deliveries 50]
//
// A private PostgreSQL 15 with fsync on (test/helpers/postgres.ts), two `tegami serve` processes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/helpers/postgres.ts';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.ts';
import { IdleWatcher } from './lib/idle-watcher.ts';
import { machineInfo } from './lib/machine.ts';
import { benchMessage, MailSender } from './lib/mail-sender.ts';
import { writeResult } from './lib/results.ts';
import { latencySummary, round } from './lib/stats.ts';

const { values } = parseArgs({ options: { deliveries: { type: 'string', default: '50' } } });
const deliveries = Number(values.deliveries);

const pg = await startPostgres({ durable: true });
const nodes: ServerProcess[] = [];
try {
  const url = await pg.newDatabase();
  const node = () => startServerProcess(['--store', url, '--data', mkdtempSync(join(tmpdir(), 'tegami-bench-node-')), '--user', 'alice:secret', '--log-level', 'error'], 60_000);
  nodes.push(await node(), await node());
  const [a, b] = nodes as [ServerProcess, ServerProcess];
  const onA = await IdleWatcher.start(a.ports.imap, 'alice', 'secret');
  const onB = await IdleWatcher.start(b.ports.imap, 'alice', 'secret');
  const sender = await MailSender.connect(a.ports.lmtp, 'lmtp');
  const sameNode: number[] = [];
  const otherNode: number[] = [];
  for (let i = 0; i < deliveries; i++) {
    const seen = [onA.nextExists(onA.exists), onB.nextExists(onB.exists)];
    const sent = performance.now();
    await sender.send('alice@example.com', benchMessage(i));
    const [atA, atB] = await Promise.all(seen);
    sameNode.push(atA! - sent);
    otherNode.push(atB! - sent);
    // one at a time, with a pause, as mail arrives for one person
    await new Promise((r) => setTimeout(r, 20));
  }
  sender.close();
  onA.close();
  onB.close();
  const summary = (ms: number[]) => Object.fromEntries(Object.entries(latencySummary(ms)).map(([k, v]) => [k, round(v, 1)]));
  const result = {
    bench: 'nodes-idle',
    deliveries,
    machine: machineInfo(),
    sameNodeMs: summary(sameNode),
    otherNodeMs: summary(otherNode),
    /** per delivery, B's time less A's: what the notice and B's reload add */
    extraOnBMs: summary(otherNode.map((ms, i) => ms - sameNode[i]!)),
  };
  console.log(`delivery through node A → EXISTS, ${deliveries} deliveries (ms)`);
  console.log(`  IDLE on node A: p50 ${result.sameNodeMs.p50}  p99 ${result.sameNodeMs.p99}  max ${result.sameNodeMs.max}`);
  console.log(`  IDLE on node B: p50 ${result.otherNodeMs.p50}  p99 ${result.otherNodeMs.p99}  max ${result.otherNodeMs.max}`);
  console.log(`  B less A, per delivery: p50 ${result.extraOnBMs.p50}  p99 ${result.extraOnBMs.p99}  max ${result.extraOnBMs.max}`);
  console.log(`written ${writeResult('nodes-idle', result)}`);
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await pg.stop();
}
