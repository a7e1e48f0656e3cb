// Components' comparisons with the last build (`Component.changes`), through the whole pipeline
// on the reference platform (examples/reference/platform.yaml), the last build's charts standing
// for what the clusters run: what they are given, and bitwarden-sm's `bitwarden-map-changed`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeInput, Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GenerateResult, generate } from '../src/pipeline.js';
import { REGISTRY } from '../src/registry.js';
import { chartsOf, clustersOf } from './last-build.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const OLD = '95498907-add7-45cf-acbe-30bfbeed95eb';
const NEW = '0a1b2c3d-add7-45cf-acbe-30bfbeed95eb';
/** The top-level mapping of paperless' restic password (dev and staging; prod maps its own). */
const TOP_LEVEL = `      paperless/data-restic:\n        AWS_ACCESS_KEY_ID: 63c38e83-3d29-4dd1-ab29-7bad2f9cd3bb\n        AWS_SECRET_ACCESS_KEY: 2f524dcf-fe6f-452e-a3dc-afc3dbd64785\n        RESTIC_PASSWORD: ${OLD}\n`;

function remapped(text: string): string {
  if (!text.includes(TOP_LEVEL)) throw new Error('the mapping is not in the definition');
  return text.replace(TOP_LEVEL, TOP_LEVEL.replace(OLD, NEW));
}

const mapChanges = (result: GenerateResult): Issue[] =>
  result.issues.filter((issue) => issue.code === 'bitwarden-map-changed');

let last: GenerateResult;
let previousChart: ReturnType<typeof chartsOf>;

beforeAll(async () => {
  last = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
  expect(last.files.length).toBeGreaterThan(0);
  previousChart = chartsOf(last.files);
}, 120_000);

describe('the last build, as the comparisons read it', () => {
  it("reads each chart's and each cluster's folder once per build, however many clusters and checks ask", async () => {
    const reads = new Map<string, number>();
    const counted =
      <T>(kind: string, read: (name: string) => T) =>
      (name: string): T => {
        reads.set(`${kind} ${name}`, (reads.get(`${kind} ${name}`) ?? 0) + 1);
        return read(name);
      };
    // A change on every cluster, so that every comparison renders and reads.
    const text = definition.replace('  domain: lab.example.com', '  domain: home.example.org');
    expect(text).not.toBe(definition);
    const result = await generate({
      text,
      file: 'platform.yaml',
      chartVersions: {},
      previousChart: counted('chart', previousChart),
      previousCluster: counted('cluster', clustersOf(last.files)),
    });
    expect(result.issues.filter((issue) => issue.code === 'gateway-dns-record')).toHaveLength(3);
    expect(reads.get('chart platform')).toBe(1);
    expect(reads.get('cluster dev')).toBe(1);
    expect([...reads].filter(([, count]) => count > 1)).toEqual([]);
  }, 180_000);
});

