// Fault injection does what it says, and the metrics endpoint shows what the governor did.
import { describe, expect, it } from 'vitest';
import { ChaosStore, parseChaos } from '../../server/chaos/index.ts';
import { Governor } from '../../server/governor/index.ts';
import { Metrics, startMetricsServer } from '../../server/metrics/index.ts';
import { openStore, StoreUnavailableError } from '../../storage/index.ts';

describe('chaos store', () => {
  it('parses the --chaos flag and rejects nonsense', () => {
    expect(parseChaos('read-fail=0.3,read-latency=200,force-shed')).toEqual({ readFailRate: 0.3, readLatencyMs: 200, forceShed: true });
    expect(() => parseChaos('read-fail=2')).toThrow();
    expect(() => parseChaos('explode=1')).toThrow(/unknown/);
  });

  it('fails reads or writes on demand with a temporary error and passes through otherwise', async () => {
    const g = new Governor({}, undefined, undefined, false);
    const inner = await openStore({ memory: true });
    const chaos = new ChaosStore(inner, g);
    await chaos.ensureUser('alice');
    chaos.set({ readFailRate: 1 });
    await expect(chaos.snapshot('alice', 'INBOX')).rejects.toBeInstanceOf(StoreUnavailableError);
    await chaos.append('alice', 'INBOX', Buffer.from('Subject: x\r\n\r\nx\r\n'));
    chaos.set({ readFailRate: 0, writeFailRate: 1 });
    await expect(chaos.append('alice', 'INBOX', Buffer.from('x'))).rejects.toBeInstanceOf(StoreUnavailableError);
    chaos.reset();
    expect((await chaos.snapshot('alice', 'INBOX')).messages.length).toBe(1);
    chaos.set({ forceShed: true });
    expect(g.forcedShed).toBe(true);
    await chaos.close();
    g.close();
  });
});

describe('metrics endpoint', () => {
  it('serves shed counters on /metrics, /healthz, and /readyz that follows readiness', async () => {
    const metrics = new Metrics();
    const g = new Governor({}, metrics, undefined, false);
    g.forceShed(true);
    g.admitSession('pop3', '127.0.0.1');
    let ready = true;
    const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics, ready: () => ready });
    const base = `http://127.0.0.1:${srv.port}`;
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body).toMatch(/tegami_shed_total\{point="connect",protocol="pop3",reason="forced"\} 1/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ready = false;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    await srv.close();
    g.close();
  });
});
