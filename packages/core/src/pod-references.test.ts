import { describe, expect, it } from 'vitest';
import {
  builtInObjects,
  existingObjectOf,
  missingEffect,
  podReferences,
  unresolvedPodReferences,
  unresolvedProbePorts,
} from './pod-references.js';

const deployment = (pod: Record<string, unknown>, namespace?: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', ...(namespace === undefined ? {} : { namespace }) },
  spec: { template: { metadata: {}, spec: { containers: [{ name: 'web' }], ...pod } } },
});

describe('podReferences', () => {
  it('reads every object a pod names, where it names it, and leaves optional ones out', () => {
    const object = deployment({
      serviceAccountName: 'web',
      priorityClassName: 'high',
      runtimeClassName: 'gvisor',
      volumes: [
        { name: 'a', configMap: { name: 'config', items: [{ key: 'a.yaml', path: 'a.yaml' }] } },
        { name: 'b', secret: { secretName: 'tls' } },
        { name: 'c', secret: { secretName: 'maybe', optional: true } },
        { name: 'd', persistentVolumeClaim: { claimName: 'data' } },
        {
          name: 'e',
          projected: {
            sources: [
              { secret: { name: 'relay', items: [{ key: 'ca.crt' }, { key: 'tls.crt' }] } },
              { configMap: { name: 'bundle', optional: true } },
              { serviceAccountToken: { path: 'token' } },
            ],
          },
        },
        { name: 'f', emptyDir: {} },
      ],
      initContainers: [
        {
          name: 'init',
          envFrom: [
            { configMapRef: { name: 'env' } },
            { secretRef: { name: 'o', optional: true } },
          ],
        },
      ],
      containers: [
        {
          name: 'web',
          env: [
            { name: 'A', value: 'x' },
            { name: 'B', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
            {
              name: 'C',
              valueFrom: { configMapKeyRef: { name: 'config', key: 'level', optional: true } },
            },
            { name: 'D', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
        },
      ],
    });
    expect(podReferences(object, 'apps')).toEqual([
      { kind: 'ServiceAccount', namespace: 'apps', name: 'web', path: 'serviceAccountName' },
      { kind: 'PriorityClass', namespace: '', name: 'high', path: 'priorityClassName' },
      { kind: 'RuntimeClass', namespace: '', name: 'gvisor', path: 'runtimeClassName' },
      {
        kind: 'ConfigMap',
        namespace: 'apps',
        name: 'config',
        path: 'volumes[0].configMap',
        key: 'a.yaml',
      },
      { kind: 'Secret', namespace: 'apps', name: 'tls', path: 'volumes[1].secret' },
      {
        kind: 'PersistentVolumeClaim',
        namespace: 'apps',
        name: 'data',
        path: 'volumes[3].persistentVolumeClaim',
      },
      {
        kind: 'Secret',
        namespace: 'apps',
        name: 'relay',
        path: 'volumes[4].projected.sources[0].secret',
        key: 'ca.crt',
      },
      {
        kind: 'Secret',
        namespace: 'apps',
        name: 'relay',
        path: 'volumes[4].projected.sources[0].secret',
        key: 'tls.crt',
      },
      {
        kind: 'ConfigMap',
        namespace: 'apps',
        name: 'env',
        path: 'initContainers[0].envFrom[0].configMapRef',
      },
      {
        kind: 'Secret',
        namespace: 'apps',
        name: 'creds',
        path: 'containers[0].env[1].valueFrom.secretKeyRef',
        key: 'password',
      },
    ]);
  });

  it('reads the pod of every workload kind, the deprecated serviceAccount too, and nothing of other kinds', () => {
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly' },
      spec: {
        jobTemplate: { spec: { template: { spec: { serviceAccount: 'old', containers: [] } } } },
      },
    };
    expect(podReferences(cronJob, 'ops')).toEqual([
      { kind: 'ServiceAccount', namespace: 'ops', name: 'old', path: 'serviceAccount' },
    ]);
    expect(
      podReferences({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'ops'),
    ).toEqual([]);
  });
});

describe('unresolvedPodReferences', () => {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: 'apps' },
    stringData: { password: 'x' },
  };

  it('resolves against rendered objects and the built-in ones, in the namespace the workload goes to', () => {
    const web = deployment(
      {
        serviceAccountName: 'default',
        priorityClassName: 'system-cluster-critical',
        volumes: [
          { name: 'ca', configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt' }] } },
        ],
        containers: [
          {
            name: 'web',
            env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
          },
        ],
      },
      'apps',
    );
    const existing = [...builtInObjects(['apps']), existingObjectOf(secret, 'elsewhere')].filter(
      (object) => object !== undefined,
    );
    expect(unresolvedPodReferences([{ namespace: 'default', object: web }], existing)).toEqual([]);
    // The same workload applied into another namespace finds none of the namespaced ones there.
    const moved = deployment({
      serviceAccountName: 'default',
      containers: [{ name: 'web', envFrom: [{ secretRef: { name: 'creds' } }] }],
    });
    expect(
      unresolvedPodReferences([{ namespace: 'other', object: moved }], existing).map(
        ({ problem }) => problem,
      ),
    ).toEqual(['no Secret other/creds', 'no ServiceAccount other/default']); // by path
  });

  it('reports a missing object once per place, a missing key per key, and any key of an object whose keys are unknown', () => {
    const web = deployment(
      {
        volumes: [
          {
            name: 'relay',
            secret: { secretName: 'relay', items: [{ key: 'ca.crt' }, { key: 'tls.crt' }] },
          },
          {
            name: 'creds',
            secret: { secretName: 'creds', items: [{ key: 'password' }, { key: 'token' }] },
          },
          { name: 'made', secret: { secretName: 'made', items: [{ key: 'anything' }] } },
        ],
      },
      'apps',
    );
    const existing = [
      existingObjectOf(secret, 'apps'),
      { kind: 'Secret' as const, namespace: 'apps', name: 'made' },
    ].filter((object) => object !== undefined);
    const found = unresolvedPodReferences([{ namespace: 'apps', object: web }], existing);
    expect(
      found.map(({ workload, reference, problem }) => `${workload} ${reference.path}: ${problem}`),
    ).toEqual([
      'Deployment apps/web volumes[0].secret: no Secret apps/relay',
      'Deployment apps/web volumes[1].secret: Secret apps/creds has no key "token"',
    ]);
    expect(missingEffect(found[0]?.reference as never)).toBe(
      'the kubelet cannot mount the volume: the pod stays in ContainerCreating (FailedMount)',
    );
  });

  it('says what each missing kind does to the pod', () => {
    const at = (kind: never, path: string) =>
      missingEffect({ kind, namespace: 'a', name: 'b', path });
    expect(at('ServiceAccount' as never, 'serviceAccountName')).toContain(
      'ServiceAccount admission',
    );
    expect(at('PriorityClass' as never, 'priorityClassName')).toContain(
      'no PriorityClass with name',
    );
    expect(at('PersistentVolumeClaim' as never, 'volumes[0].persistentVolumeClaim')).toBe(
      'the scheduler leaves the pod Pending',
    );
    expect(at('Secret' as never, 'containers[0].env[0].valueFrom.secretKeyRef')).toBe(
      'the kubelet does not start the container (CreateContainerConfigError)',
    );
  });
});

describe('a file mounted alone from a ConfigMap or Secret volume', () => {
  it('reads the key a subPath names, of a whole volume only, and finds it missing (the kubelet makes a directory there)', () => {
    const object = deployment(
      {
        volumes: [
          { name: 'config', configMap: { name: 'app' } },
          {
            name: 'picked',
            configMap: { name: 'app', items: [{ key: 'a.yaml', path: 'b.yaml' }] },
          },
          { name: 'tls', secret: { secretName: 'tls' } },
        ],
        containers: [
          {
            name: 'web',
            volumeMounts: [
              { name: 'config', mountPath: '/etc/app/app.yaml', subPath: 'app.yaml' },
              { name: 'config', mountPath: '/etc/app/other.yaml', subPath: 'other.yaml' },
              { name: 'picked', mountPath: '/etc/app/b.yaml', subPath: 'b.yaml' },
              { name: 'tls', mountPath: '/tls/tls.crt', subPath: 'tls.crt' },
              { name: 'config', mountPath: '/etc/app' },
            ],
          },
        ],
      },
      'apps',
    );
    expect(
      podReferences(object, 'apps')
        .filter(({ path }) => path.endsWith('.subPath'))
        .map(({ kind, name, key, path }) => `${path}: ${kind} ${name} ${key}`),
    ).toEqual([
      'containers[0].volumeMounts[0].subPath: ConfigMap app app.yaml',
      'containers[0].volumeMounts[1].subPath: ConfigMap app other.yaml',
      'containers[0].volumeMounts[3].subPath: Secret tls tls.crt',
    ]);
    const existing = [
      { kind: 'ConfigMap' as const, namespace: 'apps', name: 'app', keys: ['app.yaml', 'a.yaml'] },
      { kind: 'Secret' as const, namespace: 'apps', name: 'tls' },
    ];
    const found = unresolvedPodReferences([{ namespace: 'apps', object }], existing);
    expect(found.map(({ reference, problem }) => `${reference.path}: ${problem}`)).toEqual([
      'containers[0].volumeMounts[1].subPath: ConfigMap apps/app has no key "other.yaml"',
    ]);
    expect(missingEffect(found[0]?.reference as never)).toBe(
      'the kubelet mounts an empty directory where the container expects the file',
    );
  });
});

describe('existingObjectOf', () => {
  it('gives ConfigMaps and Secrets their keys, cluster-scoped kinds no namespace, and other kinds nothing', () => {
    expect(
      existingObjectOf(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'c' },
          data: { a: '1' },
          binaryData: { b: 'AA==' },
        },
        'ns',
      ),
    ).toEqual({ kind: 'ConfigMap', namespace: 'ns', name: 'c', keys: ['a', 'b'] });
    expect(
      existingObjectOf(
        { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'p' } },
        'ns',
      ),
    ).toEqual({ kind: 'PriorityClass', namespace: '', name: 'p' });
    expect(
      existingObjectOf(
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } },
        'ns',
      ),
    ).toBe(undefined);
    // A kind of that name in another group is not the core one.
    expect(
      existingObjectOf(
        { apiVersion: 'talos.dev/v1alpha1', kind: 'ServiceAccount', metadata: { name: 's' } },
        'ns',
      ),
    ).toBe(undefined);
  });
});

