import { createHash } from 'node:crypto';
import { type ChartFiles, sortedEntries, toBytes } from './files.js';

/** The committed record of released chart versions (see `./guard.ts`). */
export const VERSION_RECORD_PATH = 'charts/.versions.json';

/**
 * Files of a chart folder that are not its generated content: changesets owns `package.json`
 * and `CHANGELOG.md`, pnpm owns `node_modules/`.
 */
export function isChartContent(path: string): boolean {
  const first = path.split('/')[0];
  return path !== 'package.json' && path !== 'CHANGELOG.md' && first !== 'node_modules';
}

/**
 * sha256 over a chart folder's generated content, as `sha256:<hex>`.
 *
 * Paths are relative to the chart folder. The hash covers every file for which
 * `isChartContent` holds, in code-unit order of their paths, each framed as
 * `<path> NUL <byte length> NUL <bytes>`, so that it depends on nothing but paths and bytes
 * (not on the file system's order, the locale or the machine).
 */
export function chartDigest(files: ChartFiles): string {
  const hash = createHash('sha256');
  hash.update('homelab-chart-digest/v1\n');
  for (const [path, content] of sortedEntries(files)) {
    if (!isChartContent(path)) continue;
    const bytes = toBytes(content);
    hash.update(path);
    hash.update('\0');
    hash.update(String(bytes.byteLength));
    hash.update('\0');
    hash.update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}
