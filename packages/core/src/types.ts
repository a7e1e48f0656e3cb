import type {
  Cluster,
  DataDisk,
  EnvironmentName,
  Node,
  PlatformDefinition,
} from './generated/platform.js';
import type { PathSegment } from './issues.js';

// ---------------------------------------------------------------------------------------------
// Plain data

export type JsonPrimitive = null | boolean | number | string;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** A Helm values document (or any JSON object). */
export type Values = { [key: string]: JsonValue };

export type KubeMetadata = {
  name: string;
  namespace?: string;
  labels?: { [key: string]: string };
  annotations?: { [key: string]: string };
  [key: string]: JsonValue | undefined;
};

/** A Kubernetes object as plain data. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [key: string]: JsonValue | KubeMetadata | undefined;
};

/** A file the build generates, path relative to the output root, POSIX separators. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

// ---------------------------------------------------------------------------------------------
// Environments

export type { EnvironmentName };
export const ENVIRONMENTS: readonly EnvironmentName[] = ['development', 'staging', 'production'];

export type AntiAffinityMode = 'none' | 'preferred' | 'required';
export type TopologySpreadMode = 'none' | 'ScheduleAnyway' | 'DoNotSchedule';
export type RolloutMode = 'default' | 'rolling' | 'rolling-zero-unavailable';

/** An environment profile after the definition's overrides are applied. */
export interface EnvironmentProfile {
  readonly name: EnvironmentName;
  readonly replicas: number;
  readonly podDisruptionBudget: boolean;
  readonly antiAffinity: AntiAffinityMode;
  readonly topologySpread: TopologySpreadMode;
  readonly rollout: RolloutMode;
  readonly autoSync: { readonly prune: boolean; readonly selfHeal: boolean };
  /** Git revision Argo CD deploys for clusters of this environment. */
  readonly targetRevision: string;
  /**
   * Factor on every workload's resource requests (a component states its base requests; the
   * profile scales them): development 1, staging 1, production 2.
   */
  readonly resourceScale: number;
}

/** A workload's base requests, as a component states them (`{ cpu: '100m', memory: '128Mi' }`). */
export interface ResourceBase {
  /** Millicores, e.g. `100m`. */
  readonly cpu: string;
  /** Mebibytes, e.g. `128Mi`. */
  readonly memory: string;
}

// ---------------------------------------------------------------------------------------------
// Resolved model: the definition with defaults applied and facts derived

export interface ResolvedNode extends Node {
  /**
   * What the node's Talos network documents call its link: `link.name`, or `lan0`, the alias
   * Talos gives the link its hardware selector matches.
   */
  readonly linkName: string;
  readonly labels: { [key: string]: string };
  readonly taints: NonNullable<Node['taints']>;
  /** Holds replicated block storage: `storage` as written, else whether it has data disks. */
  readonly storage: boolean;
  /** Data disks besides the install disk (empty when none). */
  readonly disks: DataDisk[];
  /** Index in `clusters[i].nodes`, for issue paths. */
  readonly index: number;
}

export interface ResolvedCluster {
  readonly name: string;
  /** Index in `clusters`, for issue paths (`clusters[<index>]…`). */
  readonly index: number;
  readonly environment: EnvironmentName;
  readonly profile: EnvironmentProfile;
  readonly talosVersion: string;
  readonly kubernetesVersion: string;
  readonly endpoint: string;
  /**
   * The definition's network with its defaults: `nameservers` (default: the gateway) and
   * `lanCidr`, the LAN the nodes' links sit on (default: `nodeCidr`).
   */
  readonly network: Cluster['network'] & {
    readonly nameservers: readonly string[];
    readonly lanCidr: string;
  };
  readonly nodes: readonly ResolvedNode[];
  readonly controlPlanes: readonly ResolvedNode[];
  readonly workers: readonly ResolvedNode[];
  readonly storageNodes: readonly ResolvedNode[];
  /** Control planes run workloads when the cluster has no worker. */
  readonly allowSchedulingOnControlPlanes: boolean;
  /**
   * Nodes that run ordinary workloads (workers, or control planes when there are none), without
   * the ones a NoSchedule or NoExecute taint of the definition keeps workloads off.
   */
  readonly schedulableNodes: readonly ResolvedNode[];
  /**
   * DNS zone of the cluster's services: the cluster's `domain` setting, else `<domain>` for
   * production and `<cluster>.<domain>` otherwise (`clusterDomain`).
   */
  readonly domain: string;
  /** The raw definition of the cluster, as written. */
  readonly definition: Cluster;
}

export interface ResolvedPlatform {
  readonly name: string;
  readonly domain: string;
  readonly repositoryUrl: string;
  readonly environments: { readonly [E in EnvironmentName]: EnvironmentProfile };
  readonly clusters: readonly ResolvedCluster[];
  readonly definition: PlatformDefinition;
}

