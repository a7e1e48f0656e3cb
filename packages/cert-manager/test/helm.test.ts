// Layer 5: the real Helm renders charts/cert-manager with the vendored upstream chart and each
// cluster's value files; the rendered objects stay in cert-manager's namespace, every pod passes
// Pod Security `restricted`, every container has requests and a memory limit, disruption budgets
// never use minAvailable. Needs `helm` (HELM or PATH): without it the suite says "not run".
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  chartArchivePath,
  chartFiles,
  INITIAL_CHART_VERSION,
  parseAllDocuments,
  untar,
} from '@homelab/core';
import { testDefinition, testReferenceClusters, vendored } from '@homelab/core/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CERT_MANAGER_CHART } from '../src/versions.js';
import { type AnyJson, acme, must, runCertManager, SECRETS } from './helpers.js';

const HELM = process.env.HELM ?? 'helm';
const helmVersion = spawnSync(HELM, ['version', '--short'], { encoding: 'utf8' });
const hasHelm = helmVersion.status === 0;

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Volume types Pod Security `restricted` allows. */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** What a pod template breaks of Pod Security `restricted` (v1.34 rules). */
function restrictedViolations(pod: AnyJson): string[] {
  const out: string[] = [];
  const podContext = pod.securityContext ?? {};
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (pod[field] === true) out.push(field);
  }
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type === undefined || !RESTRICTED_VOLUMES.has(type))
      out.push(`volume ${volume.name}: ${type}`);
  }
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  for (const container of containers) {
    const context = container.securityContext ?? {};
    const where = `container ${container.name}`;
    if (context.privileged === true) out.push(`${where}: privileged`);
    if (context.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation`);
    const drop: string[] = context.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) out.push(`${where}: capabilities.drop ALL`);
    const add: string[] = context.capabilities?.add ?? [];
    if (add.some((capability) => capability !== 'NET_BIND_SERVICE'))
      out.push(`${where}: capabilities.add`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
      out.push(`${where}: runAsNonRoot`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = (context.seccompProfile ?? podContext.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      out.push(`${where}: seccompProfile`);
    for (const port of container.ports ?? []) {
      if (port.hostPort !== undefined) out.push(`${where}: hostPort ${port.hostPort}`);
    }
  }
  return out;
}

/** Writes the chart with its upstream dependency unpacked (as `helm dependency build` leaves it). */
function writeChart(definition: AnyJson): { dir: string; clusters: AnyJson[] } {
  const { chart, components } = runCertManager(definition, [SECRETS]);
  const root = mkdtempSync(join(tmpdir(), 'homelab-cert-manager-'));
  scratch.push(root);
  for (const file of chartFiles(chart, INITIAL_CHART_VERSION).files) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
  const dir = join(root, 'charts/cert-manager');
  const archive = readFileSync(
    vendored(chartArchivePath(CERT_MANAGER_CHART.name, CERT_MANAGER_CHART.version)),
  );
  for (const entry of untar(gunzipSync(archive))) {
    const path = join(dir, 'charts', entry.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, entry.data);
  }
  return { dir, clusters: components.clusters.map((run) => run.cluster) };
}

function template(dir: string, cluster: AnyJson): AnyJson[] {
  const result = spawnSync(
    HELM,
    [
      'template',
      'cert-manager',
      dir,
      '--namespace',
      'cert-manager',
      '--kube-version',
      cluster.kubernetesVersion,
      '-f',
      join(dir, `env/${cluster.environment}.yaml`),
      '-f',
      join(dir, `clusters/${cluster.name}.yaml`),
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).filter((doc) => doc !== null) as AnyJson[];
}

const fleets = [
  { name: 'private CA', definition: testDefinition(testReferenceClusters()) },
  {
    name: 'ACME',
    definition: testDefinition(testReferenceClusters(), {
      platform: { name: 'homelab', domain: 'homelab.dev' },
      components: { 'cert-manager': { issuer: acme('cloudflare') } },
    }),
  },
];

describe.skipIf(!hasHelm).each(fleets)(
  'real Helm: charts/cert-manager with $name',
  ({ definition }) => {
    // Rendered once, before the tests (a skipped suite renders nothing).
    const rendered = new Map<string, AnyJson[]>();
    let declared: ReturnType<typeof runCertManager>['declared'] = {};
    beforeAll(() => {
      const { dir, clusters } = writeChart(definition);
      for (const cluster of clusters) rendered.set(cluster.name, template(dir, cluster));
      declared = runCertManager(definition, [SECRETS]).declared;
    });

    test.each(['dev', 'staging', 'prod'])(
      '%s: everything namespaced stays in cert-manager',
      (name) => {
        const objects = must(rendered.get(name), name);
        const namespaces = new Set(
          objects
            .filter((o) => o.metadata.namespace !== undefined)
            .map((o) => o.metadata.namespace),
        );
        expect([...namespaces]).toEqual(['cert-manager']);
      },
    );

    test.each(['dev', 'staging', 'prod'])(
      '%s: cluster-scoped kinds are the ones the Application declares',
      (name) => {
        const objects = must(rendered.get(name), name);
        const declaredKinds = new Set(
          must(declared[name]?.application, 'application').clusterResources.map(
            (kind) => `${kind.group}/${kind.kind}`,
          ),
        );
        const clusterScoped = objects
          .filter((o) => o.metadata.namespace === undefined)
          .map((o) => `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}`);
        expect(clusterScoped.filter((kind) => !declaredKinds.has(kind))).toEqual([]);
        const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
        expect(crds.map((o) => o.metadata.annotations?.['helm.sh/resource-policy'])).toEqual(
          Array(6).fill('keep'),
        );
      },
    );

    test.each(['dev', 'staging', 'prod'])(
      '%s: every pod passes Pod Security restricted, with requests and a memory limit',
      (name) => {
        const objects = must(rendered.get(name), name);
        const pods = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
        expect(pods.map((o) => o.metadata.name).sort()).toEqual([
          'cert-manager',
          'cert-manager-cainjector',
          'cert-manager-startupapicheck',
          'cert-manager-webhook',
        ]);
        for (const workload of pods) {
          const pod = workload.spec.template.spec;
          expect([workload.metadata.name, restrictedViolations(pod)]).toEqual([
            workload.metadata.name,
            [],
          ]);
          for (const container of pod.containers) {
            expect(container.resources?.requests?.cpu).toMatch(/^\d+m$/);
            expect(container.resources?.requests?.memory).toMatch(/^\d+Mi$/);
            expect(container.resources?.limits?.memory).toMatch(/^\d+Mi$/);
          }
        }
      },
    );

    test('replicas and disruption budgets follow the environment', () => {
      const replicas = (name: string) =>
        must(rendered.get(name), name)
          .filter((o) => o.kind === 'Deployment')
          .map((o) => o.spec.replicas);
      expect(replicas('dev')).toEqual([1, 1, 1]);
      expect(replicas('staging')).toEqual([2, 2, 2]);
      expect(replicas('prod')).toEqual([3, 3, 3]);
      const budgets = must(rendered.get('prod'), 'prod').filter(
        (o) => o.kind === 'PodDisruptionBudget',
      );
      expect(budgets.map((o) => o.spec)).toEqual(
        budgets.map((o) => ({ selector: o.spec.selector, maxUnavailable: 1 })),
      );
      expect(budgets).toHaveLength(3);
      expect(must(rendered.get('dev'), 'dev').some((o) => o.kind === 'PodDisruptionBudget')).toBe(
        false,
      );
    });
  },
);

if (!hasHelm) {
  describe('real Helm', () => {
    test.skip(`not run: no helm (${HELM}) on PATH; set HELM to a Helm v3 binary`, () => {});
  });
}

describe('the Pod Security check can fail', () => {
  test('a privileged, root, host-network pod breaks restricted', () => {
    expect(
      restrictedViolations({
        hostNetwork: true,
        volumes: [{ name: 'root', hostPath: { path: '/' } }],
        containers: [{ name: 'c', securityContext: { privileged: true, runAsUser: 0 } }],
      }),
    ).toEqual([
      'hostNetwork',
      'volume root: hostPath',
      'container c: privileged',
      'container c: allowPrivilegeEscalation',
      'container c: capabilities.drop ALL',
      'container c: runAsNonRoot',
      'container c: runAsUser 0',
      'container c: seccompProfile',
    ]);
  });
});
