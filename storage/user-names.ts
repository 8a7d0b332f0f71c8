// What names an account, in ONE place. Every way in — the CLI, SMTP/LMTP recipients, POP3/IMAP
// logins, the store's own keys — goes through these two functions, so two spellings that reach the
// same mailbox are the same account everywhere, and no path can create a second account that
// another path would read as the first (`user add alice@evil.example` replaced alice's password
// when the CLI lower-cased and cut the domain but the caller thought it named someone new).
//
// The rule: an account is a plain name, a-z 0-9 . _ -, at most 64, case-insensitive. Mail for
// NAME@anydomain and a login as NAME@anydomain reach NAME (DESIGN.md: the domain does not name
// the account), so an address is accepted where mail or a login arrives, never where an account is
// created, renamed or removed: there it would silently mean a different account than it says.

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class InvalidUserNameError extends Error {
  override name = 'InvalidUserNameError';
}

/**
 * `Alice@Example.org` → `alice`: the account an address or login name reaches (not validated). A
 * `+tag` (plus-addressing, `alice+signup@…`) is dropped, as "+" is never part of an account name.
 */
export function canonicalUserName(nameOrAddress: string): string {
  const at = nameOrAddress.lastIndexOf('@');
  const local = at >= 0 ? nameOrAddress.slice(0, at) : nameOrAddress;
  const plus = local.indexOf('+');
  return (plus > 0 ? local.slice(0, plus) : local).toLowerCase();
}

/** Is this already an account name by the rule (lower case, allowed characters)? */
export const isAccountName = (name: string): boolean => NAME.test(name);

/**
 * The account a command that creates or removes one means: `Alice` → `alice`. An address, or
 * anything outside the rule, is refused rather than cut down to a name it does not spell.
 */
export function accountName(name: string): string {
  const n = name.toLowerCase();
  if (!NAME.test(n)) {
    const hint = name.includes('@') ? ' (an account is a name; mail for NAME@any-domain reaches it)' : '';
    throw new InvalidUserNameError(`invalid user name "${name}": use a-z, 0-9, ".", "_" and "-" (at most 64)${hint}`);
  }
  return n;
}
