// The Gateway's pinned address: the definition's, or by default the last usable address of the
// cluster's first LoadBalancer pool; it must lie in a pool and not be the first or last address
// of the pool's CIDR, which the platform's pools keep (charts/cilium's CiliumLoadBalancerIPPools
// say `allowFirstLastIPs: "No"`, so Cilium's LB IPAM never hands them out). Pure.
import {
  cidrContains,
  error,
  type Issue,
  nthAddress,
  type PathSegment,
  parseCidr,
  parseIp,
  type ResolvedCluster,
} from '@homelab/core';

type Pool = ResolvedCluster['network']['loadBalancerPools'][number];

export interface PinnedAddress {
  readonly address: string;
  /** The pool it comes from (its service selector decides which Services it may serve). */
  readonly pool: Pool;
}

/** The last address of `cidr` LB IPAM hands out: the one before the last, except on /31, /32. */
export function defaultAddress(pool: Pool): string | undefined {
  const cidr = parseCidr(pool.cidr);
  if (cidr === undefined) return undefined;
  return nthAddress(cidr, cidr.size > 2n ? cidr.size - 2n : 0n);
}

/**
 * The address to pin on `cluster`: `wanted` when given (checked), else the default. Issues at
 * `path` when the address lies in no pool or is a pool's reserved first or last address.
 */
export function pinnedAddress(
  cluster: ResolvedCluster,
  wanted: string | undefined,
  path: readonly PathSegment[],
): { pinned: PinnedAddress | undefined; issues: Issue[] } {
  const pools = cluster.network.loadBalancerPools;
  if (wanted === undefined) {
    const first = pools[0];
    const address = first === undefined ? undefined : defaultAddress(first);
    return {
      pinned: first === undefined || address === undefined ? undefined : { address, pool: first },
      issues: [],
    };
  }
  const ip = parseIp(wanted);
  if (ip === undefined) {
    return {
      pinned: undefined,
      issues: [
        error({
          code: 'gateway-address',
          path,
          value: wanted,
          message: 'is not an IP address',
          expected: 'an IPv4 or IPv6 address of one of the cluster’s LoadBalancer pools',
        }),
      ],
    };
  }
  const pool = pools.find((candidate) => cidrContains(candidate.cidr, ip.text));
  if (pool === undefined) {
    return {
      pinned: undefined,
      issues: [
        error({
          code: 'gateway-address',
          path,
          value: wanted,
          message: `lies in none of the LoadBalancer pools of cluster "${cluster.name}" (${pools.map((p) => `${p.name} ${p.cidr}`).join(', ')}): LB IPAM would never give it to the Gateway`,
          expected: 'an address of one of network.loadBalancerPools',
        }),
      ],
    };
  }
  const cidr = parseCidr(pool.cidr);
  if (cidr !== undefined && cidr.size > 2n && (ip.value === cidr.first || ip.value === cidr.last)) {
    return {
      pinned: undefined,
      issues: [
        error({
          code: 'gateway-address',
          path,
          value: wanted,
          message: `is the ${ip.value === cidr.first ? 'first' : 'last'} address of pool ${pool.name} (${pool.cidr}), which the pool keeps (allowFirstLastIPs: "No": LB IPAM never hands it out)`,
          expected: `an address strictly inside ${pool.cidr}, e.g. ${defaultAddress(pool) ?? ''}`,
        }),
      ],
    };
  }
  return { pinned: { address: ip.text, pool }, issues: [] };
}
