// Mailbox naming rules shared by every store implementation. The hierarchy delimiter is "/".
import { StoreRuleError } from './errors.ts';

export const DELIMITER = '/';
export const INBOX = 'INBOX';

/** INBOX is case-insensitive (RFC 3501 5.1), including as the first level of a hierarchy. */
export function normalizeMailboxName(name: string): string {
  if (name.length >= 5 && name.slice(0, 5).toUpperCase() === INBOX && (name.length === 5 || name[5] === DELIMITER)) {
    return INBOX + name.slice(5);
  }
  return name;
}

export function validateMailboxName(name: string): string {
  const n = normalizeMailboxName(name);
  if (n.length === 0 || n.length > 512) throw new StoreRuleError('mailbox name must be 1 to 512 characters');
  if (/[\x00-\x1f\x7f]/.test(n)) throw new StoreRuleError('mailbox name contains control characters');
  if (n.startsWith(DELIMITER) || n.endsWith(DELIMITER) || n.includes(DELIMITER + DELIMITER)) {
    throw new StoreRuleError('mailbox name has an empty hierarchy level');
  }
  if (n.includes('*') || n.includes('%')) throw new StoreRuleError('mailbox name contains a wildcard');
  return n;
}

/** Folders every new account gets, with their RFC 6154 special-use attribute. */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse?: string }[] = [
  { name: INBOX },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];
