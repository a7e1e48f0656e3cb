import { describe, expect, it } from 'vitest';
import { componentSettings, type Registry, runComponents } from './components.js';
import type { AnyComponent, CapabilityFacts } from './contract.js';
import { composeDefinitionSchema } from './definition-schema.js';
import { formatPath } from './issues.js';
import { definitionValidator, loadDefinition } from './load.js';
import { positionIssues } from './positions.js';
import { resolvePlatform } from './resolve.js';
import {
  testCluster,
  testComponent,
  testDefinition,
  testReferenceClusters,
  validDefinition,
} from './testing-factory.js';
import { toYaml } from './yaml.js';

const gitopsFacts: CapabilityFacts['gitops'] = { namespace: 'argocd', version: 'v1' };

/** A provider of `secrets` that makes one marker object per declared Secret, for its consumers. */
const secretsProvider = testComponent({
  name: 'vault',
  provides: ['secrets'],
  contribution: () => ({
    application: { namespace: 'vault', podSecurity: 'restricted', clusterResources: [] },
    facts: { secrets: { store: 'Vault' } },
  }),
  render: (input) => ({
    chart: {
      name: 'vault',
      description: 'vault',
      appVersion: '1',
      values: {},
      environments: {},
      clusters: Object.fromEntries(input.clusters.map((entry) => [entry.cluster.name, {}])),
      readme: { summary: 'vault' },
    },
    forConsumers: input.clusters.flatMap((entry) =>
      entry.others.flatMap((peer) =>
        (peer.contribution.secrets ?? []).map((secret) => ({
          component: peer.component,
          cluster: entry.cluster.name,
          manifests: {
            [`secret-${secret.name}`]: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: secret.name, namespace: secret.namespace },
            },
          },
        })),
      ),
    ),
  }),
});

/** A consumer that needs secrets and records the facts it saw. */
function consumer(seen: unknown[] = []): AnyComponent {
  const base = testComponent({ name: 'app', needs: ['secrets'] });
  return {
    ...base,
    declare: (input) => {
      seen.push(input.provided.secrets);
      return {
        application: { namespace: 'app', podSecurity: 'restricted', clusterResources: [] },
        secrets: [{ name: 'app-token', namespace: 'app', keys: ['token'] }],
      };
    },
  };
}

