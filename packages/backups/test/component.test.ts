import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  commentLines,
  formatPath,
  lastSuccessTooOldExpr,
  parseBoundedWait,
  shellBlocks,
  shellQuote,
  type VolumeRequest,
  volumeResticRepository,
} from '@homelab/core';
import {
  findOriginalAwk,
  originalAwkRuns,
  pasteShells,
  readVendoredChartFile,
  repoRoot,
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
  withStandIn,
  withStandInScript,
  zshTestRuns,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { backupsComponent } from '../src/index.js';
import { backupNames, maxSnapshotAgeMinutes } from '../src/manifests.js';
import { ADD_KEY_SCRIPT, REMOVE_KEY_SCRIPT } from '../src/password-change.js';
import { LONGHORN_CSI_DRIVER } from '../src/runbook.js';
import type { ResolvedBackupsSettings } from '../src/settings.js';
import { VOLSYNC_CHART_VERSION } from '../src/versions.js';
import {
  AGE_KEY,
  type AnyJson,
  chartObjects,
  cni,
  consumer,
  DATA,
  gitops,
  populated,
  retaining,
  runBackups,
  SETTINGS,
  scratching,
  snapshots,
  storage,
} from './helpers.js';

/** The disaster-recovery runbook of `cluster`. */
const runbookOf = (run: ReturnType<typeof runBackups>, cluster: string): string =>
  run.components.components
    .find((c) => c.component.name === 'backups')
    ?.output.files?.find((f) => f.path === `clusters/${cluster}/disaster-recovery.md`)
    ?.content as string;

/**
 * The last line `commands` print, run by `shell` with a stand-in `kubectl` that prints `status`
 * (what a ReplicationSource's or ReplicationDestination's mover status reads).
 */
function lastLine(shell: string, commands: readonly string[], status: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-dr-'));
  try {
    const kubectl = join(dir, 'kubectl');
    writeFileSync(kubectl, `#!/bin/sh\ncat <<'EOF'\n${status}\nEOF\n`);
    chmodSync(kubectl, 0o755);
    const out = spawnSync(shell, ['-c', commands.join('\n')], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    return out.stdout.trim().split('\n').at(-1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const errors = (run: ReturnType<typeof runBackups>) =>
  run.components.issues.filter((i) => i.severity === 'error');

describe('a protected volume', () => {
  const run = runBackups();
  const prod = run.platform.clusters[2] as AnyJson;
  const dev = run.platform.clusters[0] as AnyJson;
  const objects = (cluster: AnyJson) =>
    Object.fromEntries(
      chartObjects(run.components, 'app', cluster).map((o) => [
        `${o.kind}/${o.metadata.name}`,
        o as AnyJson,
      ]),
    );

  test('renders without errors', () => {
    expect(errors(run)).toEqual([]);
  });

  test('gets a scheduled restic backup from a CSI snapshot, with its retention', () => {
    expect(objects(prod)['ReplicationSource/data-backup']).toEqual({
      apiVersion: 'volsync.backube/v1alpha1',
      kind: 'ReplicationSource',
      metadata: {
        name: 'data-backup',
        namespace: 'paperless',
        labels: {
          'app.kubernetes.io/managed-by': 'homelab',
          'app.kubernetes.io/part-of': 'backups',
          'backup.homelab.dev/volume': 'data',
          'backup.homelab.dev/role': 'source',
        },
        // What a provider places in a consumer's chart goes with the consumer's definition;
        // where the backups go, the URL the runbook's secrets step gives for the Secret.
        annotations: {
          'argocd.argoproj.io/sync-options': 'Prune=true',
          'backup.homelab.dev/repository':
            's3:https://s3.example.com/homelab-backups/restic/prod/paperless/data',
        },
      },
      spec: {
        sourcePVC: 'data',
        // explicit, so that Argo CD resumes the backups the disaster-recovery runbook paused
        paused: false,
        trigger: { schedule: '0 2 * * *' },
        restic: {
          repository: 'data-restic',
          copyMethod: 'Snapshot',
          volumeSnapshotClassName: 'example-snapshot',
          pruneIntervalDays: 7,
          cacheCapacity: '1Gi',
          retain: { daily: 7, weekly: 4, within: '3d' },
          moverSecurityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          moverResources: {
            requests: { cpu: '100m', memory: '256Mi' },
            limits: { memory: '2Gi' },
          },
        },
      },
    });
  });

  test('its backup and restore movers request CPU and memory (VolSync sets none by itself)', () => {
    // VolSync 0.16.0 UpdatePodTemplateSpecFromMoverConfig: without moverResources the mover's
    // container has no requests, and the resource-requests admission policy refuses the Job.
    for (const kind of ['ReplicationSource', 'ReplicationDestination']) {
      const spec =
        objects(prod)[`${kind}/${kind === 'ReplicationSource' ? 'data-backup' : 'data-restore'}`]
          .spec.restic;
      expect(spec.moverResources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    }
  });

  test('gets a paused restore into its own claim', () => {
    const rd = objects(prod)['ReplicationDestination/data-restore'];
    expect(rd.spec).toMatchObject({
      paused: true,
      trigger: { manual: 'restore' },
      restic: {
        repository: 'data-restic',
        destinationPVC: 'data',
        copyMethod: 'Direct',
        enableFileDeletion: true,
        moverResources: { requests: { cpu: '100m', memory: '256Mi' } },
      },
    });
  });

  test('gets a restore verification on the environment schedule, into a scratch volume of its tier', () => {
    const devJob = objects(dev)['CronJob/data-restore-verify'];
    const prodJob = objects(prod)['CronJob/data-restore-verify'];
    expect(devJob.spec.schedule).toBe('0 5 * * 0');
    expect(prodJob.spec.schedule).toBe('0 5 * * *');
    const pod = prodJob.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].env).toContainEqual({ name: 'READ_DATA_SUBSET', value: '10%' });
    expect(devJob.spec.jobTemplate.spec.template.spec.containers[0].env).toContainEqual({
      name: 'READ_DATA_SUBSET',
      value: '1%',
    });
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: 'data-restic' } }]);
    // The repository the Secret must name: the cluster's own, as on the ReplicationSource.
    expect(pod.containers[0].env).toContainEqual({
      name: 'EXPECTED_RESTIC_REPOSITORY',
      value: 's3:https://s3.example.com/homelab-backups/restic/prod/paperless/data',
    });
    expect(devJob.spec.jobTemplate.spec.template.spec.containers[0].env).toContainEqual({
      name: 'EXPECTED_RESTIC_REPOSITORY',
      value: 's3:https://s3.example.com/homelab-backups/restic/dev/paperless/data',
    });
    expect(pod.volumes[0].ephemeral.volumeClaimTemplate.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'standard',
      resources: { requests: { storage: '20Gi' } },
    });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(prodJob.spec.jobTemplate.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
    });
  });

  test('its verification leaves no full-size scratch volume behind after a success, and one at most after failures', () => {
    // The scratch volume is the pod's generic ephemeral volume: it goes with the pod, and a
    // finished Job keeps its pod. A successful Job is deleted once the CronJob controller has
    // recorded lastSuccessfulTime; only the latest failed one stays (the failure alert reads it).
    const spec = objects(prod)['CronJob/data-restore-verify'].spec;
    expect(spec.successfulJobsHistoryLimit).toBe(0);
    expect(spec.failedJobsHistoryLimit).toBe(1);
    expect(spec.jobTemplate.spec.template.spec.volumes[0].name).toBe('scratch');
    expect(spec.jobTemplate.spec.template.spec.volumes[0].ephemeral).toBeDefined();
  });

  test('its verification fails a latest snapshot more than half smaller than the one before, or the share the definition sets', () => {
    const envOf = (r: ReturnType<typeof runBackups>) =>
      (
        chartObjects(r.components, 'app', r.platform.clusters[2] as AnyJson).find(
          (o) => o.kind === 'CronJob' && o.metadata.name === 'data-restore-verify',
        ) as AnyJson
      ).spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(envOf(run)).toContainEqual({ name: 'MAX_SHRINK_PERCENT', value: '50' });
    const lenient = runBackups({ ...SETTINGS, verification: { maxShrinkPercent: 90 } });
    expect(errors(lenient)).toEqual([]);
    expect(envOf(lenient)).toContainEqual({ name: 'MAX_SHRINK_PERCENT', value: '90' });
  });

  test("its verification fails a latest snapshot older than the volume's backup schedule allows", () => {
    // Given the daily backup at 02:00 (DATA) and the verification's 60-minute window: a day
    // between two backups, the window and an hour of slack.
    const env =
      objects(prod)['CronJob/data-restore-verify'].spec.jobTemplate.spec.template.spec.containers[0]
        .env;
    expect(env).toContainEqual({ name: 'MAX_SNAPSHOT_AGE_MINUTES', value: String(1440 + 60 + 60) });
    const resolvedProd = { verification: { windowMinutes: 60 } } as ResolvedBackupsSettings;
    // A weekly backup: a week between two.
    const weekly = { ...DATA, backup: { ...DATA.backup, schedule: '30 1 * * 0' } } as VolumeRequest;
    expect(maxSnapshotAgeMinutes(weekly, resolvedProd)).toBe(7 * 1440 + 120);
    // A schedule that never runs sets no bound.
    const never = { ...DATA, backup: { ...DATA.backup, schedule: '0 0 30 2 *' } } as VolumeRequest;
    expect(maxSnapshotAgeMinutes(never, resolvedProd)).toBeUndefined();
  });

  test("every copy of a volume goes to its tier's scratch class where the provider names one", () => {
    // Given a provider that, as Longhorn, names a scratch class for every tier, standard's too
    const run = runBackups(SETTINGS, [consumer([DATA])], [cni, scratching, snapshots, gitops]);
    const found = Object.fromEntries(
      chartObjects(run.components, 'app', run.platform.clusters[2] as AnyJson).map((o) => [
        `${o.kind}/${o.metadata.name}`,
        o as AnyJson,
      ]),
    );
    // Then VolSync's snapshot clone (and its restic cache, on the same class) and the restore
    // check's volume of the volume on standard are on standard-scratch: one replica, no
    // recurring jobs, so the restore is written once and the tier's jobs never back it up
    expect(found['ReplicationSource/data-backup'].spec.restic.storageClassName).toBe(
      'standard-scratch',
    );
    expect(
      found['CronJob/data-restore-verify'].spec.jobTemplate.spec.template.spec.volumes[0].ephemeral
        .volumeClaimTemplate.spec.storageClassName,
    ).toBe('standard-scratch');
    // And the paused restore's restic cache, which VolSync 0.16.0 makes at once (a paused
    // ReplicationDestination with a new manual trigger syncs; only its Job does not run)
    expect(found['ReplicationDestination/data-restore'].spec.restic.cacheStorageClassName).toBe(
      'standard-scratch',
    );
  });

  test("on a tier whose class retains its volumes, the temporary copies go to the tier's scratch class", () => {
    // Given a storage provider whose fast-storage class retains its volumes (a scratch class
    // deletes them) and a protected volume on fast-storage
    const db = { ...DATA, name: 'db', tier: 'fast-storage' };
    const both = runBackups(SETTINGS, [consumer([DATA, db])], [cni, retaining, snapshots, gitops]);
    const cluster = both.platform.clusters[2] as AnyJson;
    const found = Object.fromEntries(
      chartObjects(both.components, 'app', cluster).map((o) => [
        `${o.kind}/${o.metadata.name}`,
        o as AnyJson,
      ]),
    );
    const scratchClaim = (job: AnyJson) =>
      job.spec.jobTemplate.spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec
        .storageClassName;
    // Then VolSync's snapshot clone and the restore check's volume of db use the scratch class
    // (VolSync deletes its temporary claim after each run; a Retain class keeps the volume)
    expect(found['ReplicationSource/db-backup'].spec.restic.storageClassName).toBe(
      'fast-storage-scratch',
    );
    expect(scratchClaim(found['CronJob/db-restore-verify'])).toBe('fast-storage-scratch');
    // And the volume on standard, for which this provider names no scratch class, keeps its own
    expect(found['ReplicationSource/data-backup'].spec.restic.storageClassName).toBeUndefined();
    expect(scratchClaim(found['CronJob/data-restore-verify'])).toBe('standard');
    expect(
      found['ReplicationDestination/data-restore'].spec.restic.cacheStorageClassName,
    ).toBeUndefined();
    expect(found['ReplicationDestination/db-restore'].spec.restic.cacheStorageClassName).toBe(
      'fast-storage-scratch',
    );
  });

  test('without verification: backup and restore only', () => {
    const noVerify = runBackups(SETTINGS, [
      consumer([{ ...DATA, backup: { ...(DATA.backup as AnyJson), verify: false } }]),
    ]);
    const kinds = chartObjects(noVerify.components, 'app', noVerify.platform.clusters[0] as AnyJson)
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();
    // the hourly unlock stays: a lock left by a killed mover stops backups, verified or not
    expect(kinds).toEqual([
      'CronJob/data-restic-unlock',
      'ReplicationDestination/data-restore',
      'ReplicationSource/data-backup',
    ]);
  });

  test('removes stale restic locks hourly, as the unlock pod does, with the flows of its pods', () => {
    const unlock = objects(dev)['CronJob/data-restic-unlock'];
    expect(unlock.metadata.labels['backup.homelab.dev/role']).toBe('unlock');
    expect([unlock.spec.schedule, unlock.spec.timeZone, unlock.spec.concurrencyPolicy]).toEqual([
      '45 * * * *',
      'Etc/UTC',
      'Forbid',
    ]);
    const pod = unlock.spec.jobTemplate.spec.template;
    // the pods of the verification's flows (its egress to S3 under default deny)
    expect(pod.metadata.labels['backup.homelab.dev/role']).toBe('verification');
    const [container] = pod.spec.containers;
    expect(container.command).toEqual(['restic', 'unlock']);
    expect(container.envFrom).toEqual([{ secretRef: { name: 'data-restic' } }]);
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    // bounded: a hung S3 connection does not hold the next hour's run
    expect(unlock.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(900);
  });

  test("tells its consumers what the movers and the verification need in the volume's namespace", () => {
    const facts = run.components.clusters[0]?.contributions.get('backups')?.facts?.backup;
    // The verification CronJob's pods carry these labels (the manifest above).
    const verification =
      objects(dev)['CronJob/data-restore-verify'].spec.jobTemplate.spec.template.metadata.labels;
    expect(facts?.podFlows).toEqual([
      {
        name: 'movers-s3',
        selector: { 'app.kubernetes.io/created-by': 'volsync' },
        peer: { kind: 'fqdn', name: 's3.example.com' },
        ports: [{ port: 443, protocol: 'TCP' }],
        reason:
          "VolSync's restic movers back up and restore the volume at the S3 endpoint (https://s3.example.com)",
      },
      {
        name: 'verification-s3',
        selector: {
          'app.kubernetes.io/part-of': verification['app.kubernetes.io/part-of'],
          'backup.homelab.dev/role': verification['backup.homelab.dev/role'],
        },
        peer: { kind: 'fqdn', name: 's3.example.com' },
        ports: [{ port: 443, protocol: 'TCP' }],
        reason:
          "the restore verification, the hourly restic unlock and the runbooks' restic pods reach the repository at the S3 endpoint (https://s3.example.com)",
        // Not only where a volume is verified: every backed-up volume has its hourly unlock.
      },
    ]);
  });

  test('a volume without a backup policy gets nothing', () => {
    const plain = runBackups(SETTINGS, [consumer([{ ...DATA, backup: undefined } as AnyJson])]);
    expect(chartObjects(plain.components, 'app', plain.platform.clusters[0] as AnyJson)).toEqual(
      [],
    );
  });
});