describe("components' change checks", () => {
  it('are given, per cluster, the objects of the charts whose layers changed, as the last build wrote them and as they are now', async () => {
    const seen: ChangeInput[] = [];
    const registry = REGISTRY.map((component) =>
      component.name === 'coredns'
        ? {
            ...component,
            changes: [
              {
                name: 'spy',
                description: 'records its input',
                check: (input: ChangeInput) => {
                  seen.push(input);
                  return [];
                },
              },
            ],
          }
        : component,
    );
    // The same definition: nothing changed, no check runs.
    await generate(
      { text: definition, file: 'platform.yaml', chartVersions: {}, previousChart },
      { registry },
    );
    expect(seen).toEqual([]);
    // The restic password of dev and staging mapped anew: their applications chart alone.
    await generate(
      { text: remapped(definition), file: 'platform.yaml', chartVersions: {}, previousChart },
      { registry },
    );
    expect(seen.map((input) => input.cluster.name)).toEqual(['dev', 'staging']);
    for (const input of seen) {
      expect([...new Set(input.before.map((entry) => entry.chart))]).toEqual(['applications']);
      expect([...new Set(input.after.map((entry) => entry.chart))]).toEqual(['applications']);
      const secret = (side: ChangeInput['before']) =>
        side.find(
          (entry) =>
            entry.object.kind === 'BitwardenSecret' && entry.object.metadata.name === 'data-restic',
        )?.object.spec;
      expect(JSON.stringify(secret(input.before))).toContain(OLD);
      expect(JSON.stringify(secret(input.after))).toContain(NEW);
      // After, with the settings each object is made from where the component says so.
      expect(input.after.some((entry) => entry.origin !== undefined)).toBe(true);
    }
  }, 180_000);

  it('bitwarden-map-changed: one warning for dev and staging at the mapping, the build writes, the guide has both sections it names', async () => {
    const text = remapped(definition);
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = mapChanges(result);
    expect(found.map((issue) => [issue.severity, issue.output, issue.path.join('.')])).toEqual([
      [
        'warning',
        'charts/applications',
        'components.bitwarden-sm.secrets.paperless/data-restic.RESTIC_PASSWORD',
      ],
    ]);
    const line = text.slice(0, text.indexOf(`RESTIC_PASSWORD: ${NEW}`)).split('\n').length;
    expect(found[0]?.position).toEqual({ file: 'platform.yaml', line, column: 26 });
    expect(found[0]?.message).toContain(
      `now fills key RESTIC_PASSWORD of Secret paperless/data-restic on clusters "dev" and "staging", in place of the entry ${OLD}`,
    );
    for (const cluster of ['dev', 'staging']) {
      const guide = result.files.find(
        (file) => file.path === `clusters/${cluster}/rotating-secrets.md`,
      )?.content;
      expect(guide).toContain('\n## When the definition maps a key anew\n');
      // The old entry's section, which says what changing the value takes, as the last build wrote it.
      const before = last.files.find(
        (file) => file.path === `clusters/${cluster}/rotating-secrets.md`,
      )?.content;
      expect(before).toContain(`\n## Entry \`${OLD}\`\n`);
    }
  }, 180_000);
});

describe('longhorn-class-parameters-changed', () => {
  const TIER = '  longhorn:\n    backupTarget:';

  it("warns on prod alone when production's standard tier drops to 2 replicas, at the tier, with the volumes' patch", async () => {
    if (!definition.includes(TIER)) throw new Error('longhorn is not in the definition');
    const text = definition.replace(
      TIER,
      '  longhorn:\n    tiers:\n      standard:\n        replicas: { production: 2 }\n    backupTarget:',
    );
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter(
      (issue) => issue.code === 'longhorn-class-parameters-changed',
    );
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', 'standard', 'components.longhorn.tiers.standard'],
    ]);
    const line = text.split('\n').indexOf('      standard:') + 1;
    expect(found[0]?.position?.line).toBe(line + 1);
    expect(found[0]?.message).toContain(
      'changes the parameters of StorageClass standard on cluster "prod" from what the last build deployed (numberOfReplicas "3" → "2")',
    );
    expect(found[0]?.expected).toContain('\'{"spec":{"numberOfReplicas":2}}\'');
    // What the last build deployed on prod: 3 replicas in the standard class.
    const layer =
      last.files.find((file) => file.path === 'charts/longhorn/clusters/prod.yaml')?.content ?? '';
    const standard = layer.slice(layer.indexOf('\n      name: standard\n'));
    expect(standard.slice(0, standard.indexOf('\n  storageclass-') >>> 0)).toContain(
      '\n      numberOfReplicas: "3"\n',
    );
  }, 180_000);
});

