// An HTTP API on the metrics port for tests in another process (a test runner whose server runs in
// globalSetup, an app in another language): the part of Mailpit's /api/v1 that test suites use —
// list, search, read (JSON, raw source, headers) and delete messages — so Mailpit clients work
// unchanged, plus tegami's own: accounts, chaos, and a wait that answers when mail arrives.
//
// Mailpit has one catch-all mailbox; here every account's mailboxes are listed together, newest
// first. A message's ID names its account, mailbox and UID (opaque to clients, stable until it is
// deleted).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChaosSettings, ChaosStore, FailNext, SmtpReply } from '../chaos/index.ts';
import type { MailInspector } from '../embedding/mail-inspector.ts';
import type { ReceivedMessage } from '../embedding/received-message.ts';
import { parseSearch } from './mailpit-search.ts';

export interface HttpApiHost {
  inspector: MailInspector;
  chaos: ChaosStore;
  users: { list(): string[] };
  addUser(name: string, password: string): Promise<void>;
  expunge(user: string, mailbox: string, uids: number[]): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MAX_BODY = 1 << 20;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    parts.push(c);
  }
  const text = Buffer.concat(parts).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

export const messageId = (m: ReceivedMessage): string => Buffer.from(JSON.stringify([m.user, m.mailbox, m.uid])).toString('base64url');

function parseId(id: string): [string, string, number] {
  try {
    const v = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && Number.isInteger(v[2])) return v as [string, string, number];
  } catch {
    // falls through to 404
  }
  throw new HttpError(404, `no message ${id}`);
}

function addressList(text: string | undefined): { Name: string; Address: string }[] {
  if (!text) return [];
  return text.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((part) => {
    const m = /^\s*(?:"?([^"<]*?)"?\s*)?<([^>]+)>\s*$/.exec(part);
    return m ? { Name: (m[1] ?? '').trim(), Address: m[2]! } : { Name: '', Address: part.trim() };
  });
}

function summary(m: ReceivedMessage) {
  return {
    ID: messageId(m),
    MessageID: (m.messageId ?? '').replace(/^<|>$/g, ''),
    Read: m.flags.includes('\\Seen'),
    From: addressList(m.from)[0] ?? { Name: '', Address: '' },
    To: addressList(m.to),
    Cc: addressList(m.cc),
    Bcc: [],
    ReplyTo: addressList(m.headers['reply-to']?.[0]),
    Subject: m.subject ?? '',
    Created: m.internalDate.toISOString(),
    Tags: [],
    Size: m.size,
    Attachments: m.attachments.length,
    Snippet: (m.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 250),
    // tegami's own
    User: m.user,
    Mailbox: m.mailbox,
    UID: m.uid,
    EnvelopeTo: m.envelopeTo ?? '',
  };
}

function full(m: ReceivedMessage) {
  return {
    ...summary(m),
    Date: (m.date ?? m.internalDate).toISOString(),
    ReturnPath: (m.headers['return-path']?.[0] ?? '').replace(/^<|>$/g, ''),
    Text: m.text ?? '',
    HTML: m.html ?? '',
    Inline: [],
    Attachments: m.attachments.map((a, i) => ({ PartID: String(i + 1), FileName: a.filename ?? '', ContentType: a.contentType, ContentID: '', Size: a.size })),
  };
}

const canonicalHeader = (name: string) => name.replace(/(^|-)([a-z])/g, (_s, d: string, c: string) => d + c.toUpperCase());

function page(all: ReceivedMessage[], url: URL) {
  const start = Math.max(0, Number(url.searchParams.get('start') ?? 0) || 0);
  const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50);
  const slice = all.slice(start, start + limit);
  return {
    total: all.length,
    unread: all.filter((m) => !m.flags.includes('\\Seen')).length,
    count: slice.length,
    messages_count: all.length,
    start,
    tags: [],
    messages: slice.map(summary),
  };
}

