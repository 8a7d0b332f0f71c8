// `tegami user add|list|del`, against DIR/users.json.
import { createInterface } from 'node:readline';
import { hashPassword } from './password-hash.ts';
import { accountName } from '../../storage/user-names.ts';
import { readUsersFile, updateUsersFile } from './users-file.ts';

export async function userAdd(dataDir: string, name: string, password: string): Promise<void> {
  const n = accountName(name);
  if (!password) throw new Error('the password must not be empty');
  const hash = await hashPassword(password);
  await updateUsersFile(dataDir, (d) => {
    d.users[n] = { password: hash, updated: new Date().toISOString() };
  });
}

export function userList(dataDir: string): string[] {
  return Object.keys(readUsersFile(dataDir).users).sort();
}

export async function userDel(dataDir: string, name: string): Promise<void> {
  const n = accountName(name);
  let found = false;
  await updateUsersFile(dataDir, (d) => {
    found = Object.hasOwn(d.users, n);
    delete d.users[n];
  });
  if (!found) throw new Error(`no such user: ${n}`);
}

/**
 * One line from standard input, without its line end. With `prompt` and a terminal, asks for it
 * without echoing what is typed.
 */
export async function readPasswordFromStdin(opts: { prompt: boolean }): Promise<string> {
  if (opts.prompt && process.stdin.isTTY) return promptHidden('Password: ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line.replace(/\r$/, '');
    throw new Error('no password given on standard input');
  } finally {
    rl.close();
  }
}

/** Reads a line from the terminal in raw mode so the typed characters are not shown. */
function promptHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let value = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(value));
        if (ch === '\u0003') return done(() => reject(new Error('cancelled')));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (settle: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      settle();
    };
    stdin.on('data', onData);
  });
}
