// LIST and UIDL answers rendered once per mailbox version. Snapshots are immutable arrays shared by
// every session that logged in to the same version of the mailbox, so the array itself is the cache
// key: a poll storm of "leave a copy" clients costs one rendering per change of the mailbox, not
// one per session (invariant 5: cost follows live messages, and here not even that).
import { createHash } from 'node:crypto';
import type { MessageMeta } from '../../storage/types.ts';

const uidl = new WeakMap<readonly MessageMeta[], Buffer>();
const list = new WeakMap<readonly MessageMeta[], Buffer>();
const fingerprints = new WeakMap<readonly MessageMeta[], string>();

function render(messages: readonly MessageMeta[], value: (m: MessageMeta) => string | number): Buffer {
  const parts: string[] = new Array(messages.length + 1);
  for (let i = 0; i < messages.length; i++) parts[i] = `${i + 1} ${value(messages[i]!)}\r\n`;
  parts[messages.length] = '.\r\n';
  return Buffer.from(parts.join(''), 'latin1');
}

/** The lines of a full UIDL answer plus the closing ".", for a snapshot with nothing deleted. */
export function uidlListing(messages: readonly MessageMeta[]): Buffer {
  let b = uidl.get(messages);
  if (!b) uidl.set(messages, (b = render(messages, (m) => m.uidl)));
  return b;
}

export function sizeListing(messages: readonly MessageMeta[]): Buffer {
  let b = list.get(messages);
  if (!b) list.set(messages, (b = render(messages, (m) => m.size)));
  return b;
}

/** A short hash of the UIDL listing, logged at every login and logout (invariant 1). */
export function uidlFingerprint(messages: readonly MessageMeta[]): string {
  let h = fingerprints.get(messages);
  if (!h) fingerprints.set(messages, (h = createHash('sha256').update(uidlListing(messages)).digest('hex').slice(0, 12)));
  return h;
}
