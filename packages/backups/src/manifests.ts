// The objects the backups component makes: for each protected volume (in its consumer's chart) a
// VolSync ReplicationSource (the scheduled restic backup), a ReplicationDestination (the restore,
// paused until an operator starts it) and the restore-verification CronJob; in charts/backups the
// etcd backup job of the Talos control plane. Pure.
import type { KubeObject, Values, VolumeRequest } from '@homelab/core';
import {
  cronLongestGap,
  parseCron,
  volumeBackupSecretName,
  volumePopulatorName,
} from '@homelab/core';
import {
  ADD_KEY_SCRIPT,
  NEW_PASSWORD_FILE,
  NEW_PASSWORD_MOUNT,
  OLD_PASSWORD_FILE,
  OLD_PASSWORD_KEY,
  OLD_PASSWORD_MOUNT,
  REMOVE_KEY_SCRIPT,
} from './password-change.js';
import {
  ETCD_BACKUP_NAMESPACE,
  ETCD_BACKUP_ROLE,
  ETCD_BACKUP_SECRET,
  type ResolvedBackupsSettings,
  S3_CA,
} from './settings.js';
import { RESTORE_ROOT, VERIFY_SCRIPT } from './verify-script.js';
import { RESTIC_IMAGE, TALOS_BACKUP_IMAGE } from './versions.js';

/** Label naming the volume an object backs up, restores or verifies. */
export const VOLUME_LABEL = 'backup.homelab.dev/volume';
/** Label saying which part of the backup an object is. */
export const ROLE_LABEL = 'backup.homelab.dev/role';
/** Annotation of the verification CronJob: the run window of the overlap check, in minutes. */
export const WINDOW_ANNOTATION = 'backup.homelab.dev/window-minutes';
/**
 * Annotation of a volume's ReplicationSource: the restic repository the definition backs the
 * volume up to (`s3:<endpoint>/<bucket>/<prefix>/<cluster>/<namespace>/<volume>`), what its
 * Secret's RESTIC_REPOSITORY must say. VolSync reads only the Secret; the annotation shows where
 * the backups should go, and the build compares it with the last build's (`changes.ts`).
 */
export const REPOSITORY_ANNOTATION = 'backup.homelab.dev/repository';
/**
 * The verification's environment variable with that repository: the run fails when the Secret's
 * RESTIC_REPOSITORY says another (verify-script.ts).
 */
export const EXPECTED_REPOSITORY_ENV = 'EXPECTED_RESTIC_REPOSITORY';

export type BackupRole = 'source' | 'destination' | 'bootstrap' | 'verification' | 'unlock';

/** VolSync's volume populator: a claim's `dataSourceRef` to a ReplicationDestination (`backup.populator`). */
export const VOLSYNC_POPULATOR = {
  apiGroup: 'volsync.backube',
  kind: 'ReplicationDestination',
} as const;

/** The manual trigger of the bootstrap restore: set once, it runs once per ReplicationDestination. */
export const BOOTSTRAP_TRIGGER = 'bootstrap';

/** Object names of a volume's backup. */
export function backupNames(volume: Pick<VolumeRequest, 'name'>) {
  return {
    source: `${volume.name}-backup`,
    destination: `${volume.name}-restore`,
    bootstrap: volumePopulatorName(volume),
    verification: `${volume.name}-restore-verify`,
    unlock: `${volume.name}-restic-unlock`,
    secret: volumeBackupSecretName(volume),
  };
}

function labels(volume: VolumeRequest, role: BackupRole): { [key: string]: string } {
  return {
    'app.kubernetes.io/managed-by': 'homelab',
    'app.kubernetes.io/part-of': 'backups',
    [VOLUME_LABEL]: volume.name,
    [ROLE_LABEL]: role,
  };
}

/** Who the movers and the verification run as when the volume does not say who owns its files. */
export const DEFAULT_OWNER = { user: 65532, group: 65532 } as const;

/**
 * The pod security context of the movers, the verification and the unlock pod: the volume's
 * owner, never root. Always with a numeric user: the
 * VolSync 0.16.0 image (its Dockerfile: ubi9-minimal, no `USER`) runs as root, so the kubelet
 * refuses `runAsNonRoot` without `runAsUser` ("image will run as root").
 */