// ---------------------------------------------------------------------------------------------
// HA helpers (see profiles.ts)

export interface HaRequest {
  /** Pod labels that select the replicas of this workload. */
  readonly selector: { readonly [key: string]: string };
  /** Override the profile's replica count (e.g. a component with a fixed count). */
  readonly replicas?: number;
  /** Path of the setting in the definition, for issues. */
  readonly path: readonly PathSegment[];
  /**
   * Workload kind (default `Deployment`). A StatefulSet gets no Deployment `strategy` and, having
   * no surge pod, keeps required anti-affinity whenever replicas ≤ schedulable nodes.
   */
  readonly kind?: 'Deployment' | 'StatefulSet';
}

export type LabelSelectorTerm = {
  topologyKey: string;
  labelSelector: { matchLabels: { [key: string]: string } };
};

/** What the environment asks of a replicated controller, in Kubernetes' own terms. */
export interface HaPlan {
  readonly replicas: number;
  /** `undefined` when the profile has no PDB. Never `minAvailable`. */
  readonly podDisruptionBudget: { readonly maxUnavailable: 1 } | undefined;
  readonly affinity: Values | undefined;
  readonly topologySpreadConstraints: Values[] | undefined;
  /** Deployment `strategy` (RollingUpdate), `undefined` for the chart's default. */
  readonly strategy: Values | undefined;
}

// ---------------------------------------------------------------------------------------------
// Charts (the output contract of DESIGN.md, "Chart shape")

export interface ChartDependency {
  /** Name of the upstream chart; its values live under this key. */
  readonly name: string;
  readonly version: string;
  readonly repository: string;
  /**
   * The releases a running installation of the upstream may move to from the one the last build
   * pinned (its upgrade guide): a build that pins one outside them is refused
   * (`chart-upgrade-path`, `chartUpgradeRefusal`). None: any release.
   */
  readonly upgradePath?: ChartUpgradePath;
}

/** How far a running installation of an upstream chart moves in one step (`ChartDependency`). */
export interface ChartUpgradePath {
  /** The upstream's own name, as messages give it (`Cilium`). */
  readonly product: string;
  /**
   * How far back it goes: `minor`, to the previous minor release or another patch release of its
   * own (a rollback); `patch`, to another patch release of its own minor release only; `none`, to
   * no earlier release at all; absent, the upstream says nothing of going back (no earlier
   * release is refused). It never goes up more than one minor release, nor across a major
   * release.
   */
  readonly rollback?: 'minor' | 'patch' | 'none';
  /**
   * `error` (the default): a release outside the path does not work or is not supported, the
   * build is refused. `warning`: the upstream only recommends the path, the build warns
   * (`--strict` refuses it).
   */
  readonly severity?: 'error' | 'warning';
  /** Where the upstream says so (a guide's section and its words). */
  readonly source: string;
  /**
   * A value of the upstream chart that names the release an installation was first installed
   * with, so that a later release keeps that one's defaults (Cilium's `upgradeCompatibility`):
   * moving a cluster that ran the last build up a minor release needs it set, and once set it
   * never changes (`chart-upgrade-compatibility`). None: the upstream has no such value.
   */
  readonly compatibility?: ChartUpgradeCompatibility;
}

/** The upstream value naming the release an installation started with (`ChartUpgradePath`). */
export interface ChartUpgradeCompatibility {
  /** Its key under the upstream chart's values, in the cluster layers (`upgradeCompatibility`). */
  readonly value: string;
  /** The component setting that writes it, under `components.<component>`. */
  readonly setting: string;
  /** Where the upstream says so (a guide's section and its words). */
  readonly source: string;
}

export interface ChartReadme {
  /** One paragraph: what the chart deploys. */
  readonly summary: string;
  /** Extra sections, Markdown bodies. */
  readonly sections?: readonly { readonly heading: string; readonly body: string }[];
}

export interface ChartSpec {
  /** Folder and chart name: `charts/<name>`. */
  readonly name: string;
  readonly description: string;
  /** Upstream application version. */
  readonly appVersion: string;
  readonly dependency?: ChartDependency;
  /** Base layer (`values.yaml`): the same for every cluster. */
  readonly values: Values;
  /** Environment layers (`env/<environment>.yaml`). */
  readonly environments: { readonly [E in EnvironmentName]?: Values };
  /** Cluster layers (`clusters/<cluster>.yaml`). */
  readonly clusters: { readonly [cluster: string]: Values };
  /**
   * JSON Schema of the chart's own top-level keys besides `manifests` and the dependency key
   * (which core adds). Keys not described here are refused by `values.schema.json`.
   */
  readonly valuesSchema?: { readonly [key: string]: Values };
  readonly readme: ChartReadme;
}

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';
