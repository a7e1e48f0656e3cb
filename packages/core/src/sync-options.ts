// An object's own Argo CD sync options (`argocd.argoproj.io/sync-options`, a comma list), read and
// merged. Pure.
import type { ApplicationDescriptor } from './contract.js';
import type { KubeObject } from './types.js';

export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

/**
 * The option that lets Argo CD prune an object the definition drops from an Application that
 * syncs with `Prune=false` (a critical one): gitops-engine v3.4 `isPruningDisabled` reads the live
 * object's own `Prune` option before the Application's default, and the automated sync policy
 * prunes (`prune: true`).
 */
export const PRUNE = 'Prune=true';

/** The options of a comma list (maybe absent), trimmed, empty ones left out. */
function splitOptions(options: string | undefined): string[] {
  return (options ?? '')
    .split(',')
    .map((option) => option.trim())
    .filter((option) => option !== '');
}

/** The options of an object's own sync-options annotation, trimmed, empty ones left out. */
export function objectSyncOptions(object: KubeObject): string[] {
  return splitOptions(object.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION]);
}

/**
 * `options` (a comma list, maybe absent) with `option` added, unless an option of the same name
 * (`Prune=` for `Prune=true`) is already there: a choice made where the object is made stays.
 */
export function mergeSyncOption(options: string | undefined, option: string): string {
  const list = splitOptions(options);
  const name = option.slice(0, option.indexOf('=') + 1);
  if (list.some((entry) => entry.startsWith(name))) return list.join(',');
  return [...list, option].join(',');
}

/** A copy of `object` whose sync options include `option` (merged as `mergeSyncOption` does). */
export function withSyncOption(object: KubeObject, option: string): KubeObject {
  const annotations = object.metadata.annotations ?? {};
  return {
    ...object,
    metadata: {
      ...object.metadata,
      annotations: {
        ...annotations,
        [SYNC_OPTIONS_ANNOTATION]: mergeSyncOption(annotations[SYNC_OPTIONS_ANNOTATION], option),
      },
    },
  };
}

/** What an Application's `syncPolicy.syncOptions` are made of (argocd-apps writes them). */
export interface ApplicationSyncOptionsInput {
  /** It creates its own namespace (the root Application does not). */
  readonly createNamespace: boolean;
  readonly serverSideApply: boolean;
  readonly applyOutOfSyncOnly: boolean;
  /** It has `ignoreDifferences`, which a sync then leaves as they are. */
  readonly respectIgnoreDifferences: boolean;
  /** No prune, no delete (DESIGN.md, "Argo CD wiring"). */
  readonly critical: boolean;
}

/**
 * An Application's sync options: the one place that says which, for the Application argocd-apps
 * renders and for every sync the generated documents start by hand (`syncOperationPatch`).
 */
export function applicationSyncOptions(input: ApplicationSyncOptionsInput): string[] {
  const options: string[] = [];
  if (input.createNamespace) options.push('CreateNamespace=true');
  if (input.serverSideApply) options.push('ServerSideApply=true');
  if (input.applyOutOfSyncOnly) options.push('ApplyOutOfSyncOnly=true');
  if (input.respectIgnoreDifferences) options.push('RespectIgnoreDifferences=true');
  // What the cluster cannot lose is never pruned or deleted by Argo CD: removing it is a runbook
  // step (DESIGN.md, "Argo CD wiring").
  if (input.critical) options.push('Prune=false', 'Delete=false');
  return options;
}

/**
 * The sync options of the Application a peer's descriptor becomes, as a component sees it before
 * the Applications are assembled. Whether the Application creates its own namespace is the
 * assembly's to say (the root Application creates every namespace no system one): `false` here,
 * and the system check `manual-sync-options` compares what a document says with the Application.
 */
export function descriptorSyncOptions(descriptor: ApplicationDescriptor | undefined): string[] {
  return applicationSyncOptions({
    createNamespace: false,
    serverSideApply: descriptor?.serverSideApply === true,
    applyOutOfSyncOnly: descriptor?.applyOutOfSyncOnly === true,
    respectIgnoreDifferences: (descriptor?.ignoreDifferences ?? []).length > 0,
    critical: descriptor?.critical === true,
  });
}

/**
 * What a sync started by hand must carry to do what the Application's own sync does. Argo CD
 * v3.4.4 syncs with the options of the operation only (controller/sync.go `SyncAppState` reads
 * `operation.sync.syncOptions`; the automated sync copies the Application's
 * `spec.syncPolicy.syncOptions` into its operation, controller/appcontroller.go `autoSync`, and so
 * does the API server for `argocd app sync` without `--sync-option`,
 * server/application/application.go `Sync`): an `operation` patched in with `"sync":{}` applies
 * client-side where the Application says `ServerSideApply=true`, and leaves out
 * `RespectIgnoreDifferences`, `ApplyOutOfSyncOnly`, `CreateNamespace`, `Prune=false`. `prune` is
 * the Application's automated policy's (the automated sync passes it, `Automated.GetPrune`): a
 * sync without it leaves what Git dropped, and the Application stays OutOfSync.
 */
export interface ManualSync {
  readonly syncOptions: readonly string[];
  readonly prune: boolean;
}

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The manual sync an Application object asks for: its sync options and automated `prune`. */
export function applicationManualSync(application: KubeObject): ManualSync {
  const spec = (application as { spec?: unknown }).spec;
  const policy = isRecord(spec) && isRecord(spec.syncPolicy) ? spec.syncPolicy : {};
  const options = Array.isArray(policy.syncOptions)
    ? policy.syncOptions.filter((option): option is string => typeof option === 'string')
    : [];
  const automated = isRecord(policy.automated) ? policy.automated : {};
  return { syncOptions: options.map((option) => option.trim()), prune: automated.prune === true };
}

/**
 * The merge patch (JSON) that makes Argo CD sync an Application now, as its own sync would
 * (`ManualSync`): Argo CD's "Sync Applications with Kubectl". `resources` limits it to those
 * objects (`operation.sync.resources`).
 */
export function syncOperationPatch(
  username: string,
  sync: ManualSync,
  resources?: readonly { readonly [key: string]: string }[],
): string {
  return JSON.stringify({
    operation: {
      initiatedBy: { username },
      sync: {
        prune: sync.prune,
        syncOptions: [...sync.syncOptions],
        ...(resources === undefined ? {} : { resources: resources.map((r) => ({ ...r })) }),
      },
    },
  });
}
