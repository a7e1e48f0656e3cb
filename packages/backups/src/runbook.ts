// clusters/<cluster>/disaster-recovery.md: what must be saved beforehand, then rebuilding the
// cluster from Git, restoring etcd from the latest encrypted snapshot, letting Argo CD converge,
// and restoring every protected volume from restic — each step with the cluster's own commands,
// every interpolated value shell-quoted. Pure.
import type {
  BootstrapStep,
  CapabilityFacts,
  KubeObject,
  ManualSync,
  ResolvedCluster,
  VolumeRequest,
} from '@homelab/core';
import {
  boundedWait,
  compareStrings,
  pauseAutoSyncCommands as corePauseAutoSync,
  resumeAutoSyncCommands as coreResumeAutoSync,
  READ_ALONE_NOTE,
  readCommand,
  rootApplicationName,
  rootManualSync,
  runbookPath,
  type ShellRead,
  shellQuote,
  syncOperationPatch,
  WAIT_SECONDS,
} from '@homelab/core';
import {
  BOOTSTRAP_TRIGGER,
  backupNames,
  oldPasswordSecretName,
  resticPasswordPod,
  resticUnlockPod,
  VOLSYNC_POPULATOR,
} from './manifests.js';
import { OLD_PASSWORD_KEY } from './password-change.js';
import {
  ETCD_BACKUP_NAMESPACE,
  type ResolvedBackupsSettings,
  resticRepository,
} from './settings.js';
import { REPOSITORY_KEY_SED } from './verify-script.js';

/** A protected volume and the Application that deploys it. */
export interface ProtectedVolume {
  readonly volume: VolumeRequest;
  /** The component that declared it. */
  readonly component: string;
  /** Argo CD Application that holds its claim and backups (`<cluster>-<name>`). */
  readonly application: string;
  /**
   * The sync options and prune that Application syncs with, which a sync by hand repeats (Argo
   * CD syncs with the operation's options only, core `ManualSync`).
   */
  readonly sync: ManualSync;
}

export interface RunbookInput {
  readonly header: string;
  readonly cluster: ResolvedCluster;
  readonly settings: ResolvedBackupsSettings;
  readonly volumes: readonly ProtectedVolume[];
  /** Namespace of the Argo CD Applications. */
  readonly gitopsNamespace: string;
  /** CSI driver of the storage provider (`storage.csiDriver`), when known. */
  readonly storageDriver?: string;
  /** The secrets provider's own credential on the cluster (`secrets.credential`), when known. */
  readonly secretsCredential?: CapabilityFacts['secrets']['credential'];
}

/** Longhorn's CSI driver: the runbook then reads the volumes' state from Longhorn's own objects. */
export const LONGHORN_CSI_DRIVER = 'driver.longhorn.io';
const LONGHORN_NAMESPACE = 'longhorn-system';

const q = shellQuote;

/**
 * Commands that take the volume's Application out of Argo CD's hands (core
 * `pauseAutoSyncCommands`): the root Application first, whose running sync would otherwise put
 * the child's automated sync back (it holds every other Application, with self-heal on), then
 * the child, whose own running sync would undo the steps by hand.
 */
export function pauseAutoSyncCommands(
  cluster: ResolvedCluster,
  entry: ProtectedVolume,
  gitopsNamespace: string,
): string[] {
  return [
    ...corePauseAutoSync(gitopsNamespace, rootApplicationName(cluster)),
    ...corePauseAutoSync(gitopsNamespace, entry.application),
  ];
}

/**
 * Commands that hand the Applications back (core `resumeAutoSyncCommands`: a sync by hand, then
 * the automated sync): the volume's Application first, the root last.
 */
export function resumeAutoSyncCommands(
  cluster: ResolvedCluster,
  entry: ProtectedVolume,
  gitopsNamespace: string,
  initiatedBy: string,
): string[] {
  const { autoSync } = cluster.profile;
  return [
    ...coreResumeAutoSync(gitopsNamespace, entry.application, autoSync, initiatedBy, entry.sync),
    ...coreResumeAutoSync(
      gitopsNamespace,
      rootApplicationName(cluster),
      autoSync,
      initiatedBy,
      rootManualSync(autoSync.prune),
    ),
  ];
}

/** What the operator reads before `pauseAutoSyncCommands`, after `lead` ("Turn"). */
const pauseText = (lead: string): string[] => [
  `${lead} auto-sync off, the root Application's first, and end the sync each may be running:`,
  'Argo CD retries a failed sync without end whatever the policy says (a wave with a',
  '`Degraded` Application fails it), and every retry would apply the revision again, the',
  "child's automated sync and what the next steps change included. The last line of each",
  'waits until it ended:',
  '',
];

/** What the operator does around `stopWorkloadCommands`. */
/** What stops the workloads of a claim, as the runbook says it (`gitops`: Argo CD's namespace). */
function stopWorkloadsText(gitops: string): string[] {
  return [
    'Stop every workload that mounts the claim: scale its Deployment or StatefulSet to 0',
    '(`kubectl -n <namespace> scale deployment/<name> --replicas=0`) until this lists no pod.',
    'A workload an Argo CD Application of your own deploys with self-heal comes back at once:',
    `turn that Application's auto-sync off first (\`kubectl -n ${gitops} patch application <name>`,
    `--type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'\`), and on again once the volume`,
    'is handed back:',
    '',
  ];
}

/**
 * The command that prints the name of every pod of `namespace` that mounts `claim` (both shell
 * words, quoted as the caller needs), one a line, and nothing when none does. A pod mounts a
 * claim by name (`persistentVolumeClaim.claimName`) or through a generic ephemeral volume, whose
 * claim is `<pod>-<volume>` (Kubernetes' ephemeral volume naming): kubectl prints each pod with
 * the claims it names and its ephemeral volumes, and awk matches them. Not a jsonpath filter on
 * `.spec.volumes[*].persistentVolumeClaim.claimName`: client-go's jsonpath (util/jsonpath,
 * `evalFilter`) fails with "can only compare one element at a time" on a pod that mounts two
 * claims or more (a VolSync restic mover mounts the claim and its cache), so the list would never
 * come out empty. `name ""` makes awk compare strings: a field and a -v value that both read as
 * numbers (`10`, `1e1`) would be compared as numbers.
 */
function podsMountingCommand(namespace: string, claim: string): string {
  return `kubectl -n ${namespace} get pods -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.volumes[*].persistentVolumeClaim.claimName}{range .spec.volumes[?(@.ephemeral)]}{" ephemeral:"}{.name}{end}{"\\n"}{end}' | awk -v claim=${claim} '{ for (i = 2; i <= NF; i++) { name = $i; if (sub(/^ephemeral:/, "", name)) name = $1 "-" name; if (name "" == claim) { print $1; break } } }'`;
}

/**
 * Commands that list the pods mounting the claim, one a line, nothing once the workloads using
 * it are stopped (auto-sync must be off, else self-heal scales them back).
 */
export function stopWorkloadCommands(entry: ProtectedVolume): string[] {
  const { volume } = entry;
  return [podsMountingCommand(q(volume.namespace), q(volume.name))];
}

/**
 * Pauses the volume's backups while it is restored: a backup of the empty or half-restored
 * volume would land in the repository and count in its retention (restic forget after each
 * backup keeps one snapshot per hour or day), which could forget the last good snapshot of the
 * day the cluster was lost. Argo CD resumes them when it syncs again: the generated
 * ReplicationSource says `paused: false` (a field Git left out would stay as the patch set it).
 */
export function pauseBackupCommands(entry: ProtectedVolume): string[] {
  const { volume } = entry;
  return [
    `kubectl -n ${q(volume.namespace)} patch replicationsource ${q(backupNames(volume).source)} --type merge -p '{"spec":{"paused":true}}'`,
  ];
}

/**
 * Whether the volume's claim names its bootstrap ReplicationDestination (`spec.dataSourceRef`,
 * VolSync's volume populator): a claim created anew fills itself from the latest snapshot.
 */
export function hasBootstrap(volume: VolumeRequest): boolean {
  const ref = volume.dataSourceRef;
  return (
    ref !== undefined &&
    ref.apiGroup === VOLSYNC_POPULATOR.apiGroup &&
    ref.kind === VOLSYNC_POPULATOR.kind &&
    ref.name === backupNames(volume).bootstrap
  );
}

/**
 * Commands that replace a faulted (or deleted) claim by a new one: delete the volume's
 * ReplicationSource, delete the claim, wait until it is gone (a Terminating claim still reads
 * Bound), then have Argo CD create that one claim again (a sync of the one resource through the
 * Application's `operation`, Argo CD's "Sync Applications with Kubectl"; auto-sync is off) and
 * wait until the new claim is bound.
 *
 * The ReplicationSource goes first: with etcd restored, a backup whose time passed while the
 * cluster was down starts as soon as VolSync runs, and VolSync 0.16 (`ensureSourcePVC`, which
 * `paused` does not stop: it only sets the mover Job's parallelism to 0) snapshots the claim as
 * `volsync-<source>-src`. A snapshot of a faulted volume never becomes ready, and the
 * snapshot controller (external-snapshotter v8, `isPVCBeingUsed`) keeps its
 * `pvc-as-source-protection` finalizer on the claim while any snapshot of it is not ready, so the
 * claim would stay Terminating. Deleting that snapshot alone does not do: VolSync makes it again
 * from the Terminating claim at once. Deleting the ReplicationSource removes it and its snapshot
 * (owner references); Argo CD creates it again when the Application is handed back.
 *
 * A claim that names its bootstrap (`hasBootstrap`) is filled by VolSync's volume populator from
 * the bootstrap's `status.latestImage` (internal/controller/volumepopulator_controller.go,
 * `reconcilePVCPrime`), the snapshot of the restore it ran once, when it was created: on a
 * cluster that ran since, an old snapshot (an empty one from the first install), and with etcd
 * restored, one of a volume that may have been on the lost disks. So the bootstrap is deleted
 * too (VolSync deletes its volume and snapshot with it) and Argo CD makes both again: the new
 * bootstrap restores the latest snapshot, the claim stays Pending until then, and its result is
 * read as the restore's is.
 */
