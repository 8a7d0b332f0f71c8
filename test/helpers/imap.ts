// IMAP conveniences over LineClient for end-to-end tests.
import { LineClient } from './line-client.ts';

let tags = 0;

/** Sends a command and returns its tagged reply (untagged lines are dropped). */
export async function imapCommand(c: LineClient, command: string | Buffer): Promise<string> {
  const tag = `t${++tags}`;
  c.write(Buffer.concat([Buffer.from(`${tag} `), Buffer.from(command), Buffer.from('\r\n')]));
  const lines = await c.until((l) => l.startsWith(`${tag} `));
  return lines.at(-1)!.slice(tag.length + 1);
}

export async function imapLogin(port: number, user: string, pass: string): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.line();
  const r = await imapCommand(c, `LOGIN ${user} ${pass}`);
  if (!r.startsWith('OK')) throw new Error(`LOGIN: ${r}`);
  return c;
}

/** APPEND with a LITERAL+ literal; the tagged reply. */
export function imapAppend(c: LineClient, mailbox: string, raw: Buffer): Promise<string> {
  return imapCommand(c, Buffer.concat([Buffer.from(`APPEND ${mailbox} {${raw.length}+}\r\n`), raw]));
}
