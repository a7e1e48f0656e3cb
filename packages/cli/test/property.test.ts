// Property: every valid definition builds through the whole pipeline (components, assemblers,
// chart files, output validation, secret scan) without an error, and building it twice writes
// nothing the second time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster, EnvironmentName, Node } from '@homelab/core';
import { formatIssue, toYaml } from '@homelab/core';
import { testCluster, testDefinition, testNetwork, testNodes } from '@homelab/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { REGISTRY } from '../src/registry.js';
import { runtime } from '../src/runtime.js';

const TALOS = [
  { talos: 'v1.11.6', kubernetes: '1.33.5' },
  { talos: 'v1.12.11', kubernetes: '1.34.4' },
  { talos: 'v1.13.9', kubernetes: '1.35.1' },
] as const;

interface ClusterShape {
  readonly environment: EnvironmentName;
  readonly controlPlanes: 1 | 3;
  readonly workers: number;
  readonly bgp: boolean;
  readonly talos: number;
  readonly hubble: 'off' | 'relay' | 'ui';
  readonly gatewayApi: boolean;
  readonly argocd: 'off' | 'local' | 'oidc';
}

const clusterShape: fc.Arbitrary<ClusterShape> = fc
  .record({
    environment: fc.constantFrom<EnvironmentName>('development', 'staging', 'production'),
    controlPlanes: fc.constantFrom<1 | 3>(1, 3),
    workers: fc.integer({ min: 0, max: 4 }),
    bgp: fc.boolean(),
    talos: fc.integer({ min: 0, max: TALOS.length - 1 }),
    hubble: fc.constantFrom<'off' | 'relay' | 'ui'>('off', 'relay', 'ui'),
    gatewayApi: fc.boolean(),
    argocd: fc.constantFrom<'off' | 'local' | 'oidc'>('off', 'local', 'oidc'),
  })
  // Production runs three replicas of every controller, one per schedulable node.
  .filter(
    (shape) =>
      shape.environment !== 'production' ||
      shape.workers >= 3 ||
      (shape.workers === 0 && shape.controlPlanes === 3),
  );

function cluster(shape: ClusterShape, index: number): Cluster {
  const name = `c${index}`;
  const { l2Announcements: _l2, lanCidr: _lan, ...routed } = testNetwork(index);
  const versions = TALOS[shape.talos] ?? TALOS[1];
  // Without Argo CD nothing deploys the charts: such a cluster runs only what its runbook
  // installs by hand (Talos, Cilium, CoreDNS); anything more is `no-gitops-controller`.
  const byHandOnly =
    shape.argocd === 'off'
      ? Object.fromEntries(
          REGISTRY.filter((entry) => !['cilium', 'coredns'].includes(entry.name)).map((entry) => [
            entry.name,
            { enabled: false },
          ]),
        )
      : {};
  const components: { [key: string]: unknown } = {
    ...byHandOnly,
    cilium: {
      gatewayApi: shape.gatewayApi,
      hubble: { relay: shape.hubble !== 'off', ui: shape.hubble === 'ui' },
    },
    argocd:
      shape.argocd === 'off'
        ? { enabled: false }
        : shape.argocd === 'local'
          ? { localAdmin: true }
          : {
              adminGroups: ['admins'],
              oidc: {
                clientId: `argocd-${name}`,
                clientSecret: { secretName: 'argocd-oidc', key: 'client-secret' },
              },
            },
  };
  return testCluster(name, shape.environment, index, {
    talos: { version: versions.talos },
    kubernetes: { version: versions.kubernetes },
    nodes: [
      ...testNodes(name, index, shape.controlPlanes),
      ...testNodes(name, index, shape.workers, 'worker', 21),
    ] as [Node, ...Node[]],
    network: shape.bgp
      ? {
          ...routed,
          bgp: {
            localAsn: 64512,
            peers: [{ name: 'router', address: `192.168.${index}.1`, asn: 64513 }],
          },
        }
      : testNetwork(index),
    components: components as NonNullable<Cluster['components']>,
  });
}

describe('every valid definition', () => {
  it('builds without an error, and a second build writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(clusterShape, { minLength: 1, maxLength: 3 }), async (shapes) => {
        const definition = testDefinition(shapes.map((shape, i) => cluster(shape, i + 1)));
        const result = await generate({
          text: toYaml(definition),
          file: 'p.yaml',
          chartVersions: {},
        });
        const errors = result.issues.filter((issue) => issue.severity === 'error').map(formatIssue);
        expect(errors).toEqual([]);
        expect(result.files.length).toBeGreaterThan(0);
        const out = mkdtempSync(join(tmpdir(), 'homelab-property-'));
        try {
          const first = runtime.writeTree(out, result.files);
          expect((await first).written).toBe(result.files.length);
          const again = await generate({
            text: toYaml(definition),
            file: 'p.yaml',
            chartVersions: {},
          });
          expect(again.files).toEqual(result.files);
          const second = await runtime.writeTree(out, again.files);
          expect([second.written, second.removed]).toEqual([0, 0]);
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      }),
      { numRuns: 25, seed: 20261130 },
    );
  }, 600_000); // 25 whole builds: seconds on an idle machine, minutes on a loaded one
});
