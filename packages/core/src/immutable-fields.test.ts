import { describe, expect, it } from 'vitest';
import { fieldOrigin, immutableChanges, quantityBytes } from './immutable-fields.js';
import type { KubeObject } from './types.js';

function claim(
  storageClassName: string,
  storage: string,
  accessModes = ['ReadWriteOnce'],
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'paperless' },
    spec: { accessModes, storageClassName, resources: { requests: { storage } } },
  } as KubeObject;
}

describe('immutableChanges', () => {
  it("finds a claim's class, access modes and a smaller size, in the API server's words", () => {
    const now = claim('fast-storage', '10Gi', ['ReadWriteMany']);
    const changes = immutableChanges([claim('standard', '20Gi')], [now]);
    // Each change names the object as rendered now (whose origin places the issue).
    expect(changes.every((change) => change.subject === now)).toBe(true);
    expect(changes.map(({ subject: _, ...change }) => change)).toEqual([
      {
        object: 'PersistentVolumeClaim paperless/data',
        field: 'spec.storageClassName',
        before: 'standard',
        after: 'fast-storage',
        refusal:
          'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      },
      {
        object: 'PersistentVolumeClaim paperless/data',
        field: 'spec.accessModes',
        before: ['ReadWriteOnce'],
        after: ['ReadWriteMany'],
        refusal:
          'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      },
      {
        object: 'PersistentVolumeClaim paperless/data',
        field: 'spec.resources.requests.storage',
        before: '20Gi',
        after: '10Gi',
        refusal:
          'spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
      },
    ]);
  });

  it('lets a claim grow, in any unit, and leaves new and removed objects alone', () => {
    expect(immutableChanges([claim('standard', '20Gi')], [claim('standard', '30Gi')])).toEqual([]);
    expect(immutableChanges([claim('standard', '1Gi')], [claim('standard', '1100M')])).toEqual([]);
    expect(immutableChanges([claim('standard', '2Gi')], [claim('standard', '2000M')])).toHaveLength(
      1,
    );
    expect(immutableChanges([], [claim('fast-storage', '1Gi')])).toEqual([]);
    expect(immutableChanges([claim('fast-storage', '1Gi')], [])).toEqual([]);
  });

  it("finds a binding's roleRef, a workload's selector and a plain Job's template", () => {
    const binding = (role: string): KubeObject =>
      ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'b', namespace: 'n' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
        subjects: [],
      }) as KubeObject;
    const job = (image: string, annotations?: { [key: string]: string }): KubeObject =>
      ({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'j', namespace: 'n', ...(annotations ? { annotations } : {}) },
        spec: { template: { spec: { containers: [{ name: 'c', image }] } } },
      }) as KubeObject;
    const deployment = (app: string): KubeObject =>
      ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd', namespace: 'n' },
        spec: { selector: { matchLabels: { app } }, template: {} },
      }) as KubeObject;
    expect(
      immutableChanges(
        [binding('a'), job('x:1'), deployment('a')],
        [binding('b'), job('x:2'), deployment('b')],
      ).map((change) => `${change.object} ${change.field}`),
    ).toEqual(['RoleBinding n/b roleRef', 'Job n/j spec.template', 'Deployment n/d spec.selector']);
    // A hook runs anew on every sync; Replace=true,Force=true deletes and creates the object.
    expect(
      immutableChanges([job('x:1')], [job('x:2', { 'helm.sh/hook': 'post-install' })]),
    ).toEqual([]);
    expect(
      immutableChanges(
        [job('x:1')],
        [job('x:2', { 'argocd.argoproj.io/sync-options': 'Replace=true,Force=true' })],
      ),
    ).toEqual([]);
    expect(
      immutableChanges(
        [job('x:1')],
        [job('x:2', { 'argocd.argoproj.io/sync-options': 'Replace=true' })],
      ),
    ).toHaveLength(1);
  });

  it('compares objects, not the order of their keys', () => {
    const a = claim('standard', '1Gi');
    const b = {
      ...a,
      spec: {
        resources: { requests: { storage: '1Gi' } },
        storageClassName: 'standard',
        accessModes: ['ReadWriteOnce'],
      },
    } as KubeObject;
    expect(immutableChanges([a], [b])).toEqual([]);
  });
});

