import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BootstrapStep,
  type CrdBundle,
  emittedDocuments,
  type GeneratedFile,
  parseAllDocuments,
  parseBoundedWait,
} from '@homelab/core';
import { repoRoot, withStandIn } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { HARDENING_SYSCTLS } from '../src/baseline.js';
import { schematicId } from '../src/schematic.js';
import { TALOS_PINNED_RELEASES } from '../src/versions.js';
import {
  asks,
  cilium,
  component,
  devCluster,
  doc,
  docs,
  file,
  haCluster,
  longhorn,
  talos,
  talosUnvalidated,
} from './helpers.js';

const DEV = 'clusters/dev/talos';
const PROD = 'clusters/prod/talos';

describe('role patches', () => {
  it('carry CNI none, kube-proxy disabled and KubePrism on 7445 when Cilium asks for them', () => {
    const { files, issues } = talos([devCluster()], [cilium]);
    expect(issues).toEqual([]);
    for (const role of ['controlplane', 'worker']) {
      const patch = doc(files, `${DEV}/${role}.yaml`);
      expect(patch.cluster.network.cni).toEqual({ name: 'none' });
      expect(patch.cluster.proxy).toEqual({ disabled: true });
      expect(patch.machine.features.kubePrism).toEqual({ enabled: true, port: 7445 });
    }
  });

  it('keep Talos defaults for CNI, kube-proxy and KubePrism when no component asks', () => {
    const { files } = talos([devCluster()]);
    const patch = doc(files, `${DEV}/controlplane.yaml`);
    expect(patch.cluster.network.cni).toBeUndefined();
    expect(patch.cluster.proxy).toBeUndefined();
    expect(patch.machine.features).toBeUndefined();
  });

  it('take the Talos needs only of the components enabled on the cluster', () => {
    const { files } = talos(
      [devCluster({ components: { cilium: { enabled: false } } }), haCluster()],
      [cilium],
    );
    expect(doc(files, `${DEV}/controlplane.yaml`).cluster.network.cni).toBeUndefined();
    expect(doc(files, `${PROD}/controlplane.yaml`).cluster.network.cni).toEqual({ name: 'none' });
  });

  it('take the pod and service networks from the definition', () => {
    const { files } = talos([haCluster()], [cilium]);
    for (const role of ['controlplane', 'worker']) {
      const network = doc(files, `${PROD}/${role}.yaml`).cluster.network;
      expect(network.podSubnets).toEqual(['10.42.0.0/16']);
      expect(network.serviceSubnets).toEqual(['10.43.0.0/16']);
    }
  });

  it('allow workloads on control planes only when the cluster has no workers', () => {
    const single = talos([devCluster()]);
    expect(
      doc(single.files, `${DEV}/controlplane.yaml`).cluster.allowSchedulingOnControlPlanes,
    ).toBe(true);
    const ha = talos([haCluster()]);
    expect(doc(ha.files, `${PROD}/controlplane.yaml`).cluster.allowSchedulingOnControlPlanes).toBe(
      false,
    );
    expect(
      doc(ha.files, `${PROD}/worker.yaml`).cluster.allowSchedulingOnControlPlanes,
    ).toBeUndefined();
  });

  it.each([['v1.11.6'], ['v1.12.11'], ['v1.13.9']])(
    "pin kubelet's node IP and etcd's address to each node's own address, on Talos %s",
    (version) => {
      // A second NIC with a DHCP lease on the LAN must match nothing: Talos takes the first
      // matching address as the node IP and etcd advertises every one, and Talos appends lists
      // when merging, so neither role patch may hold a range the node's /32 would sit beside.
      const { files, issues } = talos([haCluster({ talos: { version } })]);
      expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
      const cp = doc(files, `${PROD}/controlplane.yaml`);
      const worker = doc(files, `${PROD}/worker.yaml`);
      expect(cp.machine.kubelet?.nodeIP).toBeUndefined();
      expect(cp.cluster.etcd?.advertisedSubnets).toBeUndefined();
      expect(worker.machine.kubelet?.nodeIP).toBeUndefined();
      expect(worker.cluster.etcd).toBeUndefined();
      const cp2 = doc(files, `${PROD}/nodes/prod-cp-2.yaml`);
      expect(cp2.machine.kubelet).toEqual({ nodeIP: { validSubnets: ['192.168.30.12/32'] } });
      expect(cp2.cluster).toEqual({ etcd: { advertisedSubnets: ['192.168.30.12/32'] } });
      const w1 = doc(files, `${PROD}/nodes/prod-w-1.yaml`);
      expect(w1.machine.kubelet).toEqual({ nodeIP: { validSubnets: ['192.168.30.21/32'] } });
      expect(w1.cluster).toBeUndefined();
    },
  );

  it('carry kubelet mounts, kernel modules and sysctls from the requirements, sorted', () => {
    const { files } = talos([devCluster()], [cilium, longhorn]);
    const machine = doc(files, `${DEV}/worker.yaml`).machine;
    expect(machine.kubelet.extraMounts).toEqual([
      {
        destination: '/var/lib/longhorn',
        type: 'bind',
        source: '/var/lib/longhorn',
        options: ['bind', 'rshared', 'rw'],
      },
    ]);
    expect(machine.kernel.modules).toEqual([{ name: 'dm_thin_pool' }, { name: 'nvme_tcp' }]);
    // The components' sysctls, merged with the security baseline's.
    expect(machine.sysctls).toEqual({ ...HARDENING_SYSCTLS, 'vm.max_map_count': '262144' });
  });

  it('bind the control-plane metrics where a component asks, on control planes only', () => {
    const metrics = asks('monitoring', {
      controlPlaneArgs: {
        controllerManager: { 'bind-address': '0.0.0.0' },
        scheduler: { 'bind-address': '0.0.0.0' },
        etcd: { 'listen-metrics-urls': 'http://0.0.0.0:2381' },
      },
    });
    const { files, issues } = talos([haCluster()], [metrics]);
    expect(issues).toEqual([]);
    const cp = doc(files, `${PROD}/controlplane.yaml`).cluster;
    expect(cp.controllerManager).toEqual({ extraArgs: { 'bind-address': '0.0.0.0' } });
    expect(cp.scheduler).toEqual({ extraArgs: { 'bind-address': '0.0.0.0' } });
    expect(cp.etcd).toEqual({ extraArgs: { 'listen-metrics-urls': 'http://0.0.0.0:2381' } });
    const worker = doc(files, `${PROD}/worker.yaml`).cluster;
    expect([worker.controllerManager, worker.scheduler, worker.etcd]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('install the Image Factory installer of the schematic and the cluster version', () => {
    const { files } = talos([devCluster()], [longhorn]);
    expect(doc(files, `${DEV}/controlplane.yaml`).machine.install.image).toBe(
      'factory.talos.dev/installer/613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245:v1.12.11',
    );
  });

  it("add the machines' own extensions (talos.extensions) to the components' in the schematic", () => {
    const { files, issues } = talos(
      [devCluster({ talos: { version: 'v1.12.11', extensions: ['siderolabs/intel-ucode'] } })],
      [longhorn],
    );
    expect(issues).toEqual([]);
    const extensions = [
      'siderolabs/intel-ucode',
      'siderolabs/iscsi-tools',
      'siderolabs/util-linux-tools',
    ];
    expect(doc(files, `${DEV}/schematic.yaml`)).toEqual({
      customization: { systemExtensions: { officialExtensions: extensions } },
    });
    // The id of that schematic as the factory computes it (sha256 of its yaml.v3 form).
    const id = createHash('sha256')
      .update(
        `customization:\n    systemExtensions:\n        officialExtensions:\n${extensions.map((e) => `            - ${e}\n`).join('')}`,
      )
      .digest('hex');
    expect(doc(files, `${DEV}/worker.yaml`).machine.install.image).toBe(
      `factory.talos.dev/installer/${id}:v1.12.11`,
    );
    expect(file(files, 'clusters/dev/RUNBOOK.md')).toContain(
      `https://factory.talos.dev/image/${id}/v1.12.11/metal-amd64.iso`,
    );
  });

  it('set the nameservers with a ResolverConfig document on Talos 1.12+', () => {
    const { files } = talos([haCluster()]);
    expect(doc(files, `${PROD}/worker.yaml`, 'ResolverConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'ResolverConfig',
      nameservers: [{ address: '192.168.30.53' }, { address: '1.1.1.1' }],
    });
    expect(doc(files, `${PROD}/worker.yaml`).machine.network).toBeUndefined();
  });

  it('set the nameservers (the gateway by default) in machine.network on Talos 1.11', () => {
    const { files } = talos([devCluster({ talos: { version: 'v1.11.6' } })]);
    // The v1alpha1 patch, then the baseline's STATE and EPHEMERAL VolumeConfigs, then the
    // firewall (Talos 1.11 has its documents too): no ResolverConfig.
    expect(docs(files, `${DEV}/worker.yaml`).map((d) => d.kind ?? 'v1alpha1')).toEqual([
      'v1alpha1',
      'VolumeConfig',
      'VolumeConfig',
      'NetworkDefaultActionConfig',
      'NetworkRuleConfig',
      'NetworkRuleConfig',
      'NetworkRuleConfig',
    ]);
    expect(doc(files, `${DEV}/worker.yaml`).machine.network).toEqual({
      nameservers: ['192.168.10.1'],
    });
  });
});

describe('node patches', () => {
  it('carry hostname, static address with prefix, default route, disk, labels and taints (1.12+)', () => {
    const { files, issues } = talos([haCluster()], [cilium]);
    expect(issues).toEqual([]);
    const path = `${PROD}/nodes/prod-w-1.yaml`;
    expect(doc(files, path)).toEqual({
      machine: {
        install: { disk: '/dev/nvme0n1' },
        kubelet: { nodeIP: { validSubnets: ['192.168.30.21/32'] } },
        nodeLabels: {
          'node.longhorn.io/create-default-disk': 'true',
          'topology.kubernetes.io/zone': 'rack-a',
        },
        nodeTaints: { dedicated: 'storage:NoSchedule' },
      },
    });
    expect(doc(files, path, 'HostnameConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'HostnameConfig',
      hostname: 'prod-w-1',
      auto: 'off',
    });
    // The worker's card is selected by its MAC address: Talos aliases it lan0.
    expect(doc(files, path, 'LinkAliasConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'LinkAliasConfig',
      name: 'lan0',
      selector: { match: 'mac(link.permanent_addr) == "02:00:c0:a8:1e:15"' },
    });
    expect(doc(files, path, 'LinkConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'LinkConfig',
      name: 'lan0',
      // The LAN's prefix (lanCidr 192.168.30.0/24), not the node range's (/25).
      addresses: [{ address: '192.168.30.21/24' }],
      // The default route: no destination (Talos 1.12+ refuses 0.0.0.0/0 there).
      routes: [{ gateway: '192.168.30.1' }],
    });
  });

  it.each([
    ['v1.11.6', 'v1.11'],
    ['v1.12.11', 'v1.12'],
    ['v1.13.9', 'v1.13'],
  ])("give the address the LAN's prefix, not the node range's, on Talos %s", (version) => {
    // nodeCidr 192.168.30.0/25 holds the nodes; the LAN they sit on, with the L2 pool
    // 192.168.30.224/27 in its upper range, is 192.168.30.0/24 (or a /23 around it).
    const addressOf = (network: Partial<ReturnType<typeof haCluster>['network']>) => {
      const cluster = haCluster({ talos: { version } });
      const { lanCidr: _lan, ...rest } = cluster.network;
      const { files, issues } = talos([{ ...cluster, network: { ...rest, ...network } }]);
      expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
      const patch = docs(files, `${PROD}/nodes/prod-cp-2.yaml`);
      const link = patch.find((d) => d.kind === 'LinkConfig');
      return {
        address:
          link === undefined
            ? patch[0].machine.network.interfaces[0].addresses
            : link.addresses.map((a: { address: string }) => a.address),
        // kubelet and etcd are pinned to the address alone, whatever the LAN's prefix.
        kubelet: patch[0].machine.kubelet.nodeIP.validSubnets,
        etcd: patch[0].cluster.etcd.advertisedSubnets,
      };
    };
    expect(addressOf({ lanCidr: '192.168.30.0/24' })).toEqual({
      address: ['192.168.30.12/24'],
      kubelet: ['192.168.30.12/32'],
      etcd: ['192.168.30.12/32'],
    });
    expect(addressOf({ lanCidr: '192.168.30.0/23' }).address).toEqual(['192.168.30.12/23']);
    // Without lanCidr the LAN is the node network (with the pool off it, under BGP).
    const { l2Announcements: _l2, lanCidr: _lan, ...bgpNetwork } = haCluster().network;
    expect(
      addressOf({
        ...bgpNetwork,
        loadBalancerPools: [{ name: 'default', cidr: '10.30.0.0/27' }],
        bgp: { localAsn: 64512, peers: [{ name: 'router', address: '192.168.30.1', asn: 64513 }] },
      }).address,
    ).toEqual(['192.168.30.12/25']);
  });

  it('write a taint without value as ":<effect>"', () => {
    const { files } = talos([haCluster()]);
    expect(doc(files, `${PROD}/nodes/prod-w-2.yaml`).machine.nodeTaints).toEqual({
      gpu: ':NoExecute',
    });
  });

  it('select the install disk by its properties when the definition gives a selector, on every release', () => {
    // A kernel name is whatever disk the kernel probed first at install time: on a node with a
    // second NVMe drive /dev/nvme0n1 may be the data disk, which Talos would wipe.
    for (const version of ['v1.11.6', 'v1.12.11', 'v1.13.9']) {
      const cluster = haCluster({ talos: { version } });
      const nodes = cluster.nodes.map((node) =>
        node.hostname === 'prod-w-1'
          ? { ...node, installDisk: { serial: 'S6B0NL0W100001', model: 'Samsung SSD 980 PRO 1TB' } }
          : node,
      ) as typeof cluster.nodes;
      const { files } = talos([{ ...cluster, nodes }]);
      expect(docs(files, `${PROD}/nodes/prod-w-1.yaml`)[0].machine.install).toEqual({
        diskSelector: { serial: 'S6B0NL0W100001', model: 'Samsung SSD 980 PRO 1TB' },
      });
      expect(doc(files, `${PROD}/nodes/prod-w-2.yaml`).machine.install).toEqual({
        disk: '/dev/nvme0n1',
      });
      expect(file(files, 'clusters/prod/RUNBOOK.md')).toContain(
        '| prod-w-1 | worker | 192.168.30.21 | MAC `02:00:c0:a8:1e:15` (alias `lan0`) | serial `S6B0NL0W100001`, model `Samsung SSD 980 PRO 1TB` |',
      );
    }
  });

  it('use the v1alpha1 machine.network block on Talos 1.11', () => {
    const { files } = talos([haCluster({ talos: { version: 'v1.11.6' } })]);
    const patch = docs(files, `${PROD}/nodes/prod-cp-2.yaml`);
    expect(patch).toHaveLength(1);
    expect(patch[0].machine.install).toEqual({ disk: '/dev/sda' });
    expect(patch[0].machine.network).toEqual({
      hostname: 'prod-cp-2',
      interfaces: [
        {
          interface: 'enp1s0',
          addresses: ['192.168.30.12/24'],
          routes: [{ network: '0.0.0.0/0', gateway: '192.168.30.1' }],
          vip: { ip: '192.168.30.10' },
        },
      ],
    });
    // Selected by hardware: Talos 1.11's deviceSelector, the same fact.
    const byMac = docs(files, `${PROD}/nodes/prod-cp-1.yaml`)[0].machine.network.interfaces[0];
    expect([byMac.deviceSelector, byMac.interface]).toEqual([
      { permanentAddr: '02:00:c0:a8:1e:0b' },
      undefined,
    ]);
    const byBus = docs(files, `${PROD}/nodes/prod-cp-3.yaml`)[0].machine.network.interfaces[0];
    expect(byBus.deviceSelector).toEqual({ busPath: '0000:03:00.0' });
  });

  it('select a link by MAC (lower-cased), bus path or driver with a LinkAliasConfig CEL match', () => {
    const selected = (link: object, file = 'prod-cp-1'): unknown => {
      const cluster = haCluster();
      const nodes = cluster.nodes.map((node) =>
        node.hostname === file ? { ...node, link } : node,
      ) as typeof cluster.nodes;
      const { files } = talos([{ ...cluster, nodes }]);
      const patch = docs(files, `${PROD}/nodes/${file}.yaml`);
      const config = patch.find((d) => d.kind === 'LinkConfig');
      const alias = patch.find((d) => d.kind === 'LinkAliasConfig');
      expect(config.name).toBe(alias === undefined ? 'enp1s0' : 'lan0');
      return alias?.selector;
    };
    expect(selected({ hardwareAddr: 'AA:BB:CC:00:11:22' })).toEqual({
      match: 'mac(link.permanent_addr) == "aa:bb:cc:00:11:22"',
    });
    expect(selected({ busPath: '0000:03:00.0' })).toEqual({
      match: 'link.bus_path == "0000:03:00.0"',
    });
    expect(selected({ driver: 'igc' })).toEqual({ match: 'link.driver == "igc"' });
    expect(selected({ name: 'enp1s0' })).toBeUndefined();
  });

  it('announce an endpoint VIP from the control planes only (Layer2VIPConfig on 1.12+)', () => {
    const { files } = talos([haCluster()]);
    expect(doc(files, `${PROD}/nodes/prod-cp-2.yaml`, 'Layer2VIPConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'Layer2VIPConfig',
      name: '192.168.30.10',
      link: 'enp1s0',
    });
    // The same VIP on the alias where the control plane selects its card by hardware.
    expect(doc(files, `${PROD}/nodes/prod-cp-3.yaml`, 'Layer2VIPConfig').link).toBe('lan0');
    const worker = docs(files, `${PROD}/nodes/prod-w-1.yaml`);
    expect(worker.map((d) => d.kind)).toEqual([
      undefined,
      'HostnameConfig',
      'LinkAliasConfig',
      'LinkConfig',
    ]);
  });

  it.each([['v1.11.6'], ['v1.12.11'], ['v1.13.9']])(
    'announce a VIP on the LAN outside the node range (lanCidr) on Talos %s',
    (version) => {
      // nodeCidr 192.168.30.0/25 holds the nodes; 192.168.30.200 sits in the rest of the LAN
      // 192.168.30.0/24 (beside the L2 pool 192.168.30.224/27): the control planes' link is on
      // that LAN, so the one holding the VIP answers ARP for it there.
      const vipOf = (network: ReturnType<typeof haCluster>['network']) => {
        const cluster = haCluster({ talos: { version }, endpoint: 'https://192.168.30.200:6443' });
        const { files, issues } = talos([{ ...cluster, network }]);
        expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
        const patch = docs(files, `${PROD}/nodes/prod-cp-2.yaml`);
        const config = patch.find((d) => d.kind === 'Layer2VIPConfig');
        return version === 'v1.11.6'
          ? patch[0].machine.network.interfaces[0].vip?.ip
          : config?.name;
      };
      expect(haCluster().network.lanCidr).toBe('192.168.30.0/24');
      expect(vipOf(haCluster().network)).toBe('192.168.30.200');
      // Off the LAN (a LAN that is the node range, the pool off it under BGP): a load balancer
      // the platform does not run.
      const { l2Announcements: _l2, ...bgpNetwork } = haCluster().network;
      expect(
        vipOf({
          ...bgpNetwork,
          lanCidr: '192.168.30.0/25',
          loadBalancerPools: [{ name: 'default', cidr: '10.30.0.0/27' }],
          bgp: {
            localAsn: 64512,
            peers: [{ name: 'router', address: '192.168.30.1', asn: 64513 }],
          },
        }),
      ).toBeUndefined();
    },
  );

  it('announce no VIP when the endpoint is a node address', () => {
    const { files } = talos([devCluster()]);
    expect(docs(files, `${DEV}/nodes/dev-cp-1.yaml`).map((d) => d.kind)).toEqual([
      undefined,
      'HostnameConfig',
      'LinkAliasConfig',
      'LinkConfig',
    ]);
  });

  it('refuse two taints with the same key on a node, and write nothing for the cluster', () => {
    const { files, issues } = talos([
      devCluster({
        nodes: [
          {
            hostname: 'dev-cp-1',
            role: 'controlplane',
            address: '192.168.10.11',
            link: { name: 'enp1s0' },
            installDisk: '/dev/sda',
            // PreferNoSchedule: the node still takes the platform's pods (no-schedulable-node).
            taints: [
              { key: 'dedicated', value: 'a', effect: 'PreferNoSchedule' },
              { key: 'dedicated', value: 'b', effect: 'PreferNoSchedule' },
            ],
          },
        ],
      }),
    ]);
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      [['clusters', 0, 'nodes', 0, 'taints', 1], 'talos-taint'],
    ]);
    expect(files).toEqual([]);
  });
});

describe('schematic', () => {
  it('lists the sorted, deduplicated union of the extensions components ask for', () => {
    const zfs = asks('zfs', { extensions: ['siderolabs/zfs', 'siderolabs/iscsi-tools'] });
    const { files } = talos([devCluster()], [longhorn, zfs, cilium]);
    expect(doc(files, `${DEV}/schematic.yaml`)).toEqual({
      customization: {
        systemExtensions: {
          officialExtensions: [
            'siderolabs/iscsi-tools',
            'siderolabs/util-linux-tools',
            'siderolabs/zfs',
          ],
        },
      },
    });
  });

  it('allows an empty extension list', () => {
    const { files } = talos([devCluster()], [cilium]);
    expect(
      doc(files, `${DEV}/schematic.yaml`).customization.systemExtensions.officialExtensions,
    ).toEqual([]);
  });

  it('computes the Image Factory ids (published ids of the default and the Longhorn schematic)', () => {
    expect(schematicId([])).toBe(
      '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba',
    );
    expect(schematicId(['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'])).toBe(
      '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245',
    );
  });
});

describe('merging requirements', () => {
  it('reports two different KubePrism ports naming both components, and writes nothing for the cluster', () => {
    const other = asks('other', { kubePrism: { port: 7446 } });
    const { files, issues } = talos([devCluster()], [cilium, other]);
    expect(files).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      path: ['clusters', 0, 'components'],
      code: 'talos-requirement-conflict',
      value: { cilium: '7445', other: '7446' },
    });
    expect(issues[0]?.message).toBe(
      'components ask for different KubePrism ports: cilium wants 7445, other wants 7446',
    );
  });

  it('reports kube-proxy disabled by one component and required by another', () => {
    const other = asks('kube-router', { disableKubeProxy: false });
    const { issues } = talos([devCluster()], [cilium, other]);
    expect(issues.map((i) => i.message)).toEqual([
      'components ask for different kube-proxy settings: cilium wants disabled, kube-router wants enabled',
    ]);
  });

  it('reports two different mounts at the same kubelet path and keeps identical ones once', () => {
    const same = asks('backup', {
      kubeletExtraMounts: [
        {
          destination: '/var/lib/longhorn',
          type: 'bind',
          source: '/var/lib/longhorn',
          options: ['bind', 'rshared', 'rw'],
        },
      ],
    });
    const ok = talos([devCluster()], [longhorn, same]);
    expect(ok.issues).toEqual([]);
    expect(doc(ok.files, `${DEV}/worker.yaml`).machine.kubelet.extraMounts).toHaveLength(1);

    const different = asks('backup', {
      kubeletExtraMounts: [
        { destination: '/var/lib/longhorn', type: 'bind', source: '/mnt/x', options: ['rw'] },
      ],
    });
    const bad = talos([devCluster()], [longhorn, different]);
    expect(bad.issues.map((i) => i.message)).toEqual([
      'components ask for different kubelet mounts at /var/lib/longhorn: backup wants bind from /mnt/x (rw), longhorn wants bind from /var/lib/longhorn (bind, rshared, rw)',
    ]);
  });

  it('reports conflicting sysctls and a malformed extension name, at the component that asks', () => {
    const a = asks('a', { sysctls: { 'net.core.somaxconn': '1024' } });
    const b = asks('b', { sysctls: { 'net.core.somaxconn': '4096' }, extensions: ['iscsi tools'] });
    const { issues } = talos([devCluster()], [a, b]);
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      [['clusters', 0, 'components', 'b'], 'talos-requirement'],
      [['clusters', 0, 'components'], 'talos-requirement-conflict'],
    ]);
  });

  it('reports two components that ask different values of one control-plane flag', () => {
    const a = asks('a', { controlPlaneArgs: { scheduler: { 'bind-address': '0.0.0.0' } } });
    const b = asks('b', { controlPlaneArgs: { scheduler: { 'bind-address': '127.0.0.1' } } });
    const { issues } = talos([devCluster()], [a, b]);
    expect(issues.map((i) => i.message)).toEqual([
      'components ask for different values for scheduler --bind-address: a wants 0.0.0.0, b wants 127.0.0.1',
    ]);
  });

  it('refuses a node label a component sets differently from the definition, at the label', () => {
    const disks = asks('disks', {
      nodes: { 'prod-w-1': { labels: { 'topology.kubernetes.io/zone': 'rack-b' } } },
    });
    const { files, issues } = talos([haCluster()], [disks]);
    expect(files).toEqual([]);
    expect(issues.map((i) => [i.code, i.path.join('.'), i.message])).toEqual([
      [
        'talos-requirement-conflict',
        'clusters.0.nodes.3.labels.topology.kubernetes.io/zone',
        'the definition and disks set different values for the label topology.kubernetes.io/zone of node "prod-w-1": "rack-a" and "rack-b"',
      ],
    ]);
  });

  it('refuses settings for a node the cluster does not have and user volumes Talos cannot name', () => {
    const disks = asks('disks', {
      nodes: {
        'ghost-1': { labels: { a: 'b' } },
        'prod-w-1': { userVolumes: [{ name: 'fast_disk', disk: { serial: 'S1' } }] },
      },
    });
    const { issues } = talosUnvalidated([haCluster()], [disks]);
    expect(issues.map((i) => [i.code, i.value])).toEqual([
      ['talos-requirement', 'ghost-1'],
      ['talos-requirement', 'fast_disk'],
    ]);
  });

  it('refuses two different user volumes of one name on a node, naming both components', () => {
    const volume = (serial: string) => ({
      nodes: { 'prod-w-1': { userVolumes: [{ name: 'fast', disk: { serial } }] } },
    });
    const { issues } = talosUnvalidated(
      [haCluster()],
      [asks('a', volume('S1')), asks('b', volume('S2'))],
    );
    expect(issues.map((i) => i.message)).toEqual([
      'a and b ask for different user volumes named "fast" on node "prod-w-1"',
    ]);
  });

  it('grants Talos API roles only from the known set, and warns when two askers broaden each other', () => {
    const backup = asks('backup', {
      kubernetesTalosAPIAccess: { roles: ['os:etcd:backup'], namespaces: ['talos-backup'] },
    });
    const reader = asks('reader', {
      kubernetesTalosAPIAccess: { roles: ['os:reader', 'os:root'], namespaces: ['monitoring'] },
    });
    const { files, issues } = talos([haCluster()], [backup, reader]);
    expect(issues.map((i) => [i.severity, i.code, i.value])).toEqual([
      ['error', 'talos-requirement', 'os:root'],
      [
        'warning',
        'talos-api-access-broadened',
        { backup: 'os:etcd:backup', reader: 'os:reader,os:root' },
      ],
    ]);
    expect(files).toEqual([]);
    const ok = talos([haCluster()], [backup]);
    expect(ok.issues).toEqual([]);
    expect(
      doc(ok.files, `${PROD}/controlplane.yaml`).machine.features.kubernetesTalosAPIAccess,
    ).toEqual({
      enabled: true,
      allowedRoles: ['os:etcd:backup'],
      allowedKubernetesNamespaces: ['talos-backup'],
    });
    expect(doc(ok.files, `${PROD}/worker.yaml`).machine.features).toBeUndefined();
    expect(file(ok.files, `clusters/prod/RUNBOOK.md`)).toContain(
      '- Talos API access from Kubernetes (control planes): roles `os:etcd:backup` in namespace(s) `talos-backup`',
    );
  });

  it('turns a disk selector into a CEL expression that never matches the system disk', () => {
    const disks = asks('disks', {
      nodes: {
        'prod-w-1': {
          userVolumes: [
            {
              name: 'bulk',
              disk: { busPath: '/pci0000:00/0000:00:17.0/ata1', devPath: '/dev/sdb' },
              minSize: '1TiB',
              filesystem: 'ext4',
            },
          ],
        },
      },
    });
    const { files, issues } = talos([haCluster()], [disks]);
    expect(issues).toEqual([]);
    expect(doc(files, `${PROD}/nodes/prod-w-1.yaml`, 'UserVolumeConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'UserVolumeConfig',
      name: 'bulk',
      provisioning: {
        diskSelector: {
          match:
            'disk.bus_path == "/pci0000:00/0000:00:17.0/ata1" && disk.dev_path == "/dev/sdb" && !system_disk',
        },
        minSize: '1TiB',
        grow: true,
      },
      filesystem: { type: 'ext4' },
    });
    expect(file(files, `clusters/prod/RUNBOOK.md`)).toContain(
      '- prod-w-1: user volume(s) `/var/mnt/bulk`',
    );
  });

  it('gives the same bytes whatever the order of the registry', () => {
    const one = talos([haCluster()], [cilium, longhorn]);
    const two = talos([haCluster()], [longhorn, cilium]);
    expect(two.files).toEqual(one.files);
  });
});