describe('longhorn-taint-toleration-changed', () => {
  const LAST_DISK = '            tier: archive\n            minSize: 1TiB\n    components:\n';

  it('warns on prod alone when it gains a tainted storage worker, at longhorn, with the detach it takes', async () => {
    if (definition.split(LAST_DISK).length !== 2)
      throw new Error("prod's last disk is not found once");
    const text = definition.replace(
      LAST_DISK,
      [
        '            tier: archive',
        '            minSize: 1TiB',
        '      - hostname: prod-worker-4',
        '        role: worker',
        '        address: 10.30.10.24',
        '        link:',
        '          hardwareAddr: 00:1a:2b:1e:10:18',
        '        installDisk: { serial: S6B0NL0W100034 }',
        '        taints:',
        '          - { key: storage, value: dedicated, effect: NoSchedule }',
        '        disks:',
        '          - name: fast',
        '            selector: { serial: S6B0NL0W200004 }',
        '            class: ssd',
        '            tier: fast-storage',
        '    components:',
        '',
      ].join('\n'),
    );
    const result = await over(text);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const found = result.issues.filter(
      (issue) => issue.code === 'longhorn-taint-toleration-changed',
    );
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', 'storage=dedicated:NoSchedule', 'components.longhorn'],
    ]);
    expect(found[0]?.message).toContain(
      'changes the taints Longhorn tolerates on cluster "prod" (taint-toleration "" → "storage=dedicated:NoSchedule"',
    );
    // What the build now deploys on prod: the setting
    const layer =
      result.files.find((file) => file.path === 'charts/longhorn/clusters/prod.yaml')?.content ??
      '';
    expect(layer).toContain('taintToleration: storage=dedicated:NoSchedule');
  }, 180_000);
});

describe('prometheus-storage-changed', () => {
  const MONITORING = '  monitoring:\n    grafana:';

  it("warns where Prometheus' volume grows, with the patch of its claims, and where it moves to another tier", async () => {
    if (!definition.includes(MONITORING)) throw new Error('monitoring is not in the definition');
    // 30Gi on every cluster: dev (10Gi) and staging (20Gi) grow, prod (50Gi) shrinks.
    const text = definition.replace(
      MONITORING,
      '  monitoring:\n    prometheus:\n      storage: { size: 30Gi }\n    grafana:',
    );
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'prometheus-storage-changed');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', '30Gi', 'components.monitoring.prometheus.storage.size'],
      ['warning', '30Gi', 'components.monitoring.prometheus.storage.size'],
      ['warning', '30Gi', 'components.monitoring.prometheus.storage.size'],
    ]);
    const messages = found.map((issue) => issue.message);
    expect(
      messages.filter((message) =>
        message.startsWith('grows Prometheus\' volume on cluster "dev" from 10Gi'),
      ),
    ).toHaveLength(1);
    expect(
      messages.filter((message) =>
        message.startsWith('grows Prometheus\' volume on cluster "staging" from 20Gi'),
      ),
    ).toHaveLength(1);
    expect(
      messages.filter((message) =>
        message.startsWith('shrinks Prometheus\' volume on cluster "prod" from 50Gi'),
      ),
    ).toHaveLength(1);
    const grown = found.find((issue) => issue.message.includes('"dev"'));
    expect(grown?.expected).toBe(
      `once Argo CD synced the change, patch every claim Prometheus has (its class must allow expansion, as the storage provider's do): \`for claim in $(kubectl -n monitoring get pvc -l operator.prometheus.io/name=monitoring-prometheus -o name); do kubectl -n monitoring patch "$claim" --type merge -p '{"spec":{"resources":{"requests":{"storage":"30Gi"}}}}'; done\``,
    );
    // The Prometheus resource the label names is the one the chart deploys (kube-prometheus-stack's
    // fullnameOverride `monitoring`), and its claims are on a class that expands.
    const values = last.files.find(
      (file) => file.path === 'charts/monitoring/values.yaml',
    )?.content;
    expect(values).toContain('\n  fullnameOverride: monitoring\n');
    const longhorn =
      last.files.find((file) => file.path === 'charts/longhorn/clusters/dev.yaml')?.content ?? '';
    // The standard class's fields after its metadata: it expands.
    const standard = longhorn.slice(longhorn.indexOf('\n      name: standard\n'));
    expect(standard.slice(0, standard.indexOf('\n    parameters:'))).toContain(
      '\n    allowVolumeExpansion: true',
    );
    // Another tier: the claims stay on their class.
    const moved = await over(
      definition.replace(
        MONITORING,
        '  monitoring:\n    prometheus:\n      storage: { tier: fast-storage }\n    grafana:',
      ),
    );
    const classes = moved.issues.filter((issue) => issue.code === 'prometheus-storage-changed');
    expect(classes.map((issue) => [issue.value, issue.path.join('.')])).toEqual([
      ['fast-storage', 'components.monitoring.prometheus.storage'],
    ]);
    expect(classes[0]?.message).toContain(
      'on clusters "dev", "prod" and "staging" to StorageClass fast-storage from standard',
    );
  }, 180_000);
});

