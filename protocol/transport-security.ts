// Whether a password may cross this connection, and the switch of a plaintext connection to TLS
// (IMAP STARTTLS, POP3 STLS — RFC 2595) that both protocols share.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { TlsProvider } from './session-context.ts';

/**
 * 'loopback' (the default): passwords in plaintext only from this machine (127.0.0.0/8, ::1), where
 * nobody can listen on the wire — Thunderbird on localhost works with "Connection security: None";
 * from anywhere else only after TLS. 'always' / 'never' override that for every address.
 */
export type PlaintextLogin = 'loopback' | 'always' | 'never';

export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function loginAllowed(policy: PlaintextLogin | undefined, remoteAddress: string, encrypted: boolean): boolean {
  if (encrypted) return true;
  switch (policy ?? 'loopback') {
    case 'always': return true;
    case 'never': return false;
    case 'loopback': return isLoopback(remoteAddress);
  }
}

export function isEncrypted(socket: Socket): boolean {
  return socket instanceof TLSSocket && socket.encrypted;
}

/**
 * Hands a plaintext socket, whose "begin TLS" answer has just been written, to TLS. Its 'data' and
 * timeout listeners go: from here on every byte read is TLS. The caller must drop whatever plaintext
 * it had already read but not executed — commands pipelined after STARTTLS were sent before the
 * handshake and could have been injected by anyone on the path (CVE-2011-0411).
 */
export function switchToTls(plain: Socket, provider: TlsProvider): TLSSocket {
  plain.removeAllListeners('data');
  plain.removeAllListeners('timeout');
  plain.setTimeout(0);
  return provider.secure(plain);
}
