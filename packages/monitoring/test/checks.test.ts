// Layer 4: monitors select namespaces something deploys.
import type { DeployedApplication, KubeObject, SystemInput } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { monitorsHaveTargets } from '../src/checks.js';
import { PROVIDERS, runMonitoring, watched } from './helpers.js';

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
function input(objects: (cluster: string) => { [key: string]: KubeObject }): SystemInput {
  return {
    platform: run.platform,
    files: [],
    clusters: run.components.clusters.map((clusterRun) => ({
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
