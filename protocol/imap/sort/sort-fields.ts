// What SORT and THREAD compare, per message (RFC 5256 2, RFC 5957 DISPLAYFROM/DISPLAYTO), derived
// from the MIME summary stored at delivery — never from the message bytes. A body's fields never
// change, so they are kept in a bounded cache by body id: sorting a 100k-message mailbox again reads
// nothing from the store.
import { parseAddressList, type ImapAddress } from '../../mime/address-list.ts';
import { decodeHeaderWords, type MessageSummary } from '../../mime/index.ts';
import type { MessageMeta } from '../../../storage/types.ts';
import { baseSubject } from './base-subject.ts';

export interface SortFields {
  /** Sent date (Date: header, UTC) in ms, or NaN when it does not parse (INTERNALDATE is used). */
  sent: number;
  subject: string;
  reply: boolean;
  /** addr-mailbox of the first address, case folded ("" when none). */
  from: string;
  to: string;
  cc: string;
  /** RFC 5957: the display name, else the address, case folded. */
  displayFrom: string;
  displayTo: string;
  messageId: string | undefined;
  /** Message ids of References (or, without it, the first of In-Reply-To), oldest first. */
  references: string[];
}

/** The first address as ENVELOPE lists it: a group starts with its name as the mailbox. */
function firstAddress(value: string | undefined): ImapAddress | undefined {
  const first = value ? parseAddressList(value)[0] : undefined;
  if (!first) return undefined;
  return 'group' in first ? { name: null, mailbox: first.group, host: null } : first;
}

const mailboxOf = (a: ImapAddress | undefined): string => (a?.mailbox ?? '').toUpperCase();
const displayOf = (a: ImapAddress | undefined): string =>
  (a?.name ? decodeHeaderWords(a.name) : a ? `${a.mailbox ?? ''}${a.host ? '@' + a.host : ''}` : '').toUpperCase();

const MSG_ID = /<[^<>\s]+>/g;

export function sortFields(summary: MessageSummary): SortFields {
  const e = summary.envelope;
  const subject = baseSubject(decodeHeaderWords(e.subject ?? ''));
  const from = firstAddress(e.from);
  const to = firstAddress(e.to);
  let references: string[] = e.references?.match(MSG_ID) ?? [];
  if (references.length === 0) references = (e.inReplyTo?.match(MSG_ID) ?? []).slice(0, 1);
  return {
    sent: Date.parse(e.date ?? ''),
    subject: subject.key,
    reply: subject.reply,
    from: mailboxOf(from),
    to: mailboxOf(to),
    cc: mailboxOf(firstAddress(e.cc)),
    displayFrom: displayOf(from),
    displayTo: displayOf(to),
    messageId: e.messageId?.match(MSG_ID)?.[0],
    references,
  };
}

/** Sent date for sorting: the Date: header, else INTERNALDATE (RFC 5256 2.2). */
export const sentDate = (f: SortFields, meta: MessageMeta): number => (Number.isFinite(f.sent) ? f.sent : meta.internalDate);

/** Body ids whose fields are cached, per store; about 300 bytes each. */
const CACHE_LIMIT = 200_000;
/** By store: a process may serve several (embedded servers in one test run), each with its own ids. */
const caches = new WeakMap<object, Map<string, SortFields>>();

/** The cache of one store's bodies (a body never changes, so an entry never goes stale). */
export function fieldCache(store: object): Map<string, SortFields> {
  let c = caches.get(store);
  if (!c) caches.set(store, (c = new Map()));
  return c;
}

export function remember(cache: Map<string, SortFields>, bodyId: string, f: SortFields): void {
  // Whole-cache reset rather than LRU bookkeeping on every hit: the next sort refills what it uses.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(bodyId, f);
}
