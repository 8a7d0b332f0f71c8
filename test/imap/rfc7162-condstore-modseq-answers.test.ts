// RFC 7162 CONDSTORE: a FETCH of MODSEQ turns CONDSTORE on and, with a mailbox selected, the
// server says the HIGHESTMODSEQ at once (3.1); SEARCH … MODSEQ with RETURN (MIN)/(MAX) answers the
// mod-sequence of the message it names, not the mailbox's highest (3.1.5, with RFC 4731 ESEARCH).
import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

describe('RFC 7162 CONDSTORE answers', () => {
  it('announces HIGHESTMODSEQ when FETCH MODSEQ enables CONDSTORE (3.1)', async () => {
    h = await imapHarness();
    await h.store.deliver(['alice'], message('Subject: one'));
    const a = await imapSession(h.port);
    const sel = await a.run('SELECT INBOX');
    const highest = sel.find((l) => l.includes('HIGHESTMODSEQ'))!.match(/HIGHESTMODSEQ (\d+)/)![1];
    const r = await a.run('FETCH 1 MODSEQ');
    expect(r[0]).toBe(`* OK [HIGHESTMODSEQ ${highest}] highest modseq`);
    expect(r[1]).toMatch(/^\* 1 FETCH \(MODSEQ \(\d+\)\)$/);
    // once on, it is not said again
    expect((await a.run('FETCH 1 MODSEQ'))[0]).toMatch(/^\* 1 FETCH/);
  });

  it('gives MIN and MAX the mod-sequence of the message they name (3.1.5)', async () => {
    h = await imapHarness();
    for (let i = 0; i < 3; i++) await h.store.deliver(['alice'], message(`Subject: ${i}`));
    const a = await imapSession(h.port);
    await a.run('SELECT INBOX');
    const mod = async (seq: number) => Number((await a.run(`STORE ${seq} +FLAGS (\\Seen)`)).find((l) => l.includes('MODSEQ'))?.match(/MODSEQ \((\d+)\)/)?.[1]);
    await a.run('ENABLE CONDSTORE');
    const m3 = await mod(3);
    const m1 = await mod(1);
    const m2 = await mod(2);
    const esearch = async (ret: string) => (await a.run(`SEARCH RETURN (${ret}) 1:3 MODSEQ "/flags/\\\\seen" all 1`))[0];
    expect(await esearch('MIN')).toMatch(new RegExp(`MIN 1 MODSEQ ${m1}$`));
    expect(await esearch('MAX')).toMatch(new RegExp(`MAX 3 MODSEQ ${m3}$`));
    expect(await esearch('MIN MAX')).toMatch(new RegExp(`MODSEQ ${Math.max(m1, m3)}$`));
    expect(await esearch('ALL')).toMatch(new RegExp(`MODSEQ ${Math.max(m1, m2, m3)}$`));
  });
});
