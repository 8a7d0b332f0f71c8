// SMTP and LMTP ingress (smtp-server). Final delivery only: mail for NAME@anydomain goes to NAME's
// INBOX, an unknown NAME is refused with 550 at RCPT time. "250" is sent only after the store has
// the message on disk (invariant 3); a message that cannot be stored gets a temporary 4xx and is not
// half-stored; under pressure the governor's refusal becomes 421 at the door or 451 at DATA.
import type { SecureVersion } from 'node:tls';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { OverloadedError, type Governor, type Logger, type Protocol } from '../../protocol/session-context.ts';
import { StoreFullError, StoreUnavailableError } from '../../storage/errors.ts';
import type { MailStore } from '../../storage/types.ts';
import { readAll } from '../../storage/read-all.ts';
import type { UserDirectory } from '../users/index.ts';
import { LISTEN_BACKLOG } from '../listeners.ts';
import { greetInstantly } from './instant-greeting.ts';
import { finalDeliveryMessage } from './trace-headers.ts';

export interface IngressOptions {
  host: string;
  smtpPort: number;
  lmtpPort: number;
  store: MailStore;
  users: UserDirectory;
  governor: Governor;
  log: Logger;
  maxMessageSize: number;
  maxRecipients?: number;
  /** Inactivity before a connection is dropped, ms. */
  socketTimeoutMs?: number;
  /** Greet at once: no 100 ms early-talker wait, no reverse DNS (the embedded server). */
  instantGreeting?: boolean;
  /** Offer AUTH and accept any credentials (for applications that insist on logging in). */
  acceptAnyAuth?: boolean;
  /** Scripted replies for tests (ChaosStore.smtpReply). */
  faults?: { takeSmtpReply(stage: 'MAIL' | 'RCPT' | 'DATA'): { code: number; message: string } | undefined };
  /** Certificate for SMTP STARTTLS (LMTP stays plaintext: it is for the local MTA). */
  tls?: TlsOptions;
}

type TlsOptions = { key: string; cert: string; minVersion: SecureVersion };

export interface Ingress {
  smtpPort: number;
  lmtpPort: number;
  /** A renewed certificate, for connections from now on. */
  setTls(options: TlsOptions): void;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string): Error & { responseCode: number } =>
  Object.assign(new Error(message), { responseCode: code });

function createListener(protocol: 'smtp' | 'lmtp', o: IngressOptions): SMTPServer {
  const releases = new Map<string, () => void>();
  const server = new SMTPServer({
    lmtp: protocol === 'lmtp',
    name: 'tegami',
    banner: 'tegami mail store',
    authOptional: true,
    disabledCommands: [...(o.acceptAnyAuth ? [] : ['AUTH']), ...(protocol === 'smtp' && o.tls ? [] : ['STARTTLS'])],
    ...(protocol === 'smtp' ? o.tls : undefined),
    allowInsecureAuth: o.acceptAnyAuth === true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username });
    },
    disableReverseLookup: o.instantGreeting === true,
    size: o.maxMessageSize,
    rejectOversized: true,
    logger: false,
    socketTimeout: o.socketTimeoutMs ?? 5 * 60_000,
    onConnect(session, callback) {
      const admission = o.governor.admitSession(protocol as Protocol, session.remoteAddress);
      if (admission.refused) return callback(smtpError(421, `4.3.2 ${admission.text}`));
      // No login to wait for: its work is measured as DATA in the heavy queue.
      admission.started();
      releases.set(session.id, () => admission.release());
      callback();
    },
    onClose(session) {
      releases.get(session.id)?.();
      releases.delete(session.id);
    },
    onMailFrom(_address, _session, callback) {
      const scripted = o.faults?.takeSmtpReply('MAIL');
      callback(scripted ? smtpError(scripted.code, scripted.message) : undefined);
    },
    onRcptTo(address, session, callback) {
      const scripted = o.faults?.takeSmtpReply('RCPT');
      if (scripted) return callback(smtpError(scripted.code, scripted.message));
      if (session.envelope.rcptTo.length >= (o.maxRecipients ?? 100)) return callback(smtpError(452, '4.5.3 too many recipients'));
      if (!o.users.has(address.address)) return callback(smtpError(550, `5.1.1 <${address.address}>: no such user here`));
      callback();
    },
    onData(stream, session, callback) {
      const scripted = o.faults?.takeSmtpReply('DATA');
      if (scripted) {
        void readAll(stream).then(() => callback(smtpError(scripted.code, scripted.message)), callback);
        return;
      }
      void deliver(protocol, stream, session, o).then(
        () => callback(null, '2.0.0 OK: message stored'),
        (err) => callback(err),
      );
    },
  });
  server.on('error', (err) => o.log.warn({ err, protocol }, 'ingress connection error'));
  if (o.instantGreeting) greetInstantly(server);
  return server;
}

