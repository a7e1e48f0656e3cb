import type {
  ChartSpec,
  Component,
  PlatformDefinition,
  ResolvedCluster,
  ResolvedPlatform,
  TalosRequirements,
  Values,
} from '@homelab/core';
import { error, warning } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import type { Engine, ManifestToValidate } from './assemble.js';
import { chartManifests, generateWith } from './assemble.js';

// A deliberately small merge (maps deep, everything else replaces, null deletes) for the fakes.
function merge(layers: readonly Values[]): Values {
  const mergeTwo = (a: Values, b: Values): Values => {
    const out: Values = { ...a };
    for (const [key, value] of Object.entries(b)) {
      const current = out[key];
      if (value === null) delete out[key];
      else if (
        typeof value === 'object' &&
        !Array.isArray(value) &&
        typeof current === 'object' &&
        current !== null &&
        !Array.isArray(current)
      ) {
        out[key] = mergeTwo(current, value);
      } else out[key] = value;
    }
    return out;
  };
  return layers.reduce(mergeTwo, {});
}

function cluster(
  name: string,
  index: number,
  environment: ResolvedCluster['environment'],
): ResolvedCluster {
  return { name, index, environment } as unknown as ResolvedCluster;
}

const platform = {
  name: 'lab',
  clusters: [cluster('dev', 0, 'development'), cluster('prod', 1, 'production')],
} as unknown as ResolvedPlatform;

const pool = (cidr: string): Values => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumLoadBalancerIPPool',
  metadata: { name: 'default' },
  spec: { blocks: [{ cidr }] },
});

const chart: ChartSpec = {
  name: 'cilium',
  description: 'Cilium',
  appVersion: '1.18.12',
  values: {
    cilium: { a: 1 },
    manifests: { policy: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } },
  },
  environments: { production: { cilium: { a: 3 } } },
  clusters: {
    dev: { manifests: { pool: pool('10.0.0.0/24') } },
    prod: { manifests: { pool: pool('10.1.0.0/24') } },
  },
  readme: { summary: 'x' },
};

interface Calls {
  talos?: Readonly<Record<string, readonly TalosRequirements[]>>;
  chartVersions: string[];
  validated: ManifestToValidate[];
}

function fakeEngine(
  overrides: Partial<Engine> = {},
  calls: Calls = { chartVersions: [], validated: [] },
): Engine {
  const component: Component = {
    name: 'cilium',
    render: () => ({
      component: 'cilium',
      chart,
      clusters: {
        dev: { talos: { source: 'cilium', cni: 'none' } },
        prod: { talos: { source: 'cilium', cni: 'none', kubePrism: { port: 7445 } } },
      },
      issues: [warning({ code: 'w', path: 'clusters[0]', message: 'just so you know' })],
    }),
  };
  return {
    loadDefinition: () => ({ definition: {} as PlatformDefinition, issues: [] }),
    resolvePlatform: () => ({ platform, issues: [] }),
    components: [component],
    assemblers: [],
    renderTalos: (_platform, requirements) => {
      calls.talos = requirements;
      return {
        files: [
          { path: 'clusters/prod/talos/controlplane.yaml', content: 'machine: {}\n' },
          { path: 'clusters/dev/talos/controlplane.yaml', content: 'machine: {}\n' },
        ],
        issues: [],
      };
    },
    chartFiles: (spec, version) => {
      calls.chartVersions.push(`${spec.name}@${version}`);
      return {
        files: [{ path: `charts/${spec.name}/values.yaml`, content: 'a: 1\n' }],
        issues: [],
      };
    },
    mergeValues: merge,
    validateManifests: (manifests) => {
      calls.validated.push(...manifests);
      return [];
    },
    ...overrides,
  };
}

const input = {
  text: 'platform: {}\n',
  file: '/w/platform.yaml',
  chartVersions: { cilium: '1.2.0' },
};

