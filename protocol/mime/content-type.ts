// Structured MIME header values: `token/token; name=value; name="quoted value"` (RFC 2045),
// lenient with what real mail contains.

export type Params = [string, string][];

export interface ParsedValue {
  value: string;
  params: Params;
}

/** Splits on ";" outside quotes, then name=value pairs; values are unquoted. */
export function parseStructured(input: string): ParsedValue {
  const pieces: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && quoted && i + 1 < input.length) {
      cur += c + input[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      pieces.push(cur);
      cur = '';
    } else cur += c;
  }
  pieces.push(cur);
  const value = stripComments(pieces.shift() ?? '').trim();
  const params: Params = [];
  for (const p of pieces) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const name = p.slice(0, eq).trim();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"')) v = v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    if (name) params.push([name, v]);
  }
  return { value, params };
}

function stripComments(s: string): string {
  return s.replace(/\([^()]*\)/g, '');
}

export function param(params: Params, name: string): string | undefined {
  const n = name.toLowerCase();
  return params.find(([k]) => k.toLowerCase() === n)?.[1];
}
