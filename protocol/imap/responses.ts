// Small pieces of IMAP response syntax shared by the commands.
import { imapString } from '../mime/imap-string.ts';

export const flagList = (flags: readonly string[]): string => `(${flags.join(' ')})`;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** INTERNALDATE: "17-Jul-1996 02:44:25 +0000". */
export function internalDate(ms: number): string {
  const d = new Date(ms);
  return `"${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000"`;
}

/** date-time of APPEND ("17-Jul-1996 02:44:25 -0700") → ms, or undefined. */
export function parseDateTime(s: string): number | undefined {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const month = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  if (month < 0) return undefined;
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '+' ? 1 : -1);
  return utc - offset;
}

/** SEARCH date ("1-Feb-1994") → ms at 00:00 UTC of that day, or undefined. */
export function parseSearchDate(s: string): number | undefined {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return undefined;
  const month = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  return month < 0 ? undefined : Date.UTC(Number(m[3]), month, Number(m[1]));
}

export { imapString };
