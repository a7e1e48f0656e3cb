import { chartFiles } from '@homelab/core';
import { describe, expect, test } from 'vitest';
import { PLATFORM_GATEWAY, renderCilium, validateCiliumObjects } from '../src/index.js';
import {
  cluster,
  network,
  nodes,
  platform,
  referenceClusters,
  referencePlatform,
} from './factory.js';
import { type AnyJson, renderClusters } from './helpers.js';

const { output, rendered } = renderClusters(referencePlatform());
const kinds = (name: string): string[] => (rendered[name]?.objects ?? []).map((o) => o.kind);
const byKind = (name: string, kind: string): AnyJson =>
  rendered[name]?.objects.find((o) => o.kind === kind);

describe('cluster manifests', () => {
  test('each pool becomes a CiliumLoadBalancerIPPool with its CIDR and service selector', () => {
    const pools = (rendered.prod?.objects ?? []).filter(
      (o) => o.kind === 'CiliumLoadBalancerIPPool',
    ) as AnyJson[];
    expect(pools.map((p) => [p.metadata.name, p.spec])).toEqual([
      ['default', { blocks: [{ cidr: '192.168.3.224/28' }] }],
      [
        'gateway',
        {
          blocks: [{ cidr: '192.168.3.240/28' }],
          serviceSelector: { matchLabels: { 'homelab.dev/pool': 'gateway' } },
        },
      ],
    ]);
  });

  test('a BGP cluster gets cluster config, peer config and LoadBalancer IP advertisement, and no L2 policy', () => {
    expect(kinds('prod').sort()).toEqual([
      'CiliumBGPAdvertisement',
      'CiliumBGPClusterConfig',
      'CiliumBGPPeerConfig',
      'CiliumLoadBalancerIPPool',
      'CiliumLoadBalancerIPPool',
      'Gateway',
    ]);
    const config = byKind('prod', 'CiliumBGPClusterConfig');
    expect(config.spec.bgpInstances).toEqual([
      {
        name: 'asn-64513',
        localASN: 64513,
        peers: [
          {
            name: 'router',
            peerASN: 64512,
            peerAddress: '192.168.3.1',
            peerConfigRef: { name: 'platform' },
          },
        ],
      },
    ]);
    const peer = byKind('prod', 'CiliumBGPPeerConfig');
    const advert = byKind('prod', 'CiliumBGPAdvertisement');
    expect(peer.spec.families).toEqual([
      { afi: 'ipv4', safi: 'unicast', advertisements: { matchLabels: advert.metadata.labels } },
    ]);
    expect(advert.spec.advertisements[0].service).toEqual({ addresses: ['LoadBalancerIP'] });
  });

  test('an L2 cluster gets a CiliumL2AnnouncementPolicy on the default interfaces and no BGP resources', () => {
    expect(kinds('dev').sort()).toEqual([
      'CiliumL2AnnouncementPolicy',
      'CiliumLoadBalancerIPPool',
      'Gateway',
    ]);
    expect(byKind('dev', 'CiliumL2AnnouncementPolicy').spec).toEqual({
      interfaces: ['^eth[0-9]+$'],
      loadBalancerIPs: true,
      externalIPs: false,
    });
  });

  test('with workers, only workers announce, on the interfaces the definition gives', () => {
    const p = platform([
      cluster('lab', 'development', 4, {
        nodes: [...nodes('lab', 4, 1), ...nodes('lab', 4, 1, 'worker', 21)] as AnyJson,
        network: network(4, { l2Announcements: { interfaces: ['^enp[0-9]s0$'] } }),
      }),
    ]);
    const { rendered: r } = renderClusters(p);
    const policy = r.lab?.objects.find((o) => o.kind === 'CiliumL2AnnouncementPolicy') as AnyJson;
    expect(policy.spec.interfaces).toEqual(['^enp[0-9]s0$']);
    expect(policy.spec.nodeSelector).toEqual({
      matchExpressions: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' },
      ],
    });
  });

  test('the platform Gateway serves HTTP for the cluster domain and accepts routes from all namespaces', () => {
    const dev = byKind('dev', 'Gateway');
    expect(dev.metadata).toEqual({
      name: PLATFORM_GATEWAY.name,
      namespace: PLATFORM_GATEWAY.namespace,
    });
    expect(dev.spec).toEqual({
      gatewayClassName: 'cilium',
      listeners: [
        {
          name: 'http',
          protocol: 'HTTP',
          port: 80,
          hostname: '*.dev.lab.example.com',
          allowedRoutes: { namespaces: { from: 'All' } },
        },
      ],
    });
    expect(byKind('prod', 'Gateway').spec.listeners[0].hostname).toBe('*.lab.example.com');
  });

  test('disabling the Gateway API drops the Gateway, the chart feature and the CRD dependency', () => {
    const [dev, ...rest] = referenceClusters();
    const p = platform([{ ...dev, components: { cilium: { gatewayApi: false } } }, ...rest]);
    const { output: out, rendered: r } = renderClusters(p);
    expect(r.dev?.objects.map((o) => o.kind)).not.toContain('Gateway');
    expect((r.dev as AnyJson).values.cilium.gatewayAPI.enabled).toBe(false);
    expect(out.clusters.dev?.application?.dependsOn).toEqual([]);
    expect(out.clusters.staging?.application?.dependsOn).toEqual(['gateway-api-crds']);
  });

  test('every emitted cilium.io object passes the hand-written validators', () => {
    for (const name of ['dev', 'staging', 'prod'])
      expect(validateCiliumObjects(rendered[name]?.objects ?? [])).toEqual([]);
  });

  test('the hand-written validators reject a misspelled field', () => {
    const pool = structuredClone(byKind('dev', 'CiliumLoadBalancerIPPool'));
    pool.spec.blocks = [{ cidrs: '10.0.0.0/24' }];
    expect(validateCiliumObjects([pool])).toEqual([
      "CiliumLoadBalancerIPPool/default: /spec/blocks/0 must have required property 'cidr'",
      'CiliumLoadBalancerIPPool/default: /spec/blocks/0 must NOT have additional properties (cidrs)',
    ]);
  });
});

