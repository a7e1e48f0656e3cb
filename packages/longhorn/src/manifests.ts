// The objects charts/longhorn and its consumers' charts hold, as plain data. Pure.
import type { KubeObject, ManifestOrigin, PathSegment, VolumeRequest } from '@homelab/core';
import { LONGHORN_NAMESPACE, type ResolvedTier } from './settings.js';
import { LONGHORN_CSI_DRIVER } from './versions.js';

/**
 * The RecurringJobs: their CRD arrives in the same sync (the chart's templates/crds.yaml), so
 * Argo CD skips their dry run on a first sync; and they are pruned when their tier, its schedule
 * or the backup target goes, although the Longhorn Application is critical and syncs with
 * `Prune=false`: the object's own option wins (gitops-engine v3.4 `isPruningDisabled` reads the
 * live object's first). Without it a dropped job stays and keeps the Application OutOfSync for
 * good (an extraneous resource), and a backup job left after its target was removed keeps
 * running and failing. Longhorn v1.8.1 deletes the job's CronJob with it (owner reference) and
 * keeps the snapshots and backups already taken; once the LAST job of a tier's group goes, it
 * also removes the group's label from every volume of the tier
 * (`cleanupRecurringJobLabelInVolumesAndPVCs`), and a StorageClass's `recurringJobSelector` labels
 * a volume only when it is created (`VolumeManager.Create`): the claims the platform makes carry
 * the group themselves and bring it back (`persistentVolumeClaim`).
 */
const RECURRING_JOB_ANNOTATIONS = {
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true,Prune=true',
};

/** Label on every object the platform makes for a tier or a volume. */
export const TIER_LABEL = 'storage.homelab.dev/tier';

/**
 * The recurring-job group a tier's StorageClass binds its volumes to (their claims name the same
 * group: `persistentVolumeClaim`).
 */
export function recurringJobSelector(tier: string): string {
  return JSON.stringify([{ name: tier, isGroup: true }]);
}

/**
 * How Argo CD applies a StorageClass: by deleting and re-creating it (`kubectl replace --force`).
 * The API server refuses any change to a StorageClass's `parameters`, `provisioner`,
 * `reclaimPolicy` or `volumeBindingMode` (Kubernetes `ValidateStorageClassUpdate`, server-side
 * apply included), so a changed tier (its replicas, data locality, reclaim policy) would fail
 * every sync of the Application. With `Replace=true` Argo CD replaces the object instead of
 * applying it, and `Force=true` makes the replacement a delete and create (gitops-engine v3.4
 * `applyObject`/`ReplaceResource`). The Application syncs only what differs from Git
 * (`applyOutOfSyncOnly`): a full sync applies every object, and would re-create every class each
 * time. Volumes already provisioned keep what they were made with; a claim made while the class is
 * re-created waits for it. `Prune=true`: the Longhorn Application is critical and syncs with
 * `Prune=false`, which the object's own option overrides (gitops-engine v3.4 `isPruningDisabled`),
 * so the class of a tier the definition drops is deleted instead of staying, offering a tier the
 * definition no longer has and keeping the Application OutOfSync for good. Deleting a
 * StorageClass deletes no volume: a PersistentVolume keeps its `storageClassName` and Longhorn its
 * volume; only new claims of the class wait (`storage-before-claims` finds none generated).
 */
export const STORAGE_CLASS_SYNC_OPTIONS = 'Replace=true,Force=true,Prune=true';

/**
 * The StorageClass of a tier: volumes on disks tagged with the tier, `replicas` replicas on
 * distinct nodes (replica soft anti-affinity is off), the tier's data locality, its recurring
 * jobs through the group, expandable; re-created by Argo CD when it changes.
 */
export function storageClass(tier: ResolvedTier, isDefault: boolean): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: tier.name,
      labels: { [TIER_LABEL]: tier.name },
      annotations: {
        'storageclass.kubernetes.io/is-default-class': isDefault ? 'true' : 'false',
        'argocd.argoproj.io/sync-options': STORAGE_CLASS_SYNC_OPTIONS,
        ...(tier.description === undefined
          ? {}
          : { 'storage.homelab.dev/description': tier.description }),
      },
    },
    provisioner: LONGHORN_CSI_DRIVER,
    allowVolumeExpansion: true,
    reclaimPolicy: tier.reclaimPolicy,
    volumeBindingMode: 'Immediate',
    parameters: {
      numberOfReplicas: String(tier.replicas),
      staleReplicaTimeout: '30',
      fromBackup: '',
      fsType: 'ext4',
      dataLocality: tier.dataLocality,
      diskSelector: tier.name,
      recurringJobSelector: recurringJobSelector(tier.name),
      dataEngine: 'v1',
    },
  };
}

/** The name of a tier's scratch class (`scratchStorageClass`). */
export function scratchClassName(tier: string): string {
  return `${tier}-scratch`;
}

/**
 * The scratch class of a tier: the same disks and data locality, one replica, no recurring jobs,
 * and volumes deleted with their claim. The copies the backups make of a volume go there, never
 * onto the tier's own class: VolSync's snapshot clone of a backup and its restic cache, the
 * restore verification's volume, and the bootstrap's restored volume that new claims are cloned
 * from. VolSync 0.16 deletes its temporary claim after every run (`pvcFromSnapshot`,
 * `MarkForCleanup`) and gives it the source claim's class unless told another: from a class that
 * retains its volumes each run would leave a full copy behind. The bootstrap's volume stays for
 * good (Longhorn v1.8.1 clones a new volume from a snapshot only while the snapshot's volume
 * exists, `checkAndInitVolumeClone`): on the tier's class it would be a full copy with the tier's
 * replicas, snapshotted and backed up to the backup target by the tier's recurring jobs
 * (`VolumeManager.Create` labels a new volume with its class's `recurringJobSelector`). A volume
 * without recurring-job labels falls into Longhorn's `default` group, in which the platform makes
 * no job. Longhorn clones across classes (`csi/controller_server.go` `CreateVolume` takes the new
 * volume's replicas and jobs from its own class; `verifyDataSourceForVolumeCreation` checks only
 * the size and that the snapshot is ready).
 */
