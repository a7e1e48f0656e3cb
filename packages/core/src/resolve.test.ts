import { describe, expect, test } from 'vitest';
import { composeDefinitionSchema } from './definition-schema.js';
import type { Cluster as ClusterDefinition } from './generated/platform.js';
import { definitionValidator } from './load.js';
import { testDefinition as definition, testNode as node, testCluster } from './testing-factory.js';

/** Cluster `c<n>` (development unless said) on its own address plan. */
function cluster(
  n: number,
  overrides: Partial<ClusterDefinition> & { controlPlanes?: number; workers?: number } = {},
): ClusterDefinition {
  return testCluster(`c${n}`, overrides.environment ?? 'development', n, overrides);
}

import { validateDefinition } from './load.js';
import { resolvePlatform } from './resolve.js';

describe('resolvePlatform', () => {
  test('the test factory builds a valid definition', () => {
    const input = definition([cluster(1), cluster(2, { controlPlanes: 3, workers: 2 })]);
    expect(
      validateDefinition(input, definitionValidator(composeDefinitionSchema([]))).issues,
    ).toEqual([]);
  });

  test('applies node defaults', () => {
    const platform = resolvePlatform(definition([cluster(1)]));
    expect(platform.clusters[0]?.nodes[0]).toEqual({
      hostname: 'c1-cp1',
      role: 'controlplane',
      address: '192.168.1.11',
      installDisk: '/dev/sda',
      link: { hardwareAddr: '02:00:c0:a8:01:0b' },
      linkName: 'lan0',
      labels: {},
      taints: [],
      storage: false,
      disks: [],
      index: 0,
    });
  });

  test('keeps what the definition says over the defaults', () => {
    const base = cluster(1);
    const custom = {
      ...base,
      nodes: [
        node({
          hostname: 'x',
          address: '10.1.0.20',
          link: { name: 'enp1s0' },
          labels: { zone: 'a' },
          taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' as const }],
          storage: true,
        }),
      ] as typeof base.nodes,
    };
    const [resolved] = resolvePlatform(definition([custom])).clusters[0]?.nodes ?? [];
    expect(resolved).toMatchObject({
      linkName: 'enp1s0',
      labels: { zone: 'a' },
      taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' }],
      storage: true,
    });
  });

  test('nameservers default to the gateway', () => {
    const withDefault = resolvePlatform(definition([cluster(1)])).clusters[0];
    expect(withDefault?.network.nameservers).toEqual(['192.168.1.1']);
    const given = cluster(2);
    given.network.nameservers = ['1.1.1.1', '9.9.9.9'];
    expect(resolvePlatform(definition([given])).clusters[0]?.network.nameservers).toEqual([
      '1.1.1.1',
      '9.9.9.9',
    ]);
  });

  test("the nodes' LAN defaults to the node network, and keeps what the definition says", () => {
    const given = cluster(1);
    expect(resolvePlatform(definition([given])).clusters[0]?.network.lanCidr).toBe(
      '192.168.1.0/24',
    );
    const { lanCidr: _lan, ...withoutLan } = given.network;
    expect(
      resolvePlatform(definition([{ ...given, network: withoutLan }])).clusters[0]?.network.lanCidr,
    ).toBe('192.168.1.0/25');
  });

  test('derives node sets; control planes schedule only when there are no workers', () => {
    const single = resolvePlatform(definition([cluster(1)])).clusters[0];
    expect(single?.allowSchedulingOnControlPlanes).toBe(true);
    expect(single?.schedulableNodes.map((n) => n.hostname)).toEqual(['c1-cp1']);

    const mixed = resolvePlatform(definition([cluster(2, { controlPlanes: 3, workers: 2 })]))
      .clusters[0];
    expect(mixed?.allowSchedulingOnControlPlanes).toBe(false);
    expect(mixed?.controlPlanes.map((n) => n.hostname)).toEqual(['c2-cp1', 'c2-cp2', 'c2-cp3']);
    expect(mixed?.workers.map((n) => n.index)).toEqual([3, 4]);
    expect(mixed?.schedulableNodes.map((n) => n.hostname)).toEqual(['c2-w1', 'c2-w2']);
  });

  test('nodes a NoSchedule or NoExecute taint keeps workloads off are not schedulable', () => {
    const given = cluster(2, { controlPlanes: 3, workers: 4 });
    const taints = [
      undefined,
      [{ key: 'spare', effect: 'PreferNoSchedule' as const }],
      [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const }],
      [{ key: 'maintenance', effect: 'NoExecute' as const }],
    ];
    given.nodes
      .filter((n) => n.role === 'worker')
      .forEach((n, i) => {
        const taint = taints[i];
        if (taint) n.taints = taint;
      });
    const resolved = resolvePlatform(definition([given])).clusters[0];
    expect(resolved?.workers.map((n) => n.hostname)).toEqual(['c2-w1', 'c2-w2', 'c2-w3', 'c2-w4']);
    expect(resolved?.schedulableNodes.map((n) => n.hostname)).toEqual(['c2-w1', 'c2-w2']);
  });

  test('storage nodes are the ones marked storage: true', () => {
    const c = cluster(1, { controlPlanes: 3 });
    c.nodes.forEach((n, i) => {
      n.storage = i === 1;
    });
    expect(
      resolvePlatform(definition([c])).clusters[0]?.storageNodes.map((n) => n.hostname),
    ).toEqual(['c1-cp2']);
  });

  test('a node with data disks holds storage unless it says otherwise', () => {
    const c = cluster(1, { controlPlanes: 3 });
    const disk = {
      name: 'fast',
      selector: { serial: 'S1' },
      class: 'ssd' as const,
      tier: 'fast-storage',
    };
    c.nodes.forEach((n, i) => {
      if (i > 0) n.disks = [disk];
    });
    (c.nodes[2] as { storage?: boolean }).storage = true;
    const resolved = resolvePlatform(definition([c])).clusters[0];
    expect(resolved?.storageNodes.map((n) => n.hostname)).toEqual(['c1-cp2', 'c1-cp3']);
    expect(resolved?.nodes[1]?.disks).toEqual([disk]);
    expect(resolved?.nodes[0]?.disks).toEqual([]);
  });

  test('production serves the base domain, other environments a subdomain per cluster', () => {
    const platform = resolvePlatform(
      definition([
        cluster(1, { name: 'dev' }),
        cluster(2, { name: 'staging', environment: 'staging' }),
        cluster(3, { name: 'prod', environment: 'production', workers: 3 }),
      ]),
    );
    expect(platform.clusters.map((c) => c.domain)).toEqual([
      'dev.lab.example.com',
      'staging.lab.example.com',
      'lab.example.com',
    ]);
  });

  test("a cluster's domain setting replaces its default, whatever its environment", () => {
    const platform = resolvePlatform(
      definition([
        cluster(1, { name: 'dev' }),
        cluster(2, { name: 'staging', environment: 'staging', domain: 'stage.lab.example.com' }),
        cluster(3, {
          name: 'prod',
          environment: 'production',
          workers: 3,
          domain: 'prod.lab.example.com',
        }),
      ]),
    );
    expect(platform.clusters.map((c) => c.domain)).toEqual([
      'dev.lab.example.com',
      'stage.lab.example.com',
      'prod.lab.example.com',
    ]);
    expect(platform.domain).toBe('lab.example.com');
  });

  test('each cluster carries its environment profile and index', () => {
    const platform = resolvePlatform(
      definition([cluster(1), cluster(2, { environment: 'production', workers: 3 })], {
        environments: { production: { replicas: 5 } },
      }),
    );
    expect(platform.clusters.map((c) => [c.index, c.profile.name, c.profile.replicas])).toEqual([
      [0, 'development', 1],
      [1, 'production', 5],
    ]);
    expect(platform.environments.production.replicas).toBe(5);
    expect(platform.repositoryUrl).toBe('https://git.example.com/homelab/platform.git');
  });

  test('targetRevision defaults to main and follows repository.targetRevision', () => {
    const platform = resolvePlatform(
      definition([cluster(1)], {
        repository: {
          url: 'https://git.example.com/homelab/platform.git',
          targetRevision: { production: 'platform@1.2.0' },
        },
      }),
    );
    expect(platform.environments.development.targetRevision).toBe('main');
    expect(platform.environments.staging.targetRevision).toBe('main');
    expect(platform.environments.production.targetRevision).toBe('platform@1.2.0');
  });
});
