// The package as npm publishes it: `npm pack`, then an application's test project (test/consumer/project)
// installed against the tarball runs strict tsc, vitest with the README's recipes, plain-node ESM and
// require() scripts. The project's dependencies come from this repository's node_modules (symlinked,
// no registry access); tegami itself is the unpacked tarball, so only what `files` ships and what
// `dependencies` names is there.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROJECT = fileURLToPath(new URL('./project', import.meta.url));
let dir = '';
let app = '';

function run(cmd: string, args: string[], cwd = app): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const node = (...args: string[]) => run(process.execPath, args);

// The consumer gets the newest @types/node (a team upgrades it), not the Node 20 one this repository
// uses — when installed (a work tree whose node_modules predates that dev dependency gets the other).
const SOURCE: Record<string, string> = existsSync(join(ROOT, 'node_modules', '@types', 'node-current')) ? { '@types/node': '@types/node-current' } : {};

function link(name: string): void {
  const to = join(app, 'node_modules', name);
  mkdirSync(dirname(to), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', SOURCE[name] ?? name), to);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tegami-consumer-'));
  app = join(dir, 'app');
  const tgz = run('npm', ['pack', '--silent', '--pack-destination', dir], ROOT).trim().split('\n').pop()!;
  run('tar', ['-xzf', join(dir, tgz), '-C', dir], dir);
  cpSync(PROJECT, app, { recursive: true });
  mkdirSync(join(app, 'node_modules'));
  renameSync(join(dir, 'package'), join(app, 'node_modules', 'tegami'));
  const shipped = JSON.parse(readFileSync(join(app, 'node_modules', 'tegami', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const own = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  for (const name of Object.keys(shipped.dependencies)) link(name);
  for (const name of Object.keys(own.devDependencies)) if (name !== 'tegami') link(name);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball ships compiled JavaScript and declarations, no TypeScript sources', () => {
  const files = readdirSync(join(app, 'node_modules', 'tegami', 'dist', 'esm', 'server'));
  expect(files).toContain('index.js');
  expect(files).toContain('index.d.ts');
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});

test('a strict TypeScript consumer (nodenext, exactOptionalPropertyTypes, skipLibCheck off) type-checks', () => {
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
}, 60_000);

test('plain node loads it as ESM', () => {
  expect(JSON.parse(node('esm.mjs'))).toEqual({ subject: 'from ESM', errors: true });
});

test('plain node loads it with require()', () => {
  expect(JSON.parse(node('require.cjs'))).toEqual({ subject: 'from require', errors: true });
});

test('a plain node script drives `tegami serve` over SMTP and the HTTP API', () => {
  expect(JSON.parse(node('http-api.mjs'))).toEqual({ subjects: ['over HTTP'], after: 0 });
}, 60_000);

test('the bin runs the compiled CLI', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
  expect(node(join(app, 'node_modules', 'tegami', 'bin', 'tegami.js'), '--version').trim()).toBe(version);
});

test("the README's recipes pass in the consumer's own vitest", () => {
  const out = run(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter', 'dot']).replace(/\x1b\[[0-9;]*m/g, '');
  const files = readdirSync(join(app, 'test')).filter((f) => f.endsWith('.test.ts')).length;
  expect(out).toMatch(new RegExp(`Test Files\\s+${files} passed`));
  expect(out).not.toMatch(/skipped|todo/);
}, 120_000);