function moverSecurityContext(volume: VolumeRequest): Values {
  const owner = volume.owner ?? DEFAULT_OWNER;
  return {
    runAsNonRoot: true,
    runAsUser: owner.user,
    runAsGroup: owner.group,
    fsGroup: owner.group,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * What a restic process (mover or verification) requests. The movers get it as
 * `moverResources`: VolSync 0.16.0 leaves their containers without any otherwise
 * (`UpdatePodTemplateSpecFromMoverConfig`: empty default), and the platform's
 * `resource-requests` admission policy refuses such Jobs and Pods in the volume's namespace.
 */
const RESTIC_RESOURCES = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { memory: '2Gi' },
} as const;

/** The verification's and the unlock pod's container: nothing beyond what restic needs. */
function resticContainerSecurityContext(): Values {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
}

/**
 * The ConfigMap of the S3 endpoint's CA (`s3.caCertificate`) in `namespace`: VolSync mounts a
 * restic mover's `customCA` from the mover's own namespace, and the restic and talos-backup pods
 * mount it there too.
 */
export function s3CaConfigMap(namespace: string, pem: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: S3_CA.configMap,
      namespace,
      labels: { 'app.kubernetes.io/part-of': 'backups' },
    },
    data: { [S3_CA.key]: pem },
  } as KubeObject;
}

/**
 * A restic mover's `customCA` where the endpoint has a CA of its own: VolSync 0.16.0 mounts the
 * key at /customCA/ca.crt and its mover runs `restic --cacert` with it (mover-restic/entry.sh),
 * for the ReplicationSource, the restore and the bootstrap (the populator's) alike.
 */
function resticCustomCa(withCa: boolean): Values {
  return withCa ? { customCA: { configMapName: S3_CA.configMap, key: S3_CA.key } } : {};
}

/**
 * The restic pods' side of the CA: `RESTIC_CACERT` (restic v0.18.1 reads it as `--cacert`, a list
 * of files, whose CAs replace the system's roots), the ConfigMap's mount and volume.
 */
function resticCaPod(withCa: boolean): {
  env: { name: string; value: string }[];
  mounts: Values[];
  volumes: Values[];
} {
  if (!withCa) return { env: [], mounts: [], volumes: [] };
  return {
    env: [{ name: 'RESTIC_CACERT', value: S3_CA.file }],
    mounts: [{ name: 's3-ca', mountPath: S3_CA.mountPath, readOnly: true }],
    volumes: [{ name: 's3-ca', configMap: { name: S3_CA.configMap } }],
  };
}

function resticResources(): Values {
  return {
    requests: { ...RESTIC_RESOURCES.requests },
    limits: { ...RESTIC_RESOURCES.limits },
  };
}

/**
 * The scheduled restic backup of a volume, from a CSI snapshot of it. VolSync reads the snapshot
 * through a temporary claim it deletes after every run, and keeps its restic cache on the same
 * class between runs; `scratchClass` (the storage provider's class for the backups' copies of the
 * volume's tier: one replica, no recurring jobs, deleted with the claim) keeps that claim's
 * volume from being left behind each time on a tier that retains its volumes, and both from
 * taking the tier's replicas and its snapshot and backup jobs.
 */
export function replicationSource(
  volume: VolumeRequest,
  settings: ResolvedBackupsSettings,
  snapshotClass: string,
  scratchClass?: string,
  repository?: string,
): KubeObject {
  const policy = volume.backup;
  const retain: Values = {};
  for (const unit of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    const count = policy?.retention[unit];
    if (count !== undefined) retain[unit] = count;
  }
  if (policy?.retention.within !== undefined) retain.within = policy.retention.within;
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    metadata: {
      name: backupNames(volume).source,
      namespace: volume.namespace,
      labels: labels(volume, 'source'),
      ...(repository === undefined ? {} : { annotations: { [REPOSITORY_ANNOTATION]: repository } }),
    },
    spec: {
      sourcePVC: volume.name,
      // Explicit: the disaster-recovery runbook pauses it by hand while the volume is restored,
      // and Argo CD's server-side apply resets only a field Git sets.
      paused: false,
      trigger: { schedule: policy?.schedule ?? '' },
      restic: {
        repository: backupNames(volume).secret,
        copyMethod: 'Snapshot',
        volumeSnapshotClassName: snapshotClass,
        ...(scratchClass === undefined ? {} : { storageClassName: scratchClass }),
        pruneIntervalDays: settings.restic.pruneIntervalDays,
        cacheCapacity: settings.restic.cacheCapacity,
        retain,
        moverSecurityContext: moverSecurityContext(volume),
        moverResources: resticResources(),
        ...resticCustomCa(settings.s3?.caCertificate !== undefined),
      },
    },
  };
}

