// Plain Node against `npx tegami serve`: the CLI in a child process, driven over SMTP and the HTTP API,
// as a test suite in another language would.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import nodemailer from 'nodemailer';

const bin = createRequire(import.meta.url).resolve('tegami/package.json').replace(/package\.json$/, 'bin/tegami.js');
const child = spawn(process.execPath, [bin, 'serve', '--memory', '--user', 'erin:pw', '--log-level', 'warn',
  '--pop3-port', '0', '--imap-port', '0', '--smtp-port', '0', '--lmtp-port', '0', '--metrics-port', '0', '--http-api'], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`tegami exited with ${code}`)));
  });
  const port = (name) => Number(new RegExp(`${name}=[^ ]+:(\\d+)`).exec(line)[1]);
  const api = `http://127.0.0.1:${port('metrics')}/api/v1`;
  const mailer = nodemailer.createTransport({ host: '127.0.0.1', port: port('smtp'), ignoreTLS: true });
  await mailer.sendMail({ from: 'app@example.com', to: 'erin@example.com', subject: 'over HTTP', text: 'hi' });
  const list = await (await fetch(`${api}/messages`)).json();
  await fetch(`${api}/messages`, { method: 'DELETE' });
  const after = await (await fetch(`${api}/messages`)).json();
  console.log(JSON.stringify({ subjects: list.messages.map((m) => m.Subject), after: after.total }));
} finally {
  child.kill('SIGTERM');
}