describe('Talos versions', () => {
  it('refuses Talos 1.14 in the definition, at clusters[i].talos.version', () => {
    expect(() => talos([devCluster(), haCluster({ talos: { version: 'v1.14.0' } })])).toThrow(
      'clusters[1].talos.version: "v1.14.0" is refused: Talos 1.14 changes the machine-config document format',
    );
  });

  it('refuses Talos 1.14 again when rendering, and writes nothing for that cluster only', () => {
    const { files, issues } = talosUnvalidated(
      [devCluster(), haCluster({ talos: { version: 'v1.14.0' } })],
      [cilium],
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      path: ['clusters', 1, 'talos', 'version'],
      value: 'v1.14.0',
      code: 'talos-version-unsupported',
      expected: 'a Talos version of a supported release line (v1.11.x, v1.12.x, v1.13.x)',
    });
    expect(issues[0]?.message).toMatch(
      /^Talos 1\.14 is not supported yet: Talos 1\.14 changes the machine-config document format/,
    );
    expect(files.some((f) => f.path.startsWith('clusters/prod/'))).toBe(false);
    expect(files.some((f) => f.path.startsWith('clusters/dev/'))).toBe(true);
  });

  it('warns of a patch release later than the pinned one of its line (a typo, or released since), and renders it', () => {
    const { files, issues } = talosUnvalidated([devCluster({ talos: { version: 'v1.12.110' } })]);
    expect(issues).toEqual([
      expect.objectContaining({
        severity: 'warning',
        code: 'talos-version-unknown',
        path: ['clusters', 0, 'talos', 'version'],
        value: 'v1.12.110',
        message:
          'is later than v1.12.11, the latest Talos 1.12 release this tool knows (its patches and extension lists are checked against v1.12.11)',
        expected:
          "a Talos release the Image Factory offers (`curl https://factory.talos.dev/versions` lists them): a version that was never released has no ISO and no installer image, so the runbook's downloads and installs fail; e.g. v1.12.11",
      }),
    ]);
    expect(files.some((f) => f.path === 'clusters/dev/talos/controlplane.yaml')).toBe(true);
    // The pinned release, an earlier one and a pre-release of the pinned one: nothing to say.
    for (const version of ['v1.12.11', 'v1.12.0', 'v1.13.9', 'v1.11.0', 'v1.12.11-alpha.1']) {
      expect(talosUnvalidated([devCluster({ talos: { version } })]).issues).toEqual([]);
    }
    expect(
      talosUnvalidated([devCluster({ talos: { version: 'v1.13.10' } })]).issues.map((i) => i.code),
    ).toEqual(['talos-version-unknown']);
    // The definition's schema tells the user the same releases.
    const schema = readFileSync(join(repoRoot(), 'packages/core/schema/definition.schema.json'));
    const description = /"Talos version, e\.g\.[^"]*"/.exec(schema.toString('utf8'));
    expect(description?.[0]).toContain(`(${TALOS_PINNED_RELEASES.join(', ')}) is a warning`);
  });

  it('refuses versions older than 1.11 and text that is no version, in the definition and when rendering', () => {
    expect(() => talos([devCluster({ talos: { version: 'v1.10.7' } })])).toThrow(
      'clusters[0].talos.version: "v1.10.7" is refused',
    );
    expect(() => talos([devCluster({ talos: { version: 'latest' } })])).toThrow(
      'clusters[0].talos.version: "latest" does not have the expected form',
    );
    const old = talosUnvalidated([devCluster({ talos: { version: 'v1.10.7' } })]);
    expect(old.issues[0]?.message).toBe(
      'Talos 1.10 is too old: the patches use fields that need Talos 1.11 or later',
    );
    const garbage = talosUnvalidated([devCluster({ talos: { version: 'latest' } })]);
    expect(garbage.issues.map((i) => i.code)).toEqual(['talos-version']);
  });
});

