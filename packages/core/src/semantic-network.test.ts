// The cluster's network facts that decide whether it comes up at all: the API endpoint, the nodes'
// nameservers, the BGP peers and the node links (semantic.ts), on the minimal fixture.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { composeDefinitionSchema } from './definition-schema.js';
import { formatIssue, formatPath } from './issues.js';
import { definitionValidator, loadDefinition } from './load.js';

// alpha: LAN 10.1.0.0/23, nodes 10.1.0.0/24, node alpha-1 10.1.0.11 (the endpoint), L2 pool
// 10.1.1.0/27. beta: nodes 10.2.0.0/24 (its LAN), VIP 10.2.0.10, BGP peer 10.2.0.1 (AS 64501,
// local AS 64512), pool 10.2.1.0/27.
const minimal = readFileSync(
  fileURLToPath(new URL('../test/fixtures/valid/minimal/platform.yaml', import.meta.url)),
  'utf8',
);
const validator = definitionValidator(composeDefinitionSchema([]));
const load = (text: string) => loadDefinition(text, 'p.yaml', validator);
const shown = (text: string) => load(text).issues.map(formatIssue);
const alphaEndpoint = (url: string) => minimal.replace('https://10.1.0.11:6443', url);
const betaEndpoint = (url: string) => minimal.replace('https://10.2.0.10:6443', url);

describe("the API endpoint's port", () => {
  test("a node's address on a port other than 6443 is an error at the endpoint", () => {
    // Given the endpoint on node alpha-1's address, port 443
    const { issues, definition } = load(alphaEndpoint('https://10.1.0.11:443'));
    // Then one error at the endpoint, naming the node and the port the API server listens on
    expect(definition).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      code: 'endpoint',
      path: ['clusters', 0, 'endpoint'],
      value: 'https://10.1.0.11:443',
      position: { file: 'p.yaml', line: 13, column: 15 },
      expected:
        "https://10.1.0.11:6443, or a load balancer in front of the control planes (its name or an address off the nodes' LAN) for another port",
    });
    expect(issues[0]?.message).toBe(
      `has port 443, but its host 10.1.0.11 is the address of node "alpha-1": the API server listens on 6443 there (Talos' localAPIServerPort, which this platform leaves at its default and its firewall opens), nothing on 443`,
    );
  });

  test('the VIP on a port other than 6443 is an error naming the VIP', () => {
    expect(shown(betaEndpoint('https://10.2.0.10:8443'))).toEqual([
      `p.yaml:36:15  clusters[1].endpoint: "https://10.2.0.10:8443" has port 8443, but its host 10.2.0.10 is the control planes' VIP: the API server listens on 6443 there (Talos' localAPIServerPort, which this platform leaves at its default and its firewall opens), nothing on 8443 (expected https://10.2.0.10:6443, or a load balancer in front of the control planes (its name or an address off the nodes' LAN) for another port)`,
    ]);
  });

  test('a load balancer (a name, or an address off the LAN) may listen on any port', () => {
    expect(load(alphaEndpoint('https://kube.lab.example.com:443')).issues).toEqual([]);
    expect(
      load(alphaEndpoint('https://10.1.2.200:443')).issues.map((issue) => issue.severity),
    ).toEqual(['warning']);
  });

  test('a missing port is an error asking for it, 6443 for the control planes', () => {
    const { issues } = load(alphaEndpoint('https://10.1.0.11'));
    expect(issues.map(formatIssue)).toEqual([
      "p.yaml:13:15  clusters[0].endpoint: \"https://10.1.0.11\" has no port: `talosctl gen config` takes it as port 6443 for the nodes' configs and kubeconfig, any other client as https's 443 (expected the port written out: https://10.1.0.11:6443 (the API server's port on the control planes), or the port a load balancer in front of them listens on)",
    ]);
    // A load balancer's name without a port is refused too: which port it means is a guess.
    expect(
      load(alphaEndpoint('https://kube.lab.example.com')).issues.map((issue) => [
        issue.code,
        formatPath(issue.path),
      ]),
    ).toEqual([['endpoint', 'clusters[0].endpoint']]);
  });
});