/**
 * The restore of a volume into its claim, paused: an operator starts it (unpause, new manual
 * trigger) after stopping the workload; Argo CD pauses it again when it syncs. Paused is not
 * idle: VolSync 0.16.0 syncs whenever `trigger.manual` differs from `status.lastManualSync`
 * (internal/controller/statemachine/machine.go) and `paused` only sets the mover Job's
 * parallelism to 0, so the restic cache claim is made at once and stays (no run, no cleanup).
 * It goes to the tier's scratch class (`scratchClass`: one replica, no recurring jobs) rather
 * than the cluster's default class, where the tier's snapshots and backups would cover it.
 */
export function replicationDestination(
  volume: VolumeRequest,
  scratchClass?: string,
  withCa = false,
): KubeObject {
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: {
      name: backupNames(volume).destination,
      namespace: volume.namespace,
      labels: labels(volume, 'destination'),
    },
    spec: {
      paused: true,
      trigger: { manual: 'restore' },
      restic: {
        repository: backupNames(volume).secret,
        destinationPVC: volume.name,
        copyMethod: 'Direct',
        enableFileDeletion: true,
        cleanupCachePVC: true,
        ...(scratchClass === undefined ? {} : { cacheStorageClassName: scratchClass }),
        moverSecurityContext: moverSecurityContext(volume),
        moverResources: resticResources(),
        ...resticCustomCa(withCa),
      },
    },
  };
}

/**
 * What fills a new claim of the volume (its `dataSourceRef`, VolSync's volume populator): a
 * restore of the latest snapshot into a volume of VolSync's own (`capacity`, `accessModes`,
 * `storageClassName`), snapshotted (`copyMethod: Snapshot`) for the populator to clone into the
 * claim. That volume stays as long as the ReplicationDestination (no `cleanupTempPVC`): Longhorn
 * v1.8.1 clones a new volume from a snapshot only while the snapshot's volume exists
 * (`checkAndInitVolumeClone` fails the clone with "cannot find the source volume";
 * longhorn/longhorn#4083). So it goes to the tier's scratch class (`scratchClass`: one replica,
 * no recurring jobs), not the tier's own, where it would be a lasting full copy with the tier's
 * replicas, snapshotted and backed up to the backup target by the tier's recurring jobs; the
 * tier's class only for a storage provider that names no scratch class. Longhorn clones across
 * classes: the new volume takes its replicas and jobs from its own class (`CreateVolume`,
 * `VolumeManager.Create`), `verifyDataSourceForVolumeCreation` checks only the size (equal to
 * the snapshot's volume: `capacity` is the claim's request) and that the snapshot is ready, and
 * the clone controller attaches the source volume by itself (`VolumeCloneController`).
 *
 * It runs once (VolSync 0.16.0: a sync runs while `spec.trigger.manual` differs from
 * `status.lastManualSync`; Argo CD applying the same value again starts none), when the
 * ReplicationDestination is created: with the claim on a rebuilt cluster. The populator
 * (internal/controller/volumepopulator_controller.go) only fills a claim that is not bound
 * (`spec.volumeName` empty): a bound claim, one etcd brought back included, is never restored over.
 * On a first install the repository is empty: the mover's restore (mover-restic/entry.sh)
 * initialises it (`ensure_initialized`: `restic init` when `restic cat config` says there is no
 * repository), finds "No eligible snapshots found", restores nothing and succeeds, so the claim
 * gets an empty volume at once.
 */
export function bootstrapDestination(
  volume: VolumeRequest,
  settings: ResolvedBackupsSettings,
  snapshotClass: string,
  scratchClass?: string,
): KubeObject {
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: {
      name: backupNames(volume).bootstrap,
      namespace: volume.namespace,
      labels: labels(volume, 'bootstrap'),
    },
    spec: {
      trigger: { manual: BOOTSTRAP_TRIGGER },
      restic: {
        repository: backupNames(volume).secret,
        copyMethod: 'Snapshot',
        volumeSnapshotClassName: snapshotClass,
        capacity: volume.size,
        accessModes: [volume.accessMode ?? 'ReadWriteOnce'],
        storageClassName: scratchClass ?? volume.tier,
        cacheCapacity: settings.restic.cacheCapacity,
        cleanupCachePVC: true,
        moverSecurityContext: moverSecurityContext(volume),
        moverResources: resticResources(),
        ...resticCustomCa(settings.s3?.caCertificate !== undefined),
      },
    },
  };
}