export function replaceClaimCommands(
  entry: ProtectedVolume,
  gitopsNamespace: string,
  move?: { readonly initiatedBy: string; readonly whenEmpty: string },
): string[] {
  const initiatedBy = move?.initiatedBy ?? 'disaster-recovery';
  const ns = q(entry.volume.namespace);
  const claim = q(entry.volume.name);
  const bootstrap = hasBootstrap(entry.volume) ? backupNames(entry.volume).bootstrap : undefined;
  const sync = syncOperationPatch(initiatedBy, entry.sync, [
    ...(bootstrap === undefined
      ? []
      : [
          {
            group: VOLSYNC_POPULATOR.apiGroup,
            kind: VOLSYNC_POPULATOR.kind,
            name: bootstrap,
            namespace: entry.volume.namespace,
          },
        ]),
    { kind: 'PersistentVolumeClaim', name: entry.volume.name, namespace: entry.volume.namespace },
  ]);
  return [
    `kubectl -n ${ns} delete replicationsource ${q(backupNames(entry.volume).source)} --ignore-not-found --timeout=5m`,
    ...(bootstrap === undefined
      ? []
      : [
          `kubectl -n ${ns} delete replicationdestination ${q(bootstrap)} --ignore-not-found --timeout=5m`,
        ]),
    `kubectl -n ${ns} delete pvc ${claim} --ignore-not-found --wait=false`,
    `kubectl -n ${ns} wait pvc/${entry.volume.name} --for=delete --timeout=15m`,
    `kubectl -n ${q(gitopsNamespace)} patch application ${q(entry.application)} --type merge -p ${q(sync)}`,
    `kubectl -n ${ns} wait pvc/${entry.volume.name} --for=create --timeout=5m`,
    ...(bootstrap === undefined
      ? []
      : [
          `kubectl -n ${ns} wait replicationdestination/${bootstrap} --for=jsonpath='{.status.lastManualSync}'=${BOOTSTRAP_TRIGGER} --timeout=6h`,
        ]),
    `kubectl -n ${ns} wait pvc/${entry.volume.name} --for=jsonpath='{.status.phase}'=Bound --timeout=15m`,
    ...(bootstrap === undefined ? [] : bootstrapResultCommands(entry, move?.whenEmpty)),
  ];
}

/**
 * Backs the volume up now (auto-sync off, workloads stopped) and says loudly when it failed:
 * waits until no backup runs (`Synchronizing` false: VolSync 0.16's state machine,
 * internal/controller/statemachine/machine.go, copies `spec.trigger.manual` into
 * `status.lastManualSync` when a running sync completes, so a tag set during a scheduled backup
 * that started before the workloads stopped would be taken for this one), then sets a manual
 * trigger (it replaces the schedule while set: `getTrigger`) and waits for it. The trigger stays
 * until `clearManualTriggerCommands` removes it or the ReplicationSource is deleted
 * (`replaceClaimCommands`): Argo CD does not take it away when it gets the Application back.
 */
export function backupNowCommands(entry: ProtectedVolume): string[] {
  const { volume } = entry;
  const source = backupNames(volume).source;
  const ns = q(volume.namespace);
  const id = `${volume.namespace}/${volume.name}`;
  return [
    `kubectl -n ${ns} wait replicationsource/${source} --for=condition=Synchronizing=false --timeout=6h`,
    `STAMP="move-$(date -u +%Y%m%d%H%M%S)"`,
    `kubectl -n ${ns} patch replicationsource ${q(source)} --type merge -p '{"spec":{"paused":false,"trigger":{"manual":"'"$STAMP"'"}}}'`,
    `kubectl -n ${ns} wait replicationsource/${source} --for=jsonpath='{.status.lastManualSync}'="$STAMP" --timeout=6h`,
    `RESULT="$(kubectl -n ${ns} get replicationsource ${q(source)} -o jsonpath='{.status.latestMoverStatus.result}{"\\n"}{.status.latestMoverStatus.logs}')"`,
    `printf '%s\\n' "$RESULT"`,
    `printf '%s\\n' "$RESULT" | head -n 1 | grep -qx Successful && echo ${q(`backed up ${id}`)} || echo ${q(`BACKUP FAILED: ${id} was not backed up: do not replace its claim, run step 4 (it removes the manual trigger and hands the Applications back) and find why`)}`,
  ];
}

/**
 * Removes the manual trigger `backupNowCommands` set on the volume's ReplicationSource, where it
 * still has one: the hand-back after a failed backup (the ReplicationSource is deleted only after
 * a good one, `replaceClaimCommands`, and Argo CD makes it again without the trigger). VolSync
 * 0.16 (internal/controller/statemachine/machine.go, `getTrigger`) syncs on a non-empty `manual`
 * in place of the schedule, and once `status.lastManualSync` equals it, never again: the volume
 * would get no scheduled backup. Argo CD would not remove it: the field is neither in Git nor in
 * the last applied configuration, so its three-way merge keeps it and the Application reads
 * Synced. A merge patch with `null` deletes the key; the patch runs only when the
 * ReplicationSource exists and has a trigger (`--ignore-not-found`: after step 3 it does not),
 * and a failed read stops it (`&&`).
 */
export function clearManualTriggerCommands(entry: ProtectedVolume): string[] {
  const ns = q(entry.volume.namespace);
  const source = q(backupNames(entry.volume).source);
  return [
    `MANUAL="$(kubectl -n ${ns} get replicationsource ${source} --ignore-not-found -o jsonpath='{.spec.trigger.manual}')" && { [ -z "$MANUAL" ] || kubectl -n ${ns} patch replicationsource ${source} --type merge -p '{"spec":{"trigger":{"manual":null}}}'; }`,
  ];
}

/**
 * The commands that restore one volume from its restic repository (auto-sync off, workloads
 * stopped): the newest snapshot taken before `$LOST_AT`, the time the runbook's first step
 * records. VolSync 0.16 backs a new ReplicationSource up at once (its state machine's initial
 * state goes straight to synchronizing), so on a rebuilt cluster the still empty volume is in the
 * repository before the restore runs, and "latest" would restore it.
 */
export function restoreCommands(entry: ProtectedVolume): string[] {
  const { volume } = entry;
  const names = backupNames(volume);
  const ns = q(volume.namespace);
  return [
    `STAMP="restore-$(date -u +%Y%m%d%H%M%S)"`,
    `kubectl -n ${ns} patch replicationdestination ${q(names.destination)} --type merge -p '{"spec":{"paused":false,"trigger":{"manual":"'"$STAMP"'"},"restic":{"restoreAsOf":"'"\${LOST_AT:?set in step 1, or in a new shell with its second block}"'"}}}'`,
    `kubectl -n ${ns} wait replicationdestination/${names.destination} --for=jsonpath='{.status.lastManualSync}'="$STAMP" --timeout=6h`,
    ...restoreResultCommands(entry),
    // The restore done, `restoreAsOf` goes: Argo CD's hand-back keeps a field Git never sets
    // (its three-way merge), and VolSync passes it to every later restore (v0.16.0
    // mover/restic/mover.go `RESTORE_AS_OF`): the next one, by these commands or by hand, would
    // quietly restore the old snapshot again. Only once this restore finished: a Job already
    // running keeps its own environment, but a new one would not.
    `[ "$(kubectl -n ${ns} get replicationdestination ${q(names.destination)} -o jsonpath='{.status.lastManualSync}')" = "$STAMP" ] && kubectl -n ${ns} patch replicationdestination ${q(names.destination)} --type merge -p '{"spec":{"restic":{"restoreAsOf":null}}}'`,
  ];
}

/**
 * Reads the restore's result and says loudly when nothing was restored. VolSync 0.16's restic
 * mover (mover-restic/entry.sh, `do_restore`) ends a restore that finds no snapshot at or before
 * `restoreAsOf` with "No eligible snapshots found" / "No data will be restored" and exit 0: the
 * ReplicationDestination then reads `Successful` over an empty volume. Its log filter keeps those
 * lines in `latestMoverStatus.logs`, so the check reads both.
 */
export function restoreResultCommands(entry: ProtectedVolume): string[] {
  const id = `${entry.volume.namespace}/${entry.volume.name}`;
  return resultCommands(
    entry,
    backupNames(entry.volume).destination,
    `restored ${id}`,
    `RESTORE FAILED: nothing was restored into ${id} (no snapshot at or before LOST_AT, or the mover failed): do not hand it back to Argo CD`,
  );
}

/**
 * Whether the volume's Secret (what the secrets operator synced from the secret store) names
 * `repository`, the one the definition backs the volume up to: the bootstrap and the restores
 * read the Secret's, so a wrong one restores nothing (and VolSync's mover initialises an empty
 * repository there). Prints a verdict, never the Secret's value. The Secret's URL is read as
 * restic reads it, as the restore verification reads it (`REPOSITORY_KEY_SED`: `s3:<host>/…` is
 * `s3:https://<host>/…`, a trailing `/` does not count); `repository` is already in that form
 * (settings.ts `resticRepository`: the endpoint carries its scheme, no part ends in `/`).
 */
export function repositoryCheckCommand(entry: ProtectedVolume, repository: string): string {
  const id = `${entry.volume.namespace}/${backupNames(entry.volume).secret}`;
  return `case "$(kubectl -n ${q(entry.volume.namespace)} get secret ${q(backupNames(entry.volume).secret)} -o jsonpath='{.data.RESTIC_REPOSITORY}' | base64 -d | ${REPOSITORY_KEY_SED})" in ${q(repository)}) echo ${q(`${id} names the repository above`)} ;; *) echo ${q(`WRONG REPOSITORY: ${id} is missing or does not name ${repository}: set RESTIC_REPOSITORY of its entry in the secret store to it and wait until the Secret has it, before any restore of this volume`)} ;; esac`;
}

/**
 * Removes the stale locks of the volume's repository with a one-shot pod (manifests.ts
 * `resticUnlockPod`, the verification's labels, security context and Secret), waits until it
 * ended, shows what it said and deletes it. A restic the lost cluster was running (a backup, its
 * `forget`, the verification's `check`) left its lock: restic never ignores one (v0.18.1
 * `checkForOtherLocks`), and after an exclusive one every restore is refused, the bootstrap's
 * included (its claim stays Pending), until `restic unlock`; VolSync unlocks only before a
 * backup, and only when a ReplicationSource's `restic.unlock` changes.
 */
export function unlockCommands(entry: ProtectedVolume, withCa = false): string[] {
  return oneShotPodCommands(resticUnlockPod(entry.volume, withCa));
}

/**
 * Reads what the bootstrap restored into the volume's claim (the latest snapshot), as
 * `restoreResultCommands` reads a restore: on an empty repository (a first install, or a volume
 * never backed up) the mover initialises it, restores nothing and succeeds, and the claim is
 * bound empty.
 */
export function bootstrapResultCommands(
  entry: ProtectedVolume,
  then = 'restore it below before the workloads start on it',
): string[] {
  const id = `${entry.volume.namespace}/${entry.volume.name}`;
  return resultCommands(
    entry,
    backupNames(entry.volume).bootstrap,
    `filled ${id} from its latest snapshot`,
    `EMPTY: ${id} was filled with nothing (its repository has no snapshot, or the mover failed): ${then}`,
  );
}

