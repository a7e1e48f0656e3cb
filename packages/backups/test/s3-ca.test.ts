// An S3 endpoint whose certificate a private CA signed (`s3.caCertificate`): every S3 client of the
// backups trusts it (VolSync's restic movers through `customCA`, the restore verification and the
// runbook's one-shot restic pods through RESTIC_CACERT, talos-backup through AWS_CA_BUNDLE, the
// disaster-recovery runbook's aws commands through --ca-bundle), each reading a ConfigMap of its
// own namespace; nothing of it without the setting; a bad bundle refused at its line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPath } from '@homelab/core';
import { pasteShells, repoRoot } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { crdValidator } from './crds.js';
import {
  type AnyJson,
  chartObjects,
  consumer,
  DATA,
  populated,
  runBackups,
  SETTINGS,
} from './helpers.js';

/** A private CA's certificate (public: the Authelia tests' fixture). */
const CA = readFileSync(join(repoRoot(), 'packages/authelia/test/fixtures/private-ca.crt'), 'utf8');
const WITH_CA = { ...SETTINGS, s3: { ...SETTINGS.s3, caCertificate: CA } };

const objectsOf = (run: ReturnType<typeof runBackups>, chart: string): AnyJson[] =>
  chartObjects(run.components, chart, run.platform.clusters[0] as AnyJson) as AnyJson[];
const find = (objects: AnyJson[], kind: string, name: string): AnyJson =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const runbookOf = (run: ReturnType<typeof runBackups>): string =>
  run.components.components
    .find((c) => c.component.name === 'backups')
    ?.output.files?.find((f) => f.path === 'clusters/dev/disaster-recovery.md')?.content as string;

