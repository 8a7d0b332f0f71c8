// A TCP proxy in front of PostgreSQL that can lose the answer to a commit: the transaction is
// committed on the server, and the client sees its connection break instead of the reply — the
// "outcome unknown" case of a failover, made to happen on purpose. It reads the server's side of the
// protocol only to find where an exchange ends (ReadyForQuery, 'Z', with the transaction status).
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface CommitCutter {
  /** host:port to put in the store URL instead of PostgreSQL's. */
  readonly address: string;
  /**
   * The next transaction whose statements contain `marker` is let through to PostgreSQL, which
   * commits it; its reply is dropped and the client's connection cut. Resolves when that happened.
   */
  cutNextCommit(marker: string): Promise<void>;
  close(): Promise<void>;
}

export async function startCommitCutter(target: { host: string; port: number }): Promise<CommitCutter> {
  let armed: { marker: string; done: () => void } | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let doomed: (() => void) | undefined;
    let pending = Buffer.alloc(0);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      if (armed && d.includes(armed.marker)) {
        doomed = armed.done;
        armed = undefined;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!doomed) return void client.write(d);
      // forward whole exchanges that leave the transaction open (BEGIN, its statements); the one
      // that ends it (ReadyForQuery with status I: idle, committed) is dropped, and both sides cut
      pending = Buffer.concat([pending, d]);
      let at = 0;
      while (pending.length - at >= 5) {
        const len = pending.readUInt32BE(at + 1);
        if (pending.length - at < 1 + len) break;
        const type = String.fromCharCode(pending[at]!);
        at += 1 + len;
        if (type !== 'Z') continue;
        const status = String.fromCharCode(pending[at - 1]!);
        if (status === 'I') {
          const done = doomed;
          cut();
          done();
          return;
        }
        client.write(pending.subarray(0, at));
        pending = pending.subarray(at);
        at = 0;
      }
    });
    for (const s of [client, upstream]) {
      s.on('error', cut);
      s.on('close', () => {
        sockets.delete(s);
        cut();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    cutNextCommit: (marker) => new Promise<void>((done) => void (armed = { marker, done })),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
