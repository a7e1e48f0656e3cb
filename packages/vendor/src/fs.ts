// File-system helpers of sync and verify.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Every non-directory entry under `dir` as a `/`-separated relative path, sorted; `[]` when
 * `dir` does not exist. Symbolic links are listed, not followed.
 */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (relative: string): void => {
    const entries = readdirSync(join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  if (!lstatSync(dir).isDirectory()) return [];
  walk('');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
