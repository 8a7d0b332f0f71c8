// The mbox reader undoes mbox quoting, keeps the UIDL a previous server gave, and reads flags.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMbox } from '../../server/mbox-reader.ts';

async function read(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'tegami-mbox-')), 'in.mbox');
  writeFileSync(file, text);
  const out = [];
  for await (const m of readMbox(file)) out.push(m);
  return out;
}

describe('mbox reader', () => {
  it('splits messages on "From " lines, converts to CRLF and unquotes ">From "', async () => {
    const msgs = await read(
      'From a@b Thu Nov 20 10:00:00 2026\nSubject: one\n\n>From the start\n>>From deeper\n\n' +
      'From c@d Fri Nov 21 11:00:00 2026\nSubject: two\nStatus: RO\nX-Status: AF\nX-UIDL: legacy-0042\n\nbody\n',
    );
    expect(msgs.length).toBe(2);
    expect(msgs[0]!.raw.toString()).toBe('Subject: one\r\n\r\nFrom the start\r\n>From deeper\r\n');
    expect(msgs[0]!.internalDate).toBe(Date.parse('Thu Nov 20 10:00:00 2026'));
    expect(msgs[1]!.uidl).toBe('legacy-0042');
    expect(msgs[1]!.flags.sort()).toEqual(['\\Answered', '\\Flagged', '\\Seen']);
  });

  it('reads CRLF mbox files and ignores bytes before the first separator', async () => {
    const msgs = await read('junk\r\nFrom x Thu Nov 20 10:00:00 2026\r\nSubject: crlf\r\n\r\nline\r\n');
    expect(msgs.map((m) => m.raw.toString())).toEqual(['Subject: crlf\r\n\r\nline\r\n']);
  });
});
