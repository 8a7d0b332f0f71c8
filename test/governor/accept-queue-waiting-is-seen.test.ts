// Connections also wait in the kernel's accept queue, before the server sees them (issue 12): at twice
// its capacity the server accepted late, every later clock (accept → logged in) looked fine, nothing
// was refused, and clients waited 3–15 s in the queue or timed out. The listeners probe that queue
// (server/listeners.ts) and the governor sheds on it — only when more connections wait there than a
// closed loop of clients can put there, so a bounded set of clients is still never refused.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Governor } from '../../server/governor/index.ts';
import { listen, type AcceptWait } from '../../server/listeners.ts';

const busyWait = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('the accept-queue probe', () => {
  it('reports how long a connection waited in the kernel, and how many waited ahead of it', async () => {
    const seen: AcceptWait[] = [];
    let armed = false;
    let first = true;
    const control = {
      onAcceptChange: () => () => true,
      chargeRefusal: () => undefined,
      probeAccepts: () => armed,
      observeAcceptWait: (_port: number, w: AcceptWait) => void seen.push(w),
    };
    const l = await listen('127.0.0.1', 0, (s) => {
      // the server is slow to take its first connection: everything behind it waits in the kernel
      if (first) busyWait(300);
      first = false;
      s.end('hi\r\n');
      return true;
    }, control);
    const clients: net.Socket[] = [];
    try {
      for (let i = 0; i < 20; i++) clients.push(net.connect(l.port, '127.0.0.1').on('error', () => undefined));
      busyWait(100); // the kernel completes their handshakes; nobody accepts yet
      armed = true; // the next probe goes in behind them
      await new Promise((r) => setTimeout(r, 600));
      const done = seen.find((w) => w.accepted);
      expect(done, JSON.stringify(seen)).toBeDefined();
      expect(done!.ms).toBeGreaterThanOrEqual(250);
      expect(done!.ahead).toBeGreaterThanOrEqual(20);
    } finally {
      for (const c of clients) c.destroy();
      await l.close(0);
    }
  });
});

const clock = () => {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

/** Probe reports every 50 ms for `ms`, each saying `ahead` connections waited 200 ms. */
function standingQueue(g: Governor, c: ReturnType<typeof clock>, ahead: number, ms: number): void {
  for (let t = 0; t < ms; t += 50) {
    g.observeAcceptWait(1110, { ms: 200, accepted: true, ahead });
    c.advance(50);
  }
}

describe('the governor and the accept queue', () => {
  it('sheds when more connections stand in the accept queue than a closed loop of clients makes', () => {
    const c = clock();
    const g = new Governor({ closedLoopClients: 128, acceptWaitLimitMs: 100, sojournIntervalMs: 500 }, undefined, c.now, false);
    standingQueue(g, c, 400, 600);
    expect(g.overload()).toBe('accept');
    expect(g.admitSession('pop3', '10.0.0.1')).toMatchObject({ refused: true, kind: 'busy' });
    g.close();
  });

  it('never sheds a closed loop for the accept queue, however long it waits there', () => {
    const c = clock();
    const g = new Governor({ closedLoopClients: 128, acceptWaitLimitMs: 100, sojournIntervalMs: 500 }, undefined, c.now, false);
    // 60 clients on a starved machine: all of them wait in the queue, for seconds
    for (let t = 0; t < 3000; t += 50) {
      g.observeAcceptWait(1110, { ms: 2000, accepted: true, ahead: 60 });
      c.advance(50);
    }
    expect(g.overload()).toBeNull();
    expect(g.admitSession('pop3', '10.0.0.1').refused).toBe(false);
    g.close();
  });

  it('one slow probe is a stall, not a standing queue', () => {
    const c = clock();
    const g = new Governor({ closedLoopClients: 128, acceptWaitLimitMs: 100, sojournIntervalMs: 500 }, undefined, c.now, false);
    g.observeAcceptWait(1110, { ms: 900, accepted: true, ahead: 500 });
    c.advance(50);
    expect(g.overload()).toBeNull();
    g.close();
  });

  it('in an overload episode holds admitted work lower, then climbs back to normal once nothing waits', () => {
    const c = clock();
    const g = new Governor({ closedLoopClients: 128, episodeClients: 32, acceptWaitLimitMs: 100, sojournIntervalMs: 500 }, undefined, c.now, false);
    const held = Array.from({ length: 40 }, () => g.admitSession('pop3', '10.0.0.1'));
    expect(held.every((a) => !a.refused)).toBe(true);
    standingQueue(g, c, 400, 600);
    expect(g.overload()).toBe('accept');
    expect(g.stats().shedMark).toBe(32);
    // the queue is gone (the listener refused it), but 40 sessions are as many as the episode's mark
    c.advance(100);
    expect(g.admitSession('pop3', '10.0.0.1')).toMatchObject({ refused: true, kind: 'busy' });
    // the mark climbs a step each 100 ms without waiting: past 40 the next session is admitted …
    c.advance(200);
    expect(g.stats().shedMark).toBeGreaterThan(40);
    expect(g.admitSession('pop3', '10.0.0.1').refused).toBe(false);
    // … and the episode ends at closedLoopClients
    c.advance(2000);
    expect(g.stats().shedMark).toBe(128);
    for (const a of held) if (!a.refused) a.release();
    g.close();
  });
});
