// The addresses a CiliumLoadBalancerIPPool gives, as Cilium's LB IPAM reads them
// (operator/pkg/lbipam, v1.19.6): each block is a CIDR or a start-to-stop range; under
// `allowFirstLastIPs: "No"` a CIDR block of more than two addresses keeps its first and last (LB
// IPAM marks them allocated when it makes the range: `handleNewPool`, `handlePoolModified`), and
// keeps nothing of a /31, a /32 or a start-to-stop range.
// Read here once for two checks of two components: the Cilium component's
// `gateway-address-allocatable` and the Talos material's `lb-pools-on-link`. Pure.

import { list, record } from './json-access.js';
import { type Cidr, type IpVersion, parseCidr, parseIp } from './net.js';
import type { KubeObject } from './types.js';

/** One block of a pool: the addresses from `first` to `last`, and what LB IPAM keeps of them. */
export interface PoolBlock {
  readonly version: IpVersion;
  readonly first: bigint;
  readonly last: bigint;
  /** The block as written: its CIDR (canonical) or `start-stop`. */
  readonly text: string;
  /** The CIDR, when the block is one. */
  readonly cidr?: Cidr;
  /** The addresses LB IPAM never hands out (the first and last under "No"), ascending. */
  readonly reserved: readonly bigint[];
}

/**
 * The blocks of a CiliumLoadBalancerIPPool, in their order. A block's `cidr` wins over its `start`
 * and `stop`; a `start` without a `stop` is that one address (`ipRangeFromBlock`). A block that
 * does not parse, or whose ends differ in IP version or run backwards, is left out. LB IPAM stops
 * at such a block instead (the blocks before it are served, those after it never are); the
 * platform writes none (its pools are the definition's checked CIDRs).
 */
export function loadBalancerPoolBlocks(pool: KubeObject): PoolBlock[] {
  const spec = record(pool.spec);
  const keepEdges = spec.allowFirstLastIPs === 'No';
  return list(spec.blocks).flatMap((block): PoolBlock[] => {
    const entry = record(block);
    if (typeof entry.cidr === 'string' && entry.cidr !== '') {
      const cidr = parseCidr(entry.cidr);
      if (cidr === undefined) return [];
      const reserved = keepEdges && cidr.size > 2n ? [cidr.first, cidr.last] : [];
      return [
        {
          version: cidr.version,
          first: cidr.first,
          last: cidr.last,
          text: cidr.text,
          cidr,
          reserved,
        },
      ];
    }
    const start = parseIp(String(entry.start ?? ''));
    // A start without a stop is that one address (`ipRangeFromBlock`)
    const stop =
      entry.stop === undefined || entry.stop === '' ? start : parseIp(String(entry.stop));
    if (start === undefined || stop === undefined) return [];
    if (start.version !== stop.version || stop.value < start.value) return [];
    return [
      {
        version: start.version,
        first: start.value,
        last: stop.value,
        text: `${start.text}-${stop.text}`,
        reserved: [],
      },
    ];
  });
}
