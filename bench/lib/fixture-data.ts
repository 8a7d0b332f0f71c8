// Builds data directories for benches the way an operator would: `tegami user add` and
// `tegami import` of a generated mbox. Generated mboxes are cached in the OS temp folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMbox, type MboxSpec } from '../fixtures/generate-mbox.ts';
import { BIN } from '../../test/helpers/server-process.ts';

export interface BenchUser {
  name: string;
  password: string;
}

export async function cachedMbox(spec: MboxSpec): Promise<string> {
  const file = join(tmpdir(), `tegami-bench-${spec.profile ?? 'realistic'}-${spec.messages}-${spec.seed ?? 42}.mbox`);
  if (!existsSync(file)) await writeMbox(file, spec);
  return file;
}

export function tegami(args: string[], input?: string): string {
  return execFileSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
}

export async function preparePopulatedDataDir(opts: {
  users: number;
  messages: number;
  profile?: MboxSpec['profile'];
}): Promise<{ dataDir: string; users: BenchUser[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tegami-bench-data-'));
  const users: BenchUser[] = Array.from({ length: opts.users }, (_, i) => ({ name: `user${i}`, password: `pass${i}` }));
  const mbox = opts.messages > 0 ? await cachedMbox({ messages: opts.messages, profile: opts.profile ?? 'small' }) : undefined;
  for (const u of users) {
    tegami(['user', 'add', u.name, '--password-stdin', '--data', dataDir], u.password + '\n');
    if (mbox) tegami(['import', u.name, mbox, '--data', dataDir]);
  }
  return { dataDir, users };
}
