// Accounts and password checks: the Authenticator the protocols use.
//
// Auth stays up under mailbox load (invariant 7): a verified-credential cache answers repeat logins
// without scrypt (an HMAC of the password under a per-process key is kept, never the password), and
// scrypt runs in a small lane of its own (bounded concurrency and queue) so a storm of wrong
// passwords cannot fill libuv's thread pool that LevelDB also needs. A full lane answers
// OverloadedError, which the protocols turn into their "try later" code.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { OverloadedError, type Authenticator } from '../../protocol/session-context.ts';
import { accountName, canonicalUserName, isAccountName } from '../../storage/user-names.ts';
import { unmatchableHash, verifyPassword } from './password-hash.ts';
import { readUsersFile, usersFileStamp, type UserRecord } from './users-file.ts';

/** Checked for names that have no account. */
const UNKNOWN_USER_HASH = unmatchableHash();

/** A small bounded lane for scrypt work. */
class HashLane {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly concurrency: number, private readonly maxQueue: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) throw new OverloadedError('authentication lane is full');
      await new Promise<void>((r) => this.waiting.push(r));
    }
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export interface UserDirectoryOptions {
  /** Concurrent scrypt checks at most (default 2: one per core on the reference machine). */
  hashConcurrency?: number;
  /** Checks allowed to wait for the lane before new ones are refused (default 256). */
  hashQueue?: number;
  /** How often the users file is checked for changes, ms (default 1000). */
  pollMs?: number;
  /** Told once per unreadable version of the users file while running (the last good list stays). */
  onError?: (err: unknown) => void;
  /**
   * Accounts come into being when first used (a delivery, a login), as a catch-all for tests:
   * `true` accepts any password, `{ password }` only that one.
   */
  autoCreate?: boolean | { password: string };
}

// In-memory accounts (embedding, `serve --user`) live and die with the process and their passwords are
// already in its memory (options, argv): an HMAC under the per-process key stands in for scrypt, which
// cost ≈ 36 ms per account at every start. Stored as `hmac$<base64>`; the users file keeps scrypt.
const MEMORY_HASH = 'hmac$';
const ANY_PASSWORD = 'any$';

export class UserDirectory implements Authenticator {
  private fileUsers: Record<string, UserRecord> = {};
  private readonly memoryUsers = new Map<string, string>();
  private readonly verified = new Map<string, { stored: string; mac: Buffer }>();
  private readonly macKey = randomBytes(32);
  private readonly lane: HashLane;
  private readonly addedListeners: ((name: string) => void)[] = [];
  private stamp = 'absent';
  /** The unreadable version of the file already reported. */
  private badStamp: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;

  private constructor(private readonly dataDir: string | undefined, private readonly opts: UserDirectoryOptions) {
    this.lane = new HashLane(opts.hashConcurrency ?? 2, opts.hashQueue ?? 256);
  }

  static inMemory(opts: UserDirectoryOptions = {}): UserDirectory {
    return new UserDirectory(undefined, opts);
  }

  /**
   * Reads DIR/users.json and follows its changes. A file that cannot be read is an error here
   * (UsersFileError, saying which file and why): starting with no accounts would fail every login.
   */
  static async open(dataDir: string, opts: UserDirectoryOptions = {}): Promise<UserDirectory> {
    const dir = new UserDirectory(dataDir, opts);
    dir.stamp = usersFileStamp(dataDir);
    dir.fileUsers = readUsersFile(dataDir).users;
    dir.timer = setInterval(() => dir.reload(), opts.pollMs ?? 1000);
    dir.timer.unref();
    try {
      // A hint only: fs.watch misses events on some file systems, the poll above does not.
      dir.watcher = watch(dataDir, { persistent: false }, (_e, f) => {
        if (f === 'users.json') dir.reload();
      });
      dir.watcher.on('error', () => undefined);
    } catch {
      dir.watcher = undefined;
    }
    return dir;
  }

