// Limits every protocol session shares (invariant 9: command rates have limits too).

/** Unrecognised or malformed commands on one connection before it is closed. */
export const MAX_BAD_COMMANDS = 20;
/** Failed logins on one connection before it is closed (it could guess on for ever otherwise). */
export const MAX_AUTH_FAILURES = 3;
