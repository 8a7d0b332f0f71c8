// Builds data directories for benches the way an operator would (accounts in users.json, a generated
// mbox imported into each INBOX). Generated mboxes are cached in the OS temp folder.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { importMbox } from '../../server/mbox-import.ts';
import { userAdd } from '../../server/users/index.ts';
import { openStore } from '../../storage/index.ts';
import { writeMbox, type MboxSpec } from '../fixtures/generate-mbox.ts';

export interface BenchUser {
  name: string;
  password: string;
}

export async function cachedMbox(spec: MboxSpec): Promise<string> {
  const file = join(tmpdir(), `tegami-bench-${spec.profile ?? 'realistic'}-${spec.messages}-${spec.seed ?? 42}.mbox`);
  if (!existsSync(file)) await writeMbox(file, spec);
  return file;
}

/** Bench accounts user0…userN-1 with passwords pass0…passN-1. */
export const benchUsers = (n: number): BenchUser[] => Array.from({ length: n }, (_, i) => ({ name: `user${i}`, password: `pass${i}` }));

/**
 * Adds the accounts to a data directory and imports the mbox (if any) into each INBOX: the same
 * code paths as `tegami user add` and `tegami import`, in one process (tens of accounts would
 * otherwise pay a process start each).
 */
export async function populate(dataDir: string, users: readonly BenchUser[], mbox?: string): Promise<void> {
  for (const u of users) await userAdd(dataDir, u.name, u.password);
  if (!mbox) return;
  const store = await openStore({ path: join(dataDir, 'mail'), analyzer: analyzeMessage });
  try {
    for (const u of users) {
      await store.ensureUser(u.name);
      await importMbox(store, u.name, mbox);
    }
  } finally {
    await store.close();
  }
}

export async function preparePopulatedDataDir(opts: {
  users: number;
  messages: number;
  profile?: MboxSpec['profile'];
}): Promise<{ dataDir: string; users: BenchUser[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tegami-bench-data-'));
  const users = benchUsers(opts.users);
  const mbox = opts.messages > 0 ? await cachedMbox({ messages: opts.messages, profile: opts.profile ?? 'small' }) : undefined;
  await populate(dataDir, users, mbox);
  return { dataDir, users };
}
