// RFC 3501 9 (formal syntax): a mailbox name is an astring, and ASTRING-CHAR includes "]" and every
// character but atom-specials — so `…|[}` is one atom: SELECT of it is NO (no such mailbox), never
// BAD, and LIST with it answers. "[" opens a section spec only after BODY/BINARY.
import { afterEach, describe, expect, it } from 'vitest';
import { tokenize } from '../../protocol/imap/parser/tokens.ts';
import { closeHarnesses, imapHarness, imapSession } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

const NAME = "!#$&'+,-.0123456789:;<=>?@^_`|[}";

describe('RFC 3501 astring mailbox names', () => {
  it('reads "[" as an ordinary character outside a section spec', () => {
    expect(tokenize([{ text: `SELECT ${NAME}` }])).toEqual([{ t: 'atom', v: 'SELECT' }, { t: 'atom', v: NAME }]);
    expect(tokenize([{ text: 'BODY.PEEK[HEADER.FIELDS (A B)]<0.10>' }])).toEqual([{ t: 'atom', v: 'BODY.PEEK[HEADER.FIELDS (A B)]<0.10>' }]);
    expect(() => tokenize([{ text: 'BODY[1' }])).toThrow(/unterminated/);
  });

  it('answers SELECT of such a name with NO and LIST with OK', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    expect(await a.status(`SELECT ${NAME}`)).toMatch(/ NO \[NONEXISTENT\]/);
    expect(await a.status(`LIST "" ${NAME}%*`)).toMatch(/ OK LIST/);
    expect(await a.status('LIST "" ~foo')).toMatch(/ OK LIST/);
  });
});
