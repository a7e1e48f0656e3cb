// The Prometheus and Alertmanager validators and the embedded volume claim the models mistype.
import { type KubeObject, validateObjects } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { monitoringValidators } from '../src/validators.js';

function prometheus(claim: { [key: string]: unknown }): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'Prometheus',
    metadata: { name: 'monitoring-prometheus', namespace: 'monitoring' },
    spec: { replicas: 1, storage: { volumeClaimTemplate: claim } },
  } as KubeObject;
}

const spec = {
  storageClassName: 'standard',
  accessModes: ['ReadWriteOnce'],
  resources: { requests: { storage: '20Gi' } },
};

const problems = (object: KubeObject) =>
  validateObjects([{ source: 'test', object }], monitoringValidators).map((issue) => issue.message);

describe('the embedded volume claim of Prometheus', () => {
  it('needs no apiVersion or kind (the CRD requires neither; the operator ignores both)', () => {
    expect(problems(prometheus({ spec }))).toEqual([]);
    expect(problems(prometheus({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', spec }))).toEqual(
      [],
    );
  });

  it('refuses what is not a PersistentVolumeClaim, and a bad claim spec', () => {
    expect(problems(prometheus({ kind: 'ConfigMap', spec })).join('\n')).toContain(
      'spec.storage.volumeClaimTemplate.kind: must be PersistentVolumeClaim or absent',
    );
    const bad = validateObjects(
      [{ source: 'test', object: prometheus({ spec: { ...spec, accessModes: 'ReadWriteOnce' } }) }],
      monitoringValidators,
    );
    expect(bad.map((issue) => [issue.output, issue.message])).toEqual([
      [
        'test.spec.storage.volumeClaimTemplate.spec.accessModes',
        'must be array (monitoring.coreos.com/v1 Prometheus)',
      ],
    ]);
  });
});
