// The certificate: with none given, a self-signed one for localhost is made once per data directory
// (0600, reused across restarts, so a client that accepted it keeps trusting it); files given with
// --tls-cert/--tls-key are followed — new connections of every protocol get a renewed certificate,
// open ones keep theirs. TLS below 1.2 is refused.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { TegamiServer } from '../../server/server.ts';
import { startTlsServer } from '../helpers/tls-server.ts';
import { dataDirCertificate, generateLocalhostCertificate, type CertificatePair } from '../../server/tls/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tegami-tls-'));
  dirs.push(d);
  return d;
};
let proc: ServerProcess | undefined;
let server: TegamiServer | undefined;
afterEach(async () => {
  await proc?.stop();
  await server?.close();
  proc = server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const mode = (f: string) => statSync(f).mode & 0o777;

/** The certificate a new connection is shown: on a TLS port, or after the protocol's STARTTLS. */
async function peerFingerprint(kind: 'imaps' | 'pop3' | 'smtp', port: number): Promise<string> {
  const opts = { rejectUnauthorized: false };
  let c: LineClient;
  if (kind === 'imaps') {
    c = await LineClient.connectTls(port, opts);
  } else {
    c = await LineClient.connect(port);
    await c.line();
    if (kind === 'pop3') expect(await c.command('STLS')).toMatch(/^\+OK/);
    else {
      c.send('EHLO test');
      await c.until((l) => l.startsWith('250 '));
      expect(await c.command('STARTTLS')).toMatch(/^220/);
    }
    await c.startTls(opts);
  }
  const fp = (c.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
  c.close();
  return fp;
}

describe('generated certificate', () => {
  it('is made once into DIR/tls (0600, directory 0700), for localhost and 127.0.0.1, and reused', async () => {
    const dir = tempDir();
    const first = await dataDirCertificate(dir);
    expect(first.created).toBe(true);
    expect(mode(join(dir, 'tls'))).toBe(0o700);
    expect(mode(join(dir, 'tls', 'cert.pem'))).toBe(0o600);
    expect(mode(join(dir, 'tls', 'key.pem'))).toBe(0o600);
    const x = new X509Certificate(first.pair.cert);
    expect(x.subjectAltName).toContain('DNS:localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.ca).toBe(false);
    const again = await dataDirCertificate(dir);
    expect(again.created).toBe(false);
    expect(again.pair).toEqual(first.pair);
  });

  it('is replaced when it is about to expire', async () => {
    const dir = tempDir();
    const first = await dataDirCertificate(dir);
    const later = new Date(Date.now() + 810 * 86_400_000);
    const renewed = await dataDirCertificate(dir, later);
    expect(renewed.created).toBe(true);
    expect(fingerprint(renewed.pair.cert)).not.toBe(fingerprint(first.pair.cert));
  });

  it('survives a server restart on the same data directory; a memory server gets its own', async () => {
    const dir = tempDir();
    server = await startTlsServer({ dataDir: dir });
    const before = server.certificate!;
    expect(await peerFingerprint('pop3', server.ports.pop3)).toBe(fingerprint(before));
    await server.close();
    server = await startTlsServer({ dataDir: dir });
    expect(server.certificate).toBe(before);
    await server.close();
    server = await startTlsServer();
    expect(fingerprint(server.certificate!)).not.toBe(fingerprint(before));
  });
});

describe('--tls-cert / --tls-key', () => {
  it('serves the given files and follows their replacement on IMAPS, POP3 STLS and SMTP STARTTLS', async () => {
    const dir = tempDir();
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    const install = (p: CertificatePair) => {
      // as certbot and friends do: each file replaced whole
      writeFileSync(keyFile + '.new', p.key);
      renameSync(keyFile + '.new', keyFile);
      writeFileSync(certFile + '.new', p.cert);
      renameSync(certFile + '.new', certFile);
    };
    const a = await generateLocalhostCertificate();
    const b = await generateLocalhostCertificate();
    install(a);
    proc = await startServerProcess(['--memory', '--tls-cert', certFile, '--tls-key', keyFile, '--imaps-port', '0', '--pop3s-port', '0']);
    const ports = proc.ports as typeof proc.ports & { imaps: number; pop3s: number };
    expect(ports.imaps).toBeGreaterThan(0);
    expect(ports.pop3s).toBeGreaterThan(0);
    expect(await peerFingerprint('imaps', ports.imaps)).toBe(fingerprint(a.cert));
    const held = await LineClient.connectTls(ports.imaps, { ca: a.cert });
    await held.line();

    install(b);
    const deadline = Date.now() + 10_000;
    while ((await peerFingerprint('imaps', ports.imaps)) !== fingerprint(b.cert)) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await peerFingerprint('pop3', ports.pop3)).toBe(fingerprint(b.cert));
    expect(await peerFingerprint('smtp', ports.smtp)).toBe(fingerprint(b.cert));
    expect(await held.command('a NOOP')).toBe('a OK NOOP completed'); // the open session goes on
    held.close();
  }, 30_000);

  it('refuses to start with only one of the two', async () => {
    await expect(startServerProcess(['--memory', '--tls-cert', '/nonexistent.pem'], 10_000)).rejects.toThrow(/--tls-cert and --tls-key go together/);
  });
});

describe('protocol versions', () => {
  it('refuses TLS 1.1 and accepts 1.2 and 1.3', async () => {
    server = await startTlsServer({ imapsPort: 0 });
    const attempt = (v: tls.SecureVersion) => new Promise<string>((resolve) => {
      const s = tls.connect({ port: server!.ports.imaps!, host: '127.0.0.1', rejectUnauthorized: false, minVersion: v, maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(s.getProtocol() ?? 'none');
        s.destroy();
      });
      s.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
    });
    expect(await attempt('TLSv1.1')).toMatch(/^error /);
    expect(await attempt('TLSv1.2')).toBe('TLSv1.2');
    expect(await attempt('TLSv1.3')).toBe('TLSv1.3');
  });
});
