// Calls `onLine` with each CRLF-terminated line a socket receives (bytes as latin1, without the CRLF).
import type net from 'node:net';

export function onLines(s: net.Socket, onLine: (line: string) => void): void {
  let buf = '';
  s.setNoDelay(true);
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(line);
    }
  });
}
