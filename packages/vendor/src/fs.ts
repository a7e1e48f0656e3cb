// File-system helpers of sync and verify.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The most bytes one artifact may have, downloaded or read from vendor/ or a mirror: 256 MiB,
 * some 180 times the largest vendored one (Argo CD's ApplicationSet CRD, 1.4 MB), and what
 * `homelab release` allows a vendored archive. A larger file is refused by name, never loaded.
 */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

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
