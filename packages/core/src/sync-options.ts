// An object's own Argo CD sync options (`argocd.argoproj.io/sync-options`, a comma list), read and
// merged. Pure.
import type { ApplicationDescriptor } from './contract.js';
import { boundedWait } from './runbook-shell.js';
import type { KubeObject } from './types.js';
import { shellQuote } from './yaml.js';

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
 * An Argo CD retry strategy (`RetryStrategy` of pkg/apis/application/v1alpha1/types.go, v3.4.4):
 * the same shape in an Application's `spec.syncPolicy.retry` and in an operation's `retry`.
 */
export interface SyncRetry {
  readonly limit?: number;
  readonly refresh?: boolean;
  readonly backoff?: {
    readonly duration?: string;
    readonly factor?: number;
    readonly maxDuration?: string;
  };
}

/**
 * Retries of a failed sync: without end (`limit` below 0), each from the latest revision
 * (`refresh`), at most five minutes apart. Argo CD v3.4.4 never auto-syncs again a revision
 * whose sync failed once the retries ran out (`autoSync`: "failed previous sync attempt ... will
 * not retry"), and a wave of the root fails as soon as one of its Applications is Degraded
 * (gitops-engine `sync_context.go`): with a limit, a child Degraded for longer than the retries
 * last during a bring-up (pods waiting for a secret still missing from the store) would stop the
 * root for good, and the later waves would never come. A retry from the latest revision also
 * picks up the commit that fixes a failing sync, which a retry of the failed revision, an
 * operation still in progress, would keep out.
 */
const RETRY = {
  limit: -1,
  refresh: true,
  backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
} as const;

/**
 * The `spec.syncPolicy.retry` of every Application argocd-apps renders, and so the `retry` of
 * every sync the generated documents start by hand for one of them (`ManualSync`). A fresh copy.
 */
export function applicationRetry(): {
  limit: number;
  refresh: boolean;
  backoff: { duration: string; factor: number; maxDuration: string };
} {
  return { limit: RETRY.limit, refresh: RETRY.refresh, backoff: { ...RETRY.backoff } };
}

/**
 * The retry Argo CD v3.4.4's automated sync gives its operation where the Application has no
 * `spec.syncPolicy.retry` (controller/appcontroller.go `autoSync`: `RetryStrategy{Limit: 5}`).
 */
const AUTOMATED_DEFAULT_RETRY: SyncRetry = { limit: 5 };

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
 * sync without it leaves what Git dropped, and the Application stays OutOfSync. `retry` is the
 * Application's `spec.syncPolicy.retry` (`autoSync` copies it into `operation.retry`, the API
 * server's `Sync` too): the controller retries a failed operation by its own `operation.retry`
 * only (`processRequestedAppOperation`: `state.Operation.Retry.Limit`), so a patched-in operation
 * without one (limit 0) fails for good at the first error (a webhook not ready yet, a CRD a wave
 * still installs), where the automated sync would have retried without end.
 */
export interface ManualSync {
  readonly syncOptions: readonly string[];
  readonly prune: boolean;
  readonly retry: SyncRetry;
}

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A retry strategy as Argo CD reads it (JSON, `omitempty`): the fields it knows, of the type it
 * decodes, zero values and an empty `backoff` (Argo CD's defaults then) left out; `{}` (no retry:
 * limit 0) for a value that is no object.
 */
export function normalizeRetry(value: unknown): SyncRetry {
  if (!isRecord(value)) return {};
  const out: {
    limit?: number;
    refresh?: boolean;
    backoff?: { duration?: string; factor?: number; maxDuration?: string };
  } = {};
  if (typeof value.limit === 'number' && value.limit !== 0) out.limit = value.limit;
  if (value.refresh === true) out.refresh = true;
  if (isRecord(value.backoff)) {
    const backoff: { duration?: string; factor?: number; maxDuration?: string } = {};
    const { duration, factor, maxDuration } = value.backoff;
    if (typeof duration === 'string' && duration !== '') backoff.duration = duration;
    if (typeof factor === 'number') backoff.factor = factor;
    if (typeof maxDuration === 'string' && maxDuration !== '') backoff.maxDuration = maxDuration;
    if (Object.keys(backoff).length > 0) out.backoff = backoff;
  }
  return out;
}

/** Whether two retry strategies are the same to Argo CD (`normalizeRetry`, key order aside). */
export function sameRetry(a: unknown, b: unknown): boolean {
  const key = (value: unknown): string => {
    const retry = normalizeRetry(value);
    const backoff = retry.backoff;
    return JSON.stringify([
      retry.limit ?? 0,
      retry.refresh ?? false,
      backoff?.duration ?? '',
      backoff?.factor ?? null,
      backoff?.maxDuration ?? '',
    ]);
  };
  return key(a) === key(b);
}

/**
 * The manual sync an Application object asks for: its sync options, automated `prune`, and the
 * retry its automated sync would carry (its `spec.syncPolicy.retry`, else Argo CD's default).
 */
export function applicationManualSync(application: KubeObject): ManualSync {
  const spec = (application as { spec?: unknown }).spec;
  const policy = isRecord(spec) && isRecord(spec.syncPolicy) ? spec.syncPolicy : {};
  const options = Array.isArray(policy.syncOptions)
    ? policy.syncOptions.filter((option): option is string => typeof option === 'string')
    : [];
  const automated = isRecord(policy.automated) ? policy.automated : {};
  return {
    syncOptions: options.map((option) => option.trim()),
    prune: automated.prune === true,
    retry: isRecord(policy.retry) ? normalizeRetry(policy.retry) : { ...AUTOMATED_DEFAULT_RETRY },
  };
}

