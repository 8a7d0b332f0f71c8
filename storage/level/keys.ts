// The on-disk key layout. Every key starts with a one-letter space so that each kind of data lives
// in its own contiguous range: live message indexes (m) are never interleaved with bodies (b),
// reference markers (r) or the reclaim queue (q), so churn in one range does not slow scans of another
// (invariant 5). Numbers are fixed-width hex so that byte order is numeric order.
//
//   g!counters                      global counters (mailbox ids, last UIDVALIDITY)
//   g!format                        the format of this layout and its records (records.ts)
//   g!probe                         written after a reopen to prove writes work (store-health.ts)
//   u!<user>                        account record
//   x!<user>!<mailbox name>         mailbox record (id, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, …)
//   m!<mailbox id>!<uid>            live message metadata — the live index
//   e!<mailbox id>!<modseq>         UIDs expunged at that modseq (QRESYNC VANISHED, bounded horizon)
//   b!<body id>!<chunk>             message bytes in fixed-size chunks
//   s!<body id>                     analyzer summary (ENVELOPE/BODYSTRUCTURE source)
//   r!<body id>!<mailbox id>!<uid>  one marker per live message that uses the body (an ordered id
//                                   random tail first: scatteredBodyId)
//   q!<user>!<seq>                  durable reclaim queue, one per account (visited round-robin)
import { scatteredBodyId } from '../engine/body-ids.ts';

export const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

// Ranges end at the separator's successor ('"' follows '!'): an end of `x!ab~` would also take in
// `x!ab.c!…`, another account's mailboxes.
const AFTER_SEPARATOR = '"';

export const COUNTERS_KEY = 'g!counters';
export const FORMAT_KEY = 'g!format';
export const PROBE_KEY = 'g!probe';
export const userKey = (user: string): string => `u!${user}`;
export const USER_RANGE = { gt: 'u!', lt: 'u~' };

export const mailboxKey = (user: string, name: string): string => `x!${user}!${name}`;
export const mailboxRange = (user: string) => ({ gt: `x!${user}!`, lt: `x!${user}${AFTER_SEPARATOR}` });

export const messageKey = (mailboxId: number, uid: number): string => `m!${hex(mailboxId, 8)}!${hex(uid, 8)}`;
export const messageRange = (mailboxId: number) => ({ gt: `m!${hex(mailboxId, 8)}!`, lt: `m!${hex(mailboxId, 8)}${AFTER_SEPARATOR}` });

export const expungeLogKey = (mailboxId: number, modseq: number): string => `e!${hex(mailboxId, 8)}!${hex(modseq, 12)}`;
export const expungeLogRange = (mailboxId: number, afterModseq = -1) => ({
  gt: afterModseq < 0 ? `e!${hex(mailboxId, 8)}!` : expungeLogKey(mailboxId, afterModseq),
  lt: `e!${hex(mailboxId, 8)}${AFTER_SEPARATOR}`,
});

export const modseqOfExpungeLogKey = (key: string): number => parseInt(key.slice(key.lastIndexOf('!') + 1), 16);

export const BODY_CHUNK = 256 * 1024;
export const bodyChunkKey = (bodyId: string, chunk: number): string => `b!${bodyId}!${hex(chunk, 4)}`;
export const summaryKey = (bodyId: string): string => `s!${bodyId}`;

export const refKey = (bodyId: string, mailboxId: number, uid: number): string => `r!${scatteredBodyId(bodyId)}!${hex(mailboxId, 8)}!${hex(uid, 8)}`;
export const refRange = (bodyId: string): { gt: string; lt: string } => {
  const id = scatteredBodyId(bodyId);
  return { gt: `r!${id}!`, lt: `r!${id}${AFTER_SEPARATOR}` };
};

export const reclaimKey = (user: string, seq: number): string => `q!${user}!${hex(seq, 12)}`;
export const RECLAIM_RANGE = { gt: 'q!', lt: 'q~' };
export const reclaimRange = (user: string) => ({ gt: `q!${user}!`, lt: `q!${user}${AFTER_SEPARATOR}` });
export const reclaimSeqOf = (key: string): number => parseInt(key.slice(key.lastIndexOf('!') + 1), 16);
export const reclaimOwnerOf = (key: string): string => key.slice(2, key.lastIndexOf('!'));