describe('runComponents', () => {
  it('declares providers before consumers and hands the consumer its providers facts', () => {
    // Given a consumer registered before its provider
    const seen: unknown[] = [];
    const registry: Registry = [consumer(seen), secretsProvider];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    // When the components run
    const result = runComponents(platform, registry);
    // Then the provider came first and its facts reached the consumer
    expect(result.issues).toEqual([]);
    expect(result.clusters[0]?.order).toEqual(['vault', 'app']);
    expect(result.clusters[0]?.dependsOn.get('app')).toEqual(['vault']);
    expect(seen).toEqual([{ store: 'Vault' }]);
  });

  it('hands a reader its provider facts and orders the declarations, not the sync waves', () => {
    // Given a consumer that only reads the secrets provider's facts, and a late provider
    const seen: unknown[] = [];
    const base = consumer(seen);
    const reader: AnyComponent = { ...base, needs: [], reads: ['secrets'] };
    const late: AnyComponent = { ...secretsProvider, syncLate: 'it calls home at start-up' };
    const registry: Registry = [reader, late];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    // When the components run
    const run = runComponents(platform, registry).clusters[0];
    // Then the provider was declared first and its facts reached the reader
    expect(run?.order).toEqual(['vault', 'app']);
    expect(seen).toEqual([{ store: 'Vault' }]);
    expect(run?.dependsOn.get('app')).toEqual(['vault']);
    // but the reader's Application waits for nothing, and the late provider is named
    expect(run?.startsAfter.get('app')).toEqual([]);
    expect([...(run?.syncLate ?? [])]).toEqual([['vault', 'it calls home at start-up']]);
    // A consumer that needs the capability waits for it
    const needing = runComponents(
      resolvePlatform(
        validDefinition(testDefinition([testCluster('a', 'development', 1)]), [
          consumer(),
          secretsProvider,
        ]),
      ),
      [consumer(), secretsProvider],
    ).clusters[0];
    expect(needing?.startsAfter.get('app')).toEqual(['vault']);
    expect(needing?.syncLate.size).toBe(0);
  });

  it('places what a provider makes for a consumer in the consumer chart cluster layer', () => {
    const registry: Registry = [consumer(), secretsProvider];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    const app = runComponents(platform, registry).components.find(
      (run) => run.component.name === 'app',
    );
    // Pruned with the consumer's chart even where the consumer's Application is critical and
    // syncs with Prune=false (the object's own option wins: gitops-engine isPruningDisabled).
    expect(app?.output.chart?.clusters.a?.manifests).toEqual({
      'secret-app-token': {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'app-token',
          namespace: 'app',
          annotations: { 'argocd.argoproj.io/sync-options': 'Prune=true' },
        },
      },
    });
  });

  it('keeps the origins a provider gives its objects beside the consumer chart, not in it', () => {
    const origin = {
      path: ['clusters', 0, 'components', 'app', 'token'],
      fields: { data: ['clusters', 0, 'components', 'app', 'token', 'keys'] },
    };
    const withOrigins = {
      ...secretsProvider,
      render: (input: Parameters<typeof secretsProvider.render>[0]) => {
        const output = secretsProvider.render(input);
        return {
          ...output,
          forConsumers: (output.forConsumers ?? []).map((entry) => ({
            ...entry,
            origins: Object.fromEntries(Object.keys(entry.manifests).map((key) => [key, origin])),
          })),
        };
      },
    };
    const registry: Registry = [consumer(), withOrigins];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    const runs = runComponents(platform, registry).components;
    const app = runs.find((run) => run.component.name === 'app');
    expect(app?.output.origins).toEqual({ a: { 'secret-app-token': origin } });
    expect(JSON.stringify(app?.output.chart)).not.toContain('"keys"');
    // Without origins, the consumer's output has none.
    const plain = runComponents(platform, [consumer(), secretsProvider]).components.find(
      (run) => run.component.name === 'app',
    );
    expect(plain?.output.origins).toBeUndefined();
  });

  it("merges Prune=true with a provider's own sync options, and keeps a Prune it chose", () => {
    const withOptions = (options: string) => ({
      ...secretsProvider,
      render: (input: Parameters<typeof secretsProvider.render>[0]) => {
        const output = secretsProvider.render(input);
        return {
          ...output,
          forConsumers: (output.forConsumers ?? []).map((entry) => ({
            ...entry,
            manifests: Object.fromEntries(
              Object.entries(entry.manifests).map(([key, object]) => [
                key,
                {
                  ...object,
                  metadata: {
                    ...object.metadata,
                    annotations: { 'argocd.argoproj.io/sync-options': options, other: 'x' },
                  },
                },
              ]),
            ),
          })),
        };
      },
    });
    const placed = (options: string) => {
      const registry: Registry = [consumer(), withOptions(options)];
      const platform = resolvePlatform(
        validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
      );
      const manifests = runComponents(platform, registry).components.find(
        (run) => run.component.name === 'app',
      )?.output.chart?.clusters.a?.manifests as {
        [key: string]: { metadata: { annotations: { [key: string]: string } } };
      };
      return manifests['secret-app-token']?.metadata.annotations;
    };
    expect(placed('SkipDryRunOnMissingResource=true')).toEqual({
      'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true,Prune=true',
      other: 'x',
    });
    // A claim keeps its data: Prune=false,Delete=false stays as its provider made it.
    expect(placed('Prune=false,Delete=false')).toEqual({
      'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
      other: 'x',
    });
  });

  it('names both ends when a need has no provider on the cluster', () => {
    const registry: Registry = [
      consumer(),
      {
        ...secretsProvider,
        settings: { ...secretsProvider.settings, defaults: { enabled: false } },
      },
    ];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    const [issue] = runComponents(platform, registry).issues;
    expect(issue).toMatchObject({
      code: 'capability-unprovided',
      path: ['clusters', 0, 'components', 'app'],
      value: 'secrets',
    });
    expect(issue?.message).toBe(
      'app needs "secrets", which no component enabled on cluster "a" provides',
    );
    expect(issue?.expected).toContain('vault enabled on cluster "a"');
  });

  it('reports a cycle of needs with the chain', () => {
    const registry: Registry = [
      testComponent({ name: 'one', provides: ['dns'], needs: ['metrics'] }),
      testComponent({ name: 'two', provides: ['metrics'], needs: ['dns'] }),
    ];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    const issues = runComponents(platform, registry).issues.filter(
      (i) => i.code === 'capability-cycle',
    );
    expect(issues.map((issue) => issue.value)).toEqual(['one → two → one']);
  });

  it('refuses two enabled providers of one capability', () => {
    const registry: Registry = [
      testComponent({
        name: 'one',
        provides: ['gitops'],
        contribution: () => ({ facts: { gitops: gitopsFacts } }),
      }),
      testComponent({
        name: 'two',
        provides: ['gitops'],
        contribution: () => ({ facts: { gitops: gitopsFacts } }),
      }),
    ];
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), registry),
    );
    expect(runComponents(platform, registry).issues.map((i) => i.code)).toEqual([
      'capability-ambiguous',
    ]);
  });

  it('warns that a declared Secret is never filled when nothing provides secrets', () => {
    const lonely = { ...consumer(), needs: [], uses: ['secrets' as const] };
    const platform = resolvePlatform(
      validDefinition(testDefinition([testCluster('a', 'development', 1)]), [lonely]),
    );
    expect(runComponents(platform, [lonely]).issues).toMatchObject([
      { severity: 'warning', code: 'request-unfulfilled', value: ['app-token'] },
    ]);
  });
});

