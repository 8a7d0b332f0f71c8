// Flag rules shared by the store and the protocols: one definition of the system flags and of how a
// flag name given by a client is stored (RFC 3501 2.3.2: system flags are case-insensitive).
import type { FlagMode } from './types.ts';

/** The system flags a client may set, in the order IMAP lists them. \Recent is the server's own. */
export const SYSTEM_FLAGS: readonly string[] = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
export const SEEN = '\\Seen';
export const RECENT = '\\Recent';

const CANONICAL = new Map([...SYSTEM_FLAGS, RECENT].map((f) => [f.toLowerCase(), f]));

/** `\SEEN` and `\seen` are stored as `\Seen`; keywords are kept as given. */
export const canonicalFlag = (f: string): string => CANONICAL.get(f.toLowerCase()) ?? f;

/** A message's flags after a STORE (or the flags of a new message with mode 'set'); never \Recent. */
export function applyFlags(current: readonly string[], mode: FlagMode, flags: readonly string[]): string[] {
  const given = flags.map(canonicalFlag).filter((f) => f !== RECENT);
  if (mode === 'set') return [...new Set(given)];
  const out = new Set(current);
  for (const f of given) (mode === 'add' ? out.add(f) : out.delete(f));
  return [...out];
}

export const sameFlags = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((f) => b.includes(f));