function resultCommands(
  entry: ProtectedVolume,
  destination: string,
  success: string,
  failure: string,
): string[] {
  const ns = q(entry.volume.namespace);
  return [
    `RESULT="$(kubectl -n ${ns} get replicationdestination ${q(destination)} -o jsonpath='{.status.latestMoverStatus.result}{"\\n"}{.status.latestMoverStatus.logs}')"`,
    `printf '%s\\n' "$RESULT"`,
    `printf '%s\\n' "$RESULT" | head -n 1 | grep -qx Successful && ! printf '%s\\n' "$RESULT" | grep -q -e 'No eligible snapshots' -e 'No data will be restored' && echo ${q(success)} || echo ${q(failure)}`,
  ];
}

/**
 * The Longhorn state of a protected volume's claim (`faulted`: every replica was on a lost disk).
 * Longhorn's CSI driver names the volume after the PersistentVolume.
 */
export function volumeStateCommand(entry: ProtectedVolume): string {
  const { volume } = entry;
  return `kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io "$(kubectl -n ${q(volume.namespace)} get pvc ${q(volume.name)} -o jsonpath='{.spec.volumeName}')" -o jsonpath='{.status.robustness}{"\\n"}'`;
}

/**
 * Lists the claims of faulted Longhorn volumes (`<namespace>/<claim>`), once Longhorn's managers
 * run. Longhorn sets `faulted` on a detached volume whose replicas all failed: after a rebuild,
 * the replicas whose data was on a lost disk.
 */
export function faultedClaimsCommands(): string[] {
  return [
    `kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.robustness=="faulted")]}{.status.kubernetesStatus.namespace}{"/"}{.status.kubernetesStatus.pvcName}{"\\n"}{end}'`,
  ];
}

/**
 * The orphans of Longhorn's disks after the etcd restore, and whether the volume each belonged to
 * exists. longhorn-manager v1.8.1 makes an Orphan for each replica directory on a ready disk that
 * no Replica names (`node_controller.go` `createOrphan`: `spec.nodeID`, `spec.parameters.DiskPath`
 * and `DataName`, the directory `<volume>-<suffix>`); deleting one deletes the directory
 * (`orphan_controller.go`), and only `orphan-auto-deletion` (default false, `types/setting.go`)
 * deletes them unasked. The volume names are matched in awk by file name, not `NR == FNR`, which an
 * empty list would mistake for the orphans.
 */
export function orphanCommands(): string[] {
  return [
    `kubectl -n ${LONGHORN_NAMESPACE} get settings.longhorn.io orphan-auto-deletion -o jsonpath='{.value}{"\\n"}'`,
    `kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}' > ./volumes`,
    `kubectl -n ${LONGHORN_NAMESPACE} get orphans.longhorn.io -o jsonpath='{range .items[*]}{.spec.nodeID}{" "}{.spec.parameters.DiskPath}{" "}{.spec.parameters.DataName}{"\\n"}{end}' | awk 'FILENAME == "./volumes" { volume[$1] = 1; next } { name = $3; sub(/-[^-]*$/, "", name); print $1, $2, $3, name, ((name in volume) ? "volume-exists" : "volume-gone") }' ./volumes -`,
    'rm ./volumes',
  ];
}

/**
 * The replicas of the faulted Longhorn volumes (`<volume> <node> <disk path> <failed at>`): one on
 * a disk that was kept, on a node that runs, is what auto-salvage (on by default in v1.8.1) brings
 * the volume back from.
 */
export function faultedReplicasCommands(): string[] {
  return [
    `kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.robustness=="faulted")]}{.metadata.name}{"\\n"}{end}' > ./faulted-names`,
    `kubectl -n ${LONGHORN_NAMESPACE} get replicas.longhorn.io -o jsonpath='{range .items[*]}{.spec.volumeName}{" "}{.spec.nodeID}{" "}{.spec.diskPath}{" "}{.spec.failedAt}{"\\n"}{end}' | awk 'FILENAME == "./faulted-names" { faulted[$1] = 1; next } ($1 in faulted)' ./faulted-names -`,
    'rm ./faulted-names',
  ];
}

/**
 * A kubectl Go template that prints `<node> <disk>` for each disk of each Longhorn node whose
 * condition `type` has `field` equal (`eq`) or not equal (`ne`) to `value`. Longhorn v1.8.1's
 * conditions always carry `type`, `status` and `reason` (no `omitempty`), so the comparisons never
 * meet a missing key.
 */
function diskConditionTemplate(
  type: string,
  op: 'eq' | 'ne',
  field: string,
  value: string,
  extra = '',
): string {
  return `{{range .items}}{{$node := .metadata.name}}{{range $disk, $status := .status.diskStatus}}{{range $status.conditions}}{{if and (eq .type "${type}") (${op} .${field} "${value}")}}{{$node}} {{$disk}}${extra}{{"\\n"}}{{end}}{{end}}{{end}}{{end}}`;
}

/**
 * The Longhorn disks whose identity changed under the restored etcd, taken out of their nodes.
 * Restoring etcd restores each `nodes.longhorn.io` with the UUID it recorded for each disk. A
 * disk wiped or replaced since (a machine installed anew, a control plane whose EPHEMERAL
 * partition was wiped: `/var/lib/longhorn`) has no `longhorn-disk.cfg`: longhorn-manager v1.8.1
 * writes one with a new UUID (`monitor/disk_utils.go` `generateFilesystemTypeDiskConfig`), and the
 * node controller marks the disk not ready for good when the two differ (`node_controller.go`:
 * reason `DiskFilesystemChanged`, "record diskUUID doesn't match the one on the disk"), so no
 * replica is placed there. Its disk monitor looks every 30 seconds (`DiskMonitorSyncPeriod`), and
 * the node controller resyncs every 30: the list is read 90 seconds after the managers run. The
 * webhook removes a disk only when its scheduling is off and it counts no scheduled storage
 * (`webhook/resources/node/validator.go`); a disk that is not ready counts none. The node
 * controller then drops its status, which the last command waits for. `./stale-disks` stays for
 * the disks to be given back.
 */
export function staleDiskCommands(): string[] {
  const list = `kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io -o go-template='${diskConditionTemplate('Ready', 'eq', 'reason', 'DiskFilesystemChanged')}'`;
  const shown = `kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io -o go-template='${diskConditionTemplate('Ready', 'eq', 'reason', 'DiskFilesystemChanged', ' {{.message}}')}'`;
  return [
    `kubectl -n ${LONGHORN_NAMESPACE} rollout status daemonset/longhorn-manager --timeout=15m`,
    'sleep 90',
    `${list} > ./stale-disks`,
    shown,
    `while read -r node disk; do kubectl -n ${LONGHORN_NAMESPACE} patch nodes.longhorn.io "$node" --type=merge -p '{"spec":{"disks":{"'"$disk"'":{"allowScheduling":false}}}}' && kubectl -n ${LONGHORN_NAMESPACE} patch nodes.longhorn.io "$node" --type=merge -p '{"spec":{"disks":{"'"$disk"'":null}}}'; done < ./stale-disks`,
    boundedWait({
      seconds: 600,
      interval: 10,
      condition: `[ -z "$(${list})" ]`,
      message: `Longhorn still lists disks whose identity changed (below): see kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io -o yaml, their spec.disks and status.diskStatus`,
      diagnose: `${list} >&2`,
    }),
  ];
}

/**
 * Lists the disks of Longhorn's nodes that take no replica (`<node> <disk>: <why>`): prints
 * nothing once every disk is schedulable.
 */
export function unschedulableDisksCommand(): string {
  return `kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io -o go-template='${diskConditionTemplate('Schedulable', 'ne', 'status', 'True', ': {{.message}}')}'`;
}

/**
 * Lists Longhorn's own backups of the faulted volumes (`<namespace>/<claim> <backup> <time>`): a
 * tier of the storage provider may back its volumes up to Longhorn's backup target (a
 * RecurringJob of task `backup`), independently of restic. After etcd came back, Longhorn v1.8.1
 * holds one BackupVolume per backed-up volume (`spec.volumeName`, the volume's name, which is its
 * PersistentVolume's; `status.lastBackupName`, `status.lastBackupAt`), pulled from the target. A
 * faulted claim listed here is not lost.
 */
export function longhornBackupsCommands(): string[] {
  return [
    `kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.robustness=="faulted")]}{.metadata.name}{" "}{.status.kubernetesStatus.namespace}{"/"}{.status.kubernetesStatus.pvcName}{"\\n"}{end}' > ./faulted-volumes`,
    `kubectl -n ${LONGHORN_NAMESPACE} get backupvolumes.longhorn.io -o jsonpath='{range .items[*]}{.spec.volumeName}{" "}{.status.lastBackupName}{" "}{.status.lastBackupAt}{"\\n"}{end}' | awk 'NR == FNR { claim[$1] = $2; next } ($1 in claim) && $2 != "" { print claim[$1], $2, $3 }' ./faulted-volumes -`,
    'rm ./faulted-volumes',
  ];
}

/**
 * Replaces one faulted claim that has no backup by an empty one: the claim (`--wait=false`: its
 * `kubernetes.io/pvc-protection` finalizer holds it while a scheduled pod mounts it; the pods
 * controllers make in place of the deleted ones stay unscheduled while it is being deleted, and
 * Kubernetes' PVC protection counts only scheduled pods), then every pod of its namespace that
 * mounts it (their controller makes new pods, and a StatefulSet a new claim). A pod mounts a
 * claim by name (`persistentVolumeClaim.claimName`: a Deployment's, a StatefulSet's
 * `<template>-<statefulset>-<ordinal>`) or through a generic ephemeral volume, whose claim is
 * `<pod>-<volume>` (Kubernetes' ephemeral volume naming; the restore verification's scratch
 * volume): both are matched. The operator sets CLAIM to a line of the faulted-claims list
 * (`<namespace>/<claim>`); every other word is a pasteable command (a bare `<namespace>` would be
 * a shell redirection).
 */
export function emptyClaimCommands(): string[] {
  return [
    "CLAIM='<namespace>/<claim>'",
    `kubectl -n "\${CLAIM%%/*}" delete pvc "\${CLAIM#*/}" --wait=false`,
    `${podsMountingCommand(`"\${CLAIM%%/*}"`, `"\${CLAIM#*/}"`)} | while read -r pod; do kubectl -n "\${CLAIM%%/*}" delete pod "$pod" --wait=false; done`,
  ];
}

/**
 * A Job made by hand from a CronJob's template, owned by nobody. kubectl's `create job
 * --from=cronjob/…` makes the CronJob its controller (`Controller: true` in its owner reference,
 * kubectl v0.34 `pkg/cmd/create/create_job.go`), and the CronJob controller counts every Job it
 * controls in its history limits (`getJobsToBeReconciled`, `cleanupFinishedJobs`): with
 * `successfulJobsHistoryLimit: 0` (the restore verification) it deletes the Job, its pod and logs
 * with it, the moment it completes, and a wait for `Complete` never sees it; with 1 (talos-backup)
 * a scheduled run finishing meanwhile deletes it. Made from the same Job with the owner reference
 * dropped (`--dry-run=client` still reads the CronJob from the server), it stays until deleted.
 */