describe('generateWith', () => {
  it('returns every file sorted by path, with warnings carried', async () => {
    const result = await generateWith(fakeEngine(), input);
    expect(result.files.map((file) => file.path)).toEqual([
      'charts/cilium/values.yaml',
      'clusters/dev/talos/controlplane.yaml',
      'clusters/prod/talos/controlplane.yaml',
    ]);
    expect(result.issues.map((issue) => `${issue.severity} ${issue.code}`)).toEqual(['warning w']);
    expect(result.platform).toBe(platform);
  });

  it('hands talos-config the requirements of every component, by cluster', async () => {
    const calls: Calls = { chartVersions: [], validated: [] };
    await generateWith(fakeEngine({}, calls), input);
    expect(calls.talos).toEqual({
      dev: [{ source: 'cilium', cni: 'none' }],
      prod: [{ source: 'cilium', cni: 'none', kubePrism: { port: 7445 } }],
    });
  });

  it('uses the chart version from package.json, 0.1.0 for a new chart', async () => {
    const calls: Calls = { chartVersions: [], validated: [] };
    await generateWith(fakeEngine({}, calls), input);
    await generateWith(fakeEngine({}, calls), { ...input, chartVersions: {} });
    expect(calls.chartVersions).toEqual(['cilium@1.2.0', 'cilium@0.1.0']);
  });

  it('validates the merged manifests of every cluster, identical objects once', async () => {
    const calls: Calls = { chartVersions: [], validated: [] };
    await generateWith(fakeEngine({}, calls), input);
    expect(calls.validated.map((manifest) => manifest.source)).toEqual([
      'charts/cilium/clusters/dev.yaml#manifests.policy',
      'charts/cilium/clusters/dev.yaml#manifests.pool',
      'charts/cilium/clusters/prod.yaml#manifests.pool',
    ]);
    expect(calls.validated[2]?.object.spec).toEqual({ blocks: [{ cidr: '10.1.0.0/24' }] });
  });

  it('stops after loading when the definition has errors, and returns no files', async () => {
    let resolved = false;
    const engine = fakeEngine({
      loadDefinition: () => ({
        definition: undefined,
        issues: [error({ code: 'schema', path: 'clusters[0].name', message: 'is required' })],
      }),
      resolvePlatform: () => {
        resolved = true;
        return { platform, issues: [] };
      },
    });
    const result = await generateWith(engine, input);
    expect(result.files).toEqual([]);
    expect(result.issues.map((issue) => issue.path)).toEqual(['clusters[0].name']);
    expect(resolved).toBe(false);
  });

  it('returns no files when output validation fails, and reports the object', async () => {
    const engine = fakeEngine({
      validateManifests: (manifests) =>
        manifests
          .filter((manifest) => manifest.object.kind === 'ConfigMap')
          .map((manifest) =>
            error({ code: 'object-schema', path: manifest.source, message: 'bad' }),
          ),
    });
    const result = await generateWith(engine, input);
    expect(result.files).toEqual([]);
    expect(result.issues.map((issue) => issue.path)).toContain(
      'charts/cilium/clusters/dev.yaml#manifests.policy',
    );
  });

  it('fails on a literal secret in the output', async () => {
    const engine = fakeEngine({
      chartFiles: () => ({
        files: [{ path: 'charts/x/values.yaml', content: 'auth:\n  password: hunter2\n' }],
        issues: [],
      }),
    });
    const result = await generateWith(engine, input);
    expect(result.files).toEqual([]);
    expect(
      result.issues.filter((issue) => issue.code === 'literal-secret').map((issue) => issue.path),
    ).toEqual(['charts/x/values.yaml:2:3 auth.password']);
  });

  it('fails on a literal secret in the definition, at its position', async () => {
    const result = await generateWith(fakeEngine(), {
      ...input,
      text: 'platform:\n  adminPassword: x\n',
    });
    expect(result.files).toEqual([]);
    expect(result.issues.find((issue) => issue.code === 'literal-secret')?.position).toEqual({
      file: '/w/platform.yaml',
      line: 2,
      column: 3,
    });
  });

  it('masks a flagged secret in the loader issues that quote it (value and message)', async () => {
    const secret = 'hunter2hunter2';
    const engine = fakeEngine({
      loadDefinition: () => ({
        definition: undefined,
        issues: [
          error({
            code: 'schema',
            path: 'clusters[0].oidc.clientSecret',
            message: `is a string "${secret}", not a reference`,
            value: secret,
            position: { file: '/w/platform.yaml', line: 3, column: 21 },
          }),
        ],
      }),
    });
    const result = await generateWith(engine, {
      ...input,
      text: `clusters:\n  - oidc:\n      clientSecret: ${secret}\n`,
    });
    expect(result.issues.map((issue) => [issue.code, issue.path, issue.value])).toEqual([
      ['literal-secret', 'clusters[0].oidc.clientSecret', '****'],
      ['schema', 'clusters[0].oidc.clientSecret', '****'],
    ]);
    expect(JSON.stringify(result.issues)).not.toContain('hunter2');
  });

  it('reports a secret of the definition once, where the definition has it, not again per generated file', async () => {
    const url = `https://admin:${'S3cr3tPassw0rd'}@github.com/x.git`;
    const engine = fakeEngine({
      chartFiles: () => ({
        files: [
          { path: 'charts/x/values.yaml', content: `repo: ${url}\n` },
          { path: 'charts/x/README.md', content: `Clone ${url}\n` },
        ],
        issues: [],
      }),
    });
    const result = await generateWith(engine, { ...input, text: `repository:\n  url: ${url}\n` });
    expect(result.files).toEqual([]);
    expect(
      result.issues
        .filter((issue) => issue.code === 'literal-secret')
        .map((issue) => [issue.path, issue.position?.line, issue.value]),
    ).toEqual([['repository.url', 2, 'https://****:****@github.com…']]);
  });

  it('does not scan a definition the loader refused for its size (bounded time on hostile files)', async () => {
    const engine = fakeEngine({
      loadDefinition: () => ({
        definition: undefined,
        issues: [error({ code: 'too-large', path: 'extra', message: 'has too many entries' })],
      }),
    });
    const result = await generateWith(engine, { ...input, text: 'password: hunter2\n' });
    expect(result.issues.map((issue) => issue.code)).toEqual(['too-large']);
  });

  it('scans a CR-only definition line by line', async () => {
    const result = await generateWith(fakeEngine(), {
      ...input,
      text: 'platform:\r  name: x\r  adminPassword: hunter2\r',
    });
    expect(result.issues.find((issue) => issue.code === 'literal-secret')?.position).toEqual({
      file: '/w/platform.yaml',
      line: 3,
      column: 3,
    });
  });

  it('refuses two generators writing the same file', async () => {
    const engine = fakeEngine({
      chartFiles: () => ({
        files: [{ path: 'clusters/dev/talos/controlplane.yaml', content: 'x\n' }],
        issues: [],
      }),
    });
    const result = await generateWith(engine, input);
    expect(
      result.issues
        .filter((issue) => issue.severity === 'error')
        .map((issue) => `${issue.code} ${issue.path}`),
    ).toEqual(['duplicate-output clusters/dev/talos/controlplane.yaml']);
  });

  it('runs assemblers after the components, with their outputs', async () => {
    const seen: string[] = [];
    const engine = fakeEngine({
      assemblers: [
        {
          name: 'argocd-apps',
          assemble: (_platform, outputs) => {
            seen.push(...outputs.map((output) => output.component));
            return { component: 'argocd-apps', clusters: {}, issues: [] };
          },
        },
      ],
    });
    await generateWith(engine, input);
    expect(seen).toEqual(['cilium']);
  });
});

describe('chartManifests', () => {
  it('applies the null deletion of an environment layer when a chart has no cluster layers', async () => {
    const spec: ChartSpec = {
      ...chart,
      values: {
        manifests: { a: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } },
      },
      environments: { production: { manifests: { a: null } } },
      clusters: {},
    };
    const { manifests } = chartManifests(spec, platform, merge);
    expect(manifests.map((manifest) => manifest.source)).toEqual([]);
  });

  it('reports a manifests entry that is not a Kubernetes object', async () => {
    const spec: ChartSpec = {
      ...chart,
      values: { manifests: { a: { kind: 'X' } } },
      environments: {},
      clusters: {},
    };
    const { issues } = chartManifests(spec, platform, merge);
    expect(issues.map((issue) => `${issue.code} ${issue.path}`)).toEqual([
      'manifests-shape charts/cilium/values.yaml#manifests.a',
    ]);
  });
});
