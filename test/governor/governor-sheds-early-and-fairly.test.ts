// Invariants 6 and 8: overload is detected from a standing queue (not a spike), refused at the door
// with temporary codes, and one account cannot starve another.
import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../../protocol/session-context.ts';
import { AdmissionQueue } from '../../server/governor/admission-queue.ts';
import { CoDel } from '../../server/governor/codel.ts';
import { Governor } from '../../server/governor/index.ts';

const clock = () => {
  let t = 0;
  const now = () => t;
  return { now, advance: (ms: number) => (t += ms) };
};

const never = () => new Promise<never>(() => undefined);

describe('CoDel detector', () => {
  it('turns on only after sojourn stays above target for a whole interval, off after one good sample', () => {
    const c = clock();
    const d = new CoDel(50, 500, c.now);
    d.observe(80);
    c.advance(300);
    d.observe(90);
    expect(d.overloaded).toBe(false); // a spike, not yet a standing queue
    c.advance(250);
    d.observe(70);
    expect(d.overloaded).toBe(true);
    d.observe(10);
    expect(d.overloaded).toBe(false);
  });

  it('forgets overload when traffic stops', () => {
    const c = clock();
    const d = new CoDel(50, 500, c.now);
    d.observe(100);
    c.advance(600);
    d.observe(100);
    expect(d.overloaded).toBe(true);
    c.advance(600);
    expect(d.overloaded).toBe(false);
  });
});

describe('admission queue', () => {
  it('refuses work that cannot start before its deadline, and never interrupts started work', async () => {
    const q = new AdmissionQueue({ concurrency: 1, maxQueued: 10, maxPerUser: 10, deadlineMs: 30 }, () => undefined);
    let release!: () => void;
    const running = q.run('a', () => new Promise<string>((r) => (release = () => r('finished'))));
    await expect(q.run('b', async () => 'late')).rejects.toBeInstanceOf(OverloadedError);
    release();
    await expect(running).resolves.toBe('finished');
    await expect(q.run('b', async () => 'now')).resolves.toBe('now');
  });

  it('serves accounts round-robin: one account with many queued items delays another by one turn', async () => {
    const q = new AdmissionQueue({ concurrency: 1, maxQueued: 1000, maxPerUser: 1000, deadlineMs: 10_000 }, () => undefined);
    const order: string[] = [];
    let release!: () => void;
    const gate = q.run('heavy', () => new Promise<void>((r) => (release = r)));
    const jobs = Array.from({ length: 100 }, (_, i) => q.run('heavy', async () => void order.push(`heavy${i}`)));
    const light = q.run('light', async () => void order.push('light'));
    release();
    await Promise.all([gate, light, ...jobs]);
    expect(order.indexOf('light')).toBeLessThanOrEqual(1);
  });

  it('refuses at once when the queue or an account\'s share is full', async () => {
    const q = new AdmissionQueue({ concurrency: 1, maxQueued: 1, maxPerUser: 2, deadlineMs: 10_000 }, () => undefined);
    void q.run('a', never);
    void q.run('a', never).catch(() => undefined);
    await expect(q.run('a', async () => 1)).rejects.toThrow(/account/);
    await expect(q.run('b', async () => 1)).rejects.toThrow(/full/);
  });
});

describe('governor', () => {
  it('applies per-address and per-user limits with kind "limit", and releases exactly once', () => {
    const g = new Governor({ maxSessionsPerAddress: 2, maxSessionsPerUser: 1 }, undefined, undefined, false);
    const a = g.admitSession('pop3', '10.0.0.1');
    const b = g.admitSession('imap', '10.0.0.1');
    const c = g.admitSession('pop3', '10.0.0.1');
    expect(a.refused || b.refused).toBe(false);
    expect(c).toMatchObject({ refused: true, kind: 'limit' });
    if (!a.refused) {
      a.release();
      a.release();
    }
    expect(g.admitSession('pop3', '10.0.0.1').refused).toBe(false);
    expect(g.admitSession('pop3', '10.0.0.1').refused).toBe(true);
    const l1 = g.admitLogin('pop3', 'alice', '10.0.0.2');
    expect(l1.refused).toBe(false);
    expect(g.admitLogin('imap', 'alice', '10.0.0.2')).toMatchObject({ refused: true, kind: 'limit' });
    expect(g.admitLogin('imap', 'bob', '10.0.0.2').refused).toBe(false);
    g.close();
  });

  it('refuses new sessions, logins and heavy commands while shedding is forced, and background work waits', async () => {
    const g = new Governor({}, undefined, undefined, false);
    expect(g.background()).toBe(true);
    g.forceShed(true);
    expect(g.admitSession('imap', '127.0.0.1')).toMatchObject({ refused: true, kind: 'busy' });
    expect(g.admitLogin('imap', 'alice', '127.0.0.1')).toMatchObject({ refused: true, kind: 'busy' });
    await expect(g.heavy('imap', 'alice', 'SELECT', async () => 1)).rejects.toBeInstanceOf(OverloadedError);
    expect(g.background()).toBe(false);
    g.forceShed(false);
    expect(g.admitSession('imap', '127.0.0.1').refused).toBe(false);
    await expect(g.heavy('imap', 'alice', 'SELECT', async () => 1)).resolves.toBe(1);
    g.close();
  });

  it('treats slow storage as overload', () => {
    const g = new Governor({ storageLatencyLimitMs: 100 }, undefined, undefined, false);
    for (let i = 0; i < 50; i++) g.observeStorage(1000);
    expect(g.overload()).toBe('storage');
    expect(g.admitSession('pop3', '127.0.0.1').refused).toBe(true);
    for (let i = 0; i < 100; i++) g.observeStorage(1);
    expect(g.overload()).toBeNull();
    g.close();
  });

  it('sheds when the event loop stays busy, even if it never falls behind much', async () => {
    // A loop saturated by short callbacks: timers stay nearly on time (little delay), but there is
    // no idle time. Only the utilization signal sees it; a lighter spell must not trip it.
    const g = new Governor({ eventLoopDelayLimitMs: 10_000 });
    const busyFor = async (ms: number, share: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const until = performance.now() + 5 * share;
        while (performance.now() < until);
        // saturated: the next callback is always ready (setImmediate), so the loop never idles
        await new Promise((r) => (share < 1 ? setTimeout(r, 5 * (1 - share)) : setImmediate(r)));
      }
    };
    await busyFor(400, 0.5);
    expect(g.overload()).toBeNull();
    await busyFor(500, 1);
    expect(g.overload()).toBe('event-loop');
    expect(g.admitSession('pop3', '127.0.0.1').refused).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    expect(g.overload()).toBeNull();
    g.close();
  });
});
