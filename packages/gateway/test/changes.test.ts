// `gateway-dns-record` on Gateways made here (the pipeline hands the component both sides:
// packages/cli/test/change-checks.test.ts runs it on the reference).
import type { ChangedObject, ResolvedCluster } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { dnsRecordCheck, GATEWAY_CHANGES } from '../src/changes.js';
import { gatewayComponent } from '../src/index.js';

const cluster = { name: 'dev', index: 0 } as unknown as ResolvedCluster;
const NO_VALUES = { beforeValues: new Map(), afterValues: new Map() };

function gateway(address: string, hostname: string, name = 'platform'): ChangedObject {
  return {
    chart: 'gateway',
    object: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name, namespace: 'gateway' },
      spec: {
        addresses: [{ type: 'IPAddress', value: address }],
        listeners: [
          { name: 'http', hostname, port: 80 },
          { name: 'https', hostname, port: 443 },
        ],
      },
    },
  };
}

const check = (before: ChangedObject[], after: ChangedObject[]) =>
  dnsRecordCheck.check({ ...NO_VALUES, cluster, before, after });

describe('gateway-dns-record', () => {
  it('is registered as a change check of the component', () => {
    expect(gatewayComponent.changes).toBe(GATEWAY_CHANGES);
  });

  it('names the record to make for a new address, at the address setting', () => {
    const issues = check([gateway('10.0.0.1', '*.dev.lab')], [gateway('10.0.0.2', '*.dev.lab')]);
    expect(issues.map((issue) => [issue.severity, issue.value, issue.path])).toEqual([
      ['warning', '10.0.0.2', ['clusters', 0, 'components', 'gateway', 'address']],
    ]);
    expect(issues[0]?.expected).toBe(
      'once Argo CD synced the change and the Gateway is programmed, the wildcard record in your DNS (the runbook\'s "Point DNS at the Gateway"): `*.dev.lab.  IN  A  10.0.0.2`',
    );
  });

  it('names the new record and the old one to remove for a new domain, an AAAA record for IPv6', () => {
    const [moved] = check([gateway('fd00::1', '*.dev.lab')], [gateway('fd00::1', '*.dev.home')]);
    expect(moved?.path).toEqual(['clusters', 0, 'domain']);
    expect(moved?.expected).toContain(
      '`*.dev.home.  IN  AAAA  fd00::1`, and the old one (*.dev.lab) removed',
    );
  });

  it('says nothing of the same Gateway, another Gateway, or a Gateway on one side only', () => {
    expect(check([gateway('10.0.0.1', '*.a')], [gateway('10.0.0.1', '*.a')])).toEqual([]);
    expect(
      check([gateway('10.0.0.1', '*.a', 'other')], [gateway('10.0.0.2', '*.a', 'other')]),
    ).toEqual([]);
    expect(check([], [gateway('10.0.0.1', '*.a')])).toEqual([]);
    expect(check([gateway('10.0.0.1', '*.a')], [])).toEqual([]);
  });

  it('says nothing where the new Gateway has no address (the address setting was refused: its error speaks)', () => {
    const unpinned = gateway('10.0.0.2', '*.a');
    unpinned.object.spec = { ...(unpinned.object.spec as object), addresses: [] };
    expect(check([gateway('10.0.0.1', '*.a')], [unpinned])).toEqual([]);
  });
});
