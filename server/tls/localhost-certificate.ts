// The certificate tegami uses when it is given none: self-signed for localhost (SAN DNS:localhost,
// IP:127.0.0.1, IP:::1), made once per data directory and reused across restarts, so a mail client
// that accepted it once keeps trusting it. An in-memory server makes a fresh one per start.
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificatePair {
  /** PEM */
  cert: string;
  /** PEM */
  key: string;
}

/**
 * 825 days is the longest validity Apple's TLS clients accept for a server certificate; a stored
 * certificate this close to expiry is replaced at start so a running server never serves an expired one.
 */
const VALIDITY_DAYS = 825;
const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;

export async function generateLocalhostCertificate(now = new Date()): Promise<CertificatePair> {
  // Loaded only when a certificate is made: its ASN.1 libraries take ~0.5 s to import on a busy machine.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }, { name: 'organizationName', value: 'tegami (self-signed)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_MS), // tolerate a client clock a little behind
    notAfterDate: new Date(now.getTime() + VALIDITY_DAYS * DAY_MS),
    extensions: [
      // not a CA: Firefox/Thunderbird refuse a CA certificate as a server's own (CA_CERT_USED_AS_END_ENTITY)
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';

/**
 * DIR/tls/{cert,key}.pem: read them if they hold a certificate valid for at least another 30 days,
 * otherwise generate and write them (0600, each replaced atomically).
 */
export async function dataDirCertificate(dataDir: string, now = new Date()): Promise<{ pair: CertificatePair; created: boolean; dir: string }> {
  const dir = join(dataDir, 'tls');
  const stored = readStored(dir);
  if (stored && new Date(new X509Certificate(stored.cert).validTo).getTime() - now.getTime() > RENEW_BEFORE_DAYS * DAY_MS) {
    return { pair: stored, created: false, dir };
  }
  const pair = await generateLocalhostCertificate(now);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writePrivate(join(dir, KEY_FILE), pair.key);
    writePrivate(join(dir, CERT_FILE), pair.cert);
  } catch (err) {
    throw new Error(`cannot write the generated TLS certificate into ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return { pair, created: true, dir };
}

function readStored(dir: string): CertificatePair | undefined {
  try {
    const pair = { cert: readFileSync(join(dir, CERT_FILE), 'utf8'), key: readFileSync(join(dir, KEY_FILE), 'utf8') };
    new X509Certificate(pair.cert); // unreadable → made anew
    return pair;
  } catch {
    return undefined;
  }
}

function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600); // the umask may have narrowed it, never widened; keep it exact
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true }); // a full disk leaves no half-written key behind
    throw err;
  }
}
