// A throw-away component added by analogy, through the registry alone: proof that the next
// component needs no edit anywhere else. It is a fixture package inside this test: one
// Application, one route, one Secret and one Talos extension.
import {
  type Component,
  type ComponentOutput,
  parseAllDocuments,
  parseYaml,
  type RenderInput,
  toYaml,
  type Values,
} from '@homelab/core';
import { testCluster, testDefinition, testReferenceClusters } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { REGISTRY } from '../src/registry.js';

type WidgetSettings = { readonly replicas?: number };

/** The fixture component, written the way every component package writes its one object. */
const widgetComponent: Component<WidgetSettings> = {
  name: 'widget',
  description: 'Widget, a throw-away component of the tests.',
  settings: {
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        replicas: { description: 'Widget replicas.', type: 'integer', minimum: 1 },
      },
    },
    defaults: { replicas: 1 },
  },
  provides: [],
  needs: ['cni', 'gateway'],
  uses: ['secrets'],
  upstream: [],
  declare: (input) => ({
    application: {
      namespace: 'widget',
      podSecurity: 'restricted',
      clusterResources: [],
    },
    routes: [
      {
        name: 'widget',
        host: 'widget',
        namespace: 'widget',
        service: 'widget',
        port: 8080,
        auth: { kind: 'none', reason: 'a public status page' },
      },
    ],
    secrets: [{ name: 'widget-token', namespace: 'widget', keys: ['token'] }],
    talos: { extensions: ['siderolabs/zfs'] },
    bootstrap: [
      {
        title: 'Say hello to the widget',
        body: ['Nothing to install by hand; this only proves the step reaches the runbook.'],
        commands: [`echo widget on ${input.cluster.name}`],
      },
    ],
  }),
  render: (input: RenderInput<WidgetSettings>): ComponentOutput => ({
    chart: {
      name: 'widget',
      description: 'Widget',
      appVersion: '1.0.0',
      values: {},
      environments: {},
      clusters: Object.fromEntries(
        input.clusters.map((entry) => [
          entry.cluster.name,
          { replicas: entry.settings.replicas ?? 1 },
        ]),
      ),
      valuesSchema: { replicas: { type: 'integer' } },
      readme: { summary: 'A widget.' },
    },
  }),
};

/** A fixture secrets provider, used only while the registry has none of its own. */
const fixtureSecrets: Component<Values> = {
  name: 'fixture-secrets',
  description: 'Fills declared Secrets (test double).',
  settings: {
    schema: { type: 'object', additionalProperties: false, properties: {} },
    defaults: {},
  },
  provides: ['secrets'],
  needs: [],
  upstream: [],
  declare: () => ({ facts: { secrets: { store: 'fixture' } } }),
  render: (input) => ({
    forConsumers: input.clusters.flatMap((entry) =>
      entry.others.flatMap((peer) =>
        (peer.contribution.secrets ?? []).map((secret) => ({
          component: peer.component,
          cluster: entry.cluster.name,
          manifests: {
            [`secret-${secret.name}`]: {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: secret.name, namespace: secret.namespace },
            },
          },
        })),
      ),
    ),
  }),
};

const secretsProvider = REGISTRY.find((component) => component.provides.includes('secrets'));
const registry = [...REGISTRY, widgetComponent, ...(secretsProvider ? [] : [fixtureSecrets])];

/**
 * The registry's secrets provider switched on, with the widget's Secret mapped (Bitwarden: an
 * organization and the inventory); the fixture needs no settings.
 */
const secretsSettings =
  secretsProvider?.name === 'bitwarden-sm'
    ? {
        'bitwarden-sm': {
          enabled: true,
          organizationId: '6615ca58-70cf-4012-b62f-41628f480374',
          secrets: { 'widget/widget-token': { token: '5b003721-c67b-4f56-bef2-76283cebce39' } },
        },
      }
    : {};

async function build(definition: unknown) {
  return generate(
    { text: toYaml(definition), file: 'platform.yaml', chartVersions: {} },
    { registry },
  );
}

function file(files: readonly { path: string; content: string }[], path: string): string {
  const found = files.find((candidate) => candidate.path === path);
  if (found === undefined) throw new Error(`${path} was not generated`);
  return found.content;
}

describe('a component added through the registry alone', () => {
  it('gets its chart, Application, route, Secret, Talos extension and runbook step', async () => {
    // Given the reference clusters with the widget's settings platform-wide
    const definition = testDefinition(testReferenceClusters(), {
      // monitoring off: its Secrets would need inventory entries of their own
      components: { widget: { replicas: 2 }, monitoring: { enabled: false }, ...secretsSettings },
    });
    // When the platform is built with the registry plus the widget
    const { files, issues } = await build(definition);
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);

    // Then its chart exists with the setting in each cluster layer
    expect(parseYaml(file(files, 'charts/widget/clusters/dev.yaml'))).toMatchObject({
      replicas: 2,
    });
    // and its Application comes after the Applications of its providers (Cilium: cni, gateway)
    const platform = parseYaml(file(files, 'charts/platform/clusters/dev.yaml')) as {
      manifests: { [key: string]: { metadata: { annotations: { [key: string]: string } } } };
    };
    const wave = (app: string): number =>
      Number(
        platform.manifests[`application-${app}`]?.metadata.annotations[
          'argocd.argoproj.io/sync-wave'
        ],
      );
    expect(wave('widget')).toBeGreaterThan(wave('cilium'));
    expect(wave('cilium')).toBeGreaterThan(wave('gateway-api-crds'));
    // and its route became an HTTPRoute in its own chart, its Secret an object filled by the provider
    const layer = parseYaml(file(files, 'charts/widget/clusters/dev.yaml')) as {
      manifests: {
        [key: string]: {
          kind: string;
          metadata: { name: string };
          spec?: { hostnames?: string[] };
        };
      };
    };
    expect(layer.manifests['httproute-widget']?.spec?.hostnames).toEqual([
      'widget.dev.lab.example.com',
    ]);
    expect(
      Object.values(layer.manifests).some((object) => object.metadata.name === 'widget-token'),
    ).toBe(true);
    // and Talos gets its extension, the runbook its step
    const schematic = parseAllDocuments(file(files, 'clusters/dev/talos/schematic.yaml'))[0];
    expect(JSON.stringify(schematic)).toContain('siderolabs/zfs');
    const runbook = file(files, 'clusters/dev/RUNBOOK.md');
    expect(runbook).toContain('Say hello to the widget');
    expect(runbook).toContain('echo widget on dev');
    // and the runbook runs it after Cilium's install, in dependency order
    expect(runbook.indexOf('Say hello to the widget')).toBeGreaterThan(
      runbook.indexOf('Install Cilium'),
    );
  });

  it('validates its settings like any other component, with the place in the file', async () => {
    const definition = testDefinition([testCluster('solo', 'development', 1)], {
      components: { widget: { replicas: 0 } },
    });
    const { files, issues } = await build(definition);
    expect(files).toEqual([]);
    expect(issues.filter((issue) => issue.severity === 'error')).toMatchObject([
      {
        code: 'schema',
        path: ['components', 'widget', 'replicas'],
        value: 0,
        position: { file: 'platform.yaml' },
      },
    ]);
  });
});
