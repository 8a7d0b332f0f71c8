// Binary content made storable as mail: every leaf part whose Content-Transfer-Encoding is "binary"
// is re-encoded as base64 (RFC 3516 4.4; Dovecot does the same when it saves such a message), so
// that BODY[] and BODY[part] can always be sent as an IMAP literal, which may not carry NUL. The
// rest of the message is kept byte for byte; BINARY[part] decodes the base64 back to the original.
import { analyzeMessage } from './structure.ts';
import type { MimePart } from './structure.ts';
import { base64Lines, isBinaryEncoding } from './transfer-encoding.ts';

function binaryLeaves(p: MimePart, out: MimePart[]): MimePart[] {
  if (p.parts) for (const c of p.parts) binaryLeaves(c, out);
  else if (p.message) binaryLeaves(p.message.root, out);
  else if (isBinaryEncoding(p.encoding)) out.push(p);
  return out;
}

const CTE_FIELD = /^content-transfer-encoding:[^\n]*\n(?:[ \t][^\n]*\n)*/im;

/** The message with its binary parts as base64; the same buffer when it has none. */
export function encodeBinaryParts(raw: Buffer): Buffer {
  const leaves = binaryLeaves(analyzeMessage(raw).root, []).sort((a, b) => a.h - b.h);
  if (leaves.length === 0) return raw;
  const out: Buffer[] = [];
  let at = 0;
  for (const p of leaves) {
    const header = raw.toString('latin1', p.h, p.b).replace(CTE_FIELD, 'Content-Transfer-Encoding: base64\r\n');
    out.push(raw.subarray(at, p.h), Buffer.from(header, 'latin1'), Buffer.from(base64Lines(raw.subarray(p.b, p.e)), 'latin1'));
    at = p.e;
  }
  out.push(raw.subarray(at));
  return Buffer.concat(out);
}
