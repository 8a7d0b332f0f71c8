// Writes a bench result as JSON under bench/results/ and says where.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function writeResult(name: string, data: object | string, ext = 'json'): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS_DIR, `${name}-${stamp}.${ext}`);
  writeFileSync(file, ext === 'json' ? JSON.stringify(data, null, 2) + '\n' : String(data));
  return file;
}
