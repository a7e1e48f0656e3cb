// Layer-4 checks of the backups: every protected volume has its backup, its restore and its
// verification; every S3 credential they read is a Secret the secrets provider fills (never a
// literal); a volume's backups never run during its restore verification, which fails a snapshot
// older than the backups allow. Pure.
import {
  cronLongestGap,
  cronOverlap,
  type DeployedCluster,
  type DeployedObject,
  error,
  type Issue,
  ignoredField,
  type Json,
  type KubeObject,
  list,
  parseCron,
  quantityBytes,
  record,
  type SystemCheck,
  settingsPath,
} from '@homelab/core';
import { ROLE_LABEL, VOLSYNC_POPULATOR, VOLUME_LABEL, WINDOW_ANNOTATION } from './manifests.js';
import { VOLSYNC_CHART_VERSION } from './versions.js';

const COMPONENT = 'backups';

function objects(deployed: DeployedCluster): DeployedObject[] {
  return deployed.applications.flatMap((app) => app.objects);
}

/**
 * The clusters the platform deploys through its GitOps controller: elsewhere no Application
 * applies anything, and there is nothing to check.
 */
function deployedClusters(clusters: readonly DeployedCluster[]): DeployedCluster[] {
  return clusters.filter((deployed) => deployed.applications.length > 0);
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function isVolsync(object: KubeObject, kind: string): boolean {
  return object.apiVersion === 'volsync.backube/v1alpha1' && object.kind === kind;
}

/** Every declared volume with a backup policy has a source, a destination and a verification. */
export const backupCompleteness: SystemCheck = {
  name: 'backup-completeness',
  description:
    "Every declared volume with a backup policy has, in its namespace, a ReplicationSource backing its claim up, a ReplicationDestination restoring into it, a restore-verification CronJob (unless verify: false) and the hourly CronJob that removes its repository's stale locks; a backup policy on a cluster without a backup provider is an error.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      const all = objects(deployed).map(({ object }) => object);
      const provider = deployed.run.providers.get('backup');
      for (const [component, contribution] of deployed.run.contributions) {
        for (const volume of contribution.volumes ?? []) {
          if (volume.backup === undefined) continue;
          const at = settingsPath(deployed.cluster, component);
          const id = `${volume.namespace}/${volume.name}`;
          if (provider === undefined) {
            issues.push(
              error({
                code: 'backup-completeness',
                path: at,
                value: id,
                message: `${component} asks for backups of volume ${id} on cluster "${deployed.cluster.name}", where no enabled component provides "backup"`,
                expected: `the backups component enabled on cluster "${deployed.cluster.name}", or no backup policy`,
              }),
            );
            continue;
          }
          // Without a storage provider there is no volume to back up: the volume's own error
          // (no enabled component provides "storage") is the cause to fix, not this cascade.
          if (!deployed.run.providers.has('storage')) continue;
          const inNamespace = all.filter((o) => o.metadata.namespace === volume.namespace);
          const missing: string[] = [];
          if (
            !inNamespace.some(
              (o) => isVolsync(o, 'ReplicationSource') && record(o.spec).sourcePVC === volume.name,
            )
          ) {
            missing.push('a ReplicationSource (the backup)');
          }
          if (
            !inNamespace.some(
              (o) =>
                isVolsync(o, 'ReplicationDestination') &&
                record(record(o.spec).restic).destinationPVC === volume.name,
            )
          ) {
            missing.push('a ReplicationDestination (the restore)');
          }
          if (
            volume.backup.verify !== false &&
            !inNamespace.some(
              (o) =>
                o.kind === 'CronJob' &&
                o.metadata.labels?.[VOLUME_LABEL] === volume.name &&
                o.metadata.labels?.[ROLE_LABEL] === 'verification',
            )
          ) {
            missing.push('a restore-verification CronJob');
          }
          if (
            !inNamespace.some(
              (o) =>
                o.kind === 'CronJob' &&
                o.metadata.labels?.[VOLUME_LABEL] === volume.name &&
                o.metadata.labels?.[ROLE_LABEL] === 'unlock',
            )
          ) {
            // A mover killed mid-run leaves its lock, which fails every later backup's forget.
            missing.push("the hourly CronJob that removes its repository's stale locks");
          }
          if (missing.length === 0) continue;
          issues.push(
            error({
              code: 'backup-completeness',
              path: at,
              value: id,
              message: `volume ${id} of ${component} has a backup policy on cluster "${deployed.cluster.name}" but lacks ${missing.join(', ')}`,
              expected: `${provider} to make its backup, restore and verification`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** Environment variables that carry S3 or restic credentials. */
const CREDENTIAL_ENV = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'RESTIC_PASSWORD',
  'RESTIC_REPOSITORY',
]);

interface SecretUse {
  readonly namespace: string;
  readonly name: string;
  /** Keys read; empty: every key (envFrom, a VolSync repository). */
  readonly keys: readonly string[];
  readonly what: string;
  readonly source: string;
}

function podSpec(object: KubeObject): Json {
  if (object.kind === 'CronJob') {
    return record(record(record(record(record(object.spec).jobTemplate).spec).template).spec);
  }
  return {};
}

/** The Secrets holding S3 credentials an object reads, and literal credentials it carries. */
function credentialUses({ object, source }: DeployedObject, literals: string[]): SecretUse[] {
  const namespace = object.metadata.namespace ?? '';
  const out: SecretUse[] = [];
  if (isVolsync(object, 'ReplicationSource') || isVolsync(object, 'ReplicationDestination')) {
    const repository = record(record(object.spec).restic).repository;
    if (typeof repository === 'string') {
      out.push({
        namespace,
        name: repository,
        keys: [],
        what: `${object.kind} ${object.metadata.name}`,
        source,
      });
    }
  }
  for (const container of list(podSpec(object).containers)) {
    const c = record(container);
    for (const from of list(c.envFrom)) {
      const ref = record(record(from).secretRef).name;
      if (typeof ref === 'string') {
        out.push({
          namespace,
          name: ref,
          keys: [],
          what: `CronJob ${object.metadata.name}`,
          source,
        });
      }
    }
    for (const env of list(c.env)) {
      const e = record(env);
      if (typeof e.name !== 'string' || !CREDENTIAL_ENV.has(e.name)) continue;
      if (e.value !== undefined) {
        literals.push(`${source}: ${e.name} of ${object.kind} ${object.metadata.name}`);
        continue;
      }
      const ref = record(record(e.valueFrom).secretKeyRef);
      if (typeof ref.name === 'string' && typeof ref.key === 'string') {
        out.push({
          namespace,
          name: ref.name,
          keys: [ref.key],
          what: `${object.kind} ${object.metadata.name}`,
          source,
        });
      }
    }
  }
  return out;
}

/** Every S3 credential the backups read is a Secret declared to the secrets provider. */
export const credentialsFromSecretsProvider: SystemCheck = {
  name: 'backup-credentials',
  description:
    'Every S3 or restic credential a backup, restore, verification or etcd backup job reads comes from a Secret some component declares (so the secrets provider fills it from the store), with the keys it reads; none is a literal value.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      if (deployed.run.providers.get('backup') !== COMPONENT) continue;
      const declared = new Map<string, ReadonlySet<string>>();
      for (const contribution of deployed.run.contributions.values()) {
        for (const secret of contribution.secrets ?? []) {
          declared.set(key(secret.namespace, secret.name), new Set(secret.keys));
        }
      }
      const at = settingsPath(deployed.cluster, COMPONENT);
      const literals: string[] = [];
      for (const entry of objects(deployed)) {
        for (const use of credentialUses(entry, literals)) {
          const keys = declared.get(key(use.namespace, use.name));
          if (keys === undefined) {
            issues.push(
              error({
                code: 'backup-credentials',
                path: at,
                output: use.source,
                value: `${use.namespace}/${use.name}`,
                message: `${use.what} reads S3 credentials from the Secret ${use.namespace}/${use.name}, which no component declares, so the secrets provider never fills it (cluster "${deployed.cluster.name}")`,
                expected:
                  'the Secret declared by the component that owns the volume (volumeBackupSecret(volume))',
              }),
            );
            continue;
          }
          const absent = use.keys.filter((k) => !keys.has(k));
          if (absent.length > 0) {
            issues.push(
              error({
                code: 'backup-credentials',
                path: at,
                output: use.source,
                value: absent,
                message: `${use.what} reads key(s) ${absent.join(', ')} of the Secret ${use.namespace}/${use.name}, which its declaration does not list`,
                expected: `keys ${[...keys].join(', ')}`,
              }),
            );
          }
        }
      }
      for (const literal of literals) {
        issues.push(
          error({
            code: 'backup-credentials',
            path: at,
            output: literal.split(': ')[0] ?? '',
            message: `${literal} is a literal value; credentials come from Secrets only`,
            expected: 'valueFrom.secretKeyRef to a declared Secret',
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * Where the definition sets the backup schedule of volume `volume` in `namespace`: where its
 * consumer says it wrote it (the schedule, else the volume), else the consumer's settings.
 */
function backupSchedulePath(
  deployed: DeployedCluster,
  namespace: string | undefined,
  volume: string | undefined,
): readonly (string | number)[] | undefined {
  for (const [component, contribution] of deployed.run.contributions) {
    const request = (contribution.volumes ?? []).find(
      (entry) => entry.namespace === namespace && entry.name === volume,
    );
    if (request !== undefined) {
      return (
        request.origins?.backupSchedule ??
        request.origin ??
        settingsPath(deployed.cluster, component)
      );
    }
  }
  return undefined;
}

/** One field of a schedule VolSync's CRD admits: `*`, `*\/n`, `a-b`, `a/b`, or numbers `a,b,c`. */
const VOLSYNC_FIELD = String.raw`(\*(/\d+)?|\d+[-/]\d+|\d+(,\d+)*)`;
const VOLSYNC_SCHEDULE = new RegExp(
  String.raw`^(@(annually|yearly|monthly|weekly|daily|hourly)|${VOLSYNC_FIELD}(\s${VOLSYNC_FIELD}){4}\s?)$`,
);

/**
 * Whether VolSync's ReplicationSource CRD admits `schedule` as `spec.trigger.schedule`: five
 * fields one whitespace character apart, each `*`, `*\/n`, a range `a-b`, a step `a/b` or a list of
 * numbers, or one of six descriptors. The API server refuses what robfig's parser would take
 * beyond that: names (`mon-fri`, `jan`), `?`, a step on a range (`1-5/2`), a range in a list
 * (`1-3,5`), two spaces between fields, `@midnight`. test/conformance.test.ts holds this rule to
 * the pattern of the vendored chart's CRD.
 */
export function volsyncAdmitsSchedule(schedule: string): boolean {
  return VOLSYNC_SCHEDULE.test(schedule);
}

/** Every ReplicationSource's schedule is one VolSync's CRD admits. */
export const scheduleAdmitted: SystemCheck = {
  name: 'backup-schedule-admitted',
  description:
    "Every volume backup's schedule (its ReplicationSource's `spec.trigger.schedule`) is one VolSync's CRD admits: numbers, lists, ranges and steps, or a descriptor (names, `?` and a step on a range are valid cron that the API server refuses, and the volume is never backed up).",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      for (const { object, source } of objects(deployed)) {
        if (!isVolsync(object, 'ReplicationSource')) continue;
        const schedule = record(record(object.spec).trigger).schedule;
        // No schedule, or one robfig cannot read, is another check's error.
        if (typeof schedule !== 'string' || 'message' in parseCron(schedule)) continue;
        if (volsyncAdmitsSchedule(schedule)) continue;
        const namespace = object.metadata.namespace;
        const volume = object.metadata.labels?.[VOLUME_LABEL];
        issues.push(
          error({
            code: 'backup-schedule',
            path: backupSchedulePath(deployed, namespace, volume) ?? [],
            output: source,
            value: schedule,
            message: `is valid cron, but VolSync ${VOLSYNC_CHART_VERSION}'s ReplicationSource admits less: the API server refuses the backup of volume ${namespace}/${volume} on cluster "${deployed.cluster.name}", and the volume is never backed up`,
            expected:
              'in each of the five fields, one space apart: *, */n, a-b, a/b or numbers a,b,c (days and months as numbers: 1-5 for mon-fri, 0 for Sunday; no ?, no step on a range); or @hourly, @daily, @weekly, @monthly, @yearly',
          }),
        );
      }
    }
    return issues;
  },
};

/** A volume's backups and its restore verification never run at the same time. */
export const verificationOverlap: SystemCheck = {
  name: 'backup-verification-overlap',
  description:
    "A volume's backup schedule (its ReplicationSource) and its restore-verification schedule never start within the verification's run window of each other (both lock the restic repository; a prune during a check fails one of them).",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      const all = objects(deployed);
      for (const { object, source } of all) {
        if (object.kind !== 'CronJob' || object.metadata.labels?.[ROLE_LABEL] !== 'verification') {
          continue;
        }
        const volume = object.metadata.labels?.[VOLUME_LABEL];
        const namespace = object.metadata.namespace;
        const backup = all.find(
          ({ object: o }) =>
            isVolsync(o, 'ReplicationSource') &&
            o.metadata.namespace === namespace &&
            o.metadata.labels?.[VOLUME_LABEL] === volume,
        );
        if (backup === undefined) continue;
        const backupSchedule = String(record(record(backup.object.spec).trigger).schedule ?? '');
        const verifySchedule = String(record(object.spec).schedule ?? '');
        const window = Number(object.metadata.annotations?.[WINDOW_ANNOTATION] ?? 60);
        const a = parseCron(backupSchedule);
        const b = parseCron(verifySchedule);
        const at = { path: settingsPath(deployed.cluster, COMPONENT, 'verification', 'schedule') };
        const backupAt = { path: backupSchedulePath(deployed, namespace, volume) ?? at.path };
        for (const [text, parsed, where, path] of [
          [backupSchedule, a, backup.source, backupAt],
          [verifySchedule, b, source, at],
        ] as const) {
          if ('message' in parsed) {
            issues.push(
              error({
                code: 'backup-schedule',
                ...path,
                output: where,
                value: text,
                message: parsed.message,
                expected: parsed.expected,
              }),
            );
          }
        }
        if ('message' in a || 'message' in b) continue;
        const overlap = cronOverlap(a, b, window);
        if (overlap === undefined) continue;
        issues.push(
          error({
            code: 'backup-verification-overlap',
            ...at,
            output: source,
            value: { backup: backupSchedule, verification: verifySchedule },
            message: `volume ${namespace}/${volume} on cluster "${deployed.cluster.name}" is backed up at ${overlap.a} and verified at ${overlap.b}, within ${window} minutes of each other`,
            expected: `a verification schedule at least ${window} minutes away from every backup of the volume`,
          }),
        );
      }
    }
    return issues;
  },
};

/** The env var of the verification that bounds the age of the latest snapshot (verify-script.ts). */
const MAX_AGE_ENV = 'MAX_SNAPSHOT_AGE_MINUTES';

/**
 * A volume's restore verification fails a latest snapshot older than its backups allow, and the
 * bound it carries is never below the longest wait between two backups of its ReplicationSource.
 * Both are rendered in the consumer's chart from one schedule; a schedule changed on one of them
 * alone (a values layer, a hand edit) leaves a bound that either fails every run (below the gap:
 * VolumeRestoreVerificationFailed for a healthy volume) or is missing, and then a volume whose
 * backups VolSync 0.16 skips (an empty volume: `check_contents`, exit 0, the ReplicationSource in
 * sync) keeps passing its verification on the last snapshot taken before its data went.
 */
export const verificationSnapshotAge: SystemCheck = {
  name: 'backup-verification-snapshot-age',
  description:
    "A volume's restore verification carries a bound on the age of the latest snapshot (MAX_SNAPSHOT_AGE_MINUTES) no shorter than the longest wait between two runs of its ReplicationSource's schedule.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      const all = objects(deployed);
      for (const { object, source } of all) {
        if (object.kind !== 'CronJob' || object.metadata.labels?.[ROLE_LABEL] !== 'verification') {
          continue;
        }
        const volume = object.metadata.labels?.[VOLUME_LABEL];
        const namespace = object.metadata.namespace;
        const backup = all.find(
          ({ object: o }) =>
            isVolsync(o, 'ReplicationSource') &&
            o.metadata.namespace === namespace &&
            o.metadata.labels?.[VOLUME_LABEL] === volume,
        );
        if (backup === undefined) continue;
        const schedule = parseCron(
          String(record(record(backup.object.spec).trigger).schedule ?? ''),
        );
        // An unreadable schedule is backup-verification-overlap's error.
        if ('message' in schedule) continue;
        const gap = cronLongestGap(schedule);
        if (gap === undefined) continue;
        const pod = record(record(record(record(object.spec).jobTemplate).spec).template);
        const env = list(record(pod.spec).containers).flatMap((c) => list(record(c).env));
        const entry = env.map(record).find((e) => e.name === MAX_AGE_ENV);
        const bound = entry === undefined ? undefined : Number(entry.value);
        if (bound !== undefined && Number.isFinite(bound) && bound >= gap) continue;
        issues.push(
          error({
            code: 'backup-verification-snapshot-age',
            path: settingsPath(deployed.cluster, COMPONENT, 'verification'),
            output: source,
            value: entry?.value ?? null,
            message:
              bound === undefined
                ? `the restore verification of volume ${namespace}/${volume} on cluster "${deployed.cluster.name}" has no ${MAX_AGE_ENV}: it would keep passing on an old snapshot when VolSync skips the backups of an emptied volume`
                : `the restore verification of volume ${namespace}/${volume} on cluster "${deployed.cluster.name}" fails a snapshot older than ${entry?.value} minutes, but its backups (${schedule.text}) run up to ${gap} minutes apart: it would fail on a healthy volume`,
            expected: `${MAX_AGE_ENV} of at least ${gap} (the longest wait between two backups)`,
          }),
        );
      }
    }
    return issues;
  },
};

const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/** A cluster's StorageClasses and claims, as the backup checks look volumes' classes up. */
interface StorageIndex {
  /** Each StorageClass by name. */
  readonly classes: ReadonlyMap<string, KubeObject>;
  /** The first StorageClass annotated as the default one. */
  readonly defaultClass: string | undefined;
  /** Each PersistentVolumeClaim (`namespace/name`) and the StorageClass it names, if any. */
  readonly claims: ReadonlyMap<string, string | undefined>;
}

function storageIndex(all: readonly { readonly object: KubeObject }[]): StorageIndex {
  const classes = new Map<string, KubeObject>();
  let defaultClass: string | undefined;
  const claims = new Map<string, string | undefined>();
  for (const { object } of all) {
    if (object.apiVersion === 'storage.k8s.io/v1' && object.kind === 'StorageClass') {
      classes.set(object.metadata.name, object);
      if (object.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') {
        defaultClass ??= object.metadata.name;
      }
    }
    if (object.apiVersion === 'v1' && object.kind === 'PersistentVolumeClaim') {
      const name = record(object.spec).storageClassName;
      claims.set(
        key(object.metadata.namespace, object.metadata.name),
        typeof name === 'string' ? name : undefined,
      );
    }
  }
  return { classes, defaultClass, claims };
}

/**
 * The temporary volumes of the backups are deleted with their claims: VolSync's snapshot or
 * clone copy of a source (`restic.storageClassName`, else the source claim's class) and the
 * restore verification's scratch volume. VolSync v0.16.0 deletes its temporary claim after every
 * run (`pvcFromSnapshot`, `MarkForCleanup`); from a class with `reclaimPolicy: Retain` the
 * PersistentVolume and the storage behind it stay, one full copy per run.
 */
export const temporaryVolumesDeleted: SystemCheck = {
  name: 'backup-temporary-volumes-deleted',
  description:
    "The temporary volumes of the backups (VolSync's snapshot or clone copy of a ReplicationSource, the restore verification's scratch volume) are on StorageClasses that delete their volumes with the claim: from a Retain class every run would leave a full copy on the disks.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      const all = objects(deployed);
      const { classes, defaultClass, claims } = storageIndex(all);
      const retaining = (className: string | undefined): className is string => {
        const found = className === undefined ? undefined : classes.get(className);
        return found !== undefined && String(found.reclaimPolicy ?? 'Delete') === 'Retain';
      };
      const problem = (source: string, what: string, className: string) =>
        issues.push(
          error({
            code: 'backup-temporary-volumes-deleted',
            path: settingsPath(deployed.cluster, COMPONENT),
            output: source,
            value: className,
            message: `${what} on cluster "${deployed.cluster.name}" is made on StorageClass "${className}", which retains its volumes: each run would leave a full copy on the disks`,
            expected:
              "a StorageClass with reclaimPolicy Delete for temporary copies (the storage provider's scratch class of the tier)",
          }),
        );
      for (const { object, source } of all) {
        const namespace = object.metadata.namespace;
        if (isVolsync(object, 'ReplicationSource')) {
          const spec = record(object.spec);
          const restic = record(spec.restic);
          const method = restic.copyMethod;
          if (method !== 'Snapshot' && method !== 'Clone') continue;
          const own = restic.storageClassName;
          const sourceClaim = claims.get(key(namespace, String(spec.sourcePVC ?? '')));
          const className = typeof own === 'string' ? own : (sourceClaim ?? defaultClass);
          if (retaining(className)) {
            problem(
              source,
              `the ${String(method).toLowerCase()} copy of ReplicationSource ${namespace}/${object.metadata.name}`,
              className,
            );
          }
        }
        if (object.kind === 'CronJob' && object.metadata.labels?.[ROLE_LABEL] === 'verification') {
          const pod = record(
            record(record(record(record(object.spec).jobTemplate).spec).template).spec,
          );
          for (const volume of list(pod.volumes)) {
            const template = record(record(record(volume).ephemeral).volumeClaimTemplate);
            if (Object.keys(template).length === 0) continue;
            const own = record(template.spec).storageClassName;
            const className = typeof own === 'string' ? own : defaultClass;
            if (retaining(className)) {
              problem(
                source,
                `the scratch volume of restore verification ${namespace}/${object.metadata.name}`,
                className,
              );
            }
          }
        }
      }
    }
    return issues;
  },
};

const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

/** Longhorn's CSI driver, and the snapshot type of its in-cluster snapshots. */
const LONGHORN_DRIVER = 'driver.longhorn.io';
const LONGHORN_IN_CLUSTER_SNAPSHOT = 'snap';

/**
 * The snapshot copy of every ReplicationSource is taken with a VolumeSnapshotClass deployed on
 * the cluster, of the CSI driver of its source claim, that makes an in-cluster snapshot.
 * VolSync v0.16.0 creates a VolumeSnapshot of the source with `volumeSnapshotClassName` (the
 * driver's default class when empty) and restores it into the temporary claim; the snapshot
 * controller leaves a snapshot of a missing class, or of a class of another driver, unbound
 * (every backup run waits for ever). Longhorn (longhorn-manager v1.8.1
 * `csi/controller_server.go`, `CreateSnapshot`) takes `parameters.type` `snap` as an in-cluster
 * snapshot and an empty or `bak` type as a backup to the backup target: a full upload on every
 * run, and no snapshot at all on a cluster without a backup target.
 */
export const snapshotClassMatches: SystemCheck = {
  name: 'backup-snapshot-class',
  description:
    "The snapshot copy of every ReplicationSource (copyMethod Snapshot) names a VolumeSnapshotClass deployed on the cluster (or the default one of the driver) whose driver is the provisioner of its source claim's StorageClass, and a Longhorn class takes in-cluster snapshots (`parameters.type: snap`), never backups to the backup target.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      const all = objects(deployed);
      const storage = storageIndex(all);
      const { claims, defaultClass: defaultStorageClass } = storage;
      const snapshotClasses = new Map<string, KubeObject>();
      for (const { object } of all) {
        if (
          object.apiVersion === 'snapshot.storage.k8s.io/v1' &&
          object.kind === 'VolumeSnapshotClass'
        ) {
          snapshotClasses.set(object.metadata.name, object);
        }
      }
      for (const { object, source } of all) {
        if (!isVolsync(object, 'ReplicationSource')) continue;
        const spec = record(object.spec);
        const restic = record(spec.restic);
        if (restic.copyMethod !== 'Snapshot') continue;
        const namespace = object.metadata.namespace;
        const what = `the snapshot copy of ReplicationSource ${namespace}/${object.metadata.name} on cluster "${deployed.cluster.name}"`;
        const problem = (value: unknown, message: string, expected: string) =>
          issues.push(
            error({
              code: 'backup-snapshot-class',
              path: settingsPath(deployed.cluster, COMPONENT),
              output: source,
              value,
              message: `${what} ${message}`,
              expected,
            }),
          );
        const sourceClass = claims.has(key(namespace, String(spec.sourcePVC ?? '')))
          ? (claims.get(key(namespace, String(spec.sourcePVC ?? ''))) ?? defaultStorageClass)
          : undefined;
        const storageClass =
          sourceClass === undefined ? undefined : storage.classes.get(sourceClass);
        const driver =
          storageClass === undefined ? undefined : String(storageClass.provisioner ?? '');
        const named = restic.volumeSnapshotClassName;
        let snapshotClass: KubeObject | undefined;
        if (typeof named === 'string' && named !== '') {
          snapshotClass = snapshotClasses.get(named);
          if (snapshotClass === undefined) {
            problem(
              named,
              `names VolumeSnapshotClass "${named}", which no Application on the cluster deploys: its VolumeSnapshot never binds and every backup run waits`,
              `a VolumeSnapshotClass the volume-snapshots provider deploys (${[...snapshotClasses.keys()].sort().join(', ') || 'none deployed'})`,
            );
            continue;
          }
        } else {
          const defaults = [...snapshotClasses.values()].filter(
            (candidate) =>
              candidate.metadata.annotations?.[DEFAULT_SNAPSHOT_CLASS_ANNOTATION] === 'true' &&
              (driver === undefined || candidate.driver === driver),
          );
          if (defaults.length !== 1) {
            problem(
              undefined,
              `names no VolumeSnapshotClass, and the cluster has ${defaults.length === 0 ? 'no' : 'more than one'} default class${driver === undefined ? '' : ` of driver ${driver}`}: the snapshot controller cannot pick one`,
              'volumeSnapshotClassName of the volume-snapshots provider’s class',
            );
            continue;
          }
          snapshotClass = defaults[0];
        }
        if (snapshotClass === undefined) continue;
        const className = snapshotClass.metadata.name;
        const classDriver = String(snapshotClass.driver ?? '');
        if (driver !== undefined && driver !== '' && classDriver !== driver) {
          problem(
            className,
            `uses VolumeSnapshotClass "${className}" of driver ${classDriver}, but its source claim ${namespace}/${String(spec.sourcePVC)} is provisioned by ${driver} (StorageClass "${sourceClass}"): the snapshot is never taken`,
            `a VolumeSnapshotClass of driver ${driver}`,
          );
          continue;
        }
        const type = record(snapshotClass.parameters).type;
        if (classDriver === LONGHORN_DRIVER && type !== LONGHORN_IN_CLUSTER_SNAPSHOT) {
          problem(
            className,
            `uses VolumeSnapshotClass "${className}", whose Longhorn snapshot type is ${type === undefined ? 'unset (Longhorn then takes a backup)' : `"${String(type)}"`}: every run uploads a full backup to the backup target instead of taking an in-cluster snapshot, and fails where there is none`,
            `parameters.type: ${LONGHORN_IN_CLUSTER_SNAPSHOT} on the VolumeSnapshotClass`,
          );
        }
      }
    }
    return issues;
  },
};

