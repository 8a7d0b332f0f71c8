// The CLI's answers to a person: sizes with units, a clear line (never a stack trace) for a bad
// option, its version, where `user add` wrote, and an mbox import that refuses what it cannot do
// right: a second import of the same file adds nothing, a file that is no mbox and an account that
// does not exist are errors with a non-zero exit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { uidlList } from '../helpers/pop3.ts';
import { BIN, startServerProcess } from '../helpers/server-process.ts';
import { sendMail } from '../helpers/smtp.ts';

const tegami = (args: string[], input = '') => {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);

// Each test starts the CLI a few times (seconds each on a loaded machine).
vi.setConfig({ testTimeout: 90_000 });

describe('tegami serve options', () => {
  it('--max-message-size takes units: 1K refuses a 2 KB message and takes a small one', async () => {
    const server = await startServerProcess(['--memory', '--user', 'ann:pw', '--max-message-size', '1K']);
    try {
      await expect(sendMail(server.ports.smtp, 'ann@example.com', 'big', 'x'.repeat(2048))).rejects.toMatchObject({ responseCode: 552 });
      await sendMail(server.ports.smtp, 'ann@example.com', 'small', 'x');
      expect(await uidlList(server.ports.pop3, 'ann', 'pw')).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });

  it('refuses a size, a chaos spec or a log level it cannot read, in one line', () => {
    for (const [args, said] of [
      [['--max-message-size', 'lots'], /a size like 64MB/],
      [['--chaos', 'read-fail=2'], /bad value for read-fail: 2 \(a probability from 0 to 1\)/],
      [['--chaos', 'explode=1'], /unknown chaos setting "explode"/],
      [['--log-level', 'loud'], /Allowed choices are silent, error, warn, info, debug/],
    ] as const) {
      const r = tegami(['serve', '--memory', ...args]);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(said);
      noStack(r.stderr);
    }
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(tegami(['--version']).stdout.trim()).toBe(version);
  });
});

describe('tegami user add', () => {
  it('says where it wrote, and that a --memory server does not read it', () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-cli-'));
    const r = tegami(['user', 'add', 'ann', '--password-stdin', '--data', data], 'pw\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`user ann added to ${join(data, 'users.json')}`);
    expect(r.stdout).toMatch(/--memory never does/);
  });
});

describe('tegami import', () => {
  const setup = () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-import-'));
    tegami(['user', 'add', 'ann', '--password-stdin', '--data', data], 'pw\n');
    return data;
  };

  it('a second import of the same mbox adds nothing: no duplicate messages, no duplicate UIDLs', async () => {
    const data = setup();
    const mbox = join(data, 'in.mbox');
    writeFileSync(mbox, [
      'From x Thu Nov 20 10:00:00 2026\nSubject: kept uidl\nX-UIDL: old-1\n\none\n',
      'From x Thu Nov 20 10:00:00 2026\nSubject: by message-id\nMessage-ID: <two@example.com>\n\ntwo\n',
      'From x Thu Nov 20 10:00:00 2026\nSubject: no identity\n\nthree\n',
    ].join('\n'));
    expect(tegami(['import', 'ann', mbox, '--data', data]).stdout).toMatch(/imported 3 messages/);
    const again = tegami(['import', 'ann', mbox, '--data', data]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/imported 1 messages .*skipped 2 already in INBOX/);
    const server = await startServerProcess(['--data', data]);
    try {
      const uidls = (await uidlList(server.ports.pop3, 'ann', 'pw')).map((l) => l.split(' ')[1]);
      expect(uidls).toHaveLength(4); // the message with neither X-UIDL nor Message-ID cannot be told apart
      expect(new Set(uidls).size).toBe(uidls.length);
    } finally {
      await server.stop();
    }
  });

  it('a file that is not an mbox is an error', () => {
    const data = setup();
    const notMbox = join(data, 'photo.png');
    writeFileSync(notMbox, '\x89PNG\r\n\x1a\nnot mail at all\n');
    const r = tegami(['import', 'ann', notMbox, '--data', data]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is not an mbox file/);
    noStack(r.stderr);
  });

  it('importing for an account that does not exist is an error', () => {
    const data = setup();
    const mbox = join(data, 'in.mbox');
    writeFileSync(mbox, 'From x Thu Nov 20 10:00:00 2026\nSubject: s\n\nb\n');
    const r = tegami(['import', 'nobody', mbox, '--data', data]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no account "nobody" .*tegami user add nobody/);
  });
});
