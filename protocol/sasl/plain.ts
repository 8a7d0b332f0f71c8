// SASL PLAIN (RFC 4616): base64 of "authzid NUL authcid NUL password". Shared by POP3 AUTH and
// IMAP AUTHENTICATE.
export interface PlainCredentials {
  authzid: string;
  authcid: string;
  password: string;
}

export function decodeSaslPlain(b64: string): PlainCredentials | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  const parts = Buffer.from(b64, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3 || !parts[1] || !parts[2]) return undefined;
  return { authzid: parts[0]!, authcid: parts[1], password: parts[2] };
}
