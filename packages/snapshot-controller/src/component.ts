// @homelab/snapshot-controller: the CSI snapshot controller. Provides `volume-snapshots`: the
// external-snapshotter CRDs (their own Application, before the controller), the controller, and a
// VolumeSnapshotClass for the CSI driver of the storage provider (from its facts). Pure.
import {
  type ChartSpec,
  type Component,
  type ComponentOutput,
  type CrdBundle,
  checkHaInvariants,
  type Declaration,
  type DeclareInput,
  ENVIRONMENTS,
  type EnvironmentName,
  handOverApply,
  haPlan,
  type Issue,
  type KubeObject,
  type RenderInput,
  type Values,
  warning,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { SnapshotControllerSettings } from './generated/settings.js';
import { snapshotValidators } from './validators.js';
import {
  EXTERNAL_SNAPSHOTTER_REPOSITORY,
  EXTERNAL_SNAPSHOTTER_VERSIONS,
  SNAPSHOT_CONTROLLER_CHART_VERSION,
  SNAPSHOT_CONTROLLER_REPOSITORY,
  SNAPSHOT_CONTROLLER_UPSTREAM,
  SNAPSHOT_CRD_FILES,
  type SnapshotControllerVersion,
} from './versions.js';

type Settings = SnapshotControllerSettings;

export const SNAPSHOT_NAMESPACE = 'snapshot-controller';
const CHART = 'snapshot-controller';
const DEFAULT_CLASS = 'longhorn-snapshot';
const SELECTOR = {
  'app.kubernetes.io/instance': CHART,
  'app.kubernetes.io/name': CHART,
};

/** Application name of the CRD bundle. */
export const SNAPSHOT_CRDS = 'volume-snapshot-crds';

function version(settings: Settings): SnapshotControllerVersion {
  return settings.version ?? SNAPSHOT_CONTROLLER_CHART_VERSION;
}

function crdBundle(tag: string): CrdBundle {
  const raw = `https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/${tag}/client/config/crd`;
  return {
    name: SNAPSHOT_CRDS,
    description: `CSI volume snapshot CRDs (external-snapshotter ${tag})`,
    version: tag,
    source: {
      repoURL: EXTERNAL_SNAPSHOTTER_REPOSITORY,
      path: 'client/config/crd',
      targetRevision: tag,
      // A directory source (its kustomization.yaml lists only the snapshot CRDs; the controller
      // also watches the group-snapshot kinds, its CSIVolumeGroupSnapshot gate being on).
      directory: {
        recurse: false,
        include:
          '{snapshot.storage.k8s.io_volumesnapshot*.yaml,groupsnapshot.storage.k8s.io_*.yaml}',
      },
    },
    kinds: [
      ...['VolumeSnapshot', 'VolumeSnapshotClass', 'VolumeSnapshotContent'].map((kind) => ({
        group: 'snapshot.storage.k8s.io',
        kind,
      })),
      ...['VolumeGroupSnapshot', 'VolumeGroupSnapshotClass', 'VolumeGroupSnapshotContent'].map(
        (kind) => ({ group: 'groupsnapshot.storage.k8s.io', kind }),
      ),
    ],
    clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
    install: SNAPSHOT_CRD_FILES.map((name) => handOverApply(`${raw}/${name}.yaml`)),
  };
}

function snapshotClassName(settings: Settings): string {
  return settings.snapshotClass ?? DEFAULT_CLASS;
}

function declare(input: DeclareInput<Settings>): Declaration {
  const storage = input.provided.storage;
  const issues: Issue[] = [];
  const tag = EXTERNAL_SNAPSHOTTER_VERSIONS[version(input.settings)];
  if (storage?.csiDriver === undefined) {
    issues.push(
      warning({
        code: 'snapshot-class',
        path: input.path(),
        message: `no storage provider on cluster "${input.cluster.name}" names its CSI driver: there is no VolumeSnapshotClass, and nothing can take CSI snapshots`,
        expected: 'a component that provides "storage" with its csiDriver',
      }),
    );
  }
  return {
    application: {
      namespace: SNAPSHOT_NAMESPACE,
      podSecurity: 'restricted',
      // The Helm suite checks every image the chart renders is here.
      imageRepositories: {
        [SNAPSHOT_NAMESPACE]: ['registry.k8s.io/sig-storage/snapshot-controller'],
      },
      // Chart 5.2.0 puts its fixed labels on the Deployment (podLabels reach the pods only).
      policyExemptions: [
        {
          policy: 'required-labels',
          reason:
            'chart 5.2.0 takes no labels for its Deployment (controller.podLabels reach the pods only)',
        },
      ],
      installs: [],
      clusterResources: [
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
        { group: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshotClass' },
      ],
      // What the upstream chart renders with our values (the project allows exactly these).
      namespacedResources: [
        { group: '', kind: 'ServiceAccount' },
        { group: 'apps', kind: 'Deployment' },
        { group: 'rbac.authorization.k8s.io', kind: 'Role' },
        { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
        ...(input.cluster.profile.podDisruptionBudget
          ? [{ group: 'policy', kind: 'PodDisruptionBudget' }]
          : []),
      ],
    },
    crds: [crdBundle(tag)],
    // The controller (chart 5.2.0 with its conversion webhook off, below: one Deployment) watches
    // snapshots and volumes through the API server; its health and metrics endpoint (8080) only
    // the kubelet's probes use (no monitor scrapes it).
    flows: [
      {
        name: 'controller-apiserver',
        direction: 'egress',
        namespace: SNAPSHOT_NAMESPACE,
        selector: { 'app.kubernetes.io/name': 'snapshot-controller' },
        peer: { kind: 'kube-apiserver' },
        ports: [{ port: 6443, protocol: 'TCP' }],
        reason: 'the controller binds VolumeSnapshots to their contents and takes group snapshots',
      },
    ],
    // Watched through kube-state-metrics: the controller exposes no metrics of its own.
    monitors: [
      {
        name: 'snapshot-controller',
        namespace: SNAPSHOT_NAMESPACE,
        rules: [
          {
            alert: 'SnapshotControllerUnavailable',
            // absent(… >= 1), not sum(…) < 1: with the Deployment gone there is no series to
            // sum, and the sum would be empty rather than 0 (monitoring refuses that form).
            expr: `absent(kube_deployment_status_replicas_available{namespace="${SNAPSHOT_NAMESPACE}"} >= 1)`,
            for: { development: '30m', staging: '15m', production: '10m' },
            severity: 'warning',
            summary:
              'No CSI snapshot controller runs: VolumeSnapshots (and the backups taken from them) stay pending.',
          },
        ],
      },
    ],
    ...(storage?.csiDriver === undefined
      ? {}
      : { facts: { 'volume-snapshots': { snapshotClass: snapshotClassName(input.settings) } } }),
    issues,
  };
}

/**
 * The controller's requests and memory limit per environment (no CPU limit): one informer cache
 * of the cluster's snapshots and volumes, small.
 */
const RESOURCES: {
  readonly [E in EnvironmentName]: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly memory: string };
  };
} = {
  development: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  staging: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '128Mi' } },
  production: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '192Mi' } },
};

