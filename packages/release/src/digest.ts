import { createHash } from 'node:crypto';
import { type ChartFiles, sortedEntries, toBytes } from './files.js';
import { isPackaged, parseHelmignore } from './helmignore.js';

const decoder = new TextDecoder();

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
 * Whether `chartDigest` of a chart folder with these files covers a file at `path` (relative to
 * the folder), present or not: `isChartContent`, and not kept out of the archive by the folder's
 * `.helmignore` (Helm's defaults included).
 */
export function digestCovers(files: ChartFiles): (path: string) => boolean {
  const ignore = sortedEntries(files).find(([path]) => path === '.helmignore');
  const rules = parseHelmignore(
    ignore === undefined ? undefined : decoder.decode(toBytes(ignore[1])),
  );
  return (path) => isChartContent(path) && isPackaged(rules, path);
}

/**
 * sha256 over a chart folder's generated content, as `sha256:<hex>`.
 *
 * Paths are relative to the chart folder. The hash covers every file for which
 * `isChartContent` holds and that the chart's `.helmignore` (as packing reads it, Helm's
 * defaults included) does not keep out of the archive, in code-unit order of their paths, each
 * framed as `<path> NUL <byte length> NUL <bytes>`, so that it depends on nothing but paths and
 * bytes (not on the file system's order, the locale or the machine). So what the digest covers
 * is what a release packs: an editor's `values.yaml.orig` or a `.DS_Store` beside the chart's
 * files, which the generated `.helmignore` ignores, changes neither.
 */
export function chartDigest(files: ChartFiles): string {
  const hash = createHash('sha256');
  hash.update('homelab-chart-digest/v1\n');
  const entries = sortedEntries(files);
  const covers = digestCovers(files);
  for (const [path, content] of entries) {
    if (!covers(path)) continue;
    const bytes = toBytes(content);
    hash.update(path);
    hash.update('\0');
    hash.update(String(bytes.byteLength));
    hash.update('\0');
    hash.update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}
