// MIME analysis for IMAP: the structure computed once at delivery (analyzeMessage, the store's
// MessageAnalyzer), and what FETCH and SEARCH derive from it.
//
//   analyzeMessage(raw) → MessageSummary (JSON-safe; stored with the message)
//   formatEnvelope(summary), formatBodyStructure(summary, extensible) → IMAP syntax
//   resolveSection(summary, { part, kind, fields }) → { start, end, filter? } byte range into the
//     message; with `filter`, pass the bytes through filterHeaderFields(bytes, filter)
//   resolvePart(summary, part) → { start, end, encoding } of a part's body, for FETCH BINARY;
//     decodeTransferEncoding(bytes, encoding) undoes base64/quoted-printable (undefined: unknown)
//   searchText(raw, summary, key) → SEARCH HEADER/BODY/TEXT on decoded content
export { analyzeMessage } from './structure.ts';
export type { MessageSummary, MimePart, EnvelopeFields } from './structure.ts';
export { formatEnvelope } from './envelope.ts';
export { formatBodyStructure } from './body-structure.ts';
export { resolveSection, resolvePart, filterHeaderFields } from './sections.ts';
export type { SectionSpec, SectionRange, PartRange } from './sections.ts';
export { decodeTransferEncoding, isIdentityEncoding, isKnownEncoding } from './transfer-encoding.ts';
export { encodeBinaryParts } from './binary-parts.ts';
export { decodeHeaderWords, searchText } from './search-text.ts';
export type { TextKey } from './search-text.ts';
export { imapString, nstring, stringList } from './imap-string.ts';
