// APPEND (RFC 3501 6.3.11) with UIDPLUS APPENDUID and BINARY literal8: OK only once the message is on disk.
import { MailboxNotFoundError } from '../../../storage/errors.ts';
import { encodeBinaryParts } from '../../mime/index.ts';
import { AUTHENTICATED, ImapError, type CommandSpec } from '../command.ts';
import { atom, expectEnd, ParseError } from '../parser/tokens.ts';
import { parseDateTime } from '../responses.ts';
import { mailboxArg } from './mailbox-commands.ts';

export const APPEND: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    const name = mailboxArg(s, cmd.args[0]);
    let i = 1;
    let flags: string[] = [];
    let internalDate: number | undefined;
    const maybeFlags = cmd.args[i];
    if (maybeFlags?.t === 'list') {
      flags = maybeFlags.v.map((t) => atom(t, 'flag'));
      i++;
    }
    const maybeDate = cmd.args[i];
    if (maybeDate?.t === 'string') {
      internalDate = parseDateTime(maybeDate.v);
      if (internalDate === undefined) throw new ParseError('bad APPEND date-time');
      i++;
    }
    const lit = cmd.args[i];
    if (!lit || lit.t !== 'literal') throw new ParseError('APPEND needs the message as a literal');
    expectEnd(cmd.args, i + 1);
    if (lit.v.length > s.ctx.maxMessageSize) throw new ImapError('NO', 'TOOBIG', 'message too large');
    if (lit.v.length === 0) throw new ImapError('NO', undefined, 'empty message');
    // RFC 3516 4.4: binary content sent in a literal8 is stored in a form every client can read
    // (a BODY[] literal may not carry NUL): its binary parts become base64; BINARY[] undoes it.
    const raw = lit.binary ? encodeBinaryParts(lit.v) : lit.v;
    try {
      const r = await s.heavy('APPEND', () => s.ctx.store.append(s.user!, name, raw, { flags, internalDate }));
      return `[APPENDUID ${r.uidValidity} ${r.uid}] APPEND completed`;
    } catch (err) {
      if (err instanceof MailboxNotFoundError) throw new ImapError('NO', 'TRYCREATE', 'no such mailbox');
      throw err;
    }
  },
};
