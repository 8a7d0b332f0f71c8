// LIST/LSUB patterns (RFC 3501 6.3.8): "*" matches any characters, "%" any but the hierarchy
// delimiter. Matched by a bit-parallel NFA over the pattern's positions, so the cost is
// (name length) × (pattern length / 32) word operations whatever the pattern — a regex built from
// the wildcards backtracked exponentially (`LIST "" "*a*a*a*a*a*ab"` against a 100-character name
// held the event loop 2 s, each further "*a" ~15× more).
import { DELIMITER } from '../../storage/mailbox-names.ts';

/** A name is at most 512 characters (storage/mailbox-names.ts): a pattern with more literal characters matches nothing. */
const MAX_LITERALS = 512;

export interface ListPattern {
  matches(name: string): boolean;
}

const NOTHING: ListPattern = { matches: () => false };

export function compileListPattern(pattern: string): ListPattern {
  // A run of wildcards is one: "*" if it has any, else "%" (any run of "%" is the same as one).
  const tokens: string[] = [];
  for (const ch of pattern) {
    const last = tokens[tokens.length - 1];
    if ((ch === '*' || ch === '%') && (last === '*' || last === '%')) {
      if (ch === '*') tokens[tokens.length - 1] = '*';
    } else tokens.push(ch);
  }
  if (tokens.filter((t) => t !== '*' && t !== '%').length > MAX_LITERALS) return NOTHING;
  const m = tokens.length;
  const words = ((m + 1) >>> 5) + 1;
  // state i = the first i tokens are matched; bit i of the masks below
  const literal = new Map<string, Uint32Array>();
  const star = new Uint32Array(words);
  const percent = new Uint32Array(words);
  tokens.forEach((t, i) => {
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if (t === '*') star[w]! |= bit;
    else if (t === '%') percent[w]! |= bit;
    else {
      let mask = literal.get(t);
      if (!mask) literal.set(t, (mask = new Uint32Array(words)));
      mask[w]! |= bit;
    }
  });
  const wild = star.map((s, i) => s | percent[i]!);
  const acceptWord = m >>> 5;
  const acceptBit = 1 << (m & 31);
  const cur = new Uint32Array(words);
  const next = new Uint32Array(words);

  /** A wildcard may match nothing: a state before one also stands after it. */
  const close = (s: Uint32Array) => {
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const moved = ((s[w]! & wild[w]!) << 1) | carry;
      carry = (s[w]! & wild[w]!) >>> 31;
      s[w]! |= moved;
    }
  };

  return {
    matches(name: string): boolean {
      cur.fill(0);
      cur[0] = 1;
      close(cur);
      for (const ch of name) {
        const lit = literal.get(ch);
        let carry = 0;
        let any = 0;
        for (let w = 0; w < words; w++) {
          const c = cur[w]!;
          // a literal token consumed moves to the next state; a wildcard consumes and stays
          const adv = lit ? c & lit[w]! : 0;
          next[w] = ((adv << 1) | carry) | (c & star[w]!) | (ch === DELIMITER ? 0 : c & percent[w]!);
          carry = adv >>> 31;
          any |= next[w]!;
        }
        if (!any) return false;
        close(next);
        cur.set(next);
      }
      return (cur[acceptWord]! & acceptBit) !== 0;
    },
  };
}
