// A stream of byte chunks (a body from readBody, an SMTP DATA stream) gathered into one buffer, for
// the places that need a message whole: MIME parsing, SEARCH on decoded text, the embedding API.
export async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}