describe('files', () => {
  it('are the contract set for each cluster, each starting with the generated-by line', () => {
    const { files } = talos([haCluster()], [cilium]);
    expect(files.map((f) => f.path)).toEqual([
      `clusters/prod/RUNBOOK.md`,
      `${PROD}/controlplane.yaml`,
      `${PROD}/nodes/prod-cp-1.yaml`,
      `${PROD}/nodes/prod-cp-2.yaml`,
      `${PROD}/nodes/prod-cp-3.yaml`,
      `${PROD}/nodes/prod-w-1.yaml`,
      `${PROD}/nodes/prod-w-2.yaml`,
      `${PROD}/nodes/prod-w-3.yaml`,
      `${PROD}/nodes/prod-w-4.yaml`,
      `${PROD}/schematic.yaml`,
      `${PROD}/worker.yaml`,
    ]);
    for (const f of files) {
      const first = f.content.split('\n')[0];
      expect(first).toBe(
        f.path.endsWith('.md')
          ? '<!-- generated by pnpm build (homelab build); do not edit. -->'
          : '# generated by pnpm build (homelab build); do not edit.',
      );
      expect(f.content.endsWith('\n')).toBe(true);
      expect(f.content).not.toContain('\r');
    }
  });

  it('name the command the caller gives in their first line', () => {
    const { files } = talos([devCluster()], [], { generatedBy: 'pnpm build' });
    expect(file(files, `${DEV}/worker.yaml`).split('\n')[0]).toBe(
      '# generated by pnpm build; do not edit.',
    );
  });

  it('quote "off" so that YAML 1.1 readers do not take it for false', () => {
    const { files } = talos([devCluster()]);
    expect(file(files, `${DEV}/nodes/dev-cp-1.yaml`)).toContain('auto: "off"\n');
  });
});

