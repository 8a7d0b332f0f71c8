// The second shedding tier: when refusing with codes takes more than its CPU budget, the listeners
// stop accepting — the kernel refuses at once — and start again as soon as nothing waits.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { AcceptGate } from '../../server/governor/accept-gate.ts';
import { listen } from '../../server/listeners.ts';
import { Metrics } from '../../server/metrics/index.ts';

const connect = (port: number) =>
  new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('data', (d) => (s.destroy(), resolve(d.toString().trim())));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

describe('accept gate', () => {
  it('closes the listener while refusals exceed the budget, refuses at the kernel, and reopens the same port once waiting drops', async () => {
    let waiting = true;
    const metrics = new Metrics();
    let cpu = 0;
    // time stands still; the process used 100 ms of CPU in this window
    const gate = new AcceptGate({ budget: 0.1, maxPauseMs: 10_000 }, () => waiting, () => 0, metrics, undefined, () => cpu);
    cpu = 100;
    const charged: number[] = [];
    const control = {
      onAcceptChange: (fn: (open: boolean) => void) => gate.subscribe(fn), chargeRefusal: (ms: number) => charged.push(ms),
      probeAccepts: () => false, observeAcceptWait: () => undefined,
    };
    let refuse = true;
    const l = await listen('127.0.0.1', 0, (s) => {
      s.end(refuse ? 'busy\r\n' : 'hello\r\n');
      return !refuse;
    }, control);
    try {
      expect(await connect(l.port)).toBe('busy');
      expect(charged.length).toBe(1); // the listener reports what each refusal cost (CPU ms)
      expect(charged[0]).toBeLessThan(50);
      gate.charge(5); // refusals took 5 of the 100 ms of CPU: within a 10% budget
      expect(gate.paused).toBe(false);
      gate.charge(6); // 11 ms: over it
      expect(gate.paused).toBe(true);
      expect(await connect(l.port)).toBe('ECONNREFUSED');
      refuse = false;
      waiting = false;
      await new Promise((r) => setTimeout(r, 100));
      expect(gate.paused).toBe(false);
      expect(await connect(l.port)).toBe('hello');
      expect(await metrics.registry.getSingleMetricAsString('tegami_accept_pauses_total')).toMatch(/tegami_accept_pauses_total 1$/m);
    } finally {
      gate.close();
      await l.close(0);
    }
  });

  it('never pauses with a budget of 1 (governor: false)', () => {
    const gate = new AcceptGate({ budget: 1, maxPauseMs: 100 }, () => true, () => 0);
    for (let i = 0; i < 1000; i++) gate.charge(1);
    expect(gate.paused).toBe(false);
    gate.close();
  });
});