describe('unresolvedProbePorts', () => {
  it('finds a probe or hook port by a name its own container does not declare, and accepts declared names and numbers', () => {
    const object = deployment(
      {
        initContainers: [
          {
            name: 'sidecar',
            restartPolicy: 'Always',
            ports: [{ name: 'proxy', containerPort: 15000 }],
            readinessProbe: { tcpSocket: { port: 'proxy' } },
          },
        ],
        containers: [
          {
            name: 'web',
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
            livenessProbe: { httpGet: { path: '/live', port: 'metrics' } },
            startupProbe: { tcpSocket: { port: '8080' } },
            lifecycle: { preStop: { httpGet: { path: '/stop', port: 'proxy' } } },
          },
          {
            name: 'other',
            readinessProbe: { grpc: { port: 9000 } },
            livenessProbe: { httpGet: { port: 9000 } },
          },
        ],
      },
      'apps',
    );
    expect(unresolvedProbePorts(object, 'default')).toEqual([
      {
        workload: 'Deployment apps/web',
        path: 'containers[0].livenessProbe.httpGet.port',
        port: 'metrics',
        effect: 'the kubelet restarts the container after every failureThreshold probes',
      },
      // The sidecar's `proxy` is not the web container's: a name resolves in its own container.
      {
        workload: 'Deployment apps/web',
        path: 'containers[0].lifecycle.preStop.httpGet.port',
        port: 'proxy',
        effect: 'the hook fails on every stop (FailedPreStopHook)',
      },
    ]);
    expect(
      unresolvedProbePorts({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }, 'a'),
    ).toEqual([]);
  });
});
