// The shard map: which PostgreSQL cluster keeps which account (README "Sharding by account"). A small
// JSON file the operator edits:
//   { "clusters": { "a": "postgres://…", "b": "postgres://…" },
//     "newAccounts": "b",
//     "accounts": { "alice": "a" } }
// `clusters` names every cluster; `newAccounts` is where an account that exists nowhere yet is
// created; `accounts` pins an account to a cluster (the map wins over where it was found). An account
// that is not pinned is looked for in every cluster (sharded-store.ts), so changing `newAccounts`
// never moves an existing account. The file is checked whole: a mistake is an error naming the file
// and the entry, never a map with the entry left out (an account sent to the wrong cluster would get
// a second, empty mailbox there).
import { readFileSync } from 'node:fs';
import { isAccountName } from '../user-names.ts';

export interface ShardMap {
  /** Cluster name → store URL. */
  readonly clusters: ReadonlyMap<string, string>;
  /** The cluster that gets accounts that exist in none. */
  readonly newAccounts: string;
  /** Account → cluster, for accounts pinned by the operator. */
  readonly accounts: ReadonlyMap<string, string>;
}

/** The shard map cannot be used: unreadable, not JSON, or naming what it does not define. */
export class ShardMapError extends Error {
  override name = 'ShardMapError';
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEYS = new Set(['clusters', 'newAccounts', 'accounts']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a parsed map; `where` names it in errors (the file). */
export function parseShardMap(data: unknown, where: string): ShardMap {
  const fail = (why: string): never => {
    throw new ShardMapError(`shard map ${where}: ${why}`);
  };
  if (!isObject(data)) return fail('expected a JSON object {"clusters": {NAME: URL}, "newAccounts": NAME, "accounts": {ACCOUNT: NAME}}');
  for (const k of Object.keys(data)) if (!KEYS.has(k)) fail(`unknown key "${k}" (expected clusters, newAccounts, accounts)`);
  const { clusters, newAccounts, accounts = {} } = data;
  if (!isObject(clusters) || Object.keys(clusters).length === 0) return fail('"clusters" must name at least one cluster: {"NAME": "postgres://…"}');
  for (const [name, url] of Object.entries(clusters)) {
    if (!CLUSTER_NAME.test(name)) fail(`cluster name "${name}": use letters, digits, ".", "_" and "-"`);
    if (typeof url !== 'string' || url === '') fail(`cluster "${name}" needs a store URL (a string)`);
  }
  const known = Object.keys(clusters).join(', ');
  const cluster = (name: unknown, what: string): string =>
    typeof name === 'string' && Object.hasOwn(clusters, name) ? name : fail(`${what} names cluster ${JSON.stringify(name)}, which is not in "clusters" (${known})`);
  if (newAccounts === undefined) fail(`"newAccounts" must name the cluster that gets new accounts (one of ${known})`);
  if (!isObject(accounts)) return fail('"accounts" must be an object {ACCOUNT: CLUSTER}');
  const pinned = new Map<string, string>();
  for (const [account, name] of Object.entries(accounts)) {
    if (!isAccountName(account)) fail(`"${account}" in "accounts" is not an account name (a-z, 0-9, ".", "_", "-"; lower case, no domain)`);
    pinned.set(account, cluster(name, `accounts.${account}`));
  }
  return { clusters: new Map(Object.entries(clusters as Record<string, string>)), newAccounts: cluster(newAccounts, '"newAccounts"'), accounts: pinned };
}

export function readShardMap(file: string): ShardMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ShardMapError(`cannot read shard map ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ShardMapError(`shard map ${file} is not valid JSON (${(err as Error).message})`);
  }
  return parseShardMap(data, file);
}
