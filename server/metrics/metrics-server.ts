// /metrics (Prometheus text), /healthz (the process answers) and /readyz (listeners up, not
// shedding on purpose, and the store writable) over plain HTTP.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(o: {
  host: string;
  port: number;
  metrics: Metrics;
  ready: () => boolean;
  /** Refreshes gauges that are read rather than pushed (backlog, …) before each scrape. */
  beforeScrape?: () => void;
  /** More routes on the same port (the HTTP API): returns true when it took the request. */
  routes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (o.routes?.(req, res)) return;
    if (path === '/metrics') {
      o.beforeScrape?.();
      o.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = o.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