export function jobFromCronJob(namespace: string, cronjob: string, job: string): string {
  const ns = q(namespace);
  return `kubectl -n ${ns} create job --from=cronjob/${q(cronjob)} ${q(job)} --dry-run=client -o json | kubectl patch --local -f - --type merge -p '{"metadata":{"ownerReferences":null}}' -o json | kubectl -n ${ns} create -f -`;
}

/**
 * Runs a volume's restore verification once and reads its result. Only volumes whose backup
 * keeps its verification have the CronJob (`verify: false` makes none). The Job ends `Complete`
 * or `Failed` (its `activeDeadlineSeconds` bounds it; from Kubernetes 1.31 `SuccessCriteriaMet`
 * or `FailureTarget` comes first), so the wait ends on either: `kubectl wait
 * --for=condition=Complete` would sit out its whole timeout on a failed verification. The Job is
 * deleted once read, and with it its pod and scratch volume.
 */
export function verificationRunCommands(entry: ProtectedVolume, windowMinutes: number): string[] {
  const names = backupNames(entry.volume);
  const ns = q(entry.volume.namespace);
  const job = q(`${names.verification}-manual`);
  return [
    jobFromCronJob(entry.volume.namespace, names.verification, `${names.verification}-manual`),
    // The Job's activeDeadlineSeconds is the verification window: it has ended by then, and
    // the margin covers its pod's scheduling and the Job controller's conditions.
    boundedWait({
      condition: `kubectl -n ${ns} get job ${job} -o jsonpath='{.status.conditions[?(@.status=="True")].type}' | grep -qw -e Complete -e Failed`,
      seconds: windowMinutes * 60 + WAIT_SECONDS.restoreVerifyMargin,
      interval: 15,
      message: `Job ${entry.volume.namespace}/${names.verification}-manual neither completed nor failed: see kubectl -n ${entry.volume.namespace} describe job ${names.verification}-manual and its pod's events`,
    }),
    `kubectl -n ${ns} get job ${job} -o jsonpath='{.status.conditions[?(@.status=="True")].type}{"\\n"}'`,
    `kubectl -n ${ns} logs job/${names.verification}-manual --tail=1`,
    // Nothing else deletes a Job owned by nobody (`jobFromCronJob`), and its pod keeps the
    // scratch volume: a full-size copy of the volume's data.
    `kubectl -n ${ns} delete job ${job} --timeout=5m`,
  ];
}

/**
 * The wait of step 3 ("Let Argo CD converge"): every Application healthy, except the ones that
 * hold a protected volume (`excluded`) and the root one. With etcd restored, a claim whose Longhorn replicas
 * were on lost disks is faulted: the workloads that mount it stay `Progressing` (Argo CD's
 * Deployment health: available below updated replicas), then `Degraded` after their progress
 * deadline, until step 4 restores the data, and the root Application's health is the worst of
 * its children's. Waiting for `--all` there could only time out.
 */
export function convergenceWait(
  cluster: ResolvedCluster,
  volumes: readonly ProtectedVolume[],
  gitopsNamespace: string,
): { readonly excluded: readonly string[]; readonly command: string } {
  const ns = q(gitopsNamespace);
  const health = `--for=jsonpath='{.status.health.status}'=Healthy --timeout=30m`;
  const excluded = [...new Set(volumes.map((entry) => entry.application))].sort(compareStrings);
  if (excluded.length === 0) {
    return { excluded, command: `kubectl -n ${ns} wait applications --all ${health}` };
  }
  // `kubectl get -o name` prints `<kind>.<group>/<name>`, the form `kubectl wait` takes.
  const skip = [rootApplicationName(cluster), ...excluded]
    .map((name) => `-e ${q(`application.argoproj.io/${name}`)}`)
    .join(' ');
  return {
    excluded,
    command: `kubectl -n ${ns} get applications -o name | grep -v -x ${skip} | xargs kubectl -n ${ns} wait ${health}`,
  };
}

