// The package wired as the CLI pipeline will: the real Cilium component, Argo CD, the umbrella;
// chart files as core writes them, objects as core's Helm render computes them.

import { renderCilium } from '@homelab/cilium';
import type { ResolvedPlatform, SourcedObject } from '@homelab/core';
import { chartFiles, renderChart, validateObjects } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { assembleApplications } from '../src/applications.js';
import { renderArgocd } from '../src/argocd.js';
import { argocdValidators } from '../src/checks.js';
import { referencePlatform } from './factory.js';

function build(platform: ResolvedPlatform) {
  const cilium = renderCilium(platform);
  const argocd = renderArgocd(platform, [cilium]);
  const assembled = assembleApplications(platform, [cilium, argocd]);
  return { cilium, argocd, assembled };
}

describe('with the real Cilium component', () => {
  const platform = referencePlatform((clusters) => {
    for (const cluster of clusters) {
      cluster.components = {
        argocd: {
          oidc: {
            clientId: 'argocd',
            clientSecret: { secretName: 'argocd-oidc', key: 'client-secret' },
          },
        },
      };
    }
  });
  const { argocd, assembled } = build(platform);

  it('assembles without errors', () => {
    expect(argocd.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(assembled.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  });

  it('orders gateway-api-crds, then cilium, then argocd on every cluster', () => {
    for (const cluster of platform.clusters) {
      const { files } = chartFiles(assembled.chart, '0.1.0');
      const { objects } = renderChart(files, [
        `env/${cluster.environment}.yaml`,
        `clusters/${cluster.name}.yaml`,
      ]);
      const wave = (name: string) =>
        Number(
          objects.find((object) => object.metadata.name === `${cluster.name}-${name}`)?.metadata
            .annotations?.['argocd.argoproj.io/sync-wave'],
        );
      expect([wave('gateway-api-crds'), wave('cilium'), wave('argocd')]).toEqual([0, 1, 2]);
    }
  });

  it.each(['platform', 'argo-cd'])(
    'writes charts/%s without chart issues, and core validates every object',
    (name) => {
      const spec = name === 'platform' ? assembled.chart : argocd.chart;
      if (spec === undefined) throw new Error('no chart');
      const { files, issues } = chartFiles(spec, '0.1.0');
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
            source: `charts/${name}/${cluster.name}`,
            object,
          })),
        );
      }
      expect(sourced.length).toBeGreaterThan(2);
      expect(validateObjects(sourced, argocdValidators)).toEqual([]);
    },
  );
});
