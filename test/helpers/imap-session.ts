// An IMAP session for protocol tests over the harness: log in as alice, then `run('SELECT INBOX')`
// returns every line up to and including the tagged answer (tags are numbered for you).
import { expect } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { LineClient } from './line-client.ts';
import { startHarness, type Harness } from './protocol-harness.ts';

export interface ImapTestSession {
  client: LineClient;
  run(command: string): Promise<string[]>;
  /** The tagged line of the answer. */
  status(command: string): Promise<string>;
}

export async function imapSession(port: number): Promise<ImapTestSession> {
  const client = await LineClient.connect(port);
  await client.line();
  let n = 0;
  const run = (command: string) => {
    const tag = `t${++n}`;
    client.send(`${tag} ${command}`);
    return client.until((l) => l.startsWith(`${tag} `));
  };
  expect((await run('LOGIN alice secret')).pop()).toMatch(/ OK /);
  return { client, run, status: async (command) => (await run(command)).pop()! };
}

const open: Harness[] = [];

/** A harness with the MIME analyzer (ENVELOPE, SEARCH need it) and alice's account; closeHarnesses() ends it. */
export async function imapHarness(): Promise<Harness> {
  const h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
  open.push(h);
  return h;
}

/** For afterEach: closes every harness the test opened. */
export async function closeHarnesses(): Promise<void> {
  for (const h of open.splice(0)) await h.close();
}

export const message = (headers: string, body = 'body\r\n'): Buffer => Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body}`);
