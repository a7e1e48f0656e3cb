// @homelab/backups: backups of the platform. Provides `backup`: for every declared volume with a
// backup policy, a VolSync restic backup to S3 (ReplicationSource), a paused restore
// (ReplicationDestination) and an automated restore verification (CronJob), all in the consumer's
// chart; the VolSync controller; scheduled, age-encrypted etcd snapshots of the Talos control
// plane (talos-backup, with Talos API access for its namespace only); and the disaster-recovery
// runbook of every cluster. Pure.
import {
  type ApplicationDescriptor,
  applicationName,
  type BootstrapStep,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  type ConsumerManifests,
  caBundleIssues,
  checkHaInvariants,
  clusterServiceName,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  type Declaration,
  type DeclareInput,
  descriptorManualSync,
  ENVIRONMENTS,
  type EnvironmentName,
  error,
  type GeneratedFile,
  type GroupKind,
  generatedHeader,
  haPlan,
  type Issue,
  type KubeObject,
  lastRunFailedExpr,
  lastSuccessTooOldExpr,
  type MonitorDeclaration,
  parseCron,
  type RenderCluster,
  type RenderInput,
  S3_KEY_ROTATION,
  s3BucketIssues,
  s3EndpointIssues,
  type Values,
  warning,
} from '@homelab/core';
import { backupsChanges } from './changes.js';
import { backupsChecks } from './checks.js';
import { backupsDashboard } from './dashboard.js';
import { backupPodFlows, backupsFlows } from './flows.js';
import type { BackupsSettings } from './generated/settings.js';
import {
  backupNames,
  bootstrapDestination,
  DEFAULT_OWNER,
  etcdBackupObjects,
  replicationDestination,
  replicationSource,
  s3CaConfigMap,
  unlockCronJob,
  VOLSYNC_POPULATOR,
  verificationCronJob,
} from './manifests.js';
import {
  disasterRecoveryRunbook,
  firstSnapshotStep,
  PASSWORD_HEADING,
  type ProtectedVolume,
} from './runbook.js';
import {
  backupsSettingsSpec,
  ETCD_BACKUP_NAMESPACE,
  ETCD_BACKUP_ROLE,
  ETCD_BACKUP_SECRET,
  type ResolvedBackupsSettings,
  resolveBackupsSettings,
  resticRepository,
  resticRepositoryPrefix,
  S3_CA,
  VOLSYNC_NAMESPACE,
} from './settings.js';
import { backupsValidators } from './validators.js';
import { BACKUPS_UPSTREAM, VOLSYNC_IMAGE_REPOSITORY, VOLSYNC_REPOSITORY } from './versions.js';

type Settings = BackupsSettings;

/** Key of the upstream chart's values in charts/backups. */
export const VOLSYNC_VALUES_KEY = 'volsync';
const VOLSYNC_SELECTOR = {
  'app.kubernetes.io/instance': 'backups',
  'app.kubernetes.io/name': 'volsync',
};
/**
 * What Argo CD passes Helm for the backups chart instead of the live cluster's API versions:
 * `v1`, which Helm's own list has already (Argo CD passes a list only when it is not empty).
 */
const BUILT_IN_API_VERSIONS = ['v1'] as const;
/** What GitOps namespace the runbook names when no `gitops` provider says. */
const DEFAULT_GITOPS_NAMESPACE = 'argocd';

/**
 * The problem with `s3.endpoint`, at it: the server's address only (restic's repository is
 * `s3:<endpoint>/<bucket>/…`), whose host and port the egress policies to the store come from
 * (core's `urlFlowPeer`; `s3EndpointIssues` refuses every endpoint it cannot resolve).
 */
function endpointIssues(input: DeclareInput<Settings>, clusterDomain: string): Issue[] {
  const endpoint = input.settings.s3?.endpoint;
  if (endpoint === undefined) return [];
  return s3EndpointIssues(endpoint, input.path('s3', 'endpoint'), {
    code: 'backups-s3',
    bucketSettings: 's3.bucket (restic.prefix names the folder in it)',
    gatewayDomain: input.provided.gateway?.domain,
    clusterDomain,
  });
}

