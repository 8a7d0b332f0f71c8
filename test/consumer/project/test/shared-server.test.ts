// test/shared-server.test.ts — tests in their own worker processes use the server over HTTP
import nodemailer from 'nodemailer';
import { beforeEach, expect, inject, test } from 'vitest';

const { host, smtpPort, api } = inject('mail');
const me = 'dave+shared@example.com'; // files run in parallel: each uses its own address

beforeEach(async () => {
  await fetch(`${api}/search?query=${encodeURIComponent(`to:${me}`)}`, { method: 'DELETE' });
});

test('the password-reset mail carries a token', async () => {
  const mailer = nodemailer.createTransport({ host, port: smtpPort, ignoreTLS: true });
  await mailer.sendMail({ from: 'app@example.com', to: me, subject: 'Reset your password', text: 'token: abc123' });
  // answers as soon as the mail is there (or 408 after the timeout)
  const res = await fetch(`${api}/wait?to=${encodeURIComponent(me)}&subject=${encodeURIComponent('Reset your password')}&timeout=5000`);
  const mail = (await res.json()) as { ID: string; Text: string };
  expect(mail.Text).toContain('abc123');
  // Mailpit's API: clients written for Mailpit work unchanged
  const raw = await (await fetch(`${api}/message/${mail.ID}/raw`)).text();
  expect(raw).toMatch(/^Return-Path: <app@example\.com>/);
});