export function scratchStorageClass(tier: ResolvedTier): KubeObject {
  const base = storageClass(tier, false);
  const { recurringJobSelector: _jobs, ...parameters } = base.parameters as {
    [key: string]: string;
  };
  return {
    ...base,
    metadata: {
      name: scratchClassName(tier.name),
      labels: { [TIER_LABEL]: tier.name },
      annotations: {
        'storageclass.kubernetes.io/is-default-class': 'false',
        'argocd.argoproj.io/sync-options': STORAGE_CLASS_SYNC_OPTIONS,
        'storage.homelab.dev/description': `Copies the backups make on the disks of tier ${tier.name} (snapshot clones, restic caches, restore checks, the bootstrap of new claims): one replica, no snapshots or backups, deleted with their claim.`,
      },
    },
    reclaimPolicy: 'Delete',
    parameters: { ...parameters, numberOfReplicas: '1' },
  };
}

/** The snapshot and backup RecurringJobs of a tier (backups only with a backup target). */
export function recurringJobs(
  tier: ResolvedTier,
  withBackups: boolean,
): { [key: string]: KubeObject } {
  const out: { [key: string]: KubeObject } = {};
  const make = (task: 'snapshot' | 'backup', job: { schedule: string; retain: number }) => {
    const name = `${tier.name}-${task}`;
    out[`recurringjob-${name}`] = {
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'RecurringJob',
      metadata: {
        name,
        namespace: LONGHORN_NAMESPACE,
        labels: { [TIER_LABEL]: tier.name },
        annotations: { ...RECURRING_JOB_ANNOTATIONS },
      },
      spec: {
        name,
        task,
        cron: job.schedule,
        retain: job.retain,
        concurrency: 2,
        groups: [tier.name],
        labels: {},
      },
    };
  };
  if (tier.snapshot !== undefined) make('snapshot', tier.snapshot);
  if (withBackups && tier.backup !== undefined) make('backup', tier.backup);
  return out;
}

/** The label that makes a claim the source of its Longhorn volume's recurring-job labels. */
export const RECURRING_JOB_SOURCE_LABEL = 'recurring-job.longhorn.io/source';

/** The label that binds a Longhorn volume (or a source claim) to a recurring-job group. */
export function recurringJobGroupLabel(group: string): string {
  return `recurring-job-group.longhorn.io/${group}`;
}

/**
 * The claim of a declared volume, on its tier's StorageClass. Argo CD never prunes or deletes
 * it: a volume removed from the definition keeps its data until someone deletes the claim.
 *
 * The claim is the source of its volume's recurring jobs (`recurring-job.longhorn.io/source`)
 * and names its tier's group, the one its class's `recurringJobSelector` gives. Longhorn v1.8.1
 * labels a volume with that group only when it creates it (`VolumeManager.Create`), and when a
 * group's last RecurringJob is deleted (a tier's schedule or backup target dropped, the tier's
 * disks gone from the cluster for a commit) it strips the group's label from every volume and
 * from its claim (`cleanupRecurringJobLabelInVolumesAndPVCs`); the volume then falls into the
 * `default` group (`FixupRecurringJob`), and jobs given back to the tier later never reach it:
 * no more snapshots or backups of an existing volume, silently. With the labels in Git, Argo CD
 * finds the claim OutOfSync once Longhorn stripped them and puts them back, and the volume
 * controller copies a source claim's recurring-job labels onto its volume at every reconcile
 * (`syncPVCRecurringJobLabels`, every 30 s at the latest), so the volume follows its tier again.
 */
/**
 * Where the definition has what made the claim of `volume` (`persistentVolumeClaim`): the
 * volume, and per field the setting it is made from (the class from the tier, the access modes
 * from the access mode, the request from the size), as the consumer says; `undefined` where the
 * consumer says nothing.
 */
export function claimOrigin(volume: VolumeRequest): ManifestOrigin | undefined {
  if (volume.origin === undefined) return undefined;
  const fields: { [field: string]: readonly PathSegment[] } = {};
  const { tier, size, accessMode } = volume.origins ?? {};
  if (tier !== undefined) fields['spec.storageClassName'] = tier;
  if (accessMode !== undefined) fields['spec.accessModes'] = accessMode;
  if (size !== undefined) fields['spec.resources.requests.storage'] = size;
  return { path: volume.origin, ...(Object.keys(fields).length > 0 ? { fields } : {}) };
}

export function persistentVolumeClaim(volume: VolumeRequest): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: volume.name,
      namespace: volume.namespace,
      labels: {
        ...(volume.labels ?? {}),
        [TIER_LABEL]: volume.tier,
        [RECURRING_JOB_SOURCE_LABEL]: 'enabled',
        [recurringJobGroupLabel(volume.tier)]: 'enabled',
      },
      annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' },
    },
    spec: {
      accessModes: [volume.accessMode ?? 'ReadWriteOnce'],
      storageClassName: volume.tier,
      resources: { requests: { storage: volume.size } },
      // What fills a new claim before its first use (the backup provider's populator): set
      // only at creation, the API server refuses it on an existing claim.
      ...(volume.dataSourceRef === undefined ? {} : { dataSourceRef: { ...volume.dataSourceRef } }),
    },
  };
}
