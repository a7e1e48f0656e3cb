// The gateway's system checks through the real pipeline and the real registry (Cilium,
// cert-manager, the gateway, Argo CD): the reference fleet passes them, and a component that
// breaks one of the facts on purpose stops the build with the check's code, the place in the
// definition and the generated file.
import type { Component, ComponentOutput, KubeObject, RenderInput, Values } from '@homelab/core';
import { formatIssue, toYaml } from '@homelab/core';
import { testDefinition, testReferenceClusters } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { REGISTRY } from '../src/registry.js';

type RogueSettings = { readonly [key: string]: never };

/** A component with one Application and whatever route and objects a test gives it. */
function rogue(options: {
  readonly auth?: { kind: 'none'; reason: string };
  readonly manifests?: { [key: string]: KubeObject };
}): Component<RogueSettings> {
  return {
    name: 'rogue',
    description: 'A component that breaks a fact on purpose (test double).',
    settings: {
      schema: { type: 'object', additionalProperties: false, properties: {} },
      defaults: {},
    },
    provides: [],
    needs: ['cni'],
    uses: ['gateway'],
    upstream: [],
    declare: () => ({
      application: { namespace: 'rogue', podSecurity: 'restricted', clusterResources: [] },
      ...(options.auth === undefined
        ? {}
        : {
            routes: [
              {
                name: 'rogue',
                host: 'rogue',
                namespace: 'rogue',
                service: 'rogue',
                port: 8080,
                auth: options.auth,
              },
            ],
          }),
    }),
    render: (input: RenderInput<RogueSettings>): ComponentOutput => ({
      chart: {
        name: 'rogue',
        description: 'rogue',
        appVersion: '1.0.0',
        values: {},
        environments: {},
        clusters: Object.fromEntries(
          input.clusters.map((entry) => [
            entry.cluster.name,
            { manifests: (options.manifests ?? {}) as unknown as Values },
          ]),
        ),
        readme: { summary: 'rogue' },
      },
    }),
  };
}

async function errorsWith(extra: readonly Component<RogueSettings>[]) {
  const result = await generate(
    {
      text: toYaml(testDefinition(testReferenceClusters())),
      file: 'platform.yaml',
      chartVersions: {},
    },
    { registry: [...REGISTRY, ...extra] },
  );
  return result.issues.filter((issue) => issue.severity === 'error');
}

describe('the gateway checks in a real build', { timeout: 120_000 }, () => {
  it('pass on the reference fleet', async () => {
    const errors = await errorsWith([]);
    expect(errors.map(formatIssue)).toEqual([]);
  });

  it('stop a route served in plain HTTP that no route request declares', async () => {
    const plain: KubeObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'plain', namespace: 'gateway' },
      spec: {
        parentRefs: [{ name: 'platform', namespace: 'gateway', sectionName: 'http' }],
        hostnames: ['plain.lab.example.com'],
        rules: [{ backendRefs: [{ name: 'plain', port: 80 }] }],
      },
    };
    const errors = await errorsWith([rogue({ manifests: { 'httproute-plain': plain } })]);
    const prod = errors.filter((issue) => issue.output?.includes('clusters/prod.yaml'));
    expect(prod.map((issue) => [issue.code, issue.output, issue.message])).toEqual([
      [
        'routes-over-tls',
        'charts/rogue/clusters/prod.yaml#manifests.httproute-plain',
        'HTTPRoute gateway/plain on cluster "prod" attaches to listener "http" of Gateway gateway/platform (HTTP): it would be served without TLS',
      ],
      [
        'routes-authenticated',
        'charts/rogue/clusters/prod.yaml#manifests.httproute-plain',
        'HTTPRoute gateway/plain on cluster "prod" is no declared route, so no authentication rule covers it',
      ],
    ]);
    expect(prod[0]?.path).toEqual(['clusters', 2, 'components', 'rogue']);
  });

  it('stop a route left open without a reason', async () => {
    const errors = await errorsWith([rogue({ auth: { kind: 'none', reason: '' } })]);
    expect(errors.map((issue) => [issue.code, issue.message])).toContainEqual([
      'routes-authenticated',
      'route "rogue" (rogue) of rogue on cluster "dev" has no authentication and gives no reason',
    ]);
    const reasoned = await errorsWith([rogue({ auth: { kind: 'none', reason: 'public status' } })]);
    expect(reasoned.map(formatIssue)).toEqual([]);
  });

  it('stop a Gateway certificate whose issuer nothing deploys', async () => {
    // A Gateway of its own whose HTTPS listener serves a Secret from a Certificate of an
    // issuer no Application deploys (the cluster's issuer is the private CA).
    const gateway: KubeObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'rogue', namespace: 'rogue' },
      spec: {
        gatewayClassName: 'cilium',
        listeners: [
          {
            name: 'https',
            protocol: 'HTTPS',
            port: 443,
            tls: { certificateRefs: [{ name: 'rogue-tls' }] },
          },
        ],
      },
    };
    const certificate: KubeObject = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'rogue', namespace: 'rogue' },
      spec: {
        secretName: 'rogue-tls',
        dnsNames: ['rogue.lab.example.com'],
        issuerRef: {
          group: 'cert-manager.io',
          kind: 'ClusterIssuer',
          name: 'letsencrypt-production',
        },
      },
    };
    const errors = await errorsWith([rogue({ manifests: { certificate, gateway } })]);
    expect(errors.map((issue) => [issue.code, issue.output, issue.message])).toContainEqual([
      'gateway-certificate',
      'charts/rogue/clusters/dev.yaml#manifests.certificate',
      'Certificate rogue/rogue on cluster "dev" is issued by ClusterIssuer letsencrypt-production, which no Application on the cluster deploys',
    ]);
  });
});