describe('etcd backups', () => {
  const run = runBackups();
  const declared = run.components.clusters[2]?.contributions.get('backups') as AnyJson;
  const objects = chartObjects(
    run.components,
    'backups',
    run.platform.clusters[2] as AnyJson,
  ) as AnyJson[];

  test('ask Talos for the etcd backup role, for their namespace only', () => {
    expect(declared.talos).toEqual({
      kubernetesTalosAPIAccess: { roles: ['os:etcd:backup'], namespaces: ['talos-backup'] },
    });
  });

  test("have the runbook expire their snapshots under the cluster's prefix only, never restic's", () => {
    const cronJob = objects.find((o) => o.kind === 'CronJob') as AnyJson;
    const containers = cronJob.spec.jobTemplate.spec.template.spec.containers as AnyJson[];
    const env = (containers[0].env as AnyJson[]).find((entry) => entry.name === 'S3_PREFIX');
    const step = (declared.bootstrap as AnyJson[])[1];
    expect(step.title).toBe('Expire the old etcd snapshots in the bucket');
    expect(step.when).toBe('after-handover');
    expect(step.commands).toEqual([]);
    const body = (step.body as string[]).join(' ');
    // The prefix the CronJob uploads under, and the repositories' prefix kept out of the rule.
    expect(body).toContain(`expires objects under \`${env.value}/\``);
    expect(body).toContain('and none over `restic/`');
    expect(body).toContain('a cluster down for longer than its period loses every snapshot');
  });

  test('have the runbook take the first snapshot and read it back as the disaster recovery does', () => {
    const [step] = declared.bootstrap as AnyJson[];
    expect([step.title, step.when]).toEqual([
      'Take the first etcd snapshot and read it back',
      'after-handover',
    ]);
    expect(step.reads.map((read: AnyJson) => read.variable)).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
    ]);
    const commands = step.commands as string[];
    expect(commands.slice(0, 3)).toEqual([
      'kubectl -n talos-backup wait --for=create cronjob/talos-backup --timeout=60m',
      'kubectl -n talos-backup delete job talos-backup-first --ignore-not-found --timeout=5m',
      // Owned by nobody: under the CronJob's successfulJobsHistoryLimit of 1 a scheduled run
      // finishing meanwhile would delete it (kubectl makes the CronJob its controller)
      `kubectl -n talos-backup create job --from=cronjob/talos-backup talos-backup-first --dry-run=client -o json | kubectl patch --local -f - --type merge -p '{"metadata":{"ownerReferences":null}}' -o json | kubectl -n talos-backup create -f -`,
    ]);
    // The decryption, which may ask for a passphrase, is chained to the block's last line
    expect(commands.slice(-3)).toEqual([
      'age --decrypt -i "$AGE_KEY_FILE" -o ./db.snapshot ./etcd-snapshot.age &&',
      'ls -l ./db.snapshot &&',
      'rm ./db.snapshot ./etcd-snapshot.age',
    ]);
    // Run by sh against stand-ins: the Job completes, the newest snapshot is fetched and
    // decrypted, the files removed; with a key that is not the snapshots', nothing after the
    // decryption runs and it fails.
    const dir = mkdtempSync(join(tmpdir(), 'first-snapshot-'));
    try {
      const stub = (name: string, body: string) =>
        writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> log\n${body}\n`, {
          mode: 0o755,
        });
      // The Job's conditions: Complete, or Failed (FAILED set)
      stub(
        'kubectl',
        `case "$*" in *'@.type=='*) [ -n "$FAILED" ] || printf True;; *jsonpath*) if [ -n "$FAILED" ]; then printf Failed; else printf Complete; fi;; esac`,
      );
      stub(
        'aws',
        `case "$2" in ls) printf '%s\\n' '2026-12-01 01:00:00 900 b.age' '2026-12-01 02:00:00 900 c.age' '2026-11-30 23:00:00 900 a.age';; cp) echo sealed > "$4";; esac`,
      );
      stub('age', `grep -q right "$3" || exit 1; echo plain > "$5"`);
      const run = (key: string, failed = '') => {
        writeFileSync(join(dir, 'key.txt'), key);
        rmSync(join(dir, 'log'), { force: true });
        const result = spawnSync('sh', ['-c', commands.join('\n')], {
          cwd: dir,
          env: {
            PATH: `${dir}:/usr/bin:/bin`,
            AWS_ACCESS_KEY_ID: 'id',
            AWS_SECRET_ACCESS_KEY: 'secret',
            AGE_KEY_FILE: join(dir, 'key.txt'),
            FAILED: failed,
          },
          encoding: 'utf8',
        });
        const log = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
        return { status: result.status, log, stdout: result.stdout };
      };
      const good = run('right');
      expect(good.status).toBe(0);
      expect(good.log.filter((line) => /^(aws|age) /.test(line))).toEqual([
        'aws s3 ls s3://homelab-backups/etcd/prod/ --endpoint-url https://s3.example.com',
        'aws s3 cp s3://homelab-backups/etcd/prod/c.age ./etcd-snapshot.age --endpoint-url https://s3.example.com',
        `age --decrypt -i ${join(dir, 'key.txt')} -o ./db.snapshot ./etcd-snapshot.age`,
      ]);
      expect(good.stdout).toContain('db.snapshot');
      expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout).not.toMatch(/snapshot/);
      const wrong = run('wrong');
      expect(wrong.status).not.toBe(0);
      expect(wrong.stdout).not.toContain('db.snapshot');
      // The encrypted copy stays for a look; nothing was decrypted
      expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n')).toContain(
        'etcd-snapshot.age',
      );
      // A Job that failed: nothing read back (the newest snapshot would be another run's), the
      // Job kept for its logs
      rmSync(join(dir, 'etcd-snapshot.age'), { force: true });
      const failed = run('right', 'yes');
      expect(failed.status).not.toBe(0);
      expect(failed.log.filter((line) => /^(aws|age) /.test(line))).toEqual([]);
      expect(
        failed.log.filter((line) => line.includes('delete job talos-backup-first --timeout')),
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('watch their own CronJob: a failed snapshot, and none recent enough', () => {
    const cronJob = objects.find((o) => o.kind === 'CronJob');
    expect([cronJob?.metadata.namespace, cronJob?.metadata.name]).toEqual([
      'talos-backup',
      'talos-backup',
    ]);
    const rules = (declared.monitors as AnyJson[]).flatMap((monitor) => monitor.rules ?? []);
    const tooOld = rules.find((rule: AnyJson) => rule.alert === 'EtcdSnapshotTooOld');
    // The rule watches the CronJob the component deploys (promtool's scenarios run the rule)
    expect(tooOld?.expr).toBe(
      lastSuccessTooOldExpr({
        namespace: String(cronJob?.metadata.namespace),
        cronjob: String(cronJob?.metadata.name),
      }),
    );
    expect(tooOld?.expr).toContain(
      'kube_cronjob_created{namespace="talos-backup",cronjob="talos-backup"}',
    );
    expect(tooOld?.threshold).toEqual({ development: 168, staging: 48, production: 26 });
    expect(rules.map((rule: AnyJson) => rule.alert)).toContain('EtcdBackupFailed');
  });

  test("fire for a CronJob whose latest finished run failed (the Job's Failed condition, after the last success), not for a failed Job left in the history or a retried pod", () => {
    // kube_job_status_failed counts failed pods and stays on every failed Job the CronJob keeps
    // (failedJobsHistoryLimit 3): `> 0` fired after a later success and for a Job whose pod
    // failed once and then succeeded on a retry (talos-backup's backoffLimit is 2).
    const rules = (declared.monitors as AnyJson[]).flatMap((monitor) => monitor.rules ?? []);
    const expr = (alert: string) => rules.find((rule: AnyJson) => rule.alert === alert)?.expr;
    const runs = (ns: string, owner: string) =>
      `label_replace((max by (namespace, job_name) (kube_job_status_start_time${ns === '' ? '' : `{${ns}}`}) and on (namespace, job_name) (max by (namespace, job_name) (kube_job_failed{${ns === '' ? '' : `${ns},`}condition="true"}) == 1)) * on (namespace, job_name) group_left (owner_name) max by (namespace, job_name, owner_name) (kube_job_owner{${ns === '' ? '' : `${ns},`}owner_kind="CronJob",${owner}}), "cronjob", "$1", "owner_name", "(.+)")`;
    const etcdRuns = runs('namespace="talos-backup"', 'owner_name="talos-backup"');
    const etcdLast =
      'kube_cronjob_status_last_successful_time{namespace="talos-backup",cronjob="talos-backup"}';
    expect(expr('EtcdBackupFailed')).toBe(
      `count by (namespace, cronjob) ((${etcdRuns} > on (namespace, cronjob) group_left max by (namespace, cronjob) (${etcdLast})) or (${etcdRuns} unless on (namespace, cronjob) ${etcdLast}))`,
    );
    const verifyRuns = runs('', 'owner_name=~".+-restore-verify"');
    const verifyLast = 'kube_cronjob_status_last_successful_time{cronjob=~".+-restore-verify"}';
    expect(expr('VolumeRestoreVerificationFailed')).toBe(
      `count by (namespace, cronjob) ((${verifyRuns} > on (namespace, cronjob) group_left max by (namespace, cronjob) (${verifyLast})) or (${verifyRuns} unless on (namespace, cronjob) ${verifyLast}))`,
    );
    for (const alert of ['EtcdBackupFailed', 'VolumeRestoreVerificationFailed']) {
      expect(expr(alert)).not.toContain('kube_job_status_failed');
    }
  });

  test('VolumeRestoreVerificationMissing also fires for a verification that never succeeded', () => {
    // kube-state-metrics has kube_cronjob_status_last_successful_time only once a Job of the
    // CronJob succeeded: the age of the last success alone says nothing about one that never did.
    const rules = (declared.monitors as AnyJson[]).flatMap((monitor) => monitor.rules ?? []);
    const missing = rules.find(
      (rule: AnyJson) => rule.alert === 'VolumeRestoreVerificationMissing',
    );
    const last = 'kube_cronjob_status_last_successful_time{cronjob=~".+-restore-verify"}';
    const created = 'kube_cronjob_created{cronjob=~".+-restore-verify"}';
    expect(missing?.expr).toBe(
      `time() - max by (namespace, cronjob) (${last}) > 172800 or (time() - max by (namespace, cronjob) (${created}) > 172800 unless on (namespace, cronjob) ${last})`,
    );
  });

  test('run talos-backup with the age public key and the S3 credentials from a declared Secret', () => {
    const job = objects.find((o) => o.kind === 'CronJob');
    const env = job.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'AGE_X25519_PUBLIC_KEY', value: AGE_KEY });
    expect(env).toContainEqual({ name: 'S3_PREFIX', value: 'etcd/prod' });
    expect(env).toContainEqual({
      name: 'AWS_SECRET_ACCESS_KEY',
      valueFrom: { secretKeyRef: { name: 'talos-backup-s3', key: 'AWS_SECRET_ACCESS_KEY' } },
    });
    expect(job.spec.schedule).toBe('0 * * * *');
    expect(declared.secrets).toEqual([
      expect.objectContaining({
        name: 'talos-backup-s3',
        namespace: 'talos-backup',
        keys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      }),
    ]);
  });

  test('ask talos-backup for path-style URLs with the inverted value it reads', () => {
    // talos-backup v0.1.0-beta.3 pkg/config/service.go:
    // UsePathStyle: os.Getenv("USE_PATH_STYLE") == "false"
    const envValue = (pathStyle?: boolean) => {
      const s3 = pathStyle === undefined ? SETTINGS.s3 : { ...SETTINGS.s3, pathStyle };
      const run = runBackups({ ...SETTINGS, s3 });
      const job = chartObjects(run.components, 'backups', run.platform.clusters[2] as AnyJson).find(
        (o) => o.kind === 'CronJob',
      ) as AnyJson;
      const env = job.spec.jobTemplate.spec.template.spec.containers[0].env as AnyJson[];
      return env.find((e) => e.name === 'USE_PATH_STYLE')?.value;
    };
    // Path style (the default, the one the egress policy allows: only the endpoint host).
    expect(envValue()).toBe('false');
    expect(envValue(true)).toBe('false');
    // Virtual-hosted: any other value.
    expect(envValue(false)).toBe('true');
  });

  test('ask talos-backup for checksums only where S3 requires them', () => {
    // aws-sdk-go-v2 config v1.29.6 env_config.go reads both variables; "when_required" keeps a
    // single-part upload free of aws-chunked checksum trailers.
    const job = objects.find((o) => o.kind === 'CronJob');
    const env = job.spec.jobTemplate.spec.template.spec.containers[0].env as AnyJson[];
    const value = (name: string) => env.find((e) => e.name === name)?.value;
    expect(value('AWS_REQUEST_CHECKSUM_CALCULATION')).toBe('when_required');
    expect(value('AWS_RESPONSE_CHECKSUM_VALIDATION')).toBe('when_required');
  });

  test('get a Talos service account with only os:etcd:backup, in a restricted namespace', () => {
    expect(objects.find((o) => o.kind === 'ServiceAccount')?.spec).toEqual({
      roles: ['os:etcd:backup'],
    });
    // The namespace is the root Application's (Cilium's policies for it come in an earlier
    // wave): the chart renders none, the Application declares it with its level.
    expect(objects.find((o) => o.kind === 'Namespace')).toBeUndefined();
    expect(declared.application.additionalNamespaces).toEqual(['talos-backup']);
    expect(declared.application.additionalPodSecurity).toEqual({ 'talos-backup': 'restricted' });
  });

  test('can be switched off: no Talos API access, no job, no Secret', () => {
    const off = runBackups({ s3: SETTINGS.s3, etcd: { enabled: false } });
    const contribution = off.components.clusters[0]?.contributions.get('backups') as AnyJson;
    expect(contribution.talos).toBeUndefined();
    expect(contribution.secrets).toBeUndefined();
    expect(chartObjects(off.components, 'backups', off.platform.clusters[0] as AnyJson)).toEqual(
      [],
    );
  });
});

describe('the disaster-recovery runbook', () => {
  const run = runBackups();

  test("tells the volumes' owners the repository it restores from, for their RESTIC_REPOSITORY", () => {
    // The owner declares the Secret the operator fills (the runbook's secrets step describes
    // it): its RESTIC_REPOSITORY must be the repository this runbook restores from.
    const facts = run.components.clusters[2]?.contributions.get('backups')?.facts?.backup as
      | { resticRepositoryPrefix?: string }
      | undefined;
    expect(facts?.resticRepositoryPrefix).toBe(
      's3:https://s3.example.com/homelab-backups/restic/prod',
    );
    expect(runbookOf(run, 'prod')).toContain(
      `Repository \`${volumeResticRepository(facts?.resticRepositoryPrefix ?? '', DATA)}\``,
    );
  });
  const file = run.components.components
    .find((c) => c.component.name === 'backups')
    ?.output.files?.find((f) => f.path === 'clusters/prod/disaster-recovery.md')?.content as string;

  test('is generated per cluster and says what must have been saved', () => {
    expect(file.split('\n')[0]).toBe('<!-- generated by pnpm build; do not edit. -->');
    expect(file).toContain('## What must have been saved beforehand');
    expect(file).toContain(`the age private key whose public key \`${AGE_KEY}\``);
    // the snapshot's Secrets are encrypted with the bundle's key: a new bundle cannot read them
    expect(file).toContain(
      '  and the etcd snapshot is of no use without it either: the API server keeps Secrets in etcd\n' +
        '  encrypted with its `secretboxEncryptionSecret`;',
    );
  });

  test('says the etcd snapshots are never deleted: a lifecycle rule for their prefix, none over restic', () => {
    // talos-backup v0.1.0-beta.3 only uploads; restic prunes its own repositories
    expect(file).toContain(
      [
        'The etcd snapshots under `s3://homelab-backups/etcd/prod/` are never deleted: talos-backup',
        'only uploads, one object per snapshot, so they grow without end. Give the bucket a',
        'lifecycle rule that expires objects under `etcd/prod/` after as long as you keep them',
        '(a few weeks), and none over `restic/`: restic prunes its repositories',
        'itself, and an expiry there deletes pack files the snapshots it keeps still need.',
      ].join('\n'),
    );
    // without etcd snapshots there is nothing to expire
    const noEtcd = runBackups({ s3: SETTINGS.s3, etcd: { enabled: false } });
    expect(runbookOf(noEtcd, 'prod')).not.toContain('are never deleted');
  });

  test('without a restored etcd, sends the operator through the whole bootstrap, the cluster DNS included', () => {
    // A fresh etcd holds nothing: the namespaces, the CRDs, the CNI, the cluster DNS (Talos' own
    // CoreDNS is disabled where a component deploys it) and Argo CD all come from the runbook's
    // steps after the kubeconfig. A list of only Cilium, Argo CD, the secrets and the root left
    // Argo CD with no DNS to resolve the repository.
    const noEtcd = runBackups({ s3: SETTINGS.s3, etcd: { enabled: false } });
    const text = noEtcd.components.components
      .find((c) => c.component.name === 'backups')
      ?.output.files?.find((f) => f.path === 'clusters/prod/disaster-recovery.md')
      ?.content as string;
    for (const runbook of [file, text]) {
      const lines = runbook.split('\n');
      const step3 = lines.indexOf('## 3. Let Argo CD converge');
      expect(lines.slice(step3 + 2, step3 + 8)).toEqual([
        'Fetch the kubeconfig (step 7 of `clusters/prod/RUNBOOK.md`). With etcd restored, Argo CD is already',
        'installed. Otherwise (etcd bootstrapped anew) run every step of',
        '`clusters/prod/RUNBOOK.md` after step 7, up to and including the hand-over to Argo CD, in its order',
        "and leaving none out: the platform's namespaces come before the network policies that name",
        'them, the CRDs before the controllers that look for them at start, and the cluster DNS',
        'before Argo CD, which resolves the repository through it.',
      ]);
    }
    expect(text).toContain('## 2. Bootstrap etcd');
  });

  test('restores etcd from the newest snapshot on the first control plane', () => {
    expect(file).toContain(
      "LATEST=$(aws s3 ls s3://homelab-backups/etcd/prod/ --endpoint-url https://s3.example.com | sort | tail -n 1 | awk '{print $4}')",
    );
    expect(file).toContain('talosctl -n 192.168.3.11 bootstrap --recover-from=./db.snapshot');
  });

  test('fetches and decrypts in one list that ends its block, each step only after the one before', () => {
    // age asks for the passphrase of a protected key file on /dev/tty: pasted with the restore
    // after it, the next line would be taken for the passphrase
    const blocks = [...file.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) =>
      (match[1] as string).trimEnd().split('\n'),
    );
    const fetch =
      blocks.find((block) => block.some((line) => line.includes('age --decrypt'))) ?? [];
    expect(fetch.at(-1)).toBe(
      'age --decrypt -i "$AGE_KEY_FILE" -o ./db.snapshot ./etcd-snapshot.age',
    );
    expect(fetch.at(-2)).toMatch(/ &&$/);
    const restore = blocks[blocks.indexOf(fetch) + 1];
    expect(restore?.[0]).toMatch(/^talosctl config endpoint /);
    // Run whole, with a stand-in aws (its listing from LISTING, a refused download with DENY) and
    // age as a shell function that logs its arguments
    const age = `age() { printf '%s ' "$@" >> age-calls; echo >> age-calls; }`;
    const aws = [
      'case "$2" in',
      '  ls) [ -z "$LISTING" ] || printf \'%s\\n\' "$LISTING" ;;',
      '  cp) [ -z "$DENY" ] || { echo AccessDenied >&2; exit 1; } ;;',
      'esac',
    ].join('\n');
    const run = (variables: string) =>
      withStandInScript(
        `unset LISTING DENY LATEST AGE_KEY_FILE; AWS_ACCESS_KEY_ID=a; AWS_SECRET_ACCESS_KEY=s; ${age}; ${variables} export LISTING DENY; { ${fetch.join('\n')}\n} 2>&1`,
        'aws',
        aws,
      );
    const listing = 'LISTING="2026-12-01 06:00:01   1048576 prod-2026-12-01.snap.age";';
    const list = [
      's3',
      'ls',
      's3://homelab-backups/etcd/prod/',
      '--endpoint-url',
      'https://s3.example.com',
    ];
    // No snapshot listed: nothing fetched, and it says so
    const none = run('');
    expect(none.status).not.toBe(0);
    expect(none.stdout).toContain('no etcd snapshot listed');
    expect(none.calls).toEqual([list]);
    // No key file named: nothing fetched either
    const noKey = run(listing);
    expect(noKey.stdout).toContain('set AGE_KEY_FILE');
    expect(noKey.calls).toEqual([list]);
    // Both: the newest snapshot fetched, then decrypted with the key
    const both = run(`${listing} AGE_KEY_FILE=/keys/etcd.txt;`);
    expect(both.status).toBe(0);
    expect(both.calls).toEqual([
      list,
      [
        's3',
        'cp',
        's3://homelab-backups/etcd/prod/prod-2026-12-01.snap.age',
        './etcd-snapshot.age',
        '--endpoint-url',
        'https://s3.example.com',
      ],
    ]);
    expect(both.dir['age-calls']).toBe(
      '--decrypt -i /keys/etcd.txt -o ./db.snapshot ./etcd-snapshot.age \n',
    );
    // The S3 keys not read: nothing listed, nothing fetched
    const unread = withStandInScript(
      `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; ${age}; AGE_KEY_FILE=/keys/etcd.txt; { ${fetch.join('\n')}\n} 2>&1`,
      'aws',
      aws,
    );
    expect(unread.stdout).toContain('AWS_ACCESS_KEY_ID: read it first');
    expect(unread.calls).toEqual([]);
    expect(unread.dir['age-calls']).toBeUndefined();
    // A refused download decrypts nothing
    const denied = run(`${listing} AGE_KEY_FILE=/keys/etcd.txt; DENY=1;`);
    expect(denied.status).toBe(1);
    expect(denied.stdout).toContain('AccessDenied');
    expect(denied.dir['age-calls']).toBeUndefined();
  });

  test('tries the recovery again until the control plane, back from its installation, takes it', () => {
    // Right after step 5's apply the node installs Talos and reboots; machined refuses the
    // bootstrap until its container runtime runs and its clock is in sync (talosctl v1.12.11
    // prints the gRPC status). A lost answer after a restore reads AlreadyExists next time.
    const loop = file.split('\n').find((line) => line.includes('bootstrap --recover-from')) ?? '';
    const args = ['-n', '192.168.3.11', 'bootstrap', '--recover-from=./db.snapshot'];
    const notYet =
      'error executing bootstrap: rpc error: code = FailedPrecondition desc = bootstrap is not available yet';
    const restored = withStandIn(loop, 'talosctl', [notYet, notYet, 'ok']);
    expect(restored.status).toBe(0);
    expect(restored.calls).toEqual([args, args, args]);
    expect(restored.stdout).toContain('bootstrap is not available yet');
    const lost = withStandIn(loop, 'talosctl', [
      notYet,
      'error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty',
    ]);
    expect(lost.status).toBe(0);
    expect(lost.calls).toHaveLength(2);
    expect(withStandIn(loop, 'talosctl', [notYet]).status).toBe(7);
    // its error file goes with the snapshot
    expect(file).toContain('rm ./db.snapshot ./etcd-snapshot.age ./bootstrap.err');
  });

  test('has the AWS CLI credentials and region typed in before it reads the bucket', () => {
    // Nothing earlier sets them, and the Secret that held them went with the cluster.
    const exported = at(
      'export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1 &&',
    );
    const read = at(
      "printf '%s' 'S3 secret access key: ' && read -rs AWS_SECRET_ACCESS_KEY && export AWS_SECRET_ACCESS_KEY && echo",
    );
    const listed = file.split('\n').findIndex((line) => line.startsWith('LATEST=$(aws s3 ls '));
    expect(read).toBeLessThan(exported);
    expect(exported).toBeLessThan(listed);
  });

  test('gives each read of a credential a block of its own: pasted with more lines, read takes the next', () => {
    const lines = file.split('\n');
    for (const variable of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      const read = lines.findIndex((line) => line.includes(`read -rs ${variable}`));
      expect(read).toBeGreaterThan(0);
      // the block is the one line: the fence right before it and right after it
      expect([lines[read - 1], lines[read + 1]]).toEqual(['```sh', '```']);
    }
    expect(file).toContain('Paste each prompt line below alone');
    // and the block that uses them stops when one is empty (chained: a guard on a line of its
    // own stops nothing in an interactive shell)
    expect(file).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions
      '```sh\n: "${AWS_ACCESS_KEY_ID:?read it first (see above)}" "${AWS_SECRET_ACCESS_KEY:?read it first (see above)}" &&\nexport AWS_ACCESS_KEY_ID',
    );
  });

  test("takes the restore's restoreAsOf away once the restore finished, and only then", () => {
    // Argo CD's hand-back keeps a field Git never sets, and VolSync passes restoreAsOf to every
    // later restore: left there, the next restore would restore the old snapshot again.
    const line = file.split('\n').find((text) => text.includes(`"restoreAsOf":null`)) as string;
    expect(line).toBe(
      `[ "$(kubectl -n paperless get replicationdestination data-restore -o jsonpath='{.status.lastManualSync}')" = "$STAMP" ] && kubectl -n paperless patch replicationdestination data-restore --type merge -p '{"spec":{"restic":{"restoreAsOf":null}}}'`,
    );
    expect(file.indexOf(line)).toBeGreaterThan(file.indexOf("echo 'RESTORE FAILED:"));
    const run = (lastManualSync: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'homelab-restore-as-of-'));
      try {
        const log = join(dir, 'log');
        writeFileSync(
          join(dir, 'kubectl'),
          `#!/bin/sh\nif [ "$3" = get ]; then printf '%s' '${lastManualSync}'; else echo "$*" >> '${log}'; fi\n`,
        );
        chmodSync(join(dir, 'kubectl'), 0o755);
        spawnSync('sh', ['-c', `STAMP=restore-1; ${line}`], {
          env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        });
        try {
          return readFileSync(log, 'utf8');
        } catch {
          return '';
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    expect(run('restore-1')).toBe(
      `-n paperless patch replicationdestination data-restore --type merge -p {"spec":{"restic":{"restoreAsOf":null}}}\n`,
    );
    // a wait that timed out: the restore may still run, its field stays
    expect(run('restore-0')).toBe('');
  });

  test('restores every protected volume with its own commands and repository', () => {
    expect(file).toContain(
      'Repository `s3:https://s3.example.com/homelab-backups/restic/prod/paperless/data`',
    );
    expect(file).toContain(
      `kubectl -n paperless patch replicationdestination data-restore --type merge -p '{"spec":{"paused":false,"trigger":{"manual":"'"$STAMP"'"},"restic":{"restoreAsOf":"'"\${LOST_AT:?set in step 1, or in a new shell with its second block}"'"}}}'`,
    );
    // The time of the loss is recorded in step 1, before anything is rebuilt: VolSync backs a
    // new ReplicationSource up at once, and "latest" would be the rebuilt, empty volume.
    const recorded = file.indexOf('export LOST_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"');
    expect(recorded).toBeGreaterThan(0);
    expect(recorded).toBeLessThan(file.indexOf('## 2. Restore etcd'));
    expect(file).toContain(
      `kubectl -n argocd patch application prod-app --type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}'`,
    );
  });

  test('a claim its bootstrap filled is restored again only when that snapshot is newer than LOST_AT', () => {
    // One full restore, not two: after an etcd restore a replaced claim (and, after a new
    // bootstrap, every claim) already holds the latest snapshot of when it was filled; restic
    // names it on the `restoring snapshot … at …` line its result shows (verify-script.test.ts
    // holds that line to the real restic and to VolSync's log filter).
    const text = runbookOf(runBackups(SETTINGS, [consumer([populated(DATA)])]), 'prod').replace(
      /\s+/g,
      ' ',
    );
    // without a bootstrap, every claim Argo CD made anew is empty: restored each time
    expect(file.replace(/\s+/g, ' ')).toContain(
      'every claim is a new one Argo CD made empty, whatever the workload wrote into it since: restore each.',
    );
    const restore = text.indexOf('Restore the newest snapshot taken before `$LOST_AT`');
    expect(restore).toBeGreaterThan(0);
    expect(text.slice(restore)).toMatch(
      /^[^`]*`\$LOST_AT` into the claim .*A claim its bootstrap filled \(every claim with etcd bootstrapped anew in step 2, and one replaced above\) already holds the latest snapshot of when it was filled, which its result names \(`restoring snapshot <id> of \[\/data\] at <time>`\): when that time is before `\$LOST_AT`, it is the snapshot this restore would restore/,
    );
    expect(text).toContain(
      'Restore such a claim only when that snapshot was taken after `$LOST_AT` (the data was bad before the cluster was lost, and `LOST_AT` is set earlier), or it was filled `EMPTY`.',
    );
    // the result read right after the fill prints that line (the mover's logs)
    expect(text).toContain(
      'named with the time it was taken on its `restoring snapshot <id> of [/data] at <time>` line',
    );
  });

  /** The 0-based index of the one line of the runbook that is `line` (it must occur once). */
  const at = (line: string) => {
    const lines = file.split('\n');
    expect(lines.filter((candidate) => candidate === line)).toHaveLength(1);
    return lines.indexOf(line);
  };
  const off = `--type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`;
  const on = `--type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}'`;

  test("pauses the volume's backups after auto-sync is off and before the restore, until Argo CD resumes them", () => {
    // A backup of the half-restored volume would count in the retention (restic forget).
    const childOff = at(`kubectl -n argocd patch application prod-app ${off}`);
    const paused = at(
      `kubectl -n paperless patch replicationsource data-backup --type merge -p '{"spec":{"paused":true}}'`,
    );
    const restore = file
      .split('\n')
      .findIndex((line) => line.includes('patch replicationdestination data-restore'));
    expect([childOff, paused, restore]).toEqual(
      [childOff, paused, restore].toSorted((a, b) => a - b),
    );
  });

  test('turns auto-sync off on the root Application before the child, and back on root last', () => {
    // The root Application (selfHeal on) would put the child's syncPolicy back within seconds.
    const rootOff = at(`kubectl -n argocd patch application prod-platform ${off}`);
    const childOff = at(`kubectl -n argocd patch application prod-app ${off}`);
    const listPods = file
      .split('\n')
      .findIndex((line) => line.startsWith('kubectl -n paperless get pods'));
    const restore = file
      .split('\n')
      .findIndex((line) => line.includes('patch replicationdestination data-restore'));
    const childOn = at(`kubectl -n argocd patch application prod-app ${on}`);
    const rootOn = at(`kubectl -n argocd patch application prod-platform ${on}`);
    expect([rootOff, childOff, listPods, restore, childOn, rootOn]).toEqual(
      [rootOff, childOff, listPods, restore, childOn, rootOn].toSorted((a, b) => a - b),
    );
    expect(rootOff).toBeGreaterThan(0);
    expect(listPods).toBeGreaterThan(childOff);
  });

  test('deletes the ReplicationSource before the faulted claim, so no snapshot of it holds the claim', () => {
    // A backup started after the etcd restore snapshots the faulted claim; that snapshot never
    // becomes ready, and the snapshot controller keeps its pvc-as-source-protection finalizer
    // on the claim (VolSync makes it again from a paused source): the claim would never go.
    const source = at(
      'kubectl -n paperless delete replicationsource data-backup --ignore-not-found --timeout=5m',
    );
    const deleted = at('kubectl -n paperless delete pvc data --ignore-not-found --wait=false');
    expect(deleted - source).toBe(1);
    expect(source).toBeGreaterThan(at(`kubectl -n argocd patch application prod-app ${off}`));
  });

  test('replaces a faulted claim only after the old one is gone, with auto-sync already off', () => {
    const deleted = at('kubectl -n paperless delete pvc data --ignore-not-found --wait=false');
    const gone = at('kubectl -n paperless wait pvc/data --for=delete --timeout=15m');
    const sync = at(
      `kubectl -n argocd patch application prod-app --type merge -p '{"operation":{"initiatedBy":{"username":"disaster-recovery"},"sync":{"prune":true,"syncOptions":[],"resources":[{"kind":"PersistentVolumeClaim","name":"data","namespace":"paperless"}]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
    );
    const created = at('kubectl -n paperless wait pvc/data --for=create --timeout=5m');
    const bound = at(
      `kubectl -n paperless wait pvc/data --for=jsonpath='{.status.phase}'=Bound --timeout=15m`,
    );
    expect(deleted).toBeGreaterThan(at(`kubectl -n argocd patch application prod-app ${off}`));
    expect([gone - deleted, sync - gone, created - sync, bound - created]).toEqual([1, 1, 1, 1]);
  });

  test('creates the claim again with the sync options its Application syncs with', () => {
    // Argo CD v3.4.4 syncs with the operation's options only: without them, a claim of an
    // Application that applies server-side would be applied client-side.
    const ssa = runBackups(SETTINGS, [consumer([DATA], { serverSideApply: true })]);
    const text = ssa.components.components
      .find((c) => c.component.name === 'backups')
      ?.output.files?.find((f) => f.path === 'clusters/prod/disaster-recovery.md')?.content;
    expect(text).toContain(
      `kubectl -n argocd patch application prod-app --type merge -p '{"operation":{"initiatedBy":{"username":"disaster-recovery"},"sync":{"prune":true,"syncOptions":["ServerSideApply=true"],"resources":[{"kind":"PersistentVolumeClaim","name":"data","namespace":"paperless"}]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
    );
  });

  test('waits in step 3 for every Application but the protected volumes’ and the root, which step 4 heals', () => {
    // With etcd restored, a workload whose volume was on lost disks cannot start before its
    // restore: its Application (and the root, the worst of its children) is never Healthy.
    const converge = at(
      `kubectl -n argocd get applications -o name | grep -v -x -e application.argoproj.io/prod-platform -e application.argoproj.io/prod-app | xargs kubectl -n argocd wait --for=jsonpath='{.status.health.status}'=Healthy --timeout=30m`,
    );
    const all = at(
      `kubectl -n argocd wait applications --all --for=jsonpath='{.status.health.status}'=Healthy --timeout=30m`,
    );
    const restore = file
      .split('\n')
      .findIndex((line) => line.includes('patch replicationdestination data-restore'));
    expect(converge).toBeLessThan(restore);
    expect(converge).toBeGreaterThan(file.split('\n').indexOf('## 3. Let Argo CD converge'));
    expect(all).toBeGreaterThan(file.split('\n').indexOf('## 5. Check'));
  });

  test('sets TALOS_DIR and TALOSCONFIG before sending the user to the Talos runbook', () => {
    const lines = file.split('\n');
    const exported = lines.indexOf('export TALOSCONFIG="$TALOS_DIR/talosconfig"');
    const steps = lines.findIndex((line) => line.includes('follow steps 2 to 5 of'));
    expect(lines.indexOf('export TALOS_DIR="$HOME/.homelab/prod"')).toBeLessThan(exported);
    expect(exported).toBeGreaterThan(0);
    expect(steps).toBeGreaterThan(exported);
  });

  test.each(['sh', 'bash'])(
    "with %s, a new shell's block takes the time of the loss that step 1 recorded, not the time again",
    (shell) => {
      const step1 = file.slice(file.indexOf('## 1. Rebuild'), file.indexOf('## 2. Restore etcd'));
      const blocks = [...step1.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
      // The first two: the variables, then those of a new shell ("Control planes that still
      // run" follows in the same step).
      expect(blocks[1]).toContain('LOST_AT="$(cat "$TALOS_DIR/lost-at")"\nexport LOST_AT\n');
      const home = mkdtempSync(join(tmpdir(), 'homelab-lost-at-'));
      try {
        const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
        const first = spawnSync(shell, ['-c', `${blocks[0]}\nprintf '%s' "$LOST_AT"`], {
          env,
          encoding: 'utf8',
        });
        const recorded = first.stdout.split('\n').at(-1) ?? '';
        expect(recorded).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        // A later shell, once the clock moved on: the same time, said back.
        const later = spawnSync(shell, ['-c', `sleep 1.1\n${blocks[1]}`], {
          env,
          encoding: 'utf8',
        });
        expect(later.status).toBe(0);
        expect(later.stdout).toBe(`restoring as of ${recorded}\n`);
        // Without the file (step 1 never ran on this machine): it says so.
        rmSync(join(home, '.homelab'), { recursive: true, force: true });
        const none = spawnSync(shell, ['-c', blocks[1] ?? ''], { env, encoding: 'utf8' });
        expect(none.status).not.toBe(0);
        expect(none.stderr).toContain('set LOST_AT to when the cluster was lost');
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  );
});

describe('the disaster-recovery runbook of volumes without a restore verification', () => {
  test('says so in prose, its blocks only commands (no # comment, which zsh would run)', () => {
    // Given the only backed-up volume without a restore verification
    const run = runBackups(SETTINGS, [
      consumer([{ ...DATA, backup: { ...DATA.backup, verify: false } } as VolumeRequest]),
    ]);
    const text = runbookOf(run, 'prod');
    // Then step 5 says there is none to run, and no block holds a comment
    expect(text).toContain('## 5. Check\n\nNo volume has a restore verification to run.\n');
    expect(text).not.toContain("Run each volume's restore verification once by hand");
    expect(shellBlocks(text).flatMap((block) => commentLines(block))).toEqual([]);
  });
});

describe("the disaster-recovery runbook: the secrets provider's own credential", () => {
  const provider = testComponent({
    name: 'store',
    provides: ['secrets'],
    contribution: () => ({
      facts: {
        secrets: {
          store: 'Example Store',
          credential: {
            what: 'the store token (Secret `store-token`)',
            replace: '"Token" of `clusters/prod/guide.md`',
            whenRefused: 'nothing syncs',
          },
        },
      },
    }),
  });
  const step3 = (text: string) => {
    const lines = text.split('\n');
    const start = lines.indexOf('## 3. Let Argo CD converge');
    return lines.slice(start, lines.indexOf('## 4. Restore the volumes from restic')).join('\n');
  };

  test('has it replaced at the start of step 3, before the wait for every Application, even where it still works', () => {
    const text = runbookOf(
      runBackups(SETTINGS, [consumer()], [cni, storage, snapshots, gitops, provider]),
      'prod',
    );
    const step = step3(text);
    const flat = step.replace(/\s+/g, ' ');
    expect(flat).toContain(
      'With etcd restored, first replace the store token (Secret `store-token`): etcd brought it back as it was at the snapshot. A rotation since may have revoked it, and then nothing syncs',
    );
    expect(flat).toContain(
      'replace it even where it still works, as "Token" of `clusters/prod/guide.md`.',
    );
    // The fresh-etcd path reads it in its own sentence, before its steps run
    expect(flat).toContain(
      "before Argo CD, which resolves the repository through it. The step that puts the store token (Secret `store-token`) in takes a new one, not the lost cluster's, which its disks held; revoke the lost cluster's. With etcd restored, first replace",
    );
    // Before the wait for the Applications, which an object added since could not pass.
    const wait = step.indexOf('xargs kubectl -n argocd wait');
    expect(wait).toBeGreaterThan(0);
    expect(step.indexOf('the store token')).toBeLessThan(wait);
  });

  test("without etcd backups, says only to use a new one and revoke the lost cluster's", () => {
    const noEtcd = { ...SETTINGS, etcd: { enabled: false } };
    const flat = step3(
      runbookOf(
        runBackups(noEtcd, [consumer()], [cni, storage, snapshots, gitops, provider]),
        'prod',
      ),
    ).replace(/\s+/g, ' ');
    expect(flat).toContain(
      "The step that puts the store token (Secret `store-token`) in takes a new one, not the lost cluster's, which its disks held; revoke the lost cluster's.",
    );
    expect(flat).not.toContain('With etcd restored, first replace');
  });

  test('says nothing of it where the provider names none', () => {
    const text = runbookOf(runBackups(), 'prod');
    expect(text).not.toContain('first replace');
    expect(text).not.toContain("revoke the lost cluster's");
  });
});

describe('the disaster-recovery runbook: control planes that still run', () => {
  const runbookOf = (run: ReturnType<typeof runBackups>, cluster: string) =>
    run.components.components
      .find((c) => c.component.name === 'backups')
      ?.output.files?.find((f) => f.path === `clusters/${cluster}/disaster-recovery.md`)
      ?.content as string;
  const run = runBackups();
  const prod = runbookOf(run, 'prod');
  const lines = prod.split('\n');
  const saveAndWipe = (address: string) =>
    lines.find((line) => line.includes(`-n ${address} reset `)) ?? '';

  test('saves and wipes the etcd data of every control plane still running before step 2', () => {
    // Talos v1.12.11 starts etcd on a data directory that is not empty with
    // initial-cluster-state=existing (the lost members) and answers AlreadyExists to a bootstrap
    // on it, which step 2's loop takes for a restore done: Talos' own disaster recovery wipes it.
    const step2 = lines.indexOf('## 2. Restore etcd from the latest snapshot');
    for (const [host, address] of [
      ['prod-cp1', '192.168.3.11'],
      ['prod-cp2', '192.168.3.12'],
      ['prod-cp3', '192.168.3.13'],
    ] as const) {
      const talos = `talosctl -e ${address} -n ${address}`;
      expect(saveAndWipe(address)).toBe(
        `{ ${talos} etcd snapshot ./etcd-${host}.snapshot || ${talos} cp /var/lib/etcd/member/snap/db ./etcd-${host}; } && ${talos} reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL`,
      );
      expect(lines.indexOf(saveAndWipe(address))).toBeLessThan(step2);
      expect(lines.indexOf(saveAndWipe(address))).toBeGreaterThan(
        lines.findIndex((line) => line.includes('follow steps 2 to 5 of')),
      );
    }
  });

  test('keeps the databases it saves in the repository root out of Git, and says to delete them', () => {
    // What the runbook writes, run from the repository root: the lost cluster's objects in clear
    expect(prod).toContain(
      "`reset` alone. A saved database holds every object of the lost cluster (its Secrets encrypted\nwith the secrets bundle's key, the rest in clear): the repository's `.gitignore` keeps it out\nof Git, and once step 5 finds the cluster back, delete it.",
    );
    const ignored = readFileSync(join(repoRoot(), '.gitignore'), 'utf8').split('\n');
    for (const pattern of [
      '/etcd-*.snapshot',
      '/etcd-*/',
      '/etcd-snapshot.age',
      '/db.snapshot',
      '/bootstrap.err',
    ]) {
      expect(ignored).toContain(pattern);
    }
  });

  test('wipes only once the database is saved, through the etcd API or as a copy of the file', () => {
    const line = saveAndWipe('192.168.3.12');
    const fromApi = withStandIn(line, 'talosctl', ['ok', 'ok']);
    expect(fromApi.status).toBe(0);
    expect(fromApi.calls.map((args) => args[4])).toEqual(['etcd', 'reset']);
    const copied = withStandIn(line, 'talosctl', ['no quorum', 'ok', 'ok']);
    expect(copied.status).toBe(0);
    expect(copied.calls.map((args) => args[4])).toEqual(['etcd', 'cp', 'reset']);
    const unsaved = withStandIn(line, 'talosctl', ['no quorum', 'unreadable']);
    expect(unsaved.status).not.toBe(0);
    expect(unsaved.calls.map((args) => args[4])).toEqual(['etcd', 'cp']);
  });

  test('restores a copied database file with --recover-skip-hash-check, a snapshot without', () => {
    // talosctl v1.12.11 bootstrap: --recover-skip-hash-check "use when recovering from data
    // directory copy"; etcd's restore refuses a file without its hash otherwise.
    const loops = lines.filter((line) => line.includes('bootstrap --recover-from=./db.snapshot'));
    // each a bounded wait: 30 minutes, a try every 10 seconds
    expect(loops.map((line) => parseBoundedWait(line))).toEqual([
      {
        condition:
          "talosctl -n 192.168.3.11 bootstrap --recover-from=./db.snapshot 2>./bootstrap.err || grep 'code = AlreadyExists' ./bootstrap.err",
        seconds: 1800,
        interval: 10,
      },
      {
        condition:
          "talosctl -n 192.168.3.11 bootstrap --recover-from=./db.snapshot --recover-skip-hash-check 2>./bootstrap.err || grep 'code = AlreadyExists' ./bootstrap.err",
        seconds: 1800,
        interval: 10,
      },
    ]);
    // printing each refusal before the next try
    expect(loops[0]).toContain('; cat ./bootstrap.err; sleep 10; done )');
    expect(prod).toContain('(`cp ./etcd-<hostname>/db ./db.snapshot`)');
    // without an etcd backup, a surviving control plane's database is still the way back
    const noEtcd = runbookOf(runBackups({ s3: SETTINGS.s3, etcd: { enabled: false } }), 'prod');
    expect(noEtcd).toContain('--recover-from=./db.snapshot --recover-skip-hash-check');
    expect(noEtcd).toContain('bootstrap anew (step 6 of `clusters/prod/RUNBOOK.md`), unless');
  });

  test('rebuilds only the machines that were lost, and sends the loss of one of three control planes to the node replacement', () => {
    expect(prod).toContain(
      'apply) for the machines that were lost, every machine when all were. Do **not** run its',
    );
    expect(prod).toContain(
      'Losing one control plane (or workers), with 2 of the 3 still etcd members that',
    );
    expect(prod).toContain(
      'answer `talosctl etcd status`, is no disaster: follow "Replacing a dead node" of',
    );
    // one control plane: no quorum to keep, its block only
    const dev = runbookOf(run, 'dev');
    expect(dev).not.toContain('is no disaster');
    expect(dev).toContain('**dev-cp1** (192.168.1.11), only if it still runs:');
  });

  test('restores every claim when etcd was bootstrapped anew: Argo CD made them empty', () => {
    expect(prod).toContain('With etcd bootstrapped anew (step 2), every claim is a new one');
    expect(prod).toContain(
      'restored, a volume that was not faulted kept its data, newer than any backup: restore it',
    );
  });
});

describe('the disaster-recovery runbook: reading what a restore did', () => {
  const file = runbookOf(runBackups(), 'prod');
  const lines = file.split('\n');
  const result = lines.findIndex((line) => line.startsWith('RESULT="$(kubectl -n paperless'));
  /** The restore's result check, run by `shell` against a kubectl that prints `status`. */
  const check = (shell: string, status: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-dr-'));
    try {
      const kubectl = join(dir, 'kubectl');
      writeFileSync(kubectl, `#!/bin/sh\ncat <<'EOF'\n${status}\nEOF\n`);
      chmodSync(kubectl, 0o755);
      const run = spawnSync(shell, ['-c', lines.slice(result, result + 3).join('\n')], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
        encoding: 'utf8',
      });
      return run.stdout.trim().split('\n').at(-1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const failed =
    'RESTORE FAILED: nothing was restored into paperless/data (no snapshot at or before LOST_AT, or the mover failed): do not hand it back to Argo CD';

  test('reads the mover logs after the restore and before Argo CD gets the volume back', () => {
    expect(lines[result]).toBe(
      `RESULT="$(kubectl -n paperless get replicationdestination data-restore -o jsonpath='{.status.latestMoverStatus.result}{"\\n"}{.status.latestMoverStatus.logs}')"`,
    );
    const waited = lines.findIndex((line) =>
      line.startsWith('kubectl -n paperless wait replicationdestination/data-restore'),
    );
    const handedBack = lines.findIndex((line) =>
      line.startsWith(
        `kubectl -n argocd patch application prod-app --type merge -p '{"spec":{"syncPolicy":{"automated":{`,
      ),
    );
    expect(lines[result - 1]).toBe(lines[waited]);
    expect(lines[result + 2]).toContain("|| echo 'RESTORE FAILED:");
    expect(result).toBeLessThan(handedBack);
  });

  test.each(['sh', 'bash'])(
    'with %s, says RESTORE FAILED when VolSync found no snapshot and reported success',
    (shell) => {
      // VolSync 0.16 mover-restic/entry.sh: no snapshot at or before restoreAsOf restores
      // nothing and exits 0; its log filter keeps these lines in latestMoverStatus.logs.
      expect(
        check(shell, 'Successful\nNo eligible snapshots found\n=== No data will be restored ==='),
      ).toBe(failed);
      expect(check(shell, 'Failed\nFatal: wrong password or no key found')).toBe(failed);
      expect(
        check(shell, 'Successful\nrepository 1a2b3c4d opened (version 2)\nrestic completed in 12s'),
      ).toBe('restored paperless/data');
    },
  );
});

describe('the disaster-recovery runbook: the repository the Secret names', () => {
  const file = runbookOf(runBackups(), 'prod');
  const lines = file.split('\n');
  const at = lines.findIndex((line) => line.startsWith('case "$(kubectl -n paperless get secret'));
  const repository = 's3:https://s3.example.com/homelab-backups/restic/prod/paperless/data';
  /** The check, run by `shell` against a kubectl that prints `data` (exits 1 without). */
  const check = (shell: string, data: string | undefined) => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-dr-'));
    try {
      const kubectl = join(dir, 'kubectl');
      writeFileSync(
        kubectl,
        data === undefined
          ? '#!/bin/sh\necho \'Error from server (NotFound): secrets "data-restic" not found\' >&2\nexit 1\n'
          : `#!/bin/sh\nprintf '%s' '${Buffer.from(data).toString('base64')}'\n`,
      );
      chmodSync(kubectl, 0o755);
      const run = spawnSync(shell, ['-c', lines[at] ?? 'exit 9'], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      return run.stdout.trim();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const wrong = `WRONG REPOSITORY: paperless/data-restic is missing or does not name ${repository}: set RESTIC_REPOSITORY of its entry in the secret store to it and wait until the Secret has it, before any restore of this volume`;

  test("comes first in the volume's section, before any restore", () => {
    expect(at).toBeGreaterThan(lines.indexOf('### `paperless/data` (app, 20Gi on standard)'));
    const heading = lines.indexOf('### `paperless/data` (app, 20Gi on standard)');
    // The section's repository line, then the check's prose, then the check.
    expect(lines[heading + 2]).toContain(`Repository \`${repository}\``);
    expect(lines.slice(heading + 3, at).join(' ')).toContain(
      "The check reads the Secret's URL as restic does (`s3:<host>/…` and `s3://<host>/…` are `s3:https://<host>/…`, a trailing `/` does not count):",
    );
    const restore = lines.findIndex((line) =>
      line.startsWith('kubectl -n paperless patch replicationdestination data-restore'),
    );
    expect(
      lines.findIndex(
        (line, index) => index > heading && line.startsWith('Turn auto-sync off, the root'),
      ),
    ).toBeGreaterThan(at);
    expect(restore).toBeGreaterThan(at);
  });

  test.each(['sh', 'bash'])(
    "with %s, passes the definition's repository (spelled as restic reads it alike too) and names any other, or a missing Secret, without printing it",
    (shell) => {
      const ok = 'paperless/data-restic names the repository above';
      expect(check(shell, repository)).toBe(ok);
      expect(check(shell, `${repository}/`)).toBe(ok);
      // restic dials HTTPS for s3:<host>/… and s3://<host>/… (verify-script.test.ts: its parser).
      expect(check(shell, repository.replace('s3:https://', 's3:'))).toBe(ok);
      expect(check(shell, `${repository.replace('s3:https://', 's3://')}/`)).toBe(ok);
      expect(check(shell, repository.replace('s3:https://', 's3:http://'))).toBe(wrong);
      const elsewhere = check(
        shell,
        's3:https://s3.old.example/old-bucket/restic/prod/paperless/data',
      );
      expect(elsewhere).toBe(wrong);
      expect(elsewhere).not.toContain('old-bucket');
      // A prefix of the right one is another repository.
      expect(check(shell, repository.replace(/\/data$/, ''))).toBe(wrong);
      expect(check(shell, undefined)).toBe(wrong);
    },
  );
});

describe("the disaster-recovery runbook: the user's own Applications", () => {
  test("says to turn off the auto-sync of an Application of the user's own before scaling its workload down", () => {
    // The platform's root and the volume's Application are paused by commands; the workload is
    // the user's, and an Application of theirs with self-heal would scale it back up during the
    // restore (copyMethod Direct writes into the live claim).
    const text = runbookOf(runBackups(SETTINGS, [consumer([DATA])]), 'prod').replace(/\s+/g, ' ');
    const stop = text.indexOf('Stop every workload that mounts the claim');
    expect(stop).toBeGreaterThan(0);
    expect(text.slice(stop, stop + 600)).toContain(
      'A workload an Argo CD Application of your own deploys with self-heal comes back at once: turn that Application\'s auto-sync off first (`kubectl -n argocd patch application <name> --type merge -p \'{"spec":{"syncPolicy":{"automated":null}}}\'`)',
    );
  });
});

describe('the disaster-recovery runbook: stale locks', () => {
  const run = runBackups(SETTINGS, [consumer([DATA])]);
  const lines = runbookOf(run, 'prod').split('\n');
  const at = lines.findIndex((line) =>
    line.startsWith('kubectl -n paperless run data-restic-unlock '),
  );
  const block = lines.slice(at, lines.indexOf('```', at));

  test("runs after the repository check and the backups' pause, before the volume's restore, as its verification runs", () => {
    const check = lines.findIndex((line) =>
      line.startsWith('case "$(kubectl -n paperless get secret data-restic'),
    );
    expect(at).toBeGreaterThan(check);
    expect(check).toBeGreaterThan(0);
    // After the pause (which kills a running backup mover, its lock left behind), not before
    // it: the hourly CronJob named in the text removes that lock once it is stale.
    const pause = lines.findIndex((line) =>
      line.startsWith('kubectl -n paperless patch replicationsource data-backup'),
    );
    expect(pause).toBeGreaterThan(check);
    expect(at).toBeGreaterThan(pause);
    expect(lines.slice(pause, at).join(' ')).toContain('the hourly CronJob `data-restic-unlock`');
    expect(
      lines.findIndex((line) =>
        line.startsWith('kubectl -n paperless patch replicationdestination data-restore'),
      ),
    ).toBeGreaterThan(at);
    expect(block).toHaveLength(4);
    // The pod the overrides make: restic unlock with the volume's Secret, under the labels,
    // security context and resources of the verification's pods (their flows reach S3 under
    // default deny; the admission policies require the rest).
    const overrides = JSON.parse(/--overrides='([^']*)'/.exec(block[0] ?? '')?.[1] ?? '{}');
    const cronJob = chartObjects(run.components, 'app', run.platform.clusters[2] as AnyJson).find(
      (o) => o.kind === 'CronJob' && o.metadata.name === 'data-restore-verify',
    ) as AnyJson;
    const template = cronJob.spec.jobTemplate.spec.template;
    expect(overrides.metadata.labels).toEqual(template.metadata.labels);
    expect(overrides.spec.securityContext).toEqual(template.spec.securityContext);
    const [container] = overrides.spec.containers;
    const [verify] = template.spec.containers;
    expect(container.command).toEqual(['restic', 'unlock']);
    expect(container.image).toBe(verify.image);
    expect(block[0]).toContain(`--image=${verify.image} `);
    expect(container.envFrom).toEqual(verify.envFrom);
    expect(container.securityContext).toEqual(verify.securityContext);
    expect(container.resources).toEqual(verify.resources);
    expect(block.slice(2)).toEqual([
      'kubectl -n paperless logs data-restic-unlock',
      'kubectl -n paperless delete pod data-restic-unlock --timeout=2m',
    ]);
  });

  test.each(['sh', 'bash'])(
    'with %s, waits until the pod ended, shows its log and deletes it',
    (shell) => {
      const dir = mkdtempSync(join(tmpdir(), 'homelab-unlock-'));
      try {
        const log = join(dir, 'calls');
        writeFileSync(
          join(dir, 'kubectl'),
          [
            '#!/bin/sh',
            `printf '%s\n' "kubectl $1 $2 $3" >> "${log}"`,
            'case "$*" in',
            '  *"get pod"*) n=$(cat "$0.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.n"',
            '    if [ "$n" -lt 2 ]; then printf Pending; else printf Succeeded; fi ;;',
            "  *logs*) echo 'successfully removed 1 locks' ;;",
            'esac',
            '',
          ].join('\n'),
        );
        chmodSync(join(dir, 'kubectl'), 0o755);
        writeFileSync(join(dir, 'sleep'), `#!/bin/sh\necho "sleep $*" >> "${log}"\n`);
        chmodSync(join(dir, 'sleep'), 0o755);
        const result = spawnSync(shell, ['-c', block.join('\n')], {
          env: { PATH: `${dir}:/usr/bin:/bin` },
          encoding: 'utf8',
        });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe('successfully removed 1 locks\n');
        expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
          'kubectl -n paperless run',
          'kubectl -n paperless get',
          'sleep 5',
          'kubectl -n paperless get',
          'sleep 5',
          'kubectl -n paperless get',
          'kubectl -n paperless logs',
          'kubectl -n paperless delete',
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("the disaster-recovery runbook: changing a repository's password", () => {
  const run = runBackups(SETTINGS, [consumer([DATA])]);
  const text = runbookOf(run, 'prod');
  const section = text.slice(text.indexOf("## Changing a repository's password"));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) =>
    (m[1] as string).split('\n'),
  );
  // The overrides are one single-quoted shell word: its quotes are written '\''
  const podOf = (block: readonly string[]) =>
    JSON.parse(
      (/--overrides='((?:[^']|'\\'')*)'/.exec(block[0] ?? '')?.[1] ?? '{}').replaceAll(
        "'\\''",
        "'",
      ),
    );

  test('keeps the old password before the change, adds the new key after it, then removes the old key', () => {
    expect(section).toContain('### The repository of `paperless/data`');
    expect(blocks).toHaveLength(3);
    const [keep, add, remove] = blocks as [string[], string[], string[]];
    // Step 1: the Secret's password into a Secret of its own, never shown; `create` refuses one
    // that exists (an earlier change not finished)
    expect(keep[1]).toBe(
      "kubectl -n paperless get secret data-restic -o jsonpath='{.data.RESTIC_PASSWORD}' | base64 -d | kubectl -n paperless create secret generic data-restic-old-password --from-file=password=/dev/stdin",
    );
    // Steps 3 and 4: the scripts password-change.test.ts runs against restic, in pods that run as
    // the verification runs, with both passwords mounted where the scripts read them
    const cronJob = chartObjects(run.components, 'app', run.platform.clusters[2] as AnyJson).find(
      (o) => o.kind === 'CronJob' && o.metadata.name === 'data-restore-verify',
    ) as AnyJson;
    const template = cronJob.spec.jobTemplate.spec.template;
    const [verify] = template.spec.containers;
    for (const [block, script, name] of [
      [add, ADD_KEY_SCRIPT, 'data-restic-add-key'],
      [remove, REMOVE_KEY_SCRIPT, 'data-restic-remove-key'],
    ] as const) {
      expect(block[0]).toMatch(new RegExp(`^kubectl -n paperless run ${name} `));
      const pod = podOf(block);
      expect(pod.metadata.labels).toEqual(template.metadata.labels);
      expect(pod.spec.securityContext).toEqual(template.spec.securityContext);
      const [container] = pod.spec.containers;
      expect(container.command).toEqual(['sh', '-c', script]);
      expect(container.image).toBe(verify.image);
      expect(container.envFrom).toEqual(verify.envFrom);
      const env = Object.fromEntries(
        container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
      );
      const mounts = Object.fromEntries(
        container.volumeMounts.map((m: { name: string; mountPath: string }) => [
          m.name,
          m.mountPath,
        ]),
      );
      const volumes = Object.fromEntries(
        pod.spec.volumes.map((v: { name: string; secret?: unknown }) => [v.name, v.secret]),
      );
      expect(volumes.old).toEqual({
        secretName: 'data-restic-old-password',
        items: [{ key: 'password', path: 'password' }],
      });
      expect(volumes.new).toEqual({
        secretName: 'data-restic',
        items: [{ key: 'RESTIC_PASSWORD', path: 'RESTIC_PASSWORD' }],
      });
      expect(env.OLD_PASSWORD_FILE).toBe(`${mounts.old}/password`);
      expect(env.NEW_PASSWORD_FILE).toBe(`${mounts.new}/RESTIC_PASSWORD`);
    }
    // The kept old password goes only once the old key is gone
    expect(remove.slice(-2)).toEqual([
      '[ "$(kubectl -n paperless get pod data-restic-remove-key -o jsonpath=\'{.status.phase}\')" = Succeeded ] && kubectl -n paperless delete secret data-restic-old-password --timeout=1m',
      'kubectl -n paperless delete pod data-restic-remove-key --timeout=2m',
    ]);
  });

  test("the rotation guide's note on RESTIC_PASSWORD points at it", () => {
    const facts = run.components.clusters[2]?.contributions.get('backups')?.facts?.backup;
    expect(facts?.passwordChange).toBe(
      '`clusters/prod/disaster-recovery.md`, "Changing a repository\'s password"',
    );
  });
});

describe('the disaster-recovery runbook: step 5', () => {
  test('runs only the verifications that exist, and ends on a failed one too', () => {
    // verify: false makes no CronJob: `create job --from=cronjob/...` would fail on it.
    const unverified = {
      ...DATA,
      name: 'cache',
      backup: { ...(DATA.backup as NonNullable<typeof DATA.backup>), verify: false },
    };
    const run = runBackups(SETTINGS, [consumer([DATA, unverified])]);
    const names = chartObjects(run.components, 'app', run.platform.clusters[2] as AnyJson)
      .filter((o) => o.kind === 'CronJob')
      .map((o) => o.metadata.name);
    // every backed-up volume has its hourly unlock; only the verified one its verification
    expect(names).toEqual(['cache-restic-unlock', 'data-restic-unlock', 'data-restore-verify']);
    const lines = runbookOf(run, 'prod').split('\n');
    const step5 = lines.slice(lines.indexOf('## 5. Check'));
    // Owned by nobody: kubectl makes the CronJob the Job's controller, and its
    // successfulJobsHistoryLimit of 0 deleted a Job it controls, pod and logs, once complete.
    expect(step5.filter((line) => line.includes('create job --from=cronjob/'))).toEqual([
      `kubectl -n paperless create job --from=cronjob/data-restore-verify data-restore-verify-manual --dry-run=client -o json | kubectl patch --local -f - --type merge -p '{"metadata":{"ownerReferences":null}}' -o json | kubectl -n paperless create -f -`,
    ]);
    // The last wait is for every Application: with etcd bootstrapped anew the user's own
    // Applications are gone, and the ones routing to their workloads stay Degraded until applied.
    const waitLine = step5.findIndex((line) =>
      line.startsWith('kubectl -n argocd wait applications --all'),
    );
    const anew = step5.indexOf(
      'bootstrapped anew (step 2), the Argo CD Applications of your own that deploy your',
    );
    expect(anew).toBeGreaterThan(0);
    expect(waitLine).toBeGreaterThan(anew);
    expect(lines).toContain('## 2. Restore etcd from the latest snapshot');
    const restoreVerify = chartObjects(
      run.components,
      'app',
      run.platform.clusters[2] as AnyJson,
    ).find((o) => o.kind === 'CronJob' && o.metadata.name === 'data-restore-verify');
    expect((restoreVerify?.spec as AnyJson)?.successfulJobsHistoryLimit).toBe(0);
    // A failed verification never reads Complete: `wait --for=condition=Complete` sat out 2h.
    const verification = step5.filter((line) => line.includes('data-restore-verify-manual'));
    // The wait is bounded by the verification's window (60 minutes: its activeDeadlineSeconds)
    // plus 10 minutes
    expect(parseBoundedWait(verification[1] ?? '')).toEqual({
      condition: `kubectl -n paperless get job data-restore-verify-manual -o jsonpath='{.status.conditions[?(@.status=="True")].type}' | grep -qw -e Complete -e Failed`,
      seconds: 70 * 60,
      interval: 15,
    });
    expect(verification.slice(2)).toEqual([
      `kubectl -n paperless get job data-restore-verify-manual -o jsonpath='{.status.conditions[?(@.status=="True")].type}{"\\n"}'`,
      'kubectl -n paperless logs job/data-restore-verify-manual --tail=1',
      // Its pod holds a full-size scratch copy of the volume until the Job is deleted.
      'kubectl -n paperless delete job data-restore-verify-manual --timeout=5m',
    ]);
  });
});

/** The jsonpath of the claim replacement: each pod, the claims it names, its ephemeral volumes. */
const PODS_AND_CLAIMS = `{range .items[*]}{.metadata.name}{" "}{.spec.volumes[*].persistentVolumeClaim.claimName}{range .spec.volumes[?(@.ephemeral)]}{" ephemeral:"}{.name}{end}{"\\n"}{end}`;

/**
 * What kubectl prints for that jsonpath (client-go v0.34.2's util/jsonpath with missing keys
 * allowed, as kubectl runs it) on pods db-0 and db-1 of a StatefulSet (claims data-db-0,
 * data-db-1), a Deployment's pod mounting data-db-0 and media beside an emptyDir, a restore
 * verification pod with the ephemeral volume `scratch`, a pod whose claim's name reads as a number
 * (1e1), and a pod without volumes.
 */
const PODS_LISTED = [
  'db-0 data-db-0',
  'db-1 data-db-1',
  'web-7d9f-abcde media data-db-0',
  'data-restore-verify-29000000-x2x9z  ephemeral:scratch',
  'tally-0 1e1',
  'plain ',
  '',
].join('\n');

describe('the disaster-recovery runbook on Longhorn', () => {
  const longhorn = testComponent({
    name: 'storage',
    provides: ['storage'],
    contribution: () => ({ facts: { storage: { classes: [], csiDriver: LONGHORN_CSI_DRIVER } } }),
  });
  const onLonghorn = runbookOf(
    runBackups(SETTINGS, [consumer()], [cni, longhorn, snapshots, gitops]),
    'prod',
  );
  const lines = onLonghorn.split('\n');
  const faulted = `kubectl -n longhorn-system get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.robustness=="faulted")]}{.status.kubernetesStatus.namespace}{"/"}{.status.kubernetesStatus.pvcName}{"\\n"}{end}'`;

  test('names the cache claim of a paused restore as VolSync 0.16 names it, among the claims to replace', () => {
    // VolSync v0.16.0 internal/controller/mover/restic/mover.go: the cache claim is
    // volsync-<src|dst>-<owner>-cache; a restore's owner is its ReplicationDestination.
    const text = onLonghorn.replace(/\s+/g, ' ');
    const named = /`(volsync-dst-<volume>-restore-cache)`/.exec(text)?.[1];
    expect(named?.replace('<volume>', 'data')).toBe(
      `volsync-dst-${backupNames(DATA).destination}-cache`,
    );
    expect(text).toContain('A claim VolSync made itself (its name begins with `volsync-`');
  });

  test('has the claims of faulted volumes without a backup replaced before the step 3 wait', () => {
    // A claim with no backup whose replicas were on lost disks (Prometheus') keeps its pods
    // from starting: its Application is never Healthy, and the wait of step 3 could only time out.
    const step3 = lines.indexOf('## 3. Let Argo CD converge');
    const listed = lines.indexOf(faulted);
    const replaced = lines.indexOf(
      `kubectl -n "\${CLAIM%%/*}" delete pvc "\${CLAIM#*/}" --wait=false`,
    );
    const converge = lines.findIndex((line) =>
      line.startsWith('kubectl -n argocd get applications -o name |'),
    );
    expect(lines[listed - 1]).toBe('```sh');
    expect([step3, listed, replaced, converge]).toEqual(
      [step3, listed, replaced, converge].toSorted((a, b) => a - b),
    );
    expect(step3).toBeGreaterThan(0);
  });

  test('takes the disks whose identity the restored etcd no longer matches out of their nodes, before the faulted claims', () => {
    // longhorn-manager v1.8.1 writes a new longhorn-disk.cfg on a wiped or new disk and marks it
    // DiskFilesystemChanged against the UUID the restored node recorded: no replica goes there
    // until the disk is removed and given back.
    const at = (prefix: string) => lines.findIndex((line) => line.startsWith(prefix));
    const rollout = at('kubectl -n longhorn-system rollout status daemonset/longhorn-manager');
    const listed = at('kubectl -n longhorn-system get nodes.longhorn.io -o go-template=');
    const removed = at('while read -r node disk; do');
    const waited = lines.findIndex(
      (line) => line.startsWith('( deadline=') && line.includes('DiskFilesystemChanged'),
    );
    const givenBack = at(
      'Then give each node listed its disks back: run its block of "Later: changing a storage node\'s',
    );
    const faulted = lines.indexOf(
      `kubectl -n longhorn-system get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.robustness=="faulted")]}{.status.kubernetesStatus.namespace}{"/"}{.status.kubernetesStatus.pvcName}{"\\n"}{end}'`,
    );
    expect(lines[rollout + 1]).toBe('sleep 90');
    expect(lines[listed]).toContain(
      '(eq .type "Ready") (eq .reason "DiskFilesystemChanged")}}{{$node}} {{$disk}}',
    );
    expect(lines[listed]).toMatch(/ > \.\/stale-disks$/);
    expect(rollout).toBeGreaterThan(lines.indexOf('## 3. Let Argo CD converge'));
    expect([rollout, listed, removed, waited, givenBack, faulted]).toEqual(
      [rollout, listed, removed, waited, givenBack, faulted].toSorted((a, b) => a - b),
    );
    expect(new Set([rollout, listed, removed, waited, givenBack, faulted]).size).toBe(6);
    expect(onLonghorn).toContain('disks" (step 3) of `clusters/prod/RUNBOOK.md`');
  });

  /**
   * Runs the block of `commands` that has `marker` in sh, in a scratch folder, with a stand-in
   * kubectl that prints `answers[<resource>]` for `get <resource>`; returns what it printed.
   */
  function runBlock(marker: string, answers: { [resource: string]: string }): string {
    const start = lines.findIndex((line) => line.includes(marker));
    const open = lines.lastIndexOf('```sh', start);
    const close = lines.indexOf('```', start);
    const block = lines.slice(open + 1, close).join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'homelab-dr-longhorn-'));
    try {
      const cases = Object.entries(answers)
        .map(([resource, text]) => `  ${resource}) cat <<'EOF'\n${text}\nEOF\n  ;;`)
        .join('\n');
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/bin/sh\nfor a; do [ "$prev" = get ] && resource=$a; prev=$a; done\ncase "$resource" in\n${cases}\nesac\n`,
      );
      chmodSync(join(dir, 'kubectl'), 0o755);
      const out = spawnSync('sh', ['-c', block], {
        cwd: dir,
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      expect(out.stderr).toBe('');
      return out.stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('lists the orphans after the disks are back, with whether their volume exists, and keeps them', () => {
    // A replica made after the etcd snapshot, or a volume created after it, has a directory no
    // restored record names: Longhorn v1.8.1 keeps it as an Orphan (auto-deletion off) and
    // deleting the Orphan deletes the data.
    const out = runBlock('get orphans.longhorn.io', {
      'settings.longhorn.io': 'false',
      'volumes.longhorn.io': 'pvc-aaa\npvc-bbb',
      'orphans.longhorn.io': [
        'prod-worker-1 /var/mnt/fast pvc-aaa-1f2e3d4c',
        'prod-worker-2 /var/lib/longhorn/ pvc-ccc-9a8b7c6d',
      ].join('\n'),
    });
    expect(out.split('\n')).toEqual([
      'false',
      'prod-worker-1 /var/mnt/fast pvc-aaa-1f2e3d4c pvc-aaa volume-exists',
      'prod-worker-2 /var/lib/longhorn/ pvc-ccc-9a8b7c6d pvc-ccc volume-gone',
      '',
    ]);
    // with no volume at all, every orphan is of a volume gone (not read as the volume list)
    expect(
      runBlock('get orphans.longhorn.io', {
        'settings.longhorn.io': 'false',
        'volumes.longhorn.io': '',
        'orphans.longhorn.io': 'prod-worker-1 /var/mnt/fast pvc-aaa-1f2e3d4c',
      }),
    ).toContain('pvc-aaa-1f2e3d4c pvc-aaa volume-gone');
    const at = (text: string) => lines.findIndex((line) => line.includes(text));
    expect(at('get orphans.longhorn.io')).toBeGreaterThan(at('while read -r node disk; do'));
    expect(at('get orphans.longhorn.io')).toBeLessThan(
      at(
        'get volumes.longhorn.io -o jsonpath=\'{range .items[?(@.status.robustness=="faulted")]}{.status',
      ),
    );
    expect(onLonghorn.replace(/\s+/g, ' ')).toContain(
      'Step 3 lists them: until step 5 is done, delete no orphan.',
    );
    expect(onLonghorn).not.toContain('their volumes come back healthy');
  });

  test('lists the replicas of the faulted volumes before a claim is replaced as lost', () => {
    const out = runBlock('get replicas.longhorn.io', {
      'volumes.longhorn.io': 'pvc-aaa',
      'replicas.longhorn.io': [
        'pvc-aaa prod-worker-1 /var/mnt/fast/ 2026-12-01T10:00:00Z',
        'pvc-bbb prod-worker-2 /var/mnt/fast/ ',
        'pvc-aaa prod-worker-3 /var/lib/longhorn/ 2026-12-01T10:00:01Z',
      ].join('\n'),
    });
    expect(out.split('\n')).toEqual([
      'pvc-aaa prod-worker-1 /var/mnt/fast/ 2026-12-01T10:00:00Z',
      'pvc-aaa prod-worker-3 /var/lib/longhorn/ 2026-12-01T10:00:01Z',
      '',
    ]);
    const listed = lines.findIndex((line) => line.includes('get replicas.longhorn.io'));
    const replaced = lines.indexOf(
      `kubectl -n "\${CLAIM%%/*}" delete pvc "\${CLAIM#*/}" --wait=false`,
    );
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(replaced);
  });

  test('removes each listed disk with its scheduling off first, as pasted into sh', () => {
    const loop = lines.find((line) => line.startsWith('while read -r node disk; do')) as string;
    const dir = mkdtempSync(join(tmpdir(), 'homelab-stale-disks-'));
    try {
      const log = join(dir, 'log');
      writeFileSync(join(dir, 'kubectl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`);
      chmodSync(join(dir, 'kubectl'), 0o755);
      writeFileSync(join(dir, 'stale-disks'), 'prod-worker-1 system\nprod-worker-2 fast\n');
      const out = spawnSync('sh', ['-c', loop], {
        cwd: dir,
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      expect(out.status).toBe(0);
      const patch = (node: string, body: string) =>
        `-n longhorn-system patch nodes.longhorn.io ${node} --type=merge -p ${body}`;
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([
        patch('prod-worker-1', '{"spec":{"disks":{"system":{"allowScheduling":false}}}}'),
        patch('prod-worker-1', '{"spec":{"disks":{"system":null}}}'),
        patch('prod-worker-2', '{"spec":{"disks":{"fast":{"allowScheduling":false}}}}'),
        patch('prod-worker-2', '{"spec":{"disks":{"fast":null}}}'),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('says the wipe of a storage control plane loses the replicas on its Longhorn disk, and checks every disk takes replicas at the end', () => {
    const text = onLonghorn.replace(/\s+/g, ' ');
    expect(text).toContain(
      "On a storage node that includes Longhorn's disk at `/var/lib/longhorn` and every replica on it",
    );
    const step5 = lines.indexOf('## 5. Check');
    const check = lines.findIndex(
      (line, index) =>
        index > step5 && line.includes('(eq .type "Schedulable") (ne .status "True")'),
    );
    expect(check).toBeGreaterThan(step5);
    expect(step5).toBeGreaterThan(0);
  });

  test('replaces a faulted claim with commands a shell runs as pasted (no bare <placeholder>)', () => {
    // `kubectl -n <namespace> delete pod <pod>` is a redirection from a file `namespace` and a
    // syntax error at `<pod>` (ShellCheck SC1073): the operator names the claim once, in CLAIM,
    // and the pods that mount it come from the cluster.
    const start = lines.indexOf("CLAIM='<namespace>/<claim>'");
    expect(lines.slice(start - 1, start + 5)).toEqual([
      '```sh',
      "CLAIM='<namespace>/<claim>'",
      `kubectl -n "\${CLAIM%%/*}" delete pvc "\${CLAIM#*/}" --wait=false`,
      `kubectl -n "\${CLAIM%%/*}" get pods -o jsonpath='${PODS_AND_CLAIMS}' | awk -v claim="\${CLAIM#*/}" '{ for (i = 2; i <= NF; i++) { name = $i; if (sub(/^ephemeral:/, "", name)) name = $1 "-" name; if (name "" == claim) { print $1; break } } }' | while read -r pod; do kubectl -n "\${CLAIM%%/*}" delete pod "$pod" --wait=false; done`,
      '```',
      '',
    ]);
    expect(onLonghorn).not.toMatch(/^kubectl .*(?<!')<[a-z]+>/m);
  });

  describe('the replacement block, run by bash and zsh against the pods kubectl lists', () => {
    (zshTestRuns('backups: the replacement block') ? test : test.skip)('runs in zsh too', () => {
      expect(pasteShells('bash').map((shell) => shell.name)).toEqual(['bash', 'zsh']);
    });
    const start = lines.indexOf("CLAIM='<namespace>/<claim>'");
    /**
     * What the block deletes for `claim`, with kubectl answering `get pods` with `listed`; `awk`:
     * the awk to run it with, this machine's unless given.
     */
    const deletes = (claim: string, awk?: string): string[] => {
      const dir = mkdtempSync(join(tmpdir(), 'homelab-dr-claim-'));
      try {
        if (awk !== undefined) symlinkSync(awk, join(dir, 'awk'));
        const kubectl = join(dir, 'kubectl');
        writeFileSync(join(dir, 'pods'), PODS_LISTED);
        writeFileSync(
          kubectl,
          [
            '#!/bin/sh',
            `case "$3 $4" in`,
            `  "get pods") [ "$6" = 'jsonpath=${PODS_AND_CLAIMS}' ] || { echo "unexpected jsonpath $6" >&2; exit 1; }; cat "${dir}/pods" ;;`,
            `  "delete pvc"|"delete pod") echo "$*" >> "${dir}/log" ;;`,
            '  *) echo "unexpected kubectl $*" >&2; exit 1 ;;',
            'esac',
            '',
          ].join('\n'),
        );
        chmodSync(kubectl, 0o755);
        const block = [`CLAIM='${claim}'`, ...lines.slice(start + 1, start + 3)].join('\n');
        // --norc and no stdin: bash reads ~/.bashrc and /etc/bash.bashrc when it thinks sshd
        // ran it (stdin a socket, as Node's pipes are, and SHLVL below 2), and with -u Debian's
        // bashrc stops on an unset PS1 (it did under CI).
        // And in zsh where found (macOS' login shell): the same deletes.
        const runs = pasteShells('bash', ['-e', '-u', '-o', 'pipefail']).map((shell) => {
          rmSync(join(dir, 'log'), { force: true });
          const run = spawnSync(shell.command, [...shell.args, block], {
            env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          expect(run.stderr, shell.name).toBe('');
          expect(run.status, shell.name).toBe(0);
          return spawnSync('cat', [join(dir, 'log')], { encoding: 'utf8' })
            .stdout.trim()
            .split('\n');
        });
        for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
        return runs[0] as string[];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    test("a StatefulSet's claim: its pod, and any other pod mounting it, never a neighbour's", () => {
      expect(deletes('monitoring/data-db-0')).toEqual([
        '-n monitoring delete pvc data-db-0 --wait=false',
        '-n monitoring delete pod db-0 --wait=false',
        '-n monitoring delete pod web-7d9f-abcde --wait=false',
      ]);
    });

    test("a generic ephemeral volume's claim (<pod>-<volume>, the restore verification's scratch): its pod", () => {
      // Before: the pod was never found, the claim stayed Terminating behind its protection
      // finalizer and the pod kept waiting on the faulted volume.
      expect(deletes('monitoring/data-restore-verify-29000000-x2x9z-scratch')).toEqual([
        '-n monitoring delete pvc data-restore-verify-29000000-x2x9z-scratch --wait=false',
        '-n monitoring delete pod data-restore-verify-29000000-x2x9z --wait=false',
      ]);
    });

    const originalAwk = findOriginalAwk();
    test.runIf(originalAwkRuns('backups: the replacement block'))(
      "with the One True AWK, macOS' awk: the same pods as with this machine's awk",
      () => {
        expect(originalAwk).toBeDefined();
        const awk = join(originalAwk as string, 'awk');
        for (const claim of [
          'monitoring/data-db-0',
          'monitoring/data-restore-verify-29000000-x2x9z-scratch',
          'tally/10',
          'tally/1e1',
        ]) {
          expect(deletes(claim, awk), claim).toEqual(deletes(claim));
        }
        expect(deletes('tally/10', awk)).toEqual(['-n tally delete pvc 10 --wait=false']);
      },
    );

    test('a claim whose name reads as a number: its pod only, not the one of a claim of equal value', () => {
      // awk compares a field with a -v value as numbers when both read as numbers: with
      // `name == claim`, the claim 10 was 1e1's too, and tally-0, a pod of another claim, was
      // deleted. The check awk-numeric-equality refuses that comparison in a runbook.
      expect(deletes('tally/10')).toEqual(['-n tally delete pvc 10 --wait=false']);
      expect(deletes('tally/1e1')).toEqual([
        '-n tally delete pvc 1e1 --wait=false',
        '-n tally delete pod tally-0 --wait=false',
      ]);
    });
  });

  test("reads each protected volume's Longhorn state before replacing its claim", () => {
    const state = lines.indexOf(
      `kubectl -n longhorn-system get volumes.longhorn.io "$(kubectl -n paperless get pvc data -o jsonpath='{.spec.volumeName}')" -o jsonpath='{.status.robustness}{"\\n"}'`,
    );
    expect(state).toBeGreaterThan(lines.indexOf('## 4. Restore the volumes from restic'));
    expect(state).toBeLessThan(
      lines.indexOf('kubectl -n paperless delete pvc data --ignore-not-found --wait=false'),
    );
  });

  test("lists the faulted claims that Longhorn's own backup target holds, not as lost", () => {
    // Longhorn v1.8.1: a BackupVolume per backed-up volume (spec.volumeName,
    // status.lastBackupName, status.lastBackupAt); a tier's backup RecurringJob writes them
    // whatever restic does. The text once called every unprotected faulted claim's data gone.
    const start = lines.findIndex((line) => line.endsWith('> ./faulted-volumes'));
    const block = lines.slice(start, start + 3);
    expect(block[2]).toBe('rm ./faulted-volumes');
    const kubectl = [
      'case "$*" in',
      `  *' volumes.longhorn.io '*) printf '%s\\n' 'pvc-1 monitoring/prometheus-db-0' 'pvc-2 paperless/data' 'pvc-3 wiki/data' ;;`,
      `  *' backupvolumes.longhorn.io '*) printf '%s\\n' 'pvc-1 backup-a 2026-01-01T01:00:00Z' 'pvc-9 backup-z 2026-01-01T01:00:00Z' 'pvc-3  ' 'pvc-2 backup-b 2026-01-02T01:00:00Z' ;;`,
      '  *) exit 1 ;;',
      'esac',
    ].join('\n');
    const listed = withStandInScript(block.join('\n'), 'kubectl', kubectl);
    expect(listed.status).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual([
      'monitoring/prometheus-db-0 backup-a 2026-01-01T01:00:00Z',
      'paperless/data backup-b 2026-01-02T01:00:00Z',
    ]);
    expect(onLonghorn).not.toContain("has no backup (Prometheus' data, for one)");
    expect(onLonghorn).toContain('A claim listed there is not lost: restore it from that backup');
    expect(start).toBeLessThan(lines.indexOf("CLAIM='<namespace>/<claim>'"));
  });

  test('names no Longhorn object on another storage provider', () => {
    expect(runbookOf(runBackups(), 'prod')).not.toContain('longhorn.io');
  });
});

describe('enabling', () => {
  test('is off unless the definition turns it on', () => {
    const run = testRun(testDefinition(testReferenceClusters()), [
      cni,
      storage,
      gitops,
      backupsComponent,
    ]);
    expect(run.components.components.map((c) => c.component.name)).not.toContain('backups');
    expect(run.components.issues).toEqual([]);
  });
});

describe('definition problems', () => {
  test('no S3 bucket is an error at backups.s3', () => {
    const run = runBackups({ etcd: { agePublicKey: AGE_KEY } });
    expect(errors(run).map((i) => [i.code, formatPath(i.path)])).toContainEqual([
      'backups-s3',
      'clusters[0].components.backups.s3',
    ]);
  });

  test('etcd snapshots without an age key are an error at etcd.agePublicKey', () => {
    const run = runBackups({ s3: SETTINGS.s3 });
    expect(errors(run).map((i) => [i.code, formatPath(i.path)])).toContainEqual([
      'backups-etcd-key',
      'clusters[0].components.backups.etcd.agePublicKey',
    ]);
  });

  test('a schedule that is no cron schedule is an error at the setting', () => {
    const run = runBackups({
      ...SETTINGS,
      verification: { schedule: { production: '0 25 * * *' } },
    });
    expect(errors(run).map((i) => [i.code, formatPath(i.path), i.message])).toEqual([
      [
        'backup-schedule',
        'clusters[2].components.backups.verification.schedule.production',
        'is not a cron schedule: hour "25" is not a value or range within 0-23',
      ],
    ]);
  });

  test('a verification schedule with day of week 7 is an error that says Sunday is 0', () => {
    const run = runBackups({
      ...SETTINGS,
      verification: { schedule: { production: '0 5 * * 7' } },
    });
    expect(errors(run).map((i) => [i.code, formatPath(i.path), i.message, i.expected])).toEqual([
      [
        'backup-schedule',
        'clusters[2].components.backups.verification.schedule.production',
        'is not a cron schedule: day of week "7" holds 7, but robfig/cron (which Kubernetes CronJobs and VolSync parse schedules with) takes days of the week 0-6 only',
        'five fields: minute hour day-of-month month day-of-week, Sunday being 0 or sun, e.g. 0 2 * * 0',
      ],
    ]);
  });

  test('an etcd schedule that never fires is an error; @daily is a schedule', () => {
    const run = runBackups({
      ...SETTINGS,
      verification: { schedule: { production: '@daily' } },
      etcd: { ...SETTINGS.etcd, schedule: { production: '0 3 31 4,6 *' } },
    });
    expect(errors(run).map((i) => [i.code, formatPath(i.path), i.message])).toEqual([
      [
        'backup-schedule',
        'clusters[2].components.backups.etcd.schedule.production',
        'never fires: April and June have no day 31; robfig/cron accepts such a schedule and never runs it',
      ],
    ]);
  });

  test('a protected volume without a snapshot class is an error at its consumer', () => {
    // A snapshot provider without a class: the capability is there, its fact is not.
    const noClass = testComponent({ name: 'snapshots', provides: ['volume-snapshots'] });
    const run = runBackups(SETTINGS, [consumer()], [cni, storage, noClass, gitops]);
    const snapshots = errors(run).filter((i) => i.code === 'backups-snapshots');
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots[0]?.message).toContain('has no VolumeSnapshotClass');
  });

  test('without a storage driver, the missing storage is the error, not the snapshot class', () => {
    const noClass = testComponent({ name: 'snapshots', provides: ['volume-snapshots'] });
    const run = runBackups(SETTINGS, [consumer()], [cni, noClass, gitops]);
    const codes = errors(run).map((i) => i.code);
    expect(codes).not.toContain('backups-snapshots');
    expect(errors(run).some((i) => i.message.includes('"storage"'))).toBe(true);
  });

  test('a volume whose verification CronJob name would pass 52 characters is an error at the volume', () => {
    // Kubernetes refuses a CronJob name longer than 52 (ValidateCronJob): `<volume>-restore-verify`
    // allows a volume name of 37 at most. The error points where the definition declares it.
    const origin = ['clusters', 0, 'components', 'applications', 'apps', 'x', 'volumes'];
    const long = { ...DATA, name: 'a'.repeat(38), origin: [...origin, 'a'.repeat(38)] };
    const fits = { ...DATA, name: 'b'.repeat(37), origin: [...origin, 'b'.repeat(37)] };
    const run = runBackups(SETTINGS, [consumer([long, fits])]);
    const named = run.components.issues.filter((i) => i.code === 'backups-name');
    expect(named.map((i) => [i.severity, i.path, i.value])).toEqual(
      [0, 1, 2].map(() => ['error', long.origin, long.name]),
    );
    expect(named[0]?.message).toContain(`${'a'.repeat(38)}-restore-verify (53 characters)`);
    expect(named[0]?.expected).toBe(
      'a volume name of at most 37 characters, or backup.verify: false',
    );
    // Without verification there is no CronJob, and nothing to refuse.
    const unverified = runBackups(SETTINGS, [
      consumer([{ ...long, backup: { ...(long.backup as AnyJson), verify: false } }]),
    ]);
    expect(unverified.components.issues.filter((i) => i.code === 'backups-name')).toEqual([]);
  });

  test('the owner warning points at the volume where the definition declares it', () => {
    const origin = ['clusters', 0, 'components', 'applications', 'apps', 'x', 'volumes', 'data'];
    const run = runBackups(SETTINGS, [
      consumer([{ ...DATA, owner: undefined, origin } as AnyJson]),
    ]);
    expect(
      run.components.issues.filter((i) => i.code === 'backups-owner').map((i) => i.path),
    ).toEqual([origin, origin, origin]);
  });

  test('a protected volume without an owner gets a warning', () => {
    const run = runBackups(SETTINGS, [consumer([{ ...DATA, owner: undefined } as AnyJson])]);
    expect(run.components.issues.filter((i) => i.code === 'backups-owner')).toHaveLength(3);
  });

  test('without an owner the movers still run as a numeric non-root user, the verification one', () => {
    // The VolSync 0.16.0 image has no USER (root): runAsNonRoot without runAsUser is refused by
    // the kubelet ("container has runAsNonRoot and image will run as root").
    const run = runBackups(SETTINGS, [consumer([{ ...DATA, owner: undefined } as AnyJson])]);
    const objects = chartObjects(run.components, 'app', run.platform.clusters[0] as AnyJson);
    const byKind = (kind: string) => objects.find((o) => o.kind === kind) as AnyJson;
    const expected = {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    };
    expect(byKind('ReplicationSource').spec.restic.moverSecurityContext).toEqual(expected);
    expect(byKind('ReplicationDestination').spec.restic.moverSecurityContext).toEqual(expected);
    expect(byKind('CronJob').spec.jobTemplate.spec.template.spec.securityContext).toEqual(expected);
  });
});

describe('flows (zero trust)', () => {
  const table = (run: ReturnType<typeof runBackups>, index: number): string[] => {
    const declared = run.components.clusters[index]?.contributions.get('backups');
    return (declared?.flows ?? []).map(
      (flow) =>
        `${flow.namespace}/${flow.selector['app.kubernetes.io/name']} ${flow.direction} ${JSON.stringify(flow.peer)} ${flow.ports.map((port) => `${port.port}/${port.protocol}`).join(',')}`,
    );
  };

  test('the VolSync controller and talos-backup: API server, metrics, Talos API, the S3 endpoint', () => {
    // The chart's controller serves its metrics at --metrics-bind-address=:8443 (no
    // containerPort), which the volsync-metrics Service's https port targets.
    const deployment = readVendoredChartFile(
      'volsync',
      VOLSYNC_CHART_VERSION,
      'templates/deployment-controller.yaml',
    );
    expect(deployment).toContain('--metrics-bind-address=:8443');
    expect(table(runBackups(), 2)).toEqual([
      'volsync-system/volsync egress {"kind":"kube-apiserver"} 6443/TCP',
      'volsync-system/volsync ingress {"kind":"capability","capability":"metrics"} 8443/TCP',
      'talos-backup/talos-backup egress {"kind":"host"} 50000/TCP',
      'talos-backup/talos-backup egress {"kind":"fqdn","name":"s3.example.com"} 443/TCP',
    ]);
  });

  test('an endpoint by address is a network; virtual-hosted buckets are dialled by their own name', () => {
    const byAddress = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, endpoint: 'http://10.0.0.9:9000' },
    });
    expect(table(byAddress, 2)[3]).toBe(
      'talos-backup/talos-backup egress {"kind":"cidr","cidr":"10.0.0.9/32"} 9000/TCP',
    );
    const virtual = runBackups({ ...SETTINGS, s3: { ...SETTINGS.s3, pathStyle: false } });
    expect(table(virtual, 2)[3]).toBe(
      'talos-backup/talos-backup egress {"kind":"fqdn","name":"homelab-backups.s3.example.com"} 443/TCP',
    );
  });

  const resticHosts = (s3: AnyJson): string[] => {
    const run = runBackups({ ...SETTINGS, s3: { ...SETTINGS.s3, ...s3 } });
    const facts = run.components.clusters[0]?.contributions.get('backups')?.facts?.backup;
    return (facts?.podFlows ?? []).map(
      (flow) =>
        `${flow.name} ${flow.peer.kind === 'fqdn' ? flow.peer.name : JSON.stringify(flow.peer)} ${flow.ports.map((p) => p.port).join(',')}`,
    );
  };

  test("restic dials a compatible store path-style, whatever talos-backup's pathStyle says", () => {
    // minio-go v7.0.95 (restic 0.18.1): virtual-hosted only at AWS, Google and Aliyun endpoints.
    const expected = ['movers-s3 s3.example.com 443', 'verification-s3 s3.example.com 443'];
    expect(resticHosts({})).toEqual(expected);
    expect(resticHosts({ pathStyle: false })).toEqual(expected);
    expect(resticHosts({ pathStyle: true })).toEqual(expected);
  });

  test('restic dials AWS S3 virtual-hosted at the dual-stack regional endpoint', () => {
    const expected = [
      'movers-s3 homelab-backups.s3.dualstack.eu-west-1.amazonaws.com 443',
      'verification-s3 homelab-backups.s3.dualstack.eu-west-1.amazonaws.com 443',
    ];
    expect(resticHosts({ endpoint: 'https://s3.eu-west-1.amazonaws.com' })).toEqual(expected);
    expect(
      resticHosts({ endpoint: 'https://s3.eu-west-1.amazonaws.com', pathStyle: false }),
    ).toEqual(expected);
    // An endpoint without a region: the bucket's location is asked there first.
    expect(resticHosts({ endpoint: 'https://s3.amazonaws.com', region: 'eu-west-1' })).toEqual([
      'movers-s3 homelab-backups.s3.amazonaws.com 443',
      'verification-s3 homelab-backups.s3.amazonaws.com 443',
      'movers-s3-2 homelab-backups.s3.dualstack.eu-west-1.amazonaws.com 443',
      'verification-s3-2 homelab-backups.s3.dualstack.eu-west-1.amazonaws.com 443',
    ]);
    // A dotted bucket over https stays path-style (its certificate would not match).
    expect(
      resticHosts({ endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'backups.lab' }),
    ).toEqual([
      'movers-s3 s3.dualstack.eu-west-1.amazonaws.com 443',
      'verification-s3 s3.dualstack.eu-west-1.amazonaws.com 443',
    ]);
  });

  test('restic dials Google Cloud Storage virtual-hosted, an address as a network', () => {
    expect(resticHosts({ endpoint: 'https://storage.googleapis.com' })).toEqual([
      'movers-s3 homelab-backups.storage.googleapis.com 443',
      'verification-s3 homelab-backups.storage.googleapis.com 443',
    ]);
    expect(resticHosts({ endpoint: 'http://10.0.0.9:9000' })).toEqual([
      'movers-s3 {"kind":"cidr","cidr":"10.0.0.9/32"} 9000',
      'verification-s3 {"kind":"cidr","cidr":"10.0.0.9/32"} 9000',
    ]);
  });

  test('an endpoint that is a Service of the cluster (MinIO) is the pods behind it, on its port', () => {
    const minio = { endpoint: 'http://minio.storage.svc.cluster.local:9000' };
    expect(resticHosts(minio)).toEqual([
      'movers-s3 {"kind":"service","service":"minio","namespace":"storage"} 9000',
      'verification-s3 {"kind":"service","service":"minio","namespace":"storage"} 9000',
    ]);
    const run = runBackups({ ...SETTINGS, s3: { ...SETTINGS.s3, ...minio } });
    expect(errors(run)).toEqual([]);
    expect(table(run, 2)[3]).toBe(
      'talos-backup/talos-backup egress {"kind":"service","service":"minio","namespace":"storage"} 9000/TCP',
    );
  });

  test('virtual-hosted addressing of a Service of the cluster is an error: talos-backup would dial <bucket>.<service>, which the cluster DNS does not know', () => {
    const run = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, endpoint: 'http://minio.storage.svc:9000', pathStyle: false },
    });
    expect(
      errors(run)
        .filter((issue) => issue.code === 'backups-s3')
        .map((issue) => [formatPath(issue.path), issue.message])[0],
    ).toEqual([
      'clusters[0].components.backups.s3.pathStyle',
      'makes talos-backup address the bucket virtual-hosted, at homelab-backups.minio.storage.svc: the endpoint is Service minio of namespace storage, and the cluster DNS has no such name, so no etcd snapshot is written',
    ]);
  });

  test('without etcd snapshots only the controller has flows', () => {
    expect(table(runBackups({ ...SETTINGS, etcd: { enabled: false } }), 2)).toEqual([
      'volsync-system/volsync egress {"kind":"kube-apiserver"} 6443/TCP',
      'volsync-system/volsync ingress {"kind":"capability","capability":"metrics"} 8443/TCP',
    ]);
  });
});

describe('the S3 bucket', () => {
  test.each([
    ['a..b', 'has two dots in a row, which S3 and MinIO refuse in a bucket name'],
    ['a.-b', 'has a dot beside a hyphen, which S3 and MinIO refuse in a bucket name'],
    ['a-.b', 'has a dot beside a hyphen, which S3 and MinIO refuse in a bucket name'],
    ['192.168.1.1', 'is shaped like an IP address, which S3 and MinIO refuse as a bucket name'],
  ])(
    '%s, which the schema pattern lets through, is refused at the bucket, naming the rule',
    (bucket, message) => {
      // Given a bucket name restic's minio-go (checkBucketNameCommon) and AWS refuse
      const run = runBackups({ ...SETTINGS, s3: { ...SETTINGS.s3, bucket } });
      // Then every cluster has one error at s3.bucket, with the rule to follow
      const found = errors(run).filter((issue) => issue.code === 'backups-s3');
      expect(found.map((issue) => [formatPath(issue.path), issue.message, issue.value])).toEqual(
        [0, 1, 2].map((index) => [
          `clusters[${index}].components.backups.s3.bucket`,
          message,
          bucket,
        ]),
      );
      expect(found[0]?.expected).toContain(
        'no two dots in a row, no dot beside a hyphen, and not shaped like an IP address',
      );
    },
  );
});

describe('the S3 endpoint', () => {
  const refused = (endpoint: string) =>
    errors(runBackups({ ...SETTINGS, s3: { ...SETTINGS.s3, endpoint } }))
      .filter((issue) => formatPath(issue.path).startsWith('clusters[0]'))
      .map((issue) => [formatPath(issue.path), issue.code, issue.message, issue.value]);
  const AT = 'clusters[0].components.backups.s3.endpoint';

  test('a port outside 1–65535 is refused at the endpoint, not left without its egress policy', () => {
    expect(refused('https://s3.example.com:99999')).toEqual([
      [
        AT,
        'backups-s3',
        'has port 99999, which is not a TCP port (1–65535)',
        'https://s3.example.com:99999',
      ],
    ]);
  });

  test('a query is refused at the endpoint: restic would put the bucket inside it', () => {
    const run = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, endpoint: 'http://s3.example.com?x=XQ' },
    });
    const [issue] = errors(run).filter((found) => formatPath(found.path).startsWith('clusters[0]'));
    expect([formatPath(issue?.path ?? []), issue?.message, issue?.expected, issue?.value]).toEqual([
      AT,
      'has a query (?…): the bucket and the folders are appended to the endpoint, so they would land inside the query and every request would miss the bucket',
      'http://s3.example.com, without the query',
      'http://s3.example.com?****',
    ]);
    expect(JSON.stringify(errors(run))).not.toContain('XQ');
  });

  test('a path is refused at the endpoint, pointing at the bucket setting', () => {
    const run = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, endpoint: 'https://s3.example.com/homelab-backups' },
    });
    const [issue] = errors(run).filter((found) => formatPath(found.path).startsWith('clusters[0]'));
    expect([formatPath(issue?.path ?? []), issue?.expected]).toEqual([
      AT,
      'https://s3.example.com, with the bucket and the folder in s3.bucket (restic.prefix names the folder in it)',
    ]);
  });

  test('a host no egress policy can name is refused at the endpoint, and its flows are left out', () => {
    const run = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, endpoint: 'https://bad_host!.example.com' },
    });
    expect(
      errors(run)
        .filter((issue) => formatPath(issue.path).startsWith('clusters[0]'))
        .map((issue) => [formatPath(issue.path), issue.message]),
    ).toEqual([
      [
        AT,
        'has host "bad_host!.example.com", which is not a DNS name (letters, digits and hyphens in labels separated by dots): no DNS rule of the egress policy can allow it, so the S3 server would be unreachable',
      ],
    ]);
    const declared = run.components.clusters[0]?.contributions.get('backups');
    const peers = [...(declared?.flows ?? []), ...(declared?.facts?.backup?.podFlows ?? [])].map(
      (flow) => JSON.stringify(flow.peer),
    );
    expect(peers.filter((peer) => peer.includes('bad_host'))).toEqual([]);
  });

  test('a trailing slash is accepted and left out of the repositories', () => {
    const run = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, endpoint: 'https://s3.example.com/' },
    });
    expect(errors(run)).toEqual([]);
    const facts = run.components.clusters[2]?.contributions.get('backups')?.facts?.backup as
      | { resticRepositoryPrefix?: string }
      | undefined;
    expect(facts?.resticRepositoryPrefix).toBe(
      's3:https://s3.example.com/homelab-backups/restic/prod',
    );
  });
});