/**
 * The manual sync of the Application a peer's descriptor becomes (argocd-apps renders it with
 * `descriptorSyncOptions`' options, up to `CreateNamespace`, and `applicationRetry`), whose
 * automated sync prunes as `prune` (the cluster profile's `autoSync.prune`) says.
 */
export function descriptorManualSync(
  descriptor: ApplicationDescriptor | undefined,
  prune: boolean,
): ManualSync {
  return { syncOptions: descriptorSyncOptions(descriptor), prune, retry: applicationRetry() };
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
  const retry = normalizeRetry(sync.retry);
  return JSON.stringify({
    operation: {
      initiatedBy: { username },
      sync: {
        prune: sync.prune,
        syncOptions: [...sync.syncOptions],
        ...(resources === undefined ? {} : { resources: resources.map((r) => ({ ...r })) }),
      },
      retry,
    },
  });
}

/**
 * The root Application's own sync, as argocd-apps renders it (`clusters/<cluster>/root-application.yaml`):
 * no sync options, the cluster profile's automated `prune`, `applicationRetry`.
 */
export function rootManualSync(prune: boolean): ManualSync {
  return { syncOptions: [], prune, retry: applicationRetry() };
}

/** The merge patch that takes an Application's automated sync away. */
export const PAUSE_AUTO_SYNC = '{"spec":{"syncPolicy":{"automated":null}}}';

/**
 * The JSON patch that ends an Application's running sync, as Argo CD v3.4.4's API server does for
 * `argocd app terminate-op` (server/application/application.go `TerminateOperation`: the phase
 * set to `Terminating` by an update of the Application, whose CRD has no status subresource). The
 * `test` makes it refuse an operation that ended meanwhile: a `Terminating` phase without an
 * operation would end the next sync started by hand as soon as it starts
 * (controller/appcontroller.go `processRequestedAppOperation` resumes a `Terminating` state).
 */
export const TERMINATE_OPERATION =
  '[{"op":"test","path":"/status/operationState/phase","value":"Running"},{"op":"replace","path":"/status/operationState/phase","value":"Terminating"}]';

/** The jsonpath of an Application's operation phase. */
const PHASE = `-o jsonpath='{.status.operationState.phase}'`;

/**
 * The commands that take an Application out of Argo CD's hands while a procedure changes what it
 * deploys by hand: its automated sync off, then the sync it is running ended, then a wait until
 * it has ended. Taking the automated policy away only stops new syncs: Argo CD v3.4.4 retries a
 * failed operation by the operation's own `retry` without looking at the policy
 * (controller/appcontroller.go `processRequestedAppOperation`), and the Applications here retry
 * without end (`applicationRetry`), so a sync that keeps failing (a wave with a `Degraded`
 * Application, gitops-engine `sync_context.go`) goes on applying the revision every five minutes
 * at most: the root puts its children's automated sync back, a child undoes the patches of the
 * procedure. One line each: the second ends only a `Running` operation (a merge of the phase into
 * an Application without one would leave a `Terminating` state that ends the next sync at once),
 * the third waits at most five minutes.
 */
export function pauseAutoSyncCommands(namespace: string, application: string): string[] {
  return [
    `kubectl -n ${shellQuote(namespace)} patch application ${shellQuote(application)} --type merge -p '${PAUSE_AUTO_SYNC}'`,
    ...endSyncCommands(namespace, application),
  ];
}

/**
 * The two lines of `pauseAutoSyncCommands` that end the sync an Application runs (if any) and
 * wait at most five minutes until it has ended. Alone, with the automated sync left on, they are
 * followed by a sync by hand (`syncOperationPatch`): the automated sync never syncs again the
 * revision of an ended sync.
 */
export function endSyncCommands(namespace: string, application: string): string[] {
  const ns = shellQuote(namespace);
  const app = shellQuote(application);
  const get = `kubectl -n ${ns} get application ${app} ${PHASE}`;
  return [
    `[ "$(${get})" != Running ] || kubectl -n ${ns} patch application ${app} --type json -p '${TERMINATE_OPERATION}'`,
    boundedWait({
      condition: `phase=$(${get}) && [ "$phase" != Running ] && [ "$phase" != Terminating ]`,
      seconds: 300,
      interval: 5,
      message: `Argo CD still runs a sync of ${application}: see kubectl -n ${namespace} get application ${application} -o yaml (status.operationState)`,
    }),
  ];
}

/**
 * The commands that hand an Application back to Argo CD after `pauseAutoSyncCommands`: a sync
 * started by hand (`syncOperationPatch`, as `username`), then its automated sync back
 * (`automated`, the policy it is deployed with). The sync is needed: Argo CD v3.4.4's automated
 * sync never syncs again a revision whose last sync failed, and an ended sync counts as failed
 * (controller/appcontroller.go `autoSync`: "failed previous sync attempt ... will not retry",
 * checked before self-heal), so without it the Application would keep what the procedure changed
 * until the next commit.
 */
export function resumeAutoSyncCommands(
  namespace: string,
  application: string,
  automated: { readonly prune: boolean; readonly selfHeal: boolean },
  username: string,
  sync: ManualSync,
): string[] {
  const ns = shellQuote(namespace);
  const app = shellQuote(application);
  const policy = JSON.stringify({
    spec: { syncPolicy: { automated: { prune: automated.prune, selfHeal: automated.selfHeal } } },
  });
  return [
    `kubectl -n ${ns} patch application ${app} --type merge -p ${shellQuote(syncOperationPatch(username, sync))}`,
    `kubectl -n ${ns} patch application ${app} --type merge -p ${shellQuote(policy)}`,
  ];
}
