// Clusters built with the one test factory, test components that declare Talos needs and
// runbook steps, and readers of the generated files.
import {
  type AnyComponent,
  type Cluster,
  type ClusterContribution,
  type ComponentsResult,
  type GeneratedFile,
  parseAllDocuments,
  type ResolvedPlatform,
  resolvePlatform,
  runComponents,
  type TalosNeeds,
} from '@homelab/core';
import {
  testCluster,
  testComponent,
  testDefinition,
  testNetwork,
  testNode,
  testRun,
} from '@homelab/core/testing';
import { type RenderTalosOptions, renderTalos, type TalosRenderResult } from '../src/index.js';

/** A one-node development cluster whose endpoint is its node's address. */
export function devCluster(overrides: Partial<Cluster> = {}): Cluster {
  return testCluster('dev', 'development', 10, {
    endpoint: 'https://192.168.10.11:6443',
    network: testNetwork(10, { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' }),
    nodes: [testNode({ hostname: 'dev-cp-1', address: '192.168.10.11' })],
    ...overrides,
  });
}

/**
 * A production-like cluster: three control planes behind a VIP, two labelled, tainted workers and
 * two plain ones.
 */
export function haCluster(overrides: Partial<Cluster> = {}): Cluster {
  return testCluster('prod', 'production', 30, {
    endpoint: 'https://192.168.30.10:6443',
    network: testNetwork(30, {
      nameservers: ['192.168.30.53', '1.1.1.1'],
      podCidr: '10.42.0.0/16',
      serviceCidr: '10.43.0.0/16',
    }),
    nodes: [
      testNode({ hostname: 'prod-cp-1', address: '192.168.30.11' }),
      testNode({ hostname: 'prod-cp-2', address: '192.168.30.12', link: { name: 'enp1s0' } }),
      testNode({
        hostname: 'prod-cp-3',
        address: '192.168.30.13',
        link: { busPath: '0000:03:00.0' },
      }),
      testNode({
        hostname: 'prod-w-1',
        role: 'worker',
        address: '192.168.30.21',
        installDisk: '/dev/nvme0n1',
        storage: true,
        labels: {
          'topology.kubernetes.io/zone': 'rack-a',
          'node.longhorn.io/create-default-disk': 'true',
        },
        taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' }],
      }),
      testNode({
        hostname: 'prod-w-2',
        role: 'worker',
        address: '192.168.30.22',
        installDisk: '/dev/nvme0n1',
        taints: [{ key: 'gpu', effect: 'NoExecute' }],
      }),
      // Untainted workers: where the platform's controllers run (tainted nodes do not count).
      testNode({ hostname: 'prod-w-3', role: 'worker', address: '192.168.30.23' }),
      testNode({ hostname: 'prod-w-4', role: 'worker', address: '192.168.30.24' }),
    ],
    ...overrides,
  });
}

/** A test component that declares `contribution` on every cluster it is enabled on. */
export function component(
  name: string,
  contribution: ClusterContribution,
  options: Pick<Parameters<typeof testComponent>[0], 'provides' | 'needs' | 'uses'> = {},
): AnyComponent {
  return testComponent({ name, ...options, contribution: () => contribution });
}

/** A test component that only asks Talos for `talos`. */
export function asks(name: string, talos: TalosNeeds): AnyComponent {
  return component(name, { talos });
}

/** What Cilium asks of Talos. */
export const cilium = asks('cilium', {
  cni: 'none',
  disableKubeProxy: true,
  kubePrism: { port: 7445 },
  nodePorts: [
    { port: 8472, protocol: 'UDP' },
    { port: 4240, protocol: 'TCP' },
    { port: 4244, protocol: 'TCP' },
    { port: 4250, protocol: 'TCP' },
  ],
});

/** What Longhorn asks of Talos. */
export const longhorn = asks('longhorn', {
  extensions: ['siderolabs/util-linux-tools', 'siderolabs/iscsi-tools'],
  kubeletExtraMounts: [
    {
      destination: '/var/lib/longhorn',
      type: 'bind',
      source: '/var/lib/longhorn',
      options: ['bind', 'rshared', 'rw'],
    },
  ],
  kernelModules: ['nvme_tcp', 'dm_thin_pool'],
  sysctls: { 'vm.max_map_count': '262144' },
});

/** What Longhorn asks of single nodes (a data disk on prod-w-1) and a backup job of Talos. */
export const nodeNeeds = asks('disks', {
  kubernetesTalosAPIAccess: { roles: ['os:etcd:backup'], namespaces: ['talos-backup'] },
  nodes: {
    'prod-w-1': {
      userVolumes: [
        { name: 'fast', disk: { serial: 'S5XYZ', transport: 'nvme' }, minSize: '100GiB' },
        { name: 'bulk', disk: { model: 'WDC WD40EFRX' }, minSize: '1TiB', maxSize: '3TiB' },
      ],
      labels: { 'storage.homelab.dev/disks': 'fast' },
      annotations: {
        'node.longhorn.io/default-disks-config':
          '[{"name":"fast","path":"/var/mnt/fast","allowScheduling":true,"tags":["ssd"]}]',
      },
    },
  },
});

export interface TalosRun extends TalosRenderResult {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
}

/**
 * The definition of `clusters`. The HA cluster has two untainted workers, so production runs two
 * replicas per controller (the validator refuses more replicas than schedulable nodes).
 */
function definition(clusters: readonly Cluster[]) {
  return testDefinition(clusters, { environments: { production: { replicas: 2 } } });
}

/**
 * Renders the Talos material of `clusters` (a valid definition, checked by the real validator)
 * with `registry`'s components. A component is enabled on every cluster unless the cluster's
 * `components` says otherwise.
 */
export function talos(
  clusters: readonly Cluster[],
  registry: readonly AnyComponent[] = [],
  options: RenderTalosOptions = {},
): TalosRun {
  const { platform, components } = testRun(definition(clusters), registry);
  return { platform, components, ...renderTalos(platform, components, options) };
}

/**
 * The same for a definition the validator refuses (resolved without validation): for checks
 * talos-config repeats as a second line of defence.
 */
export function talosUnvalidated(
  clusters: readonly Cluster[],
  registry: readonly AnyComponent[] = [],
): TalosRenderResult {
  const platform = resolvePlatform(definition(clusters));
  return renderTalos(platform, runComponents(platform, registry));
}

export function file(files: readonly GeneratedFile[], path: string): string {
  const found = files.find((f) => f.path === path);
  if (found === undefined) {
    throw new Error(`${path} not generated; have ${files.map((f) => f.path).join(', ')}`);
  }
  return found.content;
}

// biome-ignore lint/suspicious/noExplicitAny: test access into parsed YAML
export type Doc = any;

/** Every YAML document of a generated file, as plain data. */
export function docs(files: readonly GeneratedFile[], path: string): Doc[] {
  return parseAllDocuments(file(files, path)) as Doc[];
}

/** The document of `kind`, or the v1alpha1 partial (no kind) when `kind` is undefined. */
export function doc(files: readonly GeneratedFile[], path: string, kind?: string): Doc {
  const found = docs(files, path).filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`${path}: ${found.length} documents of kind ${kind}`);
  return found[0];
}
