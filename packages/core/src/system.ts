// Validation layer 4 (DESIGN.md, "Validation layers"): the platform as a whole would come up.
// Every file can pass its schema while the cluster never converges: a custom resource applied
// before its CRD, a CNI deleted by a rename, a Secret nothing creates. Each such fact is a system
// check over the platform as Argo CD will deploy it; core brings the general ones, components add
// their own (`Component.checks`). Pure.

import {
  ANNOTATIONS_LIMIT_BYTES,
  LAST_APPLIED_ANNOTATION,
  oversizedClientSideApplies,
} from './apply-size.js';
import { type AwkEquality, awkNumericEqualities, awkPrograms } from './awk.js';
import { type ClusterRun, settingsPath } from './components.js';
import {
  type CrdBundle,
  type GroupKind,
  rootApplicationName,
  type SecretProducer,
} from './contract.js';
import { fileDocuments, fileValues } from './emitted.js';
import { servicesNotExposed } from './exposure.js';
import { GITOPS_FIELD_MANAGER, SECRET_APPLY } from './hand-over.js';
import { mergeValues, mergeValuesShared } from './helm.js';
import { error, formatPath, type Issue, type PathSegment } from './issues.js';
import { isJsonTable as isTable, isJson as isTableValue } from './json-access.js';
import { containers, podTemplateOf } from './pod-security.js';
import { replicasFitNodes, rolloutSurgeRoom } from './rollout-room.js';
import {
  ASKING_READERS,
  commentLines,
  type EndlessWait,
  endlessWaits,
  joinedBlock,
  parseBoundedWait,
  readNotLast,
  type ShellLine,
  STREAMING_READERS,
  shellBlocks,
  type TerminalReader,
  terminalReader,
  unchainedGuards,
  type WaitLoop,
  waitLoops,
  type ZshExpansion,
  zshExpandedWords,
} from './runbook-shell.js';
import {
  applicationManualSync,
  mergeSyncOption,
  normalizeRetry,
  objectSyncOptions,
  PRUNE,
  pauseAutoSyncCommands,
  rootManualSync,
  sameRetry,
  syncOperationPatch,
} from './sync-options.js';
import type {
  GeneratedFile,
  JsonValue,
  KubeObject,
  ResolvedCluster,
  ResolvedPlatform,
  Values,
} from './types.js';
import { compareStrings, parseAllDocuments, shellQuote, toYamlDocumentsWithData } from './yaml.js';

/** An object an Application applies, and where it is generated. */
export interface DeployedObject {
  readonly object: KubeObject;
  /** e.g. `charts/argo-cd/clusters/dev.yaml#manifests.httproute-argocd-server` */
  readonly source: string;
}

/** One Application of a cluster's app-of-apps, with what it applies. */
export interface DeployedApplication {
  /** Application name without the cluster prefix (`cilium`, `gateway-api-crds`). */
  readonly name: string;
  /** The component that declared it (for a CRD bundle: the component that needs it). */
  readonly component: string;
  readonly bundle: CrdBundle | undefined;
  readonly wave: number;
  readonly namespace: string;
  /** The Argo CD Application object. */
  readonly application: KubeObject;
  /** What its chart renders on the cluster (our manifests; upstream objects are layer 5's). */
  readonly objects: readonly DeployedObject[];
  /** Kinds it installs: a bundle's CRDs, or what the component's descriptor says it installs. */
  readonly installs: readonly GroupKind[];
  /** Whether the descriptor marks it critical (the CNI, the GitOps controller). */
  readonly critical: boolean;
  /** Where the definition has what made it. */
  readonly origin: readonly PathSegment[];
}

export interface DeployedCluster {
  readonly cluster: ResolvedCluster;
  readonly run: ClusterRun;
  /** In wave order; empty when no component provides `gitops` on the cluster. */
  readonly applications: readonly DeployedApplication[];
  /**
   * The namespaces that exist before the first sync wave: the root Application creates them
   * (and the runbook, before anything is installed by hand). Absent: none.
   */
  readonly namespaces?: readonly string[];
}

export interface SystemInput {
  readonly platform: ResolvedPlatform;
  readonly clusters: readonly DeployedCluster[];
  readonly files: readonly GeneratedFile[];
}

/** One fact about the running platform, checked on everything the build generates. */
export interface SystemCheck {
  /** Stable identifier, the code of its issues: `kinds-before-use`. */
  readonly name: string;
  /** One sentence: what must hold (docs/system-checks.md lists them). */
  readonly description: string;
  check(input: SystemInput): Issue[];
  /**
   * What the check found, for `homelab validate --report` (a matrix, a summary): plain text
   * lines, without a trailing newline. Only run when asked.
   */
  report?(input: SystemInput): string[];
}

/**
 * One cluster's objects as the last build's charts render them (`before`) and as this build's
 * render them (`after`), for the charts whose layers changed (any other chart renders the same
 * on both sides, and is left out of both), each with its chart (`charts/<chart>`) and, after, the
 * setting it is made from where its component says so.
 */
export interface ChangeInput {
  readonly cluster: ResolvedCluster;
  readonly before: readonly ChangedObject[];
  readonly after: readonly ChangedObject[];
  /**
   * The same charts' values as Helm merges them for the cluster (base, environment and cluster
   * layers), by chart name: what an upstream chart renders from (its objects are not in
   * `before`/`after`, which hold the `manifests` of the chart contract).
   */
  readonly beforeValues: ReadonlyMap<string, Values>;
  readonly afterValues: ReadonlyMap<string, Values>;
}

/** An object of a `ChangeInput`. */
export interface ChangedObject {
  readonly chart: string;
  readonly object: KubeObject;
  readonly origin?: readonly PathSegment[];
}

/**
 * One fact about a change of what a running cluster runs, checked on the objects the last build
 * wrote and this build writes (`homelab build`, `validate`, `check`, `diff` run them with the
 * output folder's charts; not with `--allow-immutable-changes`): what a commit must not change
 * silently because the cluster does not follow it by itself.
 */
export interface ChangeCheck {
  /** Stable identifier, the code of its issues. */
  readonly name: string;
  /** One sentence: what must hold (docs/system-checks.md lists them). */
  readonly description: string;
  check(input: ChangeInput): Issue[];
}

/** One check's report section. */
export interface SystemReport {
  readonly name: string;
  readonly lines: readonly string[];
}

/** API groups the API server serves without any CRD. */
export const BUILT_IN_GROUPS: ReadonlySet<string> = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

/** The group and kind of an object (`apiVersion: cilium.io/v2` → group `cilium.io`). */
export function groupKindOf(object: KubeObject): GroupKind {
  const slash = object.apiVersion.lastIndexOf('/');
  return { group: slash === -1 ? '' : object.apiVersion.slice(0, slash), kind: object.kind };
}

function key(kind: GroupKind): string {
  return `${kind.group}/${kind.kind}`;
}

function skipsDryRun(object: KubeObject): boolean {
  return objectSyncOptions(object).includes('SkipDryRunOnMissingResource=true');
}

