// Invariants 6 and 7 inside one event loop: a login does not wait behind other sessions' work.
// Its maildrop snapshot goes ahead of queued heavy commands, and while the loop is behind, commands
// other than logins take turns (a budget per loop turn), so the reads of the next turn — a login's
// PASS among them — come after a turn's worth of work, not after everything that was queued.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../../server/governor/admission-queue.ts';
import { Turns } from '../../server/governor/turns.ts';

const busyFor = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('login lane of the admission queue', () => {
  it('starts a waiting login before commands that queued earlier', async () => {
    const q = new AdmissionQueue({ concurrency: 1, maxQueued: 100, maxPerUser: 100, deadlineMs: 10_000 }, () => undefined);
    const order: string[] = [];
    let release!: () => void;
    const running = q.run('a', () => new Promise<void>((r) => (release = r)));
    const commands = ['a', 'b', 'c'].map((u) => q.run(u, async () => void order.push(`command ${u}`)));
    const login = q.run('d', async () => void order.push('login d'), 'login');
    expect(q.depth).toBe(4);
    release();
    await Promise.all([running, login, ...commands]);
    expect(order).toEqual(['login d', 'command a', 'command b', 'command c']);
  });

  it('keeps logins in arrival order among themselves, and refuses none while nothing says overload', async () => {
    const q = new AdmissionQueue({ concurrency: 1, maxQueued: 100, maxPerUser: 100, deadlineMs: 20 }, () => undefined, undefined, () => false);
    const order: string[] = [];
    let release!: () => void;
    const running = q.run('a', () => new Promise<void>((r) => (release = r)));
    const logins = ['x', 'y', 'z'].map((u) => q.run(u, async () => void order.push(u), 'login'));
    await new Promise((r) => setTimeout(r, 60)); // past the deadline: no overload, so they wait on
    release();
    await Promise.all([running, ...logins]);
    expect(order).toEqual(['x', 'y', 'z']);
  });
});

describe('turns', () => {
  it('runs a command at once while nothing waits and the turn has budget left', () => {
    const turns = new Turns(5);
    expect(turns.take()).toBeUndefined();
    expect(turns.depth).toBe(0);
  });

  it('lets the reads of the next loop turn in after a budget of queued work, not after all of it', async () => {
    const turns = new Turns(5);
    const events: string[] = [];
    // a peer that will write one line (a login's PASS) while the commands are queued
    const server = net.createServer((s) => s.once('data', () => events.push('login read')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    try {
      const commands: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const run = () => {
          busyFor(10); // each command costs twice the budget of a turn
          events.push(`command ${i}`);
        };
        // as a session does: what may start now starts now, in the same tick
        const turn = turns.take();
        if (turn) commands.push(turn.then(run));
        else run();
      }
      expect(turns.depth).toBeGreaterThanOrEqual(19);
      client.write('PASS secret\r\n');
      await Promise.all(commands);
      while (!events.includes('login read')) await new Promise((r) => setTimeout(r, 5));
      // Without turns all twenty (200 ms of work) ran before the loop read anything again.
      expect(events.indexOf('login read')).toBeLessThan(5);
      expect(events.filter((e) => e.startsWith('command'))).toEqual(Array.from({ length: 20 }, (_, i) => `command ${i}`));
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('counts what a started command did before its first wait, not how many commands started', async () => {
    let t = 0;
    const turns = new Turns(5, () => t);
    const started: number[] = [];
    t = 10; // the first take starts a turn; the next ones find it over budget and wait
    expect(turns.take()).toBeUndefined();
    t = 20;
    const waits = [0, 1, 2].map((i) => turns.take()!.then(() => {
      started.push(i);
      t += 6; // each command uses more than a turn's budget before it waits for anything
    }));
    await new Promise((r) => setImmediate(r)); // one check phase
    expect(started).toEqual([0]);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    await Promise.all(waits);
    expect(started).toEqual([0, 1, 2]);
    expect(turns.depth).toBe(0);
  });
});