describe('the API endpoint on an address the control planes cannot hold', () => {
  test("a worker's address is an error naming the worker", () => {
    expect(shown(betaEndpoint('https://10.2.0.21:6443'))).toEqual([
      `p.yaml:36:15  clusters[1].endpoint: "https://10.2.0.21:6443" points at 10.2.0.21, the address of worker node "beta-2" (clusters[1].nodes[1].address): Talos runs the API server on the control planes only, so no kubelet, talosctl or kubectl would reach it there (expected a control-plane node's address, a free address of 10.2.0.0/24 as the control planes' VIP, or a load balancer in front of them)`,
    ]);
  });

  test("the router's address as the VIP is an error naming the gateway", () => {
    expect(shown(alphaEndpoint('https://10.1.0.1:6443'))).toEqual([
      `p.yaml:13:15  clusters[0].endpoint: "https://10.1.0.1:6443" points at 10.1.0.1, the LAN's router (clusters[0].network.gateway), as the control planes' VIP: they would answer ARP for the router's address and take the LAN's traffic to it (expected a free address of 10.1.0.0/23 as the VIP, or a control-plane node's address)`,
    ]);
  });

  test("a control-plane node's address and a free address stay valid", () => {
    expect(load(betaEndpoint('https://10.2.0.11:6443')).issues).toEqual([]);
    expect(load(alphaEndpoint('https://10.1.0.200:6443')).issues).toEqual([]);
  });
});

describe("the API endpoint's host", () => {
  test.each([
    [
      'https://10.96.0.1:6443',
      "points at 10.96.0.1, inside the cluster's service network 10.96.0.0/12 (network.serviceCidr): its addresses exist only once the cluster runs, and the nodes dial the endpoint to start it, so no load balancer can sit there",
    ],
    [
      'https://10.244.0.5:6443',
      "points at 10.244.0.5, inside the cluster's pod network 10.244.0.0/16 (network.podCidr): its addresses exist only once the cluster runs, and the nodes dial the endpoint to start it, so no load balancer can sit there",
    ],
    [
      'https://127.0.0.1:6443',
      'points at 127.0.0.1, a loopback address: every node and client would dial itself, not the control planes',
    ],
    [
      'https://localhost:6443',
      'points at localhost, a loopback address: every node and client would dial itself, not the control planes',
    ],
    [
      'https://0.0.0.0:6443',
      'points at 0.0.0.0, the unspecified address, which no machine can be reached at',
    ],
  ])('%s is an error, not the off-LAN warning', (url, message) => {
    const { issues } = load(alphaEndpoint(url));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      code: 'endpoint',
      path: ['clusters', 0, 'endpoint'],
      value: url,
      message,
      position: { line: 13, column: 15 },
      expected:
        'an address in 10.1.0.0/23 (a control-plane node or a VIP), or the address or name of a load balancer in front of the control planes',
    });
  });

  test('another address off the LAN keeps the warning', () => {
    expect(load(alphaEndpoint('https://10.1.2.200:6443')).issues).toMatchObject([
      { severity: 'warning', code: 'endpoint' },
    ]);
  });

  test("a VIP on the LAN's network or broadcast address is an error", () => {
    expect(shown(alphaEndpoint('https://10.1.0.0:6443'))).toEqual([
      `p.yaml:13:15  clusters[0].endpoint: "https://10.1.0.0:6443" points at 10.1.0.0, the network address of the nodes' LAN 10.1.0.0/23, as the control planes' VIP: no host holds it (expected a VIP that is a host address in 10.1.0.0/23, or a control-plane node's address)`,
    ]);
    expect(shown(betaEndpoint('https://10.2.0.255:6443'))).toEqual([
      `p.yaml:36:15  clusters[1].endpoint: "https://10.2.0.255:6443" points at 10.2.0.255, the broadcast address of the node network 10.2.0.0/24, as the control planes' VIP: no host holds it (expected a VIP that is a host address in 10.2.0.0/24, or a control-plane node's address)`,
    ]);
    // The node range's own first address is a host address of the wider LAN.
    expect(load(alphaEndpoint('https://10.1.1.0:6443')).issues.map((issue) => issue.code)).toEqual([
      'overlap',
    ]);
  });
});