/** The number of etcd members that make a quorum among `members`. */
function quorum(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * What a control plane that still runs does before the restore: save its etcd database, then wipe
 * its EPHEMERAL partition. Its data directory holds the lost cluster's members: Talos v1.12 starts
 * etcd on a non-empty directory with `initial-cluster-state=existing` (services/etcd.go
 * `argsForControlPlane`), so it keeps waiting for those members and never joins the restored one,
 * and machined answers `AlreadyExists` to a bootstrap on it (v1alpha1_server.go `Bootstrap`),
 * which step 2's loop takes for a restore done. Talos' own disaster recovery wipes it with
 * `reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL`.
 *
 * The database is saved first, being newer than the last scheduled snapshot: through the etcd API
 * (`etcd snapshot`, which carries etcd's hash), else, when etcd no longer serves one, as a copy of
 * the file (`cp /var/lib/etcd/member/snap/db`, an archive extracted into a folder; no hash, so
 * the restore needs `--recover-skip-hash-check`). The wipe runs only once one of them saved it
 * (the text says to run it alone when neither can). `-e` with `-n`: `gen config` writes a talosconfig
 * whose endpoints step 2 sets only later.
 */
export function survivingControlPlaneCommands(node: {
  hostname: string;
  address: string;
}): string[] {
  const talos = `talosctl -e ${q(node.address)} -n ${q(node.address)}`;
  return [
    `{ ${talos} etcd snapshot ${q(`./etcd-${node.hostname}.snapshot`)} || ${talos} cp /var/lib/etcd/member/snap/db ${q(`./etcd-${node.hostname}`)}; } && ${talos} reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL`,
  ];
}

/** The S3 keys step 2 reads the etcd snapshot with (the cluster that held them is gone). */
const S3_READS: readonly ShellRead[] = [
  { variable: 'AWS_ACCESS_KEY_ID', prompt: 'S3 access key id' },
  { variable: 'AWS_SECRET_ACCESS_KEY', prompt: 'S3 secret access key' },
];

/** The bootstrap of step 2 from `./db.snapshot`, retried until the control plane takes it. */
function recoverCommands(address: string, skipHashCheck: boolean): string[] {
  const flags = `--recover-from=./db.snapshot${skipHashCheck ? ' --recover-skip-hash-check' : ''}`;
  return [
    // The node answers only once it has installed Talos and rebooted after step 5's apply,
    // and takes the bootstrap only once its container runtime runs and its clock is in sync
    // (FailedPrecondition until then): retry, printing each error. `AlreadyExists` ends it
    // too: an earlier try restored etcd although its answer was lost.
    boundedWait({
      condition: `talosctl -n ${q(address)} bootstrap ${flags} 2>./bootstrap.err || grep 'code = AlreadyExists' ./bootstrap.err`,
      seconds: WAIT_SECONDS.restore,
      interval: 10,
      message: `the control plane ${address} did not take the bootstrap from the snapshot; its last refusal is above; look at the node's console or talosctl -n ${address} dmesg`,
      each: 'cat ./bootstrap.err',
    }),
    `talosctl -n ${q(address)} health --wait-timeout 20m`,
  ];
}

/** Where the restore of etcd writes the S3 endpoint's CA for the AWS CLI (`--ca-bundle`). */
const S3_CA_FILE = './backup-s3-ca.pem';

/** The AWS CLI's options for the bucket's endpoint (with its own CA: the file written first). */
function endpointOptions(s3: NonNullable<ResolvedBackupsSettings['s3']>): string {
  return ` --endpoint-url ${q(s3.endpoint)}${s3.caCertificate === undefined ? '' : ` --ca-bundle ${S3_CA_FILE}`}`;
}

/**
 * One list of commands chained with `&&` that lists the etcd snapshots under `etcdPrefix`, fetches
 * the newest to `./etcd-snapshot.age` and decrypts it to `./db.snapshot` with the key in
 * `AGE_KEY_FILE`, each only once the one before succeeded (the S3 keys read before). `age` may ask
 * for a passphrase on the terminal, so the decryption ends the list, which ends its block.
 */
function fetchSnapshotCommands(
  s3: NonNullable<ResolvedBackupsSettings['s3']>,
  etcdPrefix: string,
): string[] {
  const endpoint = endpointOptions(s3);
  return [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions
    ': "${AWS_ACCESS_KEY_ID:?read it first (see above)}" "${AWS_SECRET_ACCESS_KEY:?read it first (see above)}" &&',
    `export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=${q(s3.region)} &&`,
    `LATEST=$(aws s3 ls ${q(`s3://${s3.bucket}/${etcdPrefix}/`)}${endpoint} | sort | tail -n 1 | awk '{print $4}') &&`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    ': "${LATEST:?no etcd snapshot listed (an error of aws above, or none in the bucket)}" &&',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    ': "${AGE_KEY_FILE:?set AGE_KEY_FILE to the file that holds the age private key}" &&',
    `aws s3 cp ${q(`s3://${s3.bucket}/${etcdPrefix}/`)}"$LATEST" ./etcd-snapshot.age${endpoint} &&`,
    'age --decrypt -i "$AGE_KEY_FILE" -o ./db.snapshot ./etcd-snapshot.age',
  ];
}

/** The etcd backup CronJob, and the Job the first-snapshot step makes of it. */
const ETCD_CRONJOB = 'talos-backup';
const FIRST_SNAPSHOT_JOB = 'talos-backup-first';
/** talos-backup's Job deadline (its `activeDeadlineSeconds`, manifests.ts). */
const ETCD_JOB_DEADLINE_SECONDS = 1800;

/**
 * The bring-up step that proves the etcd backup before it is needed: one snapshot taken now (a
 * Job from the CronJob, not its first scheduled run), then read back the way the disaster
 * recovery reads it (its step 2: the newest snapshot listed and fetched with S3 keys that may
 * read the bucket, decrypted with the age private key kept offline). A key pair that does not
 * match, an upload that never lands, or read access nobody kept shows now, with the cluster up,
 * not during an outage. After the hand-over: the CronJob is the backups Application's.
 */
export function firstSnapshotStep(
  namespace: string,
  s3: NonNullable<ResolvedBackupsSettings['s3']>,
  etcdPrefix: string,
): BootstrapStep {
  const ns = q(namespace);
  const job = q(FIRST_SNAPSHOT_JOB);
  return {
    title: 'Take the first etcd snapshot and read it back',
    when: 'after-handover',
    body: [
      `Prove the etcd backup now, not during an outage: a snapshot taken at once from the CronJob`,
      `\`${namespace}/${ETCD_CRONJOB}\` (once Argo CD has made it), then the newest one in`,
      `\`s3://${s3.bucket}/${etcdPrefix}/\` fetched and decrypted as the disaster recovery runbook`,
      'does it (its step 2), with S3 keys that may list and read the bucket (those the disaster',
      "recovery will need, kept in Bitwarden: an upload-only key such as talos-backup's own cannot",
      'find the snapshots) and the age private key kept offline (`AGE_KEY_FILE` names its file).',
      "A decryption that fails means the definition's `etcd.agePublicKey` is not that key's. A Job",
      `that fails stops the list and stays for its logs (\`kubectl -n ${namespace} logs`,
      `job/${FIRST_SNAPSHOT_JOB}\`); running the block again replaces it.`,
    ],
    reads: S3_READS,
    commands: [
      ...(s3.caCertificate === undefined
        ? []
        : [`printf '%s\\n' ${q(s3.caCertificate.trim())} > ${S3_CA_FILE}`]),
      `kubectl -n ${ns} wait --for=create cronjob/${ETCD_CRONJOB} --timeout=60m`,
      // A Job left by an earlier try (kept when it failed, for its logs).
      `kubectl -n ${ns} delete job ${job} --ignore-not-found --timeout=5m`,
      jobFromCronJob(namespace, ETCD_CRONJOB, FIRST_SNAPSHOT_JOB),
      boundedWait({
        condition: `kubectl -n ${ns} get job ${job} -o jsonpath='{.status.conditions[?(@.status=="True")].type}' | grep -qw -e Complete -e Failed`,
        seconds: ETCD_JOB_DEADLINE_SECONDS + WAIT_SECONDS.restoreVerifyMargin,
        interval: 15,
        message: `Job ${namespace}/${FIRST_SNAPSHOT_JOB} neither completed nor failed: see kubectl -n ${namespace} describe job ${FIRST_SNAPSHOT_JOB} and its pod's events`,
      }),
      `kubectl -n ${ns} logs job/${FIRST_SNAPSHOT_JOB} --tail=5`,
      // Only this Job's snapshot proves anything: a failed one stops the list (the newest in the
      // bucket would be an earlier scheduled run's) and stays for its logs.
      `kubectl -n ${ns} get job ${job} -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' | grep -qx True &&`,
      `kubectl -n ${ns} delete job ${job} --timeout=5m &&`,
      ...fetchSnapshotCommands(s3, etcdPrefix).map((line, index, all) =>
        index === all.length - 1 ? `${line} &&` : line,
      ),
      `ls -l ./db.snapshot &&`,
      `rm ./db.snapshot ./etcd-snapshot.age${s3.caCertificate === undefined ? '' : ` ${S3_CA_FILE}`}`,
    ],
  };
}

export function disasterRecoveryRunbook(input: RunbookInput): string {
  const { cluster, settings, volumes } = input;
  const name = cluster.name;
  const first = cluster.controlPlanes[0];
  const s3 = settings.s3;
  const etcd = settings.etcd;
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);
  const sh = (...commands: string[]) => add('```sh', ...commands, '```', '');
  const talosReadme = runbookPath(name);
  const etcdPrefix = etcd === undefined ? '' : `${etcd.prefix}/${name}`;

  add(
    input.header,
    `# Cluster \`${name}\`: disaster recovery runbook`,
    '',
    `Rebuilds cluster \`${name}\` (${cluster.environment}, Talos ${cluster.talosVersion}) from Git, its etcd`,
    'snapshot and its restic backups. Run the commands from the repository root.',
    '',
    '## What must have been saved beforehand',
    '',
    'Nothing below can be rebuilt from Git; check now, not during the outage:',
    '',
    `- the Talos secrets bundle \`secrets.yaml\` of \`${name}\`, kept in Bitwarden (step 1 of \`${talosReadme}\`);`,
    '  without it the machine configs, and every certificate, must be made anew;',
    // Talos' kube-apiserver encrypts Secrets in etcd with the bundle's secretboxEncryptionSecret
    // (pkg/machinery/config/generate/secrets/bundle.go, v1.12.11): a new bundle cannot read them.
    ...(etcd === undefined
      ? []
      : [
          '  and the etcd snapshot is of no use without it either: the API server keeps Secrets in etcd',
          '  encrypted with its `secretboxEncryptionSecret`;',
        ]),
    etcd === undefined
      ? '- (etcd backups are disabled on this cluster: the cluster state comes back from Git only);'
      : `- the age private key whose public key \`${etcd.agePublicKey ?? '(not set)'}\` encrypts the etcd snapshots, kept offline (never in the cluster or in Bitwarden alone);`,
    s3 === undefined
      ? '- (no backup bucket is configured: volumes cannot be restored);'
      : `- read access to the bucket \`${s3.bucket}\` at ${s3.endpoint}: S3 credentials that may list and read it (an upload-only key, such as one made for talos-backup alone, cannot find the snapshots) and each restic repository's password, kept in Bitwarden;`,
    "- access to the cluster's Bitwarden machine account, to make a new access token for the hand-made bootstrap secret (the token is never written down: a new one of the same machine account reads the same secrets).",
    '',
    // talos-backup v0.1.0-beta.3 only uploads (pkg/s3 PushSnapshot; no delete anywhere), while
    // restic prunes its repositories itself (forget --prune): an expiry under restic/ would delete
    // pack files the snapshots it keeps still need.
    ...(etcd === undefined || s3 === undefined
      ? []
      : [
          `The etcd snapshots under \`s3://${s3.bucket}/${etcdPrefix}/\` are never deleted: talos-backup`,
          'only uploads, one object per snapshot, so they grow without end. Give the bucket a',
          `lifecycle rule that expires objects under \`${etcdPrefix}/\` after as long as you keep them`,
          `(a few weeks), and none over \`${settings.restic.prefix}/\`: restic prunes its repositories`,
          'itself, and an expiry there deletes pack files the snapshots it keeps still need. A rule',
          'expires by age alone: once the cluster is lost no new snapshot comes, so recover (or copy',
          'the newest snapshot elsewhere) before its period ends.',
          '',
        ]),
    'Tools: `talosctl`, `kubectl`, `helm`, `age`, the AWS CLI (`aws`).',
    '',
    '## 1. Rebuild the machines from Git',
    '',
    `Put \`secrets.yaml\` back into \`$HOME/.homelab/${name}\`, and set the variables the commands of`,
    `\`${talosReadme}\` and of this runbook use, in the shell that runs them. \`LOST_AT\` is when the`,
    'cluster was lost (now, before anything is rebuilt): volumes are restored from the newest backup',
    'before it, never from what the rebuilt cluster backs up. It is kept in `$TALOS_DIR/lost-at`.',
    '',
  );
  sh(
    `export TALOS_DIR="$HOME/.homelab/${name}"`,
    'export TALOSCONFIG="$TALOS_DIR/talosconfig"',
    'export LOST_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"',
    'mkdir -p "$TALOS_DIR" && printf \'%s\\n\' "$LOST_AT" > "$TALOS_DIR/lost-at"',
    'test -s "$TALOS_DIR/secrets.yaml" || echo "secrets.yaml is missing: restore it from Bitwarden first"',
  );
  add(
    'In a new shell later (a restore of step 4 may come days after the rebuild), set the',
    'variables with this block, never with the one above: it would take the time again, after the',
    'rebuild, and a restore would then pick a snapshot the rebuilt cluster took:',
    '',
  );
  sh(
    `export TALOS_DIR="$HOME/.homelab/${name}"`,
    'export TALOSCONFIG="$TALOS_DIR/talosconfig"',
    'export KUBECONFIG="$TALOS_DIR/kubeconfig"',
    'LOST_AT="$(cat "$TALOS_DIR/lost-at")"',
    'export LOST_AT',
    'echo "restoring as of ${LOST_AT:?no $TALOS_DIR/lost-at: set LOST_AT to when the cluster was lost}"',
  );
  const controlPlanes = cluster.controlPlanes.length;
  add(
    `Then follow steps 2 to 5 of \`${talosReadme}\` (schematic, machine configs, DHCP addresses,`,
    'apply) for the machines that were lost, every machine when all were. Do **not** run its',
    'step 6 (`talosctl bootstrap`): etcd comes back from the snapshot instead. A machine that still',
    'runs Talos keeps its installation: do not boot it from the ISO. A worker that still runs keeps',
    ...(input.storageDriver === LONGHORN_CSI_DRIVER
      ? [
          'its data disks and the replicas on them, and rejoins once the API answers again. Its volumes',
          'come back with their newest data only where nothing changed in Longhorn between the etcd',
          "snapshot and the loss: etcd brings back Longhorn's records of that time, and Longhorn starts",
          'the replicas they name without comparing their data (the volumes keep no revision counter,',
          "Longhorn v1.8.1's default). A replica replaced or failed since may serve an older or an empty",
          'copy, while the newer one is left on its disk as an orphan; a volume created since comes back',
          'as a new claim, its data in orphans. Step 3 lists them: until step 5 is done, delete no orphan.',
        ]
      : ['its data disks; it rejoins once the API answers again.']),
    '',
    ...(controlPlanes > 1
      ? [
          `Losing ${controlPlanes - quorum(controlPlanes) === 1 ? 'one control plane' : `up to ${controlPlanes - quorum(controlPlanes)} control planes`} (or workers), with ${quorum(controlPlanes)} of the ${controlPlanes} still etcd members that`,
          'answer `talosctl etcd status`, is no disaster: follow "Replacing a dead node" of',
          `\`${talosReadme}\` instead; etcd and the volumes stay. This runbook is for a quorum lost.`,
          '',
        ]
      : []),
    '### Control planes that still run',
    '',
    'A control plane that still runs, its etcd without a quorum or its data unusable, keeps the lost',
    "cluster's etcd data: etcd there keeps waiting for the lost members and never joins the restored",
    'cluster, and a bootstrap on it answers `AlreadyExists`, which step 2 takes for a restore done.',
    'Before step 2, on each control plane that still runs (and only on those), save its etcd',
    'database, newer than the last scheduled snapshot: through the etcd API when it still serves',
    'one (`./etcd-<hostname>.snapshot`), else as a copy of the file (`./etcd-<hostname>/db`). Then',
    "wipe its EPHEMERAL partition: etcd's data and all of `/var`; the user volumes under `/var/mnt`",
    "stay. On a storage node that includes Longhorn's disk at `/var/lib/longhorn` and every replica",
    'on it: a volume whose other replicas were on lost machines comes back faulted (step 3), step 4',
    "or Longhorn's own backups bring back what was backed up, and a volume with no backup is lost.",
    'It reboots and waits for step 2.',
    'The wipe runs only once the database is saved; when neither way can read it, run the',
    '`reset` alone. A saved database holds every object of the lost cluster (its Secrets encrypted',
    "with the secrets bundle's key, the rest in clear): the repository's `.gitignore` keeps it out",
    'of Git, and once step 5 finds the cluster back, delete it.',
    '',
  );
  for (const node of cluster.controlPlanes) {
    add(`**${node.hostname}** (${node.address}), only if it still runs:`, '');
    sh(...survivingControlPlaneCommands(node));
  }
  if (etcd !== undefined && s3 !== undefined && first !== undefined) {
    add(
      '## 2. Restore etcd from the latest snapshot',
      '',
      `The etcd backup job (\`${ETCD_BACKUP_NAMESPACE}/talos-backup\`) writes age-encrypted snapshots to`,
      `\`s3://${s3.bucket}/${etcdPrefix}/\`. Fetch the newest, decrypt it with the private key, and`,
      'bootstrap the first control plane from it. The snapshot was taken through the Talos API, so',
      'it carries its hash and needs no `--recover-skip-hash-check`. The AWS CLI reads the bucket with',
      'the S3 credentials kept in Bitwarden (the cluster that held them is gone): type them in.',
      'The control plane takes the bootstrap only once it is back from installing Talos, its',
      'container runtime running and its clock in sync: the bootstrap is tried again, printing',
      'each refusal, until it succeeds (or answers `AlreadyExists`: an earlier try restored etcd).',
      '',
      `Read each key into your shell first, one block at a time. ${READ_ALONE_NOTE}`,
      '',
    );
    for (const read of S3_READS) sh(readCommand(read));
    if (s3.caCertificate !== undefined) {
      add(
        "The endpoint's certificate is signed by a CA of its own (`s3.caCertificate` of the",
        'definition): write it into a file the AWS CLI reads (`--ca-bundle`):',
        '',
      );
      sh(`printf '%s\\n' ${q(s3.caCertificate.trim())} > ${S3_CA_FILE}`);
    }
    add(
      'Then fetch and decrypt the snapshot. `AGE_KEY_FILE` names the file that holds the age private',
      'key; where it is protected by a passphrase, `age` asks for it on the terminal, so the',
      'decryption ends its block, at the end of one list of commands chained with `&&` (each step',
      'runs only once the one before succeeded, the checks of the variables included):',
      '',
    );
    sh(...fetchSnapshotCommands(s3, etcdPrefix));
    add('Then restore it:', '');
    sh(
      `talosctl config endpoint ${cluster.controlPlanes.map((node) => q(node.address)).join(' ')}`,
      `talosctl config node ${q(first.address)}`,
      ...recoverCommands(first.address, false),
      `rm ./db.snapshot ./etcd-snapshot.age ./bootstrap.err${s3.caCertificate === undefined ? '' : ` ${S3_CA_FILE}`}`,
    );
    add(
      'A database saved from a control plane that still ran is newer: to restore it instead, copy it',
      'to `./db.snapshot` and bootstrap from it. A snapshot through the etcd API',
      '(`cp ./etcd-<hostname>.snapshot ./db.snapshot`) carries its hash: run the restore block above.',
      'A copy of the file (`cp ./etcd-<hostname>/db ./db.snapshot`) has',
      'none, and Talos refuses it without `--recover-skip-hash-check`; copied from a running etcd, it',
      'may also miss the last writes:',
      '',
    );
    sh(
      `talosctl config endpoint ${cluster.controlPlanes.map((node) => q(node.address)).join(' ')}`,
      `talosctl config node ${q(first.address)}`,
      ...recoverCommands(first.address, true),
      'rm ./db.snapshot ./bootstrap.err',
    );
    add(
      'The restored etcd holds every object as it was at the snapshot: Argo CD, Cilium and the',
      'Applications come back with it. Volumes whose replicas were on lost disks do not: Longhorn',
      'reports them faulted, and step 4 restores their data.',
      '',
    );
  } else {
    add(
      '## 2. Bootstrap etcd',
      '',
      `There is no etcd backup for this cluster: bootstrap anew (step 6 of \`${talosReadme}\`), unless`,
      'a control plane that still ran left its database ("Control planes that still run"): copy it to',
      '`./db.snapshot` and restore it instead. A snapshot through the etcd API',
      '(`cp ./etcd-<hostname>.snapshot ./db.snapshot`) carries its hash: leave',
      '`--recover-skip-hash-check` out. A copy of the file (`cp ./etcd-<hostname>/db ./db.snapshot`)',
      'has none, and Talos refuses it without that flag:',
      '',
    );
    if (first !== undefined) {
      sh(
        `talosctl config endpoint ${cluster.controlPlanes.map((node) => q(node.address)).join(' ')}`,
        `talosctl config node ${q(first.address)}`,
        ...recoverCommands(first.address, true),
        'rm ./db.snapshot ./bootstrap.err',
      );
    }
  }
  const waiting = convergenceWait(cluster, volumes, input.gitopsNamespace);
  const longhorn = input.storageDriver === LONGHORN_CSI_DRIVER;
  add(
    '## 3. Let Argo CD converge',
    '',
    `Fetch the kubeconfig (step 7 of \`${talosReadme}\`). With etcd restored, Argo CD is already`,
    // A fresh etcd has nothing: the whole bootstrap of the runbook, in its order. A short list
    // here once left out the namespaces, the CRDs and the cluster DNS: Talos' own CoreDNS is
    // disabled where a component deploys it, so Argo CD never resolved the repository.
    'installed. Otherwise (etcd bootstrapped anew) run every step of',
    `\`${talosReadme}\` after step 7, up to and including the hand-over to Argo CD, in its order`,
    "and leaving none out: the platform's namespaces come before the network policies that name",
    'them, the CRDs before the controllers that look for them at start, and the cluster DNS',
    'before Argo CD, which resolves the repository through it.',
    // Said where that path is read, before its steps run: the lost machines' disks held it.
    ...(input.secretsCredential === undefined
      ? []
      : [
          `The step that puts ${input.secretsCredential.what} in takes a new one, not the lost`,
          "cluster's, which its disks held; revoke the lost cluster's.",
        ]),
    '',
  );
  const credential = input.secretsCredential;
  if (credential !== undefined && etcd !== undefined) {
    // The lost machines' disks held it, and an etcd restore brings back the snapshot's value,
    // which a rotation since may have revoked: replaced either way, the old one revoked. First
    // in the step: an object of the secrets provider created since the snapshot cannot sync with
    // a revoked one, and the wait at the end of the step would time out on it.
    add(
      `With etcd restored, first replace ${credential.what}: etcd brought it back as it was at`,
      `the snapshot. A rotation since may have revoked it, and then ${credential.whenRefused}`,
      '(and what was added since cannot sync, so the wait at the end of this step would time',
      "out). And the lost machines' disks held it: replace it even where it still works, as",
      `${credential.replace}.`,
      '',
    );
  }
  if (longhorn) {
    const protectedClaims = volumes.map(
      (entry) => `\`${entry.volume.namespace}/${entry.volume.name}\``,
    );
    add(
      "Restoring etcd also restored each Longhorn node's record of its disks, with the identity",
      'Longhorn wrote on each disk (`longhorn-disk.cfg`; with etcd bootstrapped anew there is no',
      'record, and the list below stays empty). A disk wiped or replaced since has lost it:',
      'the disk at `/var/lib/longhorn` of every machine installed anew and of every control plane',
      'whose EPHEMERAL partition step 1 wiped, and any new data disk. Longhorn writes a new identity',
      'there, finds that it does not match the record, and marks the disk not ready for good',
      '(`DiskFilesystemChanged`): it places no replica on it, the volumes stay degraded, and a claim',
      'replaced below never gets its replicas. A data disk read before Talos mounted it would look',
      'the same: first run, for each storage node, the `talosctl … get volumestatus` waits at the top',
      `of its block of "Later: changing a storage node's disks" (step 3) of \`${talosReadme}\`. Once the`,
      'managers run and have looked at every disk (every 30 seconds), this lists those disks',
      "(`<node> <disk> <Longhorn's message>`), takes each out of its Longhorn",
      "node (its scheduling off first: Longhorn's webhook removes no schedulable disk) and waits",
      'until Longhorn has dropped them:',
      '',
    );
    sh(...staleDiskCommands());
    add(
      `Then give each node listed its disks back: run its block of "Later: changing a storage node's`,
      `disks" (step 3) of \`${talosReadme}\`, which gives the Longhorn node every disk the definition lists`,
      'that it lacks and waits until each is schedulable. Then `rm ./stale-disks`.',
      '',
      'A replica directory that none of the restored records names is an orphan to Longhorn: a',
      'replica made after the snapshot (maybe the newest copy of its volume, whose record now names',
      'an older or an empty one) or the data of a volume created after it. Deleting an orphan',
      'deletes its data; Longhorn deletes none itself while `orphan-auto-deletion` is off (its',
      'default, which the platform keeps: the first command prints `false`). The others list each',
      'orphan (`<node> <disk path> <directory> <volume>`) and whether its volume exists: a',
      '`volume-exists` one means that volume may now serve an older copy than the orphan holds; a',
      '`volume-gone` one holds a volume created after the snapshot (with etcd bootstrapped anew,',
      'every orphan is `volume-gone` and holds a volume of the lost cluster). Keep every orphan until step 5',
      "is done, and recover what you need from one with Longhorn's export of a volume from a single",
      'replica:',
      '',
    );
    sh(...orphanCommands());
    add(
      'A volume whose replicas were all on lost disks comes back faulted, without its data. List',
      'the claims of the faulted volumes:',
      '',
    );
    sh(...faultedClaimsCommands());
    add(
      ...(protectedClaims.length === 0
        ? []
        : [
            `Step 4 restores the protected ones (${protectedClaims.join(', ')}) from restic: leave them to it.`,
          ]),
      "A tier may also back its volumes up to Longhorn's own backup target (its backup",
      'RecurringJob). This lists the faulted claims Longhorn has a backup of, with the last one and',
      'its time:',
      '',
    );
    sh(...longhornBackupsCommands());
    add(
      'A claim listed there is not lost: restore it from that backup with Longhorn\'s "Restore from a',
      'backup" (a new volume from the backup; then, once the faulted claim is deleted, "Create',
      'PV/PVC" for it with the namespace and name of the claim), keeping the pods that mount it',
      'stopped until the claim is back, so that nothing makes an empty one in its place.',
      '',
      'A faulted volume with a replica on a disk that was kept, on a node that runs, is not lost:',
      "Longhorn's `auto-salvage` (on by default) brings it back from that replica once the node is",
      'Ready and its disks schedulable, when the replica failed with the others; otherwise',
      "Longhorn's export of a volume from a single replica recovers its data. This lists the",
      'replicas of the faulted volumes (`<volume> <node> <disk path> <failed at>`):',
      '',
    );
    sh(...faultedReplicasCommands());
    add(
      `Any other claim of the faulted-claims list above${protectedClaims.length === 0 ? '' : ' (not a protected one)'} whose replicas were all on lost disks has`,
      'no copy left: its data is gone, the pods that mount it cannot start, and the wait below',
      'would time out. Replace each by an',
      'empty claim: delete the claim, then the pods that mount it; their StatefulSet, or Argo CD',
      'for a claim from Git, makes a new one. A claim VolSync made itself (its name begins with',
      '`volsync-`: the restic cache of a backup or a restore, such as `volsync-dst-<volume>-restore-cache`',
      "of a paused restore, or a backup's copy of its volume) holds nothing to keep: delete it too,",
      'and VolSync makes it again when it next runs that backup or restore (a restore whose cache',
      'is faulted never finishes). Set `CLAIM` to one claim of the list above, as it names it',
      '(`<namespace>/<claim>`):',
      '',
    );
    sh(...emptyClaimCommands());
  }
  add(
    ...(waiting.excluded.length === 0
      ? ['Then wait until every Application is synced and healthy:']
      : [
          'Then wait until every Application is synced and healthy, except the Applications of',
          `protected volumes (${waiting.excluded.map((name) => `\`${name}\``).join(', ')}) and the root Application`,
          `\`${rootApplicationName(cluster)}\`, whose health is the worst of theirs: a workload whose volume was`,
          'on lost disks cannot start until step 4 restores it, and stays `Progressing` (then',
          '`Degraded`) until then. Step 5 waits for them.',
        ]),
    '',
  );
  sh(`kubectl -n ${q(input.gitopsNamespace)} get applications`, waiting.command);
  add('## 4. Restore the volumes from restic', '');
  if (volumes.length === 0) {
    add('No volume of this cluster has a backup policy.', '');
  } else {
    add(
      'Each protected volume has a paused ReplicationDestination `<volume>-restore` that restores',
      "a snapshot of the repository into the volume's claim. Argo CD would pause it again and",
      'scale the workloads back up, so for each volume turn auto-sync off first: on the root',
      `Application \`${rootApplicationName(cluster)}\` first (its self-heal would put the other back), then on the`,
      "volume's Application.",
      '',
    );
    if (volumes.some((entry) => hasBootstrap(entry.volume))) {
      add(
        'A protected claim Argo CD creates fills itself before any pod can mount it: its',
        '`spec.dataSourceRef` names the ReplicationDestination `<volume>-bootstrap`, which VolSync',
        'runs once, when it is created: it restores the latest snapshot of the repository into a',
        "volume of its own and snapshots it, and VolSync's volume populator makes the claim from",
        'that snapshot. Until then the claim reads `Pending` and the pods that mount it wait. With',
        'etcd bootstrapped anew (step 2) every such claim holds the latest snapshot, not an empty',
        'volume a workload started afresh on. On an empty repository',
        'it is bound empty at once. A claim that is already bound (etcd restored) is never filled',
        'again. Read what filled each claim with the commands of its section below.',
        '',
        'The bootstrap restores once only: a claim deleted later is filled from that one restore',
        '(the data of the day the bootstrap was made; nothing on a first install). So never delete a',
        'protected claim with auto-sync on (Argo CD makes it again at once): replace it with the',
        'commands of its section, which delete its bootstrap too, so that the new one restores the',
        'latest snapshot.',
        '',
      );
    }
    for (const entry of volumes) {
      const repository = resticRepository(
        settings,
        name,
        entry.volume.namespace,
        entry.volume.name,
      );
      add(
        `### \`${entry.volume.namespace}/${entry.volume.name}\` (${entry.component}, ${entry.volume.size} on ${entry.volume.tier})`,
        '',
        `Repository \`${repository ?? '(no bucket configured)'}\`; credentials in the Secret \`${entry.volume.namespace}/${backupNames(entry.volume).secret}\`.`,
        '',
      );
      if (repository !== undefined) {
        add(
          'Check that the Secret names that repository: the bootstrap and the restore below read',
          "the Secret's, and from another one they restore nothing (VolSync's mover even makes an",
          'empty repository there). A claim its bootstrap filled from a wrong one is replaced',
          "below, once the Secret is right. The check reads the Secret's URL as restic does",
          '(`s3:<host>/…` and `s3://<host>/…` are `s3:https://<host>/…`, a trailing `/` does not',
          'count):',
          '',
        );
        sh(repositoryCheckCommand(entry, repository));
      }
      add(...pauseText('Turn'));
      sh(...pauseAutoSyncCommands(cluster, entry, input.gitopsNamespace));
      add(...stopWorkloadsText(input.gitopsNamespace));
      sh(...stopWorkloadCommands(entry));
      add(
        "Pause the volume's backups until it is restored: a backup of the half-restored volume",
        "would count in the repository's retention and could push out the last good snapshot of",
        'the day the cluster was lost:',
        '',
      );
      sh(...pauseBackupCommands(entry));
      add(
        'Remove the stale locks of the repository: a restic the lost cluster was running (a backup,',
        "its `forget`, the verification's `check`) left its lock there, restic never ignores one,",
        "and after an exclusive one it refuses every restore, the bootstrap's too (its claim then",
        'stays `Pending`; VolSync runs its Job again until it succeeds). `restic unlock` removes only',
        'the locks no live restic holds: one untouched for 30 minutes (a running restic refreshes its',
        'lock every 5 minutes), so run this half an hour after the cluster was lost at the earliest.',
        'The pause above stops a backup this cluster had started since (VolSync deletes its pod, and',
        'its lock stays): that one is stale 30 minutes after the pause, and the hourly CronJob',
        `\`${backupNames(entry.volume).unlock}\` (minute 45) removes it at its first run after that, within about 90 minutes. A one-shot pod runs the unlock as the volume's`,
        'restore verification runs (its labels, flows and Secret); its log says how many it removed',
        '(`successfully removed <n> locks`):',
        '',
      );
      sh(...unlockCommands(entry, s3?.caCertificate !== undefined));
      if (hasBootstrap(entry.volume)) {
        add(
          "With etcd bootstrapped anew, read what filled the claim (the bootstrap's restore of the",
          'latest snapshot, named with the time it was taken on its `restoring snapshot <id> of',
          '[/data] at <time>` line; `EMPTY` when the repository had none, or the mover failed):',
          '',
        );
        sh(...bootstrapResultCommands(entry));
      }
      if (longhorn) {
        add(
          "Read the volume's state (`faulted`: its replicas were all on lost disks, its data is gone):",
          '',
        );
        sh(volumeStateCommand(entry));
      }
      const bootstrap = hasBootstrap(entry.volume);
      add(
        ...(bootstrap
          ? [
              'Only when Longhorn reports the volume faulted (its replicas were on lost disks), or the',
              'claim was deleted: replace the claim with a new one. Delete its ReplicationSource first',
              '(Argo CD makes it again when it',
            ]
          : [
              'Only when Longhorn reports the volume faulted (its replicas were on lost disks): replace the',
              'claim with an empty one. Delete its ReplicationSource first (Argo CD makes it again when it',
            ]),
        'gets the Application back): a backup started since etcd came back holds a snapshot of the',
        'faulted claim that never becomes ready, and the snapshot controller keeps the claim while',
        ...(bootstrap
          ? [
              `it exists. Delete its bootstrap \`${backupNames(entry.volume).bootstrap}\` too: it restored once, when it was made,`,
              'and the populator would fill the new claim from that old restore. Wait until the old',
              'claim is gone, then have Argo CD create both again (a sync of the two), wait until the',
              'bootstrap restored the latest snapshot and the claim is bound, and read the result (the',
              'reclaim policy of its storage class decides whether the old volume is kept):',
            ]
          : [
              'it exists. Wait until the old claim is gone, then have Argo CD create it again (a sync of',
              'that one claim) and wait until it is bound (the reclaim policy of its storage class',
              'decides whether the old volume is kept):',
            ]),
        '',
      );
      sh(...replaceClaimCommands(entry, input.gitopsNamespace));
      add(
        'Restore the newest snapshot taken before `$LOST_AT` into the claim (files not in the',
        'snapshot are deleted) and read the result. Not simply the latest: VolSync backs up a new',
        'ReplicationSource at once, so the rebuilt cluster may already have backed up the empty',
        ...(bootstrap
          ? [
              'or half-restored volume. A claim its bootstrap filled (every claim with etcd',
              'bootstrapped anew in step 2, and one replaced above) already holds the latest snapshot',
              'of when it was filled, which its result names (`restoring snapshot <id> of [/data] at',
              '<time>`): when that time is before `$LOST_AT`, it is the snapshot this restore would',
              'restore, and restoring it again would only read the whole of it a second time. Restore',
              'such a claim only when that snapshot was taken after `$LOST_AT` (the data was bad before',
              'the cluster was lost, and `LOST_AT` is set earlier), or it was filled `EMPTY`. With etcd',
              'restored, a volume that was neither faulted nor replaced kept its data, newer than any',
              'backup: restore it only when its data is known to be bad. The last command says',
            ]
          : [
              'or half-restored volume. With etcd bootstrapped anew (step 2), every claim is a new one',
              'Argo CD made empty, whatever the workload wrote into it since: restore each. With etcd',
              'restored, a volume that was not faulted kept its data, newer than any backup: restore it',
              'only when its data is known to be bad. The last command says',
            ]),
        '`RESTORE FAILED` when nothing was restored (VolSync reports an empty restore as',
        '`Successful`): then do not go on, and find the snapshot to restore first:',
        '',
      );
      sh(...restoreCommands(entry));
      add(
        "Hand the Applications back to Argo CD, the volume's first and the root last: each is synced",
        'by hand, then gets its auto-sync back (Argo CD never syncs again by itself a revision whose',
        'last sync was ended). The sync pauses the restore again and resumes the backups (making the',
        'ReplicationSource again if it was deleted). Then scale the workloads back up (Argo CD does',
        'it for the workloads it deploys):',
        '',
      );
      sh(...resumeAutoSyncCommands(cluster, entry, input.gitopsNamespace, 'disaster-recovery'));
    }
    add(
      'To restore an older snapshot, set `LOST_AT` to an earlier RFC 3339 time (the newest snapshot',
      'before it is restored) before the patch.',
      '',
    );
  }
  const verified = volumes.filter((entry) => entry.volume.backup?.verify !== false);
  add(
    '## 5. Check',
    '',
    ...(longhorn
      ? [
          "A command of the block below lists the disks of Longhorn's nodes that take no replica,",
          'with why: it prints nothing once every disk is schedulable.',
          '',
        ]
      : []),
    ...(verified.length === 0 ? ['No volume has a restore verification to run.', ''] : []),
    ...(waiting.excluded.length === 0
      ? []
      : [
          "The block's last command waits until every Application is `Healthy`. With etcd",
          'bootstrapped anew (step 2), the Argo CD Applications of your own that deploy your',
          "applications' workloads were lost with the cluster: apply them again first, as when you",
          'first deployed them (their volumes are restored by now). Until those workloads run, the',
          'Applications that route to them and the root stay `Degraded`, and the wait times out.',
          '',
        ]),
    ...(verified.length === 0
      ? []
      : [
          "Run each volume's restore verification once by hand and read its result (the Job ends",
          '`Complete` or `Failed`; its last log line says what it verified, or why it failed):',
          '',
        ]),
  );
  // Commands only: what would be a `#` comment is prose (zsh's prompt runs `#` as a command).
  const checks = [
    ...verified.flatMap((entry) =>
      verificationRunCommands(entry, settings.verification.windowMinutes),
    ),
    // Every disk of Longhorn's nodes takes replicas again (step 3 gave back the ones it took out).
    ...(longhorn ? [unschedulableDisksCommand()] : []),
    ...(waiting.excluded.length === 0
      ? []
      : [
          `kubectl -n ${q(input.gitopsNamespace)} wait applications --all --for=jsonpath='{.status.health.status}'=Healthy --timeout=30m`,
        ]),
  ];
  if (checks.length > 0) sh(...checks);
  moveVolumeSection(input, add, sh);
  passwordSection(input, add, sh);
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** The heading of the section that changes a repository's password (the rotation guide names it). */
export const PASSWORD_HEADING = "Changing a repository's password";

