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
