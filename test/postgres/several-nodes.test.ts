// Several tegami engines on one PostgreSQL database, as several nodes run them (storage/postgres/
// nodes.ts): each keeps its own in-memory indexes, any of them writes any account, and none ever
// gives a UID, a mailbox id or a UIDL twice. What one commits reaches the other's watchers as the
// usual events; a commit whose answer was lost is reloaded before the account is written again.
import { describe, expect, it } from 'vitest';
import { MailEngine } from '../../storage/engine/mail-engine.ts';
import { CommitOutcomeUnknownError, type Change, type CommitExpectations } from '../../storage/engine/index.ts';
import { PostgresBackend } from '../../storage/postgres/postgres-backend.ts';
import type { MailboxEvent } from '../../storage/types.ts';
import { postgresSkipReason, withPostgres } from '../helpers/postgres.ts';

const skip = postgresSkipReason();
const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody\r\n`);

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(skip)(`several tegami on one postgres${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = withPostgres();
  let schemas = 0;
  /** Two nodes on a new schema. */
  async function nodes(): Promise<[MailEngine, MailEngine, () => PostgresBackend]> {
    const schema = `n_${++schemas}`;
    const backend = () => new PostgresBackend({ connectionString: cluster().url, schema, poolSize: 2 });
    const a = await MailEngine.open(backend());
    const b = await MailEngine.open(backend());
    return [a, b, backend];
  }

  it('a delivery through one node reaches a watcher on the other, and its next UID is above it', async () => {
    const [a, b] = await nodes();
    await a.ensureUser('alice');
    const events: MailboxEvent[] = [];
    await b.watch('alice', 'INBOX', (e) => events.push(e));
    const first = await a.append('alice', 'INBOX', msg('through a'));
    await until('the arrival on b', () => events.some((e) => e.type === 'exists'));
    expect(events).toEqual([expect.objectContaining({ type: 'exists', messages: [expect.objectContaining({ uid: first.uid })] })]);
    const second = await b.append('alice', 'INBOX', msg('through b'));
    expect(second.uid).toBeGreaterThan(first.uid);
    await until('b\'s message on a', async () => (await a.snapshot('alice', 'INBOX')).messages.length === 2);
    // flags set on one node, expunge on the other
    await a.storeFlags('alice', 'INBOX', [second.uid], 'add', ['\\Seen']);
    await until('the flag on b', () => events.some((e) => e.type === 'flags'));
    expect(await b.expunge('alice', 'INBOX', [first.uid])).toEqual([first.uid]);
    await until('the expunge on a', async () => (await a.snapshot('alice', 'INBOX')).messages.length === 1);
    const onA = await a.snapshot('alice', 'INBOX');
    const onB = await b.snapshot('alice', 'INBOX');
    expect(onA.messages).toEqual(onB.messages);
    expect(onA.messages.map((m) => [m.uid, m.flags])).toEqual([[second.uid, ['\\Seen']]]);
    // what an operator watches (tegami_node_reloads)
    expect(a.stats().nodes!.reloads).toBeGreaterThan(0);
    expect(b.stats().nodes!.reloads).toBeGreaterThan(0);
    await a.close();
    await b.close();
  });

  it('writes at once on both nodes to one account: every UID given once, both end with the same mailbox', async () => {
    const [a, b] = await nodes();
    await a.ensureUser('alice');
    await b.snapshot('alice', 'INBOX');
    const given: number[] = [];
    let temporary = 0;
    const work = (node: MailEngine, name: string) => async (i: number) => {
      try {
        const { uid } = await node.append('alice', 'INBOX', msg(`${name} ${i}`));
        given.push(uid);
        // a flag change on a message the other node may be changing too
        await node.storeFlags('alice', 'INBOX', [uid], 'add', [`$${name}`]);
      } catch {
        temporary++;
      }
    };
    await Promise.all([...Array(40).keys()].flatMap((i) => [work(a, 'a')(i), work(b, 'b')(i)]));
    expect(new Set(given).size).toBe(given.length);
    expect(given.length + temporary).toBe(80);
    expect(given.length).toBeGreaterThan(60);
    // the nodes did race (otherwise this proves nothing), and took turns
    expect(a.stats().nodes!.conflicts + b.stats().nodes!.conflicts).toBeGreaterThan(0);
    await until('both nodes agree', async () =>
      JSON.stringify((await a.snapshot('alice', 'INBOX')).messages) === JSON.stringify((await b.snapshot('alice', 'INBOX')).messages));
    const uids = (await a.snapshot('alice', 'INBOX')).messages.map((m) => m.uid);
    expect(uids).toEqual([...given].sort((x, y) => x - y));
    await a.close();
    await b.close();
  });

  it('two nodes creating mailboxes and accounts at once never give a mailbox id twice', async () => {
    const [a, b] = await nodes();
    await Promise.all([a.ensureUser('alice'), b.ensureUser('alice'), a.ensureUser('bob'), b.ensureUser('carol')]);
    await Promise.all([...Array(5).keys()].flatMap((i) => [a.createMailbox('alice', `A${i}`), b.createMailbox('bob', `B${i}`)]));
    const ids: number[] = [];
    // read through the node that did not create them, once it has heard of them
    await until('b to hear of alice\'s new mailboxes', async () => (await b.listMailboxes('alice')).length === 6 + 5);
    for (const [node, user] of [[b, 'alice'], [b, 'bob'], [a, 'carol']] as const) {
      for (const box of await node.listMailboxes(user)) ids.push(box.id);
    }
    expect(ids.length).toBe(6 + 5 + 6 + 5 + 6);
    expect(new Set(ids).size).toBe(ids.length);
    await a.close();
    await b.close();
  });

  it('a write that waited while its mailbox was deleted fails, and does not bring the mailbox back', async () => {
    const [a, b, backend] = await nodes();
    await a.ensureUser('alice');
    await a.createMailbox('alice', 'Work');
    const deleted = a.deleteMailbox('alice', 'Work');
    // the deletion is in its commit; the append finds the mailbox, then waits for its turn
    await new Promise((r) => setImmediate(r));
    const late = a.append('alice', 'Work', msg('late'));
    await deleted;
    await expect(late).rejects.toThrow(/no such mailbox/);
    const fresh = await MailEngine.open(backend());
    expect((await fresh.listMailboxes('alice')).map((m) => m.name)).not.toContain('Work');
    await Promise.all([a.close(), b.close(), fresh.close()]);
  });

  it('after a commit whose answer was lost, the node reloads the account before it writes it again', async () => {
    const schema = `n_${++schemas}`;
    let loseNext = false;
    /** Applies the commit, then reports its outcome as unknown, as a connection cut after COMMIT does. */
    class LosesAnswers extends PostgresBackend {
      override async commit(changes: readonly Change[], opts: { durable: boolean; expect?: CommitExpectations }) {
        const r = await super.commit(changes, opts);
        if (loseNext && opts.durable) {
          loseNext = false;
          throw new CommitOutcomeUnknownError('connection lost after COMMIT');
        }
        return r;
      }
    }
    const a = await MailEngine.open(new LosesAnswers({ connectionString: cluster().url, schema, poolSize: 2 }));
    await a.ensureUser('alice');
    const first = await a.append('alice', 'INBOX', msg('one'));
    loseNext = true;
    await expect(a.append('alice', 'INBOX', msg('applied, answer lost'))).rejects.toThrow(/connection lost/);
    const next = await a.append('alice', 'INBOX', msg('three'));
    const snap = await a.snapshot('alice', 'INBOX');
    // the lost one is there (it was applied), and nothing was given its UID again
    expect(snap.messages.map((m) => m.uid)).toEqual([first.uid, first.uid + 1, next.uid]);
    expect(next.uid).toBeGreaterThan(first.uid + 1);
    await a.close();
  });

  it('one node reclaims; when it closes, another takes over the queue', async () => {
    const [a, b] = await nodes();
    await a.ensureUser('alice');
    const { uid } = await b.append('alice', 'INBOX', msg('to go'));
    await b.expunge('alice', 'INBOX', [uid]);
    // a opened first and holds the role: it hears of b's queue and drains it
    await until('a to reclaim b\'s expunge', () => a.stats().reclaimed.bodies === 1);
    expect(b.stats().reclaimed.bodies).toBe(0);
    expect([a.stats().nodes!.reclaiming, b.stats().nodes!.reclaiming]).toEqual([true, false]);
    await a.close();
    const { uid: u2 } = await b.append('alice', 'INBOX', msg('to go too'));
    await b.expunge('alice', 'INBOX', [u2]);
    await until('b to take the role and reclaim', () => b.stats().reclaimed.bodies === 1, 10_000);
    expect(b.stats().nodes!.reclaiming).toBe(true);
    await b.close();
  });
});