describe('an S3 endpoint with a CA of its own', () => {
  const run = runBackups(WITH_CA, [consumer([populated(DATA)])]);
  const app = objectsOf(run, 'app');
  const backups = objectsOf(run, 'backups');

  test('builds without errors, with the CA in a ConfigMap of the volume namespace and of the etcd backup', () => {
    expect(run.components.issues.filter((i) => i.severity === 'error')).toEqual([]);
    for (const [objects, namespace] of [
      [app, 'paperless'],
      [backups, 'talos-backup'],
    ] as const) {
      expect(find(objects, 'ConfigMap', 'backup-s3-ca')).toMatchObject({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'backup-s3-ca',
          namespace,
          labels: { 'app.kubernetes.io/part-of': 'backups' },
        },
        data: { 'ca.crt': CA },
      });
    }
  });

  test("VolSync's movers (backup, restore, bootstrap) take it as customCA, valid against the CRDs", () => {
    for (const [kind, name] of [
      ['ReplicationSource', 'data-backup'],
      ['ReplicationDestination', 'data-restore'],
      ['ReplicationDestination', 'data-bootstrap'],
    ] as const) {
      const object = find(app, kind, name);
      expect([name, object.spec.restic.customCA]).toEqual([
        name,
        { configMapName: 'backup-s3-ca', key: 'ca.crt' },
      ]);
      const validate = crdValidator(
        kind === 'ReplicationSource'
          ? 'volsync.backube_replicationsources.yaml'
          : 'volsync.backube_replicationdestinations.yaml',
      );
      expect(validate(object) ? [] : validate.errors).toEqual([]);
    }
  });

  test('the restore verification reads it as RESTIC_CACERT, mounted from the ConfigMap', () => {
    const pod = find(app, 'CronJob', 'data-restore-verify').spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0];
    expect(container.env).toContainEqual({
      name: 'RESTIC_CACERT',
      value: '/etc/backup-s3-ca/ca.crt',
    });
    expect(container.volumeMounts).toContainEqual({
      name: 's3-ca',
      mountPath: '/etc/backup-s3-ca',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({ name: 's3-ca', configMap: { name: 'backup-s3-ca' } });
  });

  test('talos-backup reads it as AWS_CA_BUNDLE, mounted from the ConfigMap of its namespace', () => {
    const pod = find(backups, 'CronJob', 'talos-backup').spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].env).toContainEqual({
      name: 'AWS_CA_BUNDLE',
      value: '/etc/backup-s3-ca/ca.crt',
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 's3-ca',
      mountPath: '/etc/backup-s3-ca',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({ name: 's3-ca', configMap: { name: 'backup-s3-ca' } });
  });

  test("the runbook's restic pods trust it, and its aws commands read it from a file it writes first", () => {
    const runbook = runbookOf(run);
    // The unlock pod's overrides carry the variable and the mount.
    const unlock = runbook
      .split('\n')
      .find((line) => line.includes('data-restic-unlock') && line.includes('--overrides'));
    expect(unlock).toContain('"RESTIC_CACERT"');
    expect(unlock).toContain('"backup-s3-ca"');
    const write = `printf '%s\\n' '${CA.trimEnd()}' > ./backup-s3-ca.pem`;
    expect(runbook).toContain(write);
    const aws = runbook.split('\n').filter((line) => /\baws s3 (ls|cp)\b/.test(line));
    expect(aws).toHaveLength(2);
    for (const line of aws) {
      expect(line).toContain(
        '--endpoint-url https://s3.example.com --ca-bundle ./backup-s3-ca.pem',
      );
    }
    expect(runbook.indexOf(write)).toBeLessThan(runbook.indexOf('aws s3 ls'));
  });

  test('the block that writes the CA, pasted into bash (and zsh where found), writes the PEM as given', () => {
    const runbook = runbookOf(run);
    const start = runbook.indexOf("printf '%s\\n' '-----BEGIN CERTIFICATE-----");
    const block = runbook.slice(start, runbook.indexOf('\n```', start));
    expect(block.endsWith('> ./backup-s3-ca.pem')).toBe(true);
    for (const shell of pasteShells('bash', ['-e', '-u'])) {
      const dir = mkdtempSync(join(tmpdir(), 'homelab-s3-ca-'));
      try {
        const result = spawnSync(shell.command, [...shell.args, block], {
          cwd: dir,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        expect([shell.name, result.status, result.stderr]).toEqual([shell.name, 0, '']);
        expect(readFileSync(join(dir, 'backup-s3-ca.pem'), 'utf8')).toBe(CA);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('without the setting none of it', () => {
    const plain = runBackups(SETTINGS, [consumer([populated(DATA)])]);
    const all = [...objectsOf(plain, 'app'), ...objectsOf(plain, 'backups')];
    expect(all.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    expect(JSON.stringify(all)).not.toContain('customCA');
    expect(JSON.stringify(all)).not.toContain('RESTIC_CACERT');
    expect(JSON.stringify(all)).not.toContain('AWS_CA_BUNDLE');
    expect(runbookOf(plain)).not.toContain('--ca-bundle');
  });

  test('a bundle that is no PEM, or one whose END line is indented, is refused at its line inside the setting', () => {
    const lines = CA.trimEnd().split('\n');
    // the END line indented: Go's PEM reader finds no end there
    const broken = [...lines.slice(0, -1), `  ${lines.at(-1)}`].join('\n');
    const issues = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, caCertificate: 'ca.crt' },
    }).components.issues.filter((i) => i.code === 'backups-s3-ca');
    expect(issues.map((i) => [formatPath(i.path), i.severity, i.message])).toContainEqual([
      'clusters[0].components.backups.s3.caCertificate',
      'error',
      'is not a PEM bundle of certificates: no -----BEGIN CERTIFICATE----- line (the value is the text of the certificates itself: a file name is not read), at line 1, column 1 of the PEM (restic and talos-backup would not load it, and every backup, restore and etcd snapshot would fail to reach the endpoint)',
    ]);
    const indented = runBackups({
      ...SETTINGS,
      s3: { ...SETTINGS.s3, caCertificate: broken },
    }).components.issues.filter((i) => i.code === 'backups-s3-ca');
    expect(indented.map((i) => [i.severity, i.within])).toContainEqual([
      'error',
      { line: lines.length, column: 3 },
    ]);
  });
});
