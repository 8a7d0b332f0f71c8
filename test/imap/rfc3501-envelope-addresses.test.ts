// RFC 3501 7.4.2 ENVELOPE addresses: (name adl mailbox host). An old-style `user@domain (Real Name)`
// names its sender in the comment; a route-addr keeps its source route in adl; groups open with
// (NIL NIL "group" NIL) and close with (NIL NIL NIL NIL).
import { describe, expect, it } from 'vitest';
import { analyzeMessage, formatEnvelope } from '../../protocol/mime/index.ts';

const envelopeFrom = (from: string) => {
  const env = formatEnvelope(analyzeMessage(Buffer.from(`From: ${from}\r\nSubject: s\r\n\r\nx\r\n`)));
  return env.slice(env.indexOf('((') , env.indexOf('))') + 2);
};

describe('RFC 3501 7.4.2 ENVELOPE addresses', () => {
  it('takes the display name from a phrase, a quoted string or a trailing comment', () => {
    expect(envelopeFrom('Real Name <user@domain>')).toBe('(("Real Name" NIL "user" "domain"))');
    expect(envelopeFrom('"Real, Name" <user@domain>')).toBe('(("Real, Name" NIL "user" "domain"))');
    expect(envelopeFrom('user@domain (Real Name)')).toBe('(("Real Name" NIL "user" "domain"))');
    expect(envelopeFrom('<user (c)@ (c) domain>')).toBe('((NIL NIL "user" "domain"))');
  });

  it('keeps a source route in adl', () => {
    expect(envelopeFrom('<@route:user@domain>')).toBe('((NIL "@route" "user" "domain"))');
  });
});