describe('application descriptor', () => {
  test('Cilium deploys privileged into kube-system after the Gateway API CRDs, server-side', () => {
    const app = output.clusters.dev?.application;
    expect([
      app?.name,
      app?.chart,
      app?.namespace,
      app?.podSecurity,
      app?.serverSideApply,
      app?.dependsOn,
    ]).toEqual(['cilium', 'cilium', 'kube-system', 'privileged', true, ['gateway-api-crds']]);
  });

  test('cluster-scoped kinds are exactly what the cluster gets, never a wildcard', () => {
    const list = (name: string): string[] =>
      (output.clusters[name]?.application?.clusterResources ?? []).map(
        (r) => `${r.group}/${r.kind}`,
      );
    expect(list('prod')).toEqual([
      '/Namespace',
      'cilium.io/CiliumBGPAdvertisement',
      'cilium.io/CiliumBGPClusterConfig',
      'cilium.io/CiliumBGPPeerConfig',
      'cilium.io/CiliumLoadBalancerIPPool',
      'gateway.networking.k8s.io/GatewayClass',
      'rbac.authorization.k8s.io/ClusterRole',
      'rbac.authorization.k8s.io/ClusterRoleBinding',
    ]);
    expect(list('dev')).toContain('cilium.io/CiliumL2AnnouncementPolicy');
    expect(list('dev')).not.toContain('cilium.io/CiliumBGPClusterConfig');
  });

  test('Argo CD ignores the data of the in-cluster generated TLS secrets', () => {
    expect(output.clusters.dev?.application?.ignoreDifferences?.map((d) => d.name)).toEqual([
      'cilium-ca',
      'hubble-relay-client-certs',
      'hubble-server-certs',
    ]);
  });
});

describe('issues', () => {
  const codes = (p = referencePlatform()): string[] =>
    renderCilium(p).issues.map((i) => `${i.code} ${i.path}`);

  test('the reference fleet renders without issues', () => {
    expect(codes()).toEqual([]);
  });

  test('clusters asking for different Cilium versions are refused', () => {
    const [dev, staging, prod] = referenceClusters() as AnyJson;
    const out = renderCilium(
      platform([
        { ...dev, components: { cilium: { version: '1.18.12' } } },
        { ...staging, components: { cilium: { version: '1.20.0' } } },
        prod,
      ]),
    );
    expect(out.issues.map((i) => [i.code, i.path, i.value])).toEqual([
      ['cilium-version-mismatch', 'clusters[1].components.cilium.version', '1.20.0'],
    ]);
  });

  test('a cluster name Cilium cannot use is refused', () => {
    const name = 'a-cluster-name-longer-than-thirty-two';
    expect(codes(platform([cluster(name, 'development', 1)]))).toContain(
      'cilium-cluster-name clusters[0].name',
    );
  });

  test('the Hubble UI without relay is refused', () => {
    const p = platform([
      cluster('dev', 'development', 1, { components: { cilium: { hubble: { relay: false } } } }),
    ]);
    expect(codes(p)).toEqual(['cilium-hubble clusters[0].components.cilium.hubble.ui']);
  });

  test('production with no free node for the surge operator pod is refused', () => {
    const p = platform([
      cluster('prod', 'production', 3, { nodes: nodes('prod', 3, 3) as AnyJson }),
    ]);
    expect(codes(p)).toContain('cilium-operator-rollout clusters[0].components.cilium.operator');
  });

  test('a node whose interface no L2 pattern matches is reported', () => {
    const p = platform([
      cluster('dev', 'development', 1, {
        nodes: [{ ...nodes('dev', 1, 1)[0], interface: 'enp1s0' }] as AnyJson,
      }),
    ]);
    expect(codes(p)).toEqual(['cilium-l2-interface clusters[0].nodes[0].interface']);
  });

  test('rendering is deterministic', () => {
    const a = chartFiles(renderCilium(referencePlatform()).chart as AnyJson, '0.1.0').files;
    const b = chartFiles(renderCilium(referencePlatform()).chart as AnyJson, '0.1.0').files;
    expect(b).toEqual(a);
  });
});