export function createHttpApi(host: HttpApiHost): (req: IncomingMessage, res: ServerResponse) => boolean {
  const newestFirst = async () =>
    (await host.inspector.allMessages()).sort((a, b) => b.internalDate.getTime() - a.internalDate.getTime() || b.uid - a.uid);

  async function find(id: string): Promise<ReceivedMessage> {
    if (id === 'latest') {
      const [m] = await newestFirst();
      if (!m) throw new HttpError(404, 'no messages');
      return m;
    }
    const [user, mailbox, uid] = parseId(id);
    const m = (await host.inspector.messages(user, mailbox).catch(() => [])).find((x) => x.uid === uid);
    if (!m) throw new HttpError(404, `no message ${id}`);
    return m;
  }

  async function remove(messages: ReceivedMessage[]): Promise<void> {
    const byBox = new Map<string, { user: string; mailbox: string; uids: number[] }>();
    for (const m of messages) {
      const k = JSON.stringify([m.user, m.mailbox]);
      const e = byBox.get(k) ?? { user: m.user, mailbox: m.mailbox, uids: [] };
      e.uids.push(m.uid);
      byBox.set(k, e);
    }
    for (const e of byBox.values()) await host.expunge(e.user, e.mailbox, e.uids);
  }

  async function route(req: IncomingMessage, url: URL): Promise<{ json?: unknown; text?: string; status?: number }> {
    const p = url.pathname;
    const method = req.method ?? 'GET';
    if (p === '/api/v1/info' && method === 'GET') {
      const all = await host.inspector.allMessages();
      return { json: { Version: 'tegami', Messages: all.length, Unread: all.filter((m) => !m.flags.includes('\\Seen')).length, Tags: {} } };
    }
    if (p === '/api/v1/messages') {
      if (method === 'GET') return { json: page(await newestFirst(), url) };
      if (method === 'DELETE') {
        const body = (await readJson(req)) as { IDs?: unknown } | undefined;
        const ids = Array.isArray(body?.IDs) ? (body.IDs as unknown[]).map(String) : [];
        if (!ids.length) await host.inspector.purge();
        else await remove(await Promise.all(ids.map(find)));
        return { text: 'ok' };
      }
    }
    if (p === '/api/v1/search') {
      const query = url.searchParams.get('query') ?? '';
      let test: (m: ReceivedMessage) => boolean;
      try {
        test = parseSearch(query);
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
      const hits = (await newestFirst()).filter(test);
      if (method === 'GET') return { json: page(hits, url) };
      if (method === 'DELETE') {
        await remove(hits);
        return { text: 'ok' };
      }
    }
    const msg = /^\/api\/v1\/message\/([^/]+)(\/raw|\/headers)?$/.exec(p);
    if (msg && method === 'GET') {
      const m = await find(decodeURIComponent(msg[1]!));
      if (msg[2] === '/raw') return { text: m.raw.toString('utf8') };
      if (msg[2] === '/headers') return { json: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [canonicalHeader(k), v])) };
      return { json: full(m) };
    }
    const view = /^\/view\/([^/]+)\.txt$/.exec(p);
    if (view && method === 'GET') return { text: (await find(decodeURIComponent(view[1]!))).text ?? '' };

    // tegami's own
    if (p === '/api/v1/users') {
      if (method === 'GET') return { json: host.users.list() };
      if (method === 'POST') {
        const b = (await readJson(req)) as { name?: unknown; password?: unknown } | undefined;
        if (typeof b?.name !== 'string' || typeof b.password !== 'string') throw new HttpError(400, 'expected {"name": "...", "password": "..."}');
        await host.addUser(b.name, b.password).catch((err: Error) => Promise.reject(new HttpError(400, err.message)));
        return { status: 201, json: { name: b.name } };
      }
    }
    if (p === '/api/v1/chaos') {
      if (method === 'GET') return { json: host.chaos.current };
      if (method === 'PUT') {
        host.chaos.set(((await readJson(req)) ?? {}) as Partial<ChaosSettings>);
        return { json: host.chaos.current };
      }
      if (method === 'DELETE') {
        host.chaos.reset();
        return { json: host.chaos.current };
      }
    }
    if (p === '/api/v1/chaos/fail-next' && method === 'POST') {
      host.chaos.failNext(((await readJson(req)) ?? {}) as FailNext);
      return { status: 201, text: 'ok' };
    }
    if (p === '/api/v1/chaos/smtp-reply' && method === 'POST') {
      try {
        host.chaos.smtpReply((await readJson(req)) as SmtpReply);
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
      return { status: 201, text: 'ok' };
    }
    if (p === '/api/v1/wait' && method === 'GET') {
      const q = url.searchParams;
      const to = q.get('to') ?? undefined;
      const user = q.get('user') ?? undefined;
      const subject = q.get('subject') ?? undefined;
      const query = q.get('query');
      const test = query ? parseSearch(query) : undefined;
      try {
        const m = await host.inspector.waitForMessage({
          ...(to ? { to } : {}), ...(user ? { user } : {}), ...(subject ? { subject } : {}), ...(test ? { match: test } : {}),
          timeoutMs: Math.min(Number(q.get('timeout') ?? 5000) || 5000, 60_000),
        });
        return { json: full(m) };
      } catch (err) {
        throw new HttpError(/within/.test((err as Error).message) ? 408 : 400, (err as Error).message);
      }
    }
    throw new HttpError(404, 'not found');
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/v1/') && !url.pathname.startsWith('/view/')) return false;
    route(req, url).then(
      (r) => {
        if (r.json !== undefined) res.writeHead(r.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(r.json));
        else res.writeHead(r.status ?? 200, { 'content-type': 'text/plain; charset=utf-8' }).end(r.text ?? '');
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(err as Error).message ?? String(err)}\n`);
      },
    );
    return true;
  };
}
