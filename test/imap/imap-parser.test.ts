// The IMAP command grammar: literals, quoting, lists, sequence sets, sections — and random bytes
// never throw anything but a ParseError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandReader, type CommandPart, type ReaderEvent } from '../../protocol/imap/parser/command-reader.ts';
import { parseCommand, ParseError, type Token } from '../../protocol/imap/parser/tokens.ts';
import { parseFetchItems } from '../../protocol/imap/fetch/fetch-items.ts';
import { byUid, bySequence, formatSet, parseSequenceSet, setMembership } from '../../protocol/imap/sequence-set.ts';
import { decodeMailboxName, encodeMailboxName } from '../../protocol/imap/mailbox-name.ts';
import type { MessageMeta } from '../../storage/types.ts';

const limits = { maxLine: 1000 };

function frame(input: string): ReaderEvent[] {
  const r = new CommandReader(limits);
  const out: ReaderEvent[] = [];
  const pending = [...r.push(Buffer.from(input, 'latin1'))];
  while (pending.length) {
    const ev = pending.shift()!;
    out.push(ev);
    if (ev.kind === 'literal') {
      r.decide(true);
      pending.push(...r.push(Buffer.alloc(0)));
    }
  }
  return out;
}

const commandParts = (evs: ReaderEvent[]): CommandPart[][] =>
  evs.filter((e): e is Extract<ReaderEvent, { kind: 'command' }> => e.kind === 'command').map((e) => e.parts);

describe('IMAP framing', () => {
  it('collects synchronising and non-synchronising literals into one command', () => {
    const evs = frame('a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n');
    expect(evs[0]).toMatchObject({ kind: 'literal', sync: true, size: 5 });
    const [parts] = commandParts(evs);
    const cmd = parseCommand(parts!);
    expect(cmd).toMatchObject({ tag: 'a1', name: 'LOGIN' });
    expect(cmd.args.map((a) => (a.t === 'literal' ? a.v.toString() : a))).toEqual(['alice', 'secret']);
  });

  it('refuses a line over the limit and keeps going with the next one', () => {
    const evs = frame(`a1 NOOP ${'x'.repeat(2000)}\r\na2 NOOP\r\n`);
    expect(evs[0]).toMatchObject({ kind: 'too-long', tag: 'a1' });
    expect(parseCommand(commandParts(evs)[0]!).tag).toBe('a2');
  });

  it('takes no byte of a literal, of either kind, until the session decides', () => {
    const r = new CommandReader(limits);
    expect(r.push(Buffer.from('a1 LOGIN {5+}\r\nalice x\r\n'))).toMatchObject([{ kind: 'literal', sync: false, size: 5, tag: 'a1' }]);
    expect(r.waiting).toBe(true);
    expect(r.push(Buffer.from('more'))).toEqual([]);
    // refusing a non-synchronising literal ends the reader: its bytes are on their way
    r.decide(false);
    expect(r.push(Buffer.from('a2 NOOP\r\n'))).toEqual([]);
    const s = new CommandReader(limits);
    s.push(Buffer.from('a1 LOGIN {5}\r\n'));
    // a refused synchronising literal was never sent: the next line is the next command
    s.decide(false);
    expect(s.push(Buffer.from('a2 NOOP\r\n'))).toMatchObject([{ kind: 'command', parts: [{ text: 'a2 NOOP' }] }]);
  });

  it('reports a line of any length over the limit once', () => {
    const r = new CommandReader(limits);
    const events = [];
    for (let i = 0; i < 50; i++) events.push(...r.push(Buffer.alloc(999, 'x')));
    events.push(...r.push(Buffer.from('\r\na2 NOOP\r\n')));
    expect(events.map((e) => e.kind)).toEqual(['too-long', 'command']);
  });
});

