// Every key set under `argo-cd` in every layer of charts/argo-cd exists in the pinned upstream
// chart's values.yaml (vendored archive), or sits under a map the chart passes through as is.
import type { ResolvedPlatform, Values } from '@homelab/core';
import { readVendoredChartFile, unknownValueKeys } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderArgocd } from '../src/argocd.js';
import { ARGOCD_CHART } from '../src/versions.js';
import { fakeOutput, LONGHORN, referencePlatform } from './factory.js';

const upstream = parse(
  readVendoredChartFile('argo-cd', ARGOCD_CHART.version, 'values.yaml'),
) as Values;

/**
 * Maps whose keys the chart copies verbatim into a ConfigMap, as its values.yaml says
 * ("Any values you put under `.configs.cm` are passed to argocd-cm ConfigMap"; the same holds
 * for argocd-cmd-params-cm and argocd-rbac-cm). Empty maps (`{}`) in values.yaml are free-form too.
 */
const PASS_THROUGH = new Set(['configs.cm', 'configs.params', 'configs.rbac']);

function isMap(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths of keys in `ours` that the upstream values do not define (core's shared checker). */
function unknownKeys(ours: Values, theirs: Values): string[] {
  return unknownValueKeys(ours, theirs, undefined, { freeFormPaths: PASS_THROUGH });
}

function layers(platform: ResolvedPlatform): { name: string; values: Values }[] {
  const output = renderArgocd(platform, [fakeOutput(platform, LONGHORN)]);
  const chart = output.chart;
  if (chart === undefined) throw new Error('no chart');
  return [
    { name: 'values.yaml', values: chart.values },
    ...Object.entries(chart.environments).map(([env, values]) => ({
      name: `env/${env}.yaml`,
      values: values ?? {},
    })),
    ...Object.entries(chart.clusters).map(([cluster, values]) => ({
      name: `clusters/${cluster}.yaml`,
      values,
    })),
  ];
}

describe(`argo-cd ${ARGOCD_CHART.version} values conformance`, () => {
  const platform = referencePlatform((clusters) => {
    for (const cluster of clusters) {
      cluster.components = {
        argocd: {
          adminGroups: ['admins'],
          oidc: { clientId: 'argocd', clientSecret: '$argocd-oidc:client-secret' },
        },
      };
    }
  });
  const all = layers(platform);

  it('checks the base, every environment and every cluster layer', () => {
    expect(all.map((layer) => layer.name)).toEqual([
      'values.yaml',
      'env/development.yaml',
      'env/production.yaml',
      'env/staging.yaml',
      'clusters/dev.yaml',
      'clusters/staging.yaml',
      'clusters/prod.yaml',
    ]);
  });

  it.each(all.map((layer) => [layer.name, layer.values] as const))(
    'sets only upstream keys in %s',
    (_name, values) => {
      const ours = values['argo-cd'];
      expect(isMap(ours)).toBe(true);
      expect(unknownKeys(ours as Values, upstream)).toEqual([]);
    },
  );

  it('sets only upstream keys when Redis HA anti-affinity is relaxed on a small cluster', () => {
    const small = referencePlatform((clusters) => {
      const prod = clusters[2];
      if (prod) prod.nodes = [prod.nodes[0]];
    });
    const prod = layers(small).find((layer) => layer.name === 'clusters/prod.yaml');
    const ours = prod?.values['argo-cd'] as Values;
    expect(ours['redis-ha']).toEqual({
      hardAntiAffinity: false,
      haproxy: { hardAntiAffinity: false },
    });
    expect(unknownKeys(ours, upstream)).toEqual([]);
  });

  it('fails on a misspelled key', () => {
    const misspelled: Values = {
      server: { replica: 3, pdb: { enabled: true } },
      redisHa: { enabled: true },
    };
    expect(unknownKeys(misspelled, upstream)).toEqual(['server.replica', 'redisHa']);
  });

  it('fails on a map where upstream has a scalar', () => {
    expect(unknownKeys({ controller: { replicas: { min: 1 } } }, upstream)).toEqual([
      'controller.replicas',
    ]);
  });
});
