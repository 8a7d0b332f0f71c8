// Dovecot's imaptest in stress mode against `tegami serve --memory`: N clients doing random commands
// on one mailbox, every answer checked. Counts refusals (UNAVAILABLE, and the governor's shed
// counter) — a bounded set of clients must get none — and lists imaptest's other `Error:` lines.
// With --hog N, N busy loops (bounded to the run) take the CPU beside the server: clients get
// slower, never refused. imaptest: ../shared/tools/imaptest (binary in /usr/local/bin).
//
//   npx tsx bench/imaptest-stress.ts --mbox FILE.mbox [--clients 10,50] [--seconds 30] [--hog 2]
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { startServerProcess } from '../test/helpers/server-process.ts';
import { machineInfo } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';

function hog(threads: number, ms: number): Promise<unknown> {
  const code = `const end = Date.now() + ${ms}; while (Date.now() < end);`;
  return Promise.all(Array.from({ length: threads }, () => new Promise((r) => new Worker(code, { eval: true }).once('exit', r))));
}

async function shedTotal(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return [...text.matchAll(/^tegami_shed_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

function imaptest(port: number, mbox: string, clients: number, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('imaptest', [`host=127.0.0.1`, `port=${port}`, 'user=stress', 'pass=pw', `mbox=${mbox}`, `clients=${clients}`, `secs=${seconds}`], {
      env: { ...process.env, LD_LIBRARY_PATH: '/usr/lib/dovecot' },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.once('error', reject);
    p.once('exit', () => resolve(out));
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      mbox: { type: 'string' },
      clients: { type: 'string', default: '10,50' },
      seconds: { type: 'string', default: '30' },
      hog: { type: 'string', default: '0' },
    },
  });
  if (!values.mbox) throw new Error('--mbox FILE: the messages imaptest appends');
  const seconds = Number(values.seconds);
  const runs = [];
  for (const clients of values.clients!.split(',').map(Number)) {
    const server = await startServerProcess(['--memory', '--user', 'stress:pw', '--metrics-port', '0', '--log-level', 'error']);
    try {
      const load0 = machineInfo().loadavg;
      const [out] = await Promise.all([imaptest(server.ports.imap, values.mbox, clients, seconds), hog(Number(values.hog), seconds * 1000)]);
      const lines = out.split('\n');
      const errors = lines.filter((l) => l.includes('Error:'));
      const run = {
        clients,
        seconds,
        hogThreads: Number(values.hog),
        unavailable: lines.filter((l) => l.includes('UNAVAILABLE')).length,
        shedTotal: await shedTotal(server.ports.metrics!),
        errorLines: errors.length,
        errorKinds: [...new Set(errors.map((e) => e.replace(/^.*?Error: /, '').replace(/\d+/g, 'N').slice(0, 100)))].slice(0, 20),
        totals: lines.filter((l) => /^\s*\d+/.test(l)).slice(-2).join(' | '),
        loadavg: { before: load0, after: machineInfo().loadavg },
      };
      runs.push(run);
      console.log(`imaptest ${clients} clients ${seconds} s${run.hogThreads ? `, ${run.hogThreads} busy threads beside` : ''}: UNAVAILABLE ${run.unavailable}, tegami_shed_total ${run.shedTotal}, other Error: lines ${run.errorLines}; load ${run.loadavg.before.join(' ')} → ${run.loadavg.after.join(' ')}`);
      console.log(`  last totals: ${run.totals}`);
      for (const k of run.errorKinds) console.log(`  Error: ${k}`);
    } finally {
      await server.stop();
    }
  }
  console.log(`result: ${writeResult('imaptest-stress', { bench: 'imaptest-stress', machine: machineInfo(), params: values, runs })}`);
}

await main();
