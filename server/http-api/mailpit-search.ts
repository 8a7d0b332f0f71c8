// The part of Mailpit's search syntax that test suites use: `to:`, `from:`, `cc:`, `subject:`,
// `message-id:`, `is:read`/`is:unread`, `has:attachment`, and bare words (subject or text), each
// optionally quoted; a leading "-" negates a term. All terms must hold.
import type { ReceivedMessage } from '../embedding/received-message.ts';

type Test = (m: ReceivedMessage) => boolean;

const has = (haystack: string | undefined, needle: string) => (haystack ?? '').toLowerCase().includes(needle);

function term(key: string | undefined, value: string): Test {
  const v = value.toLowerCase();
  switch (key) {
    case 'to':
      return (m) => has(m.to, v) || has(m.envelopeTo, v) || m.recipients.some((r) => r.includes(v));
    case 'from':
      return (m) => has(m.from, v);
    case 'cc':
      return (m) => has(m.cc, v);
    case 'subject':
      return (m) => has(m.subject, v);
    case 'message-id':
      return (m) => has(m.messageId, v.replace(/^<|>$/g, ''));
    case 'is':
      if (v === 'read') return (m) => m.flags.includes('\\Seen');
      if (v === 'unread') return (m) => !m.flags.includes('\\Seen');
      break;
    case 'has':
      if (v === 'attachment' || v === 'attachments') return (m) => m.attachments.length > 0;
      break;
    case undefined:
      return (m) => has(m.subject, v) || has(m.text, v) || has(m.from, v) || has(m.to, v);
  }
  throw new RangeError(`unsupported search term ${key}:${value}`);
}

export function parseSearch(query: string): Test {
  const tests: Test[] = [];
  for (const [, neg, key, quoted, bare] of query.matchAll(/(-?)(?:([a-z-]+):)?(?:"([^"]*)"|(\S+))/gi)) {
    const t = term(key?.toLowerCase(), quoted ?? bare ?? '');
    tests.push(neg ? (m) => !t(m) : t);
  }
  return (m) => tests.every((t) => t(m));
}
