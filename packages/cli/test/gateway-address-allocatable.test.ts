// The Gateway's pinned address against the pools Cilium's LB IPAM hands addresses from
// (`gateway-address-allocatable`): on the reference every Gateway gets its address; broken on
// purpose in the output the checks read, a pool that keeps its edges, a pool that selects other
// Services, a disabled pool and no pool at all leave the Gateway without it.
import type { KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { broken, found, generateSeen, reference, withObject } from './broken-output.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit the objects' specs.
type Loose = any;

const CODE = 'gateway-address-allocatable';

/** dev's pool, changed by `change`, as the checks read it. */
const pool = (change: (spec: Loose) => void) =>
  withObject('dev', 'CiliumLoadBalancerIPPool', 'default', (object: KubeObject) => {
    change(object.spec as Loose);
    return object;
  });

describe('gateway-address-allocatable', { timeout: 180_000 }, () => {
  it("passes the reference: each cluster's Gateway pins an address its pool gives", async () => {
    const { issues, objects } = await generateSeen(reference);
    expect(issues.filter((issue) => issue.code === CODE)).toEqual([]);
    // The check had something to read on every cluster: a Gateway of Cilium's class that pins
    // an address, and a pool that holds it
    for (const cluster of ['dev', 'staging', 'prod']) {
      const gateway = objects(cluster).find((object) => object.kind === 'Gateway') as Loose;
      expect([cluster, gateway?.spec.gatewayClassName]).toEqual([cluster, 'cilium']);
      expect(gateway?.spec.addresses?.length).toBe(1);
    }
  });

  it("fails dev's Gateway at an address no pool holds, and at its pool's first or last address, which the pool keeps", async () => {
    // dev's pool is 10.10.10.224/27 and its Gateway pins 10.10.10.254: a /32 block at .255
    // would hold no .254; a block ending at .254 keeps it under allowFirstLastIPs: No
    const issues = await broken(
      pool((spec) => {
        spec.blocks = [
          { cidr: '10.10.10.252/31' },
          { cidr: '10.10.10.248/30' },
          { cidr: '10.10.10.240/29' },
        ];
      }),
    );
    expect(found(issues, CODE).map((issue) => issue.message)).toEqual([
      'Gateway gateway/platform on cluster "dev" pins 10.10.10.254, which Cilium\'s LB IPAM never gives its Service: no CiliumLoadBalancerIPPool on the cluster holds it. The Gateway would stay without its address, and DNS points there',
    ]);
    // The Gateway at the pool's last address (10.10.10.255, the LAN's broadcast address), which
    // the pool keeps; given without the reservation
    const at = (address: string) =>
      withObject('dev', 'Gateway', 'platform', (object: KubeObject) => {
        (object.spec as Loose).addresses = [{ type: 'IPAddress', value: address }];
        return object;
      });
    const edge = await broken(at('10.10.10.255'));
    expect(found(edge, CODE).map((issue) => issue.message)).toEqual([
      'Gateway gateway/platform on cluster "dev" pins 10.10.10.255, which Cilium\'s LB IPAM never gives its Service: it is the last address of 10.10.10.224/27 in pool "default", which keeps it (allowFirstLastIPs: "No"). The Gateway would stay without its address, and DNS points there',
    ]);
    const first = await broken(at('10.10.10.224'));
    expect(found(first, CODE).map((issue) => issue.message)).toEqual([
      expect.stringContaining('it is the first address of 10.10.10.224/27 in pool "default"'),
    ]);
    const open = await broken((input) =>
      pool((spec) => {
        spec.allowFirstLastIPs = undefined;
      })(at('10.10.10.255')(input)),
    );
    expect(found(open, CODE)).toEqual([]);
  });

  it('fails an infrastructure annotation that asks LB IPAM for another address than the pinned one', async () => {
    const annotated = (key: string, value: string) =>
      withObject('dev', 'Gateway', 'platform', (object: KubeObject) => {
        const spec = object.spec as Loose;
        spec.infrastructure = { ...spec.infrastructure, annotations: { [key]: value } };
        return object;
      });
    const other = await broken(annotated('lbipam.cilium.io/ips', '10.10.10.253'));
    expect(found(other, CODE).map((issue) => [issue.output, issue.message])).toEqual([
      [
        expect.stringContaining('.spec.infrastructure.annotations'),
        'Gateway gateway/platform on cluster "dev" pins 10.10.10.254, but its infrastructure annotation lbipam.cilium.io/ips asks LB IPAM for 10.10.10.253, which Cilium puts on the Service instead: the pinned address is never asked for',
      ],
    ]);
    // The alias with the same address asks for the pinned one: nothing to say
    expect(found(await broken(annotated('io.cilium/lb-ipam-ips', '10.10.10.254')), CODE)).toEqual(
      [],
    );
  });

  it("fails a pool that selects other Services, and a disabled one; passes a selector on the Gateway's namespace", async () => {
    const other = await broken(
      pool((spec) => {
        spec.serviceSelector = { matchLabels: { 'homelab.dev/pool': 'other' } };
      }),
    );
    expect(found(other, CODE).map((issue) => issue.message)).toEqual([
      'Gateway gateway/platform on cluster "dev" pins 10.10.10.254, which Cilium\'s LB IPAM never gives its Service: pool "default" holds it but its serviceSelector does not select the Gateway\'s Service (its labels: the Gateway\'s spec.infrastructure.labels). The Gateway would stay without its address, and DNS points there',
    ]);
    const disabled = await broken(
      pool((spec) => {
        spec.disabled = true;
      }),
    );
    expect(found(disabled, CODE).map((issue) => issue.message)).toEqual([
      'Gateway gateway/platform on cluster "dev" pins 10.10.10.254, which Cilium\'s LB IPAM never gives its Service: pool "default" holds it but is disabled. The Gateway would stay without its address, and DNS points there',
    ]);
    const namespace = await broken(
      pool((spec) => {
        spec.serviceSelector = { matchLabels: { 'io.kubernetes.service.namespace': 'gateway' } };
      }),
    );
    expect(found(namespace, CODE)).toEqual([]);
  });

  it("reads the Service's name and labels as Cilium writes them: shortened past 63 characters, the infrastructure labels over Cilium's", async () => {
    // A Gateway whose Service name, cilium-gateway-<name>, is 75 characters: Cilium v1.19.6
    // names the Service (and labels it) with the name shortened (values from its Go code)
    const long = 'a-very-long-gateway-name-for-the-homelab-platform-in-the-lab';
    const renamed = withObject('dev', 'Gateway', 'platform', (object: KubeObject) => ({
      ...object,
      metadata: { ...object.metadata, name: long },
    }));
    const selecting = (labels: Record<string, string>) =>
      pool((spec) => {
        spec.serviceSelector = { matchLabels: labels };
      });
    const byName = (name: string) =>
      broken((input) => selecting({ 'io.kubernetes.service.name': name })(renamed(input)));
    expect(
      found(await byName('cilium-gateway-a-very-long-gateway-name-for-the-home-4fc7dtmgg5'), CODE),
    ).toEqual([]);
    expect(found(await byName(`cilium-gateway-${long}`), CODE).map((i) => i.message)).toEqual([
      `Gateway gateway/${long} on cluster "dev" pins 10.10.10.254, which Cilium's LB IPAM never gives its Service: pool "default" holds it but its serviceSelector does not select the Gateway's Service (its labels: the Gateway's spec.infrastructure.labels). The Gateway would stay without its address, and DNS points there`,
    ]);
    // The Gateway's own label is its name shortened; the 60-character name stays whole
    const byOwner = (name: string) =>
      broken((input) => selecting({ 'io.cilium.gateway/owning-gateway': name })(renamed(input)));
    expect(found(await byOwner(long), CODE)).toEqual([]);
    // An infrastructure label of the same key wins over Cilium's (mergeMap): a pool selecting
    // the Gateway's name no longer selects its Service
    const relabelled = withObject('dev', 'Gateway', 'platform', (object: KubeObject) => {
      const spec = object.spec as Loose;
      spec.infrastructure = {
        ...spec.infrastructure,
        labels: { ...spec.infrastructure?.labels, 'io.cilium.gateway/owning-gateway': 'other' },
      };
      return object;
    });
    const overridden = await broken((input) =>
      selecting({ 'io.cilium.gateway/owning-gateway': 'platform' })(relabelled(input)),
    );
    expect(found(overridden, CODE).map((issue) => issue.message)).toEqual([
      expect.stringContaining("its serviceSelector does not select the Gateway's Service"),
    ]);
  });
});