  private reload(): void {
    if (!this.dataDir) return;
    const stamp = usersFileStamp(this.dataDir);
    if (stamp === this.stamp) return;
    let users: Record<string, UserRecord>;
    try {
      users = readUsersFile(this.dataDir).users;
    } catch (err) {
      // Writers replace the file whole (users-file.ts), so this is a broken rewrite — by hand, say.
      // Keep serving the last good accounts and say so once; the next good version is picked up.
      if (stamp !== this.badStamp) this.opts.onError?.(err);
      this.badStamp = stamp;
      return;
    }
    this.stamp = stamp;
    const before = this.fileUsers;
    this.fileUsers = users;
    for (const name of Object.keys(users)) if (!(name in before) && !this.memoryUsers.has(name)) this.announce(name);
  }

  private announce(name: string): void {
    for (const l of this.addedListeners) l(name);
  }

  onAdded(listener: (name: string) => void): void {
    this.addedListeners.push(listener);
  }

  /** An account for this process only (embedding, `serve --user`); not written to the file. */
  async addInMemory(name: string, password: string): Promise<void> {
    this.setInMemory(accountName(name), MEMORY_HASH + this.mac(password).toString('base64'));
  }

  private setInMemory(name: string, stored: string): void {
    const isNew = !this.known(name);
    this.memoryUsers.set(name, stored);
    this.verified.delete(name);
    if (isNew) this.announce(name);
  }

  private known(name: string): boolean {
    return this.memoryUsers.has(name) || Object.hasOwn(this.fileUsers, name);
  }

  /** With autoCreate, makes NAME an account on first use; true if it is one (now or already). */
  private autoCreated(name: string): boolean {
    if (this.known(name)) return true;
    const auto = this.opts.autoCreate;
    if (!auto || !isAccountName(name)) return false;
    const fixed = auto === true ? undefined : auto.password;
    this.setInMemory(name, fixed === undefined ? ANY_PASSWORD : MEMORY_HASH + this.mac(fixed).toString('base64'));
    return true;
  }

  canonical(nameOrAddress: string): string {
    return canonicalUserName(nameOrAddress);
  }

  /** Whether mail for this name or address has an account to go to (with autoCreate, it gets one). */
  has(nameOrAddress: string): boolean {
    return this.autoCreated(canonicalUserName(nameOrAddress));
  }

  list(): string[] {
    return [...new Set([...Object.keys(this.fileUsers), ...this.memoryUsers.keys()])].sort();
  }

  private storedHash(name: string): string | undefined {
    return this.memoryUsers.get(name) ?? (Object.hasOwn(this.fileUsers, name) ? this.fileUsers[name]!.password : undefined);
  }

  private mac(password: string): Buffer {
    return createHmac('sha256', this.macKey).update(password).digest();
  }

  async verify(user: string, password: string): Promise<string | undefined> {
    const name = canonicalUserName(user);
    if (!password) return undefined;
    if (!this.autoCreated(name)) {
      // The same scrypt, in the same lane, as a wrong password: an unknown name answered ~35 ms
      // sooner (250 vs 285 ms), which told a guesser which accounts exist.
      await this.lane.run(() => verifyPassword(password, UNKNOWN_USER_HASH));
      return undefined;
    }
    const stored = this.storedHash(name);
    if (!stored) return undefined;
    if (stored === ANY_PASSWORD) return name;
    const mac = this.mac(password);
    if (stored.startsWith(MEMORY_HASH)) return timingSafeEqual(Buffer.from(stored.slice(MEMORY_HASH.length), 'base64'), mac) ? name : undefined;
    const hit = this.verified.get(name);
    if (hit && hit.stored === stored && timingSafeEqual(hit.mac, mac)) return name;
    const ok = await this.lane.run(() => verifyPassword(password, stored));
    if (!ok) return undefined;
    // Only if the account did not change while we hashed.
    if (this.storedHash(name) === stored) this.verified.set(name, { stored, mac });
    return name;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
  }
}
