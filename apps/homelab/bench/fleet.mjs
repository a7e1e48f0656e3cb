// Synthetic fleets for the benchmark: `fleetDefinition(n)` returns the text of a valid platform
// definition with n clusters — distinct names, networks and addresses; environments, sizes and
// announcement modes rotate like the reference platform's (dev: 1 node, L2; staging: 3 nodes,
// L2; prod: 3 control planes + 3 workers, BGP). JSON is YAML, so no YAML library is needed.

const ENVIRONMENTS = ['development', 'staging', 'production'];

/** The i-th cluster (0 ≤ i < 200): nodes in 10.100+⌊i/100⌋.(i%100).0/24, pods 10.(i%100)… */
export function syntheticCluster(i) {
  if (i < 0 || i >= 200) throw new RangeError(`cluster index ${i} outside 0..199`);
  const environment = ENVIRONMENTS[i % 3];
  const name = `c${String(i).padStart(3, '0')}-${environment.slice(0, 4)}`;
  const high = 100 + Math.floor(i / 100);
  const low = i % 100;
  const net = `10.${high}.${low}`;
  const controlPlanes = environment === 'development' ? 1 : 3;
  const workers = environment === 'production' ? 3 : 0;
  const nodes = [];
  for (let n = 0; n < controlPlanes + workers; n++) {
    const role = n < controlPlanes ? 'controlplane' : 'worker';
    nodes.push({
      hostname: `${name}-${role === 'controlplane' ? 'cp' : 'w'}${n + 1}`,
      role,
      address: `${net}.${11 + n}`,
      installDisk: '/dev/nvme0n1',
      ...(role === 'worker' ? { storage: true, labels: { 'node.homelab.dev/tier': 'fast' } } : {}),
    });
  }
  const network = {
    nodeCidr: `${net}.0/24`,
    gateway: `${net}.1`,
    podCidr: `10.${low}.0.0/17`,
    serviceCidr: `10.${low}.128.0/20`,
    loadBalancerPools: [{ name: 'default', cidr: `172.${16 + Math.floor(i / 100)}.${low}.0/27` }],
    ...(environment === 'production'
      ? {
          bgp: {
            localAsn: 64600 + i,
            peers: [{ name: 'router', address: `${net}.1`, asn: 64512 }],
          },
        }
      : { l2Announcements: {} }),
  };
  return {
    name,
    environment,
    talos: { version: 'v1.12.11' },
    kubernetes: { version: '1.34.2' },
    endpoint: `https://${net}.10:6443`,
    network,
    nodes,
  };
}

/** A definition with `count` clusters, as text. */
export function fleetDefinition(count) {
  const definition = {
    platform: { name: 'fleet', domain: 'fleet.example.com' },
    repository: { url: 'https://github.com/example/fleet.git' },
    clusters: Array.from({ length: count }, (_, i) => syntheticCluster(i)),
  };
  return `${JSON.stringify(definition, null, 2)}\n`;
}