/**
 * Runs a one-shot pod (`kubectl run --overrides`, the pod's labels and spec), waits until it
 * ended and shows its log. `then` runs before the pod is deleted (it may read its phase).
 */
function oneShotPodCommands(pod: KubeObject, then: readonly string[] = []): string[] {
  const namespace = pod.metadata.namespace ?? '';
  const ns = q(namespace);
  const name = q(pod.metadata.name);
  const overrides = JSON.stringify({
    apiVersion: 'v1',
    metadata: { labels: pod.metadata.labels },
    spec: pod.spec,
  });
  const image = (pod.spec as { containers: { image: string }[] }).containers[0]?.image ?? '';
  return [
    `kubectl -n ${ns} run ${name} --restart=Never --image=${q(image)} --overrides=${q(overrides)} &&`,
    boundedWait({
      condition: `phase=$(kubectl -n ${ns} get pod ${name} -o jsonpath='{.status.phase}') && { [ "$phase" = Succeeded ] || [ "$phase" = Failed ]; }`,
      seconds: 300,
      interval: 5,
      message: `the pod ${namespace}/${pod.metadata.name} did not finish: see kubectl -n ${namespace} describe pod ${pod.metadata.name}`,
    }),
    `kubectl -n ${ns} logs ${name}`,
    ...then,
    `kubectl -n ${ns} delete pod ${name} --timeout=2m`,
  ];
}

