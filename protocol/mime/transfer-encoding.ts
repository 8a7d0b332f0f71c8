// Content-Transfer-Encoding (RFC 2045 6) undone, for FETCH BINARY (RFC 3516). The identity encodings
// pass bytes through untouched; base64 and quoted-printable are decoded; anything else is unknown,
// which the caller must answer with NO [UNKNOWN-CTE] rather than guess.
import libqp from 'libqp';

const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);

const normalize = (encoding: string | undefined): string => (encoding ?? '').trim().toLowerCase();

/** True when the encoding leaves the bytes as they are (also when the part names none). */
export const isIdentityEncoding = (encoding: string | undefined): boolean => IDENTITY.has(normalize(encoding));

/** True when decodeTransferEncoding can decode the encoding. */
export const isKnownEncoding = (encoding: string | undefined): boolean => {
  const e = normalize(encoding);
  return IDENTITY.has(e) || e === 'base64' || e === 'quoted-printable';
};

/** Is this part's content sent as it is, 8-bit and NUL included? */
export const isBinaryEncoding = (encoding: string | undefined): boolean => normalize(encoding) === 'binary';

/** base64 in lines of 76 characters (RFC 2045 6.8), CRLF between them. */
export const base64Lines = (bytes: Buffer): string => bytes.toString('base64').replace(/(.{76})(?=.)/g, '$1\r\n');

/** The decoded bytes, or undefined for an encoding this server does not know. */
export function decodeTransferEncoding(bytes: Buffer, encoding: string | undefined): Buffer | undefined {
  const e = normalize(encoding);
  if (IDENTITY.has(e)) return bytes;
  // Line breaks and stray characters are not part of the data (RFC 2045 6.8: "ignored").
  if (e === 'base64') return Buffer.from(bytes.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (e === 'quoted-printable') return libqp.decode(bytes);
  return undefined;
}
