// Admission before side effects (invariant 6, issue 12): a heavy command the governor refuses has
// written no line of its answer and changed nothing. A refused FETCH of bodies used to have set
// \Seen and sent VANISHED already.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type TegamiServer } from '../../server/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Login } from '../helpers/pop3.ts';

let server: TegamiServer;

beforeEach(async () => {
  server = await startServer({ users: { alice: 'pw' } });
  for (let i = 1; i <= 3; i++) await server.deliver('alice', `Subject: m${i}\r\n\r\nneedle ${i}\r\n`);
});
afterEach(() => server.close());

/** The lines of one command's answer, the tagged status last. */
async function imap(c: LineClient, tag: string, command: string): Promise<string[]> {
  c.send(`${tag} ${command}`);
  return c.until((l) => l.startsWith(`${tag} `));
}

const flagsOf = async () => (await server.messages('alice')).map((m) => m.flags.join(' '));

describe('a refused IMAP command', () => {
  it('changes nothing and answers only NO [UNAVAILABLE]: FETCH of bodies, UID FETCH with VANISHED, SEARCH, STATUS, APPEND, SELECT', async () => {
    const c = await LineClient.connect(server.ports.imap);
    await c.line();
    await imap(c, 'a', 'LOGIN alice pw');
    await imap(c, 'b', 'ENABLE QRESYNC');
    const select = await imap(c, 'c', 'SELECT INBOX');
    const modseq = /HIGHESTMODSEQ (\d+)/.exec(select.join('\n'))![1];
    // Expunged by another session: a VANISHED (EARLIER) answer would name UID 3.
    const snap = await server.store.snapshot('alice', 'INBOX');
    await server.store.expunge('alice', 'INBOX', [snap.messages[2]!.uid]);
    const before = await flagsOf();

    server.chaos.set({ forceShed: true });
    const refused = [
      ['d', 'FETCH 1:2 (BODY[])'],
      ['e', `UID FETCH 1:* (BODY[]) (CHANGEDSINCE ${modseq} VANISHED)`],
      ['f', 'SEARCH BODY needle'],
      ['g', 'STATUS INBOX (MESSAGES UNSEEN)'],
      ['h', 'APPEND INBOX {12+}\r\nSubject: x\r\n'],
    ] as const;
    for (const [tag, command] of refused) {
      const lines = await imap(c, tag, command);
      expect(lines.pop(), command).toBe(`${tag} NO [UNAVAILABLE] server busy, try again later`);
      // Only the news any command may carry (RFC 7162: "* VANISHED 3" after a UID command), none of its answer.
      expect(lines.filter((l) => l !== '* VANISHED 3'), command).toEqual([]);
    }
    server.chaos.reset();

    expect(await flagsOf()).toEqual(before); // no \Seen
    expect(before.every((f) => !f.includes('\\Seen'))).toBe(true);
    expect((await server.messages('alice')).length).toBe(2); // nothing appended

    server.chaos.set({ forceShed: true });
    // RFC 3501 6.3.1: any failed SELECT leaves no mailbox selected — the one effect a refusal has.
    expect(await imap(c, 'j', 'SELECT INBOX')).toEqual(['j NO [UNAVAILABLE] server busy, try again later']);
    server.chaos.reset();
    expect(await flagsOf()).toEqual(before);
    c.close();
  });
});

describe('a refused POP3 command', () => {
  it('answers -ERR [SYS/TEMP] and not one line of the answer: STAT, LIST, UIDL, RETR, TOP', async () => {
    const c = await pop3Login(server.ports.pop3, 'alice', 'pw');
    server.chaos.set({ forceShed: true });
    for (const command of ['STAT', 'LIST', 'UIDL', 'RETR 1', 'TOP 1 0']) {
      expect(await c.command(command), command).toBe('-ERR [SYS/TEMP] server busy, try again later');
    }
    server.chaos.reset();
    // Nothing half-sent is waiting in the stream: the next answer is the next command's.
    expect(await c.command('STAT')).toMatch(/^\+OK 3 \d+$/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    expect((await server.messages('alice')).length).toBe(3);
    c.close();
  });
});
