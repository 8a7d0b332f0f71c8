// The server's TLS identity for every listener: IMAP STARTTLS, POP3 STLS, SMTP STARTTLS and the
// implicit-TLS ports all take the current SecureContext from here, so a certificate renewed on disk
// reaches new connections of every protocol at once while open ones keep theirs.
//
// Files given with --tls-cert/--tls-key are polled (stat, once a second, like users.json): a change
// of either is reloaded; a half-written pair (key and certificate not matching yet) keeps the old
// context until the next poll sees both files whole.
import { statSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { Logger, TlsProvider } from '../../protocol/session-context.ts';
import { dataDirCertificate, generateLocalhostCertificate, type CertificatePair } from './localhost-certificate.ts';

/** RFC 8996 retired TLS 1.0 and 1.1. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** A client that has not finished its TLS handshake by then is cut off (Node's tls.Server: 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

/** What a server is told to use: a generated certificate, PEM text, or files to follow. */
export type TlsSource = true | CertificatePair | { certFile: string; keyFile: string };

export class TlsCertificates implements TlsProvider {
  private context: SecureContext;
  private readonly changeListeners: ((pair: CertificatePair) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stamp = '';

  private constructor(private pair: CertificatePair, private readonly log: Logger) {
    this.context = TlsCertificates.contextFor(pair);
  }

  /** `true`: the data directory's generated certificate, or a fresh in-memory one without a data directory. */
  static async open(source: TlsSource, opts: { dataDir?: string; log: Logger; pollMs?: number }): Promise<TlsCertificates> {
    if (source === true) {
      if (!opts.dataDir) return new TlsCertificates(await generateLocalhostCertificate(), opts.log);
      const { pair, created, dir } = await dataDirCertificate(opts.dataDir);
      opts.log.info({ dir, created }, created ? 'generated a self-signed TLS certificate for localhost' : 'using the generated TLS certificate');
      return new TlsCertificates(pair, opts.log);
    }
    if ('cert' in source) return new TlsCertificates(source, opts.log);
    const files = source;
    const certs = new TlsCertificates(readPair(files), opts.log);
    certs.stamp = fileStamp(files);
    certs.timer = setInterval(() => certs.reloadIfChanged(files), opts.pollMs ?? 1000);
    certs.timer.unref();
    return certs;
  }

  private static contextFor(pair: CertificatePair): SecureContext {
    return createSecureContext({ cert: pair.cert, key: pair.key, minVersion: MIN_TLS_VERSION });
  }

  /** The certificate new connections get (PEM), e.g. for a test client to trust. */
  get cert(): string {
    return this.pair.cert;
  }

  /** Key and certificate with the TLS options every listener uses (for smtp-server). */
  get options(): CertificatePair & { minVersion: typeof MIN_TLS_VERSION } {
    return { ...this.pair, minVersion: MIN_TLS_VERSION };
  }

  secure(socket: Socket): TLSSocket {
    const tls = new TLSSocket(socket, { isServer: true, secureContext: this.context });
    // A handshake that cannot finish must not keep the connection: Node never closes a TLS socket
    // whose peer went away mid-handshake once something (a greeting) was written to it — the write
    // waits for the handshake, and the end waits for the write. Measured: 'end', then nothing.
    const abandon = () => tls.destroy();
    const timer = setTimeout(abandon, HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    tls.once('end', abandon);
    tls.once('secure', () => {
      clearTimeout(timer);
      tls.off('end', abandon);
    });
    tls.once('close', () => clearTimeout(timer));
    return tls;
  }

  onChange(listener: (pair: CertificatePair) => void): void {
    this.changeListeners.push(listener);
  }

  private reloadIfChanged(files: { certFile: string; keyFile: string }): void {
    const stamp = fileStamp(files);
    if (stamp === this.stamp) return;
    let pair: CertificatePair;
    let context: SecureContext;
    try {
      pair = readPair(files);
      context = TlsCertificates.contextFor(pair);
    } catch (err) {
      // Keep serving the old one; a pair caught half-replaced is read again at the next change.
      this.log.warn({ err, ...files }, 'TLS certificate not reloaded');
      this.stamp = stamp;
      return;
    }
    this.stamp = stamp;
    this.pair = pair;
    this.context = context;
    this.log.info(files, 'TLS certificate reloaded');
    for (const l of this.changeListeners) l(pair);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function readPair(files: { certFile: string; keyFile: string }): CertificatePair {
  return { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
}

function fileStamp(files: { certFile: string; keyFile: string }): string {
  return [files.certFile, files.keyFile].map((f) => {
    try {
      const s = statSync(f);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'absent';
    }
  }).join('/');
}