/**
 * Keeps the volume's current repository password in the Secret `oldPasswordSecretName`, before
 * the entry changes: `create` refuses a Secret that exists (an earlier change not finished, whose
 * kept password may be the only one the repository still opens with).
 */
export function keepOldPasswordCommands(entry: ProtectedVolume): string[] {
  const ns = q(entry.volume.namespace);
  const secret = q(backupNames(entry.volume).secret);
  const id = `${entry.volume.namespace}/${backupNames(entry.volume).secret}`;
  return [
    `{ [ -n "$(kubectl -n ${ns} get secret ${secret} -o jsonpath='{.data.RESTIC_PASSWORD}')" ] || { echo ${q(`${id} has no RESTIC_PASSWORD: nothing to keep; fill its entry first`)} >&2; false; }; } &&`,
    `kubectl -n ${ns} get secret ${secret} -o jsonpath='{.data.RESTIC_PASSWORD}' | base64 -d | kubectl -n ${ns} create secret generic ${q(oldPasswordSecretName(entry.volume))} --from-file=${OLD_PASSWORD_KEY}=/dev/stdin`,
  ];
}

/**
 * Outside a disaster: a new value of a volume's `RESTIC_PASSWORD` entry locks every backup,
 * restore and verification out of the repository until the repository holds a key for it
 * (password-change.ts). The old password is kept in the cluster before the change; after the
 * sync a one-shot pod adds a key for the new one with it and checks the new one opens the
 * repository as the movers read it; another removes the old key, and the kept password goes.
 */
