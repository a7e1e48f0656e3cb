// Layer 4: monitors select namespaces something deploys; every cluster's heartbeat pings its own check.
import type { DeployedApplication, KubeObject, SystemInput } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { heartbeatPerCluster, monitorsHaveTargets } from '../src/checks.js';
import { type MonitoringRun, PROVIDERS, runMonitoring, watched } from './helpers.js';

const run = runMonitoring({}, [
  ...PROVIDERS,
  watched('web', [
    {
      name: 'web',
      namespace: 'web',
      target: { kind: 'service', selector: { app: 'web' }, port: 'metrics' },
    },
  ]),
]);

/** The platform as the check sees it, with the monitoring Application applying `objects`. */
function input(
  objects: (cluster: string) => { [key: string]: KubeObject },
  from: MonitoringRun = run,
): SystemInput {
  return {
    platform: from.platform,
    files: [],
    clusters: from.components.clusters.map((clusterRun) => ({
      cluster: clusterRun.cluster,
      run: clusterRun,
      applications: [
        {
          name: 'monitoring',
          component: 'monitoring',
          bundle: undefined,
          wave: 3,
          namespace: 'monitoring',
          application: {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Application',
            metadata: { name: 'monitoring' },
          },
          objects: Object.entries(objects(clusterRun.cluster.name)).map(([key, object]) => ({
            object,
            source: `charts/monitoring/clusters/${clusterRun.cluster.name}.yaml#manifests.${key}`,
          })),
          installs: [],
          critical: false,
          origin: ['clusters', clusterRun.cluster.index, 'components', 'monitoring'],
        } satisfies DeployedApplication,
      ],
    })),
  };
}

describe('monitors-have-targets', () => {
  it('passes when every monitor selects a namespace an Application deploys into', () => {
    const objects = run.manifests('dev');
    expect(objects['servicemonitor-web-web']).toBeDefined();
    expect(monitorsHaveTargets.check(input((cluster) => run.manifests(cluster)))).toEqual([]);
  });

  it('fails for a monitor of a namespace nothing deploys, at the monitoring settings', () => {
    const issues = monitorsHaveTargets.check(
      input((cluster) => {
        const objects = { ...run.manifests(cluster) };
        const monitor = objects['servicemonitor-web-web'] as KubeObject;
        objects['servicemonitor-web-web'] = {
          ...monitor,
          spec: { ...(monitor.spec as object), namespaceSelector: { matchNames: ['shop'] } },
        };
        return objects;
      }),
    );
    expect(issues.map((issue) => [issue.path, issue.output, issue.value])).toEqual(
      ['dev', 'staging', 'prod'].map((cluster, index) => [
        ['clusters', index, 'components', 'monitoring'],
        `charts/monitoring/clusters/${cluster}.yaml#manifests.servicemonitor-web-web`,
        'shop',
      ]),
    );
    expect(issues[0]?.message).toBe(
      'ServiceMonitor web-web on cluster "dev" selects namespace "shop", which no Application there deploys into: it would scrape nothing',
    );
  });
});

describe('heartbeat-per-cluster', () => {
  const heartbeat = runMonitoring({
    alertmanager: {
      receivers: [
        { name: 'mail', webhook: { url: 'http://mail.tools.svc/' } },
        {
          name: 'heartbeat',
          webhook: { host: 'hc-ping.com' },
          credentials: { secretName: 'alertmanager-heartbeat', key: 'url' },
        },
      ],
      heartbeat: { receiver: 'heartbeat' },
    },
  });
  /** The BitwardenSecret the secrets provider deploys for the heartbeat's Secret, with `id`. */
  const filled = (id: string): KubeObject => ({
    apiVersion: 'k8s.bitwarden.com/v1',
    kind: 'BitwardenSecret',
    metadata: { name: 'alertmanager-heartbeat', namespace: 'monitoring' },
    spec: { secretName: 'alertmanager-heartbeat', map: [{ bwSecretId: id, secretKeyName: 'url' }] },
  });
  const ids: { [cluster: string]: string } = {
    dev: '96c40cbd-1d02-45ee-97d4-8849081c0f86',
    staging: '62fa8a2f-7905-4289-b867-8c422f746679',
    prod: '78fdf200-1af2-41f9-95b5-dc91da21c227',
  };

  it('passes when every cluster reads its ping URL from a Bitwarden secret of its own', () => {
    const objects = (cluster: string) => ({ 'bitwardensecret-hb': filled(ids[cluster] as string) });
    expect(heartbeatPerCluster.check(input(objects, heartbeat))).toEqual([]);
  });

  it('warns when two clusters ping one check (prod left on the top-level mapping), at the heartbeat', () => {
    const objects = (cluster: string) => ({
      'bitwardensecret-hb': filled((cluster === 'prod' ? ids.dev : ids[cluster]) as string),
    });
    const issues = heartbeatPerCluster.check(input(objects, heartbeat));
    expect(
      issues.map((issue) => [
        issue.severity,
        issue.code,
        issue.path,
        issue.message,
        issue.expected,
      ]),
    ).toEqual([
      [
        'warning',
        'heartbeat-per-cluster',
        ['clusters', 2, 'components', 'monitoring', 'alertmanager', 'heartbeat'],
        'cluster "prod" pings the same heartbeat check as cluster "dev" (Bitwarden secret 96c40cbd-1d02-45ee-97d4-8849081c0f86 (monitoring/alertmanager-heartbeat: url)): the check stays green while either cluster pings it, so one of them going down is never noticed',
        'a check of its own for cluster "prod": its ping URL in another Bitwarden secret, mapped under the cluster\'s bitwarden-sm.secrets',
      ],
    ]);
  });

  it('warns about one ping URL written in the definition for every cluster, and ignores clusters without a heartbeat', () => {
    const literal = runMonitoring({
      alertmanager: {
        receivers: [{ name: 'heartbeat', webhook: { url: 'https://kuma.lab.example/api/push/x' } }],
        heartbeat: { receiver: 'heartbeat' },
      },
    });
    const issues = heartbeatPerCluster.check(input(() => ({}), literal));
    expect(issues.map((i) => i.path[1])).toEqual([1, 2]);
    // The ping URL's path is its token: the message names the host, never the URL.
    expect(issues.map((i) => i.message)).toEqual(
      ['staging', 'prod'].map(
        (cluster) =>
          `cluster "${cluster}" pings the same heartbeat check as cluster "dev" (an inline URL at kuma.lab.example): the check stays green while either cluster pings it, so one of them going down is never noticed`,
      ),
    );
    expect(JSON.stringify(issues)).not.toContain('/api/push/x');
    expect(heartbeatPerCluster.check(input(() => ({}), run))).toEqual([]);
  });
});
