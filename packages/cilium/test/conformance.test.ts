// Conformance with the upstream Cilium releases, read from the vendored chart archives (vendor/).
import { type KubeObject, mergeValues, parseCidr, parseYaml, type Values } from '@homelab/core';
import {
  readUpstream,
  readVendoredChartFile,
  testCluster,
  testDefinition,
  testNetwork,
  testNodes,
  unknownValueKeys,
} from '@homelab/core/testing';
import { CiliumClusterwideNetworkPolicy } from '@kubernetes-models/cilium/cilium.io/v2/CiliumClusterwideNetworkPolicy';
import { CiliumNetworkPolicy } from '@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { CILIUM_RELEASES, CILIUM_VERSIONS } from '../src/versions.js';
import { type AnyJson, referenceClusters, runCilium } from './helpers.js';

const upstream = (version: string): { values: Values; schema: AnyJson } => ({
  values: parseYaml(readVendoredChartFile('cilium', version, 'values.yaml')) as Values,
  schema: JSON.parse(readVendoredChartFile('cilium', version, 'values.schema.json')),
});

/** A Kubernetes version each release is tested on (Cilium's compatibility page of the release). */
function kubernetesFor(version: string | undefined): string {
  if (version === undefined) return '1.34.4';
  const [low] = CILIUM_RELEASES[version as keyof typeof CILIUM_RELEASES].kubernetes;
  return `1.${low + 1}.2`;
}

/** The reference fleet plus a cluster with every optional feature switched the other way. */
function fleet(version?: string) {
  const kubernetes = { version: kubernetesFor(version) };
  return testDefinition(
    [
      ...referenceClusters().map((cluster) => ({ ...cluster, kubernetes })),
      testCluster('edge', 'staging', 5, {
        kubernetes,
        nodes: testNodes('edge', 5, 2) as AnyJson,
        network: testNetwork(5, { loadBalancerPools: [{ name: 'v6', cidr: 'fd00:5::/120' }] }),
        components: {
          cilium: {
            upgradeCompatibility: '1.18',
            gatewayApi: false,
            hubble: { relay: false, ui: false },
          },
        },
      }),
    ],
    version === undefined ? {} : { components: { cilium: { version } } },
  );
}

describe.each(CILIUM_VERSIONS)('Cilium %s', (version) => {
  const { values: upstreamValues, schema } = upstream(version);
  const { output, rendered, issues } = runCilium(fleet(version));

  test('the chart pins this release, and the fleet renders without issues', () => {
    expect(output.chart?.dependency).toEqual({
      name: 'cilium',
      version,
      repository: 'https://helm.cilium.io',
      // Upgrades and rollbacks one minor release at a time (chart-upgrade-path).
      upgradePath: {
        product: 'Cilium',
        rollback: 'minor',
        source:
          'its upgrade guide: "The only tested rollback and upgrade path is between consecutive minor releases"',
        // The chart's value keeping an earlier release's defaults (chart-upgrade-compatibility),
        // a key of every supported release's values.yaml.
        compatibility: {
          value: 'upgradeCompatibility',
          setting: 'upgradeCompatibility',
          source:
            'its upgrade guide: "To minimize datapath disruption during the upgrade, the upgradeCompatibility option should be set to the initial Cilium version which was installed in this cluster"',
        },
      },
    });
    expect(upstreamValues).toHaveProperty('upgradeCompatibility', null);
    expect(issues).toEqual([]);
  });

  test.each(['dev', 'staging', 'prod', 'edge'])(
    'every key set under cilium for %s exists upstream',
    (name) => {
      const chart = rendered[name];
      expect(chart?.issues).toEqual([]);
      expect(unknownValueKeys(chart?.values.cilium, upstreamValues, schema)).toEqual([]);
    },
  );

  test.each(['dev', 'staging', 'prod', 'edge'])(
    'the coalesced values of %s pass values.schema.json',
    (name) => {
      const effective = mergeValues(upstreamValues, rendered[name]?.values.cilium as Values);
      const ajv = new Ajv({ strict: false, allErrors: true });
      const validate = ajv.compile(schema);
      validate(effective);
      expect(validate.errors ?? []).toEqual([]);
    },
  );
});

describe('the key check', () => {
  const { values: upstreamValues, schema } = upstream('1.18.12');
  const { rendered } = runCilium(testDefinition(referenceClusters()));
  const ours = rendered.dev?.values.cilium as AnyJson;

  test('fails on a misspelled top-level key', () => {
    expect(
      unknownValueKeys({ ...ours, kubeProxyReplacment: true }, upstreamValues, schema),
    ).toEqual(['kubeProxyReplacment']);
  });

  test('fails on a misspelled nested key and names its path', () => {
    const values = {
      ...ours,
      operator: { ...ours.operator, replica: 2 },
      hubble: { ...ours.hubble, relay: { enabeld: true } },
    };
    expect(unknownValueKeys(values, upstreamValues, schema).sort()).toEqual([
      'hubble.relay.enabeld',
      'operator.replica',
    ]);
  });

  test('accepts keys under free-form maps', () => {
    const values = {
      operator: { podLabels: { team: 'net' }, affinity: { nodeAffinity: {} } },
      k8sClientRateLimit: { qps: 5 },
    };
    expect(unknownValueKeys(values, upstreamValues, schema)).toEqual([]);
  });

  test('reports a map set where upstream has a scalar', () => {
    expect(unknownValueKeys({ ipam: { mode: { a: 1 } } }, upstreamValues, schema)).toEqual([
      'ipam.mode',
    ]);
  });
});

