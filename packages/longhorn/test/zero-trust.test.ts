// Longhorn under zero trust: the flows it declares and the host paths it may mount, checked
// against the vendored chart 1.8.1 where the chart says it (ports, labels, host paths).
import type { FlowDeclaration } from '@homelab/core';
import { readVendoredChartFile } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { type AnyJson, definition, runLonghorn, storageClusters } from './helpers.js';

const VERSION = '1.8.1';

function declared(run: ReturnType<typeof runLonghorn>, cluster: string): AnyJson {
  return run.components.clusters
    .find((c) => c.cluster.name === cluster)
    ?.contributions.get('longhorn') as AnyJson;
}

function flowsOf(run: ReturnType<typeof runLonghorn>, cluster: string): FlowDeclaration[] {
  return declared(run, cluster).flows as FlowDeclaration[];
}

const byName = (flows: readonly FlowDeclaration[], name: string) => {
  const flow = flows.find((candidate) => candidate.name === name);
  if (flow === undefined) throw new Error(`no flow ${name}`);
  return flow;
};

describe("Longhorn's flows", () => {
  const run = runLonghorn();

  test('the manager accepts the API server on the webhook ports the chart gives its container', () => {
    const daemonset = readVendoredChartFile('longhorn', VERSION, 'templates/daemonset-sa.yaml');
    const ports = [...daemonset.matchAll(/containerPort: (\d+)/g)].map((match) => Number(match[1]));
    // 9500 manager, 9501 conversion webhook, 9502 admission webhook, 9503 recovery backend.
    expect(ports).toEqual([9500, 9501, 9502, 9503]);
    const webhooks = byName(flowsOf(run, 'dev'), 'manager-webhooks');
    expect(webhooks).toMatchObject({
      direction: 'ingress',
      namespace: 'longhorn-system',
      selector: { app: 'longhorn-manager' },
      peer: { kind: 'kube-apiserver' },
    });
    expect(webhooks.ports.map((port) => port.port)).toEqual(ports.slice(1, 3));
    // The chart's own NetworkPolicies select the same pods by the same labels.
    const policies = readVendoredChartFile(
      'longhorn',
      VERSION,
      'templates/network-policies/manager-network-policy.yaml',
    );
    expect(policies).toContain('app: longhorn-manager');
    expect(policies).toContain('app: longhorn-ui');
    expect(policies).toContain('app: longhorn-csi-plugin');
  });

  test('port ranges only ever join instance managers, and never name the world', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      const flows = flowsOf(run, cluster);
      const ranged = flows.filter((flow) => flow.ports.some((port) => port.endPort !== undefined));
      for (const flow of ranged) {
        expect(flow.peer.kind).toBe('self');
      }
      expect(byName(flows, 'engine-replicas')).toEqual({
        name: 'engine-replicas',
        direction: 'egress',
        namespace: 'longhorn-system',
        selector: { 'longhorn.io/component': 'instance-manager' },
        peer: { kind: 'self', selector: { 'longhorn.io/component': 'instance-manager' } },
        ports: [{ port: 10000, endPort: 20000, protocol: 'TCP' }],
        reason:
          'engines write to the replicas of other instance managers, replicas sync while rebuilding (the process port range)',
      });
      // Node-level needs name the nodes, and external peers are the backup target's host only.
      const external = flows.filter(
        (flow) => flow.peer.kind === 'fqdn' || flow.peer.kind === 'cidr',
      );
      expect(new Set(external.map((flow) => JSON.stringify(flow.peer)))).toEqual(
        new Set([JSON.stringify({ kind: 'fqdn', name: 's3.example.com' })]),
      );
      expect(
        flows
          .filter((flow) => flow.peer.kind === 'host')
          .map((flow) => [flow.name, flow.ports.map((port) => port.port)]),
      ).toEqual([
        ['iscsi', [3260]],
        ['nfs', [2049]],
      ]);
    }
  });

  test("each of the cluster's recurring jobs reaches longhorn-backend, and the UI gets the Gateway only when routed", () => {
    const names = flowsOf(run, 'prod')
      .filter((flow) => flow.name.startsWith('recurring-') && flow.name.endsWith('-manager'))
      .map((flow) => flow.selector['recurring-job.longhorn.io']);
    const jobs = (run.rendered.prod?.objects ?? [])
      .filter((object) => object.kind === 'RecurringJob')
      .map((object) => object.metadata.name);
    expect(jobs.length).toBeGreaterThan(0);
    expect([...names].sort()).toEqual([...jobs].sort());
    expect(flowsOf(run, 'prod').some((flow) => flow.peer.kind === 'gateway')).toBe(false);
  });

  test('an AWS backup target is reached by its regional names, no backup target means no egress out', () => {
    const aws = runLonghorn(
      definition(storageClusters(), {
        backupTarget: { bucket: 'homelab-longhorn', region: 'eu-west-1' },
      }),
    );
    const names = flowsOf(aws, 'dev')
      .filter((flow) => flow.peer.kind === 'fqdn')
      .map((flow) => [flow.name, (flow.peer as { name: string }).name]);
    expect(names).toEqual([
      [
        'manager-backup-target-homelab-longhorn.s3.eu-west-1.amazonaws.com',
        'homelab-longhorn.s3.eu-west-1.amazonaws.com',
      ],
      [
        'replica-backup-target-homelab-longhorn.s3.eu-west-1.amazonaws.com',
        'homelab-longhorn.s3.eu-west-1.amazonaws.com',
      ],
      ['manager-backup-target-s3.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'],
      ['replica-backup-target-s3.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'],
    ]);
    const none = runLonghorn(definition(storageClusters(), {}));
    expect(flowsOf(none, 'dev').filter((flow) => flow.peer.kind === 'fqdn')).toEqual([]);
  });
});

