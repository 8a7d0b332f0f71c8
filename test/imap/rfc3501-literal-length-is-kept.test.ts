// RFC 3501 4.3: a literal is exactly the number of octets it announces. A body read that comes back
// short (a body reclaimed while the answer was being written, read from inside it) must not be sent
// as a shorter literal — every later byte would be misread — so the connection is cut instead.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import type { BodyRange, MailStore } from '../../storage/types.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A store whose body reads stop after the first byte, as a body reclaimed mid-read does. */
function shortReads(inner: MailStore): MailStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'readBodies') return async (ranges: readonly BodyRange[]) => (await target.readBodies(ranges)).map((chunks) => [Buffer.concat(chunks).subarray(0, 1)]);
      if (prop === 'readBody') {
        return async function* (bodyId: string, start?: number, end?: number) {
          for await (const c of target.readBody(bodyId, start, end)) {
            yield c.subarray(0, 1);
            return;
          }
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('RFC 3501 4.3 literal lengths', () => {
  it('cuts the connection rather than send a literal shorter than it announced', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage, wrapStore: shortReads });
    await h.store.deliver(['alice'], Buffer.from('Subject: s\r\n\r\nsome body text\r\n'));
    const c = await LineClient.connect(h.port);
    await c.line();
    expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
    c.send('s SELECT INBOX');
    await c.until((l) => l.startsWith('s OK'));
    c.send('f FETCH 1 BODY.PEEK[TEXT]');
    await c.ended();
    const rest: string[] = [];
    for (let l = await c.line(); l !== undefined; l = await c.line()) rest.push(l);
    // no answer was completed: neither the closing of the FETCH nor its tagged line
    expect(rest.some((l) => l.startsWith('f '))).toBe(false);
  });
});