/** The chart's values every cluster shares: our CRDs, no conversion webhook, restricted pods. */
function baseValues(): Values {
  return {
    [CHART]: {
      installCRDs: false,
      webhook: { enabled: false },
      controller: {
        podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        securityContext: { allowPrivilegeEscalation: false },
      },
    },
  };
}

function render(input: RenderInput<Settings>): ComponentOutput {
  const first = input.clusters[0];
  if (first === undefined) return {};
  const chartVersion = version(first.settings);
  const issues: Issue[] = [];
  const clusters: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  for (const entry of input.clusters) {
    const path = entry.path();
    const { plan, issues: planIssues } = haPlan(entry.cluster, { selector: SELECTOR, path });
    issues.push(...planIssues, ...checkHaInvariants(entry.cluster, plan, path));
    const controller: Values = { replicaCount: plan.replicas };
    if (plan.podDisruptionBudget !== undefined) controller.pdb = { maxUnavailable: 1 };
    if (plan.affinity !== undefined) controller.affinity = plan.affinity;
    if (plan.topologySpreadConstraints !== undefined) {
      controller.topologySpreadConstraints = plan.topologySpreadConstraints;
    }
    const storage = entry.provided.storage;
    const manifests: { [key: string]: KubeObject } = {};
    if (storage?.csiDriver !== undefined) {
      const name = snapshotClassName(entry.settings);
      manifests[`volumesnapshotclass-${name}`] = {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: {
          name,
          annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
        },
        driver: storage.csiDriver,
        deletionPolicy: 'Delete',
        ...(storage.snapshotParameters === undefined
          ? {}
          : { parameters: { ...storage.snapshotParameters } }),
      };
    }
    clusters[entry.cluster.name] = {
      [CHART]: { controller },
      manifests: manifests as unknown as Values,
    };
    environments[entry.cluster.environment] = {};
  }
  const envLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of ENVIRONMENTS) {
    if (environments[name] === undefined) continue;
    const { requests, limits } = RESOURCES[name];
    envLayers[name] = {
      [CHART]: { controller: { resources: { requests: { ...requests }, limits: { ...limits } } } },
    };
  }
  const tag = EXTERNAL_SNAPSHOTTER_VERSIONS[chartVersion];
  const chart: ChartSpec = {
    name: CHART,
    description: 'The CSI snapshot controller and the VolumeSnapshotClass of the storage driver.',
    appVersion: tag,
    dependency: { name: CHART, version: chartVersion, repository: SNAPSHOT_CONTROLLER_REPOSITORY },
    values: baseValues(),
    environments: envLayers,
    clusters,
    readme: {
      summary: `The CSI snapshot controller ${tag} (chart snapshot-controller ${chartVersion}) and a VolumeSnapshotClass for the storage provider's CSI driver, the cluster's default class; its replicas, disruption budget and spread follow each environment's profile.`,
      sections: [
        {
          heading: 'CRDs',
          body: `The chart's archive renders no CRDs (\`installCRDs: false\`): the external-snapshotter ${tag} CRDs are the \`${SNAPSHOT_CRDS}\` Application, synced before this chart from \`${EXTERNAL_SNAPSHOTTER_REPOSITORY}\` at the tag (\`client/config/crd\`, the VolumeSnapshot and VolumeGroupSnapshot kinds).`,
        },
        {
          heading: 'Pod Security',
          body: "The controller runs in a `restricted` namespace: the values add the RuntimeDefault seccomp profile and forbid privilege escalation on top of the chart's non-root, read-only, capability-free container.",
        },
      ],
    },
  };
  return { chart, issues };
}

export const snapshotControllerComponent: Component<Settings> = {
  name: 'snapshot-controller',
  description:
    "The CSI snapshot controller, its CRDs and the storage driver's VolumeSnapshotClass.",
  settings: {
    schema: schemaJson as unknown as Component<Settings>['settings']['schema'],
    defaults: { version: SNAPSHOT_CONTROLLER_CHART_VERSION },
    platformOnly: ['version'],
  },
  provides: ['volume-snapshots'],
  needs: ['cni'],
  uses: ['storage'],
  upstream: SNAPSHOT_CONTROLLER_UPSTREAM,
  validators: snapshotValidators,
  declare,
  render,
};