describe('authelia-storage-changed', () => {
  it("warns on staging alone when its Authelia moves to another PostgreSQL database, at staging's storage, with the export and import", async () => {
    const from =
      '            address: tcp://postgres.lab.example.com:5432\n            database: authelia_staging\n';
    if (!definition.includes(from)) throw new Error("staging's store is not in the definition");
    const text = definition.replace(from, from.replace('authelia_staging', 'authelia_staging2'));
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'authelia-storage-changed');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      [
        'warning',
        'PostgreSQL at tcp://postgres.lab.example.com:5432 (database authelia_staging2)',
        'clusters.1.components.authelia.storage',
      ],
    ]);
    expect(found[0]?.message).toBe(
      "moves Authelia's store on cluster \"staging\" from PostgreSQL at tcp://postgres.lab.example.com:5432 (database authelia_staging), which the last build deployed: Authelia starts on the new store empty (it has no migration between stores), so every user's second factors (TOTP, WebAuthn), the opaque identifiers OIDC clients know users by (their `sub`), consents and OIDC sessions stay behind: every user registers a second factor again, through the notifier's identity check",
    );
    expect(found[0]?.expected).toContain('`authelia storage user webauthn export`');
    expect(found[0]?.expected).toContain('`authelia storage user identifiers import <file>`');
  }, 180_000);
});

describe('gateway-dns-record', () => {
  it("warns on dev alone when its Gateway takes another address, with the runbook's record for it", async () => {
    const from = '        address: 10.10.10.254';
    if (!definition.includes(from))
      throw new Error("dev's Gateway address is not in the definition");
    const text = definition.replace(from, '        address: 10.10.10.253');
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'gateway-dns-record');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', '10.10.10.253', 'clusters.0.components.gateway.address'],
    ]);
    expect(found[0]?.position?.line).toBe(
      text.split('\n').indexOf('        address: 10.10.10.253') + 1,
    );
    expect(found[0]?.expected).toContain('`*.dev.lab.example.com.  IN  A  10.10.10.253`');
    // The record is the one the new runbook's step tells to make.
    expect(result.files.find((file) => file.path === 'clusters/dev/RUNBOOK.md')?.content).toContain(
      '\n    *.dev.lab.example.com.  IN  A  10.10.10.253\n',
    );
  }, 180_000);
});

