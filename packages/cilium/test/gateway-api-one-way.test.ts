// Why a cluster cannot take the Gateway API back below v1.5 (`noDowngradeBelow` of the standard
// bundle, the build's `crd-bundle-downgrade`), read from the vendored bundles (vendor/crds) of
// the releases the Cilium pins pair: each bundle from the floor on against each one below it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KubeObject, parseAllDocuments } from '@homelab/core';
import { repoRoot, testDefinition } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { CILIUM_RELEASES } from '../src/versions.js';
import { must, referenceClusters, runCilium } from './helpers.js';

type Crd = KubeObject & {
  spec: { versions: { name: string; storage: boolean }[] };
};

/** Every object of the vendored Gateway API bundle at `tag` (its standard and experimental files). */
function bundle(tag: string): KubeObject[] {
  const out: KubeObject[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml')) {
        out.push(...(parseAllDocuments(readFileSync(path, 'utf8')) as KubeObject[]));
      }
    }
  };
  walk(join(repoRoot(), 'vendor', 'crds', 'gateway-api', tag));
  return out.filter((object) => object !== null && typeof object === 'object');
}

const crds = (objects: readonly KubeObject[]): Crd[] =>
  objects.filter((object): object is Crd => object.kind === 'CustomResourceDefinition');

const minor = (tag: string): number => Number(tag.split('.')[1]);

/**
 * The CRDs of `newer` whose storage version the same CRD of `older` lacks: the API server refuses
 * the older CRD over them (status.storedVersions keeps the version), so they must be deleted first.
 */
function storedVersionsLost(newer: readonly KubeObject[], older: readonly KubeObject[]): string[] {
  const before = new Map(crds(older).map((crd) => [crd.metadata.name, crd]));
  return crds(newer).flatMap((crd) => {
    const old = before.get(crd.metadata.name);
    const stored = crd.spec.versions.find((version) => version.storage)?.name;
    if (old === undefined || stored === undefined) return [];
    return old.spec.versions.some((version) => version.name === stored) ? [] : [crd.metadata.name];
  });
}

describe('the Gateway API cannot go back below v1.5 on a cluster that ran it', () => {
  const { declared } = runCilium(
    testDefinition(referenceClusters(), { components: { cilium: { version: '1.20.0' } } }),
  );
  const standard = must(declared.dev?.crds?.[0], 'the Gateway API bundle');
  const floor = must(standard.noDowngradeBelow, 'its floor');
  const tags = [
    ...new Set(Object.values(CILIUM_RELEASES).map((release) => release.gatewayApiVersion)),
  ];
  const newer = tags.filter((tag) => minor(tag) >= minor(floor.version));
  const older = tags.filter((tag) => minor(tag) < minor(floor.version));

  test('the pins pair releases on both sides of the floor', () => {
    expect(newer).toContain('v1.6.1');
    expect(older).toContain('v1.4.1');
  });

  test('each bundle from the floor on stores a version an older bundle lacks (TLSRoute v1) and installs the safe-upgrades policy; the commands delete exactly those', () => {
    for (const tag of newer) {
      const objects = bundle(tag);
      const policies = objects.filter((object) =>
        ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(object.kind),
      );
      expect(policies.map(({ kind, metadata }) => `${kind} ${metadata.name}`).sort(), tag).toEqual([
        'ValidatingAdmissionPolicy safe-upgrades.gateway.networking.k8s.io',
        'ValidatingAdmissionPolicyBinding safe-upgrades.gateway.networking.k8s.io',
      ]);
      for (const old of older) {
        const lost = storedVersionsLost(objects, bundle(old));
        expect(lost, `${tag} → ${old}`).toEqual(['tlsroutes.gateway.networking.k8s.io']);
        expect([...floor.undo].sort(), `${tag} → ${old}`).toEqual(
          [
            ...policies.map(
              ({ kind, metadata }) =>
                `kubectl delete ${kind.toLowerCase()} ${metadata.name} --timeout=2m`,
            ),
            ...lost.map((name) => `kubectl delete customresourcedefinition ${name} --timeout=10m`),
          ].sort(),
        );
      }
    }
  });

  test('finds a stored version lost, broken on purpose: an older TLSRoute CRD that has v1', () => {
    const [tag, old] = [newer[0] as string, older[0] as string];
    const patched = bundle(old).map((object) =>
      object.metadata.name === 'tlsroutes.gateway.networking.k8s.io'
        ? {
            ...object,
            spec: {
              ...(object as Crd).spec,
              versions: [...(object as Crd).spec.versions, { name: 'v1', storage: false }],
            },
          }
        : object,
    );
    expect(storedVersionsLost(bundle(tag), patched)).toEqual([]);
  });
});