describe("Longhorn's host paths", () => {
  const run = runLonghorn();

  test("cover every hostPath of the chart's workloads, and no exemption of the host-paths policy remains", () => {
    const paths = declared(run, 'prod').application.hostPaths as string[];
    for (const template of ['daemonset-sa.yaml', 'deployment-driver.yaml', 'deployment-ui.yaml']) {
      const text = readVendoredChartFile('longhorn', VERSION, `templates/${template}`);
      for (const match of text.matchAll(/hostPath:\s*\n\s*path: (\S+)/g)) {
        const path = (match[1] as string).replace(/\/$/, '');
        // The coverage directory exists only in Longhorn's own test builds (`enableGoCoverDir`).
        if (path === '/go-cover-dir') continue;
        expect(paths.some((allowed) => path === allowed || path.startsWith(`${allowed}/`))).toBe(
          true,
        );
      }
    }
    expect(
      (declared(run, 'prod').application.policyExemptions as { policy: string }[]).map(
        (exemption) => exemption.policy,
      ),
    ).toEqual(['required-labels', 'resource-requests']);
  });

  test("are the run-time workloads' paths and each Longhorn disk of the cluster", () => {
    // prod-w2 holds the data disks `fast` and `bulk` (helpers.ts); dev only the system disk.
    expect(declared(run, 'prod').application.hostPaths).toEqual([
      '/',
      '/boot',
      '/dev',
      '/etc',
      '/lib/modules',
      '/proc',
      '/sys',
      '/var/lib/kubelet/plugins/driver.longhorn.io',
      '/var/lib/kubelet/plugins/kubernetes.io/csi',
      '/var/lib/kubelet/plugins_registry',
      '/var/lib/kubelet/pods',
      '/var/lib/longhorn',
      '/var/mnt/bulk',
      '/var/mnt/fast',
    ]);
    expect(declared(run, 'dev').application.hostPaths).not.toContain('/var/mnt/bulk');
  });
});