describe('cilium-workload-selector-changed', () => {
  it("warns once for the three clusters when paperless is renamed with its namespace kept: the policies select the new name's pods", async () => {
    const APP = '      paperless:\n        # Zero trust';
    if (!definition.includes(APP) || !definition.includes('application: paperless\n'))
      throw new Error('paperless is not in the definition as the test expects');
    const text = definition
      .replace(APP, '      paperless-ngx:\n        namespace: paperless\n        # Zero trust')
      .replace('application: paperless\n', 'application: paperless-ngx\n');
    const result = await over(text);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter(
      (issue) => issue.code === 'cilium-workload-selector-changed',
    );
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', 'paperless', 'components.applications'],
    ]);
    expect(found[0]?.message).toContain(
      'whose policies on clusters "dev", "prod" and "staging" no longer select pods labelled `app.kubernetes.io/name=paperless`, as the last build\'s did, but `app.kubernetes.io/name=paperless-ngx`',
    );
    // The Redis pods the broker flow names keep their labels: not named
    expect(found[0]?.message).not.toContain('paperless-redis');
    // The policies the warning compares carry the label, in the last build's charts too
    expect(
      last.files.find((file) => file.path === 'charts/cilium/clusters/dev.yaml')?.content,
    ).toMatch(
      /homelab\.dev\/external-workloads: applications\n {6}name: applications-paperless-web-ingress\n/,
    );
    // The same definition: nothing
    const same = await over(definition);
    expect(
      same.issues.filter((issue) => issue.code === 'cilium-workload-selector-changed'),
    ).toEqual([]);
  }, 180_000);
});

describe('backup-target-changed', () => {
  const S3 = '      endpoint: https://s3.lab.example.com\n      bucket: homelab-backups\n';
  const AGE = 'agePublicKey: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

  it('warns on every cluster where the backups move to another bucket, and where the etcd snapshots get another age recipient', async () => {
    if (!definition.includes(S3) || !definition.includes(AGE))
      throw new Error('the backups are not in the definition');
    const moved = await over(
      definition.replace(S3, S3.replace('homelab-backups', 'homelab-backups-2')),
    );
    expect(moved.files.length).toBeGreaterThan(0);
    const bucket = moved.issues.filter((issue) => issue.code === 'backup-target-changed');
    expect(bucket.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', 'https://s3.lab.example.com/homelab-backups-2', 'components.backups.s3'],
    ]);
    // The volumes' repositories have their own warning: this one speaks of the etcd snapshots.
    expect(bucket[0]?.message).toContain(
      'moves the etcd snapshots of clusters "dev", "prod" and "staging" from https://s3.lab.example.com/homelab-backups, which the last build deployed, to https://s3.lab.example.com/homelab-backups-2',
    );
    const restic = moved.issues.filter((issue) => issue.code === 'backup-repository-changed');
    expect(restic.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual(
      ['dev', 'prod', 'staging'].map((cluster) => [
        'warning',
        `s3:https://s3.lab.example.com/homelab-backups-2/restic/${cluster}`,
        'components.backups.s3',
      ]),
    );
    expect(restic[0]?.expected).toContain(
      'paperless/data-restic: RESTIC_REPOSITORY=s3:https://s3.lab.example.com/homelab-backups-2/restic/dev/paperless/data',
    );
    // The URL the expected text points at: the runbook's secrets step names the new bucket.
    expect(moved.files.find((file) => file.path === 'clusters/dev/RUNBOOK.md')?.content).toContain(
      'RESTIC_REPOSITORY must be s3:https://s3.lab.example.com/homelab-backups-2/restic/dev/paperless/data',
    );
    const key = `age1${'q'.repeat(58)}`;
    const rekeyed = await over(definition.replace(AGE, `agePublicKey: ${key}`));
    const age = rekeyed.issues.filter((issue) => issue.code === 'backup-target-changed');
    // At the key, once for the three clusters, naming the old recipient (a public key: the
    // value at a key named like a key is masked all the same).
    expect(age.map((issue) => issue.path.join('.'))).toEqual([
      'components.backups.etcd.agePublicKey',
    ]);
    expect(age[0]?.message).toContain(
      'to another age recipient than the last build deployed (age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p)',
    );
    expect(age[0]?.expected).toContain('the old private key kept offline');
  }, 180_000);
});