/**
 * The message, or undefined once it outgrows `limit`: from then on its bytes are counted and
 * dropped as they stream past. DATA over --max-message-size was buffered whole before the 552
 * (smtp-server only says so at the end): a client could make the server hold any size it sent.
 */
async function readWithin(stream: SMTPServerDataStream, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) parts.push(chunk);
    else parts.length = 0;
  }
  return size <= limit ? Buffer.concat(parts, size) : undefined;
}

async function deliver(protocol: 'smtp' | 'lmtp', stream: SMTPServerDataStream, session: SMTPServerSession, o: IngressOptions): Promise<void> {
  const body = await readWithin(stream, o.maxMessageSize);
  if (stream.sizeExceeded) return; // smtp-server answers 552 itself (rejectOversized)
  if (!body) throw smtpError(552, '5.3.4 message exceeds fixed maximum message size');
  const recipients = [...new Set(session.envelope.rcptTo.map((r) => o.users.canonical(r.address)))];
  const raw = finalDeliveryMessage(body, {
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    rcptTo: session.envelope.rcptTo.length === 1 ? session.envelope.rcptTo[0]!.address : undefined,
    heloName: session.hostNameAppearsAs,
    remoteAddress: session.remoteAddress,
    protocol: protocol.toUpperCase(),
    id: session.id,
  });
  try {
    await o.governor.heavy(protocol, recipients[0]!, 'DATA', async () => {
      await Promise.all(recipients.map((u) => o.store.ensureUser(u)));
      await o.store.deliver(recipients, raw);
    });
  } catch (err) {
    if (err instanceof OverloadedError) throw smtpError(451, '4.3.2 server busy, try again later');
    // RFC 3463 X.3.1 "mail system full"; 452 (RFC 5321 "insufficient system storage") is temporary,
    // so the sender keeps the message and retries.
    if (err instanceof StoreFullError) throw smtpError(452, '4.3.1 insufficient system storage, try again later');
    if (err instanceof StoreUnavailableError) throw smtpError(451, '4.3.0 mailbox temporarily unavailable, try again later');
    o.log.error({ err, protocol }, 'delivery failed');
    throw smtpError(451, '4.3.0 local error, try again later');
  }
}

async function bind(server: SMTPServer, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  return (server.server.address() as { port: number }).port;
}

export async function startIngress(o: IngressOptions): Promise<Ingress> {
  const smtp = createListener('smtp', o);
  const lmtp = createListener('lmtp', o);
  const smtpPort = await bind(smtp, o.host, o.smtpPort);
  let lmtpPort: number;
  try {
    lmtpPort = await bind(lmtp, o.host, o.lmtpPort);
  } catch (err) {
    await new Promise<void>((r) => smtp.close(() => r()));
    throw err;
  }
  return {
    smtpPort,
    lmtpPort,
    setTls: (options) => smtp.updateSecureContext(options),
    async close() {
      await Promise.all([new Promise<void>((r) => smtp.close(() => r())), new Promise<void>((r) => lmtp.close(() => r()))]);
    },
  };
}
