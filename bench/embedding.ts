// What a test author pays: the embedded server's start→close (with and without accounts), a
// deliver() → waitForMessage round trip, an SMTP send → waitForMessage with a pooled nodemailer, and
// the time to import the package in a plain node process (ESM and require()). Runs the compiled
// package in dist/ — what an installed tegami runs (`npm run build` first; `npm ci` does it).
//   npx tsx bench/embedding.ts [--repeats 30]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import type * as Tegami from '../server/index.ts';
import { machineInfo } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';
import { round, spread, type Spread } from './lib/stats.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const REPEATS = arg('repeats', 30);
const ESM = fileURLToPath(new URL('../dist/esm/server/index.js', import.meta.url));
const CJS = fileURLToPath(new URL('../dist/cjs/server/index.js', import.meta.url));
if (!existsSync(ESM) || !existsSync(CJS)) {
  process.stderr.write('bench/embedding: no build in dist/; run `npm run build` first\n');
  process.exit(1);
}
const { startServer } = (await import(ESM)) as typeof Tegami;

async function timed(n: number, once: () => Promise<void>): Promise<Spread> {
  await once(); // warm-up: first-use costs (module init, JIT) are not what a test file pays each time
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  const s = spread(ms);
  return { min: round(s.min), median: round(s.median), max: round(s.max) };
}

const results: Record<string, Spread> = {};
results['start→close, no accounts (ms)'] = await timed(REPEATS, async () => {
  await (await startServer()).close();
});
results['start→close, 1 account (ms)'] = await timed(REPEATS, async () => {
  await (await startServer({ users: { alice: 'secret' } })).close();
});
results['start→close, 10 accounts (ms)'] = await timed(REPEATS, async () => {
  await (await startServer({ users: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`u${i}`, 'secret'])) })).close();
});

const server = await startServer({ users: { alice: 'secret' } });
let n = 0;
results['deliver → waitForMessage (ms)'] = await timed(REPEATS * 3, async () => {
  const subject = `d${n++}`;
  const waiting = server.waitForMessage({ user: 'alice', subject });
  await server.deliver('alice', `Subject: ${subject}\r\n\r\nx\r\n`);
  await waiting;
});
await server.purge();
const mailer = nodemailer.createTransport({ host: server.host, port: server.ports.smtp, pool: true, ignoreTLS: true });
results['SMTP send (pooled nodemailer) → waitForMessage (ms)'] = await timed(REPEATS * 3, async () => {
  const subject = `s${n++}`;
  const waiting = server.waitForMessage({ user: 'alice', subject });
  await mailer.sendMail({ from: 'app@example.com', to: 'alice@example.com', subject, text: 'x' });
  await waiting;
});
mailer.close();
await server.purge();
const single = async () => {
  const subject = `c${n++}`;
  const t = nodemailer.createTransport({ host: server.host, port: server.ports.smtp, ignoreTLS: true });
  const waiting = server.waitForMessage({ user: 'alice', subject });
  await t.sendMail({ from: 'app@example.com', to: 'alice@example.com', subject, text: 'x' });
  await waiting;
  t.close();
};
results['SMTP send (new connection each) → waitForMessage (ms)'] = await timed(REPEATS, single);
await server.close();

// A fresh process each time: what `import 'tegami'` costs a test file's worker.
const importMs = (code: string, input: 'module' | 'commonjs') =>
  timed(Math.max(5, Math.round(REPEATS / 3)), async () => {
    execFileSync(process.execPath, [`--input-type=${input}`, '-e', code], { stdio: 'ignore' });
  });
const processOnly = await importMs('', 'module');
results['node process, nothing imported (ms)'] = processOnly;
results['node process + import tegami, ESM (ms)'] = await importMs(`await import(${JSON.stringify(ESM)})`, 'module');
results['node process + require(tegami), CommonJS (ms)'] = await importMs(`require(${JSON.stringify(CJS)})`, 'commonjs');

const width = Math.max(...Object.keys(results).map((k) => k.length));
process.stdout.write(`${'figure'.padEnd(width)}  median     min     max\n`);
for (const [k, v] of Object.entries(results)) {
  process.stdout.write(`${k.padEnd(width)}  ${String(v.median).padStart(6)}  ${String(v.min).padStart(6)}  ${String(v.max).padStart(6)}\n`);
}
const file = writeResult('embedding', { repeats: REPEATS, machine: machineInfo(), results });
process.stdout.write(`wrote ${file}\n`);
