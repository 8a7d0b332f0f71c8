// Commands valid in any state: CAPABILITY, NOOP, LOGOUT, ID, ENABLE; and CHECK.
import { ANY, AUTHENTICATED, SELECTED, type CommandSpec } from '../command.ts';
import { atom, ParseError } from '../parser/tokens.ts';
import { imapString } from '../responses.ts';

export const CAPABILITY: CommandSpec = {
  states: ANY,
  async run(s) {
    s.send(`* CAPABILITY ${s.capabilities().join(' ')}`);
    return 'CAPABILITY completed';
  },
};

export const NOOP: CommandSpec = {
  states: ANY,
  async run() {
    return 'NOOP completed';
  },
};

export const CHECK: CommandSpec = {
  states: SELECTED,
  async run() {
    return 'CHECK completed';
  },
};

export const LOGOUT: CommandSpec = {
  states: ANY,
  async run(s, cmd) {
    s.send('* BYE logging out');
    s.send(`${cmd.tag} OK LOGOUT completed`);
    s.end();
    return 'LOGOUT completed';
  },
};

/** RFC 2971: answer with who we are; what the client says is only logged. */
export const ID: CommandSpec = {
  states: ANY,
  async run(s) {
    s.send(`* ID (${imapString('name')} ${imapString(s.ctx.serverName)} ${imapString('vendor')} ${imapString('tegami')})`);
    return 'ID completed';
  },
};

/** Upper-cased name → the spelling ENABLED answers with (and `session.enabled` holds). */
const ENABLEABLE = new Map([['CONDSTORE', 'CONDSTORE'], ['QRESYNC', 'QRESYNC'], ['IMAP4REV2', 'IMAP4rev2']]);

/** RFC 5161; IMAP4rev2 per RFC 9051 section 2.3 (a server offering both revisions starts in rev1). */
export const ENABLE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    if (cmd.args.length === 0) throw new ParseError('ENABLE needs capability names');
    const turned: string[] = [];
    for (let i = 0; i < cmd.args.length; i++) {
      const cap = ENABLEABLE.get(atom(cmd.args[i], 'capability').toUpperCase());
      if (cap && !s.enabled.has(cap)) {
        s.enabled.add(cap);
        turned.push(cap);
        // RFC 7162 3.2.3: QRESYNC implies CONDSTORE
        if (cap === 'QRESYNC') s.enabled.add('CONDSTORE');
      }
    }
    s.send(`* ENABLED${turned.map((c) => ' ' + c).join('')}`);
    return 'ENABLE completed';
  },
};
