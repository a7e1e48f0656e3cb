// The node-links system check on the Talos material: it passes what the generator writes, and
// fails, naming the node and the file, when a patch configures any other link (issue 9, item 1:
// `LinkConfig.name: eth0` on metal, where Talos names links enp3s0 or by their alias).
import type { DeployedCluster, GeneratedFile, KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import {
  loadBalancerPoolsOnLink,
  nodeAddressPinned,
  nodeLinks,
  tpmEncryptionSecureBoot,
} from '../src/index.js';
import { file, haCluster, type TalosRun, talos } from './helpers.js';

function check(run: TalosRun, files: readonly GeneratedFile[] = run.files) {
  return nodeLinks.check({ platform: run.platform, clusters: [], files });
}

/** The run's files with `from` replaced by `to` in one of them. */
function edited(run: TalosRun, path: string, from: string, to: string): GeneratedFile[] {
  return run.files.map((file) => {
    if (file.path !== path) return file;
    expect(file.content).toContain(from);
    return { ...file, content: file.content.replace(from, to) };
  });
}

const prod = 'clusters/prod/talos/nodes';

describe('node-links', () => {
  it('passes the patches the generator writes, on Talos 1.12+ and on 1.11', () => {
    expect(check(talos([haCluster()]))).toEqual([]);
    expect(check(talos([haCluster({ talos: { version: 'v1.11.6' } })]))).toEqual([]);
  });

  it('fails a LinkConfig on eth0 where the node selects its card by MAC, naming node and file', () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-w-1.yaml`;
    const issues = check(
      run,
      edited(run, path, 'kind: LinkConfig\n', 'kind: LinkConfig\nname: eth0\n').map((file) =>
        file.path === path
          ? { ...file, content: file.content.replace(/\nname: lan0\nroutes/, '\nroutes') }
          : file,
      ),
    );
    expect(issues.map((issue) => [issue.code, issue.path, issue.output])).toEqual([
      ['node-links', ['clusters', 0, 'nodes', 3, 'link'], path],
    ]);
    expect(issues[0]?.message).toContain(
      'node "prod-w-1": its patch configures LinkConfig on "eth0", which is no alias the patch selects (lan0)',
    );
  });

  it('fails a VIP on another link than the one the definition names', () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-cp-2.yaml`;
    const issues = check(run, edited(run, path, 'link: enp1s0', 'link: eth0'));
    expect(issues.map((issue) => issue.message)).toEqual([
      'node "prod-cp-2": its patch configures Layer2VIPConfig on "eth0", which is not the link the definition names ("enp1s0"); the static address and the VIP would never come up',
    ]);
  });

  it('fails an alias that selects other hardware than the definition gives', () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-cp-1.yaml`;
    const issues = check(run, edited(run, path, '02:00:c0:a8:1e:0b', '02:00:c0:a8:1e:ff'));
    expect(issues.map((issue) => issue.message)).toEqual([
      'node "prod-cp-1": its patch selects its link with mac(link.permanent_addr) == "02:00:c0:a8:1e:ff", not the definition\'s hardware (mac(link.permanent_addr) == "02:00:c0:a8:1e:0b"); the static address and the VIP would never come up',
    ]);
  });

  it("fails Talos 1.11's device named eth0 where the definition names enp1s0", () => {
    const run = talos([haCluster({ talos: { version: 'v1.11.6' } })]);
    const path = `${prod}/prod-cp-2.yaml`;
    const issues = check(run, edited(run, path, 'interface: enp1s0', 'interface: eth0'));
    expect(issues.map((issue) => [issue.path, issue.output])).toEqual([
      [['clusters', 0, 'nodes', 1, 'link'], path],
    ]);
  });
});

describe('tpm-encryption-secureboot', () => {
  const tpmCheck = (run: TalosRun, files: readonly GeneratedFile[] = run.files) =>
    tpmEncryptionSecureBoot.check({ platform: run.platform, clusters: [], files });

  it('passes the patches the generator writes: TPM keys with the SecureBoot installer, node-id keys with the plain one', () => {
    const prodRun = talos([haCluster()]);
    const role = file(prodRun.files, 'clusters/prod/talos/worker.yaml');
    expect(role).toContain('tpm: {}');
    expect(role).toMatch(
      /image: factory\.talos\.dev\/installer-secureboot\/[0-9a-f]{64}:v1\.12\.11\n/,
    );
    expect(tpmCheck(prodRun)).toEqual([]);
    const nodeId = talos([haCluster({ talos: { version: 'v1.12.11', diskEncryption: 'nodeID' } })]);
    const plain = file(nodeId.files, 'clusters/prod/talos/worker.yaml');
    expect(plain).toContain('nodeID: {}');
    expect(plain).toMatch(/image: factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.12\.11\n/);
    expect(tpmCheck(nodeId)).toEqual([]);
  });

  it('fails a TPM key with the plain installer, naming each node of the role and the file', () => {
    const run = talos([haCluster()]);
    const path = 'clusters/prod/talos/worker.yaml';
    const issues = tpmCheck(
      run,
      edited(run, path, 'factory.talos.dev/installer-secureboot/', 'factory.talos.dev/installer/'),
    );
    expect(issues.map((issue) => [issue.code, issue.path, issue.output])).toEqual(
      ['prod-w-1', 'prod-w-2', 'prod-w-3', 'prod-w-4'].map(() => [
        'tpm-encryption-secureboot',
        ['clusters', 0, 'talos', 'diskEncryption'],
        path,
      ]),
    );
    expect(issues[0]?.message).toMatch(
      /^node "prod-w-1": its patches seal disk keys to the TPM but install "factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.12\.11", not a SecureBoot installer;/,
    );
  });
});

describe('lb-pools-on-link', () => {
  // The objects Cilium's component generates for prod (its pool from the definition, and how it
  // is announced); the nodes' addresses are read from the Talos node patches.
  const pool: KubeObject = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumLoadBalancerIPPool',
    metadata: { name: 'default' },
    spec: { allowFirstLastIPs: 'No', blocks: [{ cidr: '192.168.30.224/27' }] },
  };
  const l2Policy: KubeObject = {
    apiVersion: 'cilium.io/v2alpha1',
    kind: 'CiliumL2AnnouncementPolicy',
    metadata: { name: 'platform' },
    spec: { loadBalancerIPs: true },
  };
  const bgpConfig: KubeObject = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumBGPClusterConfig',
    metadata: { name: 'platform' },
    spec: {},
  };
  const deployed = (run: TalosRun, objects: readonly KubeObject[]): DeployedCluster[] =>
    run.platform.clusters.map(
      (cluster) =>
        ({
          cluster,
          run: {},
          applications: [
            {
              name: 'cilium',
              objects: objects.map((object) => ({
                object,
                source: `charts/cilium/clusters/${cluster.name}.yaml#manifests.${String(object.kind)}`,
              })),
            },
          ],
        }) as unknown as DeployedCluster,
    );
  const poolCheck = (
    run: TalosRun,
    objects: readonly KubeObject[],
    files: readonly GeneratedFile[] = run.files,
  ) =>
    loadBalancerPoolsOnLink.check({
      platform: run.platform,
      clusters: deployed(run, objects),
      files,
    });

  it('passes the patches the generator writes: an L2 pool on the LAN the addresses carry, on every Talos release', () => {
    for (const version of ['v1.11.6', 'v1.12.11', 'v1.13.9']) {
      const run = talos([haCluster({ talos: { version } })]);
      expect(poolCheck(run, [pool, l2Policy])).toEqual([]);
    }
  });

  it("fails node addresses with the node range's prefix where the L2 pool is beside it (1.12+)", () => {
    // Broken on purpose: the address carries nodeCidr's /25, the pool is in the LAN's upper half.
    const run = talos([haCluster()]);
    const path = `${prod}/prod-w-1.yaml`;
    const issues = poolCheck(
      run,
      [pool, l2Policy],
      edited(run, path, 'address: 192.168.30.21/24', 'address: 192.168.30.21/25'),
    );
    expect(issues.map((issue) => [issue.code, issue.path, issue.output, issue.value])).toEqual([
      [
        'lb-pools-on-link',
        ['clusters', 0, 'network', 'loadBalancerPools', 0, 'cidr'],
        path,
        '192.168.30.224/27',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'node "prod-w-1" puts its address 192.168.30.21/25 on its link, whose network does not hold pool "default" 192.168.30.224/27 (charts/cilium/clusters/prod.yaml#manifests.CiliumLoadBalancerIPPool), announced by L2: the LAN hosts that ask by ARP for the pool take it as on their link, and the node answers those outside 192.168.30.0/25 through the gateway',
    );
  });

  it("fails Talos 1.11's interface address with the node range's prefix", () => {
    const run = talos([haCluster({ talos: { version: 'v1.11.6' } })]);
    const path = `${prod}/prod-cp-2.yaml`;
    const issues = poolCheck(
      run,
      [pool, l2Policy],
      edited(run, path, '- 192.168.30.12/24', '- 192.168.30.12/25'),
    );
    expect(issues.map((issue) => [issue.output, issue.value])).toEqual([
      [path, '192.168.30.224/27'],
    ]);
  });

  it("fails an L2 pool that ends at the LAN's broadcast address without keeping its first and last address, once", () => {
    // Broken on purpose: the pool as charts/cilium wrote it before (no allowFirstLastIPs), at
    // the top of the nodes' /24: LB IPAM may hand out 192.168.30.255
    const run = talos([haCluster()]);
    const open = { ...pool, spec: { blocks: [{ cidr: '192.168.30.224/27' }] } };
    const issues = poolCheck(run, [open, l2Policy]);
    expect(issues.map((issue) => [issue.code, issue.path, issue.output, issue.value])).toEqual([
      [
        'lb-pools-on-link',
        ['clusters', 0, 'network', 'loadBalancerPools', 0, 'cidr'],
        'charts/cilium/clusters/prod.yaml#manifests.CiliumLoadBalancerIPPool',
        '192.168.30.224/27',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'pool "default" 192.168.30.224/27 (charts/cilium/clusters/prod.yaml#manifests.CiliumLoadBalancerIPPool), announced by L2, holds 192.168.30.255, the broadcast address of the LAN 192.168.30.0/24 that node "prod-cp-1" is on, and does not keep its first and last address (allowFirstLastIPs: "No"): Cilium\'s LB IPAM may give 192.168.30.255 to a Service, which LAN hosts send to as a broadcast, never by ARP to the node that announces it',
    );
    // The LAN's network address too; a pool inside the LAN, off both edges, needs nothing
    const bottom = { ...pool, spec: { blocks: [{ cidr: '192.168.30.0/28' }] } };
    expect(poolCheck(run, [bottom, l2Policy]).map((issue) => issue.message)).toContainEqual(
      expect.stringContaining('holds 192.168.30.0, the network address of the LAN 192.168.30.0/24'),
    );
    // A /32 at the broadcast address: Cilium keeps nothing of it, whatever the pool says
    const single = {
      ...pool,
      spec: { allowFirstLastIPs: 'No', blocks: [{ cidr: '192.168.30.255/32' }] },
    };
    expect(poolCheck(run, [single, l2Policy]).map((issue) => issue.message)).toContainEqual(
      expect.stringContaining('is a /32, of which Cilium keeps no address'),
    );
    // A start-to-stop range that ends there: allowFirstLastIPs reserves only CIDR blocks' ends
    const range = {
      ...pool,
      spec: {
        allowFirstLastIPs: 'No',
        blocks: [{ start: '192.168.30.240', stop: '192.168.30.255' }],
      },
    };
    expect(poolCheck(run, [range, l2Policy]).map((issue) => [issue.value, issue.message])).toEqual([
      [
        '192.168.30.240-192.168.30.255',
        expect.stringContaining(
          'holds 192.168.30.255, the broadcast address of the LAN 192.168.30.0/24 that node "prod-cp-1" is on, and is a start-to-stop range, of which Cilium keeps no address',
        ),
      ],
    ]);
    // A pool under "No" wider than the LAN: it keeps its own ends, not the LAN's broadcast
    // address inside it (and it is not on the LAN, which is reported for every node as well)
    const wide = {
      ...pool,
      spec: { allowFirstLastIPs: 'No', blocks: [{ cidr: '192.168.30.0/23' }] },
    };
    const wideIssues = poolCheck(run, [wide, l2Policy]).map((issue) => issue.message);
    expect(wideIssues.filter((message) => message.includes('broadcast address'))).toEqual([
      expect.stringContaining(
        'holds 192.168.30.255, the broadcast address of the LAN 192.168.30.0/24 that node "prod-cp-1" is on, and reaches beyond that LAN: the pool keeps only its own first and last address',
      ),
    ]);
    expect(wideIssues.filter((message) => message.includes('does not hold pool'))).toHaveLength(7);
    const middle = { ...pool, spec: { blocks: [{ cidr: '192.168.30.192/27' }] } };
    expect(poolCheck(run, [middle, l2Policy])).toEqual([]);
    // Announced by BGP, off the LAN: its edges are no LAN's
    const routed = { ...pool, spec: { blocks: [{ cidr: '10.30.0.0/27' }] } };
    expect(poolCheck(run, [routed, bgpConfig])).toEqual([]);
  });

  it("fails a BGP pool on the nodes' link, and passes one off it", () => {
    const run = talos([haCluster()]);
    const issues = poolCheck(run, [pool, bgpConfig]);
    expect(issues).toHaveLength(7);
    expect(issues[0]?.message).toBe(
      'node "prod-cp-1" puts its address 192.168.30.11/24 on its link, whose network shares addresses with pool "default" 192.168.30.224/27 (charts/cilium/clusters/prod.yaml#manifests.CiliumLoadBalancerIPPool), announced by BGP: hosts on that link ask by ARP for the pool\'s addresses, which no node answers',
    );
    const routed = { ...pool, spec: { blocks: [{ cidr: '10.30.0.0/27' }] } };
    expect(poolCheck(run, [routed, bgpConfig])).toEqual([]);
  });
});

describe('node-address-pinned', () => {
  const pinned = (run: TalosRun, files: readonly GeneratedFile[] = run.files) =>
    nodeAddressPinned.check({ platform: run.platform, clusters: [], files });

  it('passes the patches the generator writes, on Talos 1.11 to 1.13', () => {
    for (const version of ['v1.11.6', 'v1.12.11', 'v1.13.9']) {
      expect(pinned(talos([haCluster({ talos: { version } })]))).toEqual([]);
    }
  });

  it("fails a role patch's LAN range beside the node's /32, which Talos' merge keeps", () => {
    // Broken on purpose: the pre-fix role patch. Talos appends lists, so the merged
    // validSubnets would be [192.168.30.0/25, 192.168.30.21/32]: a DHCP lease matches.
    const run = talos([haCluster()]);
    const path = 'clusters/prod/talos/worker.yaml';
    const issues = pinned(
      run,
      edited(
        run,
        path,
        '  kubelet:\n',
        '  kubelet:\n    nodeIP:\n      validSubnets:\n        - 192.168.30.0/25\n',
      ),
    );
    expect(issues.map((issue) => [issue.code, issue.path, issue.output])).toEqual(
      ['prod-w-1', 'prod-w-2', 'prod-w-3', 'prod-w-4'].map((_, i) => [
        'node-address-pinned',
        ['clusters', 0, 'nodes', 3 + i, 'address'],
        path,
      ]),
    );
    expect(issues[0]?.message).toContain(
      'node "prod-w-1": its patches let the kubelet\'s node IP (machine.kubelet.nodeIP.validSubnets: 192.168.30.0/25, 192.168.30.21/32) be 192.168.30.0/25, not only 192.168.30.21',
    );
  });

  it("fails a control plane whose patch leaves etcd's advertised address open", () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-cp-2.yaml`;
    const issues = pinned(
      run,
      edited(
        run,
        path,
        'cluster:\n  etcd:\n    advertisedSubnets:\n      - 192.168.30.12/32\n',
        '',
      ),
    );
    expect(issues.map((issue) => [issue.path, issue.output])).toEqual([
      [['clusters', 0, 'nodes', 1, 'address'], path],
    ]);
    expect(issues[0]?.message).toContain(
      'node "prod-cp-2": its patches leave etcd\'s advertised address (cluster.etcd.advertisedSubnets) open',
    );
  });
});