/**
 * Every claim that names a ReplicationDestination as its `dataSourceRef` (VolSync's volume
 * populator) can be filled, and an existing claim without the field still syncs. VolSync v0.16.0
 * (internal/controller/volumepopulator_controller.go, `reconcilePVCPrime`) waits without an error
 * for a ReplicationDestination that does not exist and for one with no `status.latestImage` (a
 * paused one never gets it), and gives up for good ("latestImage is not a volumesnapshot") on
 * one whose copy method is not `Snapshot`; meanwhile the claim stays Pending and no pod that
 * mounts it starts. It makes the volume from the snapshot with the claim's own request, and a
 * CSI driver refuses a volume smaller than the snapshot's source. A sync runs while
 * `spec.trigger.manual` differs from `status.lastManualSync`: without it (no trigger, a schedule)
 * the restore would run again and again. And the API server refuses `spec.dataSourceRef` on an
 * existing claim (immutable): the claim's Application must ignore the field, with
 * `RespectIgnoreDifferences=true`, or every claim made before (an upgraded platform, etcd
 * restored) fails every sync.
 *
 * The bootstrap's own volume stays as long as the bootstrap (Longhorn v1.8.1 clones a new volume
 * from a snapshot only while the snapshot's volume exists, `checkAndInitVolumeClone`), so it is
 * on a StorageClass deployed on the cluster (else it stays Pending, and the claim with it) and,
 * for a Longhorn class, one with one replica, no recurring jobs and `reclaimPolicy: Delete` (the
 * tier's scratch class): Longhorn labels a new volume with its class's `recurringJobSelector`
 * (`VolumeManager.Create`) and one without any with the `default` group
 * (`datastore.FixupRecurringJob`, `labelRecurringJobDefault`), so on the tier's class it would be a
 * lasting full copy per replica, snapshotted and backed up to the backup target by the tier's
 * jobs, for every protected volume.
 */