describe('IMAP parser', () => {
  const parse = (line: string) => parseCommand([{ text: line }]);

  it('parses quoted strings, lists, NIL-like atoms and UID commands', () => {
    const c = parse('t UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)');
    expect(c.name).toBe('UID FETCH');
    expect(c.args[0]).toEqual({ t: 'atom', v: '1:*' });
    const items = parseFetchItems(c.args.slice(1)).items;
    expect(items[1]).toMatchObject({ kind: 'section', label: 'BODY[HEADER.FIELDS (FROM TO)]', peek: true, partial: { start: 0, length: 100 } });
    expect(parse('t LOGIN "al\\"ice" "p w"').args).toEqual([{ t: 'string', v: 'al"ice' }, { t: 'string', v: 'p w' }]);
  });

  it('rejects malformed commands with a ParseError', () => {
    for (const bad of ['', 't', 't LOGIN "unterminated', 't FETCH 1 (FLAGS', 't FETCH 1 FLAGS)', '+ NOOP', 't FETCH 1 BODY[1.X]']) {
      expect(() => {
        const c = parse(bad);
        if (c.name === 'FETCH') parseFetchItems(c.args.slice(1));
      }).toThrow(ParseError);
    }
  });

  it('round-trips generated valid commands', () => {
    const atomArb = fc.stringMatching(/^[A-Za-z0-9.\-_]{1,12}$/);
    const quotedArb = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
    const tokenArb: fc.Arbitrary<Token> = fc.letrec<{ tok: Token }>((tie) => ({
      tok: fc.oneof(
        { depthSize: 'small' },
        atomArb.map((v) => ({ t: 'atom' as const, v })),
        quotedArb.map((v) => ({ t: 'string' as const, v })),
        fc.array(tie('tok'), { maxLength: 4 }).map((v) => ({ t: 'list' as const, v })),
      ),
    })).tok;
    const render = (t: Token): string =>
      t.t === 'atom' ? t.v : t.t === 'string' ? `"${t.v.replace(/[\\"]/g, '\\$&')}"` : t.t === 'list' ? `(${t.v.map(render).join(' ')})` : '';
    fc.assert(
      fc.property(atomArb, fc.array(tokenArb, { maxLength: 6 }), (tag, args) => {
        const c = parse(`${tag} NOOP ${args.map(render).join(' ')}`.trimEnd());
        expect(c.tag).toBe(tag);
        expect(c.args).toEqual(args);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a ParseError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = new CommandReader(limits);
        for (const ev of r.push(Buffer.from([...bytes, 13, 10]))) {
          if (ev.kind !== 'command') continue;
          try {
            const c = parseCommand(ev.parts);
            if (c.name.endsWith('FETCH')) parseFetchItems(c.args.slice(1));
          } catch (err) {
            if (!(err instanceof ParseError)) throw err;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('sequence sets and mailbox names', () => {
  it('resolves sequence and UID sets, "*" included, in both orders', () => {
    const metas = [3, 5, 9, 12].map((uid) => ({ uid }) as never);
    expect(bySequence(parseSequenceSet('2:*'), 4)).toEqual([1, 2, 3]);
    expect(bySequence(parseSequenceSet('4:2,1'), 4)).toEqual([0, 1, 2, 3]);
    expect(byUid(parseSequenceSet('6:*'), metas)).toEqual([2, 3]);
    expect(byUid(parseSequenceSet('100:*'), metas)).toEqual([3]);
    expect(formatSet([1, 2, 3, 5, 7, 8])).toBe('1:3,5,7:8');
    expect(() => parseSequenceSet('0:3')).toThrow(ParseError);
  });

  it('resolves any set to exactly the messages whose numbers or UIDs it names', () => {
    const bound = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant('*'));
    const item = fc.tuple(bound, fc.option(bound, { nil: undefined })).map(([a, b]) => (b === undefined ? `${a}` : `${a}:${b}`));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 25 }), fc.array(item, { minLength: 1, maxLength: 3 }), (uids, items) => {
        const metas = [...uids].sort((a, b) => a - b).map((uid) => ({ uid }) as never as MessageMeta);
        const set = parseSequenceSet(items.join(','));
        const named = (n: number, max: number) => set.some(([a, b]) => {
          const [x, y] = [a === Infinity ? max : a, b === Infinity ? max : b].sort((p, q) => p - q);
          return n >= x! && n <= y!;
        });
        const maxUid = metas.length ? metas[metas.length - 1]!.uid : 0;
        expect(byUid(set, metas)).toEqual(metas.flatMap((m, i) => (named(m.uid, maxUid) ? [i] : [])));
        const bySeqExpected = metas.flatMap((_, i) => (named(i + 1, metas.length) ? [i] : []));
        expect(bySequence(set, metas.length)).toEqual(bySeqExpected);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes modified UTF-7 both ways', () => {
    expect(encodeMailboxName('Entwürfe')).toBe('Entw&APw-rfe');
    expect(encodeMailboxName('日本語')).toBe('&ZeVnLIqe-');
    expect(encodeMailboxName('A&B')).toBe('A&-B');
    for (const n of ['Entwürfe', '日本語', 'A&B', 'plain']) expect(decodeMailboxName(encodeMailboxName(n))).toBe(n);
  });
});

describe('sequence sets cost their distinct ranges, not their length', () => {
  it('resolves a set that repeats 1:* as often as a 64 KB line holds against 20,000 messages at once', () => {
    const metas = Array.from({ length: 20_000 }, (_, i) => ({ uid: i * 2 + 1 }) as never as MessageMeta);
    const set = parseSequenceSet(Array(16_000).fill('1:*').join(','));
    const t0 = performance.now();
    expect(byUid(set, metas).length).toBe(20_000);
    expect(bySequence(set, 20_000).length).toBe(20_000);
    // was one walk of the mailbox per item into a Set: 3.2 × 10^8 steps
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('answers membership like a scan of the set would', () => {
    const bound = fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant('*'));
    const item = fc.tuple(bound, fc.option(bound, { nil: undefined })).map(([a, b]) => (b === undefined ? `${a}` : `${a}:${b}`));
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), (items, n, max) => {
        const set = parseSequenceSet(items.join(','));
        const scan = set.some(([a, b]) => {
          const [x, y] = [a === Infinity ? max : a, b === Infinity ? max : b].sort((p, q) => p - q);
          return n >= x! && n <= y!;
        });
        expect(setMembership(set, max)(n)).toBe(scan);
      }),
      { numRuns: 1000 },
    );
  });
});
