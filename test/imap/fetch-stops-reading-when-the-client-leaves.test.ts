// Invariant 10: a closed session is gone at once. A client that leaves in the middle of a large FETCH
// stops the reading of the body it asked for (and the body's hold against reclaim, storage/engine/
// reclaimer.ts), instead of the server reading the rest of it for nobody.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import type { MailStore } from '../../storage/types.ts';
import { message } from '../helpers/imap-session.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Counts the body bytes the server reads from the store. */
function counting(read: { bytes: number }) {
  return (inner: MailStore): MailStore => Object.assign(Object.create(inner) as MailStore, {
    async readBodies(ranges: Parameters<MailStore['readBodies']>[0], account?: string) {
      const out = await inner.readBodies(ranges, account);
      for (const chunks of out) for (const c of chunks) read.bytes += c.length;
      return out;
    },
    async *readBody(bodyId: string, start?: number, end?: number, account?: string) {
      for await (const c of inner.readBody(bodyId, start, end, account)) {
        read.bytes += c.length;
        yield c;
      }
    },
  });
}

describe('a FETCH whose client leaves half-way', () => {
  it('stops reading the body', async () => {
    const read = { bytes: 0 };
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage, wrapStore: counting(read) });
    const raw = message('Subject: big', ('x'.repeat(76) + '\r\n').repeat(400_000)); // 31 MB
    await h.store.deliver(['alice'], raw);
    const c = net.connect(h.port, '127.0.0.1');
    let got = '';
    const collect = (d: Buffer) => (got += d.toString('latin1'));
    c.on('data', collect);
    for (let i = 0; i < 200 && !got.includes('b OK'); i++) {
      if (i === 0) c.write('a LOGIN alice secret\r\nb SELECT INBOX\r\n');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(got).toContain('b OK');
    c.off('data', collect);
    read.bytes = 0;
    const first = new Promise((r) => c.once('data', r));
    c.write('c FETCH 1 (BODY.PEEK[])\r\n');
    await first;
    c.destroy(); // gone after the first bytes of a 31 MB answer
    await new Promise((r) => setTimeout(r, 1000));
    expect(read.bytes).toBeLessThan(raw.length / 2);
  });
});
