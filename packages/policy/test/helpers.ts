// Runs the real policy component (definitions from the one test factory, through the real
// validator) next to small test components shaped like the platform's, and reads back the
// templates and constraints of a cluster as Argo CD would apply them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AnyComponent,
  type ComponentsResult,
  type Issue,
  type KubeObject,
  mergeValues,
  parseYaml,
  type ResolvedPlatform,
  type Values,
} from '@homelab/core';
import {
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { policyComponent } from '../src/index.js';

/** The CNI every cluster needs (the policy component needs `cni`). */
export const cni = testComponent({
  name: 'net',
  provides: ['cni'],
  contribution: () => ({
    application: {
      namespace: 'kube-system',
      additionalNamespaces: ['net-secrets'],
      podSecurity: 'privileged',
      clusterResources: [],
    },
  }),
});

/** An application namespace (restricted), with a Secret the secrets provider fills. */
export const apps = testComponent({
  name: 'apps',
  needs: ['cni'],
  contribution: () => ({
    application: { namespace: 'apps', podSecurity: 'restricted', clusterResources: [] },
    secrets: [{ name: 'app-secret', namespace: 'apps', keys: ['password'] }],
  }),
});

/** A secrets provider whose operator reads its hand-made token in every namespace it fills. */
export const secrets = testComponent({
  name: 'vault',
  needs: ['cni'],
  provides: ['secrets'],
  contribution: () => ({
    application: { namespace: 'vault', podSecurity: 'restricted', clusterResources: [] },
    bootstrapSecrets: [
      {
        name: 'bw-auth-token',
        namespace: 'apps',
        keys: ['token'],
        description: "the operator's token",
        commands: ['kubectl -n apps create secret generic bw-auth-token'],
        forDeclaredSecrets: true,
      },
    ],
  }),
});

/** Storage that runs privileged and declares its host path. */
export const storage = testComponent({
  name: 'storage',
  needs: ['cni'],
  contribution: () => ({
    application: {
      namespace: 'longhorn-system',
      podSecurity: 'privileged',
      hostPaths: ['/var/lib/longhorn'],
      clusterAdminBindings: [{ name: 'storage-support', reason: 'its chart binds it, no switch' }],
      policyExemptions: [{ policy: 'required-labels', reason: 'its chart takes no labels' }],
      clusterResources: [],
    },
  }),
});

/** Prometheus and Alertmanager, which read monitors and AlertmanagerConfigs of every namespace. */
export const metrics = testComponent({
  name: 'metrics',
  needs: ['cni'],
  provides: ['metrics'],
  contribution: () => ({
    application: { namespace: 'monitoring', podSecurity: 'restricted', clusterResources: [] },
    facts: { metrics: { namespace: 'monitoring' } },
  }),
});

export const REGISTRY: readonly AnyComponent[] = [
  cni,
  apps,
  secrets,
  storage,
  metrics,
  policyComponent,
];

export interface PolicyRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  readonly issues: readonly Issue[];
  /** What charts/gatekeeper applies on a cluster (its layers merged). */
  objects(cluster: string): KubeObject[];
  templates(cluster: string): KubeObject[];
  constraints(cluster: string): KubeObject[];
  values(cluster: string): Values;
}

/** The reference clusters with `policy` settings. */
export function runPolicy(
  policy: Values = {},
  registry: readonly AnyComponent[] = REGISTRY,
): PolicyRun {
  const { platform, components } = testRun(
    testDefinition(testReferenceClusters(), { components: { policy } }),
    registry,
  );
  const chart = components.components.find((run) => run.component.name === 'policy')?.output.chart;
  if (chart === undefined) throw new Error('policy rendered no chart');
  const merged = (cluster: string): Values => {
    const resolved = platform.clusters.find((candidate) => candidate.name === cluster);
    if (resolved === undefined) throw new Error(`no cluster ${cluster}`);
    return mergeValues(
      chart.values,
      chart.environments[resolved.environment] ?? {},
      chart.clusters[cluster] ?? {},
    );
  };
  const objects = (cluster: string): KubeObject[] =>
    Object.values((merged(cluster).manifests ?? {}) as { [key: string]: KubeObject });
  return {
    platform,
    components,
    issues: components.issues,
    objects,
    templates: (cluster) => objects(cluster).filter((o) => o.kind === 'ConstraintTemplate'),
    constraints: (cluster) =>
      objects(cluster).filter((o) => o.apiVersion.startsWith('constraints.gatekeeper.sh/')),
    values: merged,
  };
}

const here = fileURLToPath(new URL('.', import.meta.url));

/** A corpus file's object (a violating one is `{ message, object }`, a compliant one the object). */
function readObject(path: string): KubeObject {
  const parsed = parseYaml(readFileSync(path, 'utf8')) as { object?: KubeObject };
  return (parsed.object ?? parsed) as KubeObject;
}

/** Both corpora: the violating objects (one folder per policy), then the compliant ones. */
export function corpusObjects(): KubeObject[] {
  return [
    ...readdirSync(join(here, 'corpus')).flatMap((policy) =>
      readdirSync(join(here, 'corpus', policy))
        .sort()
        .map((file) => readObject(join(here, 'corpus', policy, file))),
    ),
    ...readdirSync(join(here, 'corpus-compliant'))
      .sort()
      .map((file) => readObject(join(here, 'corpus-compliant', file))),
  ];
}
