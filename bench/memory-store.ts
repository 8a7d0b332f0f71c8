// The memory store as an embedding test suite uses it: open, one account, one delivery, one
// snapshot, close — over and over. What a test pays per fresh store, and what it leaves on the heap.
// (The store before the engine/backend split ran LevelDB's code over memory-level: ~1.9–2.0 ms per
// cycle and 34–46 MB heap after 2,200 cycles on the shared 2-core machine; the memory backend
// 0.5–0.7 ms and 11–13 MB, same machine, same minute.)
//
//   npx tsx bench/memory-store.ts [--cycles 2000]
import { parseArgs } from 'node:util';
import { openStore } from '../storage/index.ts';
import { machineInfo } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '2000' } } });
const cycles = Number(values.cycles);
const raw = Buffer.from('From: app@example.com\r\nSubject: Welcome\r\n\r\nHi!\r\n');
/** Cycles run first and not timed: the first few hundred compile the hot paths. */
const WARM_UP = 200;

async function cycle(): Promise<void> {
  const store = await openStore({ memory: true });
  await store.ensureUser('alice');
  await store.deliver(['alice'], raw);
  await store.snapshot('alice', 'INBOX');
  await store.close();
}

for (let i = 0; i < WARM_UP; i++) await cycle();
const t0 = performance.now();
for (let i = 0; i < cycles; i++) await cycle();
const usPerCycle = ((performance.now() - t0) / cycles) * 1000;
const heapMB = process.memoryUsage().heapUsed / 1e6;
console.log(`memory store: ${usPerCycle.toFixed(0)} µs per open + account + delivery + snapshot + close (${cycles} cycles), heap ${heapMB.toFixed(0)} MB after`);
console.log(`result: ${writeResult('memory-store', { bench: 'memory-store', machine: machineInfo(), cycles, usPerCycle, heapMB })}`);
