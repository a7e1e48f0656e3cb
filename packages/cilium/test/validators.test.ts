import {
  type KindSchema,
  type KubeObject,
  kindValidatorSource,
  kindValidators,
} from '@homelab/core';
// Through the installed @homelab/core package folder: the build runs the same script.
import { standaloneValidatorsModule } from '@homelab/core/scripts/standalone.mjs';
import { evaluateCommonJs, oneFaultVariants, testDefinition } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { ciliumValidatorSource } from '../src/validators.js';
import { referenceClusters, runCilium } from './helpers.js';

const notGenerated = (): unknown => {
  throw new Error('not generated');
};

type Schema = { properties: { apiVersion: { const: string }; kind: { const: string } } };

/** The kinds the build generates validators for, read back from the source it generates them from. */
const KINDS: readonly KindSchema[] = Object.values(ciliumValidatorSource.schemas).map((schema) => ({
  apiVersion: (schema as Schema).properties.apiVersion.const,
  kind: (schema as Schema).properties.kind.const,
  schema,
}));

/** Every cilium.io object the reference platform emits, one of each kind at least. */
function ciliumObjects(): KubeObject[] {
  const { rendered } = runCilium(testDefinition(referenceClusters()));
  return Object.values(rendered)
    .flatMap((chart) => chart.objects)
    .filter((object) => object.apiVersion.startsWith('cilium.io/'));
}

describe('the build-time standalone validators of the cilium.io kinds', () => {
  const generated = evaluateCommonJs(
    standaloneValidatorsModule(ciliumValidatorSource),
    import.meta.url,
  );

  test('are read back from exactly the source the build uses', () => {
    expect(kindValidatorSource(KINDS)).toEqual(ciliumValidatorSource);
  });

  test('exist for every kind and give the same messages as the compiled schemas', () => {
    const objects = ciliumObjects();
    expect([...new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`))].sort()).toEqual(
      KINDS.map(({ apiVersion, kind }) => `${apiVersion}/${kind}`).sort(),
    );
    const standalone = kindValidators(KINDS, () => generated);
    const compiled = kindValidators(KINDS, notGenerated);
    let invalid = 0;
    for (const object of objects) {
      const index = standalone.findIndex((v) => v.kind === object.kind);
      const fromStandalone = standalone[index];
      const fromCompiled = compiled[index];
      if (fromStandalone === undefined || fromCompiled === undefined) throw new Error(object.kind);
      for (const variant of [object, ...oneFaultVariants(object, 'cidrs')]) {
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
    const current = kindValidators(KINDS, () => ({ ...fake, fingerprint: generated.fingerprint }));
    const stale = kindValidators(KINDS, () => ({ ...fake, fingerprint: 'older schemas' }));
    const kind = (v: { kind: string }) => v.kind === pool?.kind;
    expect(current.find(kind)?.validate(pool)).toEqual([
      { path: '', message: 'came from the module' },
    ]);
    expect(stale.find(kind)?.validate(pool)).toEqual([]);
  });
});
