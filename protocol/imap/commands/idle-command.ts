// IDLE (RFC 2177): updates for the selected mailbox are sent as they happen, until "DONE".
import { AUTHENTICATED, ImapError, type CommandSpec } from '../command.ts';
import { expectEnd } from '../parser/tokens.ts';

export const IDLE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 0);
    s.send('+ idling');
    s.flushUpdates(true);
    const done = s.readLine();
    let finished = false;
    let line: string | undefined;
    void done.then((l) => {
      line = l;
      finished = true;
      s.notify();
    });
    while (!finished) {
      await s.nextUpdate();
      if (!finished) s.flushUpdates(true);
    }
    if (line === undefined) throw new ImapError('BAD', undefined, 'connection closed during IDLE');
    if (line.trim().toUpperCase() !== 'DONE') throw new ImapError('BAD', undefined, 'expected DONE');
    return 'IDLE terminated';
  },
};
