// RFC 3516 4.4: a message APPENDed as a literal8 may hold binary parts (NUL and all). Stored as
// they are, BODY[part] could not be sent in a literal; they are stored as base64 (as Dovecot
// does), so BODY shows base64 and BINARY[part] gives back the original bytes.
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBinaryParts, analyzeMessage, resolvePart, decodeTransferEncoding } from '../../protocol/mime/index.ts';
import { closeHarnesses, imapHarness, imapSession } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

const CONTENT = Buffer.from([0x00, 0x2d, 0xe4, 0x0d, 0x0a, 0x0d, 0x0a]);
const head = (cte: string) => Buffer.from(`From: a@example.com\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`);

describe('RFC 3516 APPEND of binary content', () => {
  it('re-encodes binary leaf parts as base64 and leaves the rest byte for byte', () => {
    const multipart = Buffer.concat([
      Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Transfer-Encoding: BINARY\r\n\r\n'),
      CONTENT, Buffer.from('\r\n--b--\r\n'),
    ]);
    const out = encodeBinaryParts(multipart);
    expect(out.includes(0)).toBe(false);
    expect(out.toString('latin1')).toContain('--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n');
    const part = resolvePart(analyzeMessage(out), [2])!;
    expect(decodeTransferEncoding(out.subarray(part.start, part.end), part.encoding)).toEqual(CONTENT);
    const plain = Buffer.from('Subject: x\r\n\r\ntext\r\n');
    expect(encodeBinaryParts(plain)).toBe(plain);
  });

  it('answers BODY[1] in base64 and BINARY[1] with the original bytes', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    const msg = Buffer.concat([head('binary'), CONTENT]);
    a.client.write(Buffer.concat([Buffer.from(`b APPEND INBOX ~{${msg.length}+}\r\n`), msg, Buffer.from('\r\n')]));
    expect((await a.client.until((l) => l.startsWith('b ')))!.pop()).toMatch(/^b OK/);
    await a.run('SELECT INBOX');
    const body = await a.run('FETCH 1 (BODY.PEEK[1] BINARY.SIZE[1])');
    expect(body[0]).toMatch(/^\* 1 FETCH \(BODY\[1\] \{12\}$/);
    expect(body[1]).toBe(CONTENT.toString('base64') + ' BINARY.SIZE[1] 7)');
    a.client.send('c FETCH 1 BINARY.PEEK[1]');
    expect(await a.client.line()).toBe('* 1 FETCH (BINARY[1] ~{7}');
    expect(await a.client.bytes(7)).toEqual(CONTENT);
  });
});
