// The HTTP API on the metrics port, driven with plain fetch as a test in another process (or a
// Mailpit client) would: list, search, read, delete messages; accounts; chaos; a wait for mail.
import { startServer, type TegamiServer } from 'tegami';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendMail } from '../helpers/smtp.ts';
import { pop3Login } from '../helpers/pop3.ts';

let server: TegamiServer;
let base = '';
const json = async (path: string, init?: RequestInit) => {
  const res = await fetch(base + path, init);
  expect(res.status, `${init?.method ?? 'GET'} ${path}: ${res.status}`).toBeLessThan(300);
  return res.json() as Promise<any>; // the API answers JSON shapes this test spells out
};

beforeAll(async () => {
  server = await startServer({ users: { alice: 'pw', bob: 'pw' }, metricsPort: 0, httpApi: true });
  base = `http://127.0.0.1:${server.ports.metrics}`;
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe('Mailpit-compatible /api/v1', () => {
  it('lists messages newest first with Mailpit fields, reads one as JSON, raw and headers, and "latest"', async () => {
    await sendMail(server.ports.smtp, 'alice@example.com', 'first', 'one');
    await sendMail(server.ports.smtp, 'bob@example.com', 'second', 'two', '<second@example.com>');
    const list = await json('/api/v1/messages');
    expect(list).toMatchObject({ total: 2, unread: 2, count: 2, messages_count: 2, start: 0 });
    expect(list.messages.map((m: { Subject: string }) => m.Subject)).toEqual(['second', 'first']);
    const [second] = list.messages;
    expect(second).toMatchObject({ MessageID: 'second@example.com', Read: false, From: { Address: 'sender@example.com' }, To: [{ Address: 'bob@example.com' }], Snippet: 'two', User: 'bob' });
    const full = await json(`/api/v1/message/${second.ID}`);
    expect(full).toMatchObject({ Subject: 'second', Text: 'two\n', ReturnPath: 'sender@example.com' });
    expect(await (await fetch(`${base}/api/v1/message/${second.ID}/raw`)).text()).toMatch(/^Return-Path: <sender@example\.com>\r\n[\s\S]*Subject: second\r\n/);
    expect((await json(`/api/v1/message/${second.ID}/headers`)).Subject).toEqual(['second']);
    expect((await json('/api/v1/message/latest')).ID).toBe(second.ID);
    expect((await fetch(`${base}/api/v1/message/nonsense`)).status).toBe(404);
    expect((await json('/api/v1/messages?start=1&limit=1')).messages.map((m: { Subject: string }) => m.Subject)).toEqual(['first']);
  });

  it('searches with to:, subject: and words, and deletes by search, by ID and all', async () => {
    await sendMail(server.ports.smtp, 'alice@example.com', 'Reset your password', 'code 1234');
    await sendMail(server.ports.smtp, 'alice@example.com', 'Welcome', 'hello');
    await sendMail(server.ports.smtp, 'bob@example.com', 'Welcome', 'hello bob');
    const search = (q: string) => json(`/api/v1/search?query=${encodeURIComponent(q)}`);
    expect((await search('to:alice@example.com subject:welcome')).total).toBe(1);
    expect((await search('subject:"reset your"')).messages[0].Subject).toBe('Reset your password');
    expect((await search('1234')).total).toBe(1);
    expect((await search('-to:bob welcome')).total).toBe(1);
    expect((await fetch(`${base}/api/v1/search?query=${encodeURIComponent('in:spam')}`)).status).toBe(400);
    await fetch(`${base}/api/v1/search?query=${encodeURIComponent('to:bob')}`, { method: 'DELETE' });
    expect((await server.messages('bob')).length).toBe(0);
    const [one] = (await json('/api/v1/messages')).messages;
    await fetch(`${base}/api/v1/messages`, { method: 'DELETE', body: JSON.stringify({ IDs: [one.ID] }) });
    expect((await json('/api/v1/messages')).total).toBe(1);
    await fetch(`${base}/api/v1/messages`, { method: 'DELETE' });
    expect((await json('/api/v1/messages')).total).toBe(0);
  });
});

describe("tegami's own endpoints", () => {
  it('adds and lists accounts', async () => {
    const res = await fetch(`${base}/api/v1/users`, { method: 'POST', body: JSON.stringify({ name: 'carol', password: 'pw' }) });
    expect(res.status).toBe(201);
    expect(await json('/api/v1/users')).toContain('carol');
    (await pop3Login(server.ports.pop3, 'carol', 'pw')).close();
    expect((await fetch(`${base}/api/v1/users`, { method: 'POST', body: JSON.stringify({ name: 'bad name!', password: 'x' }) })).status).toBe(400);
  });

  it('sets, aims and clears chaos', async () => {
    expect(await json('/api/v1/chaos', { method: 'PUT', body: JSON.stringify({ readFailRate: 1 }) })).toMatchObject({ readFailRate: 1 });
    await expect(pop3Login(server.ports.pop3, 'alice', 'pw')).rejects.toThrow(/-ERR \[SYS\/TEMP\]/);
    await json('/api/v1/chaos', { method: 'DELETE' });
    await fetch(`${base}/api/v1/chaos/smtp-reply`, { method: 'POST', body: JSON.stringify({ stage: 'RCPT', code: 451 }) });
    await expect(sendMail(server.ports.smtp, 'alice@example.com', 'x')).rejects.toMatchObject({ responseCode: 451 });
    expect((await fetch(`${base}/api/v1/chaos/smtp-reply`, { method: 'POST', body: JSON.stringify({ stage: 'RCPT', code: 250 }) })).status).toBe(400);
    await fetch(`${base}/api/v1/chaos/fail-next`, { method: 'POST', body: JSON.stringify({ op: 'snapshot', protocol: 'pop3' }) });
    await expect(pop3Login(server.ports.pop3, 'alice', 'pw')).rejects.toThrow(/-ERR \[SYS\/TEMP\]/);
    (await pop3Login(server.ports.pop3, 'alice', 'pw')).close();
  });

  it('/api/v1/wait answers when the mail arrives, 408 when it does not', async () => {
    const waiting = json('/api/v1/wait?to=alice@example.com&subject=Hi&timeout=5000');
    await sendMail(server.ports.smtp, 'alice@example.com', 'Hi');
    expect((await waiting).Subject).toBe('Hi');
    expect((await fetch(`${base}/api/v1/wait?user=alice&subject=never&timeout=50`)).status).toBe(408);
  });
});