/**
 * The oldest the latest snapshot of a volume may be when its verification runs, in minutes: the
 * longest wait between two runs of the volume's backup schedule, plus the verification's run
 * window and an hour for a backup that starts late or runs long. VolSync 0.16's restic mover
 * (mover-restic/entry.sh `check_contents`) skips the backup and exits 0 when the volume holds
 * nothing but lost+found: the ReplicationSource reads in sync, `volsync_volume_out_of_sync` stays
 * 0, and without this bound the verification would keep proving the last snapshot taken before the
 * data went missing. `undefined` (no bound) for a schedule that does not run.
 */
export function maxSnapshotAgeMinutes(
  volume: VolumeRequest,
  settings: ResolvedBackupsSettings,
): number | undefined {
  const schedule = parseCron(volume.backup?.schedule ?? '');
  if ('message' in schedule) return undefined;
  const gap = cronLongestGap(schedule);
  return gap === undefined ? undefined : gap + settings.verification.windowMinutes + 60;
}

/**
 * The restore verification of a volume: restores the latest snapshot into a scratch volume of
 * the same tier and size (deleted with the pod, so with the Job: see the history limits) and
 * checks it (see verify-script.ts), first that its Secret's RESTIC_REPOSITORY is `repository`,
 * the one the definition names (the runbook's secrets step, disaster-recovery.md's restores): a
 * Secret pointing elsewhere would have the backups and their verification agree on a repository
 * no restore looks in. The scratch volume takes the tier's `scratchClass` (one
 * replica, no recurring jobs, deleted with its claim), the tier's class only for a provider
 * without one: on a tier whose class retains its volumes every run would leave a full-size
 * volume behind, and on any tier's class the restore would be written to every replica and the
 * tier's recurring jobs would snapshot it, and back it up to the backup target, while it runs.
 */
export function verificationCronJob(
  volume: VolumeRequest,
  settings: ResolvedBackupsSettings,
  scratchClass?: string,
  repository?: string,
): KubeObject {
  const window = settings.verification.windowMinutes;
  const podLabels = labels(volume, 'verification');
  const ca = resticCaPod(settings.s3?.caCertificate !== undefined);
  const maxAge = maxSnapshotAgeMinutes(volume, settings);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: backupNames(volume).verification,
      namespace: volume.namespace,
      labels: podLabels,
      annotations: { [WINDOW_ANNOTATION]: String(window) },
    },
    spec: {
      schedule: settings.verification.schedule,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      // The scratch volume (a full-size copy of the volume's data) lives as long as the pod, and
      // a finished Job's pod as long as the Job: the CronJob controller deletes a successful Job
      // as soon as it has recorded its `lastSuccessfulTime` (what the alerts and Argo CD's health
      // read), and keeps only the latest failed one (what VolumeRestoreVerificationFailed reads).
      successfulJobsHistoryLimit: 0,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: podLabels },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: window * 60,
          template: {
            metadata: { labels: podLabels },
            spec: {
              restartPolicy: 'Never',
              securityContext: moverSecurityContext(volume),
              containers: [
                {
                  name: 'verify',
                  image: RESTIC_IMAGE,
                  command: ['/bin/sh', '-c', VERIFY_SCRIPT],
                  env: [
                    { name: 'READ_DATA_SUBSET', value: settings.verification.readDataSubset },
                    { name: 'SAMPLE_FILES', value: String(settings.verification.sampleFiles) },
                    {
                      name: 'MAX_SHRINK_PERCENT',
                      value: String(settings.verification.maxShrinkPercent),
                    },
                    ...(maxAge === undefined
                      ? []
                      : [{ name: 'MAX_SNAPSHOT_AGE_MINUTES', value: String(maxAge) }]),
                    ...(repository === undefined
                      ? []
                      : [{ name: EXPECTED_REPOSITORY_ENV, value: repository }]),
                    { name: 'RESTORE_ROOT', value: RESTORE_ROOT },
                    { name: 'RESTIC_CACHE_DIR', value: '/cache' },
                    { name: 'HOME', value: '/tmp' },
                    ...ca.env,
                  ],
                  envFrom: [{ secretRef: { name: backupNames(volume).secret } }],
                  terminationMessagePolicy: 'FallbackToLogsOnError',
                  securityContext: resticContainerSecurityContext(),
                  resources: resticResources(),
                  volumeMounts: [
                    { name: 'scratch', mountPath: RESTORE_ROOT },
                    { name: 'cache', mountPath: '/cache' },
                    { name: 'tmp', mountPath: '/tmp' },
                    ...ca.mounts,
                  ],
                },
              ],
              volumes: [
                {
                  name: 'scratch',
                  ephemeral: {
                    volumeClaimTemplate: {
                      metadata: { labels: podLabels },
                      spec: {
                        accessModes: ['ReadWriteOnce'],
                        storageClassName: scratchClass ?? volume.tier,
                        resources: { requests: { storage: volume.size } },
                      },
                    },
                  },
                },
                { name: 'cache', emptyDir: { sizeLimit: settings.restic.cacheCapacity } },
                { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
                ...ca.volumes,
              ],
            },
          },
        },
      },
    },
  };
}

