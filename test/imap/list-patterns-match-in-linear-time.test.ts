// LIST patterns are matched without backtracking: the same answers as a plain reading of RFC 3501
// 6.3.8 for any pattern and name, and a pattern built to make a regex backtrack answers at once.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { compileListPattern } from '../../protocol/imap/list-pattern.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

/** The RFC read literally: try every split (exponential; fine for short strings). */
function reference(pattern: string, name: string): boolean {
  if (pattern === '') return name === '';
  const [p, rest] = [pattern[0]!, pattern.slice(1)];
  if (p === '*' || p === '%') {
    for (let i = 0; i <= name.length; i++) {
      if (p === '%' && name.slice(0, i).includes('/')) break;
      if (reference(rest, name.slice(i))) return true;
    }
    return false;
  }
  return name[0] === p && reference(rest, name.slice(1));
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('LIST patterns', () => {
  it('match exactly what the RFC says, for any pattern and name', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '*', '%');
    const nameChars = fc.constantFrom('a', 'b', '/', 'é');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 10 }).map((a) => a.join('')), fc.array(nameChars, { maxLength: 12 }).map((a) => a.join('')), (pattern, name) => {
        expect(compileListPattern(pattern).matches(name)).toBe(reference(pattern, name));
      }),
      { numRuns: 3000 },
    );
  });

  it('handle patterns longer than 32 positions (several words of state)', () => {
    const name = 'x/'.repeat(40) + 'end';
    expect(compileListPattern('x/'.repeat(40) + '%').matches(name)).toBe(true);
    expect(compileListPattern('x/'.repeat(39) + '%').matches(name)).toBe(false);
    expect(compileListPattern('*x/*x/*x/*x/*x/*x/*x/*x/*x/*x/*x/*x/*end').matches(name)).toBe(true);
    expect(compileListPattern('*x/'.repeat(41) + '*').matches(name)).toBe(false);
  });

  it('answer a backtracking pattern against long names at once, on the wire', async () => {
    h = await startHarness(handleImapConnection);
    const c = await LineClient.connect(h.port);
    await c.line();
    expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
    for (let i = 0; i < 5; i++) expect(await c.command(`c${i} CREATE ${'a'.repeat(100 + i)}`)).toMatch(/OK/);
    const t0 = Date.now();
    c.send(`l LIST "" "${'*a'.repeat(12)}b"`);
    expect(await c.line(3000)).toBe('l OK LIST completed');
    c.send(`m LIST "" "${'*a'.repeat(12)}"`);
    expect((await c.until((l) => l.startsWith('m '), 3000)).filter((l) => l.startsWith('* LIST')).length).toBe(5);
    // each "*a" multiplied the regex's time ~15×: 12 of them took far longer than any test runs
    expect(Date.now() - t0).toBeLessThan(2000);
    c.close();
  });
});
