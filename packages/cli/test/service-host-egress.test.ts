// Hosts a user gives in settings that are Services of the cluster (<svc>.<ns>.svc[.<cluster
// domain>]) on the reference platform (Cilium's default deny): Authelia's PostgreSQL and the
// backups' S3 endpoint (the restic repositories, the etcd snapshots) served by applications of the
// definition. Each egress names the pods of the Service's namespace, never the Service's DNS name
// (a toFQDNs rule would allow the ClusterIP, which Cilium translates to a pod before the policy
// applies), the application's pods there admit the callers, and the reachability check proves it.
import type { KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { generateSeen, reference } from './broken-output.js';

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`not in the reference: ${from}`);
  return text.replace(from, to);
}

/** The reference with one more application, `name` in `namespace`, under default deny. */
function withApp(text: string, name: string, namespace: string, port: number): string {
  return replaceOnce(
    text,
    '  applications:\n    apps:\n',
    `  applications:\n    apps:\n      ${name}:\n        namespace: ${namespace}\n        flows:\n          - name: api\n            kubeApiserver: true\n            ports: [{ port: 6443 }]\n            reason: reads its configuration (${port} is where it serves)\n`,
  );
}

const run = generateSeen;

// biome-ignore lint/suspicious/noExplicitAny: the tests read into the policies' specs.
type Loose = any;

const policiesOf = (objects: KubeObject[]): Loose[] =>
  objects.filter((object) => object.kind === 'CiliumNetworkPolicy') as Loose[];

/** [endpointSelector, rules] of the policies in `namespace` whose `side` rules mention `text`. */
function rules(policies: Loose[], namespace: string, side: 'egress' | 'ingress', text: string) {
  return policies
    .filter(
      (policy) =>
        policy.metadata.namespace === namespace &&
        JSON.stringify(policy.spec[side] ?? []).includes(text),
    )
    .map((policy) => [policy.spec.endpointSelector, policy.spec[side]]);
}

describe('a setting naming a Service of the cluster', { timeout: 300_000 }, () => {
  it("Authelia's PostgreSQL at postgres.databases.svc.cluster.local: egress to the pods, ingress there, reachable", async () => {
    const text = withApp(
      replaceOnce(
        reference,
        'address: tcp://postgres.lab.example.com:5432\n            database: authelia_staging',
        // Plain TCP: no public CA signs a certificate for a cluster-internal name, and Authelia
        // trusts only those (`authelia-cluster-tls`).
        'address: tcp://postgres.databases.svc.cluster.local:5432\n            tls: false\n            database: authelia_staging',
      ),
      'postgres',
      'databases',
      5432,
    );
    const { issues, reports, objects } = await run(text);
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    // PostgreSQL is the definition's own workload (no component renders its Service): 5432 is
    // taken as the pods' port, and the warning says so; Authelia has no setting for another.
    expect(
      issues
        .filter((issue) => issue.code === 'flow-service-port' && issue.message.includes('authelia'))
        .map((issue) => [issue.severity, issue.message, issue.expected]),
    ).toEqual([
      [
        'warning',
        'authelia flow "postgres" on cluster "staging" calls Service postgres.databases.svc on 5432/TCP, which no component of the platform renders: the policy allows every pod of namespace "databases" on that port, taken as the port the pods listen on; Cilium translates the Service\'s port to its targetPort before the policy applies, so if the Service maps it to another port every connection is dropped under default deny',
        'a Service postgres whose targetPort is its port (5432/TCP): no setting of authelia states another port for the pods',
      ],
    ]);
    const policies = policiesOf(objects('staging'));
    expect(rules(policies, 'authelia', 'egress', 'databases')).toEqual([
      [
        {
          matchLabels: {
            'app.kubernetes.io/instance': 'authelia',
            'app.kubernetes.io/name': 'authelia',
          },
        },
        [
          {
            toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'databases' } }],
            toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
          },
        ],
      ],
    ]);
    expect(JSON.stringify(policies.map((policy) => policy.spec.egress ?? []))).not.toContain(
      'toFQDNs":[{"matchName":"postgres.',
    );
    expect(rules(policies, 'databases', 'ingress', 'authelia')).toEqual([
      [
        { matchLabels: {} },
        [
          {
            // Staging's mutual authentication (SPIRE) between the pods, as for every pod peer.
            authentication: { mode: 'required' },
            fromEndpoints: [
              {
                matchLabels: {
                  'app.kubernetes.io/instance': 'authelia',
                  'app.kubernetes.io/name': 'authelia',
                  'k8s:io.kubernetes.pod.namespace': 'authelia',
                },
              },
            ],
            toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
          },
        ],
      ],
    ]);
    const report = reports.find((candidate) => candidate.name === 'reachability');
    expect(report?.lines.filter((line) => line.includes('→ databases/'))).toEqual([
      '    allowed  authelia/authelia,authelia → databases/* 5432/TCP  [authelia.postgres]',
    ]);
    expect(issues.filter((issue) => issue.code === 'reachability')).toEqual([]);
  });

  it('the restic repositories and etcd snapshots at an in-cluster MinIO: egress to its pods from movers, verification and talos-backup', async () => {
    const text = withApp(
      replaceOnce(
        reference,
        '    s3:\n      endpoint: https://s3.lab.example.com\n      bucket: homelab-backups',
        '    s3:\n      endpoint: http://minio.storage.svc.cluster.local:9000\n      bucket: homelab-backups',
      ),
      'minio',
      'storage',
      9000,
    );
    const { issues, reports, objects } = await run(text);
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const policies = policiesOf(objects('dev'));
    expect(JSON.stringify(policies.map((policy) => policy.spec.egress ?? []))).not.toContain(
      'minio.storage.svc',
    );
    const toMinio = [
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'storage' } }],
        toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }],
      },
    ];
    expect(rules(policies, 'paperless', 'egress', 'storage')).toEqual([
      [{ matchLabels: { 'app.kubernetes.io/created-by': 'volsync' } }, toMinio],
      [
        {
          matchLabels: {
            'app.kubernetes.io/part-of': 'backups',
            'backup.homelab.dev/role': 'verification',
          },
        },
        toMinio,
      ],
    ]);
    expect(rules(policies, 'talos-backup', 'egress', 'storage')).toEqual([
      [{ matchLabels: { 'app.kubernetes.io/name': 'talos-backup' } }, toMinio],
    ]);
    const admitted = rules(policies, 'storage', 'ingress', 'volsync')
      .concat(rules(policies, 'storage', 'ingress', 'verification'))
      .concat(rules(policies, 'storage', 'ingress', 'talos-backup'));
    expect(admitted.length).toBe(3);
    const report = reports.find((candidate) => candidate.name === 'reachability');
    // Every cluster (dev, staging, prod) backs up to the same repository.
    const toStorage = [
      '    allowed  paperless/backups,verification → storage/* 9000/TCP  [applications.backup-verification-s3-paperless]',
      '    allowed  paperless/volsync → storage/* 9000/TCP  [applications.backup-movers-s3-paperless]',
      '    allowed  talos-backup/talos-backup → storage/* 9000/TCP  [backups.talos-backup-s3]',
    ];
    expect(report?.lines.filter((line) => line.includes('→ storage/'))).toEqual([
      ...toStorage,
      ...toStorage,
      ...toStorage,
    ]);
    expect(issues.filter((issue) => issue.code === 'reachability')).toEqual([]);
  });
});
