// Test support shared by the packages' conformance suites. Not part of the generator: it reads
// the environment and the file system, so only tests import it (`@homelab/core/testing`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { UnknownValueKeysOptions } from './conformance.js';
export { FREE_FORM_KEYS, unknownValueKeys } from './conformance.js';

/** The repository root (the folder holding pnpm-workspace.yaml). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('pnpm-workspace.yaml not found above @homelab/core');
    dir = parent;
  }
  return dir;
}

/**
 * Absolute path into the upstream reference data (`../shared/reference/upstream` from the
 * repository root, or `$HOMELAB_UPSTREAM_REFERENCE`). Throws, loudly, when the file is missing:
 * a conformance test without its reference data must fail, never pass.
 */
export function upstreamReference(...segments: string[]): string {
  const base =
    process.env.HOMELAB_UPSTREAM_REFERENCE ?? resolve(repoRoot(), '../shared/reference/upstream');
  const path = join(base, ...segments);
  if (!existsSync(path)) {
    throw new Error(
      `upstream reference data not found: ${path}. Conformance tests need ../shared/reference/upstream ` +
        '(or HOMELAB_UPSTREAM_REFERENCE pointing at a copy).',
    );
  }
  return path;
}

/** Reads a reference file as text (see `upstreamReference`). */
export function readUpstream(...segments: string[]): string {
  return readFileSync(upstreamReference(...segments), 'utf8');
}
