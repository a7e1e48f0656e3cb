// `longhorn-class-parameters-changed`: a Longhorn StorageClass whose parameters change against
// the last build's, on classes made here (the pipeline hands the component both sides:
// packages/cli/test/change-checks.test.ts runs it on the reference).
import type { ChangedObject, KubeObject, ResolvedCluster } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { classParametersCheck, longhornChanges, taintTolerationCheck } from '../src/changes.js';
import { longhornComponent } from '../src/index.js';

/** No upstream chart values: these checks read the objects alone. */
const NO_VALUES = { beforeValues: new Map(), afterValues: new Map() };

const cluster = { name: 'prod', index: 2 } as unknown as ResolvedCluster;

function storageClass(
  name: string,
  parameters: { [key: string]: string },
  provisioner = 'driver.longhorn.io',
): ChangedObject {
  const object: KubeObject = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
    parameters,
  };
  return { chart: 'longhorn', object };
}

const BASE = {
  numberOfReplicas: '3',
  dataLocality: 'disabled',
  diskSelector: 'standard',
  staleReplicaTimeout: '30',
  fsType: 'ext4',
  recurringJobSelector: '[{"name":"standard","isGroup":true}]',
};

describe('longhorn-class-parameters-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(longhornComponent.changes).toBe(longhornChanges);
    expect(longhornChanges.map((check) => check.name)).toEqual([
      'longhorn-class-parameters-changed',
      'longhorn-taint-toleration-changed',
    ]);
  });

  it('warns at the tier with a patch of every volume of the class for the fields a volume takes', () => {
    const issues = classParametersCheck.check({
      ...NO_VALUES,
      cluster,
      before: [storageClass('standard', BASE)],
      after: [
        storageClass('standard', {
          ...BASE,
          numberOfReplicas: '2',
          diskSelector: 'standard,ssd',
          staleReplicaTimeout: '60',
        }),
      ],
    });
    expect(
      issues.map((issue) => [issue.severity, issue.code, issue.value, issue.output, issue.path]),
    ).toEqual([
      [
        'warning',
        'longhorn-class-parameters-changed',
        'standard',
        'charts/longhorn',
        ['clusters', 2, 'components', 'longhorn', 'tiers', 'standard'],
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'changes the parameters of StorageClass standard on cluster "prod" from what the last build deployed (diskSelector "standard" → "standard,ssd", numberOfReplicas "3" → "2", staleReplicaTimeout "30" → "60"): a Longhorn volume takes them once, when it is made, so the volumes of the class keep the old values (3 replicas each: where fewer storage nodes have a disk of the tier now, they stay degraded for good)',
    );
    // The patch names the fields as the volume resource types them: a list, numbers.
    expect(issues[0]?.expected).toBe(
      `give the volumes already made the new values once Argo CD synced the class: \`kubectl get pv -o jsonpath='{range .items[?(@.spec.storageClassName=="standard")]}{.spec.csi.volumeHandle}{"\\n"}{end}' | while read -r volume; do kubectl -n longhorn-system patch volumes.longhorn.io "$volume" --type merge -p '{"spec":{"diskSelector":["standard","ssd"],"numberOfReplicas":2,"staleReplicaTimeout":60}}'; done\``,
    );
  });

  it('says which parameters only new volumes take, and when Longhorn refuses the locality patch', () => {
    const [kept] = classParametersCheck.check({
      ...NO_VALUES,
      cluster,
      before: [storageClass('archive', BASE)],
      after: [storageClass('archive', { ...BASE, fsType: 'xfs', numberOfReplicas: '4' })],
    });
    expect(kept?.message).toContain('(3 replicas each, fewer than the tier asks for now)');
    expect(kept?.expected).toContain('"numberOfReplicas":4');
    expect(kept?.expected).toContain(
      'fsType applies to new volumes only: an existing volume keeps its value until it is moved to a new claim',
    );
    const [local] = classParametersCheck.check({
      ...NO_VALUES,
      cluster,
      before: [
        storageClass('fast', { ...BASE, numberOfReplicas: '1', dataLocality: 'best-effort' }),
      ],
      after: [
        storageClass('fast', { ...BASE, numberOfReplicas: '1', dataLocality: 'strict-local' }),
      ],
    });
    expect(local?.expected).toContain('"dataLocality":"strict-local"');
    expect(local?.expected).toContain(
      'Longhorn refuses a move to or from strict-local while a volume is attached',
    );
  });

  it('says nothing of the same parameters, a new class, another provisioner, or the recurring jobs (the claims carry them)', () => {
    const same = [storageClass('standard', BASE)];
    expect(
      classParametersCheck.check({
        ...NO_VALUES,
        cluster,
        before: same,
        after: same,
      }),
    ).toEqual([]);
    expect(
      classParametersCheck.check({
        ...NO_VALUES,
        cluster,
        before: [],
        after: same,
      }),
    ).toEqual([]);
    expect(
      classParametersCheck.check({
        ...NO_VALUES,
        cluster,
        before: [storageClass('local', { a: '1' }, 'rancher.io/local-path')],
        after: [storageClass('local', { a: '2' }, 'rancher.io/local-path')],
      }),
    ).toEqual([]);
    expect(
      classParametersCheck.check({
        ...NO_VALUES,
        cluster,
        before: same,
        after: [storageClass('standard', { ...BASE, recurringJobSelector: '[]' })],
      }),
    ).toEqual([]);
  });
});

describe('longhorn-taint-toleration-changed', () => {
  const values = (taintToleration?: string) =>
    new Map([
      [
        'longhorn',
        {
          longhorn: {
            defaultSettings: {
              defaultDataPath: '/var/lib/longhorn/',
              ...(taintToleration === undefined ? {} : { taintToleration }),
            },
          },
        },
      ],
    ]);
  const run = (before?: string, after?: string) =>
    taintTolerationCheck.check({
      cluster,
      before: [],
      after: [],
      beforeValues: values(before),
      afterValues: values(after),
    });

  it('warns at the component when a storage node gains a taint, naming both values and the detach Longhorn waits for', () => {
    const issues = run(undefined, 'storage=dedicated:NoSchedule');
    expect(
      issues.map((issue) => [issue.severity, issue.code, issue.path, issue.output, issue.value]),
    ).toEqual([
      [
        'warning',
        'longhorn-taint-toleration-changed',
        ['clusters', 2, 'components', 'longhorn'],
        'charts/longhorn',
        'storage=dedicated:NoSchedule',
      ],
    ]);
    expect(issues[0]?.message).toContain('taint-toleration "" → "storage=dedicated:NoSchedule"');
    expect(issues[0]?.message).toContain('only while every volume is detached');
    expect(issues[0]?.expected).toContain('kubectl -n longhorn-system get volumes.longhorn.io');
    // A taint gone, or one more
    expect(run('storage=dedicated:NoSchedule', undefined).map((issue) => issue.value)).toEqual([
      '',
    ]);
    expect(
      run('a=b:NoSchedule', 'a=b:NoSchedule;node-role.kubernetes.io/control-plane:NoSchedule'),
    ).toHaveLength(1);
  });

  it('says nothing for the same toleration, or without a last build of the chart', () => {
    expect(run('a=b:NoSchedule', 'a=b:NoSchedule')).toEqual([]);
    expect(run(undefined, undefined)).toEqual([]);
    expect(
      taintTolerationCheck.check({
        cluster,
        before: [],
        after: [],
        beforeValues: new Map(),
        afterValues: values('a=b:NoSchedule'),
      }),
    ).toEqual([]);
  });
});
