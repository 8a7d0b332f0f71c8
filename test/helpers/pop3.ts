// POP3 conveniences over LineClient for end-to-end tests.
import { LineClient } from './line-client.ts';

export async function pop3Login(port: number, user: string, pass: string): Promise<LineClient> {
  const c = await LineClient.connect(port);
  const greeting = await c.line();
  if (!greeting?.startsWith('+OK')) throw new Error(`greeting: ${greeting}`);
  const u = await c.command(`USER ${user}`);
  if (!u?.startsWith('+OK')) throw new Error(`USER: ${u}`);
  const p = await c.command(`PASS ${pass}`);
  if (!p?.startsWith('+OK')) throw new Error(`PASS: ${p}`);
  return c;
}

/** Sends a multi-line command; returns the status line and the data lines (dot-unstuffed). */
export async function pop3Multi(c: LineClient, cmd: string): Promise<{ status: string; lines: string[] }> {
  c.send(cmd);
  const status = (await c.line())!;
  if (!status.startsWith('+OK')) return { status, lines: [] };
  const lines = await c.until((l) => l === '.');
  lines.pop();
  return { status, lines: lines.map((l) => (l.startsWith('..') ? l.slice(1) : l)) };
}

export async function uidlList(port: number, user: string, pass: string): Promise<string[]> {
  const c = await pop3Login(port, user, pass);
  const { status, lines } = await pop3Multi(c, 'UIDL');
  if (!status.startsWith('+OK')) throw new Error(`UIDL: ${status}`);
  await c.command('QUIT');
  c.close();
  return lines;
}
