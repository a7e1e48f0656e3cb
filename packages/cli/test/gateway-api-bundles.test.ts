// The Gateway API CRDs a Cilium release needs, as the runbook installs them and Argo CD keeps them,
// on the reference platform through the real pipeline. From Gateway API v1.5 TLSRoute is in the
// standard channel, whose `safe-upgrades.gateway.networking.k8s.io` admission policy refuses an
// experimental CRD applied over a standard one: Cilium 1.20 (v1.6.1) gets the standard channel
// only; Cilium 1.19 (v1.4.1) still gets the experimental TLSRoute its operator looks for.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseYaml } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

async function bundles(text: string): Promise<{ apps: string[]; runbook: string }> {
  const result = await generate({ text, file: 'platform.yaml', chartVersions: {} });
  expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  const file = (path: string): string => result.files.find((f) => f.path === path)?.content ?? '';
  const platform = parseYaml(file('charts/platform/clusters/dev.yaml')) as AnyJson;
  const apps = Object.values(platform.manifests as { [key: string]: AnyJson })
    .filter((app) => app.spec?.source?.repoURL === 'https://github.com/kubernetes-sigs/gateway-api')
    .map((app) => `${app.metadata.name} ${app.spec.source.targetRevision} ${app.spec.source.path}`)
    .sort();
  return { apps, runbook: file('clusters/dev/RUNBOOK.md') };
}

describe('Gateway API CRD bundles per Cilium release', { timeout: 120_000 }, () => {
  it('Cilium 1.19 (Gateway API v1.4.1): the standard channel and the experimental TLSRoute', async () => {
    const { apps, runbook } = await bundles(reference);
    expect(apps).toEqual([
      'dev-gateway-api-crds v1.4.1 config/crd/standard',
      'dev-gateway-api-tlsroute-crd v1.4.1 config/crd/experimental',
    ]);
    expect(runbook).toContain(
      '/v1.4.1/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml',
    );
  });

  it('Cilium 1.20 (Gateway API v1.6.1): the standard channel only, TLSRoute included', async () => {
    const text = reference.replace(
      'components:\n  cilium:\n',
      "components:\n  cilium:\n    version: '1.20.0'\n",
    );
    expect(text).not.toBe(reference);
    const { apps, runbook } = await bundles(text);
    expect(apps).toEqual(['dev-gateway-api-crds v1.6.1 config/crd/standard']);
    expect(runbook).toContain(
      'kubectl apply --server-side --field-manager=argocd-controller -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml',
    );
    expect(runbook).not.toContain('config/crd/experimental');
  });
});