describe('runbook', () => {
  const { files } = talos([haCluster()], [cilium, longhorn]);
  const readme = file(files, `clusters/prod/RUNBOOK.md`);

  it('generates secrets outside Git and registers the schematic', () => {
    expect(readme).toContain('talosctl gen secrets -o "$TALOS_DIR/secrets.yaml"');
    expect(readme).toContain(
      'curl -sS --max-time 60 -X POST --data-binary @clusters/prod/talos/schematic.yaml https://factory.talos.dev/schematics',
    );
    expect(readme).toContain('613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245');
  });

  it('generates the configs with the patches, the endpoint and the versions of the cluster', () => {
    expect(readme).toContain(
      [
        'talosctl gen config prod https://192.168.30.10:6443 \\',
        '  --with-secrets "$TALOS_DIR/secrets.yaml" \\',
        '  --talos-version v1.12 \\',
        '  --kubernetes-version 1.34.2 \\',
        '  --config-patch-control-plane @clusters/prod/talos/controlplane.yaml \\',
        '  --config-patch-worker @clusters/prod/talos/worker.yaml \\',
      ].join('\n'),
    );
  });

  it('applies each node with its own patch, then bootstraps the first control plane', () => {
    expect(readme).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl apply-config --insecure -n "${NODE_PROD_CP_2_DHCP:?set it to the address the node got from DHCP}" -f "$TALOS_DIR"/controlplane.yaml --config-patch @clusters/prod/talos/nodes/prod-cp-2.yaml',
    );
    expect(readme).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl apply-config --insecure -n "${NODE_PROD_W_2_DHCP:?set it to the address the node got from DHCP}" -f "$TALOS_DIR"/worker.yaml --config-patch @clusters/prod/talos/nodes/prod-w-2.yaml',
    );
    expect(readme).toContain('talosctl bootstrap -n 192.168.30.11');
  });

  it('retries the bootstrap until the node is back at its static address, and waits for the API', () => {
    // Right after apply-config the node installs Talos and reboots: a single `talosctl bootstrap`
    // meets no node (or `bootstrap is not available yet` before its CRI runs) and fails.
    const lines = readme.split('\n');
    const bootstrap = lines.filter(
      (line) =>
        /^talosctl bootstrap/.test(line) ||
        parseBoundedWait(line)?.condition.startsWith('talosctl bootstrap') === true,
    );
    expect(bootstrap).toHaveLength(1);
    // a bounded wait: 30 minutes, a try every 10 seconds
    expect(parseBoundedWait(bootstrap[0] ?? '')).toMatchObject({ seconds: 1800, interval: 10 });
    const loop = bootstrap[0] ?? '';
    // talosctl v1.12.11 prints machined's refusals as gRPC statuses (v1alpha1_server.go)
    const refused = [
      'error executing bootstrap: rpc error: code = Unavailable desc = connection error',
      'error executing bootstrap: rpc error: code = FailedPrecondition desc = bootstrap is not available yet',
      'error executing bootstrap: rpc error: code = FailedPrecondition desc = time is not in sync yet',
    ];
    const done = withStandIn(loop, 'talosctl', [...refused, 'ok']);
    expect(done.status).toBe(0);
    expect(done.calls).toEqual(Array(4).fill(['bootstrap', '-n', '192.168.30.11']));
    expect(done.stdout).toContain('bootstrap is not available yet');
    // an earlier try bootstrapped etcd but its answer was lost: etcd is there, the loop ends
    const lost = withStandIn(loop, 'talosctl', [
      refused[0] ?? '',
      'error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty',
    ]);
    expect(lost.status).toBe(0);
    expect(lost.calls).toHaveLength(2);
    // a node that never takes it keeps the loop trying (the stand-in's sleep ends the shell)
    expect(withStandIn(loop, 'talosctl', [refused[2] ?? '']).status).toBe(7);
    // the kubeconfig's server (the VIP) answers only once etcd and the API server run
    expect(
      lines.map((line) => parseBoundedWait(line)).filter((wait) => wait !== undefined),
    ).toContainEqual({
      condition: 'kubectl get nodes -o wide --request-timeout=10s',
      seconds: 1200,
      interval: 10,
    });
    const start = readme.indexOf('## 7. ');
    const step7 = readme.slice(start, readme.indexOf('\n## ', start));
    expect(step7).not.toMatch(/^kubectl get nodes/m);
  });

  it('says what the components ask of Talos, naming the component that installs the CNI', () => {
    expect(readme).toContain(
      '- CNI: `none` (cilium installs it); kube-proxy: disabled; KubePrism: on, port 7445',
    );
    expect(readme).toContain(
      'The nodes stay `NotReady` until the CNI runs: Talos installs none (`cni: none`) and no kube-proxy.',
    );
  });
});

