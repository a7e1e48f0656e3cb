import { describe, expect, it } from 'vitest';
import type { ClusterRun } from './components.js';
import { exposuresOf, servicesNotExposed } from './exposure.js';
import { resolvePlatform } from './resolve.js';
import { CORE_CHECKS, type DeployedApplication, type SystemInput } from './system.js';
import { testCluster, testDefinition } from './testing-factory.js';
import type { JsonValue, KubeObject } from './types.js';

const platform = resolvePlatform(testDefinition([testCluster('dev', 'development', 1)]));
const cluster = platform.clusters[0] as (typeof platform.clusters)[number];

function deployed(name: string, objects: KubeObject[]): SystemInput {
  const app: DeployedApplication = {
    name,
    component: name,
    bundle: undefined,
    wave: 5,
    namespace: 'longhorn-system',
    application: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: `dev-${name}`, namespace: 'argocd' },
    },
    objects: objects.map((object) => ({
      object,
      source: `charts/${name}/values.yaml#manifests.${object.metadata.name}`,
    })),
    installs: [],
    critical: false,
    origin: ['clusters', 0, 'components', name],
  };
  return {
    platform,
    clusters: [{ cluster, run: {} as ClusterRun, applications: [app] }],
    files: [],
  };
}

function service(spec: { [key: string]: JsonValue }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'longhorn-frontend', namespace: 'longhorn-system' },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8000 }], ...spec },
  };
}

function deployment(pod: { [key: string]: JsonValue }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'ui', namespace: 'longhorn-system' },
    spec: { template: { metadata: {}, spec: pod } },
  };
}

const container = (ports: JsonValue[]): JsonValue => ({ name: 'ui', image: 'ui:1', ports });

describe('services-not-exposed', () => {
  it('is one of the checks core runs', () => {
    expect(CORE_CHECKS).toContain(servicesNotExposed);
  });

  it('lets ClusterIP Services, headless ones and container ports through', () => {
    const objects = [
      service({}),
      service({ type: 'ClusterIP' }),
      service({ clusterIP: 'None' }),
      deployment({ containers: [container([{ containerPort: 8000 }])] }),
      // A host-network pod listens on the node anyway: its hostPort only declares the port.
      deployment({
        hostNetwork: true,
        containers: [container([{ containerPort: 9100, hostPort: 9100 }])],
      }),
    ];
    expect(servicesNotExposed.check(deployed('longhorn', objects))).toEqual([]);
  });

  it("refuses a LoadBalancer Service (Longhorn's UI, which has no login, on the LAN)", () => {
    const issues = servicesNotExposed.check(
      deployed('longhorn', [service({ type: 'LoadBalancer' })]),
    );
    expect(issues.map((issue) => [issue.code, issue.severity, issue.value, issue.output])).toEqual([
      [
        'services-not-exposed',
        'error',
        ['type: LoadBalancer (ports 80)'],
        'charts/longhorn/values.yaml#manifests.longhorn-frontend (Service longhorn-system/longhorn-frontend)',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'longhorn opens Service longhorn-system/longhorn-frontend on cluster "dev" to the LAN beside the platform Gateway (type: LoadBalancer (ports 80)): whatever it serves is reached without the Gateway\'s TLS and without Authelia',
    );
    expect(issues[0]?.path).toEqual(['clusters', 0, 'components', 'longhorn']);
  });

  it('refuses NodePort Services, externalIPs and a hostPort off the host network', () => {
    expect(exposuresOf(service({ type: 'NodePort' }))).toEqual(['type: NodePort (ports 80)']);
    expect(exposuresOf(service({ externalIPs: ['10.10.10.50'] }))).toEqual([
      'externalIPs: 10.10.10.50',
    ]);
    expect(
      exposuresOf(
        deployment({
          initContainers: [container([])],
          containers: [container([{ containerPort: 8000, hostPort: 8080 }])],
        }),
      ),
    ).toEqual(['container ui: hostPort 8080']);
    const cronJob: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'job', namespace: 'longhorn-system' },
      spec: {
        jobTemplate: {
          spec: { template: { spec: { containers: [container([{ hostPort: 9000 }])] } } },
        },
      },
    };
    expect(exposuresOf(cronJob)).toEqual(['container ui: hostPort 9000']);
    const issues = servicesNotExposed.check(
      deployed('longhorn', [service({ type: 'NodePort' }), cronJob]),
    );
    expect(issues.map((issue) => issue.value)).toEqual([
      ['type: NodePort (ports 80)'],
      ['container ui: hostPort 9000'],
    ]);
  });
});