function passwordSection(
  input: RunbookInput,
  add: (...text: string[]) => void,
  sh: (...commands: string[]) => void,
): void {
  if (input.volumes.length === 0) return;
  add(
    `## ${PASSWORD_HEADING}`,
    '',
    'Not a disaster: restic opens a repository only with a password it holds a key for, and the',
    "movers, the restores and the verification read the password from the volume's Secret. A new",
    'value of its `RESTIC_PASSWORD` entry, synced into the Secret, locks them all out until the',
    'repository holds a key for it. For each volume whose entry changes, in this order:',
    '',
    '1. Keep the old password in the cluster (a Secret of its own), before the entry changes. When',
    '   several clusters read the entry (the rotation guide names them), run this step on every one',
    '   of them first: each of their repositories needs the old password to add the new one.',
    '2. Change the entry in Bitwarden and sync it (the entry\u2019s section of `rotating-secrets.md`).',
    '   A backup or verification that starts from here until step 3 fails on the password; VolSync',
    '   runs a failed backup again.',
    '3. Add a key for the new password with the old one: a one-shot pod, as the verification runs,',
    '   reads both; its log ends with `the new password opens the repository` (or says there was',
    '   nothing to add, or no repository yet). If it says the new key does not open the',
    "   repository as the movers read it, the entry's value ends in a space or a line break: change",
    '   it again, sync, and run this step again.',
    '4. Remove the key of the old password, with the new one, and then the kept old password.',
    '   Until then the old password still opens the repository.',
    '',
    'A copy of the old password is not needed afterwards: every snapshot, the old ones too, opens',
    'with the new key (the key encrypts the repository\u2019s master key, not the data).',
    '',
  );
  for (const entry of input.volumes) {
    const { volume } = entry;
    add(
      `### The repository of \`${volume.namespace}/${volume.name}\``,
      '',
      'Step 1, before the entry changes:',
      '',
    );
    sh(...keepOldPasswordCommands(entry));
    add('Step 3, once the entry changed and the Secret has the new value:', '');
    const withCa = input.settings.s3?.caCertificate !== undefined;
    sh(...oneShotPodCommands(resticPasswordPod(volume, 'add-key', withCa)));
    add(
      'Step 4: the last commands delete the kept old password once the old key is gone (the pod',
      'succeeded):',
      '',
    );
    const pod = resticPasswordPod(volume, 'remove-key', withCa);
    const ns = q(volume.namespace);
    sh(
      ...oneShotPodCommands(pod, [
        `[ "$(kubectl -n ${ns} get pod ${q(pod.metadata.name)} -o jsonpath='{.status.phase}')" = Succeeded ] && kubectl -n ${ns} delete secret ${q(oldPasswordSecretName(volume))} --timeout=1m`,
      ]),
    );
  }
}

/** The heading of the section that moves a protected volume's claim (the build's fix text names it). */
export const MOVE_VOLUME_HEADING =
  "Moving a volume's claim: another tier, a smaller size, another access mode";

/**
 * Outside a disaster: a protected volume whose claim must change where the API server never
 * updates a bound claim (its class, access modes, a smaller size; the build refuses such a
 * change as `immutable-field-changed`). The claim is replaced and VolSync's volume populator
 * fills the new one from a backup taken just before, the path a faulted claim takes: auto-sync
 * off, workloads stopped, a backup now (`backupNowCommands`), the definition changed and built
 * with `--allow-immutable-changes`, committed and pushed, then the claim replaced
 * (`replaceClaimCommands`: its sync resolves the Application's revision anew, Argo CD v3.4.4
 * controller/sync.go `CompareAppState(…, noRevisionCache=true)`, so it deploys the pushed commit)
 * and the Applications handed back. Only for claims that name their bootstrap.
 */
function moveVolumeSection(
  input: RunbookInput,
  add: (...text: string[]) => void,
  sh: (...commands: string[]) => void,
): void {
  const movable = input.volumes.filter((entry) => hasBootstrap(entry.volume));
  if (movable.length === 0) return;
  const { cluster } = input;
  add(
    `## ${MOVE_VOLUME_HEADING}`,
    '',
    "Not a disaster: a volume's `tier`, `accessMode` or a smaller `size` changes fields the API",
    'server never updates on a bound claim, and the build refuses the change',
    '(`immutable-field-changed`). A volume with backups moves with its data: take a backup now,',
    'replace the claim, and its bootstrap fills the new one from that backup. For each volume to',
    'move, in this order:',
    '',
    '1. Turn auto-sync off, stop every workload that mounts the claim and back the volume up now;',
    '   the last command says `BACKUP FAILED` when it did not: then stop here and run step 4.',
    "2. Change the volume in the definition, build with `--allow-immutable-changes` (the claim's",
    '   old fields are then not compared with the last build), commit and push to the revision the',
    '   cluster follows (a tag: move it, "Moving this cluster to another revision" in the runbook).',
    '3. Replace the claim: the commands delete its ReplicationSource, its bootstrap and the claim,',
    '   have Argo CD make the bootstrap and the claim of the pushed commit, wait until the bootstrap',
    '   restored the backup of step 1 and the claim is bound, and read the result (`EMPTY`: nothing',
    '   was restored; restore it as "4. Restore the volumes from restic" says, before the workloads',
    '   start).',
    "4. Remove step 1's manual trigger where the ReplicationSource still has it (after a",
    '   `BACKUP FAILED`): while `spec.trigger.manual` is set VolSync runs none of its scheduled',
    '   backups, and Argo CD leaves the field, which Git does not set, in place. Then hand the',
    '   Applications back: Argo CD makes the ReplicationSource again and scales the workloads it',
    '   deploys back up.',
    '',
    'The old volume goes with the old claim where its class deletes on release (`reclaimPolicy:',
    "Delete`): step 1's backup is then the only copy, so read its result before step 3. A volume",
    'without backups has no copy to fill the new claim from: give it a `backup:` block first and',
    'move it once its first backup is in, or accept an empty volume.',
    '',
  );
  for (const entry of movable) {
    add(
      `### Moving \`${entry.volume.namespace}/${entry.volume.name}\``,
      '',
      ...pauseText('Step 1, turn'),
    );
    sh(...pauseAutoSyncCommands(cluster, entry, input.gitopsNamespace));
    add(...stopWorkloadsText(input.gitopsNamespace));
    sh(...stopWorkloadCommands(entry));
    add('Back it up now:', '');
    sh(...backupNowCommands(entry));
    add('Step 3, after the push of step 2:', '');
    sh(
      ...replaceClaimCommands(entry, input.gitopsNamespace, {
        initiatedBy: 'volume-move',
        whenEmpty: `restore it with its section of "4. Restore the volumes from restic" above before the workloads start on it`,
      }),
    );
    add(
      'Step 4, also after a `BACKUP FAILED`: the first command removes the manual trigger of step 1',
      'if the ReplicationSource is still there (scheduled backups stay off while',
      '`spec.trigger.manual` is set), then the Applications are handed back, each synced by hand',
      'first (Argo CD never syncs again by itself a revision whose last sync was ended):',
      '',
    );
    sh(
      ...clearManualTriggerCommands(entry),
      ...resumeAutoSyncCommands(cluster, entry, input.gitopsNamespace, 'volume-move'),
    );
  }
}