function settingsIssues(
  input: DeclareInput<Settings>,
  settings: ResolvedBackupsSettings,
  clusterDomain: string,
): Issue[] {
  const issues: Issue[] = [...endpointIssues(input, clusterDomain)];
  const ca = input.settings.s3?.caCertificate;
  if (ca !== undefined) {
    issues.push(
      ...caBundleIssues({
        pem: ca,
        path: input.path('s3', 'caCertificate'),
        code: 'backups-s3-ca',
        key: 'caCertificate',
        consequence:
          'restic and talos-backup would not load it, and every backup, restore and etcd snapshot would fail to reach the endpoint',
        reader: 'restic',
      }),
    );
  }
  const bucket = input.settings.s3?.bucket;
  if (bucket !== undefined) {
    issues.push(...s3BucketIssues(bucket, input.path('s3', 'bucket'), 'backups-s3'));
  }
  const s3 = settings.s3;
  if (settings.etcd !== undefined && s3 !== undefined && !s3.pathStyle) {
    // talos-backup's aws-sdk-go-v2 without UsePathStyle dials <bucket>.<endpoint host>: a name
    // the cluster DNS has no record for when the endpoint is a Service of the cluster.
    let host = '';
    try {
      host = new URL(s3.endpoint).hostname;
    } catch {}
    const service = clusterServiceName(host, clusterDomain);
    if (service !== undefined) {
      issues.push(
        error({
          code: 'backups-s3',
          path: input.path('s3', 'pathStyle'),
          value: false,
          message: `makes talos-backup address the bucket virtual-hosted, at ${s3.bucket}.${host}: the endpoint is Service ${service.service} of namespace ${service.namespace}, and the cluster DNS has no such name, so no etcd snapshot is written`,
          expected: 'pathStyle: true (the default) for an endpoint inside the cluster',
        }),
      );
    }
  }
  if (settings.s3 === undefined) {
    issues.push(
      error({
        code: 'backups-s3',
        path: input.path('s3'),
        message: `backups on cluster "${input.cluster.name}" have no S3 bucket to write to`,
        expected: 'backups.s3 with endpoint and bucket',
      }),
    );
  }
  if (settings.etcd !== undefined && settings.etcd.agePublicKey === undefined) {
    issues.push(
      error({
        code: 'backups-etcd-key',
        path: input.path('etcd', 'agePublicKey'),
        message: `etcd snapshots of cluster "${input.cluster.name}" would be unencrypted: no age public key`,
        expected:
          'etcd.agePublicKey (age-keygen; keep the private key offline), or etcd.enabled: false',
      }),
    );
  }
  const schedules: [string, string, (string | number)[]][] = [
    [
      settings.verification.schedule,
      'verification',
      ['verification', 'schedule', input.cluster.environment],
    ],
    ...(settings.etcd === undefined
      ? []
      : [
          [settings.etcd.schedule, 'etcd', ['etcd', 'schedule', input.cluster.environment]] as [
            string,
            string,
            (string | number)[],
          ],
        ]),
  ];
  for (const [schedule, , path] of schedules) {
    const parsed = parseCron(schedule);
    if ('message' in parsed) {
      issues.push(
        error({
          code: 'backup-schedule',
          path: input.path(...path),
          value: schedule,
          message: parsed.message,
          expected: parsed.expected,
        }),
      );
    }
  }
  return issues;
}