describe('runbook steps from the components', () => {
  const bundle = (name: string): CrdBundle => ({
    name,
    description: `${name} (test CRDs)`,
    version: 'v1',
    source: { repoURL: 'https://example.com/crds', path: name, targetRevision: 'v1' },
    kinds: [],
    clusterResources: [],
    install: [`kubectl apply --server-side -f https://example.com/${name}.yaml`],
  });
  const step = (title: string): BootstrapStep => ({
    title,
    body: [`Why ${title}.`],
    commands: [`echo ${title.toLowerCase().replaceAll(' ', '-')}`],
  });
  // Registered consumer first: the order comes from needs → provides, not from the registry.
  const gitops = component(
    'gitops',
    { crds: [bundle('gitops-crds')], bootstrap: [step('Install gitops')] },
    { needs: ['cni'], uses: ['secrets'] },
  );
  const vault = component(
    'vault',
    {
      bootstrap: [step('Install vault')],
      bootstrapSecrets: [
        {
          name: 'vault-token',
          namespace: 'vault',
          keys: ['token'],
          description: 'the token vault reads the store with',
          commands: [
            'kubectl -n vault create secret generic vault-token --from-literal=token="$TOKEN"',
          ],
        },
      ],
    },
    { provides: ['secrets'], needs: ['cni'] },
  );
  const net = component(
    'net',
    {
      crds: [bundle('net-crds')],
      bootstrap: [
        step('Install net'),
        { ...step('Check net'), when: 'after-handover' },
        { ...step('renew the net key'), when: 'later' },
      ],
      talos: { cni: 'none' },
    },
    { provides: ['cni'] },
  );
  const handOver = step('Hand over');
  const { files, issues } = talos([devCluster(), haCluster()], [gitops, vault, net], {
    finalSteps: { prod: [handOver] },
  });
  const headings = (cluster: string): string[] =>
    file(files, `clusters/${cluster}/RUNBOOK.md`)
      .split('\n')
      .filter((line) => /^## \d+\. /.test(line))
      .map((line) => line.replace(/^## \d+\. /, ''))
      .slice(7);

  it('come in dependency order, each component after its CRD bundles, then the hand-made secrets, then the final steps, then the steps after the hand-over', () => {
    expect(issues).toEqual([]);
    expect(headings('prod')).toEqual([
      'Install the net-crds (test CRDs)',
      'Install net',
      'Install vault',
      'Install the gitops-crds (test CRDs)',
      'Install gitops',
      'Create the hand-made secrets',
      'Hand over',
      'Check net',
    ]);
    expect(headings('dev').slice(-2)).toEqual(['Create the hand-made secrets', 'Check net']);
  });

  it('leave a step for long after the bootstrap out of the numbered ones, as a "Later" section of its own', () => {
    const readme = file(files, 'clusters/prod/RUNBOOK.md');
    expect(headings('prod')).not.toContain('renew the net key');
    expect(readme).toContain(
      [
        '## Later: renew the net key',
        '',
        'Why renew the net key.',
        '',
        '```sh',
        'echo renew-the-net-key',
        '```',
      ].join('\n'),
    );
    // After the logins, before the Talos settings' own "Later".
    const later = readme.indexOf('## Later: renew the net key');
    expect(later).toBeGreaterThan(readme.indexOf('## Logging in'));
    expect(later).toBeLessThan(readme.indexOf('## Later: changing Talos settings'));
  });

  it('number the steps after the Talos ones and carry each step body and commands', () => {
    const readme = file(files, 'clusters/prod/RUNBOOK.md');
    expect(readme).toContain(
      [
        '## 8. Install the net-crds (test CRDs)',
        '',
        'net looks for these CRDs when it starts, so they come first (in Argo CD: the',
        '`net-crds` Application, in an earlier sync wave).',
        '',
        '```sh',
        'kubectl apply --server-side -f https://example.com/net-crds.yaml',
        '```',
        '',
        '## 9. Install net',
        '',
        'Why Install net.',
        '',
        '```sh',
        'echo install-net',
        '```',
      ].join('\n'),
    );
    expect(readme).toContain('## 14. Hand over');
  });

  it('list every hand-made secret with its keys and owner, and the commands that create it', () => {
    const readme = file(files, 'clusters/prod/RUNBOOK.md');
    expect(readme).toContain(
      '- `vault/vault-token` (keys `token`): the token vault reads the store with (vault)',
    );
    expect(readme).toContain(
      [
        '```sh',
        'kubectl get namespace vault >/dev/null 2>&1 || kubectl create namespace vault',
        'kubectl -n vault create secret generic vault-token --from-literal=token="$TOKEN"',
        '```',
      ].join('\n'),
    );
  });

  it('list what goes into the secret store: every declared Secret, its keys and their entries', () => {
    const store = component(
      'store',
      {
        facts: {
          secrets: {
            store: 'Test Store',
            entries: { 'app/app-db': { password: 'entry-1' } },
          },
        },
      },
      { provides: ['secrets'], needs: ['cni'] },
    );
    const app = component(
      'app',
      {
        secrets: [
          {
            name: 'app-db',
            namespace: 'app',
            keys: ['username', 'password'],
            description: 'the database login of app',
          },
        ],
      },
      { needs: ['cni'], uses: ['secrets'] },
    );
    const { files: withStore, issues: storeIssues } = talos([devCluster()], [net, store, app]);
    expect(storeIssues).toEqual([]);
    const readme = file(withStore, 'clusters/dev/RUNBOOK.md');
    expect(readme).toContain(
      [
        "## 10. Put the platform's secrets into Test Store",
        '',
        'Every Secret below is filled from Test Store, key by key, from the entry the',
        'definition maps it to. Give each entry the value it describes before the hand-over:',
        'a Secret whose entry is missing stays empty, and what reads it does not start. The store',
        'gives an entry its id when the entry is made: for an entry made anew, map its id in the',
        'definition in place of the one below and build again.',
        '',
        '- `app/app-db` (app): the database login of app',
        '  - `password`: entry `entry-1`',
        '  - `username`: no entry of the store maps it yet',
      ].join('\n'),
    );
    // Without a secrets provider on the cluster there is no store to fill.
    const { files: withoutStore } = talos([devCluster()], [net, app]);
    expect(file(withoutStore, 'clusters/dev/RUNBOOK.md')).not.toContain('Put the platform');
  });

  it('leave out the steps of a component disabled on the cluster', () => {
    const { files: without } = talos(
      [devCluster({ components: { gitops: { enabled: false } } })],
      [gitops, vault, net],
    );
    const readme = file(without, 'clusters/dev/RUNBOOK.md');
    expect(readme).not.toContain('Install gitops');
    expect(readme).not.toContain('gitops-crds');
    expect(readme).toContain('Install vault');
  });
});

describe('the documents the checks read back', () => {
  it('are, for every YAML file, what parsing the file gives', () => {
    const { files, issues } = talos([haCluster()], [cilium, longhorn]);
    expect(issues).toEqual([]);
    const yamlFiles = files.filter((generated) => generated.path.endsWith('.yaml'));
    expect(yamlFiles.map((generated) => generated.path)).toContain(`${PROD}/controlplane.yaml`);
    for (const generated of yamlFiles) {
      const remembered = emittedDocuments(generated);
      expect(remembered, generated.path).toBeDefined();
      expect(JSON.stringify(remembered)).toBe(JSON.stringify(parseAllDocuments(generated.content)));
    }
    // A copy of the file object is not the emitted file: readers parse it.
    expect(emittedDocuments({ ...(yamlFiles[0] as GeneratedFile) })).toBeUndefined();
  });
});