describe('custom resources against the upstream CRD schemas', () => {
  const crdSchemas = new Map<string, AnyJson>([
    ['cilium.io/v2/CiliumLoadBalancerIPPool', 'ciliumloadbalancerippool_v2.json'],
    ['cilium.io/v2/CiliumBGPClusterConfig', 'ciliumbgpclusterconfig_v2.json'],
    ['cilium.io/v2/CiliumBGPPeerConfig', 'ciliumbgppeerconfig_v2.json'],
    ['cilium.io/v2/CiliumBGPAdvertisement', 'ciliumbgpadvertisement_v2.json'],
    ['cilium.io/v2alpha1/CiliumL2AnnouncementPolicy', 'ciliuml2announcementpolicy_v2alpha1.json'],
  ]);
  // The files declare no $schema: they are OpenAPI v3 structural schemas, valid draft-07.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('cidr', (s: string) => parseCidr(s) !== undefined);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('date-time', () => true);
  ajv.addFormat('ipv4', (s: string) => /^(\d{1,3}\.){3}\d{1,3}$/.test(s));
  const validators = new Map(
    [...crdSchemas].map(([key, file]) => [
      key,
      ajv.compile(JSON.parse(readUpstream('cilium', 'crd-jsonschema', file))),
    ]),
  );
  // The policy kinds have no datree conversion in vendor/: they are checked against the models
  // of @kubernetes-models/cilium (generated from Cilium's policy API types).
  const models = new Map<string, (object: KubeObject) => unknown[]>([
    ['cilium.io/v2/CiliumNetworkPolicy', (object) => modelProblems(CiliumNetworkPolicy, object)],
    [
      'cilium.io/v2/CiliumClusterwideNetworkPolicy',
      (object) => modelProblems(CiliumClusterwideNetworkPolicy, object),
    ],
  ]);
  const problems = (object: KubeObject): unknown[] => {
    const model = models.get(`${object.apiVersion}/${object.kind}`);
    if (model !== undefined) return model(object);
    const validate = validators.get(`${object.apiVersion}/${object.kind}`);
    if (validate === undefined)
      throw new Error(`no CRD schema for ${object.apiVersion} ${object.kind}`);
    validate(object);
    return validate.errors ?? [];
  };
  const { rendered } = runCilium(fleet());
  const ciliumObjects = Object.values(rendered).flatMap((r) =>
    r.objects.filter((o) => o.apiVersion.startsWith('cilium.io/')),
  );

  test('every kind we emit is covered', () => {
    expect([...new Set(ciliumObjects.map((o) => `${o.apiVersion}/${o.kind}`))].sort()).toEqual(
      [...crdSchemas.keys(), ...models.keys()].sort(),
    );
  });

  test('a policy that names a field Cilium does not know fails', () => {
    const policy = structuredClone(
      ciliumObjects.find((o) => o.kind === 'CiliumNetworkPolicy'),
    ) as AnyJson;
    policy.spec.egress[0].toEndpoint = policy.spec.egress[0].toEntities;
    policy.spec.enableDefaultDeny = { egress: 'yes' };
    expect(problems(policy).length).toBeGreaterThan(0);
  });

  test.each(ciliumObjects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))(
    '%s validates',
    (_, object) => {
      expect(problems(object)).toEqual([]);
    },
  );

  test('a broken custom resource fails', () => {
    const peer = structuredClone(
      ciliumObjects.find((o) => o.kind === 'CiliumBGPClusterConfig'),
    ) as AnyJson;
    peer.spec.bgpInstances[0].peers[0].peerASN = '64512';
    peer.spec.bgpInstances[0].peers[0].peerAdress = '192.168.3.1';
    const errors = problems(peer) as AnyJson[];
    expect(errors.map((e) => `${e.instancePath} ${e.keyword}`).sort()).toEqual([
      '/spec/bgpInstances/0/peers/0 additionalProperties',
      '/spec/bgpInstances/0/peers/0/peerASN type',
    ]);
  });
});

type Model = new (data: never) => { validate(): void };

function modelProblems(model: Model, object: KubeObject): unknown[] {
  try {
    new model(object as never).validate();
    return [];
  } catch (cause) {
    return [cause instanceof Error ? cause.message : String(cause)];
  }
}