/**
 * The one-shot pod the disaster recovery runs (`kubectl run --overrides`) to remove the stale
 * locks of a volume's repository (`restic unlock`: only locks no live restic holds; restic
 * v0.18.1 `Lock.Stale`, untouched for 30 minutes or left by a dead process of the same host).
 * It runs as the volume's verification runs: its labels (so its flows reach the S3 endpoint
 * under default deny, and the admission policies find what they require), security context,
 * resources and Secret.
 */
export function resticUnlockPod(volume: VolumeRequest, withCa = false): KubeObject {
  return resticOneShotPod(volume, 'unlock', { command: ['restic', 'unlock'], withCa });
}

/**
 * When the unlock CronJob runs: hourly, at a minute backup schedules rarely take. restic v0.18.1
 * takes a lock untouched for 30 minutes as stale (`Lock.Stale`; a running restic refreshes its
 * own every 5), so a lock left at a full hour is removed within the hour after.
 */
export const UNLOCK_SCHEDULE = '45 * * * *';

/**
 * The hourly `restic unlock` of a volume's repository. A mover killed mid-run (a drain, a node's
 * reboot, an out-of-memory kill, a ReplicationSource paused during a backup) leaves its lock in
 * the repository: VolSync 0.16.0 runs the mover's `entry.sh` as the container's PID 1, a shell
 * that does not pass the kubelet's SIGTERM on, so restic, which removes its lock on SIGTERM, is
 * killed at the end of the grace period instead. restic never skips a stale lock on its own:
 * after a lock of `backup` every later run saves its snapshot and then fails `restic forget`
 * (the Job fails, VolSync retries it, snapshots pile up unpruned); after an exclusive lock
 * (`forget`, `prune`) no backup or restore runs at all. VolSync unlocks only when a
 * ReplicationSource's `restic.unlock` changes, which nothing in Git does, and the verification's
 * own unlock runs on its schedule (weekly in development). The pods are the unlock pod's (the
 * verification's labels, flows, security context, resources and Secret); the CronJob itself is
 * labelled `unlock`, so the checks of verification CronJobs leave it alone.
 */
export function unlockCronJob(volume: VolumeRequest, withCa = false): KubeObject {
  const podLabels = labels(volume, 'verification');
  const pod = resticUnlockPod(volume, withCa);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: backupNames(volume).unlock,
      namespace: volume.namespace,
      labels: labels(volume, 'unlock'),
    },
    spec: {
      schedule: UNLOCK_SCHEDULE,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 1800,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: podLabels },
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: 900,
          template: { metadata: { labels: podLabels }, spec: pod.spec },
        },
      },
    },
  } as KubeObject;
}

/**
 * A one-shot restic pod of a volume, named `<volume>-restic-<step>`, run as the verification
 * runs: its labels, security context, resources, Secret in the environment and restic cache;
 * `extra` adds environment variables and Secret volumes.
 */
