// The storage contract, run against every backend (backends.ts): the engine over LevelDB on disk and
// over the memory backend, and the router over two clusters (sharded-stores.ts). The restart tests
// run on the durable ones.
import { afterEach, describe, expect, it } from 'vitest';
import { MailboxExistsError, MailboxNotFoundError, MessageGoneError, StoreRuleError, UnknownUserError } from '../../storage/index.ts';
import { InvalidUserNameError } from '../../storage/user-names.ts';
import { readAll } from '../../storage/read-all.ts';
import { backends, removeTempDirs, type BackendUnderTest } from './backends.ts';
import { shardedStores } from './sharded-stores.ts';

const msg = (subject: string, body = 'hello\r\n') =>
  Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}`);

const collect = readAll;

afterEach(removeTempDirs);

const stores = [...backends, ...shardedStores];
const durableStores = stores.filter((s) => s.durable);

describe.each(stores)('$name store', ({ make }) => {
  it('creates an account with INBOX and the special-use folders', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const boxes = await store.listMailboxes('alice');
    expect(boxes.map((b) => b.name)).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    expect(boxes.find((b) => b.name === 'Trash')?.specialUse).toBe('\\Trash');
    await expect(store.snapshot('bob', 'INBOX')).rejects.toBeInstanceOf(UnknownUserError);
    await store.close();
  });

  it('names an account one way: another spelling neither creates a second account nor reaches the first', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.append('alice', 'INBOX', msg('for alice'));
    for (const other of ['Alice', 'alice@example.org', 'ALICE@Example.ORG', 'al ice']) {
      await expect(store.ensureUser(other)).rejects.toBeInstanceOf(InvalidUserNameError);
      await expect(store.snapshot(other, 'INBOX')).rejects.toBeInstanceOf(UnknownUserError);
      await expect(store.append(other, 'INBOX', msg('misrouted'))).rejects.toBeInstanceOf(UnknownUserError);
    }
    expect(await store.listUsers()).toEqual(['alice']);
    expect((await store.snapshot('alice', 'INBOX')).messages).toHaveLength(1);
    await store.close();
  });

  it('assigns strictly increasing UIDs and fixed UIDLs, never reusing an expunged UID', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const a = await store.append('alice', 'INBOX', msg('1'));
    const b = await store.append('alice', 'INBOX', msg('2'));
    expect(b.uid).toBeGreaterThan(a.uid);
    await store.expunge('alice', 'INBOX', [b.uid]);
    const c = await store.append('alice', 'INBOX', msg('3'));
    expect(c.uid).toBeGreaterThan(b.uid);
    const snap = await store.snapshot('alice', 'INBOX');
    expect(snap.messages.map((m) => m.uidl)).toEqual([`${a.uidValidity}.${a.uid}`, `${a.uidValidity}.${c.uid}`]);
    await store.close();
  });

  it('keeps a UIDL imported from another server', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.importMessages('alice', 'INBOX', [{ raw: msg('x'), opts: { uidl: 'old-server-uidl-1' } }]);
    const snap = await store.snapshot('alice', 'INBOX');
    expect(snap.messages[0]!.uidl).toBe('old-server-uidl-1');
    await store.close();
  });

  it('hands out snapshots that later changes do not touch', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const { uid } = await store.append('alice', 'INBOX', msg('1'));
    const before = await store.snapshot('alice', 'INBOX');
    await store.append('alice', 'INBOX', msg('2'));
    await store.storeFlags('alice', 'INBOX', [uid], 'add', ['\\Seen']);
    await store.expunge('alice', 'INBOX', [uid]);
    expect(before.messages.length).toBe(1);
    expect(before.messages[0]!.flags).toEqual([]);
    expect((await store.snapshot('alice', 'INBOX')).messages.length).toBe(1);
    await store.close();
  });

  it('stores and streams bodies byte-exact, whole and by range, across chunk boundaries', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const big = Buffer.alloc(700_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    await store.append('alice', 'INBOX', big);
    const [m] = (await store.snapshot('alice', 'INBOX')).messages;
    expect(m!.size).toBe(big.length);
    expect((await collect(store.readBody(m!.bodyId))).equals(big)).toBe(true);
    expect((await collect(store.readBody(m!.bodyId, 262_000, 530_000))).equals(big.subarray(262_000, 530_000))).toBe(true);
    await store.close();
  });

  it('streams a body whose size is an exact multiple of the chunk size to its end', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const exact = Buffer.alloc(2 * 256 * 1024, 0x41);
    await store.append('alice', 'INBOX', exact);
    const [m] = (await store.snapshot('alice', 'INBOX')).messages;
    // no end given, as POP3 RETR reads it
    expect((await collect(store.readBody(m!.bodyId))).equals(exact)).toBe(true);
    await store.close();
  });

  it('reads many body ranges in one call, each byte-exact, and says when a body is gone', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const big = Buffer.alloc(600_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
    const exact = Buffer.alloc(256 * 1024, 0x42);
    await store.append('alice', 'INBOX', msg('small'));
    await store.append('alice', 'INBOX', big);
    await store.append('alice', 'INBOX', exact);
    const [s, b, e] = (await store.snapshot('alice', 'INBOX')).messages;
    const ranges = [
      { bodyId: s!.bodyId, start: 0, end: s!.size },
      { bodyId: b!.bodyId, start: 0, end: b!.size },
      { bodyId: b!.bodyId, start: 262_100, end: 524_400 },
      { bodyId: b!.bodyId, start: 5, end: 5 },
      { bodyId: e!.bodyId, start: 0, end: e!.size },
    ];
    const got = (await store.readBodies(ranges)).map((chunks) => Buffer.concat(chunks));
    expect(got[0]).toEqual(msg('small'));
    expect(got[1]!.equals(big)).toBe(true);
    expect(got[2]!.equals(big.subarray(262_100, 524_400))).toBe(true);
    expect(got[3]!.length).toBe(0);
    expect(got[4]!.equals(exact)).toBe(true);
    await store.expunge('alice', 'INBOX', [s!.uid]);
    await store.reclaimDrained();
    await expect(store.readBodies(ranges.slice(0, 2))).rejects.toBeInstanceOf(MessageGoneError);
    await store.close();
  });

  it('hands out a stored summary only if the analyzer still reads it, and derives it again otherwise', async () => {
    let version = 1;
    const analyzer = Object.assign((raw: Buffer) => ({ v: version, size: raw.length }), {
      current: (s: unknown) => (s as { v: number }).v === version,
    });
    const store = await make().open({ analyzer });
    await store.ensureUser('alice');
    await store.append('alice', 'INBOX', msg('summarised'));
    const [m] = (await store.snapshot('alice', 'INBOX')).messages;
    expect(await store.readSummary(m!.bodyId)).toEqual({ v: 1, size: m!.size });
    version = 2;
    expect(await store.readSummary(m!.bodyId)).toEqual({ v: 2, size: m!.size });
    await store.close();
  });

  it('delivers one body to several users in one commit', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.ensureUser('bob');
    await store.deliver(['alice', 'bob'], msg('both'));
    const a = (await store.snapshot('alice', 'INBOX')).messages[0]!;
    const b = (await store.snapshot('bob', 'INBOX')).messages[0]!;
    expect(a.bodyId).toBe(b.bodyId);
    await store.close();
  });

  it('groups concurrent deliveries into fewer commits than deliveries', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const before = store.stats().commitGroups;
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.deliver(['alice'], msg(`m${i}`))));
    const snap = await store.snapshot('alice', 'INBOX');
    expect(snap.messages.length).toBe(100);
    expect(new Set(snap.messages.map((m) => m.uid)).size).toBe(100);
    expect(store.stats().commitGroups - before).toBeLessThan(100);
    await store.close();
  });

  it('changes flags with modseq, honours UNCHANGEDSINCE, reports changes and vanished UIDs', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const a = await store.append('alice', 'INBOX', msg('a'));
    const b = await store.append('alice', 'INBOX', msg('b'));
    const base = (await store.getMailbox('alice', 'INBOX'))!.highestModseq;
    const r = await store.storeFlags('alice', 'INBOX', [a.uid], 'add', ['\\seen', '$Label1']);
    expect([...r.updated[0]!.flags].sort()).toEqual(['$Label1', '\\Seen']);
    expect(r.updated[0]!.modseq).toBeGreaterThan(base);
    const stale = await store.storeFlags('alice', 'INBOX', [a.uid], 'remove', ['\\Seen'], { unchangedSince: base });
    expect(stale.modified).toEqual([a.uid]);
    await store.expunge('alice', 'INBOX', [b.uid]);
    const ch = await store.changesSince('alice', 'INBOX', base);
    expect(ch.changed.map((m) => m.uid)).toEqual([a.uid]);
    expect(ch.vanished).toEqual([b.uid]);
    const info = (await store.getMailbox('alice', 'INBOX'))!;
    expect(info.unseen).toBe(0);
    await store.close();
  });

  it('copies and moves with UIDPLUS mappings', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const a = await store.append('alice', 'INBOX', msg('a'), { flags: ['\\Flagged'] });
    const c = await store.copy('alice', 'INBOX', [a.uid], 'Archive');
    expect(c.mapping).toEqual([[a.uid, 1]]);
    const m = await store.move('alice', 'INBOX', [a.uid], 'Trash');
    expect(m.mapping.length).toBe(1);
    expect((await store.snapshot('alice', 'INBOX')).messages.length).toBe(0);
    const t = (await store.snapshot('alice', 'Trash')).messages[0]!;
    expect(t.flags).toEqual(['\\Flagged']);
    expect(await collect(store.readBody(t.bodyId))).toEqual(msg('a'));
    await store.close();
  });

  it('creates, renames (with children) and deletes mailboxes by the RFC 3501 rules', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.createMailbox('alice', 'Projects/2026/Q4');
    const names = (await store.listMailboxes('alice')).map((b) => b.name);
    expect(names).toEqual(expect.arrayContaining(['Projects', 'Projects/2026', 'Projects/2026/Q4']));
    await expect(store.createMailbox('alice', 'Projects')).rejects.toBeInstanceOf(MailboxExistsError);
    await expect(store.createMailbox('alice', 'bad//name')).rejects.toBeInstanceOf(StoreRuleError);
    const before = (await store.getMailbox('alice', 'Projects/2026'))!;
    await store.renameMailbox('alice', 'Projects', 'Work');
    expect((await store.getMailbox('alice', 'Work/2026'))!.uidValidity).toBe(before.uidValidity);
    expect(await store.getMailbox('alice', 'Projects/2026')).toBeUndefined();
    await expect(store.deleteMailbox('alice', 'inbox')).rejects.toBeInstanceOf(StoreRuleError);
    await store.deleteMailbox('alice', 'Work/2026/Q4');
    await expect(store.snapshot('alice', 'Work/2026/Q4')).rejects.toBeInstanceOf(MailboxNotFoundError);
    await store.close();
  });

  it('renaming INBOX moves its messages and leaves INBOX empty', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.append('alice', 'INBOX', msg('a'));
    await store.renameMailbox('alice', 'INBOX', 'Old');
    expect((await store.snapshot('alice', 'INBOX')).messages.length).toBe(0);
    expect((await store.snapshot('alice', 'Old')).messages.length).toBe(1);
    await store.close();
  });

  it('gives a re-created mailbox a new UIDVALIDITY', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const first = await store.createMailbox('alice', 'Lists');
    await store.deleteMailbox('alice', 'Lists');
    const again = await store.createMailbox('alice', 'Lists');
    expect(again.uidValidity).not.toBe(first.uidValidity);
    await store.close();
  });

  it('reclaims expunged bodies in the background but keeps bodies that are still referenced', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.ensureUser('bob');
    await store.deliver(['alice', 'bob'], msg('shared'));
    const a = (await store.snapshot('alice', 'INBOX')).messages[0]!;
    await store.expunge('alice', 'INBOX', [a.uid]);
    await store.reclaimDrained();
    expect(await collect(store.readBody(a.bodyId))).toEqual(msg('shared'));
    const b = (await store.snapshot('bob', 'INBOX')).messages[0]!;
    await store.expunge('bob', 'INBOX', [b.uid]);
    await store.reclaimDrained();
    await expect(collect(store.readBody(b.bodyId))).rejects.toBeInstanceOf(MessageGoneError);
    expect(store.stats().reclaimBacklog.bodies).toBe(0);
    await store.close();
  });

  it('reclaims a deleted mailbox with many messages step by step', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.createMailbox('alice', 'Bulk');
    await store.importMessages('alice', 'Bulk', Array.from({ length: 600 }, (_, i) => ({ raw: msg(`b${i}`) })));
    const ids = (await store.snapshot('alice', 'Bulk')).messages.map((m) => m.bodyId);
    await store.deleteMailbox('alice', 'Bulk');
    await store.reclaimDrained();
    expect(store.stats().reclaimBacklog.bodies).toBe(0);
    await expect(collect(store.readBody(ids[599]!))).rejects.toBeInstanceOf(MessageGoneError);
    await store.close();
  });
});

describe.each(durableStores)('$name store across restarts', ({ make }) => {
  it('keeps UIDVALIDITY, UIDs, UIDLs, flags and the UID counter', async () => {
    const b = make();
    let store = await b.open();
    await store.ensureUser('alice');
    for (let i = 0; i < 5; i++) await store.append('alice', 'INBOX', msg(`m${i}`));
    const snap1 = await store.snapshot('alice', 'INBOX');
    await store.storeFlags('alice', 'INBOX', [snap1.messages[0]!.uid], 'add', ['\\Seen']);
    await store.expunge('alice', 'INBOX', [snap1.messages[4]!.uid]);
    await store.close();

    store = await b.open();
    const snap2 = await store.snapshot('alice', 'INBOX');
    expect(snap2.mailbox.uidValidity).toBe(snap1.mailbox.uidValidity);
    expect(snap2.messages.map((m) => m.uidl)).toEqual(snap1.messages.slice(0, 4).map((m) => m.uidl));
    expect(snap2.messages[0]!.flags).toEqual(['\\Seen']);
    const next = await store.append('alice', 'INBOX', msg('after restart'));
    expect(next.uid).toBe(snap1.messages[4]!.uid + 1);
    await store.close();
  });

  it('keeps accounts whose names share a prefix apart when it loads them', async () => {
    const b = make();
    let store = await b.open();
    await store.ensureUser('ab');
    await store.ensureUser('ab.c');
    await store.createMailbox('ab.c', 'Secret');
    await store.append('ab.c', 'Secret', msg('not for ab'));
    await store.close();
    store = await b.open();
    expect((await store.listMailboxes('ab')).map((b) => b.name)).not.toContain('Secret');
    await expect(store.snapshot('ab', 'Secret')).rejects.toBeInstanceOf(MailboxNotFoundError);
    expect((await store.snapshot('ab.c', 'Secret')).messages.length).toBe(1);
    await store.close();
  });

  it('keeps a bounded expunge log and says when a client asks from before its horizon', async () => {
    const b = make();
    let store = await b.open({ expungeLogKeep: 2 });
    await store.ensureUser('alice');
    const uids: number[] = [];
    for (let i = 0; i < 5; i++) uids.push((await store.append('alice', 'INBOX', msg(`m${i}`))).uid);
    const before = (await store.snapshot('alice', 'INBOX')).mailbox.highestModseq;
    for (const uid of uids.slice(0, 3)) await store.expunge('alice', 'INBOX', [uid]);
    const old = await store.changesSince('alice', 'INBOX', before);
    expect(old.complete).toBe(false);
    expect(old.vanished).toEqual(uids.slice(1, 3));
    await store.close();
    store = await b.open({ expungeLogKeep: 2 });
    expect((await store.changesSince('alice', 'INBOX', before)).complete).toBe(false);
    const mid = (await store.snapshot('alice', 'INBOX')).mailbox.highestModseq;
    await store.expunge('alice', 'INBOX', [uids[3]!]);
    expect(await store.changesSince('alice', 'INBOX', mid)).toMatchObject({ complete: true, vanished: [uids[3]] });
    await store.close();
  });

  it('finishes reclaiming after a restart', async () => {
    const b = make();
    let store = await b.open({ reclaimGate: () => false });
    await store.ensureUser('alice');
    await store.importMessages('alice', 'INBOX', Array.from({ length: 50 }, (_, i) => ({ raw: msg(`m${i}`) })));
    const snap = await store.snapshot('alice', 'INBOX');
    await store.expunge('alice', 'INBOX', snap.messages.map((m) => m.uid));
    expect(store.stats().reclaimBacklog.bodies).toBe(50);
    await store.close();

    store = await b.open();
    expect((await store.snapshot('alice', 'INBOX')).messages.length).toBe(0);
    await store.reclaimDrained();
    expect(store.stats().reclaimBacklog.bodies).toBe(0);
    await expect(collect(store.readBody(snap.messages[0]!.bodyId))).rejects.toBeInstanceOf(MessageGoneError);
    await store.close();
  });
});

describe.each(stores)('$name store: reclaimer', ({ make }) => {
  it('reclaims accounts in turn, so a small backlog is not stuck behind a huge one', async () => {
    let allowedSteps = Infinity;
    const store = await make().open({ reclaimStepKeys: 64, reclaimGate: () => allowedSteps-- > 0 });
    await store.ensureUser('heavy');
    await store.ensureUser('light');
    await store.importMessages('heavy', 'INBOX', Array.from({ length: 2000 }, (_, i) => ({ raw: msg(`h${i}`) })));
    const light = await store.append('light', 'INBOX', msg('light'));
    const lightBody = (await store.snapshot('light', 'INBOX')).messages[0]!.bodyId;
    allowedSteps = 0;
    await store.expunge('heavy', 'INBOX', (await store.snapshot('heavy', 'INBOX')).messages.map((m) => m.uid));
    await store.expunge('light', 'INBOX', [light.uid]);
    expect(store.stats().reclaimBacklog).toMatchObject({ bodies: 2001, accounts: 2 });
    // Two steps: one for each account. A single first-in-first-out queue would still be on 'heavy'.
    allowedSteps = 2;
    // the gate is asked again (and says no) only after both allowed steps finished
    for (let i = 0; i < 200 && allowedSteps >= 0; i++) await new Promise((r) => setTimeout(r, 20));
    await expect(collect(store.readBody(lightBody))).rejects.toBeInstanceOf(MessageGoneError);
    expect(store.stats().reclaimBacklog.accounts).toBe(1);
    expect(store.stats().reclaimBacklog.bodies).toBeGreaterThan(1800);
    allowedSteps = Infinity;
    await store.reclaimDrained();
    expect(store.stats().reclaimBacklog).toMatchObject({ bodies: 0, accounts: 0 });
    await store.close();
  });
});

/** A store with an empty account 'light' and an account 'heavy' of 1,500 messages, and their UIDs. */
async function heavyAndLight(make: () => BackendUnderTest) {
  const store = await make().open();
  await store.ensureUser('heavy');
  await store.ensureUser('light');
  await store.importMessages('heavy', 'INBOX', Array.from({ length: 1500 }, (_, i) => ({ raw: msg(`h${i}`) })));
  return { store, uids: (await store.snapshot('heavy', 'INBOX')).messages.map((m) => m.uid) };
}

describe.each(stores)('$name store: mass changes', ({ make }) => {
  it('lets another account\'s delivery through while one account expunges thousands of messages', async () => {
    const { store, uids } = await heavyAndLight(make);
    let expungeDone = false;
    const expunging = store.expunge('heavy', 'INBOX', uids).then((gone) => {
      expungeDone = true;
      return gone;
    });
    // Invariant 8: the expunge goes in slices with rests between them, so this does not wait for it.
    await store.deliver(['light'], msg('meanwhile'));
    expect(expungeDone).toBe(false);
    expect((await store.snapshot('light', 'INBOX')).messages).toHaveLength(1);
    expect((await expunging).length).toBe(1500);
    expect((await store.snapshot('heavy', 'INBOX')).messages).toHaveLength(0);
    await store.close();
  });

  it('moves thousands of messages to Trash in slices that let another account\'s delivery through', async () => {
    const { store, uids } = await heavyAndLight(make);
    let moveDone = false;
    const moving = store.move('heavy', 'INBOX', uids, 'Trash').then((r) => {
      moveDone = true;
      return r;
    });
    // Once the first slice is in Trash, another account's delivery gets through before the rest.
    for (let i = 0; i < 5000 && (await store.snapshot('heavy', 'Trash')).messages.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 1));
    }
    await store.deliver(['light'], msg('meanwhile'));
    expect(moveDone).toBe(false);
    const r = await moving;
    expect(r.mapping.map(([from]) => from)).toEqual(uids);
    const trash = await store.snapshot('heavy', 'Trash');
    expect(trash.mailbox.uidValidity).toBe(r.uidValidity);
    expect(trash.messages.map((m) => m.uid)).toEqual(r.mapping.map(([, to]) => to));
    expect((await store.snapshot('heavy', 'INBOX')).messages).toHaveLength(0);
    await store.close();
  });
});

describe.each(stores)('$name store: retention and undelete', ({ make }) => {
  it('keeps expunged messages recoverable during retention and restores them with new UIDs', async () => {
    const store = await make().open({ retentionMs: 60_000 });
    await store.ensureUser('alice');
    await store.createMailbox('alice', 'Work');
    const a = await store.append('alice', 'Work', msg('keep me'), { flags: ['\\Flagged'] });
    const b = await store.append('alice', 'INBOX', msg('me too'));
    await store.expunge('alice', 'Work', [a.uid]);
    await store.expunge('alice', 'INBOX', [b.uid]);
    expect((await store.snapshot('alice', 'Work')).messages).toEqual([]);
    expect(store.stats().reclaimBacklog.bodies).toBe(2);
    expect(await store.undelete('alice')).toBe(2);
    const work = (await store.snapshot('alice', 'Work')).messages;
    expect(work.length).toBe(1);
    expect(work[0]!.uid).toBeGreaterThan(a.uid);
    expect(work[0]!.flags).toEqual(['\\Flagged']);
    expect(await collect(store.readBody(work[0]!.bodyId))).toEqual(msg('keep me'));
    expect((await store.snapshot('alice', 'INBOX')).messages[0]!.uid).toBeGreaterThan(b.uid);
    expect(store.stats().reclaimBacklog.bodies).toBe(0);
    expect(await store.undelete('alice')).toBe(0);
    await store.close();
  });

  it('reclaims at once without retention, so there is nothing to undelete', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    const a = await store.append('alice', 'INBOX', msg('gone'));
    await store.expunge('alice', 'INBOX', [a.uid]);
    await store.reclaimDrained();
    expect(await store.undelete('alice')).toBe(0);
    await store.close();
  });
});

describe.each(stores)('$name store: subscriptions and \\Recent', ({ make }) => {
  it('keeps subscriptions apart from mailboxes: before CREATE and after DELETE', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.setSubscribed('alice', 'later', true);
    await store.createMailbox('alice', 'kept');
    expect((await store.getMailbox('alice', 'kept'))?.subscribed).toBe(false);
    await store.setSubscribed('alice', 'kept', true);
    await store.deleteMailbox('alice', 'kept');
    expect((await store.subscriptions('alice')).filter((n) => n === 'later' || n === 'kept')).toEqual(['kept', 'later']);
    await store.createMailbox('alice', 'later');
    expect((await store.getMailbox('alice', 'later'))?.subscribed).toBe(true);
    expect(await store.subscriptions('alice')).toContain('kept');
    expect(await store.subscriptions('alice')).toContain('later');
    await store.setSubscribed('alice', 'kept', false);
    expect(await store.subscriptions('alice')).not.toContain('kept');
    await store.close();
  });

  it('hands recent messages to one claimer: a claiming snapshot, then the first claiming watcher', async () => {
    const store = await make().open();
    await store.ensureUser('alice');
    await store.append('alice', 'INBOX', msg('1'));
    expect((await store.getMailbox('alice', 'INBOX'))?.recent).toBe(1);
    const first = await store.snapshot('alice', 'INBOX', { claimRecent: true });
    expect(first.firstRecentUid).toBe(1);
    expect((await store.snapshot('alice', 'INBOX', { claimRecent: true })).firstRecentUid).toBe(2);
    const seen: boolean[] = [];
    const un1 = await store.watch('alice', 'INBOX', (ev) => ev.type === 'exists' && seen.push(!!ev.recent), { claimRecent: true });
    const un2 = await store.watch('alice', 'INBOX', (ev) => ev.type === 'exists' && seen.push(!!ev.recent), { claimRecent: true });
    await store.append('alice', 'INBOX', msg('2'));
    expect(seen).toEqual([true, false]);
    expect((await store.getMailbox('alice', 'INBOX'))?.recent).toBe(0);
    un1();
    un2();
    await store.append('alice', 'INBOX', msg('3'));
    expect((await store.getMailbox('alice', 'INBOX'))?.recent).toBe(1);
    await store.close();
  });
});