describe('quantityBytes', () => {
  it('reads binary, decimal and exponent quantities', () => {
    expect(quantityBytes('20Gi')).toBe(20 * 2 ** 30);
    expect(quantityBytes('500M')).toBe(5e8);
    expect(quantityBytes('1e3')).toBe(1000);
    expect(quantityBytes('1.5Ki')).toBe(1536);
    expect(quantityBytes('20 Gi')).toBeUndefined();
  });
});

describe('fieldOrigin', () => {
  const volume = ['components', 'applications', 'apps', 'paperless', 'volumes', 'data'];
  const origin = {
    path: volume,
    fields: {
      'spec.storageClassName': [...volume, 'tier'],
      'spec.resources.requests.storage': [...volume, 'size'],
      spec: [...volume, 'spec'],
    },
  };

  it("places a field at its own setting, else its closest listed parent's, else the object's", () => {
    expect(fieldOrigin(origin, 'spec.storageClassName')).toEqual([...volume, 'tier']);
    expect(fieldOrigin(origin, 'spec.resources.requests.storage')).toEqual([...volume, 'size']);
    expect(fieldOrigin(origin, 'spec.accessModes')).toEqual([...volume, 'spec']);
    expect(fieldOrigin(origin, 'metadata.labels')).toEqual(volume);
    expect(fieldOrigin({ path: volume }, 'spec.storageClassName')).toEqual(volume);
  });

  it('knows nothing of an object without an origin', () => {
    expect(fieldOrigin(undefined, 'spec.storageClassName')).toBeUndefined();
  });
});

describe('immutableChanges of a field the Application ignores', () => {
  // The upgrade of a platform whose claims were made before they named the populator: the last
  // build's claim has no dataSourceRef, the new one has.
  const before = claim('standard', '20Gi');
  const after = {
    ...before,
    spec: {
      ...(before.spec as object),
      dataSourceRef: {
        apiGroup: 'volsync.backube',
        kind: 'ReplicationDestination',
        name: 'data-bootstrap',
      },
    },
  } as KubeObject;
  const entry = {
    group: '',
    kind: 'PersistentVolumeClaim',
    name: 'data',
    namespace: 'paperless',
    jsonPointers: ['/spec/dataSource', '/spec/dataSourceRef'],
  };

  it('refuses the added dataSourceRef when nothing ignores it', () => {
    expect(immutableChanges([before], [after]).map((change) => change.field)).toEqual([
      'spec.dataSourceRef',
    ]);
  });

  it('leaves it when the Application ignores the field of that claim (Argo CD keeps the live value)', () => {
    expect(immutableChanges([before], [after], [entry])).toEqual([]);
    // a pointer to a parent covers it; a kind-wide entry too
    expect(immutableChanges([before], [after], [{ ...entry, jsonPointers: ['/spec'] }])).toEqual(
      [],
    );
    const { name: _, namespace: __, ...kindWide } = entry;
    expect(immutableChanges([before], [after], [kindWide])).toEqual([]);
  });

  it('still refuses it when the entry is for another claim, another kind, or another field', () => {
    for (const other of [
      { ...entry, name: 'db' },
      { ...entry, namespace: 'wiki' },
      { ...entry, kind: 'StatefulSet', group: 'apps' },
      { ...entry, jsonPointers: ['/spec/dataSourceRefs', '/metadata/labels'] },
    ]) {
      expect(immutableChanges([before], [after], [other]).map((c) => c.field)).toEqual([
        'spec.dataSourceRef',
      ]);
    }
  });

  it('ignores only the fields the entry names: a new class is still refused', () => {
    const moved = { ...after, spec: { ...(after.spec as object), storageClassName: 'fast' } };
    expect(immutableChanges([before], [moved as KubeObject], [entry]).map((c) => c.field)).toEqual([
      'spec.storageClassName',
    ]);
  });
});