describe("the nodes' nameservers", () => {
  const withNameservers = (list: string) =>
    minimal.replace(
      '      gateway: 10.1.0.1\n',
      `      gateway: 10.1.0.1\n      nameservers: ${list}\n`,
    );

  test('one in the pod or service network is an error at it', () => {
    expect(shown(withNameservers('[1.1.1.1, 10.96.0.10]'))).toEqual([
      `p.yaml:18:30  clusters[0].network.nameservers[1]: "10.96.0.10" is inside the cluster's service network 10.96.0.0/12 (clusters[0].network.serviceCidr): the nodes resolve through it from their first boot, before any pod or Service exists, and never reach that network themselves (expected a DNS server off the cluster the nodes reach, e.g. the LAN's router (network.gateway) or a public resolver)`,
    ]);
    expect(load(withNameservers('[10.244.3.3]')).issues).toMatchObject([
      {
        severity: 'error',
        code: 'nameserver',
        path: ['clusters', 0, 'network', 'nameservers', 0],
        position: { line: 18, column: 21 },
      },
    ]);
  });

  test('one in a LoadBalancer pool is an error when no other is off the cluster, else a warning', () => {
    const [only] = load(withNameservers('[10.1.1.5]')).issues;
    expect(only).toMatchObject({
      severity: 'error',
      code: 'nameserver',
      path: ['clusters', 0, 'network', 'nameservers', 0],
      value: '10.1.1.5',
      position: { line: 18, column: 21 },
    });
    expect(only?.message).toBe(
      `is inside load-balancer pool "default" 10.1.1.0/27 (clusters[0].network.loadBalancerPools[0].cidr): a DNS server the cluster serves answers only once the cluster runs, but the nodes resolve through their nameservers from their first boot, to pull Talos', Cilium's and every other image, and no other nameserver is off the cluster: it would never come up`,
    );
    const issues = load(withNameservers('[10.1.1.5, 10.1.0.1]')).issues;
    expect(issues.map((issue) => [issue.severity, formatPath(issue.path)])).toEqual([
      ['warning', 'clusters[0].network.nameservers[0]'],
    ]);
    expect(issues[0]?.message).toContain(
      'until then, Talos asks it in turn and waits for its timeout before the next nameserver',
    );
  });

  test('a nameserver listed twice is an error at the second', () => {
    expect(shown(withNameservers('[10.1.0.1, 9.9.9.9, 10.1.0.1]'))).toEqual([
      `p.yaml:18:40  clusters[0].network.nameservers[2]: "10.1.0.1" is a duplicate nameserver: clusters[0].network.nameservers[0] has it already (expected a nameserver used once)`,
    ]);
  });

  test('an empty list is refused by the schema, a list off the cluster passes', () => {
    expect(load(withNameservers('[]')).issues).toMatchObject([
      {
        severity: 'error',
        code: 'schema',
        path: ['clusters', 0, 'network', 'nameservers'],
        position: { line: 18, column: 20 },
      },
    ]);
    expect(load(withNameservers('[10.1.0.1, 1.1.1.1]')).issues).toEqual([]);
  });
});

describe('BGP peers', () => {
  const withPeer = (address: string, asn = 64501) =>
    minimal
      .replace('            address: 10.2.0.1\n', `            address: ${address}\n`)
      .replace('            asn: 64501\n', `            asn: ${asn}\n`);

  test('a node of the cluster is an error naming the node', () => {
    expect(shown(withPeer('10.2.0.21'))).toEqual([
      `p.yaml:49:22  clusters[1].network.bgp.peers[0].address: "10.2.0.21" is the address of node "beta-2" of this cluster (clusters[1].nodes[1].address): the peers are the routers beside the cluster that Cilium on every node announces the LoadBalancer addresses to, and that node would have to peer with itself (expected the address of a router beside the cluster, e.g. the LAN's router (network.gateway))`,
    ]);
  });

  test('an address of a LoadBalancer pool is an error', () => {
    expect(load(withPeer('10.2.1.7')).issues).toMatchObject([
      {
        severity: 'error',
        code: 'bgp-peer',
        path: ['clusters', 1, 'network', 'bgp', 'peers', 0, 'address'],
        value: '10.2.1.7',
        position: { line: 49, column: 22 },
        message: `is inside load-balancer pool "default" 10.2.1.0/27 (clusters[1].network.loadBalancerPools[0].cidr): Cilium hands the pool's addresses to Services and announces them to the peers, so the router's own address would be routed to the cluster`,
        expected: 'the address of a router beside the cluster, outside 10.2.1.0/27',
      },
    ]);
  });

  test('an eBGP peer off the LAN is an error (TTL 1); an iBGP one there passes', () => {
    expect(shown(withPeer('10.9.0.1'))).toEqual([
      `p.yaml:49:22  clusters[1].network.bgp.peers[0].address: "10.9.0.1" is outside the nodes' LAN 10.2.0.0/24 and an eBGP peer (AS 64501, the cluster's AS 64512): Cilium sends eBGP with TTL 1 (the generated CiliumBGPPeerConfig sets no ebgpMultihop), which reaches only a router on the nodes' own LAN, so the session never comes up (expected the router's address on the nodes' LAN 10.2.0.0/24 (e.g. network.gateway), or asn: 64512 for an iBGP session)`,
    ]);
    expect(load(withPeer('10.9.0.1', 64512)).issues).toEqual([]);
  });
});