/** Every kind is installed before an Application applies objects of it. */
export const kindsBeforeUse: SystemCheck = {
  name: 'kinds-before-use',
  description:
    'Every custom resource an Application applies has its CRD installed by an earlier sync wave, or by the same Application with SkipDryRunOnMissingResource (a CRD its controller registers at start).',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const installers = new Map<string, DeployedApplication[]>();
      for (const app of deployed.applications) {
        for (const kind of app.installs) {
          installers.set(key(kind), [...(installers.get(key(kind)) ?? []), app]);
        }
      }
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          const kind = groupKindOf(object);
          if (BUILT_IN_GROUPS.has(kind.group)) continue;
          const by = installers.get(key(kind)) ?? [];
          const where = { path: app.origin, output: source };
          if (by.length === 0) {
            issues.push(
              error({
                code: 'kinds-before-use',
                ...where,
                value: key(kind),
                message: `${app.name} applies a ${kind.kind} on cluster "${deployed.cluster.name}", but no Application there installs its CRD (${kind.group})`,
                expected: `a component that installs ${kind.group} enabled on the cluster, before ${app.name}`,
              }),
            );
            continue;
          }
          if (by.some((installer) => installer.wave < app.wave)) continue;
          if (by.some((installer) => installer.name === app.name) && skipsDryRun(object)) continue;
          const first = by[0] as DeployedApplication;
          issues.push(
            error({
              code: 'kinds-before-use',
              ...where,
              value: key(kind),
              message:
                first.name === app.name
                  ? `${app.name} applies a ${kind.kind} whose CRD it installs itself (cluster "${deployed.cluster.name}"), without SkipDryRunOnMissingResource: the first sync fails its dry run`
                  : `${app.name} (wave ${app.wave}) applies a ${kind.kind} whose CRD ${first.name} installs in wave ${first.wave} on cluster "${deployed.cluster.name}": not before it`,
              expected: `the CRD installed in an earlier wave than ${app.name}`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** Namespaces every Kubernetes cluster has from the start. */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set([
  'default',
  'kube-node-lease',
  'kube-public',
  'kube-system',
]);

function createsItsNamespace(app: DeployedApplication): boolean {
  const spec = app.application.spec as { syncPolicy?: { syncOptions?: unknown } } | undefined;
  const options = spec?.syncPolicy?.syncOptions;
  return Array.isArray(options) && options.includes('CreateNamespace=true');
}

/**
 * Every namespaced object goes into a namespace that exists when its Application syncs: the API
 * server refuses an object whose namespace does not exist (`namespaces "x" not found`), and Argo
 * CD creates only an Application's destination namespace (`CreateNamespace=true`), never the
 * namespaces its objects name.
 */
export const namespacesBeforeUse: SystemCheck = {
  name: 'namespaces-before-use',
  description:
    'Every object an Application applies into a namespace finds it there: a system namespace, one the root Application creates before the first wave, its own destination with CreateNamespace=true, or a Namespace object of the same or an earlier wave.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const before = new Set([...SYSTEM_NAMESPACES, ...(deployed.namespaces ?? [])]);
      // Namespace objects by the wave that creates them (the earliest).
      const createdIn = new Map<string, DeployedApplication>();
      for (const app of deployed.applications) {
        for (const { object } of app.objects) {
          if (object.kind !== 'Namespace' || groupKindOf(object).group !== '') continue;
          const name = object.metadata.name;
          const known = createdIn.get(name);
          if (known === undefined || app.wave < known.wave) createdIn.set(name, app);
        }
      }
      for (const app of deployed.applications) {
        const own = createsItsNamespace(app) ? app.namespace : undefined;
        for (const { object, source } of app.objects) {
          const namespace = object.metadata.namespace;
          if (typeof namespace !== 'string' || object.kind === 'Namespace') continue;
          if (before.has(namespace) || namespace === own) continue;
          const creator = createdIn.get(namespace);
          if (creator !== undefined && (creator.wave < app.wave || creator.name === app.name))
            continue;
          issues.push(
            error({
              code: 'namespaces-before-use',
              path: app.origin,
              output: source,
              value: `${object.kind} ${namespace}/${object.metadata.name}`,
              message:
                creator === undefined
                  ? `${app.name} (wave ${app.wave}) applies a ${object.kind} into namespace "${namespace}" on cluster "${deployed.cluster.name}", which nothing creates before it: the sync fails with namespaces "${namespace}" not found`
                  : `${app.name} (wave ${app.wave}) applies a ${object.kind} into namespace "${namespace}" on cluster "${deployed.cluster.name}", which ${creator.name} creates only in wave ${creator.wave}: the sync fails with namespaces "${namespace}" not found, and the later waves never come`,
              expected: `namespace "${namespace}" created before wave ${app.wave}: by the root Application (a namespace of the platform the chart does not render itself), or by an Application of an earlier wave`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/**
 * The volume claims an object makes: a PersistentVolumeClaim, a StatefulSet's claim templates,
 * the Prometheus Operator's `storage.volumeClaimTemplate` (Prometheus, Alertmanager, ThanosRuler).
 * `class`: its storageClassName (absent: the default class; `''`: a static volume).
 */
export function volumeClaimsOf(object: KubeObject): { name: string; class?: string }[] {
  const spec = (object as { spec?: Record<string, unknown> }).spec ?? {};
  const className = (claim: unknown): { class?: string } => {
    const value = (claim as { spec?: { storageClassName?: unknown } } | undefined)?.spec
      ?.storageClassName;
    return typeof value === 'string' ? { class: value } : {};
  };
  const { group, kind } = groupKindOf(object);
  if (group === '' && kind === 'PersistentVolumeClaim') {
    return [{ name: object.metadata.name, ...className(object) }];
  }
  if (group === 'apps' && kind === 'StatefulSet' && Array.isArray(spec.volumeClaimTemplates)) {
    return (spec.volumeClaimTemplates as { metadata?: { name?: string } }[]).map((template) => ({
      name: `${object.metadata.name}/${template.metadata?.name ?? ''}`,
      ...className(template),
    }));
  }
  if (
    group === 'monitoring.coreos.com' &&
    ['Prometheus', 'Alertmanager', 'ThanosRuler'].includes(kind)
  ) {
    const template = (spec.storage as { volumeClaimTemplate?: unknown } | undefined)
      ?.volumeClaimTemplate;
    if (template !== undefined) return [{ name: object.metadata.name, ...className(template) }];
  }
  return [];
}

/**
 * Every volume claim finds its StorageClass deployed by an earlier wave (or its own
 * Application): a claim whose class comes later stays Pending, its workload never becomes
 * healthy, and the app-of-apps waits for that wave forever.
 */
export const storageBeforeClaims: SystemCheck = {
  name: 'storage-before-claims',
  description:
    'Every volume claim (PersistentVolumeClaim, StatefulSet claim template, Prometheus Operator storage) names a StorageClass, or relies on the default one, that an Application of an earlier wave deploys.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const classes = new Map<string, DeployedApplication>();
      let defaultClass: string | undefined;
      for (const app of deployed.applications) {
        for (const { object } of app.objects) {
          const { group, kind } = groupKindOf(object);
          if (group !== 'storage.k8s.io' || kind !== 'StorageClass') continue;
          const name = object.metadata.name;
          const known = classes.get(name);
          if (known === undefined || app.wave < known.wave) classes.set(name, app);
          if (object.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') {
            defaultClass ??= name;
          }
        }
      }
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          for (const claim of volumeClaimsOf(object)) {
            if (claim.class === '') continue; // bound to a volume made by hand
            const name = claim.class ?? defaultClass;
            const where = {
              code: 'storage-before-claims',
              path: app.origin,
              output: source,
              value: `${object.kind} ${claim.name}`,
            };
            const provider = name === undefined ? undefined : classes.get(name);
            if (provider !== undefined && (provider.wave < app.wave || provider.name === app.name))
              continue;
            issues.push(
              error({
                ...where,
                message:
                  name === undefined
                    ? `${app.name} claims a volume on cluster "${deployed.cluster.name}" without a storage class, and no StorageClass of the platform is the default: the claim stays Pending`
                    : provider === undefined
                      ? `${app.name} claims a volume of StorageClass "${name}" on cluster "${deployed.cluster.name}", which no Application deploys: the claim stays Pending`
                      : `${app.name} (wave ${app.wave}) claims a volume of StorageClass "${name}" on cluster "${deployed.cluster.name}", which ${provider.name} deploys only in wave ${provider.wave}: the claim stays Pending, ${app.name} never becomes healthy and the later waves never come`,
                expected: `a StorageClass deployed before wave ${app.wave} (the storage provider's), or no claim`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/** The critical Applications (the CNI, the cluster DNS, the CRD bundles, the GitOps controller, …) are never cascade-deleted or pruned. */
export const criticalNotCascaded: SystemCheck = {
  name: 'critical-not-cascaded',
  description:
    'Applications the cluster cannot lose (CRD bundles and the components that declare themselves critical: the CNI, the cluster DNS, the GitOps controller, the secrets and storage providers) carry no cascade-delete finalizer, and their resources are never pruned or deleted by Argo CD: removing them is a runbook step, not a commit.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        if (!app.critical && app.bundle === undefined) continue;
        const metadata = app.application.metadata;
        const finalizers = Array.isArray(metadata.finalizers)
          ? (metadata.finalizers as string[])
          : [];
        if (finalizers.includes(RESOURCES_FINALIZER)) {
          issues.push(
            error({
              code: 'critical-not-cascaded',
              path: app.origin,
              output: `Application ${app.application.metadata.name}`,
              message: `carries ${RESOURCES_FINALIZER}: deleting or renaming it would delete what ${app.name} runs, and cluster "${deployed.cluster.name}" cannot work without it`,
              expected: 'no resources finalizer on a critical Application',
            }),
          );
        }
        const spec = app.application.spec as
          | { syncPolicy?: { syncOptions?: string[] } }
          | undefined;
        const all = [
          ...objectSyncOptions(app.application),
          ...(spec?.syncPolicy?.syncOptions ?? []).map((o) => o.trim()),
        ];
        if (!all.includes('Prune=false') || !all.includes('Delete=false')) {
          issues.push(
            error({
              code: 'critical-not-cascaded',
              path: app.origin,
              output: `Application ${app.application.metadata.name}`,
              message: `lets Argo CD prune or delete what ${app.name} runs on cluster "${deployed.cluster.name}"`,
              expected: 'sync options Prune=false and Delete=false on a critical Application',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * Kinds a critical Application's own objects may leave to the Application's `Prune=false`, each
 * because its deletion cascades to what the cluster cannot lose: deleting a
 * CustomResourceDefinition deletes every custom resource of its kind on the cluster, deleting a
 * Namespace every object in it, deleting a PersistentVolumeClaim its volume's data (a `Delete`
 * class). Removing one is a runbook step; a claim carries `Prune=false,Delete=false` of its own.
 */
export const UNPRUNED_KINDS: ReadonlySet<string> = new Set([
  'apiextensions.k8s.io/CustomResourceDefinition',
  '/Namespace',
  '/PersistentVolumeClaim',
]);

/** What the definition puts into a critical Application is pruned when the definition drops it. */
export const criticalObjectsPruned: SystemCheck = {
  name: 'critical-objects-pruned',
  description:
    "Every object the generator puts into a critical Application (which syncs with Prune=false) carries Prune=true in its own argocd.argoproj.io/sync-options, which Argo CD reads before the Application's default, except CustomResourceDefinitions, Namespaces and PersistentVolumeClaims: what the definition drops is pruned instead of staying in the cluster and keeping the Application OutOfSync for good.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        if (!app.critical && app.bundle === undefined) continue;
        for (const { object, source } of app.objects) {
          if (UNPRUNED_KINDS.has(key(groupKindOf(object)))) continue;
          const options = objectSyncOptions(object);
          // The first `Prune=` option is the one gitops-engine reads (GetAnnotationOptionValue).
          if (options.find((option) => option.startsWith('Prune=')) === PRUNE) continue;
          const namespace = object.metadata.namespace;
          const name = `${object.kind} ${namespace === undefined ? '' : `${namespace}/`}${object.metadata.name}`;
          issues.push(
            error({
              code: 'critical-objects-pruned',
              path: app.origin,
              output: source,
              value: name,
              message: `${name} is generated into the critical Application ${app.application.metadata.name} (${app.name}, Prune=false) on cluster "${deployed.cluster.name}" without Prune=true of its own: once the definition drops it, it stays in the cluster and the Application stays OutOfSync ("requires pruning") for good`,
              expected: `argocd.argoproj.io/sync-options: ${mergeSyncOption(options.filter((o) => !o.startsWith('Prune=')).join(','), PRUNE)} on the object, where its component (or the provider that makes it for ${app.component}) generates it`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// Secrets: every Secret referenced is made by the platform

type Table = { [key: string]: JsonValue };

/** What the checks read of a build's files, kept per files array: every check reads the same ones. */
interface Reading {
  /** Each path's file (the first one of the path, as `files.find` finds it). */
  readonly files: ReadonlyMap<string, GeneratedFile>;
  /** Parsed value files, by path. */
  readonly parsed: Map<string, Values | undefined>;
  /** `deployedValues` of each Application. */
  readonly deployed: WeakMap<DeployedApplication, Values | undefined>;
  /** `codeLines` of each runbook (two checks read every command of every runbook). */
  readonly code: WeakMap<GeneratedFile, readonly CodeLine[]>;
}

const readings = new WeakMap<readonly GeneratedFile[], Reading>();

function reading(files: readonly GeneratedFile[]): Reading {
  let found = readings.get(files);
  if (found === undefined) {
    const byPath = new Map<string, GeneratedFile>();
    for (const file of files) if (!byPath.has(file.path)) byPath.set(file.path, file);
    found = { files: byPath, parsed: new Map(), deployed: new WeakMap(), code: new WeakMap() };
    readings.set(files, found);
  }
  return found;
}

function parsedFile(files: readonly GeneratedFile[], path: string): Values | undefined {
  const { files: byPath, parsed } = reading(files);
  if (parsed.has(path)) return parsed.get(path);
  const file = byPath.get(path);
  let values: Values | undefined;
  if (file !== undefined) {
    const content = fileValues(file);
    values = isTable(content) ? (content as Values) : {};
  }
  parsed.set(path, values);
  return values;
}

/** The chart folder an Application deploys (`charts/<chart>`), if it deploys a generated chart. */
function chartPathOf(app: DeployedApplication): string | undefined {
  const spec = app.application.spec;
  const source = isTable(spec) && isTable(spec.source) ? spec.source : undefined;
  const path = typeof source?.path === 'string' ? source.path : undefined;
  return path?.startsWith('charts/') ? path : undefined;
}

/**
 * The values Helm renders an Application's chart with on its cluster: the chart's `values.yaml`,
 * then the Application's value files in order, read from the generated files and merged as Helm
 * merges them. `undefined` when the Application deploys no generated chart (a CRD bundle).
 * Computed once per Application and files: the checks share the result and never modify it.
 */
export function deployedValues(input: SystemInput, app: DeployedApplication): Values | undefined {
  const { deployed } = reading(input.files);
  if (!deployed.has(app)) deployed.set(app, mergedValues(input, app));
  return deployed.get(app);
}

/** Where a cluster's runbook is generated: `clusters/<cluster>/RUNBOOK.md`. */
export function runbookPath(cluster: string): string {
  return `${CLUSTERS}${cluster}/RUNBOOK.md`;
}

/**
 * A file of the build by its path, through the index the checks share (a check that looks up a
 * few files per cluster would otherwise scan every file each time: quadratic in a fleet).
 */
export function generatedFile(input: SystemInput, path: string): GeneratedFile | undefined {
  return reading(input.files).files.get(path);
}

/** The text of a cluster's runbook in the build's files; `undefined` when the build has none. */
export function clusterRunbook(input: SystemInput, cluster: string): string | undefined {
  return reading(input.files).files.get(runbookPath(cluster))?.content;
}

/** An Application's value files (`helm.valueFiles`), relative to its chart folder. */
function valueFilesOf(app: DeployedApplication): string[] {
  const spec = app.application.spec as Table;
  const source = spec.source as Table;
  const helm = isTable(source.helm) ? source.helm : {};
  return Array.isArray(helm.valueFiles)
    ? helm.valueFiles.filter((file): file is string => typeof file === 'string')
    : [];
}

/**
 * Where the value at `path` of an Application's merged values comes from, as issues name it:
 * `charts/<chart>/<file>#<path>` for the last of values.yaml and the Application's value files
 * that sets it. An environment's clusters share their common values in its layer (layers.ts), so
 * a value is not always in the cluster's own file. `undefined` when no file sets it or the
 * Application deploys no generated chart.
 */
export function valuesSource(
  input: SystemInput,
  app: DeployedApplication,
  path: readonly string[],
): string | undefined {
  const chart = chartPathOf(app);
  if (chart === undefined) return undefined;
  const sets = (values: Values | undefined): boolean => {
    let node: unknown = values;
    for (const key of path) {
      if (!isTable(node) || !Object.hasOwn(node, key)) return false;
      node = node[key];
    }
    return true;
  };
  const files = ['values.yaml', ...valueFilesOf(app)].reverse();
  const file = files.find((name) => sets(parsedFile(input.files, `${chart}/${name}`)));
  return file === undefined ? undefined : `${chart}/${file}#${formatPath(path)}`;
}

function mergedValues(input: SystemInput, app: DeployedApplication): Values | undefined {
  const path = chartPathOf(app);
  if (path === undefined) return undefined;
  const valueFiles = valueFilesOf(app);
  const read = (name: string): Values | undefined => parsedFile(input.files, `${path}/${name}`);
  const base = read('values.yaml');
  if (base === undefined) return undefined;
  // Shared with the files' data, which nothing modifies (see deployedValues).
  return mergeValuesShared(base, ...valueFiles.map((name) => read(name) ?? {}));
}

/** A reference to a Secret (and maybe one of its keys) found in generated output. */
interface SecretReference {
  readonly namespace: string;
  readonly name: string;
  readonly key: string | undefined;
  /** Where: the output file and the path of the reference in it. */
  readonly output: string;
}

/** Argo CD's `$<secret>:<key>` form, alone on a line or as the value of a `key: value` line. */
const DOLLAR_REFERENCE = /(?:^|:\s+)\$([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?):([-._a-zA-Z0-9]+)\s*$/gm;

function textOf(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Where in an output a reference is: `<where>#<path>`. */
function outputAt(where: string, segments: readonly PathSegment[]): string {
  return `${where}#${formatPath(segments)}`;
}

/**
 * Secret references in a tree of values or a Kubernetes object, by the conventions of Helm
 * charts and the Kubernetes API: `existingSecret: <name>`, `secretKeyRef: {name, key}`,
 * `secretRef: {name}` (envFrom), `secret: {secretName, items}` (volumes), `$<secret>:<key>`.
 * `path` is where `node` is: the walk pushes and pops its segments as it goes.
 */
function findSecretReferences(
  node: JsonValue,
  namespace: string,
  where: string,
  path: PathSegment[],
  out: SecretReference[],
): void {
  if (typeof node === 'string') {
    if (!node.includes('$')) return;
    for (const match of node.matchAll(DOLLAR_REFERENCE)) {
      out.push({
        namespace,
        name: match[1] as string,
        key: match[2] as string,
        output: outputAt(where, path),
      });
    }
    return;
  }
  if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index++) {
      const item = node[index] as JsonValue;
      const mayHold =
        typeof item === 'object' ? item !== null : typeof item === 'string' && item.includes('$');
      if (!mayHold) continue; // (as for the members of a map, below)
      path.push(index);
      findSecretReferences(item, namespace, where, path, out);
      path.pop();
    }
    return;
  }
  if (!isTable(node)) return;
  const existing = textOf(node.existingSecret);
  if (existing !== undefined) {
    out.push({
      namespace,
      name: existing,
      key: undefined,
      output: outputAt(where, [...path, 'existingSecret']),
    });
  }
  const keyRef = node.secretKeyRef;
  if (isTable(keyRef) && textOf(keyRef.name) !== undefined) {
    out.push({
      namespace,
      name: keyRef.name as string,
      key: textOf(keyRef.key),
      output: outputAt(where, [...path, 'secretKeyRef']),
    });
  }
  const ref = node.secretRef;
  if (isTable(ref) && textOf(ref.name) !== undefined) {
    out.push({
      namespace,
      name: ref.name as string,
      key: undefined,
      output: outputAt(where, [...path, 'secretRef']),
    });
  }
  const volume = node.secret;
  if (isTable(volume) && textOf(volume.secretName) !== undefined) {
    const items = Array.isArray(volume.items) ? volume.items : [];
    const keys = items.flatMap((item) =>
      isTable(item) && textOf(item.key) ? [item.key as string] : [],
    );
    for (const key of keys.length > 0 ? keys : [undefined]) {
      out.push({
        namespace,
        name: volume.secretName as string,
        key,
        output: outputAt(where, [...path, 'secret']),
      });
    }
  }
  for (const key of Object.keys(node)) {
    const item = node[key] as JsonValue;
    // Only a list, a map or a string with a `$` can hold a reference: the others are skipped
    // here, not in a call (most of a tree's nodes are scalars, and the walk visits every object
    // the build deploys).
    const mayHold =
      typeof item === 'object' ? item !== null : typeof item === 'string' && item.includes('$');
    if (!mayHold) continue;
    path.push(key);
    findSecretReferences(item, namespace, where, path, out);
    path.pop();
  }
}

/**
 * The references of one object, memoized by its identity: a chart's objects are one set of
 * objects however many clusters deploy it, and a fleet's clusters mostly deploy the same charts
 * (the walk visits every node of every object; done once per object, namespace and file).
 */
const referencesOfObject = new WeakMap<object, Map<string, readonly SecretReference[]>>();

function objectSecretReferences(
  object: JsonValue,
  namespace: string,
  where: string,
): readonly SecretReference[] {
  if (typeof object !== 'object' || object === null) {
    const found: SecretReference[] = [];
    findSecretReferences(object, namespace, where, [], found);
    return found;
  }
  let byPlace = referencesOfObject.get(object);
  if (byPlace === undefined) {
    byPlace = new Map();
    referencesOfObject.set(object, byPlace);
  }
  const place = `${namespace}\u0000${where}`;
  let found = byPlace.get(place);
  if (found === undefined) {
    const out: SecretReference[] = [];
    findSecretReferences(object, namespace, where, [], out);
    found = out;
    byPlace.set(place, found);
  }
  return found;
}

/** The values at `path` in `node`, walking lists item by item. */
function valuesAt(node: JsonValue | undefined, path: readonly string[]): JsonValue[] {
  if (node === undefined) return [];
  if (Array.isArray(node)) return node.flatMap((item) => valuesAt(item, path));
  const [first, ...rest] = path;
  if (first === undefined) return [node];
  return isTable(node) ? valuesAt(node[first], rest) : [];
}

function producedBy(
  object: KubeObject,
  producer: SecretProducer,
): { name: string; keys: string[] } | undefined {
  const kind = groupKindOf(object);
  if (kind.group !== producer.group || kind.kind !== producer.kind) return undefined;
  const name = valuesAt(object as unknown as JsonValue, producer.secretName).find(
    (value): value is string => typeof value === 'string',
  );
  if (name === undefined) return undefined;
  const keys = valuesAt(object as unknown as JsonValue, producer.keys).filter(
    (value): value is string => typeof value === 'string',
  );
  return { name, keys };
}

/**
 * Secrets the platform's own machinery makes from an object, outside any secrets provider:
 * Talos answers a `talos.dev/v1alpha1` ServiceAccount (with `kubernetesTalosAPIAccess` on) with a
 * Secret of the same name and namespace holding the talosconfig under `config` (Talos' "Talos
 * API access from Kubernetes"); cert-manager answers a `cert-manager.io` Certificate with its
 * `spec.secretName` holding `tls.crt`, `tls.key` and `ca.crt` (the issuing CA).
 */
function madeBySystem(object: KubeObject): { name: string; keys: string[] } | undefined {
  const kind = groupKindOf(object);
  if (kind.group === 'talos.dev' && kind.kind === 'ServiceAccount') {
    return { name: object.metadata.name, keys: ['config'] };
  }
  if (kind.group === 'cert-manager.io' && kind.kind === 'Certificate') {
    const spec = (object as unknown as { spec?: JsonValue }).spec;
    const name = isTable(spec) ? textOf(spec.secretName) : undefined;
    if (name !== undefined) return { name, keys: ['tls.crt', 'tls.key', 'ca.crt'] };
  }
  return undefined;
}

/**
 * The Secret an object makes, when it is a producer of the secrets provider (`producer`, e.g. a
 * BitwardenSecret) or an object the platform's machinery answers with one (`madeBySystem`).
 */
export function secretMadeFrom(
  object: KubeObject,
  producer: SecretProducer | undefined,
): { name: string; keys: string[] } | undefined {
  return (
    (producer === undefined ? undefined : producedBy(object, producer)) ?? madeBySystem(object)
  );
}

/** Every Secret a workload or a chart value references exists: made by the platform or by hand. */
export const secretReferences: SystemCheck = {
  name: 'secret-references',
  description:
    "Every Secret referenced in generated output (a chart value `existingSecret`, Argo CD's `$<secret>:<key>`, an env `secretKeyRef`/`secretRef`, a `secret` volume) exists with the referenced key: a Secret object of the platform, one the `secrets` provider makes (its producer objects), one cert-manager makes for a Certificate (`tls.crt`, `tls.key`, `ca.crt`), or a hand-made bootstrap secret.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      // What will exist: namespace/name → keys.
      const made = new Map<string, Set<string>>();
      const add = (namespace: string, name: string, keys: readonly string[]): void => {
        const id = `${namespace}/${name}`;
        const set = made.get(id) ?? new Set<string>();
        for (const key of keys) set.add(key);
        made.set(id, set);
      };
      for (const contribution of deployed.run.contributions?.values() ?? []) {
        for (const secret of contribution.bootstrapSecrets ?? []) {
          add(secret.namespace, secret.name, secret.keys);
        }
      }
      // A key a component declares is the secrets provider's to make: when it cannot (an
      // unmapped key), it reports that itself, so here it counts as made.
      if (deployed.run.providers?.has('secrets') === true) {
        for (const contribution of deployed.run.contributions?.values() ?? []) {
          for (const secret of contribution.secrets ?? []) {
            add(secret.namespace, secret.name, secret.keys);
          }
        }
      }
      const producer = deployed.run.facts?.secrets?.producer;
      for (const app of deployed.applications) {
        for (const { object } of app.objects) {
          const namespace = object.metadata.namespace ?? app.namespace;
          if (object.apiVersion === 'v1' && object.kind === 'Secret') {
            const data = [object.data, object.stringData].flatMap((part) =>
              isTable(part) ? Object.keys(part) : [],
            );
            add(namespace, object.metadata.name, data);
          }
          const made = secretMadeFrom(object, producer);
          if (made !== undefined) add(namespace, made.name, made.keys);
        }
      }

      const references: { app: DeployedApplication; ref: SecretReference }[] = [];
      for (const app of deployed.applications) {
        const found: SecretReference[] = [];
        for (const { object, source } of app.objects) {
          found.push(
            ...objectSecretReferences(
              object as unknown as JsonValue,
              object.metadata.namespace ?? app.namespace,
              source,
            ),
          );
        }
        const values = deployedValues(input, app);
        if (values !== undefined) {
          const { manifests: _objects, ...rest } = values;
          findSecretReferences(
            rest,
            app.namespace,
            `${chartPathOf(app) ?? app.name} (values on cluster ${deployed.cluster.name})`,
            [],
            found,
          );
        }
        for (const ref of found) references.push({ app, ref });
      }

      // A declared Secret on a cluster without a secrets provider is already reported (its
      // request goes unfulfilled, a warning): the application runs without it.
      const declared = new Set<string>();
      if (deployed.run.providers?.has('secrets') !== true) {
        for (const contribution of deployed.run.contributions?.values() ?? []) {
          for (const secret of contribution.secrets ?? []) {
            declared.add(`${secret.namespace}/${secret.name}`);
          }
        }
      }
      for (const { app, ref } of references) {
        if (declared.has(`${ref.namespace}/${ref.name}`)) continue;
        const keys = made.get(`${ref.namespace}/${ref.name}`);
        const what = `Secret ${ref.namespace}/${ref.name}${ref.key === undefined ? '' : ` (key "${ref.key}")`}`;
        if (keys === undefined) {
          issues.push(
            error({
              code: 'secret-references',
              path: app.origin,
              output: ref.output,
              value: `${ref.namespace}/${ref.name}`,
              message: `${app.name} references ${what} on cluster "${deployed.cluster.name}", which nothing makes: no Secret of the platform, no object of the secrets provider, no hand-made bootstrap secret`,
              expected: `the Secret declared by the component (its \`secrets\`, filled by the secrets provider) or listed as a bootstrap secret`,
            }),
          );
        } else if (ref.key !== undefined && !keys.has(ref.key)) {
          issues.push(
            error({
              code: 'secret-references',
              path: app.origin,
              output: ref.output,
              value: ref.key,
              message: `${app.name} reads key "${ref.key}" of Secret ${ref.namespace}/${ref.name} on cluster "${deployed.cluster.name}", which the Secret will not have (it gets ${
                [...keys]
                  .sort()
                  .map((key) => `"${key}"`)
                  .join(', ') || 'no keys'
              })`,
              expected: `"${ref.key}" among the keys the Secret is made with`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// Controllers start after the CRDs they look for

/**
 * Where `needle` first occurs in a file as whole lines (a runbook command is its own line, or
 * lines): its 1-based line, or undefined. A match inside a longer line is none: Cilium's `done`
 * (the end of its retry loop) is no command of another line that ends `...; done`.
 */
function lineOf(content: string, needle: string): number | undefined {
  let index = content.indexOf(needle);
  while (index !== -1) {
    const end = index + needle.length;
    const starts = index === 0 || content[index - 1] === '\n';
    const ends = end === content.length || content[end] === '\n';
    if (starts && ends) break;
    index = content.indexOf(needle, index + 1);
  }
  if (index === -1) return undefined;
  let line = 1;
  for (
    let at = content.indexOf('\n');
    at !== -1 && at < index;
    at = content.indexOf('\n', at + 1)
  ) {
    line++;
  }
  return line;
}

const CLUSTERS = 'clusters/';

/** The Markdown files (runbooks) under each cluster's folder `clusters/<name>/`, in file order. */
function runbooksByCluster(input: SystemInput): Map<string, GeneratedFile[]> {
  const out = new Map<string, GeneratedFile[]>(
    input.clusters.map((deployed) => [deployed.cluster.name, []]),
  );
  for (const file of input.files) {
    if (!file.path.startsWith(CLUSTERS) || !file.path.endsWith('.md')) continue;
    // Every folder `clusters/<name>/` that holds the file (whatever characters a name has).
    for (
      let slash = file.path.indexOf('/', CLUSTERS.length);
      slash !== -1;
      slash = file.path.indexOf('/', slash + 1)
    ) {
      out.get(file.path.slice(CLUSTERS.length, slash))?.push(file);
    }
  }
  return out;
}

/**
 * A component's CRD bundles (`crds`) are what its controller needs when it starts (the Cilium
 * operator looks for the Gateway API CRDs once, at start-up, and keeps Gateway API off until it
 * restarts): they come first, in the Argo CD waves and in the runbook that installs the
 * component by hand.
 */
export const crdsBeforeControllers: SystemCheck = {
  name: 'crds-before-controllers',
  description:
    "The CRD bundles a component needs (its `crds`: what its controller looks for when it starts) are installed, at the version it needs, before the component: in an earlier sync wave than the component's Application, and, where the runbook installs the component by hand, by an earlier runbook command.",
  check(input) {
    const issues: Issue[] = [];
    const runbooksOf = runbooksByCluster(input);
    for (const deployed of input.clusters) {
      const name = deployed.cluster.name;
      const runbooks = runbooksOf.get(name) ?? [];
      for (const [component, contribution] of deployed.run.contributions ?? []) {
        const bundles = contribution.crds ?? [];
        if (bundles.length === 0) continue;
        const app = deployed.applications.find(
          (candidate) => candidate.component === component && candidate.bundle === undefined,
        );
        for (const bundle of bundles) {
          const installer = deployed.applications.find(
            (candidate) => candidate.bundle !== undefined && candidate.name === bundle.name,
          );
          if (app !== undefined && (installer === undefined || installer.wave >= app.wave)) {
            issues.push(
              error({
                code: 'crds-before-controllers',
                path: app.origin,
                output: `Application ${app.application.metadata.name}`,
                value: bundle.name,
                message:
                  installer === undefined
                    ? `${app.name} needs the CRDs of ${bundle.name} when it starts on cluster "${name}", but no Application installs them`
                    : `${app.name} (wave ${app.wave}) needs the CRDs of ${bundle.name} when it starts on cluster "${name}", but they come in wave ${installer.wave}: its controller starts without them`,
                expected: `${bundle.name} in an earlier sync wave than ${app.name}`,
              }),
            );
          }
          // The version the component needs, not another one.
          const source = installer === undefined ? undefined : installer.application.spec;
          const revision =
            isTable(source) && isTable(source.source) ? source.source.targetRevision : undefined;
          if (installer !== undefined && revision !== bundle.source.targetRevision) {
            issues.push(
              error({
                code: 'crds-before-controllers',
                path: app?.origin ?? settingsPath(deployed.cluster, component),
                output: `Application ${installer.application.metadata.name}`,
                value: revision,
                message: `installs the CRDs of ${bundle.name} at revision ${String(revision)} on cluster "${name}", but ${component} needs ${bundle.version}`,
                expected: `spec.source.targetRevision ${bundle.source.targetRevision}`,
              }),
            );
          }
          // The runbook: the component's own commands (installing it by hand) after the bundle's.
          const commands = (contribution.bootstrap ?? [])
            .filter((step) => step.when !== 'after-handover')
            .flatMap((step) => step.commands);
          for (const runbook of runbooks) {
            const installed = commands
              .map((command) => lineOf(runbook.content, command))
              .filter((line): line is number => line !== undefined);
            if (installed.length === 0) continue;
            const first = Math.min(...installed);
            const bundleLines = bundle.install.map((command) => lineOf(runbook.content, command));
            const last = bundleLines.every((line) => line !== undefined)
              ? Math.max(...(bundleLines as number[]))
              : undefined;
            if (last !== undefined && last < first) continue;
            issues.push(
              error({
                code: 'crds-before-controllers',
                path: app?.origin ?? settingsPath(deployed.cluster, component),
                output: `${runbook.path}:${first}`,
                value: bundle.name,
                message:
                  last === undefined
                    ? `the runbook of cluster "${name}" installs ${component} by hand without installing the CRDs of ${bundle.name} first`
                    : `the runbook of cluster "${name}" installs ${component} (line ${first}) before the CRDs of ${bundle.name} (line ${last}): its controller starts without them`,
                expected: `the commands of ${bundle.name} (${bundle.install.join('; ')}) before ${component}'s`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

/**
 * Where a component has Talos' own CoreDNS disabled (`cluster.coreDNS.disabled`), the cluster has
 * no DNS from the bootstrap until the component that provides `dns` runs: nothing else answers
 * at the kubelets' `clusterDNS` address. Argo CD resolves the repository through it, so the
 * runbook installs the DNS provider by hand, and waits for it, before the GitOps controller; the
 * order of the steps otherwise follows only from the components' `needs` and `uses`.
 */
export const dnsBeforeGitops: SystemCheck = {
  name: 'dns-before-gitops',
  description:
    "Where Talos' own CoreDNS is disabled (a component's `disableCoreDns`), the component that provides `dns` exists on the cluster and the runbook installs it by hand, its install and wait (its step's commands, one after the other), before the GitOps controller's install: until then the cluster has no DNS, and Argo CD resolves the repository through it.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster, run } = deployed;
      const contributions = run?.contributions ?? new Map();
      const disabler = [...contributions].find(
        ([, contribution]) => contribution.talos?.disableCoreDns === true,
      )?.[0];
      if (disabler === undefined) continue;
      const gitops = run.providers?.get('gitops');
      if (gitops === undefined) continue;
      const path = runbookPath(cluster.name);
      const runbook = clusterRunbook(input, cluster.name);
      if (runbook === undefined) continue;
      // Each of a component's steps before the hand-over, found as the runbook has it: its
      // commands one after the other (a line such as `  | kubectl apply …` is in every install).
      const lines = runbook.split('\n');
      const stepsOf = (component: string) =>
        (contributions.get(component)?.bootstrap ?? [])
          .filter((step) => step.when === undefined && step.commands.length > 0)
          .map((step) => {
            const { commands } = step;
            for (let at = 0; at + commands.length <= lines.length; at++) {
              if (commands.every((command, offset) => lines[at + offset] === command)) {
                return { first: at + 1, last: at + commands.length };
              }
            }
            return undefined;
          });
      const gitopsSteps = stepsOf(gitops).filter((step) => step !== undefined);
      if (gitopsSteps.length === 0) continue;
      const installsGitops = Math.min(...gitopsSteps.map((step) => step.first));
      const dns = run.providers?.get('dns');
      const dnsSteps = dns === undefined ? [] : stepsOf(dns);
      const installed =
        dnsSteps.length > 0 && dnsSteps.every((step) => step !== undefined)
          ? Math.max(...dnsSteps.map((step) => step.last))
          : undefined;
      if (installed !== undefined && installed < installsGitops) continue;
      const consequence = `Talos' own CoreDNS is disabled (${disabler}), so ${gitops} would start with no DNS and never resolve the repository`;
      issues.push(
        error({
          code: 'dns-before-gitops',
          path: settingsPath(cluster, dns ?? disabler),
          output: `${path}:${installsGitops}`,
          value: dns ?? disabler,
          message:
            dns === undefined
              ? `cluster "${cluster.name}" has no component that provides "dns": ${consequence}`
              : installed === undefined
                ? `the runbook of cluster "${cluster.name}" installs ${gitops} (line ${installsGitops}) without installing the cluster DNS ${dns} by hand first: ${consequence}`
                : `the runbook of cluster "${cluster.name}" installs ${gitops} (line ${installsGitops}) before the cluster DNS ${dns} is installed and ready (line ${installed}): ${consequence}`,
          expected: `the commands of ${dns ?? 'a component that provides "dns"'} before ${gitops}'s`,
        }),
      );
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// .helmignore keeps the dependency archives

/** Go's `path/filepath.Match` pattern (Unix: `/` separates) as a regular expression, or undefined. */
function goPattern(pattern: string): RegExp | undefined {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      const next = pattern[++i];
      if (next === undefined) return undefined;
      out += next.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) return undefined;
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^/' : ''}${body.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  try {
    return new RegExp(`^${out}$`);
  } catch {
    return undefined;
  }
}

interface IgnoreRule {
  readonly line: number;
  readonly raw: string;
  readonly negate: boolean;
  readonly mustDir: boolean;
  readonly match: (path: string) => boolean;
}

/** The rules of a .helmignore, parsed as Helm 3.19 parses them (`pkg/ignore/rules.go`). */
function helmignoreRules(content: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  content.split('\n').forEach((text, index) => {
    let rule = text.trim();
    if (rule === '' || rule.startsWith('#') || rule.includes('**')) return;
    const raw = rule;
    const negate = rule.startsWith('!');
    if (negate) rule = rule.slice(1);
    const mustDir = rule.endsWith('/');
    if (mustDir) rule = rule.slice(0, -1);
    const base = !rule.includes('/');
    const regex = goPattern(rule.startsWith('/') ? rule.slice(1) : rule);
    if (regex === undefined) return;
    rules.push({
      line: index + 1,
      raw,
      negate,
      mustDir,
      match: (path) => regex.test(base ? (path.split('/').pop() ?? path) : path),
    });
  });
  return rules;
}

/** The rule that makes Helm ignore `path` (Helm's `Rules.Ignore`), or undefined when it keeps it. */
function ignoredBy(
  rules: readonly IgnoreRule[],
  path: string,
  isDir: boolean,
): IgnoreRule | undefined {
  for (const rule of rules) {
    if (rule.negate) {
      // Helm's reading of a negated rule: whatever it does not match is ignored.
      if ((rule.mustDir && !isDir) || !rule.match(path)) return rule;
      continue;
    }
    if (rule.mustDir && !isDir) continue;
    if (rule.match(path)) return rule;
  }
  return undefined;
}

/** Every generated chart's `.helmignore` keeps `charts/` and the dependency archives in it. */
export const helmignoreKeepsDependencies: SystemCheck = {
  name: 'helmignore-keeps-dependencies',
  description:
    'No generated chart\'s `.helmignore` makes Helm skip `charts/` or a dependency archive `charts/<name>-<version>.tgz` that `helm dependency build` puts there (Helm applies .helmignore to them too): the chart would fail with "found in Chart.yaml, but missing in charts/ directory".',
  check(input) {
    const issues: Issue[] = [];
    const origins = new Map<string, readonly PathSegment[]>();
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        const chart = chartPathOf(app);
        if (chart !== undefined && !origins.has(chart)) {
          origins.set(chart, app.bundle === undefined ? ['components', app.component] : []);
        }
      }
    }
    for (const file of input.files) {
      const match = /^(charts\/[^/]+)\/\.helmignore$/.exec(file.path);
      if (match === null) continue;
      const chart = match[1] as string;
      const manifest = parsedFile(input.files, `${chart}/Chart.yaml`);
      const dependencies = Array.isArray(manifest?.dependencies) ? manifest.dependencies : [];
      const rules = helmignoreRules(file.content);
      const kept: { path: string; isDir: boolean }[] = [
        ...(dependencies.length > 0 ? [{ path: 'charts', isDir: true }] : []),
        ...dependencies.flatMap((dependency) =>
          isTable(dependency) &&
          typeof dependency.name === 'string' &&
          typeof dependency.version === 'string'
            ? [{ path: `charts/${dependency.name}-${dependency.version}.tgz`, isDir: false }]
            : [],
        ),
      ];
      for (const { path, isDir } of kept) {
        const rule = ignoredBy(rules, path, isDir);
        if (rule === undefined) continue;
        issues.push(
          error({
            code: 'helmignore-keeps-dependencies',
            path: origins.get(chart) ?? [],
            output: `${file.path}:${rule.line}`,
            value: rule.raw,
            message: `makes Helm skip ${path}${isDir ? '/' : ''} when it loads ${chart}: every helm install and Argo CD sync fails with "found in Chart.yaml, but missing in charts/ directory"`,
            expected: 'no .helmignore rule that matches charts/ or charts/*.tgz',
          }),
        );
        break;
      }
    }
    return issues;
  },
};

/**
 * Every Application of a generated chart passes its cluster's two layers, the environment's
 * first. What an environment's clusters share lives in its layer (layers.ts), so an Application
 * without it, or with the two the other way round, would deploy other values than the ones the
 * build checked.
 */
export const applicationLayers: SystemCheck = {
  name: 'application-layers',
  description:
    "Every Application of a generated chart lists exactly `helm.valueFiles: [env/<its cluster's environment>.yaml, clusters/<its cluster>.yaml]`, in that order: what an environment's clusters share is in its layer, and a cluster's own values must win over it.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { name, environment } = deployed.cluster;
      const expected = [`env/${environment}.yaml`, `clusters/${name}.yaml`];
      for (const app of deployed.applications) {
        if (chartPathOf(app) === undefined) continue;
        const actual = valueFilesOf(app);
        if (actual.length === 2 && actual[0] === expected[0] && actual[1] === expected[1]) continue;
        issues.push(
          error({
            code: 'application-layers',
            path: app.origin,
            output: `Application ${app.application.metadata.name}`,
            value: actual,
            message: `passes the value files ${JSON.stringify(actual)} on cluster "${name}": Helm would render other values than the build checked`,
            expected: `helm.valueFiles: ${JSON.stringify(expected)}`,
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * Every object an Application applies client-side fits its annotations after Argo CD's tracking
 * id and kubectl's last-applied copy of it are added (apply-size.ts); otherwise the Application
 * must apply server-side. The Helm suite runs the same on what the upstream charts render.
 */
export const clientSideApplySize: SystemCheck = {
  name: 'client-side-apply-size',
  description:
    "Every object an Application applies client-side (no `ServerSideApply=true` or `Replace=true`) keeps its annotations within Kubernetes' 262144 bytes once Argo CD's tracking id and kubectl's last-applied-configuration copy of the object are added; a larger one fails every sync with `metadata.annotations: Too long`.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        const sources = new Map(app.objects.map(({ object, source }) => [object, source]));
        const oversized = oversizedClientSideApplies(
          app.application,
          app.objects.map(({ object }) => object),
          app.namespace,
        );
        for (const { object, bytes } of oversized) {
          issues.push(
            error({
              code: 'client-side-apply-size',
              path: app.origin,
              output: sources.get(object) ?? `Application ${app.application.metadata.name}`,
              value: `${object.kind}/${object.metadata.name}`,
              message: `${app.name} applies ${object.kind}/${object.metadata.name} client-side on cluster "${deployed.cluster.name}": with the last-applied-configuration copy of it its annotations come to ${bytes} bytes, over the ${ANNOTATIONS_LIMIT_BYTES} the API server accepts, so every sync fails with "metadata.annotations: Too long"`,
              expected: `ServerSideApply=true for ${app.name} (the component's \`serverSideApply\`), or a smaller ${object.kind}`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// What the runbook installs by hand, Argo CD adopts with every field (hand-over.ts)

const SERVER_SIDE_APPLY = /\bkubectl\s+apply\b.*\s--server-side\b/;
const GITOPS_MANAGER_FLAG = new RegExp(`\\s--field-manager(=|\\s+)${GITOPS_FIELD_MANAGER}(\\s|$)`);

/** A line of a Markdown file's code blocks, with its 1-based line number. */
interface CodeLine {
  readonly line: number;
  readonly text: string;
}

/** The lines of a Markdown file's code blocks, with their 1-based line numbers. */
function codeLines(content: string): CodeLine[] {
  const out: CodeLine[] = [];
  let inCode = false;
  content.split('\n').forEach((text, index) => {
    if (text.trimStart().startsWith('```')) {
      inCode = !inCode;
      return;
    }
    if (inCode) out.push({ line: index + 1, text });
  });
  return out;
}

/**
 * The shell command each code line belongs to: the line joined with those before it that end in
 * a backslash (a continued command), up to the line itself and those it continues into.
 */
function commandOfLines(lines: readonly CodeLine[]): Map<CodeLine, string> {
  const out = new Map<CodeLine, string>();
  let group: CodeLine[] = [];
  lines.forEach((line, index) => {
    group.push(line);
    // A backslash continues the command only onto the next line of the same block.
    const continued =
      line.text.trimEnd().endsWith('\\') && lines[index + 1]?.line === line.line + 1;
    if (continued) return;
    const command = group.map((member) => member.text.trimEnd().replace(/\\$/, '')).join(' ');
    for (const member of group) out.set(member, command);
    group = [];
  });
  for (const member of group) out.set(member, group.map((m) => m.text).join(' '));
  return out;
}

/** A command that pipes a Secret `kubectl create secret` prints (`--dry-run=client -o yaml`) on. */
const SECRET_MADE = /\bkubectl\b.*\bcreate\s+secret\b.*--dry-run=client\b.*\|/;
/** A `kubectl apply` that reads its objects from a pipe. */
const APPLY_FROM_PIPE = /\|\s*kubectl\s+apply\b[^|]*\s-f\s+-(\s|$)/;

/** `codeLines` of a file of the build, read once for the checks that ask. */
function fileCodeLines(input: SystemInput, file: GeneratedFile): readonly CodeLine[] {
  const { code } = reading(input.files);
  let lines = code.get(file);
  if (lines === undefined) {
    lines = codeLines(file.content);
    code.set(file, lines);
  }
  return lines;
}

/**
 * Where a GitOps controller adopts what the runbook installs by hand, every server-side
 * `kubectl apply` of the runbook applies as Argo CD's field manager: under kubectl's own manager
 * every field of the hand install would stay co-owned, and no later removal from Git would ever
 * reach the cluster (hand-over.ts).
 */
export const handOverFieldManager: SystemCheck = {
  name: 'hand-over-field-manager',
  description: `Where Argo CD adopts what the runbook installs by hand, every server-side \`kubectl apply\` of the runbook applies as Argo CD's field manager (\`--field-manager=${GITOPS_FIELD_MANAGER}\`): a field owned by kubectl's own manager stays when Argo CD stops applying it, so a field a later chart drops would never leave the cluster.`,
  check(input) {
    const issues: Issue[] = [];
    const runbooksOf = runbooksByCluster(input);
    for (const deployed of input.clusters) {
      // No Application: nothing adopts the hand installs.
      if (deployed.applications.length === 0) continue;
      for (const runbook of runbooksOf.get(deployed.cluster.name) ?? []) {
        const lines = fileCodeLines(input, runbook);
        const commands = commandOfLines(lines);
        for (const codeLine of lines) {
          const { line, text } = codeLine;
          if (!SERVER_SIDE_APPLY.test(text) || GITOPS_MANAGER_FLAG.test(text)) continue;
          // A hand-made Secret: Argo CD never adopts it (hand-made-secret-apply).
          if (SECRET_MADE.test(commands.get(codeLine) ?? text)) continue;
          issues.push(
            error({
              code: 'hand-over-field-manager',
              path: ['clusters', deployed.cluster.index],
              output: `${runbook.path}:${line}`,
              value: text.trim(),
              message: `the runbook of cluster "${deployed.cluster.name}" applies server-side as kubectl's field manager, so what it installs keeps fields Argo CD cannot remove when it adopts them`,
              expected: `--field-manager=${GITOPS_FIELD_MANAGER} on the apply (Argo CD's server-side field manager)`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * Every Secret a cluster's documents make by hand through `kubectl apply` is applied server-side:
 * a client-side apply copies the whole object, its values included, into the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation (hand-over.ts, `SECRET_APPLY`).
 */
export const handMadeSecretApply: SystemCheck = {
  name: 'hand-made-secret-apply',
  description:
    'Every Secret a code block of `clusters/<cluster>/*.md` makes with `kubectl create secret … --dry-run=client -o yaml` and pipes into `kubectl apply` is applied server-side (`--server-side`): a client-side apply stores the whole Secret, its values included, in the `kubectl.kubernetes.io/last-applied-configuration` annotation.',
  check(input) {
    const issues: Issue[] = [];
    const runbooksOf = runbooksByCluster(input);
    for (const deployed of input.clusters) {
      for (const document of runbooksOf.get(deployed.cluster.name) ?? []) {
        const lines = fileCodeLines(input, document);
        const commands = commandOfLines(lines);
        for (const codeLine of lines) {
          const command = commands.get(codeLine) ?? codeLine.text;
          // Report the line that holds the apply, once per command.
          if (!APPLY_FROM_PIPE.test(codeLine.text) || !SECRET_MADE.test(command)) continue;
          const apply = /\|\s*(kubectl\s+apply\b[^|]*)$/.exec(codeLine.text.trimEnd())?.[1] ?? '';
          if (/\s--server-side\b/.test(apply)) continue;
          issues.push(
            error({
              code: 'hand-made-secret-apply',
              path: ['clusters', deployed.cluster.index],
              output: `${document.path}:${codeLine.line}`,
              value: codeLine.text.trim(),
              message: `a document of cluster "${deployed.cluster.name}" applies a hand-made Secret client-side, which copies its values into the ${LAST_APPLIED_ANNOTATION} annotation`,
              expected: `${SECRET_APPLY} (server-side: no last-applied copy)`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// What an operator pastes into a terminal (runbook-shell.ts)

// The documents of each cluster and their blocks, read once per build for the checks that read
// them (a build's files and input are not changed once the checks run).
const RUNBOOKS = new WeakMap<SystemInput, Map<string, GeneratedFile[]>>();
const SHELL_BLOCKS = new WeakMap<GeneratedFile, readonly (readonly ShellLine[])[]>();

/** What a shell check says of one finding, after `where` (the block, its document and cluster). */
interface ShellFindingText {
  readonly value: string;
  readonly message: string;
  readonly expected: string;
}

/**
 * The issues `code` raises for the ```sh blocks of every cluster's documents: `analyse` finds what
 * is wrong in a block (each finding at its document line), `describe` says it (not where: the
 * issue's output is the document and line). `analyse` reads
 * each distinct block text once per call: the clusters' documents repeat a third of their blocks,
 * at other lines, and what it found elsewhere is moved to this block's lines (a block's lines are
 * consecutive, and a finding's `line` is the only place it holds).
 */
function shellBlockIssues<T extends { readonly line: number }>(
  input: SystemInput,
  code: string,
  analyse: (block: readonly ShellLine[]) => readonly T[],
  describe: (finding: T, where: string) => ShellFindingText,
): Issue[] {
  let runbooksOf = RUNBOOKS.get(input);
  if (runbooksOf === undefined) {
    runbooksOf = runbooksByCluster(input);
    RUNBOOKS.set(input, runbooksOf);
  }
  const read = new Map<string, { readonly first: number; readonly found: readonly T[] }>();
  const issues: Issue[] = [];
  for (const deployed of input.clusters) {
    for (const document of runbooksOf.get(deployed.cluster.name) ?? []) {
      let blocks = SHELL_BLOCKS.get(document);
      if (blocks === undefined) {
        blocks = shellBlocks(document.content);
        SHELL_BLOCKS.set(document, blocks);
      }
      blocks.forEach((block, index) => {
        const first = block[0]?.line ?? 0;
        const { text } = joinedBlock(block);
        let known = read.get(text);
        if (known === undefined) {
          known = { first, found: analyse(block) };
          read.set(text, known);
        }
        const where = `shell block ${index + 1} of ${document.path} (cluster "${deployed.cluster.name}")`;
        for (const found of known.found) {
          const line = found.line + first - known.first;
          issues.push(
            error({
              code,
              path: ['clusters', deployed.cluster.index],
              output: `${document.path}:${line}`,
              ...describe(found, where),
            }),
          );
        }
      });
    }
  }
  return issues;
}

/** A long command or loop, cut for an issue's value. */
function clipped(text: string): string {
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/**
 * A prompt (`read`) ends its ```sh block in every document of a cluster: the terminal feeds the
 * lines pasted after it into read's stdin, so the next command becomes the secret and the secret
 * typed later runs as a command.
 */
export const terminalReadAlone: SystemCheck = {
  name: 'terminal-read-alone',
  description:
    'Every `read` that prompts the operator (not fed by a pipe or a `while read` loop) in a ```sh block of `clusters/<cluster>/*.md`, and every command that takes the terminal over (`kubectl exec`/`attach`/`run` with `-i`, `kubectl edit`, `talosctl edit`, `talosctl dashboard`, a question on stdin (`talosctl kubeconfig` merging into a file without `--force`, `talosctl config remove` without `--noconfirm`, `kubectl delete -i`), a command that streams until Ctrl-C (`kubectl port-forward`, `kubectl proxy`, `kubectl logs -f`, `kubectl get -w`, `kubectl events -w`, `talosctl logs -f`, `talosctl dmesg -f`; the interrupt discards the rest of the paste), a `git commit` that opens the editor for its message, a git command that talks to a remote (`git push`, `fetch`, `pull`, `clone`, `ls-remote`: git and ssh may ask for credentials, a host key or a passphrase on the terminal, whatever its stdin), an `age` decryption or `age -p` (age asks for the passphrase of a protected identity file, SSH key or passphrase-encrypted file on /dev/tty), an `argocd login` or `argocd account update-password` that prompts for a password; unless fed by a pipe or a redirection, except the git remote commands, age and the streams, which read /dev/tty or never end whatever their stdin), is on the last line of its block, or on a line whose command list continues (`&&`, `||`, `|` or `\\` at its end) to that last line: pasted with lines after it, `read` takes the next line for the value and the value typed later runs as a command, the others get the lines typed into them, and the lines after a stream never run.',
  check(input) {
    return shellBlockIssues(
      input,
      'terminal-read-alone',
      (block) => {
        const read = readNotLast(block);
        return read === undefined ? [] : [read];
      },
      (read, where) => {
        const reader = terminalReader(read.text) ?? 'read';
        return {
          value: read.text.trim(),
          message:
            reader === 'read'
              ? `${where} prompts with \`read\` and goes on after it: pasted, the next line becomes the value and the value typed later runs as a command`
              : STREAMS.has(reader)
                ? `${where} runs \`${reader}\`, which holds the terminal until interrupted, and goes on after it: pasted, the lines after it wait until the operator presses Ctrl-C, and the interrupt discards them: they never run`
                : `${where} runs \`${reader}\`, which ${ASKING_READERS.has(reader) ? 'may read the terminal' : 'takes the terminal over'}, and goes on after it: pasted, the lines after it are typed into it (${READER_TAKES[reader as keyof typeof READER_TAKES]}) instead of run by the operator's shell`,
          expected:
            reader === 'read'
              ? "the read alone at the end of its own block (core readCommand, a component's `reads`), the commands that use it in the next block"
              : STREAMS.has(reader)
                ? `\`${reader}\` alone at the end of its own block (the operator stops it with Ctrl-C), or a form that ends by itself (\`kubectl logs\` without -f, \`kubectl wait --timeout=…\` for a watch)`
                : ASKING_READERS.has(reader)
                  ? `\`${reader}\` at the end of its block (what must run only after it chained to it with \`&&\`, on its line or on lines continued by a trailing \`&&\`: the shell reads the whole list before the command starts), the commands that follow it in the next block`
                  : `\`${reader}\` alone at the end of its own block, or a non-interactive form (a command after \`--\` without -i, input from a pipe, \`kubectl patch\` for an edit, \`talosctl kubeconfig --force\`, \`talosctl config remove --noconfirm\`, \`git commit -m\`, argocd's \`--password\`/\`--new-password\` from a prompt read in its own block)`,
        };
      },
    );
  },
};

const STREAMS: ReadonlySet<TerminalReader> = new Set(STREAMING_READERS);
const GIT_REMOTE_TAKES =
  'the prompts of git and ssh, for an HTTPS username and password where no credential helper answers, an unknown SSH host key or a key passphrase: the next lines are taken for the answers';

/** What the lines pasted after a command that takes the terminal over are typed into. */
const READER_TAKES: Record<
  Exclude<TerminalReader, 'read' | (typeof STREAMING_READERS)[number]>,
  string
> = {
  'kubectl exec -i': "the container's shell or process",
  'kubectl attach -i': "the container's shell or process",
  'kubectl run -i': "the container's shell or process",
  'kubectl edit': 'the editor',
  'talosctl edit': 'the editor',
  'talosctl dashboard': 'the dashboard',
  'talosctl kubeconfig':
    'its question whether to rename or overwrite a context the kubeconfig already holds (without --force): the next line is taken for the answer',
  'talosctl config remove':
    'its confirmation per context (without --noconfirm): the next line is taken for the answer',
  'kubectl delete -i': 'its confirmation: the next line is taken for the answer',
  'git commit': 'the editor git opens for the commit message',
  'git push': GIT_REMOTE_TAKES,
  'git fetch': GIT_REMOTE_TAKES,
  'git pull': GIT_REMOTE_TAKES,
  'git clone': GIT_REMOTE_TAKES,
  'git ls-remote': GIT_REMOTE_TAKES,
  'age --decrypt':
    'its passphrase prompt, for a passphrase-protected identity file or SSH key, or a passphrase-encrypted file: the next line is taken for the passphrase',
  'age --passphrase': 'its passphrase prompts: the next lines are taken for the passphrase',
  'argocd login': 'its username and password prompt: the next line is taken for the password',
  'argocd account update-password':
    'its password prompts: the next lines are taken for the passwords',
};

const ENDLESS_WAIT_SAYS: Record<EndlessWait['waits'], string> = {
  drain:
    '`kubectl drain` without a positive --timeout waits without end ("zero means infinite": a PodDisruptionBudget that never allows the eviction holds it for good)',
  'rollout status':
    '`kubectl rollout status` without a positive --timeout waits without end ("zero means never": a rollout that never completes holds it for good)',
  delete:
    '`kubectl delete` without a positive --timeout waits until the objects are gone, for up to a week (a zero --timeout is a week: a finalizer nothing removes, a pod on an unreachable node, an Application whose resources Argo CD cannot delete holds it)',
  wait: '`kubectl wait` with a negative --timeout waits for a week ("negative means wait for a week")',
  curl: '`curl` without a --max-time waits without end for a server that accepted the connection and never answers (curl sets no limit by default)',
};

const ENDLESS_WAIT_FIX: Record<EndlessWait['waits'], string> = {
  drain:
    'a --timeout on the command (e.g. `--timeout=5m`), after which kubectl fails with what it still waited for and the && chain stops',
  'rollout status':
    'a --timeout on the command (e.g. `--timeout=10m`), after which kubectl fails with what it still waited for and the && chain stops',
  delete:
    'a --timeout on the command (e.g. `--timeout=2m`), after which kubectl fails with what it still waited for and the && chain stops, or `--wait=false` where a later bounded wait checks the outcome',
  wait: 'a positive --timeout on the command (e.g. `--timeout=10m`), after which kubectl fails with what it still waited for and the && chain stops',
  curl: 'a --max-time on the command (e.g. `--max-time 30`), after which curl fails (exit 28) and the && chain stops',
};

/**
 * Every wait loop (an `until` or `while` loop that sleeps) in a cluster's documents has a bound:
 * a wait for what never happens would otherwise leave the operator at a silent terminal.
 */
export const boundedWaits: SystemCheck = {
  name: 'bounded-waits',
  description:
    'Every `until`/`while` loop that sleeps in a ```sh block of `clusters/<cluster>/*.md` tests a deadline or a counter (core boundedWait: `[ "$(date +%s)" -ge "$deadline" ]`) and so ends, with a message, when what it waits for does not happen; every `kubectl rollout status`, `kubectl drain` and `kubectl delete` (unless `--wait=false`) there has a positive `--timeout` and every `curl` a non-zero `--max-time` (without one, each waits without end, a delete for a week).',
  check(input) {
    return shellBlockIssues(
      input,
      'bounded-waits',
      (block): (WaitLoop | EndlessWait)[] => [
        ...waitLoops(block).filter((loop) => !loop.bounded),
        ...endlessWaits(block),
      ],
      (found, where) =>
        'waits' in found
          ? {
              value: clipped(found.text),
              message: `${where}: ${ENDLESS_WAIT_SAYS[found.waits]}, and the terminal with it`,
              expected: ENDLESS_WAIT_FIX[found.waits],
            }
          : {
              value: clipped(found.text),
              message: `${where} waits in a loop with no deadline: if what it waits for never happens, the terminal waits forever without a word`,
              expected:
                "the wait rendered by core's boundedWait (a deadline from WAIT_SECONDS, a message saying what did not happen and where to look, then a non-zero status)",
            },
    );
  },
};

/**
 * No ```sh block of a cluster's documents holds a `#` comment: zsh, the login shell of macOS,
 * does not read comments typed or pasted on its prompt (INTERACTIVE_COMMENTS is off by default)
 * and runs `#` as a command, the rest of the line its arguments: a comment line fails with
 * "command not found: #", and a comment after a command hands its words to that command
 * (`… | head -n 1   # 301 to https` makes head read files named `#`, `301`, `to`, `https`; an
 * assignment `CLAIM=… # …` sets CLAIM for the `#` command only).
 */
export const shellComments: SystemCheck = {
  name: 'shell-comments',
  description:
    "No ```sh block of `clusters/<cluster>/*.md` holds a `#` comment (a word starting with `#` outside quotes): zsh, the login shell of macOS, runs `#` as a command on its prompt (INTERACTIVE_COMMENTS is off by default), so a pasted comment fails and a comment after a command becomes that command's arguments. What a comment would say goes in the prose around the block (a step's `body` or `after`).",
  check(input) {
    return shellBlockIssues(input, 'shell-comments', commentLines, (line, where) => ({
      value: line.text.trim(),
      message: `${where} holds a # comment: pasted into zsh (macOS' login shell, which does not read comments on its prompt) the # runs as a command, and a comment after a command becomes that command's arguments`,
      expected:
        "what the comment says in the prose before or after the block (a step's body or after), the block only commands",
    }));
  },
};

/**
 * A guard (`: "${VAR:?message}"`, core requireVariable) in a ```sh block of a cluster's documents
 * is chained to what it guards: at the end of a line that is not the block's last, it stops
 * nothing (an interactive shell prints its message, aborts that line alone and runs the next).
 */
export const guardsChained: SystemCheck = {
  name: 'guards-chained',
  description:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
    'No line of a ```sh block of `clusters/<cluster>/*.md` ends with a guard (`: "${VAR:?message}"`, core `requireVariable`) and goes on to another line without chaining it with `&&`: in an interactive shell a failed guard prints its message and aborts only its own line (and a list that line continues with a trailing `&&`); bash and zsh then run the next pasted line, which the guard was there to stop.',
  check(input) {
    return shellBlockIssues(input, 'guards-chained', unchainedGuards, (line, where) => ({
      value: line.text.trim(),
      message: `${where} checks a variable at the end of a line and goes on after it unchained: pasted into an interactive shell, a failed check prints its message and the next lines run anyway (bash and zsh abort only the line that failed)`,
      expected:
        'the check followed by `&&` and what it guards (on its line, or on the next lines of a list continued by a trailing `&&`), or the check last in its block',
    }));
  },
};

/** `kubectl cordon <node>` / `kubectl drain <node>`: the node word. */
const CORDONS = /\bkubectl\s+(?:cordon|drain)\s+(?:-\S+\s+)*([^\s&|;-][^\s&|;]*)/g;
/** `kubectl uncordon <node>` / `kubectl delete node <node>`: the node word. */
const UNCORDONS = /\bkubectl\s+(?:uncordon|delete\s+nodes?)\s+(?:-\S+\s+)*([^\s&|;-][^\s&|;]*)/g;
const TALOS_HEALTH = /\btalosctl\b[^|;&]*\bhealth\b/;

/**
 * The lines of a ```sh block that run `talosctl health` while the block has cordoned a node
 * (`kubectl cordon` or `kubectl drain`) it has not uncordoned or deleted yet, in line order.
 */
export function healthWhileCordoned(
  block: readonly ShellLine[],
): { readonly line: number; readonly text: string; readonly nodes: readonly string[] }[] {
  const cordoned = new Set<string>();
  const found: { line: number; text: string; nodes: string[] }[] = [];
  for (const { line, text } of block) {
    const events: { at: number; node: string; on: boolean }[] = [];
    for (const match of text.matchAll(CORDONS))
      events.push({ at: match.index ?? 0, node: match[1] as string, on: true });
    for (const match of text.matchAll(UNCORDONS))
      events.push({ at: match.index ?? 0, node: match[1] as string, on: false });
    const health = TALOS_HEALTH.exec(text);
    const before = (at: number) => health === null || at < health.index;
    for (const event of events.filter((e) => before(e.at)).sort((a, b) => a.at - b.at)) {
      if (event.on) cordoned.add(event.node);
      else cordoned.delete(event.node);
    }
    if (health !== null && cordoned.size > 0) {
      found.push({ line, text, nodes: [...cordoned].sort(compareStrings) });
    }
    for (const event of events.filter((e) => !before(e.at)).sort((a, b) => a.at - b.at)) {
      if (event.on) cordoned.add(event.node);
      else cordoned.delete(event.node);
    }
  }
  return found;
}

/**
 * No `talosctl health` runs while its block keeps a node cordoned: Talos' health checks include
 * "all k8s nodes to report schedulable" (siderolabs/talos v1.12.11 and v1.13.9
 * pkg/cluster/check/default.go, `K8sAllNodesSchedulableAssertion` in kubernetes.go: any node with
 * `spec.unschedulable`), run by `talosctl health` on the server
 * (machined's `ClusterServer.HealthCheck` waits on `DefaultClusterChecks`), and no flag skips it.
 * So a rolling reboot or upgrade chained `drain && reboot && health && uncordon` fails its health
 * check after five minutes, never uncordons the node, and Longhorn then schedules no replica on
 * it (`disable-scheduling-on-cordoned-node`, true by default): the next node's drain leaves
 * volumes degraded.
 */
export const healthWhileCordonedCheck: SystemCheck = {
  name: 'health-while-cordoned',
  description:
    'No `talosctl health` in a ```sh block of `clusters/<cluster>/*.md` runs while that block has cordoned a node (`kubectl cordon` or `kubectl drain`) it has not uncordoned (`kubectl uncordon`) or deleted (`kubectl delete node`) yet: Talos\' health checks include "all k8s nodes to report schedulable" (v1.12/v1.13 pkg/cluster/check `K8sAllNodesSchedulableAssertion`), which no flag skips, so the check fails after five minutes with the node cordoned, and a block chaining the uncordon after it leaves the node cordoned (Longhorn then schedules no replica there).',
  check(input) {
    return shellBlockIssues(
      input,
      'health-while-cordoned',
      healthWhileCordoned,
      (found, where) => ({
        value: clipped(found.text.trim()),
        message: `${where} runs \`talosctl health\` while node ${found.nodes.map((node) => `"${node}"`).join(', ')} is cordoned: Talos' health check waits for every node to be schedulable and fails after five minutes, so what it guards (the uncordon) never runs`,
        expected: 'the node uncordoned (`kubectl uncordon <node>`) before `talosctl health`',
      }),
    );
  },
};

const ZSH_EXPANSION_SAYS: Record<ZshExpansion, string> = {
  glob: 'a file pattern: with no file of that name in the folder it is pasted in, zsh stops with "no matches found" (or "bad pattern"), where bash passes the word on as written',
  equals:
    'the path of the command it names (EQUALS): "= not found" for `==`, "<name> not found" for any other',
  tilde: 'a named directory: "no such user or named directory" unless a user of that name exists',
};

/**
 * No word of a ```sh block of a cluster's documents is one that zsh, the login shell of macOS,
 * expands where bash passes it on (`zshExpandedWords`): an unquoted `*`, `?` or `[` (NOMATCH:
 * "no matches found"), a word starting with `=` (EQUALS), `~name`.
 */
export const zshExpansions: SystemCheck = {
  name: 'zsh-expansions',
  description:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
    'No word of a ```sh block of `clusters/<cluster>/*.md` is one zsh, the login shell of macOS, expands where bash passes it on as written: an unquoted `*`, `?` or `[` is a file pattern, and with no file of that name zsh stops with "no matches found" (NOMATCH is on by default; `kubectl get pods -o jsonpath={.items[*].metadata.name}`, a URL with `?`); a word starting with `=` is a command\'s path (`[ a == b ]` fails with "= not found"); `~name` is a named directory. Quoted text, `$*`, `$?`, `[[ … ]]`, arithmetic, `case` patterns, assignments\' values and the patterns of `${x#*/}` are none.',
  check(input) {
    return shellBlockIssues(input, 'zsh-expansions', zshExpandedWords, (found, where) => ({
      value: found.word,
      message: `${where}: the word \`${found.word}\` with an unquoted ${found.character} is, pasted into zsh (macOS' login shell), ${ZSH_EXPANSION_SAYS[found.expansion]}`,
      expected: `the word quoted ('…', or "…" around \`$\` expansions), as bash and zsh read it alike`,
    }));
  },
};

/**
 * The scripts an object may hold: the commands and arguments of its pod's containers (init and
 * ephemeral ones too), and a ConfigMap's data (a script mounted as a file).
 */
function scriptsOf(object: KubeObject): string[] {
  const found: string[] = [];
  const strings = (value: unknown): void => {
    if (typeof value === 'string') found.push(value);
    else if (Array.isArray(value)) for (const item of value) strings(item);
  };
  if (object.kind === 'ConfigMap' && object.apiVersion === 'v1') {
    const data = (object as { data?: unknown }).data;
    if (typeof data === 'object' && data !== null)
      for (const item of Object.values(data)) strings(item);
    return found;
  }
  const spec = podTemplateOf(object)?.spec;
  for (const { raw } of spec === undefined ? [] : containers(spec)) {
    strings(raw.command);
    strings(raw.args);
  }
  return found;
}

const AWK_EQUALITY_SAYS =
  "compares its two sides as numbers when both read as numbers (a field, a `-v` value, a variable holding one): a name such as `1e1` equals `10`, `1.0` equals `1`, and BusyBox's awk finds `46e40205` (too large for a double), `nan` and `inf` unequal to themselves and `0x1a` equal to `26`";

/**
 * No awk program in a ```sh block of a cluster's documents, nor in a script of an object its
 * Applications apply (a container's command or arguments, a ConfigMap's data), tests two values that may both be
 * numeric strings for equality (`awkNumericEqualities`): POSIX awk compares them as numbers.
 */
export const awkNumericEquality: SystemCheck = {
  name: 'awk-numeric-equality',
  description:
    "No awk program of a ```sh block of `clusters/<cluster>/*.md` or of a script an Application applies (a container's command or arguments, a ConfigMap's data) tests two values for equality (`==`, `!=`) that may both be numeric strings (a field, a `-v` value, a variable, an array element): POSIX awk compares them as numbers, so a node, claim or snapshot id that reads as a number matches another (`1e1` equals `10`) or, in BusyBox's awk, not itself (`46e40205`). A side concatenated with `\"\"` is compared as a string; one with `+ 0` as a number.",
  check(input) {
    const expected =
      'a string comparison, a side concatenated with "" (`$1 "" == name`); or, where numbers are meant, a number comparison made explicit (`$1 + 0 == count`)';
    const issues = shellBlockIssues(
      input,
      'awk-numeric-equality',
      (block) => {
        if (!block.some((entry) => entry.text.includes('awk'))) return [];
        const { text, lineAt } = joinedBlock(block);
        return awkPrograms(text).flatMap((awk) =>
          awkNumericEqualities(awk.program).map((found) => ({
            line: lineAt(awk.textOffset(found.offset)),
            text: found.text,
          })),
        );
      },
      (found, where) => ({
        value: found.text,
        message: `${where}: the awk test \`${found.text}\` ${AWK_EQUALITY_SAYS}`,
        expected,
      }),
    );
    // A script recurs (each volume's verification, each cluster): read once per build.
    const read = new Map<string, AwkEquality[]>();
    const equalitiesOf = (text: string): AwkEquality[] => {
      let found = read.get(text);
      if (found === undefined) {
        found = awkPrograms(text).flatMap((awk) => awkNumericEqualities(awk.program));
        read.set(text, found);
      }
      return found;
    };
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          for (const text of scriptsOf(object)) {
            for (const found of equalitiesOf(text)) {
              issues.push(
                error({
                  code: 'awk-numeric-equality',
                  path: app.origin,
                  output: source,
                  value: found.text,
                  message: `${object.kind} ${object.metadata.name} of Application ${app.name} (cluster "${deployed.cluster.name}"): the awk test \`${found.text}\` in a script ${AWK_EQUALITY_SAYS}`,
                  expected,
                }),
              );
            }
          }
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// The root Application pins its children to the revision it follows

/** What Argo CD's repo-server replaces with an Application's own `targetRevision` (build environment). */
export const ROOT_TARGET_REVISION = '$ARGOCD_APP_SOURCE_TARGET_REVISION';

/** The Helm `--set` parameter naming `manifests.<key>.spec.source.targetRevision`. */
export function rootRevisionParameter(key: string): string {
  return `manifests.${key.replace(/[\\.,]/g, (character) => `\\${character}`)}.spec.source.targetRevision`;
}

/** Where a cluster's root Application is written. */
function rootApplicationFile(deployed: DeployedCluster): string {
  return `clusters/${deployed.cluster.name}/root-application.yaml`;
}

/** The root Application of a cluster's root file (its AppProjects aside). */
function rootApplicationIn(file: GeneratedFile): KubeObject | undefined {
  return fileDocuments(file).find(
    (document): document is KubeObject =>
      isTableValue(document) &&
      document.apiVersion === 'argoproj.io/v1alpha1' &&
      document.kind === 'Application',
  );
}

/**
 * Every Application the root Application renders from the platform repository is pinned by a
 * root Helm parameter to the revision the root follows. Argo CD v3.4 substitutes its build
 * environment in Helm parameter values (`reposerver/repository/repository.go`, `env.Envsubst`),
 * `$ARGOCD_APP_SOURCE_TARGET_REVISION` being the root's own `spec.source.targetRevision`; without
 * the parameter, a child deploys the `targetRevision` committed in the values, which at a tagged
 * commit is the pin of that time (usually `main`): the tag would pin the root only. A parameter
 * for a key the layers do not hold makes Helm add a `manifests` entry without `kind`: the chart's
 * schema refuses it and the root never syncs.
 */
export const rootRevisionParameters: SystemCheck = {
  name: 'root-revision-parameters',
  description:
    "Every Application the root Application renders from the platform repository has its `spec.source.targetRevision` set by a root Helm parameter to `$ARGOCD_APP_SOURCE_TARGET_REVISION` (forceString), the revision the root follows, and every such parameter names an Application of the root's chart: a tag pin then holds for the whole platform, the root and its children never follow different revisions.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const rootFile = rootApplicationFile(deployed);
      const file = generatedFile(input, rootFile);
      if (file === undefined) continue;
      const root = rootApplicationIn(file);
      const spec = isTableValue(root?.spec) ? root.spec : {};
      const source = isTableValue(spec.source) ? spec.source : {};
      const helm = isTableValue(source.helm) ? source.helm : {};
      const valueFiles = Array.isArray(helm.valueFiles) ? helm.valueFiles.map(String) : [];
      const layers = valueFiles.flatMap((valueFile) => {
        const layer = generatedFile(input, `${String(source.path)}/${valueFile}`);
        const values = layer === undefined ? undefined : fileValues(layer);
        return isTableValue(values) ? [values as Values] : [];
      });
      const manifests = mergeValues(...layers).manifests;
      const children = isTableValue(manifests) ? manifests : {};
      const parameters = new Map<string, { [key: string]: unknown }>();
      for (const parameter of Array.isArray(helm.parameters) ? helm.parameters : []) {
        if (isTableValue(parameter)) parameters.set(String(parameter.name), parameter);
      }
      const output = `${rootFile}#Application.spec.source.helm.parameters`;
      const origin = (name: string): readonly PathSegment[] =>
        deployed.applications.find((app) => app.application.metadata.name === name)?.origin ?? [
          'clusters',
          deployed.cluster.index,
        ];
      const pinned = new Set<string>();
      for (const key of Object.keys(children).sort()) {
        const child = children[key];
        if (!isTableValue(child) || child.kind !== 'Application') continue;
        const childSpec = isTableValue(child.spec) ? child.spec : {};
        const childSource = isTableValue(childSpec.source) ? childSpec.source : {};
        if (childSource.repoURL !== source.repoURL) continue;
        const name = rootRevisionParameter(key);
        pinned.add(name);
        const parameter = parameters.get(name);
        if (parameter?.value === ROOT_TARGET_REVISION && parameter.forceString === true) continue;
        const childName = isTableValue(child.metadata) ? String(child.metadata.name) : key;
        issues.push(
          error({
            code: 'root-revision-parameters',
            path: origin(childName),
            output,
            value: parameter === undefined ? name : `${name}=${String(parameter.value)}`,
            message: `Application ${childName} on cluster "${deployed.cluster.name}" is not pinned to the revision its root Application follows: it would deploy the targetRevision committed in the values ("${String(childSource.targetRevision)}"), which at a tagged commit is the revision of that time, not the tag`,
            expected: `a root Helm parameter ${name} = ${ROOT_TARGET_REVISION}, forceString: true`,
          }),
        );
      }
      for (const name of [...parameters.keys()].sort()) {
        if (pinned.has(name) || !name.startsWith('manifests.')) continue;
        issues.push(
          error({
            code: 'root-revision-parameters',
            path: ['clusters', deployed.cluster.index],
            output,
            value: name,
            message: `names no Application of the platform repository in ${String(source.path)} on cluster "${deployed.cluster.name}": Helm would add a manifests entry without a kind, which the chart's schema refuses, and the root would never sync`,
            expected: 'a parameter per Application of the root chart, none for another key',
          }),
        );
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// The runbook's way to move a root to another revision works on the root file the build writes

/**
 * The runbook's compare line ("Moving this cluster to another revision"): the parameter names of
 * the revision's own root file and of the one built now, `diff`ed, the root applied only when equal.
 */
const REVISION_DIFF =
  /^diff <\(git show ('(?:[^']|'\\'')*'|\S+) \| grep -o ('(?:[^']|'\\'')*'|\S+)\) <\(grep -o \2 ('(?:[^']|'\\'')*'|\S+)\) && kubectl apply -f ('(?:[^']|'\\'')*'|\S+)$/;

/** Its fallback: the revision's own root file, the revision put in with `sed`, applied. */
const REVISION_SHOW =
  /^git show ('(?:[^']|'\\'')*'|\S+) \| sed ('(?:[^']|'\\'')*'|\S+) \| kubectl apply -f -$/;

/** A basic regular expression of the subset the runbook writes (`^`, `.`, `*`, `[...]`, `\.`). */
function basicRegex(pattern: string, flags: string): RegExp | undefined {
  if (/\\[^.]|[+?(){}|$]/.test(pattern.replace(/\$$/, ''))) return undefined;
  try {
    return new RegExp(pattern, flags);
  } catch {
    return undefined;
  }
}

/** `sed 's|re|replacement|'` on text, line by line: the new text and how many lines it changed. */
function sedSubstitute(
  expression: string,
  text: string,
  /** Put in place of the expression's replacement (taken literally). */
  literal?: string,
): { text: string; hits: number } | undefined {
  if (!expression.startsWith('s|')) return undefined;
  const parts: string[] = [''];
  for (let i = 2; i < expression.length; i++) {
    const char = expression[i] as string;
    if (char === '\\' && i + 1 < expression.length) {
      parts[parts.length - 1] += char + expression[i + 1];
      i++;
    } else if (char === '|') parts.push('');
    else parts[parts.length - 1] += char;
  }
  if (parts.length !== 3 || parts[2] !== '') return undefined;
  const regex = basicRegex((parts[0] as string).replace(/\\\|/g, '|'), '');
  if (regex === undefined) return undefined;
  const replacement = parts[1] as string;
  let hits = 0;
  const lines = text.split('\n').map((line) => {
    const match = regex.exec(line);
    if (match === null) return line;
    hits++;
    const put =
      literal ??
      replacement.replace(/\\(.)|&/g, (_whole, escaped: string | undefined) =>
        escaped !== undefined ? escaped : match[0],
      );
    return line.slice(0, match.index) + put + line.slice(match.index + match[0].length);
  });
  return { text: lines.join('\n'), hits };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What the check's sed puts in place of the line it changes: the root at revision `sentinel`. */
export const SENTINEL_LINE = '    targetRevision: sentinel';

/** Comment lines only (the generated header), printable ASCII: YAML reads them as nothing. */
const COMMENT_LINES = /^(?:#[\x20-\x7e]*\n)*$/;

/** A revision whose JSON string is a YAML double-quoted scalar of the same string. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * `parseAllDocuments` of a root file changed by the runbook's sed: `after` with the revision's
 * line (`sedText`), `moved` with `SENTINEL_LINE` (`sentinelText`), shown without parsing (two
 * parses per cluster were most of the check's time), else `undefined` and the caller parses.
 *
 * The emitter's text reads back as the copy it returns (emitted.ts), and comment lines before it
 * read as nothing. So `documents` are emitted twice, their first Application's
 * spec.source.targetRevision set to `sentinel`, then to `revision`: `moved` is shown when
 * `sentinelText` is the first emission after comment lines. When the two emissions differ in one
 * line only, `    targetRevision: <scalar>`, that line holds the value and nothing else (a
 * complete one-line `key: scalar`, the lines after it read the same); `after` is shown when
 * `sedText` is the second emission with that scalar written as the revision's JSON string, the
 * runbook's form (for printable ASCII, a YAML double-quoted scalar of the same string).
 * Exported for its tests only (not by the package index).
 */
export function sedDocuments(
  documents: readonly unknown[],
  revision: string,
  sedText: string,
  sentinelText: string,
): { after: unknown[]; moved: unknown[] } | undefined {
  const index = documents.findIndex(
    (document) => isTableValue(document) && document.kind === 'Application',
  );
  const root = documents[index];
  if (!isTableValue(root) || !isTableValue(root.spec) || !isTableValue(root.spec.source)) {
    return undefined;
  }
  if (!PRINTABLE_ASCII.test(revision)) return undefined;
  const { spec } = root;
  const source = root.spec.source;
  const emit = (targetRevision: string) => {
    const changed = { ...root, spec: { ...spec, source: { ...source, targetRevision } } };
    try {
      return toYamlDocumentsWithData(documents.map((doc, i) => (i === index ? changed : doc)));
    } catch {
      return undefined;
    }
  };
  const moved = emit('sentinel');
  const after = emit(revision);
  if (moved === undefined || after === undefined) return undefined;
  if (!sentinelText.endsWith(moved.text)) return undefined;
  const header = sentinelText.slice(0, sentinelText.length - moved.text.length);
  if (!COMMENT_LINES.test(header)) return undefined;
  const movedLines = moved.text.split('\n');
  const afterLines = after.text.split('\n');
  if (movedLines.length !== afterLines.length) return undefined;
  const differ = movedLines.flatMap((line, i) => (line === afterLines[i] ? [] : [i]));
  const line = differ[0] ?? -1;
  const key = '    targetRevision: ';
  const written = afterLines[line];
  if (
    differ.length !== 1 ||
    movedLines[line] !== SENTINEL_LINE ||
    (written !== key + revision && written !== key + JSON.stringify(revision))
  ) {
    return undefined;
  }
  afterLines[line] = key + JSON.stringify(revision);
  if (sedText !== header + afterLines.join('\n')) return undefined;
  return { after: after.data, moved: moved.data };
}

export const rootRevisionMove: SystemCheck = {
  name: 'root-revision-move',
  description:
    "Where a cluster has a root Application, its runbook's \"Moving this cluster to another revision\" compares the root file's Helm parameters with those of the revision's own root file (`git show <revision>:clusters/<cluster>/root-application.yaml`) with a `grep -o` that finds exactly the root's parameter names, applies the root file only when they match, and otherwise applies the revision's own root with a `sed` that changes the root Application's `spec.source.targetRevision` to the root's revision and nothing else: the parameters come from the definition being built, the keys from charts/platform at the revision, and a parameter for a key the revision lacks makes the root's render fail its schema.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const rootFile = rootApplicationFile(deployed);
      const file = generatedFile(input, rootFile);
      const runbook = generatedFile(input, runbookPath(deployed.cluster.name));
      if (file === undefined || runbook === undefined) continue;
      const documents = fileDocuments(file);
      const root = documents.find(
        (document): document is KubeObject =>
          isTableValue(document) &&
          document.apiVersion === 'argoproj.io/v1alpha1' &&
          document.kind === 'Application',
      );
      const source =
        isTableValue(root?.spec) && isTableValue(root.spec.source) ? root.spec.source : {};
      const revision = String(source.targetRevision);
      const helm = isTableValue(source.helm) ? source.helm : {};
      const parameters = (Array.isArray(helm.parameters) ? helm.parameters : [])
        .map((parameter) => (isTableValue(parameter) ? String(parameter.name) : ''))
        .filter((name) => name.startsWith('manifests.'))
        .sort(compareStrings);
      const shown = `${revision}:${rootFile}`;
      const at = (line: number | undefined) => ({
        code: 'root-revision-move',
        path: ['clusters', deployed.cluster.index] as PathSegment[],
        output:
          line === undefined
            ? runbookPath(deployed.cluster.name)
            : `${runbookPath(deployed.cluster.name)}:${line}`,
      });
      const lines = fileCodeLines(input, runbook);
      // The expressions start with these words: most lines are passed without running them.
      const compare = lines.flatMap(({ line, text }) => {
        const match = text.startsWith('diff <(git show ') ? REVISION_DIFF.exec(text) : null;
        return match === null ? [] : [{ line, match }];
      });
      const show = lines.flatMap(({ line, text }) => {
        const match = text.startsWith('git show ') ? REVISION_SHOW.exec(text) : null;
        return match === null ? [] : [{ line, match }];
      });
      if (compare.length === 0 || show.length === 0) {
        issues.push(
          error({
            ...at(undefined),
            value: rootFile,
            message: `the runbook of cluster "${deployed.cluster.name}" has no ${compare.length === 0 ? "comparison of the root's Helm parameters with the revision's own root file" : "command that applies the revision's own root file"}: moving the root to a revision with other Applications would apply parameters for keys its charts/platform lacks`,
            expected: `\`diff <(git show ${shown} | grep -o …) <(grep -o … ${rootFile}) && kubectl apply -f ${rootFile}\` and \`git show ${shown} | sed … | kubectl apply -f -\``,
          }),
        );
        continue;
      }
      for (const { line, match } of compare) {
        const [, showWord, grepWord, localWord, applyWord] = match as unknown as string[];
        const words = [showWord, localWord, applyWord].map((word) => unquoteShell(word as string));
        if (words[0] !== shown || words[1] !== rootFile || words[2] !== rootFile) {
          issues.push(
            error({
              ...at(line),
              value: words.join(' '),
              message: `compares or applies another file than the root of cluster "${deployed.cluster.name}" at its revision "${revision}"`,
              expected: `${shown}, ${rootFile}, ${rootFile}`,
            }),
          );
          continue;
        }
        const regex = basicRegex(unquoteShell(grepWord as string), 'g');
        const found =
          regex === undefined
            ? undefined
            : // grep reads line by line
              file.content
                .split('\n')
                .flatMap((text) => [...text.matchAll(regex)].map((m) => m[0]))
                .sort(compareStrings);
        if (found === undefined || !sameJson(found, parameters)) {
          issues.push(
            error({
              ...at(line),
              value: found === undefined ? unquoteShell(grepWord as string) : found.join(' '),
              message: `the grep finds other names than the root's Helm parameters in ${rootFile}: the comparison would miss a parameter the revision lacks`,
              expected: parameters.join(' ') || 'no parameter',
            }),
          );
        }
      }
      for (const { line, match } of show) {
        const [, showWord, sedWord] = match as unknown as string[];
        const expression = unquoteShell(sedWord as string);
        const result =
          unquoteShell(showWord as string) === shown
            ? sedSubstitute(expression, file.content)
            : undefined;
        let problem: string | undefined;
        if (result === undefined)
          problem = `it does not apply ${shown} through a sed substitution the check can read`;
        else if (result.hits !== 1)
          problem = `its sed changes ${result.hits} lines of ${rootFile}, not the root's targetRevision alone`;
        else {
          // The same line with another revision: only the root's targetRevision may move.
          const sentinel = sedSubstitute(expression, file.content, SENTINEL_LINE);
          let after: unknown[] = [];
          let moved: unknown[] = [];
          try {
            const known =
              sentinel === undefined
                ? undefined
                : sedDocuments(documents, revision, result.text, sentinel.text);
            after = known?.after ?? parseAllDocuments(result.text);
            moved = known?.moved ?? parseAllDocuments(sentinel?.text ?? '');
          } catch {
            after = [];
          }
          const movedRoot = moved.find(
            (document): document is KubeObject =>
              isTableValue(document) && document.kind === 'Application',
          );
          const movedSource =
            isTableValue(movedRoot?.spec) && isTableValue(movedRoot.spec.source)
              ? movedRoot.spec.source
              : undefined;
          const wasSentinel = movedSource?.targetRevision === 'sentinel';
          if (movedSource !== undefined) movedSource.targetRevision = revision;
          if (!sameJson(after, documents) || !wasSentinel || !sameJson(moved, documents)) {
            problem = `its sed does not set exactly the root Application's spec.source.targetRevision to "${revision}"`;
          }
        }
        if (problem !== undefined) {
          issues.push(
            error({
              ...at(line),
              value: `git show ${unquoteShell(showWord as string)} | sed ${expression}`,
              message: `the runbook of cluster "${deployed.cluster.name}" cannot move the root to its revision: ${problem}`,
              expected: `git show ${shown} | sed 's|^    targetRevision: .*|    targetRevision: <the revision as YAML>|' | kubectl apply -f -`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// A sync started by hand carries the Application's own sync options

/** `kubectl … patch application <name> … -p '<merge patch>'`, its name and patch (shell-quoted). */
const APPLICATION_PATCH =
  /\bkubectl\b.*\bpatch\s+application\s+(\S+)\s.*-p\s+('(?:[^']|'\\'')*'|\S+)/;

/** A word as `shellQuote` wrote it, unquoted. */
function unquoteShell(word: string): string {
  return word.startsWith("'") && word.endsWith("'")
    ? word.slice(1, -1).replace(/'\\''/g, "'")
    : word;
}

function sameOptions(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort(compareStrings);
  const right = [...new Set(b)].sort(compareStrings);
  return left.length === right.length && left.every((option, index) => option === right[index]);
}

/**
 * A cluster's Argo CD Applications by name: those its components deploy and its root Application
 * (`clusters/<cluster>/root-application.yaml`), which the documents sync by hand too.
 */
function clusterApplications(
  input: SystemInput,
  deployed: DeployedCluster,
): Map<string, KubeObject> {
  const byName = new Map<string, KubeObject>(
    deployed.applications.map((app) => [app.application.metadata.name, app.application]),
  );
  const file = generatedFile(input, rootApplicationFile(deployed));
  const root = file === undefined ? undefined : rootApplicationIn(file);
  if (root !== undefined && typeof root.metadata?.name === 'string')
    byName.set(root.metadata.name, root);
  return byName;
}

/**
 * Every sync a cluster's generated documents start by hand (an `operation` patched into an
 * Application, Argo CD's "Sync Applications with Kubectl") names an Application of the cluster and
 * carries its sync options, its automated `prune` and the retry its automated sync would carry.
 * Argo CD v3.4.4 syncs with the operation's options only (controller/sync.go `SyncAppState`; core
 * `ManualSync`): a bare `"sync":{}` applies client-side where the Application says
 * `ServerSideApply=true`, ignores `ignoreDifferences`, and leaves what Git dropped; and it retries
 * a failed operation by the operation's `retry` only (controller/appcontroller.go
 * `processRequestedAppOperation`): without one, the first error ends the sync.
 */
export const manualSyncOptions: SystemCheck = {
  name: 'manual-sync-options',
  description:
    'Every Argo CD sync a cluster\'s generated documents start by hand (`kubectl patch application … -p \'{"operation":{…"sync":{…}}}\'`) names an Application of that cluster and carries exactly its `spec.syncPolicy.syncOptions`, its automated `prune`, and as `operation.retry` its `spec.syncPolicy.retry` (Argo CD\'s `limit: 5` where it has none, as `autoSync` does): Argo CD v3.4.4 syncs with the operation\'s own options only, so a bare `"sync":{}` applies client-side where the Application says `ServerSideApply=true`, overwrites what `RespectIgnoreDifferences` keeps, and leaves what Git dropped, the Application OutOfSync; and it retries a failed operation by the operation\'s own `retry` only, so without it the first error (a webhook not ready yet) ends the sync for good.',
  check(input) {
    const issues: Issue[] = [];
    const runbooksOf = runbooksByCluster(input);
    for (const deployed of input.clusters) {
      const byName = clusterApplications(input, deployed);
      for (const file of runbooksOf.get(deployed.cluster.name) ?? []) {
        for (const { line, text } of fileCodeLines(input, file)) {
          const match = APPLICATION_PATCH.exec(text);
          if (match === null) continue;
          let patch: unknown;
          try {
            patch = JSON.parse(unquoteShell(match[2] as string));
          } catch {
            continue;
          }
          const operation = isTableValue(patch) ? patch.operation : undefined;
          const sync = isTableValue(operation) ? operation.sync : undefined;
          if (!isTableValue(sync)) continue;
          const name = unquoteShell(match[1] as string);
          const app = byName.get(name);
          const at = {
            code: 'manual-sync-options',
            path: ['clusters', deployed.cluster.index] as PathSegment[],
            output: `${file.path}:${line}`,
          };
          if (app === undefined) {
            issues.push(
              error({
                ...at,
                value: name,
                message: `a document of cluster "${deployed.cluster.name}" syncs Application "${name}", which the cluster does not have`,
                expected: `one of its Applications: ${[...byName.keys()].sort(compareStrings).join(', ')}`,
              }),
            );
            continue;
          }
          const wanted = applicationManualSync(app);
          const options = Array.isArray(sync.syncOptions) ? sync.syncOptions.map(String) : [];
          const prune = sync.prune === true;
          if (!sameOptions(options, wanted.syncOptions) || prune !== wanted.prune) {
            issues.push(
              error({
                ...at,
                value: JSON.stringify({ prune, syncOptions: options }),
                message: `a document of cluster "${deployed.cluster.name}" syncs Application "${name}" by hand with other sync options or prune than the Application's: Argo CD syncs with the operation's options only`,
                expected: JSON.stringify({ prune: wanted.prune, syncOptions: wanted.syncOptions }),
              }),
            );
          }
          const retry = isTableValue(operation) ? operation.retry : undefined;
          if (sameRetry(retry, wanted.retry)) continue;
          issues.push(
            error({
              ...at,
              value: JSON.stringify({ retry: normalizeRetry(retry) }),
              message: `a document of cluster "${deployed.cluster.name}" syncs Application "${name}" by hand with another retry than its automated sync's: Argo CD retries a failed operation by its own \`operation.retry\` only, so this sync does not retry a failure (a webhook not ready yet, a kind a wave still installs) as the Application's own sync would (without \`retry\`, the first error ends it)`,
              expected: JSON.stringify({ retry: wanted.retry }),
            }),
          );
        }
      }
    }
    return issues;
  },
};

// ---------------------------------------------------------------------------------------------
// An Application taken out of Argo CD's hands has its running sync ended, and is synced when
// handed back

/** What a code line does to an Application's sync (core `pauseAutoSyncCommands`, `resumeAutoSyncCommands`). */
type AutoSyncStep = {
  readonly kind: 'pause' | 'resume' | 'sync' | 'terminate' | 'wait';
  readonly name: string;
  readonly namespace: string;
};

/** `kubectl -n <namespace> patch application …`: the namespace word. */
const PATCH_NAMESPACE = /\bkubectl\s+-n\s+(\S+)\s+patch\s+application\s/;
/** The condition `pauseAutoSyncCommands`' wait tries: the Application's phase neither running nor ending. */
const OPERATION_ENDED =
  /^phase=\$\(kubectl\s+-n\s+(\S+)\s+get\s+application\s+(\S+)\s+-o\s+jsonpath='\{\.status\.operationState\.phase\}'\)\s+&&\s+\[ "\$phase" != Running \]\s+&&\s+\[ "\$phase" != Terminating \]$/;
/** `kubectl apply -f <file>`. */
const APPLY_FILE = /\bkubectl\s+apply\b.*\s-f\s+(\S+)/;

function autoSyncStep(text: string, rootFile: string, root: string): AutoSyncStep | undefined {
  const wait = parseBoundedWait(text);
  if (wait !== undefined) {
    const ended = OPERATION_ENDED.exec(wait.condition);
    return ended === null
      ? undefined
      : {
          kind: 'wait',
          namespace: unquoteShell(ended[1] as string),
          name: unquoteShell(ended[2] as string),
        };
  }
  const match = APPLICATION_PATCH.exec(text);
  if (match === null) {
    const applied = APPLY_FILE.exec(text);
    // Applying the root file puts the root's own automated sync back.
    return applied !== null && unquoteShell(applied[1] as string) === rootFile
      ? { kind: 'resume', name: root, namespace: '' }
      : undefined;
  }
  let patch: unknown;
  try {
    patch = JSON.parse(unquoteShell(match[2] as string));
  } catch {
    return undefined;
  }
  const name = unquoteShell(match[1] as string);
  const flag = PATCH_NAMESPACE.exec(text);
  const namespace = flag === null ? '' : unquoteShell(flag[1] as string);
  if (Array.isArray(patch)) {
    const [first, ...rest] = patch as unknown[];
    const guarded =
      isTableValue(first) &&
      first.op === 'test' &&
      first.path === '/status/operationState/phase' &&
      first.value === 'Running';
    const ends = rest.some(
      (op) =>
        isTableValue(op) &&
        op.op === 'replace' &&
        op.path === '/status/operationState/phase' &&
        op.value === 'Terminating',
    );
    return guarded && ends ? { kind: 'terminate', name, namespace } : undefined;
  }
  if (!isTableValue(patch)) return undefined;
  if (isTableValue(patch.operation) && isTableValue(patch.operation.sync))
    return { kind: 'sync', name, namespace };
  const spec = isTableValue(patch.spec) ? patch.spec : undefined;
  const policy = spec !== undefined && isTableValue(spec.syncPolicy) ? spec.syncPolicy : undefined;
  if (policy === undefined || !('automated' in policy)) return undefined;
  if (policy.automated === null) return { kind: 'pause', name, namespace };
  return isTableValue(policy.automated) ? { kind: 'resume', name, namespace } : undefined;
}

/**
 * Every Application whose automated sync a cluster's generated document takes away (a merge
 * patch of `spec.syncPolicy.automated` to null) has the sync it may be running ended right after,
 * before anything else is done by hand: its phase `Terminating` (guarded by a `test` of
 * `Running`), then a bounded wait until the phase is neither `Running` nor `Terminating` (core
 * `pauseAutoSyncCommands`). Where the document takes the root's away too, the root's sync has
 * ended before any other Application's is taken. And a document that hands such an Application
 * back (its automated policy patched back, the root file applied for the root) also syncs it by
 * hand after taking it. Why: Argo CD v3.4.4 retries a failed operation by the operation's own
 * `retry` without looking at the automated policy (controller/appcontroller.go
 * `processRequestedAppOperation`; the Applications retry without end, `applicationRetry`), and a
 * wave fails as long as an Application in it is `Degraded` (gitops-engine `sync_context.go`); so a
 * root whose `<cluster>-applications` waits for workloads deployed outside the platform applies
 * its revision every five minutes whatever its policy says: it puts the children's automated sync
 * back, and their self-heal undoes a restore in progress. And the automated sync never syncs
 * again a revision whose last sync failed, an ended one included (`autoSync`: "failed previous
 * sync attempt"), so without a sync by hand the Application keeps what the procedure changed.
 */
export const autoSyncPause: SystemCheck = {
  name: 'auto-sync-pause',
  description:
    "Every Application whose automated sync a cluster's generated document takes away (`kubectl patch application … -p '{\"spec\":{\"syncPolicy\":{\"automated\":null}}}'`) has the sync it may be running ended right after, before any other step by hand (its `status.operationState.phase` patched to `Terminating` behind a `test` of `Running`, then a bounded wait until it is neither `Running` nor `Terminating`), the root's before any child's is taken; and a document that hands it back (its automated policy patched back, or the root file applied) syncs it by hand too: Argo CD v3.4.4 retries a failed sync by the operation's own `retry` whatever the policy says, so a root whose last wave stays `Degraded` applies its revision every five minutes, putting the children's automated sync back; and it never auto-syncs again a revision whose last sync was ended.",
  check(input) {
    const issues: Issue[] = [];
    const runbooksOf = runbooksByCluster(input);
    for (const deployed of input.clusters) {
      const root = rootApplicationName(deployed.cluster);
      const rootFile = rootApplicationFile(deployed);
      const applications = clusterApplications(input, deployed);
      const at = (file: GeneratedFile, line: number) => ({
        code: 'auto-sync-pause',
        path: ['clusters', deployed.cluster.index] as PathSegment[],
        output: `${file.path}:${line}`,
      });
      for (const file of runbooksOf.get(deployed.cluster.name) ?? []) {
        const lines = fileCodeLines(input, file);
        const steps = lines.map(({ text }) => autoSyncStep(text, rootFile, root));
        // The root's first pause, and the first wait for its sync's end after it.
        const rootPause = steps.findIndex((step) => step?.kind === 'pause' && step.name === root);
        const rootTaken = rootPause >= 0;
        const rootEnded = steps.findIndex(
          (step, index) => index > rootPause && step?.kind === 'wait' && step.name === root,
        );
        const paused = new Map<string, { readonly index: number; readonly namespace: string }>();
        steps.forEach((step, index) => {
          const { line } = lines[index] as CodeLine;
          if (step === undefined) return;
          if (step.kind === 'pause') {
            if (!paused.has(step.name)) paused.set(step.name, { index, namespace: step.namespace });
            let terminated = -1;
            let waited = -1;
            for (let next = index + 1; next < steps.length; next++) {
              const held = steps[next];
              if (held === undefined || held.kind === 'sync' || held.kind === 'resume') break;
              if (held.name !== step.name) continue;
              if (held.kind === 'terminate' && terminated < 0) terminated = next;
              if (held.kind === 'wait' && terminated >= 0) waited = next;
            }
            const expected = pauseAutoSyncCommands(step.namespace, step.name).join('\n');
            if (terminated < 0 || waited < 0) {
              issues.push(
                error({
                  ...at(file, line),
                  value: step.name,
                  message: `a document of cluster "${deployed.cluster.name}" takes the automated sync of Application "${step.name}" away without ending the sync it may be running, before the next step by hand: Argo CD retries a failed sync whatever the policy says, and each retry applies the revision again (the root puts its children's automated sync back, a child undoes what the procedure changes)`,
                  expected,
                }),
              );
            }
            if (step.name !== root && rootTaken && (rootEnded < 0 || rootEnded > index)) {
              issues.push(
                error({
                  ...at(file, line),
                  value: step.name,
                  message: `a document of cluster "${deployed.cluster.name}" takes the automated sync of Application "${step.name}" away before the sync of its root Application "${root}" has ended: the root's running sync would put it back`,
                  expected: pauseAutoSyncCommands(step.namespace, root).join('\n'),
                }),
              );
            }
            return;
          }
          if (step.kind !== 'resume') return;
          const from = paused.get(step.name);
          if (from === undefined) return;
          const namespace = step.namespace === '' ? from.namespace : step.namespace;
          const synced = steps.some(
            (other, index2) =>
              index2 > from.index && other?.kind === 'sync' && other.name === step.name,
          );
          if (synced) return;
          const app = applications.get(step.name);
          const sync =
            app === undefined
              ? rootManualSync(deployed.cluster.profile.autoSync.prune)
              : applicationManualSync(app);
          issues.push(
            error({
              ...at(file, line),
              value: step.name,
              message: `a document of cluster "${deployed.cluster.name}" hands Application "${step.name}" back to Argo CD without syncing it by hand after taking its automated sync away: Argo CD never auto-syncs again a revision whose last sync failed or was ended, so it keeps what the procedure changed until the next commit`,
              expected: `kubectl -n ${shellQuote(namespace)} patch application ${shellQuote(step.name)} --type merge -p ${shellQuote(syncOperationPatch('runbook', sync))}`,
            }),
          );
        });
      }
    }
    return issues;
  },
};

/** The checks core brings; components add their own. */
export const CORE_CHECKS: readonly SystemCheck[] = [
  kindsBeforeUse,
  namespacesBeforeUse,
  storageBeforeClaims,
  criticalNotCascaded,
  criticalObjectsPruned,
  secretReferences,
  crdsBeforeControllers,
  dnsBeforeGitops,
  helmignoreKeepsDependencies,
  applicationLayers,
  clientSideApplySize,
  handOverFieldManager,
  handMadeSecretApply,
  terminalReadAlone,
  boundedWaits,
  shellComments,
  guardsChained,
  healthWhileCordonedCheck,
  zshExpansions,
  awkNumericEquality,
  manualSyncOptions,
  autoSyncPause,
  rootRevisionParameters,
  rootRevisionMove,
  rolloutSurgeRoom,
  replicasFitNodes,
  servicesNotExposed,
];

/** The report sections of the checks that have one, in check order. */
export function systemReports(input: SystemInput, checks: readonly SystemCheck[]): SystemReport[] {
  const out: SystemReport[] = [];
  for (const check of checks) {
    if (check.report === undefined) continue;
    out.push({ name: check.name, lines: check.report(input) });
  }
  return out;
}

/** Every check's issues, in check order. */
export function runSystemChecks(input: SystemInput, checks: readonly SystemCheck[]): Issue[] {
  return checks.flatMap((check) => check.check(input));
}
