// Sends mail into tegami through its SMTP listener, as any MTA or application would.
import nodemailer from 'nodemailer';

export async function sendMail(port: number, to: string | string[], subject: string, text = 'hello', messageId?: string): Promise<void> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'test.local' });
  try {
    await t.sendMail({ from: 'sender@example.com', to, subject, text, messageId });
  } finally {
    t.close();
  }
}

/** Sends raw RFC 822 bytes over SMTP (or LMTP); resolves to the server's final reply, accepted or not. */
export async function sendRaw(port: number, to: string, raw: string | Buffer, opts: { lmtp?: boolean } = {}): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'test.local', lmtp: opts.lmtp });
  try {
    const info = await t.sendMail({ envelope: { from: 'sender@example.com', to }, raw });
    return info.response;
  } catch (err) {
    const e = err as { response?: string };
    if (!e.response) throw err;
    return e.response;
  } finally {
    t.close();
  }
}