export const claimPopulator: SystemCheck = {
  name: 'backup-claim-populator',
  description:
    "Every PersistentVolumeClaim whose `spec.dataSourceRef` names a VolSync ReplicationDestination finds it deployed in its namespace, not paused, with a manual trigger, `copyMethod: Snapshot`, a VolumeSnapshotClass deployed on the cluster, no `destinationPVC`, a capacity no larger than the claim's request (equal to it for a claim on Longhorn, which clones only at the snapshot's volume's size), and its own volume (kept for good: the source of the clones) on a StorageClass deployed on the cluster, for Longhorn one with one replica, no recurring jobs and reclaimPolicy Delete (the tier's scratch class); and the claim's Application ignores the claim's `/spec/dataSourceRef` with `RespectIgnoreDifferences=true`. Otherwise the claim stays Pending and nothing that mounts it starts, the restore runs again and again, an existing claim (made before the field) fails every sync (the field is immutable), or every protected volume keeps a full copy per replica that Longhorn also snapshots and backs up.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of deployedClusters(input.clusters)) {
      const all = objects(deployed);
      const storage = storageIndex(all);
      const destinations = new Map<string, KubeObject>();
      const snapshotClasses = new Set<string>();
      // Longhorn's RecurringJobs in its `default` group: they take every volume without labels.
      const defaultGroupJobs: string[] = [];
      for (const { object } of all) {
        if (isVolsync(object, 'ReplicationDestination')) {
          destinations.set(key(object.metadata.namespace, object.metadata.name), object);
        }
        if (
          object.apiVersion.startsWith('longhorn.io/') &&
          object.kind === 'RecurringJob' &&
          list(record(object.spec).groups).includes(LONGHORN_DEFAULT_JOB_GROUP)
        ) {
          defaultGroupJobs.push(object.metadata.name);
        }
        if (
          object.apiVersion === 'snapshot.storage.k8s.io/v1' &&
          object.kind === 'VolumeSnapshotClass'
        ) {
          snapshotClasses.add(object.metadata.name);
        }
      }
      for (const app of deployed.applications) {
        const spec = record(app.application.spec);
        const ignored = list(spec.ignoreDifferences).map(record);
        const options = list(record(spec.syncPolicy).syncOptions).map(String);
        for (const { object, source } of app.objects) {
          if (object.apiVersion !== 'v1' || object.kind !== 'PersistentVolumeClaim') continue;
          const claimSpec = record(object.spec);
          const ref = record(claimSpec.dataSourceRef);
          if (ref.apiGroup !== VOLSYNC_POPULATOR.apiGroup || ref.kind !== VOLSYNC_POPULATOR.kind) {
            continue;
          }
          const namespace = object.metadata.namespace;
          const claim = `${namespace}/${object.metadata.name}`;
          const problem = (value: string, message: string, expected: string) =>
            issues.push(
              error({
                code: 'backup-claim-populator',
                path: settingsPath(deployed.cluster, app.component),
                output: source,
                value,
                message: `claim ${claim} of ${app.component} on cluster "${deployed.cluster.name}" ${message}`,
                expected,
              }),
            );
          if (
            !ignoredField(object, ['spec', 'dataSourceRef'], ignored) ||
            !options.includes('RespectIgnoreDifferences=true')
          ) {
            problem(
              String(ref.name),
              `names ReplicationDestination "${String(ref.name)}" as its dataSourceRef, but its Application ${app.name} does not leave the field as the cluster has it: the API server refuses the field on a claim made before it (immutable), so such a claim fails every sync`,
              'an ignoreDifferences entry of the claim with /spec/dataSourceRef, and RespectIgnoreDifferences=true',
            );
          }
          const destination = destinations.get(key(namespace, String(ref.name ?? '')));
          if (destination === undefined) {
            problem(
              String(ref.name),
              `names ReplicationDestination "${String(ref.name)}" as its dataSourceRef, which no Application deploys in ${namespace}: a new claim stays Pending for ever`,
              'the ReplicationDestination of the backup provider for the volume',
            );
            continue;
          }
          const rdSpec = record(destination.spec);
          const restic = record(rdSpec.restic);
          const trigger = record(rdSpec.trigger);
          const wrong: string[] = [];
          if (rdSpec.paused === true) wrong.push('it is paused (it never restores)');
          if (typeof trigger.manual !== 'string' || trigger.manual === '') {
            wrong.push('it has no manual trigger (it would restore again and again)');
          }
          if (restic.copyMethod !== 'Snapshot') {
            wrong.push(
              `its copyMethod is ${JSON.stringify(restic.copyMethod)} (the populator takes only a VolumeSnapshot)`,
            );
          }
          if (restic.destinationPVC !== undefined) {
            wrong.push('it restores into the named claim destinationPVC, not a volume of its own');
          }
          const snapshotClass = restic.volumeSnapshotClassName;
          if (typeof snapshotClass !== 'string' || !snapshotClasses.has(snapshotClass)) {
            wrong.push(
              `its VolumeSnapshotClass ${JSON.stringify(snapshotClass)} is not deployed on the cluster (its snapshot never binds)`,
            );
          }
          const capacity = quantityBytes(restic.capacity);
          const request = quantityBytes(record(record(claimSpec.resources).requests).storage);
          const claimClassName =
            typeof claimSpec.storageClassName === 'string'
              ? claimSpec.storageClassName
              : storage.defaultClass;
          const claimOnLonghorn =
            claimClassName !== undefined &&
            storage.classes.get(claimClassName)?.provisioner === LONGHORN_DRIVER;
          if (capacity === undefined || (request !== undefined && capacity > request)) {
            wrong.push(
              `its capacity ${JSON.stringify(restic.capacity)} is not at most the claim's request (a volume is never made smaller than its snapshot)`,
            );
          } else if (claimOnLonghorn && request !== undefined && capacity !== request) {
            // Longhorn v1.8.1 `verifyDataSourceForVolumeCreation` (manager/volume.go): a volume
            // cloned from a snapshot has exactly the size of the snapshot's volume.
            wrong.push(
              `its capacity ${JSON.stringify(restic.capacity)} is not the claim's request (Longhorn clones a claim only at the size of the snapshot's volume)`,
            );
          }
          const lasting = bootstrapClassProblem(restic, storage, defaultGroupJobs);
          if (lasting?.pending !== undefined) wrong.push(lasting.pending);
          if (wrong.length > 0) {
            problem(
              String(ref.name),
              `is filled by ReplicationDestination ${namespace}/${String(ref.name)}, which cannot fill it: ${wrong.join('; ')}`,
              'a ReplicationDestination with trigger.manual, copyMethod Snapshot, a deployed volumeSnapshotClassName and storageClassName, capacity and accessModes of the claim, not paused',
            );
          }
          if (lasting?.copies !== undefined) {
            problem(
              lasting.className,
              `is filled by ReplicationDestination ${namespace}/${String(ref.name)}, whose own volume (kept for good: new claims are cloned from its snapshot) is on StorageClass "${lasting.className}" with ${lasting.copies}: a lasting full copy of the volume per replica, snapshotted and backed up to the backup target by Longhorn, for every protected volume`,
              "the tier's scratch class as the bootstrap's restic.storageClassName: one replica, no recurring jobs, reclaimPolicy Delete",
            );
          }
        }
      }
    }
    return issues;
  },
};