function application(settings: ResolvedBackupsSettings): ApplicationDescriptor {
  const etcd = settings.etcd !== undefined;
  const installs: GroupKind[] = [
    { group: 'volsync.backube', kind: 'ReplicationDestination' },
    { group: 'volsync.backube', kind: 'ReplicationSource' },
  ];
  // Talos registers talos.dev/ServiceAccount when kubernetesTalosAPIAccess is on (this
  // component's Talos need), before any Application runs.
  if (etcd) installs.push({ group: 'talos.dev', kind: 'ServiceAccount' });
  return {
    namespace: VOLSYNC_NAMESPACE,
    // The etcd snapshot CronJob is in our own manifests, which the build evaluates as they are.
    imageRepositories: { [VOLSYNC_NAMESPACE]: [VOLSYNC_IMAGE_REPOSITORY] },
    podSecurity: 'restricted',
    // The etcd backup's namespace: the root Application creates it (Cilium's policies for it
    // come in an earlier wave than this Application).
    ...(etcd
      ? {
          additionalNamespaces: [ETCD_BACKUP_NAMESPACE],
          additionalPodSecurity: { [ETCD_BACKUP_NAMESPACE]: 'restricted' },
        }
      : {}),
    // Our own workloads (the etcd snapshot CronJob, the verification Jobs) carry part-of: only
    // VolSync's namespace is exempt.
    policyExemptions: [
      {
        policy: 'required-labels',
        namespaces: [VOLSYNC_NAMESPACE],
        reason:
          'the VolSync chart 0.16.0 takes no labels for its controller Deployment (podLabels reach the pods only)',
      },
    ],
    // The VolSync CRDs are larger than the client-side apply annotation allows.
    serverSideApply: true,
    // The VolSync chart 0.16.0 renders its own ServiceMonitor wherever the cluster serves
    // monitoring.coreos.com/v1/ServiceMonitor (templates/servicemonitor-volsync.yaml), which Argo
    // CD tells Helm on a live cluster once monitoring installed the CRDs: a kind this
    // Application's AppProject refuses (the sync fails: "not permitted in project"), and a
    // scrape without a token that controller-runtime answers 401. Helm sees the built-in APIs
    // only, as the build renders it; monitoring scrapes VolSync from the `volsync` monitor.
    helmApiVersions: [...BUILT_IN_API_VERSIONS],
    installs,
    clusterResources: [
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
    ],
    // What the upstream chart (VolSync) renders with our values (the project allows exactly these).
    namespacedResources: [
      { group: '', kind: 'Service' },
      { group: '', kind: 'ServiceAccount' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'rbac.authorization.k8s.io', kind: 'Role' },
      { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
    ],
  };
}

/** kube-state-metrics' last success of the etcd snapshot CronJob (manifests.ts names it talos-backup). */
const LAST_ETCD_SNAPSHOT = `kube_cronjob_status_last_successful_time{namespace="${ETCD_BACKUP_NAMESPACE}",cronjob="talos-backup"}`;

/** kube-state-metrics' last success, and creation time, of the restore-verification CronJobs. */
const LAST_VERIFICATION = 'kube_cronjob_status_last_successful_time{cronjob=~".+-restore-verify"}';
const VERIFICATION_CREATED = 'kube_cronjob_created{cronjob=~".+-restore-verify"}';

function monitors(settings: ResolvedBackupsSettings): MonitorDeclaration[] {
  const maxAge = settings.verification.maxAgeHours * 3600;
  return [
    {
      name: 'volsync',
      namespace: VOLSYNC_NAMESPACE,
      // VolSync 0.16.0 serves its metrics with controller-runtime's secure serving on :8443
      // (cmd/main.go: `--metrics-secure` defaults to true, `--metrics-require-rbac` too): TLS with
      // a self-signed certificate, and a TokenReview and SubjectAccessReview of the caller's
      // token for `get` on /metrics. Plain HTTP, or no token, fails every scrape (400 / 401), so
      // volsync_volume_out_of_sync would never exist and VolumeBackupOutOfSync never fire.
      target: {
        kind: 'service',
        selector: { ...VOLSYNC_SELECTOR },
        port: 'https',
        scheme: 'https',
      },
      rules: [
        {
          alert: 'VolumeBackupOutOfSync',
          expr: 'volsync_volume_out_of_sync{role="source"} == 1',
          for: '30m',
          severity: 'warning',
          summary: 'A volume backup (VolSync ReplicationSource) missed its schedule or failed.',
          description:
            "Read the ReplicationSource's status.latestMoverStatus (result and logs). A mover killed mid-run (a drain, a reboot, a pause) leaves a restic lock that fails every run until it is removed: the volume's hourly CronJob <volume>-restic-unlock (minute 45) removes it once it is stale (untouched for 30 minutes), so within about 90 minutes; a failure that outlasts that is another cause.",
        },
        {
          alert: 'VolumeRestoreVerificationFailed',
          // The CronJob's latest finished run failed (not any failed Job still in its history).
          expr: lastRunFailedExpr({ cronjob: '.+-restore-verify' }),
          severity: 'critical',
          summary:
            'Restoring the latest backup of a volume failed its verification, and no later run succeeded.',
        },
        {
          alert: 'VolumeRestoreVerificationMissing',
          // kube-state-metrics reports a CronJob's last success only once it had one: a
          // verification that never succeeded (its Jobs refused, never scheduled, or every run
          // failed and cleaned up) has no series, so the age alone would never fire. The second
          // half names every verification CronJob older than the allowed age without a success.
          expr: `time() - max by (namespace, cronjob) (${LAST_VERIFICATION}) > ${maxAge} or (time() - max by (namespace, cronjob) (${VERIFICATION_CREATED}) > ${maxAge} unless on (namespace, cronjob) ${LAST_VERIFICATION})`,
          severity: 'warning',
          summary: `No successful restore verification of a volume for ${settings.verification.maxAgeHours} hours.`,
        },
        ...(settings.etcd === undefined
          ? []
          : [
              {
                alert: 'EtcdBackupFailed',
                // The latest finished run failed (backoffLimit 2: a retried run that succeeded is no failure).
                expr: lastRunFailedExpr({
                  namespace: ETCD_BACKUP_NAMESPACE,
                  cronjob: 'talos-backup',
                }),
                severity: 'critical' as const,
                summary:
                  'The latest etcd snapshot of the Talos control plane failed, and no later one succeeded.',
              },
              {
                alert: 'EtcdSnapshotTooOld',
                expr: lastSuccessTooOldExpr({
                  namespace: ETCD_BACKUP_NAMESPACE,
                  cronjob: 'talos-backup',
                }),
                threshold: { development: 168, staging: 48, production: 26 },
                for: '30m',
                severity: 'warning' as const,
                summary: `The last successful etcd snapshot (CronJob ${ETCD_BACKUP_NAMESPACE}/talos-backup) is older than its environment allows (hours), or the CronJob, older than that, never succeeded, or it does not exist.`,
                description:
                  'Without a recent etcd snapshot a lost control plane cannot be restored (disaster-recovery.md). Check the CronJob and its last Job.',
              },
            ]),
      ],
      dashboards: [
        backupsDashboard({
          failedVerifications: lastRunFailedExpr({ cronjob: '.+-restore-verify' }),
          lastVerification: LAST_VERIFICATION,
          lastEtcdSnapshot: settings.etcd === undefined ? undefined : LAST_ETCD_SNAPSHOT,
        }),
      ],
    },
  ];
}

/**
 * The runbook's step for the etcd snapshots' growth: talos-backup v0.1.0-beta.3 only uploads
 * (pkg/s3 `PushSnapshot`; it deletes nothing), one object per run, so the bucket needs a lifecycle
 * rule under the cluster's etcd prefix, and none over restic's, which prunes itself (an expiry
 * there would delete pack files the snapshots it keeps still need). No command: S3 servers differ
 * in lifecycle support, and one call replaces the bucket's whole set of rules, which several
 * clusters share.
 */
function etcdExpiryStep(bucket: string, etcdPrefix: string, resticPrefix: string): BootstrapStep {
  return {
    title: 'Expire the old etcd snapshots in the bucket',
    when: 'after-handover',
    body: [
      `talos-backup uploads an etcd snapshot to \`s3://${bucket}/${etcdPrefix}/\` on its schedule and`,
      'never deletes one, so they grow without end (one object per run, each the size of the',
      'encrypted etcd database). Give the bucket a lifecycle rule that expires objects under',
      `\`${etcdPrefix}/\` after as long as you keep them (a few weeks), and none over \`${resticPrefix}/\`:`,
      'restic prunes its repositories itself, and an expiry there deletes pack files the snapshots',
      "it keeps still need. The bucket's rules are one set, which a",
      '`put-bucket-lifecycle-configuration` replaces whole: where other clusters share the bucket,',
      'keep their rules in it (`get-bucket-lifecycle-configuration` shows them). A rule expires by',
      'age alone: a cluster down for longer than its period loses every snapshot, the newest too',
      '(the one the disaster recovery runbook restores), so give it a period longer than an outage',
      'you would still recover from.',
    ],
    commands: [],
  };
}

function declare(input: DeclareInput<Settings>): Declaration {
  const settings = resolveBackupsSettings(input.settings, input.cluster);
  const clusterDomain = input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const issues = settingsIssues(input, settings, clusterDomain);
  // A refused endpoint is reported at it (`endpointIssues`): its flows, with a host no policy can
  // name, would only repeat the error at the component.
  const flowSettings: ResolvedBackupsSettings =
    endpointIssues(input, clusterDomain).length > 0 ? { ...settings, s3: undefined } : settings;
  const etcd = settings.etcd;
  const prefix = resticRepositoryPrefix(settings, input.cluster.name);
  return {
    application: application(settings),
    ...(etcd === undefined
      ? {}
      : {
          talos: {
            kubernetesTalosAPIAccess: {
              roles: [ETCD_BACKUP_ROLE],
              namespaces: [ETCD_BACKUP_NAMESPACE],
            },
          },
          ...(settings.s3 === undefined
            ? {}
            : {
                bootstrap: [
                  firstSnapshotStep(
                    ETCD_BACKUP_NAMESPACE,
                    settings.s3,
                    `${etcd.prefix}/${input.cluster.name}`,
                  ),
                  etcdExpiryStep(
                    settings.s3.bucket,
                    `${etcd.prefix}/${input.cluster.name}`,
                    settings.restic.prefix,
                  ),
                ],
              }),
          secrets: [
            {
              name: ETCD_BACKUP_SECRET,
              namespace: ETCD_BACKUP_NAMESPACE,
              keys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
              description: `S3 credentials of the etcd snapshots of cluster ${input.cluster.name} (write access to ${settings.s3?.bucket ?? 'the backup bucket'})`,
              readers: [
                {
                  kind: 'CronJob',
                  name: 'talos-backup',
                  reads: 'run',
                  how: 'environment variables of each Job\u2019s pod',
                },
              ],
              rotation: { ...S3_KEY_ROTATION },
            },
          ],
        }),
    // The movers and restore verifications run in the protected volumes' namespaces: their
    // owner declares what they need there (podFlows), where default deny covers them.
    flows: backupsFlows(flowSettings, input.provided.gateway?.domain, clusterDomain),
    monitors: monitors(settings),
    facts: {
      backup: {
        verification: true,
        // What each protected volume's RESTIC_REPOSITORY must be (the runbook's secrets step
        // says so), the repositories disaster-recovery.md restores from.
        ...(prefix === undefined ? {} : { resticRepositoryPrefix: prefix }),
        passwordChange: `\`clusters/${input.cluster.name}/disaster-recovery.md\`, "${PASSWORD_HEADING}"`,
        // VolSync 0.16.0 runs its volume populator always (cmd/main.go), with the chart's RBAC.
        populator: { ...VOLSYNC_POPULATOR },
        podFlows: backupPodFlows(flowSettings, input.provided.gateway?.domain, clusterDomain),
        podImages: [VOLSYNC_IMAGE_REPOSITORY],
      },
    },
    issues,
  };
}

/** Kubernetes' longest CronJob name (`ValidateCronJob`: a DNS label less the 11 its Jobs add). */
const CRONJOB_NAME_MAX = 52;

/** The protected volumes of a cluster, by consumer, sorted. */
function protectedVolumes(entry: RenderCluster<Settings>): ProtectedVolume[] {
  const out: ProtectedVolume[] = [];
  for (const peer of entry.others) {
    const app = peer.contribution.application?.name ?? peer.component;
    for (const volume of peer.contribution.volumes ?? []) {
      if (volume.backup === undefined) continue;
      out.push({
        volume,
        component: peer.component,
        application: applicationName(entry.cluster, app),
        sync: descriptorManualSync(
          peer.contribution.application,
          entry.cluster.profile.autoSync.prune,
        ),
      });
    }
  }
  return out.sort((a, b) =>
    compareStrings(
      `${a.volume.namespace}/${a.volume.name}`,
      `${b.volume.namespace}/${b.volume.name}`,
    ),
  );
}

function forConsumers(
  entry: RenderCluster<Settings>,
  settings: ResolvedBackupsSettings,
  volumes: readonly ProtectedVolume[],
  issues: Issue[],
): ConsumerManifests[] {
  const snapshotClass = entry.provided['volume-snapshots']?.snapshotClass;
  const byComponent = new Map<string, { [key: string]: KubeObject }>();
  for (const { volume, component } of volumes) {
    const at = ['clusters', entry.cluster.index, 'components', component];
    if (snapshotClass === undefined) {
      // Without a storage driver there is nothing to snapshot, and the missing "storage" is
      // the error the user needs (backups needs it): no second one per volume.
      if (entry.provided.storage === undefined) continue;
      issues.push(
        error({
          code: 'backups-snapshots',
          path: at,
          value: `${volume.namespace}/${volume.name}`,
          message: `volume ${volume.namespace}/${volume.name} is backed up from a CSI snapshot, but cluster "${entry.cluster.name}" has no VolumeSnapshotClass`,
          expected:
            'a component that provides "volume-snapshots" (snapshot-controller) enabled on the cluster, with a VolumeSnapshotClass for the storage driver',
        }),
      );
      continue;
    }
    const verification = backupNames(volume).verification;
    if (volume.backup?.verify !== false && verification.length > CRONJOB_NAME_MAX) {
      // The API server refuses a CronJob name longer than 52 characters (its Jobs append a
      // timestamp): the volume would be backed up but never verified, and Argo CD stays failed.
      issues.push(
        error({
          code: 'backups-name',
          path: volume.origin ?? at,
          value: volume.name,
          message: `names the restore verification CronJob ${volume.namespace}/${verification} (${verification.length} characters), but Kubernetes refuses a CronJob name longer than ${CRONJOB_NAME_MAX}: the volume would never be verified`,
          expected: `a volume name of at most ${CRONJOB_NAME_MAX - (verification.length - volume.name.length)} characters, or backup.verify: false`,
        }),
      );
    }
    const unlock = backupNames(volume).unlock;
    if (volume.backup?.verify === false && unlock.length > CRONJOB_NAME_MAX) {
      issues.push(
        error({
          code: 'backups-name',
          path: volume.origin ?? at,
          value: volume.name,
          message: `names the CronJob that removes stale restic locks ${volume.namespace}/${unlock} (${unlock.length} characters), but Kubernetes refuses a CronJob name longer than ${CRONJOB_NAME_MAX}: a lock left by a killed backup would stop the volume's backups`,
          expected: `a volume name of at most ${CRONJOB_NAME_MAX - (unlock.length - volume.name.length)} characters`,
        }),
      );
    }
    if (volume.owner === undefined) {
      issues.push(
        warning({
          code: 'backups-owner',
          path: volume.origin ?? at,
          value: `${volume.namespace}/${volume.name}`,
          message: `volume ${volume.namespace}/${volume.name} does not say who owns its files; its restic movers and restore verification run as ${DEFAULT_OWNER.user}:${DEFAULT_OWNER.group} and may not be able to read or restore them`,
          expected: 'the volume owner (user and group ids)',
        }),
      );
    }
    const manifests = byComponent.get(component) ?? {};
    const base = `${volume.namespace}-${volume.name}`;
    // The backups' copies of a volume (snapshot clone and restic cache, verification, bootstrap)
    // go to the tier's scratch class: one replica, no recurring jobs, deleted with their claim.
    const scratch = entry.provided.storage?.classes.find((c) => c.tier === volume.tier)?.scratch;
    const repository = resticRepository(
      settings,
      entry.cluster.name,
      volume.namespace,
      volume.name,
    );
    manifests[`replicationsource-${base}`] = replicationSource(
      volume,
      settings,
      snapshotClass,
      scratch,
      repository,
    );
    manifests[`replicationdestination-${base}`] = replicationDestination(
      volume,
      scratch,
      settings.s3?.caCertificate !== undefined,
    );
    // The endpoint's CA, where it has one of its own, in the namespace of the volume's movers.
    const ca = settings.s3?.caCertificate;
    if (ca !== undefined) {
      manifests[`configmap-${volume.namespace}-${S3_CA.configMap}`] = s3CaConfigMap(
        volume.namespace,
        ca,
      );
    }
    const ref = volume.dataSourceRef;
    if (
      ref !== undefined &&
      ref.apiGroup === VOLSYNC_POPULATOR.apiGroup &&
      ref.kind === VOLSYNC_POPULATOR.kind &&
      ref.name === backupNames(volume).bootstrap
    ) {
      // What the claim names: without it the claim stays Pending.
      manifests[`replicationdestination-${base}-bootstrap`] = bootstrapDestination(
        volume,
        settings,
        snapshotClass,
        scratch,
      );
    }
    manifests[`cronjob-${base}-restic-unlock`] = unlockCronJob(
      volume,
      settings.s3?.caCertificate !== undefined,
    );
    if (volume.backup?.verify !== false) {
      manifests[`cronjob-${base}-restore-verify`] = verificationCronJob(
        volume,
        settings,
        scratch,
        repository,
      );
    }
    byComponent.set(component, manifests);
  }
  return [...byComponent.entries()].map(([component, manifests]) => ({
    component,
    cluster: entry.cluster.name,
    manifests,
  }));
}

function readme(settings: ResolvedBackupsSettings): ChartSpec['readme'] {
  return {
    summary: `VolSync ${settings.version} (restic) backs every declared volume with a backup policy up to S3, from a CSI snapshot, on the volume's schedule with its retention; a paused ReplicationDestination restores it on demand; a CronJob restores the latest snapshot into a scratch volume on the environment's schedule and verifies it. The etcd of each Talos cluster is snapshotted to the same bucket, encrypted with age. Every cluster has a disaster-recovery runbook in \`clusters/<cluster>/disaster-recovery.md\`.`,
    sections: [
      {
        heading: 'Restore verification',
        body: [
          "Each run first checks that the volume's Secret names the restic repository the definition",
          'backs the volume up to (the URL the runbook gives, the `backup.homelab.dev/repository`',
          'annotation of its ReplicationSource), then checks the repository (`restic check --read-data-subset`), reads the latest',
          "snapshot (no older than the volume's backup schedule allows: VolSync skips, and reports",
          'success for, the backup of an empty volume) and its record of the tree (at least one',
          "regular file; files and sizes, and the backup's summary of files and bytes processed;",
          `its bytes no more than ${settings.verification.maxShrinkPercent} % below those of the snapshot before it: a larger`,
          'drop is data lost before the backup, and the failure names the snapshot before and its time),',
          'restores the snapshot into a scratch volume of the',
          "volume's tier and size (deleted with the pod), and compares: the same file count, the same",
          'total bytes, and for a sample of files spread over the tree the SHA-256 of the restored',
          'bytes against `restic dump` of the same file. A difference fails the Job: the CronJob turns',
          'Degraded in Argo CD, the Job records a `BackoffLimitExceeded` event, kube-state-metrics',
          "reports the Job's Failed condition (`kube_job_failed`), and `VolumeRestoreVerificationFailed`",
          'fires until a later run of the CronJob succeeds.',
          "The run's outcome is the pod's termination message.",
        ].join('\n'),
      },
      {
        heading: 'Stale locks',
        body: [
          'Every backed-up volume has a CronJob `<volume>-restic-unlock` that runs `restic unlock` on its',
          'repository hourly (at minute 45, UTC). A mover killed mid-run (a drain, a node reboot, an',
          'out-of-memory kill, a ReplicationSource paused during a backup) leaves its lock behind, and',
          'restic never ignores one: after a lock of a backup every later run fails at its `forget`,',
          'after an exclusive one no backup or restore runs at all. `restic unlock` removes only the',
          'locks no live restic holds (untouched for 30 minutes), so a running mover is never',
          "affected. Its pods run as the restore verification's (labels, flows, security context,",
          'resources and Secret).',
        ].join('\n'),
      },
      {
        heading: 'A new claim fills itself',
        body: [
          "A protected volume's claim names `<volume>-bootstrap` as its `spec.dataSourceRef`: that",
          'ReplicationDestination restores the latest snapshot once, when it is created, into a volume',
          "of its own and snapshots it, and VolSync's volume populator makes a claim that is not bound",
          'yet from that snapshot. A claim created on a cluster rebuilt without an etcd snapshot, or',
          'after it was deleted, reads `Pending` until it holds the latest backup; on an empty',
          'repository (a first install) it is bound empty at once. A bound claim is never filled again.',
          'The claim stays `Pending` while the restore cannot run (no `<volume>-restic` Secret, S3 out',
          "of reach, a wrong password). The volume's Application ignores the field (it is immutable):",
          'claims made before keep none.',
        ].join('\n'),
      },
      {
        heading: 'Restoring a volume by hand',
        body: [
          "Take the volume's Application out of automated sync (or Argo CD pauses the restore again),",
          'stop the workloads that use the claim, unpause `<volume>-restore` with a new',
          '`spec.trigger.manual` value (and `spec.restic.restoreAsOf`, the time the snapshot to',
          'restore must not be newer than; without it the latest), wait for `status.lastManualSync`',
          'to equal it, remove `restoreAsOf` again (Argo CD keeps a field Git never sets, and',
          'VolSync would pass it to every later restore), give the Application back to Argo CD.',
          'The exact commands for every volume are in `clusters/<cluster>/disaster-recovery.md`.',
        ].join('\n'),
      },
      {
        heading: 'etcd',
        body: [
          'The `talos-backup` CronJob (namespace `talos-backup`) snapshots etcd through the Talos API',
          'with a Talos service account that holds only `os:etcd:backup`; Talos lets only that',
          "namespace ask for it (`kubernetesTalosAPIAccess` in the control planes' patch). Snapshots",
          'are encrypted to the age public key of the definition before upload.',
        ].join('\n'),
      },
      {
        heading: 'Licences',
        body: 'VolSync is AGPL-3.0: the chart is used unmodified as a dependency. The talos-backup image is MPL-2.0.',
      },
    ],
  };
}

function render(input: RenderInput<Settings>): ComponentOutput {
  const first = input.clusters[0];
  if (first === undefined) return {};
  const firstSettings = resolveBackupsSettings(first.settings, first.cluster);
  const issues: Issue[] = [];
  const clusters: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  const consumers: ConsumerManifests[] = [];
  const files: GeneratedFile[] = [];
  for (const entry of input.clusters) {
    const settings = resolveBackupsSettings(entry.settings, entry.cluster);
    const volumes = protectedVolumes(entry);
    consumers.push(...forConsumers(entry, settings, volumes, issues));
    const path = entry.path();
    const { plan, issues: planIssues } = haPlan(entry.cluster, {
      selector: VOLSYNC_SELECTOR,
      path,
    });
    issues.push(...planIssues, ...checkHaInvariants(entry.cluster, plan, path));
    const volsync: Values = { replicaCount: plan.replicas };
    if (plan.affinity !== undefined) volsync.affinity = plan.affinity;
    const key = settings.etcd?.agePublicKey;
    clusters[entry.cluster.name] = {
      [VOLSYNC_VALUES_KEY]: volsync,
      manifests: (key === undefined
        ? {}
        : etcdBackupObjects(entry.cluster.name, settings, key)) as unknown as Values,
    };
    environments[entry.cluster.environment] = {};
    files.push({
      path: `clusters/${entry.cluster.name}/disaster-recovery.md`,
      content: disasterRecoveryRunbook({
        header: generatedHeader('pnpm build', 'markdown'),
        cluster: entry.cluster,
        settings,
        volumes,
        gitopsNamespace: entry.provided.gitops?.namespace ?? DEFAULT_GITOPS_NAMESPACE,
        ...(entry.provided.storage?.csiDriver === undefined
          ? {}
          : { storageDriver: entry.provided.storage.csiDriver }),
        ...(entry.provided.secrets?.credential === undefined
          ? {}
          : { secretsCredential: entry.provided.secrets.credential }),
      }),
    });
  }
  const envLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of ENVIRONMENTS) if (environments[name] !== undefined) envLayers[name] = {};
  const chart: ChartSpec = {
    name: 'backups',
    description: 'Backups: VolSync restic backups with restore verification, etcd snapshots.',
    appVersion: firstSettings.version,
    dependency: {
      name: VOLSYNC_VALUES_KEY,
      version: firstSettings.version,
      repository: VOLSYNC_REPOSITORY,
    },
    values: {
      [VOLSYNC_VALUES_KEY]: {
        // Object names independent of the release name.
        fullnameOverride: 'volsync',
        manageCRDs: true,
      },
    },
    environments: envLayers,
    clusters,
    readme: readme(firstSettings),
  };
  return { chart, forConsumers: consumers, files, issues };
}

export const backupsComponent: Component<Settings> = {
  name: 'backups',
  description:
    'Backups: restic backups of declared volumes (VolSync) with automated restore verification, and etcd snapshots.',
  settings: backupsSettingsSpec,
  provides: ['backup'],
  needs: ['cni', 'storage', 'volume-snapshots'],
  uses: ['secrets'],
  // The GitOps controller's namespace, which the runbook's commands name: the backups' sync does
  // not wait for the controller's own Application.
  reads: ['gitops'],
  upstream: BACKUPS_UPSTREAM,
  validators: backupsValidators,
  checks: backupsChecks,
  changes: backupsChanges,
  declare,
  render,
};
