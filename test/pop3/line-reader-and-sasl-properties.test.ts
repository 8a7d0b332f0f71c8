// Properties of the pieces every POP3 (and IMAP) byte goes through: the line reader gives the same
// lines however the bytes are cut into reads, never a line over its limit, and holds at most what
// it was allowed to frame; SASL PLAIN decodes what was encoded and never throws on garbage.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandReader, type ReaderEvent } from '../../protocol/imap/parser/command-reader.ts';
import { LineReader, type LineEvent } from '../../protocol/line/line-reader.ts';
import { decodeSaslPlain } from '../../protocol/sasl/plain.ts';

/** Cuts `bytes` at the given fractions. */
function cut(bytes: Uint8Array, at: number[]): Buffer[] {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  return out;
}

const show = (evs: LineEvent[]) => evs.map((e) => (e.kind === 'line' ? e.line.toString('latin1') : '<too-long>'));
const bytesWithLines = fc.array(fc.oneof(fc.constantFrom(10, 13, 32, 65, 0, 255), fc.integer({ min: 0, max: 255 })), { maxLength: 400 }).map((a) => Uint8Array.from(a));

describe('line reader', () => {
  it('gives the same lines however the input is cut, none over the limit', () => {
    fc.assert(
      fc.property(bytesWithLines, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }), fc.integer({ min: 1, max: 40 }), (bytes, at, max) => {
        const whole = new LineReader(max).push(Buffer.from(bytes));
        const r = new LineReader(max);
        const pieces = cut(bytes, at).flatMap((c) => r.push(c));
        expect(show(pieces)).toEqual(show(whole));
        for (const e of whole) if (e.kind === 'line') expect(e.line.length).toBeLessThanOrEqual(max + 1);
      }),
      { numRuns: 1000 },
    );
  });

  it('frames no more lines than it is asked for, and the rest later in order', () => {
    fc.assert(
      fc.property(bytesWithLines, fc.integer({ min: 0, max: 3 }), (bytes, max) => {
        const whole = show(new LineReader(50).push(Buffer.from(bytes)));
        const r = new LineReader(50);
        const got: string[] = [];
        let batch = show(r.push(Buffer.from(bytes), max));
        expect(batch.length).toBeLessThanOrEqual(max);
        for (let i = 0; i < 1000 && (batch.length || r.backlog); i++) {
          got.push(...batch);
          batch = show(r.push(Buffer.alloc(0), Math.max(max, 1)));
          expect(batch.length).toBeLessThanOrEqual(Math.max(max, 1));
        }
        got.push(...batch);
        expect(got).toEqual(whole);
      }),
      { numRuns: 500 },
    );
  });
});

describe('IMAP command reader', () => {
  const run = (pieces: Buffer[]): ReaderEvent[] => {
    const r = new CommandReader({ maxLine: 64 });
    const out: ReaderEvent[] = [];
    const take = (evs: ReaderEvent[]) => {
      for (const ev of evs) {
        out.push(ev);
        if (ev.kind === 'literal') {
          r.decide(ev.size <= 16);
          take(r.push(Buffer.alloc(0)));
        }
      }
    };
    for (const p of pieces) take(r.push(p));
    return out;
  };
  it('gives the same commands and literal requests however the input is cut', () => {
    const token = fc.constantFrom('a NOOP\r\n', 'b LOGIN {3}\r\n', 'abc\r\n', '{2+}\r\n', 'xy', ' x\r\n', '{99}\r\n', '\n', 'z'.repeat(70), '"q"', '\r\n');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 20 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), (tokens, at) => {
        const bytes = Buffer.from(tokens.join(''), 'latin1');
        expect(JSON.stringify(run(cut(bytes, at)))).toBe(JSON.stringify(run([bytes])));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('SASL PLAIN', () => {
  it('decodes exactly what was encoded, and returns undefined (never throws) for anything else', () => {
    const part = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(part, part.filter((s) => s.length > 0), part.filter((s) => s.length > 0), (authzid, authcid, password) => {
        const b64 = Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8').toString('base64');
        expect(decodeSaslPlain(b64)).toEqual({ authzid, authcid, password });
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = decodeSaslPlain(s);
        if (r) expect(r.authcid.length && r.password.length).toBeTruthy();
      }),
      { numRuns: 1000 },
    );
  });
});
