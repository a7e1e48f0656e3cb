import { type KubeObject, validateObjects } from '@homelab/core';
import { testCluster, testDefinition, testNetwork, testNodes } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { ciliumComponent } from '../src/index.js';
import { type AnyJson, referenceClusters, runCilium } from './helpers.js';

const { rendered } = runCilium(testDefinition(referenceClusters()));
const POLICY_KINDS = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'];
/** The kinds of a cluster's manifests besides the zero-trust policies (test/policies.test.ts). */
const kinds = (name: string): string[] =>
  (rendered[name]?.objects ?? []).map((o) => o.kind).filter((kind) => !POLICY_KINDS.includes(kind));
const byKind = (name: string, kind: string): AnyJson =>
  rendered[name]?.objects.find((o) => o.kind === kind);

describe('cluster manifests', () => {
  test('each pool becomes a CiliumLoadBalancerIPPool with its CIDR and service selector, keeping its first and last address', () => {
    const pools = (rendered.prod?.objects ?? []).filter(
      (o) => o.kind === 'CiliumLoadBalancerIPPool',
    ) as AnyJson[];
    expect(pools.map((p) => [p.metadata.name, p.spec])).toEqual([
      ['default', { allowFirstLastIPs: 'No', blocks: [{ cidr: '192.168.3.224/28' }] }],
      [
        'gateway',
        {
          allowFirstLastIPs: 'No',
          blocks: [{ cidr: '192.168.3.240/28' }],
          serviceSelector: { matchLabels: { 'homelab.dev/pool': 'gateway' } },
        },
      ],
    ]);
    // So does an L2 cluster's (dev): a pool at the top of its LAN ends at the LAN's broadcast
    // address, which LB IPAM would otherwise hand to a Service
    const dev = byKind('dev', 'CiliumLoadBalancerIPPool');
    expect(dev.spec.allowFirstLastIPs).toBe('No');
  });

  test('a BGP cluster gets cluster config, peer config and LoadBalancer IP advertisement, and no L2 policy', () => {
    expect(kinds('prod').sort()).toEqual([
      'CiliumBGPAdvertisement',
      'CiliumBGPClusterConfig',
      'CiliumBGPPeerConfig',
      'CiliumLoadBalancerIPPool',
      'CiliumLoadBalancerIPPool',
      // The SPIRE watchdog (test/spire-watchdog.test.ts): its CronJob, two Roles, their
      // bindings and its ServiceAccount.
      'CronJob',
      // The SPIRE namespace (mutual authentication is on in production), Pod Security labelled.
      'Namespace',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'ServiceAccount',
    ]);
    expect(byKind('prod', 'Namespace').metadata).toEqual({
      name: 'cilium-spire',
      labels: {
        'app.kubernetes.io/part-of': 'cilium',
        'pod-security.kubernetes.io/audit': 'privileged',
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/warn': 'privileged',
      },
    });
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
    // Only the nodes dial (Cilium listens on no port): a neighbour back from a reboot gets its
    // sessions within seconds, not Cilium's default two to four minutes. A node that dies without
    // closing its sessions is dropped after 9 seconds, not 90. Graceful restart stays off.
    expect(peer.spec.timers).toEqual({
      connectRetryTimeSeconds: 5,
      holdTimeSeconds: 9,
      keepAliveTimeSeconds: 3,
    });
    // The CRD's rule (x-kubernetes-validations): keepalive no larger than the hold time
    expect(peer.spec.timers.keepAliveTimeSeconds).toBeLessThanOrEqual(
      peer.spec.timers.holdTimeSeconds,
    );
    expect(peer.spec.gracefulRestart).toBeUndefined();
    expect(advert.spec.advertisements[0].service).toEqual({ addresses: ['LoadBalancerIP'] });
  });

  test('an L2 cluster of nodes selected by MAC announces on every interface Cilium manages, and gets no BGP resources', () => {
    expect(kinds('dev').sort()).toEqual(['CiliumL2AnnouncementPolicy', 'CiliumLoadBalancerIPPool']);
    // Talos' alias lan0 is no kernel name Cilium could match: `interfaces` left out means all.
    expect(byKind('dev', 'CiliumL2AnnouncementPolicy').spec).toEqual({
      loadBalancerIPs: true,
      externalIPs: false,
    });
  });

  test('nodes that name their links announce on exactly those names', () => {
    const nodes = testNodes('lab', 4, 3).map((node, i) => ({
      ...node,
      link: { name: i === 0 ? 'enp1s0' : 'ens18' },
    }));
    const { rendered: r } = runCilium(
      testDefinition([testCluster('lab', 'development', 4, { nodes: nodes as AnyJson })]),
    );
    const policy = r.lab?.objects.find((o) => o.kind === 'CiliumL2AnnouncementPolicy') as AnyJson;
    expect(policy.spec.interfaces).toEqual(['^(enp1s0|ens18)$']);
    const pattern = new RegExp(policy.spec.interfaces[0]);
    expect(['enp1s0', 'ens18', 'ens180', 'enp1s01'].map((n) => pattern.test(n))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  test('with workers, only workers announce, on the interfaces the definition gives', () => {
    const { rendered: r } = runCilium(
      testDefinition([
        testCluster('lab', 'development', 4, {
          nodes: [...testNodes('lab', 4, 1), ...testNodes('lab', 4, 1, 'worker', 21)] as AnyJson,
          network: testNetwork(4, { l2Announcements: { interfaces: ['^enp[0-9]s0$'] } }),
        }),
      ]),
    );
    const policy = r.lab?.objects.find((o) => o.kind === 'CiliumL2AnnouncementPolicy') as AnyJson;
    expect(policy.spec.interfaces).toEqual(['^enp[0-9]s0$']);
    expect(policy.spec.nodeSelector).toEqual({
      matchExpressions: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' },
      ],
    });
  });

  test('renders no Gateway: the platform Gateway is the gateway component’s', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect(rendered[cluster]?.objects.map((o) => o.kind)).not.toContain('Gateway');
    }
  });

  test('disabling the Gateway API on a cluster drops the chart feature there', () => {
    const [dev, ...rest] = referenceClusters();
    const { rendered: r } = runCilium(
      testDefinition([{ ...dev, components: { cilium: { gatewayApi: false } } }, ...rest]),
    );
    expect((r.dev as AnyJson).values.cilium.gatewayAPI).toMatchObject({
      enabled: false,
      gatewayClass: { create: 'false' },
    });
    expect((r.staging as AnyJson).values.cilium.gatewayAPI.enabled).toBe(true);
  });
});

