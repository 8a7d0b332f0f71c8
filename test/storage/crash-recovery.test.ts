// Invariant 3 on every durable backend: an append that resolved is there after a crash (SIGKILL in
// the middle of a burst), and invariant 1: the UIDs handed out before the crash are never given again.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { durableBackends, removeTempDirs, tempDir } from './backends.ts';

afterEach(removeTempDirs);

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/** Runs the writer until it acknowledged `atLeast` appends, kills it with SIGKILL, returns the acknowledged UIDs. */
function writeThenCrash(name: string, dir: string, atLeast: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, name, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: number[] = [];
    let atKill: number[] | undefined;
    let rest = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const l of lines) if (l.startsWith('acked ')) acked.push(Number(l.slice(6)));
      if (!atKill && acked.length >= atLeast) {
        atKill = [...acked];
        child.kill('SIGKILL');
      }
    });
    child.on('exit', () => (atKill ? resolve(atKill) : reject(new Error(`writer ended after ${acked.length} appends`))));
  });
}

describe.each(durableBackends)('$name store after a crash', ({ name, make }) => {
  it('keeps every acknowledged append and never gives its UID again', async () => {
    const dir = tempDir();
    const acked = await writeThenCrash(name, dir, 200);
    const store = await make(dir).open();
    try {
      const live = new Set((await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid));
      expect(acked.filter((uid) => !live.has(uid))).toEqual([]);
      const next = await store.append('alice', 'INBOX', Buffer.from('Subject: after\r\n\r\nx\r\n'));
      expect(next.uid).toBeGreaterThan(Math.max(...live));
    } finally {
      await store.close();
    }
  }, 60_000);
});
