// Header blocks, read straight from the message bytes: where the header ends, where the body starts,
// and the fields (unfolded, decoded as latin1 so every byte survives and can be sent back as-is).

export interface HeaderBlock {
  /** Offset of the first byte after the blank line (or the end, when there is no body). */
  bodyStart: number;
  fields: { name: string; value: string }[];
}

/** Finds the end of the header that starts at `start`: the first empty line. */
export function headerEnd(raw: Buffer, start: number, end: number): number {
  if (start < end && (raw[start] === 0x0a || (raw[start] === 0x0d && raw[start + 1] === 0x0a))) {
    return raw[start] === 0x0a ? start + 1 : start + 2;
  }
  let i = start;
  for (;;) {
    const nl = raw.indexOf(0x0a, i);
    if (nl < 0 || nl >= end) return end;
    const next = nl + 1;
    if (next < end && raw[next] === 0x0a) return next + 1;
    if (next + 1 < end && raw[next] === 0x0d && raw[next + 1] === 0x0a) return next + 2;
    if (next >= end) return end;
    i = next;
  }
}

export function parseHeader(raw: Buffer, start: number, end: number): HeaderBlock {
  const bodyStart = headerEnd(raw, start, end);
  const text = raw.toString('latin1', start, bodyStart);
  const fields: { name: string; value: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) {
      fields[fields.length - 1]!.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return { bodyStart, fields };
}

export function field(h: HeaderBlock, name: string): string | undefined {
  return h.fields.find((f) => f.name === name)?.value;
}