describe('the hand-written validators of the cilium.io kinds', () => {
  const ciliumObjects = (): { source: string; object: KubeObject }[] =>
    Object.entries(rendered).flatMap(([cluster, chart]) =>
      chart.objects
        .map((object, i) => ({
          source: `charts/cilium/clusters/${cluster}.yaml#manifests.${chart.keys[i]}`,
          object,
        }))
        .filter(({ object }) => object.apiVersion.startsWith('cilium.io/')),
    );

  test('cover every cilium.io kind the fleet emits, and pass every emitted object', () => {
    const objects = ciliumObjects();
    expect([...new Set(objects.map(({ object }) => object.kind))].sort()).toEqual([
      'CiliumBGPAdvertisement',
      'CiliumBGPClusterConfig',
      'CiliumBGPPeerConfig',
      'CiliumClusterwideNetworkPolicy',
      'CiliumL2AnnouncementPolicy',
      'CiliumLoadBalancerIPPool',
      'CiliumNetworkPolicy',
    ]);
    expect(validateObjects(objects, ciliumComponent.validators ?? [])).toEqual([]);
  });

  test('reject a misspelled field and name where it is', () => {
    const pool = structuredClone(byKind('dev', 'CiliumLoadBalancerIPPool'));
    pool.spec.blocks = [{ cidrs: '10.0.0.0/24' }];
    const source = 'charts/cilium/clusters/dev.yaml#manifests.lb-pool-default';
    const origin = ['clusters', 0, 'components', 'cilium'];
    expect(
      validateObjects([{ source, object: pool, origin }], ciliumComponent.validators ?? []),
    ).toEqual([
      {
        severity: 'error',
        code: 'object-schema',
        path: origin,
        output: `${source}.spec.blocks[0].cidr`,
        message: 'is required (cilium.io/v2 CiliumLoadBalancerIPPool)',
      },
      {
        severity: 'error',
        code: 'object-schema',
        path: origin,
        output: `${source}.spec.blocks[0].cidrs`,
        message: 'is not a field of this kind (cilium.io/v2 CiliumLoadBalancerIPPool)',
      },
    ]);
  });
});

describe('pruning under the Application’s Prune=false', () => {
  // The Cilium Application is critical and syncs with Prune=false; an object's own
  // `argocd.argoproj.io/sync-options: Prune=true` wins over it (gitops-engine isPruningDisabled
  // reads the live object first). Without it, a pool, peer or policy removed or renamed in the
  // definition stays in the cluster and keeps the Application OutOfSync for good.
  const syncOptions = (object: KubeObject): string[] =>
    (object.metadata.annotations?.['argocd.argoproj.io/sync-options'] ?? '')
      .split(',')
      .map((option) => option.trim());

  test.each(['dev', 'staging', 'prod'])(
    'every object the definition puts into the Cilium chart of %s is pruned when it leaves it',
    (name) => {
      const objects = (rendered[name]?.objects ?? []).filter((o) => o.kind !== 'Namespace');
      expect(objects.some((o) => POLICY_KINDS.includes(o.kind))).toBe(true);
      expect(objects.some((o) => o.kind === 'CiliumLoadBalancerIPPool')).toBe(true);
      expect(
        objects
          .filter((o) => !syncOptions(o).includes('Prune=true'))
          .map((o) => `${o.kind}/${o.metadata.name}`),
      ).toEqual([]);
    },
  );

  test('the Hubble certificate Job, renamed with its spec on every upgrade, is pruned too', () => {
    const cilium = rendered.prod?.values.cilium as AnyJson;
    expect(cilium.certgen.annotations.job).toEqual({
      'argocd.argoproj.io/sync-options': 'Prune=true',
    });
  });
});
