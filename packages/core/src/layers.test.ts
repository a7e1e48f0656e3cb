import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeValues } from './helm.js';
import {
  jsonEqual,
  manifestLayer,
  ownValues,
  sharedValues,
  shareEnvironmentValues,
} from './layers.js';
import type { ChartSpec, EnvironmentName, JsonValue, Values } from './types.js';

function spec(partial: Partial<ChartSpec>): ChartSpec {
  return {
    name: 'demo',
    description: 'demo',
    appVersion: '1.0.0',
    values: {},
    environments: {},
    clusters: {},
    readme: { summary: 'demo' },
    ...partial,
  };
}

const ENV: Record<string, EnvironmentName> = {
  a1: 'development',
  a2: 'development',
  a3: 'development',
  b1: 'production',
};
const environmentOf = (cluster: string): EnvironmentName | undefined => ENV[cluster];

/** What Helm renders for a cluster: values.yaml, then its environment's layer, then its own. */
function rendered(chart: ChartSpec, cluster: string): Values {
  const environment = ENV[cluster] as EnvironmentName;
  return mergeValues(
    chart.values,
    chart.environments[environment] ?? {},
    chart.clusters[cluster] ?? {},
  );
}

const policy = (name: string, port: number) => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name, namespace: 'demo' },
  spec: { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: String(port) }] }] }] },
});

describe('shareEnvironmentValues', () => {
  const chart = spec({
    values: { replicas: 1, probe: { path: '/healthz', delay: 5 } },
    environments: { development: { logLevel: 'debug' }, production: { logLevel: 'info' } },
    clusters: {
      a1: {
        manifests: { 'allow-web': policy('allow-web', 80), 'pool-a1': policy('pool', 1) },
        cilium: { k8sServiceHost: '10.0.1.1', hubble: { enabled: true } },
      },
      a2: {
        manifests: { 'allow-web': policy('allow-web', 80), 'pool-a2': policy('pool', 2) },
        cilium: { k8sServiceHost: '10.0.2.1', hubble: { enabled: true } },
        probe: { delay: null },
      },
      a3: {
        manifests: { 'allow-web': policy('allow-web', 80) },
        cilium: { k8sServiceHost: '10.0.3.1', hubble: { enabled: true } },
        logLevel: 'trace',
      },
      b1: { manifests: { 'allow-web': policy('allow-web', 443) } },
    },
  });
  const shared = shareEnvironmentValues(chart, environmentOf);

  it('moves what every cluster of an environment has in common into its layer', () => {
    expect(shared.environments.development).toEqual({
      manifests: { 'allow-web': policy('allow-web', 80) },
      cilium: { hubble: { enabled: true } },
    });
    expect(shared.clusters.a1).toEqual({
      manifests: { 'pool-a1': policy('pool', 1) },
      cilium: { k8sServiceHost: '10.0.1.1' },
      logLevel: 'debug',
    });
    expect(shared.clusters.a2).toEqual({
      manifests: { 'pool-a2': policy('pool', 2) },
      cilium: { k8sServiceHost: '10.0.2.1' },
      probe: { delay: null },
      logLevel: 'debug',
    });
    // a3 overrides the environment's logLevel: the value is no longer shared, each keeps its own.
    expect(shared.clusters.a3).toEqual({
      cilium: { k8sServiceHost: '10.0.3.1' },
      logLevel: 'trace',
    });
  });

  it('moves a manifest whole or not at all', () => {
    const split = spec({
      clusters: {
        a1: { manifests: { pool: policy('pool', 1), same: policy('same', 1) } },
        a2: { manifests: { pool: policy('pool', 2), same: policy('same', 1) } },
      },
    });
    const result = shareEnvironmentValues(split, environmentOf);
    expect(result.environments.development).toEqual({ manifests: { same: policy('same', 1) } });
    expect(result.clusters.a1).toEqual({ manifests: { pool: policy('pool', 1) } });
    expect(result.clusters.a2).toEqual({ manifests: { pool: policy('pool', 2) } });
  });

  it('leaves an environment with a single cluster as the component wrote it', () => {
    expect(shared.environments.production).toBe(chart.environments.production);
    expect(shared.clusters.b1).toBe(chart.clusters.b1);
  });

  it('renders every cluster exactly as before, nulls included', () => {
    for (const cluster of Object.keys(ENV)) {
      expect(rendered(shared, cluster)).toEqual(rendered(chart, cluster));
    }
    expect(rendered(shared, 'a2').probe).toEqual({ path: '/healthz' });
  });

  it('returns the spec itself when no environment has two clusters', () => {
    const single = spec({ clusters: { a1: { x: 1 }, b1: { x: 2 } } });
    expect(shareEnvironmentValues(single, environmentOf)).toBe(single);
  });

  it('does not modify the spec it is given', () => {
    const before = JSON.stringify(chart);
    shareEnvironmentValues(chart, environmentOf);
    expect(JSON.stringify(chart)).toBe(before);
  });

  it('names the layer a manifest comes from', () => {
    expect(manifestLayer(shared, { name: 'a1', environment: 'development' }, 'allow-web')).toBe(
      'env/development.yaml',
    );
    expect(manifestLayer(shared, { name: 'a1', environment: 'development' }, 'pool-a1')).toBe(
      'clusters/a1.yaml',
    );
    expect(manifestLayer(shared, { name: 'b1', environment: 'production' }, 'allow-web')).toBe(
      'clusters/b1.yaml',
    );
  });
});

// Small key and value alphabets, so that layers overlap often (shared keys, equal subtrees,
// tables against scalars, nulls).
const key = fc.constantFrom('a', 'b', 'c', 'manifests');
const leaf: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(null, 1, 2, 'x', true, [], [1]),
  fc.constantFrom<JsonValue>({}),
);
const { table } = fc.letrec<{ table: Values; value: JsonValue }>((tie) => ({
  table: fc.dictionary(key, tie('value'), { maxKeys: 4 }) as fc.Arbitrary<Values>,
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('table')),
}));

describe('shareEnvironmentValues: what Helm renders is unchanged (property)', () => {
  it('for any values.yaml, environment and cluster layers', () => {
    fc.assert(
      fc.property(
        table,
        table,
        table,
        fc.array(table, { minLength: 2, maxLength: 4 }),
        (base, development, production, layers) => {
          const clusters = Object.fromEntries(layers.map((layer, i) => [`a${i + 1}`, layer]));
          const chart = spec({
            values: base,
            environments: { development, production },
            clusters: { ...clusters, b1: layers[0] as Values },
          });
          const shared = shareEnvironmentValues(chart, (cluster) =>
            cluster.startsWith('a') ? 'development' : 'production',
          );
          for (const cluster of Object.keys(chart.clusters)) {
            const environment = cluster.startsWith('a') ? 'development' : 'production';
            const before = mergeValues(
              base,
              chart.environments[environment] ?? {},
              chart.clusters[cluster] ?? {},
            );
            const after = mergeValues(
              base,
              shared.environments[environment] ?? {},
              shared.clusters[cluster] ?? {},
            );
            expect(after).toEqual(before);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('sharedValues then ownValues give each table back through Helm`s -f merge', () => {
    fc.assert(
      fc.property(fc.array(table, { minLength: 1, maxLength: 4 }), (tables) => {
        const shared = sharedValues(tables);
        for (const full of tables) {
          expect(mergeValues({}, shared, ownValues(full, shared))).toEqual(mergeValues({}, full));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('jsonEqual', () => {
  it('ignores key order and tells lists, maps and scalars apart', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined as unknown as JsonValue })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});