describe('component settings', () => {
  const tuned = testComponent({
    name: 'tuned',
    settings: {
      size: { description: 'Size.', type: 'integer', minimum: 1 },
      mode: { description: 'Mode.', type: 'string', enum: ['a', 'b'] },
      extra: {
        description: 'Extra.',
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { description: 'Id.', type: 'string' },
          tag: { description: 'Tag.', type: 'string' },
        },
      },
    },
    defaults: { size: 1, mode: 'a' },
  });

  it('merges defaults, the platform-wide settings and the cluster override as Helm merges values', () => {
    const definition = testDefinition(
      [
        testCluster('a', 'development', 1, {
          components: { tuned: { mode: 'b', extra: { tag: 'x' } } } as never,
        }),
        testCluster('b', 'development', 2, { components: { tuned: { enabled: false } } as never }),
      ],
      { components: { tuned: { size: 3, extra: { id: 'one' } } } },
    );
    const platform = resolvePlatform(validDefinition(definition, [tuned]));
    const [a, b] = platform.clusters;
    expect(a && componentSettings(platform, tuned, a)).toEqual({
      size: 3,
      mode: 'b',
      extra: { id: 'one', tag: 'x' },
    });
    expect(b && componentSettings(platform, tuned, b)).toMatchObject({ enabled: false });
    expect(runComponents(platform, [tuned]).clusters.map((run) => run.order)).toEqual([
      ['tuned'],
      [],
    ]);
  });

  it('checks the merged settings and points at where the value is written', () => {
    // Given a required key missing from the platform-wide settings, inherited by two clusters
    const text = toYaml(
      testDefinition([testCluster('a', 'development', 1), testCluster('b', 'development', 2)], {
        components: { tuned: { extra: { tag: 'x' } } },
      }),
    );
    const loaded = loadDefinition(
      text,
      'p.yaml',
      definitionValidator(composeDefinitionSchema([tuned])),
    );
    expect(loaded.issues).toEqual([]);
    const platform = resolvePlatform(loaded.definition as never);
    // When the components run and the issues are positioned
    const issues = positionIssues(
      runComponents(platform, [tuned]).issues,
      loaded.definition,
      loaded.locate as never,
    );
    // Then both clusters' issue lands on the platform-wide settings, the same place
    const extraLine = text.split('\n').indexOf('    extra:') + 2;
    expect(issues.map((issue) => [formatPath(issue.path), issue.position?.line])).toEqual([
      ['components.tuned.extra.id', extraLine],
      ['components.tuned.extra.id', extraLine],
    ]);
    expect(issues[0]?.message).toBe('required key "id" is missing');
  });

  it('refuses a platform-only key in a cluster override, saying where it belongs', () => {
    const pinned: AnyComponent = {
      ...tuned,
      name: 'pinned',
      settings: { ...tuned.settings, platformOnly: ['size'] },
    };
    const text = toYaml(
      testDefinition([
        testCluster('a', 'development', 1, { components: { pinned: { size: 2 } } as never }),
      ]),
    );
    const { issues } = loadDefinition(
      text,
      'p.yaml',
      definitionValidator(composeDefinitionSchema([pinned])),
    );
    expect(issues).toMatchObject([
      {
        path: ['clusters', 0, 'components', 'pinned', 'size'],
        message: 'is not allowed here',
        expected:
          "only in the top-level components.pinned.size: it is the same on every cluster (one chart pins it); remove it from the cluster's components",
      },
    ]);
  });
});

describe('the test factory', () => {
  it('builds the reference clusters as a valid definition', () => {
    expect(
      validDefinition(testDefinition(testReferenceClusters())).clusters.map((c) => c.name),
    ).toEqual(['dev', 'staging', 'prod']);
  });

  it('throws, listing every error, on an invalid definition', () => {
    const broken = testDefinition([testCluster('a', 'development', 1, { endpoint: 'http://x' })]);
    expect(() => validDefinition(broken)).toThrow(
      /clusters\[0\]\.endpoint: "http:\/\/x" does not have the expected form/,
    );
  });
});
