// The assembler wired as the CLI pipeline wires it: components run by core, every chart written
// as core writes it, objects as core's Helm render computes them, and core's output validation
// (the kubernetes-models Argo CD schemas) over every object of charts/platform and the root files.
import type { ChartSpec, Values } from '@homelab/core';
import {
  chartFiles,
  INITIAL_CHART_VERSION,
  loadModelValidators,
  parseAllDocuments,
  renderChart,
  type SourcedObject,
  validateObjects,
} from '@homelab/core';
import { testComponent, testRun } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { assembleApplications } from '../src/applications.js';
import { argocdValidators } from '../src/checks.js';
import { argocd, cilium, FLEET, fleetDefinition } from './fleet.js';

describe('charts/platform and the root Applications', () => {
  const { platform, components } = testRun(fleetDefinition(), FLEET);
  const assembled = assembleApplications(platform, components);

  it('assemble without issues', () => {
    expect(components.issues).toEqual([]);
    expect(assembled.issues).toEqual([]);
  });

  it('are written without chart issues, render for every cluster, and pass core output validation', async () => {
    const spec = assembled.chart as ChartSpec;
    const { files, issues } = chartFiles(spec, INITIAL_CHART_VERSION);
    expect(issues).toEqual([]);
    const sourced: SourcedObject[] = [];
    for (const cluster of platform.clusters) {
      const rendered = renderChart(files, [
        `env/${cluster.environment}.yaml`,
        `clusters/${cluster.name}.yaml`,
      ]);
      expect(rendered.issues).toEqual([]);
      sourced.push(
        ...rendered.objects.map((object) => ({
          source: `charts/platform/clusters/${cluster.name}.yaml`,
          object,
        })),
      );
    }
    for (const file of assembled.files) {
      sourced.push(
        ...parseAllDocuments(file.content).map((object) => ({
          source: file.path,
          object: object as SourcedObject['object'],
        })),
      );
    }
    // 3 clusters × (6 Applications + 6 AppProjects, one per purpose) + 3 × (root Application +
    // bootstrap project) …
    const namespaces = sourced.filter(({ object }) => object.kind === 'Namespace');
    expect(sourced.length - namespaces.length).toBe(42);
    // … and the namespaces the root creates, in its chart and in the runbook's file, each alike.
    expect(namespaces.length).toBeGreaterThan(0);
    for (const { object } of namespaces) {
      expect(object.metadata.annotations).toEqual({
        'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
        'argocd.argoproj.io/sync-wave': '-1',
      });
    }
    expect(validateObjects(sourced, await loadModelValidators(sourced))).toEqual([]);
    expect(
      validateObjects(
        sourced.filter(({ object }) => object.kind !== 'Namespace'),
        argocdValidators,
      ),
    ).toEqual([]);
  });

  it('catch a broken Application through core output validation, so the check can fail', async () => {
    const layer = assembled.chart?.clusters.dev?.manifests as { [key: string]: Values };
    const broken = structuredClone(layer['application-cilium']) as Values & {
      spec: { source: Values };
    };
    broken.spec.source.repoURL = 42;
    const sourced = [{ source: 'charts/platform#manifests.application-cilium', object: broken }];
    const issues = validateObjects(
      sourced as unknown as SourcedObject[],
      await loadModelValidators(sourced as unknown as SourcedObject[]),
    );
    expect(issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['object-schema', 'charts/platform#manifests.application-cilium.spec.source.repoURL'],
    ]);
  });
});

describe('Application sources', () => {
  it('refuse an Application whose chart has no layer for the cluster', () => {
    // A component whose chart forgot the prod layer: its Application there would point at a
    // value file that does not exist.
    const partial = testComponent({
      name: 'partial',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'partial', podSecurity: 'restricted', clusterResources: [] },
      }),
      render: (input) => ({
        chart: {
          name: 'partial',
          description: 'partial (test component)',
          appVersion: '1.0.0',
          values: {},
          environments: {},
          clusters: Object.fromEntries(
            input.clusters
              .filter((entry) => entry.cluster.name !== 'prod')
              .map((entry) => [entry.cluster.name, {}]),
          ),
          readme: { summary: 'partial for tests.' },
        },
      }),
    });
    const { platform, components } = testRun(fleetDefinition(), [cilium, argocd, partial]);
    const { issues } = assembleApplications(platform, components);
    expect(issues.map((issue) => [issue.code, issue.path, issue.output, issue.value])).toEqual([
      [
        'application-value-file',
        ['clusters', 2, 'components', 'partial'],
        'charts/platform/clusters/prod.yaml#manifests.application-partial.spec.source.helm.valueFiles[1]',
        'clusters/prod.yaml',
      ],
    ]);
  });
});
