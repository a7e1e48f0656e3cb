// A CRD bundle a cluster cannot take back (`crd-bundle-downgrade`), through the whole pipeline on
// the reference platform (examples/reference/platform.yaml, Cilium at its default release): the
// last build's charts/ stand for what the clusters run. Cilium 1.20 brings the Gateway API v1.6.1
// standard channel (TLSRoute stored as v1, the safe-upgrades admission policy); Cilium 1.19's
// v1.4.1 bundles are refused by such a cluster, so going back is refused with the way out.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { buildIn, chartsOf } from './last-build.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const CILIUM = '  cilium:\n    gatewayApi: true\n';
/** The Application of the Gateway API's standard channel (cilium's CRD bundle). */
const GATEWAY_API_CRDS = 'gateway-api-crds';

/** The reference with `components.cilium.version` set (on the line after `cilium:`). */
function withCilium(version: string): string {
  if (!definition.includes(CILIUM)) throw new Error("cilium's settings are not in the definition");
  return definition.replace(CILIUM, `  cilium:\n    version: ${version}\n    gatewayApi: true\n`);
}

/** The 1-based line of `cilium:` under the top-level components. */
const CILIUM_LINE = definition.slice(0, definition.indexOf(CILIUM)).split('\n').length;

const downgrades = (issues: readonly Issue[]): Issue[] =>
  issues.filter((issue) => issue.code === 'crd-bundle-downgrade');

async function build(text: string, over?: string) {
  const previous =
    over === undefined
      ? undefined
      : await generate({ text: over, file: 'platform.yaml', chartVersions: {} });
  if (previous !== undefined) expect(previous.files.length).toBeGreaterThan(0);
  return generate({
    text,
    file: 'platform.yaml',
    chartVersions: {},
    ...(previous === undefined ? {} : { previousChart: chartsOf(previous.files) }),
  });
}

describe('crd-bundle-downgrade', () => {
  it('refuses Cilium 1.20 back to 1.19 on clusters that ran the Gateway API v1.6.1, at the version line, naming the commands that let v1.4.1 apply', async () => {
    const back = await build(withCilium('1.19.6'), withCilium('1.20.0'));
    expect(back.files).toEqual([]);
    const found = downgrades(back.issues);
    // One error for the three clusters that have the change (merged, as other per-cluster errors).
    expect(found).toHaveLength(1);
    const [issue] = found as [Issue];
    expect(issue.severity).toBe('error');
    expect(issue.path).toEqual(['components', 'cilium', 'version']);
    expect(issue.position).toMatchObject({ line: CILIUM_LINE + 1, column: 14 });
    expect(issue.value).toBe('v1.4.1');
    expect(issue.message).toContain(
      `would take ${GATEWAY_API_CRDS} on clusters "dev", "prod" and "staging" from v1.6.1, which the last build wrote (its charts in the output folder, which Argo CD deploys once committed), back to v1.4.1; a cluster that synced v1.5.0 or later refuses that: from v1.5 the standard channel stores TLSRoute as v1`,
    );
    expect(issue.message).toContain('stores TLSRoute as v1');
    expect(issue.message).toContain('safe-upgrades.gateway.networking.k8s.io');
    expect(issue.expected).toContain(
      "to go back anyway: build with --allow-immutable-changes, commit and push, then on the cluster run `kubectl delete validatingadmissionpolicybinding safe-upgrades.gateway.networking.k8s.io --timeout=2m`, `kubectl delete validatingadmissionpolicy safe-upgrades.gateway.networking.k8s.io --timeout=2m`, `kubectl delete customresourcedefinition tlsroutes.gateway.networking.k8s.io --timeout=10m`, and Argo CD's sync retries apply v1.4.1",
    );
  }, 120_000);

  it('points at the cilium settings when the version line is gone (back to the default release)', async () => {
    const back = await build(definition, withCilium('1.20.0'));
    const [issue] = downgrades(back.issues);
    // The first line of the settings (`gatewayApi: true`), where a `version` would go.
    expect(issue?.position).toMatchObject({ line: CILIUM_LINE + 1, column: 5 });
    expect(issue?.value).toBe('v1.4.1');
  }, 120_000);

  it('lets a cluster move up, stay, move between releases before v1.5, and build without a last build', async () => {
    expect(downgrades((await build(withCilium('1.20.0'), definition)).issues)).toEqual([]);
    expect(downgrades((await build(withCilium('1.20.0'), withCilium('1.20.0'))).issues)).toEqual(
      [],
    );
    expect(downgrades((await build(withCilium('1.18.12'), definition)).issues)).toEqual([]);
    const fresh = await build(withCilium('1.19.6'));
    expect(downgrades(fresh.issues)).toEqual([]);
    expect(fresh.files.length).toBeGreaterThan(0);
  }, 240_000);

  it('compares nothing on a cluster the last build did not deploy the bundle to', async () => {
    const previous = await generate({
      text: withCilium('1.20.0'),
      file: 'platform.yaml',
      chartVersions: {},
    });
    // dev's layer without the bundle's Application: dev is left alone, staging and prod are not.
    const charts = chartsOf(previous.files);
    const previousChart = (chart: string) => {
      const files = charts(chart);
      if (chart !== 'platform' || files === undefined) return files;
      const dev = files.get('clusters/dev.yaml') ?? '';
      expect(dev).toContain(`app.kubernetes.io/component: ${GATEWAY_API_CRDS}`);
      return new Map([
        ...files,
        [
          'clusters/dev.yaml',
          dev.replaceAll(`component: ${GATEWAY_API_CRDS}`, 'component: something-else'),
        ],
      ]);
    };
    const back = await generate({
      text: withCilium('1.19.6'),
      file: 'platform.yaml',
      chartVersions: {},
      previousChart,
    });
    const found = downgrades(back.issues);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toContain('on clusters "prod" and "staging" from v1.6.1');
  }, 120_000);

  it('prints file:line:col, writes nothing, and builds with --allow-immutable-changes: `homelab build` on a copy of the reference example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-downgrade-'));
    try {
      const file = join(dir, 'platform.yaml');
      writeFileSync(file, withCilium('1.20.0'));
      const { build: homelab, stderr } = buildIn(dir);
      expect(await homelab()).toBe(0);
      const written = readFileSync(join(dir, 'out', 'charts', 'platform', 'clusters', 'dev.yaml'));
      writeFileSync(file, withCilium('1.19.6'));
      expect(await homelab()).toBe(1);
      const line = stderr()
        .split('\n')
        .find((text) => text.includes('would take'));
      expect(line?.slice(0, line.indexOf(': '))).toBe(
        `platform.yaml:${CILIUM_LINE + 1}:14  components.cilium.version → charts/platform`,
      );
      expect(stderr()).toContain('nothing written');
      expect(
        readFileSync(join(dir, 'out', 'charts', 'platform', 'clusters', 'dev.yaml')).equals(
          written,
        ),
      ).toBe(true);
      expect(await homelab('--allow-immutable-changes')).toBe(0);
      expect(stderr()).not.toContain('crd-bundle-downgrade');
      expect(
        readFileSync(join(dir, 'out', 'charts', 'platform', 'clusters', 'dev.yaml'), 'utf8'),
      ).toContain('targetRevision: v1.4.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
