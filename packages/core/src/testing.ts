// Test support shared by the packages' conformance suites. Not part of the generator: it reads
// the file system, so only tests import it (`@homelab/core/testing`). Upstream data comes from
// the repository's own `vendor/` only, so a fresh clone tests itself.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readChartArchiveBytes, readChartArchiveFile } from './tar.js';
import { chartArchivePath } from './upstream.js';

export type { UnknownValueKeysOptions } from './conformance.js';
export { FREE_FORM_KEYS, unknownValueKeys } from './conformance.js';
export type { TestComponentSpec } from './testing-factory.js';
export {
  testCluster,
  testComponent,
  testDefinition,
  testMac,
  testNetwork,
  testNode,
  testNodes,
  testReferenceClusters,
  testRun,
  validDefinition,
} from './testing-factory.js';

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
 * Absolute path into the repository's `vendor/` folder (the pinned upstream artifacts, see
 * `vendor/lock.json`). Throws, loudly, when the file is missing: a conformance test without its
 * upstream data must fail, never pass.
 */
export function vendored(...segments: string[]): string {
  const path = join(repoRoot(), 'vendor', ...segments);
  if (!existsSync(path)) {
    throw new Error(
      `vendored upstream artifact not found: ${path}. Pin it and run \`homelab vendor sync\` ` +
        '(vendor/ is committed: a missing file means the checkout is incomplete or the pin is missing).',
    );
  }
  return path;
}

/** Absolute path of a vendored upstream file under `vendor/upstream/` (see `vendored`). */
export function upstreamReference(...segments: string[]): string {
  return vendored('upstream', ...segments);
}

/** Reads a vendored file under `vendor/upstream/` as text (see `upstreamReference`). */
export function readUpstream(...segments: string[]): string {
  return readFileSync(upstreamReference(...segments), 'utf8');
}

const chartArchives = new Map<string, Uint8Array>();

/**
 * Reads `<chart>/<file>` out of the vendored chart archive
 * `vendor/charts/<chart>/<version>/<chart>-<version>.tgz`, in memory, as text:
 * `readVendoredChartFile('cilium', '1.18.12', 'values.yaml')`.
 */
export function readVendoredChartFile(chart: string, version: string, file: string): string {
  const path = vendored(chartArchivePath(chart, version));
  let archive = chartArchives.get(path);
  if (archive === undefined) {
    archive = readFileSync(path);
    chartArchives.set(path, archive);
  }
  return readChartArchiveFile(archive, `${chart}/${file}`);
}

/**
 * A file of a dependency vendored inside a chart archive (`charts/<dependency>-<version>.tgz`):
 * `readVendoredSubchartFile('argo-cd', '10.1.1', 'redis-ha', '4.38.0', 'values.yaml')`.
 */
export function readVendoredSubchartFile(
  chart: string,
  version: string,
  dependency: string,
  dependencyVersion: string,
  file: string,
): string {
  const parent = readFileSync(vendored(chartArchivePath(chart, version)));
  const nested = readChartArchiveBytes(
    parent,
    `${chart}/charts/${dependency}-${dependencyVersion}.tgz`,
  );
  return readChartArchiveFile(nested, `${dependency}/${file}`);
}

/**
 * Evaluates generated CommonJS code (a build-time generated module) as if it were a file of the
 * folder `requireFrom` (an `import.meta.url`): its `require`s resolve there. Returns its exports.
 */
export function evaluateCommonJs(code: string, requireFrom: string): { [name: string]: unknown } {
  const module = { exports: {} as { [name: string]: unknown } };
  const run = new Function('module', 'exports', 'require', code) as (
    m: typeof module,
    e: typeof module.exports,
    r: NodeJS.Require,
  ) => void;
  run(module, module.exports, createRequire(requireFrom));
  return module.exports;
}

/**
 * Variants of `value` with one thing wrong each: a wrong type, an unknown key (`unknownKey`), a
 * missing key, a duplicated list item, an empty or odd string, out-of-range numbers. For tests
 * that compare two validators of the same schema over many invalid inputs.
 */
export function oneFaultVariants(value: unknown, unknownKey: string): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown, replace: (next: unknown) => unknown): void => {
    if (Array.isArray(node)) {
      out.push(replace(42), replace([]));
      if (node.length > 0) out.push(replace([...node, node[0]]));
      node.forEach((item, i) => {
        walk(item, (next) => replace(node.map((other, j) => (j === i ? next : other))));
      });
    } else if (typeof node === 'object' && node !== null) {
      const table = node as { [key: string]: unknown };
      out.push(replace('text'), replace({ ...table, [unknownKey]: 1 }));
      for (const key of Object.keys(table)) {
        const { [key]: _removed, ...without } = table;
        out.push(replace(without));
        walk(table[key], (next) => replace({ ...table, [key]: next }));
      }
    } else if (typeof node === 'string') {
      out.push(replace(12345), replace(`${node} !`), replace(''));
    } else if (typeof node === 'number') {
      out.push(replace('7'), replace(-1), replace(0), replace(1.5), replace(99999999999));
    } else {
      out.push(replace('yes'), replace(null));
    }
  };
  walk(value, (next) => next);
  return out;
}
