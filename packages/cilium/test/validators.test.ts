import { createRequire } from 'node:module';
import type { KubeObject } from '@homelab/core';
// Through the installed @homelab/core package folder: the build runs the same script.
import { standaloneValidatorsModule } from '@homelab/core/scripts/standalone.mjs';
import { describe, expect, test } from 'vitest';
import { ciliumValidatorSource, makeValidators } from '../src/validators.js';
import { referencePlatform } from './factory.js';
import { renderClusters } from './helpers.js';

/** Evaluates generated CommonJS code as a module of this folder (its `require`s resolve here). */
function evaluateCommonJs(code: string): { [name: string]: unknown } {
  const module = { exports: {} as { [name: string]: unknown } };
  const run = new Function('module', 'exports', 'require', code) as (
    m: typeof module,
    e: typeof module.exports,
    r: NodeJS.Require,
  ) => void;
  run(module, module.exports, createRequire(import.meta.url));
  return module.exports;
}

const notGenerated = (): unknown => {
  throw new Error('not generated');
};

/** Variants of `value` with one thing wrong each: a wrong type, an unknown key, a duplicate, … */
function mutations(value: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown, replace: (next: unknown) => unknown): void => {
    if (Array.isArray(node)) {
      out.push(replace(42), replace([]));
      node.forEach((item, i) => {
        walk(item, (next) => replace(node.map((other, j) => (j === i ? next : other))));
      });
    } else if (typeof node === 'object' && node !== null) {
      const table = node as { [key: string]: unknown };
      out.push(replace('text'), replace({ ...table, cidrs: 1 }));
      for (const key of Object.keys(table)) {
        const { [key]: _removed, ...without } = table;
        out.push(replace(without));
        walk(table[key], (next) => replace({ ...table, [key]: next }));
      }
    } else if (typeof node === 'string') {
      out.push(replace(12345), replace(`${node} !`), replace(''));
    } else if (typeof node === 'number') {
      out.push(replace('7'), replace(0), replace(1.5), replace(99999999999));
    } else {
      out.push(replace('yes'), replace(null));
    }
  };
  walk(value, (next) => next);
  return out;
}

/** Every cilium.io object the reference platform emits, one of each kind at least. */
function ciliumObjects(): KubeObject[] {
  const { rendered } = renderClusters(referencePlatform());
  return Object.values(rendered)
    .flatMap((chart) => chart.objects)
    .filter((object) => object.apiVersion.startsWith('cilium.io/'));
}

describe('the build-time standalone validators of the cilium.io kinds', () => {
  const generated = evaluateCommonJs(standaloneValidatorsModule(ciliumValidatorSource));

  test('exist for every kind and give the same messages as the compiled schemas', () => {
    const objects = ciliumObjects();
    expect([...new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`))].sort()).toEqual(
      Object.keys(ciliumValidatorSource.schemas).sort(),
    );
    const standalone = makeValidators(() => generated);
    const compiled = makeValidators(notGenerated);
    let invalid = 0;
    for (const object of objects) {
      const index = standalone.findIndex((v) => v.kind === object.kind);
      const fromStandalone = standalone[index];
      const fromCompiled = compiled[index];
      if (fromStandalone === undefined || fromCompiled === undefined) throw new Error(object.kind);
      for (const variant of [object, ...mutations(object)]) {
        const messages = fromStandalone.validate(variant);
        expect(messages).toEqual(fromCompiled.validate(variant));
        if (messages.length > 0) invalid += 1;
      }
    }
    expect(invalid).toBeGreaterThan(200);
  });

  test('are used when generated from the current schemas, ignored when stale', () => {
    const fake = Object.fromEntries(
      Object.keys(ciliumValidatorSource.schemas).map((name) => {
        const validate = Object.assign(() => false, {
          errors: [{ instancePath: '', message: 'came from the module', keyword: 'x', params: {} }],
        });
        return [name, validate];
      }),
    );
    const [pool] = ciliumObjects();
    const current = makeValidators(() => ({ ...fake, fingerprint: generated.fingerprint }));
    const stale = makeValidators(() => ({ ...fake, fingerprint: 'older schemas' }));
    const kind = (v: { kind: string }) => v.kind === pool?.kind;
    expect(current.find(kind)?.validate(pool)).toEqual(['(root) came from the module']);
    expect(stale.find(kind)?.validate(pool)).toEqual([]);
  });
});