describe('backup-target-changed: the etcd prefix', () => {
  const ETCD = '    etcd:\n      # `age-keygen`';

  it('warns on every cluster whose etcd snapshots move to another folder of the bucket, which the disaster-recovery runbook then reads', async () => {
    if (!definition.includes(ETCD)) throw new Error('the backups are not in the definition');
    const result = await over(
      definition.replace(ETCD, '    etcd:\n      prefix: snapshots\n      # `age-keygen`'),
    );
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'backup-target-changed');
    expect(found.map((issue) => [issue.severity, issue.path.join('.')])).toEqual(
      ['dev', 'prod', 'staging'].map(() => ['warning', 'components.backups.etcd.prefix']),
    );
    expect(found[0]?.message).toContain(
      'from https://s3.lab.example.com/homelab-backups/etcd/dev, which the last build deployed, to https://s3.lab.example.com/homelab-backups/snapshots/dev',
    );
    // The runbook's etcd restore looks under the new prefix, not the old.
    const recovery = result.files.find((file) => file.path === 'clusters/dev/disaster-recovery.md');
    expect(recovery?.content).toContain('snapshots/dev');
    expect(recovery?.content).not.toContain('etcd/dev');
  }, 180_000);
});

describe('backup-repository-changed', () => {
  const ETCD = '    etcd:\n      # `age-keygen`';

  it("warns on each cluster whose volumes' restic repositories move, naming the entries the runbook and the verification then expect", async () => {
    if (!definition.includes(ETCD)) throw new Error('the backups are not in the definition');
    const result = await over(
      definition.replace(ETCD, `    restic:\n      prefix: volumes\n${ETCD}`),
    );
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'backup-repository-changed');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual(
      ['dev', 'prod', 'staging'].map((cluster) => [
        'warning',
        `s3:https://s3.lab.example.com/homelab-backups/volumes/${cluster}`,
        'components.backups.restic.prefix',
      ]),
    );
    const repository = 's3:https://s3.lab.example.com/homelab-backups/volumes/dev/paperless/data';
    expect(found[0]?.message).toContain(
      'from s3:https://s3.lab.example.com/homelab-backups/restic/dev, which the last build deployed',
    );
    expect(found[0]?.expected).toContain(`paperless/data-restic: RESTIC_REPOSITORY=${repository}`);
    // The same repository in the runbook's secrets step and in the restore verification.
    const file = (path: string) => result.files.find((entry) => entry.path === path)?.content;
    expect(file('clusters/dev/RUNBOOK.md')).toContain(`RESTIC_REPOSITORY must be ${repository}`);
    expect(file('charts/applications/clusters/dev.yaml')).toContain(
      `- name: EXPECTED_RESTIC_REPOSITORY\n                      value: ${repository}\n`,
    );
    // The bucket did not move: no backup-target-changed.
    expect(result.issues.filter((issue) => issue.code === 'backup-target-changed')).toEqual([]);
  }, 180_000);
});

function over(text: string): Promise<GenerateResult> {
  return generate({ text, file: 'platform.yaml', chartVersions: {}, previousChart });
}

describe('private-ca-subject-changed', () => {
  it("warns on every cluster with a private CA when the platform's name changes its root's subject", async () => {
    const from = '  name: homelab\n';
    if (!definition.includes(`\nplatform:\n${from}`))
      throw new Error("the platform's name is not in the definition");
    const text = definition.replace(`\nplatform:\n${from}`, '\nplatform:\n  name: casa\n');
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'private-ca-subject-changed');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path.join('.')])).toEqual([
      ['warning', 'CN=casa dev root CA, O=casa', 'platform.name'],
      ['warning', 'CN=casa prod root CA, O=casa', 'platform.name'],
      ['warning', 'CN=casa staging root CA, O=casa', 'platform.name'],
    ]);
    expect(found[0]?.position?.line).toBe(text.split('\n').indexOf('  name: casa') + 1);
    // The same definition: none
    expect(
      (await over(definition)).issues.filter((i) => i.code === 'private-ca-subject-changed'),
    ).toEqual([]);
  }, 180_000);
});
