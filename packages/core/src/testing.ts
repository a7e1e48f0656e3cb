// Test support shared by the packages' conformance suites. Not part of the generator: it reads
// the environment and the file system, so only tests import it (`@homelab/core/testing`).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { UnknownValueKeysOptions } from './conformance.js';
export { FREE_FORM_KEYS, unknownValueKeys } from './conformance.js';
export type { TestComponentSpec } from './testing-factory.js';
export {
  testCluster,
  testComponent,
  testDefinition,
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
