// Runs `tegami serve` as a real child process, the way an operator or CI does, and parses its
// ready line. For tests of restarts, signals and kill -9. It runs the sources (tegami-from-source.js).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('./tegami-from-source.js', import.meta.url));
/** The V8 flags bin/tegami.js gives the server in its shebang, so that tests and benches run what ships. */
export const SERVE_NODE_ARGS = ['--max-semi-space-size=64'];

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly ports: { pop3: number; imap: number; smtp: number; lmtp: number; metrics?: number };
  readonly stderr: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no chance to clean up. */
  kill9(): Promise<void>;
}

export async function startServerProcess(
  args: string[], timeoutMs = 20_000, opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...SERVE_NODE_ARGS, ...(opts.nodeArgs ?? []), BIN, 'serve', '--pop3-port', '0', '--imap-port', '0', '--smtp-port', '0', '--lmtp-port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`no ready line in ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^ready .*$/m.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[0]);
      }
    });
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`server exited with ${code} before ready; stderr: ${err}`));
    });
  });
  const ports: Record<string, number> = {};
  for (const [, name, p] of line.matchAll(/(\w+)=[^\s:]+:(\d+)/g)) ports[name!] = Number(p);
  return {
    child,
    ports: ports as unknown as ServerProcess['ports'],
    stderr: () => err,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