describe('node links', () => {
  const withLink = (name: string) =>
    minimal.replace("link: { hardwareAddr: '02:00:00:00:00:01' }", `link: { name: ${name} }`);

  test.each([
    ['enp1s0.10', 'a VLAN (<link>.<VLAN id>)'],
    ['bond0', 'a bond'],
    ['br0', 'a bridge'],
    ['vlan20', 'a VLAN'],
  ])('%s is refused: only physical links are configured', (name, kind) => {
    expect(load(withLink(name)).issues).toMatchObject([
      {
        severity: 'error',
        code: 'node-link',
        path: ['clusters', 0, 'nodes', 0, 'link', 'name'],
        value: name,
        position: { line: 28, column: 23 },
        message: `names ${kind}, not a network card: this platform configures physical links only (a Talos LinkConfig, on 1.11 machine.network.interfaces), which never create one, so node "alpha-1" would get no address`,
        expected:
          'the physical NIC the node is cabled on, e.g. enp1s0 (`talosctl get links --insecure -n <DHCP address>` lists them), or a hardware selector: link: { hardwareAddr: <permanentAddr> }',
      },
    ]);
  });

  test.each(['enp1s0', 'eno1', 'ens18', 'enx001122334455', 'enP2p1s0', 'wlp2s0', 'wlan0'])(
    'the network card name %s passes',
    (name) => {
      expect(load(withLink(name)).issues).toEqual([]);
    },
  );

  test('eth0 keeps its warning only', () => {
    expect(load(withLink('eth0')).issues).toMatchObject([
      { severity: 'warning', code: 'node-link' },
    ]);
  });
});

// A node block copied with its disk selectors names the other machine's disks: a serial or WWID
// is one physical disk, in one machine (a warning: virtual machines may report one on every VM).
describe('disk serials and WWIDs', () => {
  const disks = (second: string, third: string) =>
    minimal
      .replace(
        "link: { hardwareAddr: '02:00:00:00:00:03' }\n        installDisk: /dev/sda",
        `link: { hardwareAddr: '02:00:00:00:00:03' }\n        installDisk: { serial: S1 }\n        disks:\n          - { name: fast, selector: { wwid: eui.1 }, class: ssd, tier: fast }`,
      )
      .replace(
        "link: { hardwareAddr: '02:00:00:00:00:04' }\n        installDisk: /dev/sda",
        `link: { hardwareAddr: '02:00:00:00:00:04' }\n        installDisk: ${second}\n        disks:\n          - { name: fast, selector: ${third}, class: ssd, tier: fast }`,
      );

  test('one given to two nodes warns at the second, naming the first', () => {
    const issues = load(disks('{ serial: S1 }', '{ wwid: eui.1 }')).issues;
    expect(
      issues.map((issue) => [
        issue.severity,
        issue.code,
        formatPath(issue.path),
        issue.position?.line,
      ]),
    ).toEqual([
      ['warning', 'duplicate-disk', 'clusters[1].nodes[2].installDisk.serial', 68],
      ['warning', 'duplicate-disk', 'clusters[1].nodes[2].disks[0].selector.wwid', 70],
    ]);
    expect(issues[0]?.message).toBe(
      "is the disk serial clusters[1].nodes[1].installDisk.serial selects too: a serial names one physical disk, in one machine, so a node block copied with its selectors names the other machine's disk (this one's user volume is never made, or its install disk never found)",
    );
  });

  test('another disk on each node passes', () => {
    expect(shown(disks('{ serial: S2 }', '{ wwid: eui.2 }'))).toEqual([]);
  });
});