describe('a protected volume whose claim names the populator', () => {
  // The consumer asks, as applications does, for the backup provider's populator.
  const volume = populated(DATA);
  const run = runBackups(SETTINGS, [consumer([volume])]);
  const prod = run.platform.clusters[2] as AnyJson;
  const objects = (r: ReturnType<typeof runBackups>) =>
    Object.fromEntries(
      chartObjects(r.components, 'app', prod).map((o) => [
        `${o.kind}/${o.metadata.name}`,
        o as AnyJson,
      ]),
    );
  const file = runbookOf(run, 'prod');
  const lines = file.split('\n');
  const at = (line: string) => {
    const index = lines.indexOf(line);
    expect(index, line).toBeGreaterThanOrEqual(0);
    return index;
  };

  test('renders without errors, and the provider says which populator it has', () => {
    expect(errors(run)).toEqual([]);
    expect(
      run.components.clusters[2]?.contributions.get('backups')?.facts?.backup?.populator,
    ).toEqual({
      apiGroup: 'volsync.backube',
      kind: 'ReplicationDestination',
    });
  });

  test('gets a bootstrap that restores the latest snapshot once, into a snapshotted volume of the claim’s size', () => {
    const rd = objects(run)['ReplicationDestination/data-bootstrap'];
    expect(rd.metadata.labels).toMatchObject({
      'backup.homelab.dev/role': 'bootstrap',
      'backup.homelab.dev/volume': 'data',
    });
    expect(rd.spec).toEqual({
      trigger: { manual: 'bootstrap' },
      restic: {
        repository: 'data-restic',
        copyMethod: 'Snapshot',
        volumeSnapshotClassName: 'example-snapshot',
        capacity: '20Gi',
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'standard',
        cacheCapacity: '1Gi',
        cleanupCachePVC: true,
        moverSecurityContext: {
          runAsNonRoot: true,
          runAsUser: 1000,
          runAsGroup: 1000,
          fsGroup: 1000,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        moverResources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '2Gi' } },
      },
    });
    // not paused (a paused one never restores: the claim would stay Pending)
    expect(rd.spec.paused).toBeUndefined();
  });

  test("on a tier whose class retains its volumes, the bootstrap's volume takes the scratch class", () => {
    const fast = { ...volume, tier: 'fast-storage' };
    const scratch = runBackups(SETTINGS, [consumer([fast])], [cni, retaining, snapshots, gitops]);
    expect(
      objects(scratch)['ReplicationDestination/data-bootstrap'].spec.restic.storageClassName,
    ).toBe('fast-storage-scratch');
  });

  test("on every tier with a scratch class the bootstrap's lasting volume takes it, never the tier's", () => {
    // Given a provider that, as Longhorn, names a scratch class for every tier, and the volume on
    // standard, whose class deletes its volumes but has the tier's replicas and recurring jobs
    const longhornLike = runBackups(
      SETTINGS,
      [consumer([volume])],
      [cni, scratching, snapshots, gitops],
    );
    expect(errors(longhornLike)).toEqual([]);
    // Then the bootstrap's volume, kept for good (Longhorn clones only from a snapshot whose
    // volume exists), is on standard-scratch: one replica, no snapshot or backup jobs
    expect(
      objects(longhornLike)['ReplicationDestination/data-bootstrap'].spec.restic.storageClassName,
    ).toBe('standard-scratch');
  });

  test('a claim that names no populator gets no bootstrap', () => {
    expect(objects(runBackups())['ReplicationDestination/data-bootstrap']).toBeUndefined();
  });

  test('the runbook deletes the bootstrap with the claim, and has Argo CD make both again', () => {
    // The populator fills a new claim from the bootstrap's latestImage: the snapshot of the one
    // restore it ran when it was made (the empty first install). Deleted, Argo CD makes it anew
    // and it restores the latest snapshot.
    const source = at(
      'kubectl -n paperless delete replicationsource data-backup --ignore-not-found --timeout=5m',
    );
    const bootstrap = at(
      'kubectl -n paperless delete replicationdestination data-bootstrap --ignore-not-found --timeout=5m',
    );
    const claim = at('kubectl -n paperless delete pvc data --ignore-not-found --wait=false');
    const sync = at(
      `kubectl -n argocd patch application prod-app --type merge -p '{"operation":{"initiatedBy":{"username":"disaster-recovery"},"sync":{"prune":true,"syncOptions":[],"resources":[{"group":"volsync.backube","kind":"ReplicationDestination","name":"data-bootstrap","namespace":"paperless"},{"kind":"PersistentVolumeClaim","name":"data","namespace":"paperless"}]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
    );
    const restored = at(
      "kubectl -n paperless wait replicationdestination/data-bootstrap --for=jsonpath='{.status.lastManualSync}'=bootstrap --timeout=6h",
    );
    const bound = at(
      `kubectl -n paperless wait pvc/data --for=jsonpath='{.status.phase}'=Bound --timeout=15m`,
    );
    expect([bootstrap - source, claim - bootstrap]).toEqual([1, 1]);
    expect(sync).toBeGreaterThan(claim);
    expect(restored).toBeGreaterThan(sync);
    expect(bound - restored).toBe(1);
    expect(lines[bound + 1]).toBe(
      `RESULT="$(kubectl -n paperless get replicationdestination data-bootstrap -o jsonpath='{.status.latestMoverStatus.result}{"\\n"}{.status.latestMoverStatus.logs}')"`,
    );
    expect(file).toContain(
      'A protected claim Argo CD creates fills itself before any pod can mount it',
    );
    // and a claim deleted on a running cluster would be filled from the bootstrap's one restore
    expect(file).toContain(
      'The bootstrap restores once only: a claim deleted later is filled from that one restore',
    );
  });

  test.each(['sh', 'bash'])(
    "with %s, the bootstrap's result says EMPTY when VolSync restored nothing",
    (shell) => {
      const start = lines.findIndex((line) =>
        line.startsWith('RESULT="$(kubectl -n paperless get replicationdestination data-bootstrap'),
      );
      const check = (status: string) => lastLine(shell, lines.slice(start, start + 3), status);
      // VolSync 0.16 mover-restic/entry.sh on an empty repository: initialised, nothing
      // restored, exit 0.
      expect(
        check('Successful\nNo eligible snapshots found\n=== No data will be restored ==='),
      ).toBe(
        'EMPTY: paperless/data was filled with nothing (its repository has no snapshot, or the mover failed): restore it below before the workloads start on it',
      );
      expect(check('Successful\nSelected restic snapshot with id: 260043ca\n=== Done ===')).toBe(
        'filled paperless/data from its latest snapshot',
      );
    },
  );

  describe('the pods that mount the claim, listed before its workloads count as stopped', () => {
    const listing = `kubectl -n paperless get pods -o jsonpath='${PODS_AND_CLAIMS}' | awk -v claim=data '{ for (i = 2; i <= NF; i++) { name = $i; if (sub(/^ephemeral:/, "", name)) name = $1 "-" name; if (name "" == claim) { print $1; break } } }'`;
    /** What the listing prints with kubectl answering `get pods` with `pods`. */
    const listed = (pods: readonly string[]) =>
      withStandInScript(
        listing,
        'kubectl',
        [
          `[ "$*" = ${shellQuote(`-n paperless get pods -o jsonpath=${PODS_AND_CLAIMS}`)} ] || { echo "unexpected kubectl $*" >&2; exit 1; }`,
          `printf '%s\\n' ${pods.map(shellQuote).join(' ')}`,
        ].join('\n'),
      );

    test("the restore and the move list them with the claim replacement's jsonpath and awk, not a jsonpath filter", () => {
      // client-go's jsonpath filter on .spec.volumes[*].persistentVolumeClaim.claimName fails
      // ("can only compare one element at a time") on a pod with two claims or more, as every
      // VolSync restic mover (the claim and its cache): the list never came out empty.
      expect(lines.filter((line) => line === listing)).toHaveLength(2);
      expect(at(listing)).toBeGreaterThan(at('## 4. Restore the volumes from restic'));
      expect(lines.lastIndexOf(listing)).toBeGreaterThan(
        at("## Moving a volume's claim: another tier, a smaller size, another access mode"),
      );
      expect(file).not.toContain('claimName==');
      expect(runbookOf(runBackups(), 'prod')).toContain(`\n${listing}\n`);
      expect(runbookOf(runBackups(), 'prod')).not.toContain('claimName==');
      // the same form as the block that replaces a claim with no backup
      expect(listing).toContain(`get pods -o jsonpath='${PODS_AND_CLAIMS}' | awk -v claim=`);
    });

    test('prints each pod that mounts the claim, one a line, a mover with its cache claim too', () => {
      const run = listed([
        'paperless-web-6d9f-abcde media data',
        'volsync-src-data-backup-x7k2p data volsync-data-backup-cache',
        'data-restore-verify-29000000-x2x9z  ephemeral:scratch',
        'other-0 data-other',
        'paperless-redis-0 ',
        '',
      ]);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe('paperless-web-6d9f-abcde\nvolsync-src-data-backup-x7k2p\n');
    });

    test('prints nothing once no pod mounts it', () => {
      const run = listed(['other-0 data-other', 'volsync-src-other-backup-q1w2e data-other', '']);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe('');
    });
  });

  describe("moving the volume's claim (another tier, a smaller size, another access mode)", () => {
    const heading = "## Moving a volume's claim: another tier, a smaller size, another access mode";
    const section = lines.slice(lines.indexOf(heading));
    const index = (line: string) => {
      const found = section.indexOf(line);
      expect(found, line).toBeGreaterThanOrEqual(0);
      return found;
    };

    test('comes after the disaster recovery, with the volume’s commands in their order', () => {
      expect(lines.indexOf(heading)).toBeGreaterThan(lines.indexOf('## 5. Check'));
      const pause = index(
        `kubectl -n argocd patch application prod-app --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`,
      );
      const idle = index(
        'kubectl -n paperless wait replicationsource/data-backup --for=condition=Synchronizing=false --timeout=6h',
      );
      const trigger = index(
        `kubectl -n paperless patch replicationsource data-backup --type merge -p '{"spec":{"paused":false,"trigger":{"manual":"'"$STAMP"'"}}}'`,
      );
      const backedUp = index(
        `kubectl -n paperless wait replicationsource/data-backup --for=jsonpath='{.status.lastManualSync}'="$STAMP" --timeout=6h`,
      );
      const stamp = index('STAMP="move-$(date -u +%Y%m%d%H%M%S)"');
      const deleteSource = index(
        'kubectl -n paperless delete replicationsource data-backup --ignore-not-found --timeout=5m',
      );
      const deleteBootstrap = index(
        'kubectl -n paperless delete replicationdestination data-bootstrap --ignore-not-found --timeout=5m',
      );
      const sync = index(
        `kubectl -n argocd patch application prod-app --type merge -p '{"operation":{"initiatedBy":{"username":"volume-move"},"sync":{"prune":true,"syncOptions":[],"resources":[{"group":"volsync.backube","kind":"ReplicationDestination","name":"data-bootstrap","namespace":"paperless"},{"kind":"PersistentVolumeClaim","name":"data","namespace":"paperless"}]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
      );
      const bound = index(
        `kubectl -n paperless wait pvc/data --for=jsonpath='{.status.phase}'=Bound --timeout=15m`,
      );
      const resume = index(
        `kubectl -n argocd patch application prod-platform --type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}'`,
      );
      // No backup may start before the running one ends (its completion takes the tag), the
      // claim goes only after the backup, and the Applications come back last.
      expect(pause).toBeLessThan(idle);
      expect([stamp - idle, trigger - stamp, backedUp - trigger]).toEqual([1, 1, 1]);
      expect(backedUp).toBeLessThan(deleteSource);
      expect(deleteBootstrap - deleteSource).toBe(1);
      expect(sync).toBeGreaterThan(deleteBootstrap);
      expect(resume).toBeGreaterThan(bound);
      expect(section).toContain('Step 3, after the push of step 2:');
      // An empty fill points back at the restore of step 4, not "below"
      expect(section).toContain(
        `printf '%s\\n' "$RESULT" | head -n 1 | grep -qx Successful && ! printf '%s\\n' "$RESULT" | grep -q -e 'No eligible snapshots' -e 'No data will be restored' && echo 'filled paperless/data from its latest snapshot' || echo 'EMPTY: paperless/data was filled with nothing (its repository has no snapshot, or the mover failed): restore it with its section of "4. Restore the volumes from restic" above before the workloads start on it'`,
      );
    });

    test.each(['sh', 'bash'])(
      'with %s, the backup’s result says BACKUP FAILED unless it succeeded',
      (shell) => {
        const start = section.findIndex((line) =>
          line.startsWith('RESULT="$(kubectl -n paperless get replicationsource data-backup'),
        );
        expect(start).toBeGreaterThan(0);
        const check = (status: string) => lastLine(shell, section.slice(start, start + 3), status);
        expect(check('Successful\nsnapshot 1a2b3c4d saved')).toBe('backed up paperless/data');
        expect(check('Failed\nFatal: unable to open repository')).toBe(
          'BACKUP FAILED: paperless/data was not backed up: do not replace its claim, run step 4 (it removes the manual trigger and hands the Applications back) and find why',
        );
        expect(check('')).toMatch(/^BACKUP FAILED/);
      },
    );

    const clear = `MANUAL="$(kubectl -n paperless get replicationsource data-backup --ignore-not-found -o jsonpath='{.spec.trigger.manual}')" && { [ -z "$MANUAL" ] || kubectl -n paperless patch replicationsource data-backup --type merge -p '{"spec":{"trigger":{"manual":null}}}'; }`;

    test("step 4, the hand-back after a BACKUP FAILED too, removes step 1's manual trigger first", () => {
      // VolSync 0.16 (getTrigger) runs no scheduled backup while spec.trigger.manual is set and
      // lastManualSync equals it, and Argo CD keeps a field neither Git nor last-applied has:
      // the Application reads Synced while the volume is never backed up again.
      const step4 = index(
        'Step 4, also after a `BACKUP FAILED`: the first command removes the manual trigger of step 1',
      );
      const retry =
        '"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}';
      expect(section.slice(step4, step4 + 12)).toEqual([
        'Step 4, also after a `BACKUP FAILED`: the first command removes the manual trigger of step 1',
        'if the ReplicationSource is still there (scheduled backups stay off while',
        '`spec.trigger.manual` is set), then the Applications are handed back, each synced by hand',
        'first (Argo CD never syncs again by itself a revision whose last sync was ended):',
        '',
        '```sh',
        clear,
        // Each synced by hand before its policy is back: step 1 ended the syncs they ran.
        `kubectl -n argocd patch application prod-app --type merge -p '{"operation":{"initiatedBy":{"username":"volume-move"},"sync":{"prune":true,"syncOptions":[]},${retry}}}'`,
        `kubectl -n argocd patch application prod-app --type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}'`,
        `kubectl -n argocd patch application prod-platform --type merge -p '{"operation":{"initiatedBy":{"username":"volume-move"},"sync":{"prune":true,"syncOptions":[]},${retry}}}'`,
        `kubectl -n argocd patch application prod-platform --type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}'`,
        '```',
      ]);
      expect(index(clear)).toBeGreaterThan(
        index(
          `kubectl -n paperless patch replicationsource data-backup --type merge -p '{"spec":{"paused":false,"trigger":{"manual":"'"$STAMP"'"}}}'`,
        ),
      );
      // the steps say so, and the failure sends the operator there
      const text = section.join(' ').replace(/\s+/g, ' ');
      expect(text).toContain(
        'the last command says `BACKUP FAILED` when it did not: then stop here and run step 4.',
      );
      expect(text).toContain(
        "4. Remove step 1's manual trigger where the ReplicationSource still has it (after a `BACKUP FAILED`): while `spec.trigger.manual` is set VolSync runs none of its scheduled backups, and Argo CD leaves the field, which Git does not set, in place.",
      );
      expect(text).not.toContain('hand the Applications back (step 4)');
    });

    describe('the removal of the manual trigger, against the ReplicationSource kubectl reads', () => {
      /** What the line does with kubectl reading `manual` (`absent`: no ReplicationSource; `error`: the read fails). */
      const removal = (manual: string) =>
        withStandInScript(
          clear,
          'kubectl',
          [
            'case "$3" in',
            `  get) [ "$*" = ${shellQuote('-n paperless get replicationsource data-backup --ignore-not-found -o jsonpath={.spec.trigger.manual}')} ] || exit 2; case ${shellQuote(manual)} in absent) ;; error) echo 'connection refused' >&2; exit 1 ;; *) printf '%s' ${shellQuote(manual)} ;; esac ;;`,
            '  patch) ;;',
            '  *) exit 2 ;;',
            'esac',
          ].join('\n'),
        );
      const patch = [
        '-n',
        'paperless',
        'patch',
        'replicationsource',
        'data-backup',
        '--type',
        'merge',
        '-p',
        '{"spec":{"trigger":{"manual":null}}}',
      ];
      const get = [
        '-n',
        'paperless',
        'get',
        'replicationsource',
        'data-backup',
        '--ignore-not-found',
        '-o',
        'jsonpath={.spec.trigger.manual}',
      ];

      test('a trigger set: merge-patched to null (the key deleted, the schedule kept)', () => {
        const run = removal('move-20260102030405');
        expect(run.status).toBe(0);
        expect(run.calls).toEqual([get, patch]);
      });

      test('no trigger, or no ReplicationSource (deleted in step 3): nothing patched, no error', () => {
        for (const manual of ['', 'absent']) {
          const run = removal(manual);
          expect({ manual, status: run.status, calls: run.calls }).toEqual({
            manual,
            status: 0,
            calls: [get],
          });
        }
      });

      test('a failed read: nothing patched, and the line fails', () => {
        const run = removal('error');
        expect(run.status).not.toBe(0);
        expect(run.calls).toEqual([get]);
      });
    });

    test('is left out where no claim names its bootstrap', () => {
      expect(runbookOf(runBackups(), 'prod')).not.toContain("Moving a volume's claim");
    });
  });
});