function resticOneShotPod(
  volume: VolumeRequest,
  step: string,
  container: {
    command: string[];
    env?: { name: string; value: string }[];
    mounts?: { name: string; mountPath: string; secret: Values }[];
    /** The S3 endpoint has a CA of its own (`s3.caCertificate`): trust it. */
    withCa?: boolean;
  },
): KubeObject {
  const mounts = container.mounts ?? [];
  const ca = resticCaPod(container.withCa === true);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${volume.name}-restic-${step}`,
      namespace: volume.namespace,
      labels: labels(volume, 'verification'),
    },
    spec: {
      restartPolicy: 'Never',
      securityContext: moverSecurityContext(volume),
      containers: [
        {
          name: step,
          image: RESTIC_IMAGE,
          command: container.command,
          env: [
            { name: 'RESTIC_CACHE_DIR', value: '/cache' },
            { name: 'HOME', value: '/tmp' },
            ...(container.env ?? []),
            ...ca.env,
          ],
          envFrom: [{ secretRef: { name: backupNames(volume).secret } }],
          securityContext: resticContainerSecurityContext(),
          resources: resticResources(),
          volumeMounts: [
            { name: 'cache', mountPath: '/cache' },
            { name: 'tmp', mountPath: '/tmp' },
            ...mounts.map(({ name, mountPath }) => ({ name, mountPath, readOnly: true })),
            ...ca.mounts,
          ],
        },
      ],
      volumes: [
        { name: 'cache', emptyDir: { sizeLimit: '256Mi' } },
        { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
        ...mounts.map(({ name, secret }) => ({ name, secret })),
        ...ca.volumes,
      ],
    },
  } as KubeObject;
}

/** The Secret the runbook keeps a volume's old repository password in while it changes it. */
export function oldPasswordSecretName(volume: Pick<VolumeRequest, 'name'>): string {
  return `${volume.name}-restic-old-password`;
}

/**
 * The one-shot pods that change the password of a volume's repository (password-change.ts): as
 * the unlock pod runs (the verification's labels, flows, security context and resources), with
 * the volume's Secret in its environment (the new password, as the movers read it), the kept old
 * password (`oldPasswordSecretName`) and the Secret's new one mounted as files.
 */
export function resticPasswordPod(
  volume: VolumeRequest,
  step: 'add-key' | 'remove-key',
  withCa = false,
): KubeObject {
  return resticOneShotPod(volume, step, {
    withCa,
    command: ['sh', '-c', step === 'add-key' ? ADD_KEY_SCRIPT : REMOVE_KEY_SCRIPT],
    env: [
      { name: 'OLD_PASSWORD_FILE', value: OLD_PASSWORD_FILE },
      { name: 'NEW_PASSWORD_FILE', value: NEW_PASSWORD_FILE },
    ],
    mounts: [
      {
        name: 'old',
        mountPath: OLD_PASSWORD_MOUNT,
        secret: {
          secretName: oldPasswordSecretName(volume),
          items: [{ key: OLD_PASSWORD_KEY, path: OLD_PASSWORD_KEY }],
        },
      },
      {
        name: 'new',
        mountPath: NEW_PASSWORD_MOUNT,
        secret: {
          secretName: backupNames(volume).secret,
          items: [{ key: 'RESTIC_PASSWORD', path: 'RESTIC_PASSWORD' }],
        },
      },
    ],
  });
}

/** Same-sync kinds: Talos registers talos.dev kinds when kubernetesTalosAPIAccess is on. */
const SKIP_DRY_RUN = { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' };

/**
 * The etcd backup of the Talos control plane (talos-backup): its namespace, the Talos service
 * account that gets only `os:etcd:backup` (Talos makes the Secret of the same name with the API
 * credentials), and the CronJob that snapshots etcd, encrypts it to the age public key and puts
 * it in the bucket.
 */
export function etcdBackupObjects(
  cluster: string,
  settings: ResolvedBackupsSettings,
  agePublicKey: string,
): { [key: string]: KubeObject } {
  const s3 = settings.s3;
  const etcd = settings.etcd;
  if (s3 === undefined || etcd === undefined) return {};
  const name = 'talos-backup';
  const podLabels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'backups' };
  const secretKey = (key: string) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: ETCD_BACKUP_SECRET, key } },
  });
  // talos-backup v0.1.0-beta.3 loads aws-sdk-go-v2's default configuration (pkg/s3/s3.go), which
  // reads a CA bundle file from AWS_CA_BUNDLE (config v1.29.6 resolveCustomCABundle; its CAs
  // replace the system's roots).
  const ca = s3.caCertificate;
  return {
    ...(ca === undefined
      ? {}
      : { 'configmap-backup-s3-ca': s3CaConfigMap(ETCD_BACKUP_NAMESPACE, ca) }),
    'talos-serviceaccount-talos-backup': {
      apiVersion: 'talos.dev/v1alpha1',
      kind: 'ServiceAccount',
      metadata: {
        name: `${name}-secrets`,
        namespace: ETCD_BACKUP_NAMESPACE,
        annotations: { ...SKIP_DRY_RUN },
      },
      spec: { roles: [ETCD_BACKUP_ROLE] },
    },
    'cronjob-talos-backup': {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: ETCD_BACKUP_NAMESPACE, labels: podLabels },
      spec: {
        schedule: etcd.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 1800,
            template: {
              metadata: { labels: podLabels },
              spec: {
                restartPolicy: 'Never',
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 1000,
                  runAsGroup: 1000,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                containers: [
                  {
                    name,
                    image: TALOS_BACKUP_IMAGE,
                    command: ['/talos-backup'],
                    workingDir: '/tmp',
                    env: [
                      secretKey('AWS_ACCESS_KEY_ID'),
                      secretKey('AWS_SECRET_ACCESS_KEY'),
                      { name: 'AWS_REGION', value: s3.region },
                      { name: 'CUSTOM_S3_ENDPOINT', value: s3.endpoint },
                      { name: 'BUCKET', value: s3.bucket },
                      { name: 'CLUSTER_NAME', value: cluster },
                      { name: 'S3_PREFIX', value: `${etcd.prefix}/${cluster}` },
                      { name: 'AGE_X25519_PUBLIC_KEY', value: agePublicKey },
                      // Inverted upstream: talos-backup v0.1.0-beta.3 pkg/config/service.go reads
                      // `UsePathStyle: os.Getenv("USE_PATH_STYLE") == "false"` (its
                      // cronjob.sample.yaml: set "false" for MinIO-like endpoints). So "false"
                      // asks for path-style URLs, anything else for virtual-hosted ones.
                      // (Later upstream commits drop the variable: re-check on a version bump.)
                      { name: 'USE_PATH_STYLE', value: s3.pathStyle ? 'false' : 'true' },
                      // aws-sdk-go-v2 (config v1.29.6, s3 v1.76.0 in talos-backup v0.1.0-beta.3)
                      // adds CRC32 checksums to every upload by default, sent as an aws-chunked
                      // trailer, which some S3-compatible servers refuse. Only where the API
                      // requires them: a snapshot under talos-backup's 10 MiB part size goes up
                      // in one plain PutObject. Larger ones go up in parts, for which its upload
                      // manager (feature/s3/manager v1.17.60 initChecksumAlgorithm) sets CRC32
                      // itself: those still need a server that takes trailing checksums.
                      { name: 'AWS_REQUEST_CHECKSUM_CALCULATION', value: 'when_required' },
                      { name: 'AWS_RESPONSE_CHECKSUM_VALIDATION', value: 'when_required' },
                      ...(ca === undefined ? [] : [{ name: 'AWS_CA_BUNDLE', value: S3_CA.file }]),
                    ],
                    // An etcd snapshot streamed through age to S3: light, but the admission
                    // policy (and the scheduler) want its requests.
                    resources: {
                      requests: { cpu: '50m', memory: '64Mi' },
                      limits: { memory: '256Mi' },
                    },
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      capabilities: { drop: ['ALL'] },
                    },
                    volumeMounts: [
                      { name: 'tmp', mountPath: '/tmp' },
                      { name: 'talos-secrets', mountPath: '/var/run/secrets/talos.dev' },
                      ...(ca === undefined
                        ? []
                        : [{ name: 's3-ca', mountPath: S3_CA.mountPath, readOnly: true }]),
                    ],
                  },
                ],
                volumes: [
                  { name: 'tmp', emptyDir: {} },
                  { name: 'talos-secrets', secret: { secretName: `${name}-secrets` } },
                  ...(ca === undefined
                    ? []
                    : [{ name: 's3-ca', configMap: { name: S3_CA.configMap } }]),
                ],
              },
            },
          },
        },
      },
    },
  };
}
