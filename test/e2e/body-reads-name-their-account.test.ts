// Every body read the protocols make names the account whose message it is, so that a store sharded
// by account (storage/shards/) reads it from that account's cluster alone instead of asking every
// cluster: POP3 RETR and TOP, IMAP FETCH of whole bodies, sections, header fields and BINARY (the
// read-ahead and the one-by-one paths), SEARCH in bodies, and SORT (summaries).
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { handlePop3Connection } from '../../protocol/pop3/index.ts';
import { interceptStore } from '../../server/store-interceptor.ts';
import type { MailStore } from '../../storage/types.ts';
import { imapSession } from '../helpers/imap-session.ts';
import { pop3Login, pop3Multi } from '../helpers/pop3.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

const BODY_OPS: Record<string, number> = { readBody: 3, readBodies: 1, readSummary: 1 };

/** The store, recording the account argument of each body read. */
function recording(reads: { op: string; account: unknown }[]) {
  return (inner: MailStore) => interceptStore(inner, {
    before(_kind, op, args) {
      if (op in BODY_OPS) reads.push({ op, account: args[BODY_OPS[op]!] });
    },
  });
}

const message = (subject: string) => Buffer.from(
  `From: a@example.com\r\nTo: alice@example.org\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello ${subject}\r\n`,
);

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('body reads name their account', () => {
  it('in POP3 RETR and TOP', async () => {
    const reads: { op: string; account: unknown }[] = [];
    harness = await startHarness(handlePop3Connection, { wrapStore: recording(reads) });
    await harness.store.append('alice', 'INBOX', message('one'));
    const c = await pop3Login(harness.port, 'alice', 'secret');
    expect((await pop3Multi(c, 'RETR 1')).lines.join('\n')).toContain('hello one');
    expect((await pop3Multi(c, 'TOP 1 0')).status).toMatch(/^\+OK/);
    c.close();
    expect(reads.map((r) => r.op)).toContain('readBody');
    expect(reads.filter((r) => r.account !== 'alice')).toEqual([]);
  });

  it('in IMAP FETCH, SEARCH and SORT', async () => {
    const reads: { op: string; account: unknown }[] = [];
    harness = await startHarness(handleImapConnection, { analyzer: analyzeMessage, wrapStore: recording(reads) });
    for (const s of ['one', 'two']) await harness.store.append('alice', 'INBOX', message(s));
    const s = await imapSession(harness.port);
    await s.run('SELECT INBOX');
    for (const cmd of ['FETCH 1:* (BODY.PEEK[])', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<2.5>)',
      'FETCH 2 (BINARY.PEEK[1] BODYSTRUCTURE)', 'SEARCH BODY hello', 'SORT (SUBJECT) UTF-8 ALL']) {
      expect(await s.status(cmd)).toMatch(/^t\d+ OK /);
    }
    s.client.close();
    expect(new Set(reads.map((r) => r.op))).toEqual(new Set(['readBody', 'readBodies', 'readSummary']));
    expect(reads.filter((r) => r.account !== 'alice')).toEqual([]);
  });
});
