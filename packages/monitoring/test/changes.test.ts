// `prometheus-storage-changed` on chart values made here (the pipeline hands the component both
// sides: packages/cli/test/change-checks.test.ts runs it on the reference).
import type { ResolvedCluster, Values } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { MONITORING_CHANGES, prometheusStorageCheck } from '../src/changes.js';
import { monitoringComponent } from '../src/index.js';

const cluster = { name: 'dev', index: 0 } as unknown as ResolvedCluster;

function values(size: string | undefined, storageClassName = 'standard'): Values {
  if (size === undefined)
    return { 'kube-prometheus-stack': { prometheus: { prometheusSpec: {} } } };
  return {
    'kube-prometheus-stack': {
      prometheus: {
        prometheusSpec: {
          storageSpec: {
            volumeClaimTemplate: {
              spec: { storageClassName, resources: { requests: { storage: size } } },
            },
          },
        },
      },
    },
  };
}

function check(before: Values, after: Values) {
  return prometheusStorageCheck.check({
    cluster,
    before: [],
    after: [],
    beforeValues: new Map([['monitoring', before]]),
    afterValues: new Map([['monitoring', after]]),
  });
}

describe('prometheus-storage-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(monitoringComponent.changes).toBe(MONITORING_CHANGES);
  });

  it('compares sizes as quantities: 1Ti is more than 900Gi, 1024Gi is the same', () => {
    const [grown] = check(values('900Gi'), values('1Ti'));
    expect(grown?.message).toMatch(/^grows Prometheus' volume on cluster "dev" from 900Gi/);
    expect(grown?.path).toEqual([
      'clusters',
      0,
      'components',
      'monitoring',
      'prometheus',
      'storage',
      'size',
    ]);
    const [shrunk] = check(values('1Ti'), values('900Gi'));
    expect(shrunk?.message).toMatch(/^shrinks Prometheus' volume on cluster "dev" from 1Ti/);
    expect(shrunk?.expected).toBe(
      '1Ti kept, unless the old claims may stay larger than the new ones',
    );
  });

  it('warns of another class at the storage settings, and says nothing without a claim template or a change', () => {
    const moved = check(values('10Gi'), values('10Gi', 'fast-storage'));
    expect(moved.map((issue) => [issue.value, issue.path])).toEqual([
      ['fast-storage', ['clusters', 0, 'components', 'monitoring', 'prometheus', 'storage']],
    ]);
    expect(check(values('10Gi'), values('10Gi'))).toEqual([]);
    // Prometheus on an emptyDir (no storage provider) before or after: no claims to speak of.
    expect(check(values(undefined), values('10Gi'))).toEqual([]);
    expect(check(values('10Gi'), values(undefined))).toEqual([]);
    expect(
      prometheusStorageCheck.check({
        cluster,
        before: [],
        after: [],
        beforeValues: new Map(),
        afterValues: new Map([['monitoring', values('20Gi')]]),
      }),
    ).toEqual([]);
  });
});