/** Longhorn's recurring-job group of every volume that has no recurring-job label. */
const LONGHORN_DEFAULT_JOB_GROUP = 'default';

/**
 * What is wrong with the StorageClass of a bootstrap's own volume, which stays for good:
 * `pending`, a class not deployed on the cluster; `copies`, a Longhorn class whose volumes get
 * more than one replica, recurring jobs (its `recurringJobSelector`, or with none the `default`
 * group's jobs) or outlive their claim. `undefined` when it is fine, or not Longhorn's (nothing
 * to tell its copies by).
 */
function bootstrapClassProblem(
  restic: Json,
  storage: StorageIndex,
  defaultGroupJobs: readonly string[],
): { readonly className: string; readonly pending?: string; readonly copies?: string } | undefined {
  const own = restic.storageClassName;
  const className = typeof own === 'string' ? own : storage.defaultClass;
  const storageClass = className === undefined ? undefined : storage.classes.get(className);
  if (className === undefined || storageClass === undefined) {
    return {
      className: String(className),
      pending: `its volume's StorageClass ${JSON.stringify(className ?? null)} is not deployed on the cluster (the volume stays Pending, and the claim with it)`,
    };
  }
  if (storageClass.provisioner !== LONGHORN_DRIVER) return undefined;
  const parameters = record(storageClass.parameters);
  const extra: string[] = [];
  const replicas = parameters.numberOfReplicas;
  if (replicas !== '1') {
    extra.push(
      replicas === undefined
        ? "Longhorn's default replica count"
        : `${JSON.stringify(replicas)} replicas`,
    );
  }
  const selector = parameters.recurringJobSelector;
  let selected: unknown[] = [];
  if (typeof selector === 'string' && selector.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(selector);
      selected = Array.isArray(parsed) ? parsed : [selector];
    } catch {
      selected = [selector];
    }
  }
  if (selected.length > 0) {
    extra.push(`the recurring jobs of its recurringJobSelector ${JSON.stringify(selector)}`);
  } else if (defaultGroupJobs.length > 0) {
    extra.push(
      `the recurring jobs of Longhorn's default group (${[...defaultGroupJobs].sort().join(', ')})`,
    );
  }
  if (String(storageClass.reclaimPolicy ?? 'Delete') !== 'Delete') {
    extra.push(`reclaimPolicy ${String(storageClass.reclaimPolicy)} (it outlives the bootstrap)`);
  }
  return extra.length === 0 ? undefined : { className, copies: extra.join(', ') };
}

export const backupsChecks: readonly SystemCheck[] = [
  backupCompleteness,
  credentialsFromSecretsProvider,
  scheduleAdmitted,
  verificationOverlap,
  verificationSnapshotAge,
  temporaryVolumesDeleted,
  snapshotClassMatches,
  claimPopulator,
];
