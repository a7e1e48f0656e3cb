// In-cluster name resolution of the hosts routed through the platform Gateway, on the reference
// platform through the real pipeline: components call those hosts from inside the cluster (Argo
// CD's and Grafana's OIDC issuer `auth.<domain>`), and the reference forwards every other name to
// public resolvers that do not know its lab domain. The generated Corefile must answer each
// routed host with the Gateway's address, in the server block CoreDNS picks for it (the longest
// zone that holds the name). And the cluster DNS is there before Argo CD: Talos' own CoreDNS is
// disabled, so the runbook installs CoreDNS by hand first (the dns-before-gitops check, broken on
// purpose).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KubeObject, parseYaml } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import {
  broken,
  errorsOf,
  found,
  inside,
  reference as referenceText,
  withFile,
} from './broken-output.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

/** Server blocks of a Corefile: each key's zone, and the `hosts` entries (address → names). */
function serverBlocks(corefile: string): { zone: string; hosts: Map<string, string> }[] {
  const blocks: { zone: string; hosts: Map<string, string> }[] = [];
  let current: { zone: string; hosts: Map<string, string> } | undefined;
  let inHosts = false;
  for (const raw of corefile.split('\n')) {
    const line = raw.trim();
    const key = /^([a-z0-9.-]+|\.):53 \{$/.exec(line);
    if (key !== null && raw.startsWith(line)) {
      current = { zone: key[1] as string, hosts: new Map() };
      blocks.push(current);
      continue;
    }
    if (line === 'hosts {') inHosts = true;
    else if (inHosts && line === '}') inHosts = false;
    else if (inHosts && current !== undefined) {
      const [address, ...names] = line.split(/\s+/);
      if (address !== undefined && /^[0-9a-f.:]+$/.test(address) && address.includes('.')) {
        for (const name of names) if (!current.hosts.has(name)) current.hosts.set(name, address);
      }
    }
  }
  return blocks;
}

/** What CoreDNS answers for `name` from a `hosts` entry, in the block it picks, if any. */
function answer(corefile: string, name: string): string | undefined {
  const inZone = (zone: string) => zone === '.' || name === zone || name.endsWith(`.${zone}`);
  const block = serverBlocks(corefile)
    .filter((b) => inZone(b.zone))
    .sort((a, b) => (b.zone === '.' ? 0 : b.zone.length) - (a.zone === '.' ? 0 : a.zone.length))[0];
  return block?.hosts.get(name);
}

describe('routed hosts resolve in the cluster to the platform Gateway', {
  timeout: 120_000,
}, () => {
  it('on every cluster of the reference, each HTTPRoute host resolves to its Gateway address', async () => {
    const result = await generate({ text: reference, file: 'platform.yaml', chartVersions: {} });
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const file = (path: string): AnyJson =>
      parseYaml(result.files.find((f) => f.path === path)?.content ?? 'null');
    for (const cluster of ['dev', 'staging', 'prod']) {
      // Given the Gateway's pinned address and the hosts of every route on the cluster
      const gateway = Object.values(
        file(`charts/gateway/clusters/${cluster}.yaml`).manifests as { [k: string]: KubeObject },
      ).find((object) => object.kind === 'Gateway') as AnyJson;
      const address = gateway.spec.addresses[0].value as string;
      const hosts = result.files
        .filter((f) => f.path.startsWith('charts/') && f.path.endsWith(`/clusters/${cluster}.yaml`))
        .flatMap((f) => Object.values((parseYaml(f.content) as AnyJson)?.manifests ?? {}))
        .filter((object: AnyJson) => object.kind === 'HTTPRoute' && object.spec.hostnames)
        .flatMap((object: AnyJson) => object.spec.hostnames as string[]);
      expect(hosts.length).toBeGreaterThan(0);
      expect(hosts).toContain(`auth.${gateway.spec.listeners[0].hostname.slice(2)}`);
      // When CoreDNS answers a pod asking for each of them, then it answers the Gateway
      const corefile = file(`charts/coredns/clusters/${cluster}.yaml`).manifests[
        'configmap-coredns'
      ].data.Corefile as string;
      expect(Object.fromEntries(hosts.map((host) => [host, answer(corefile, host)]))).toEqual(
        Object.fromEntries(hosts.map((host) => [host, address])),
      );
    }
  });
});

describe('the cluster DNS is there before Argo CD (dns-before-gitops)', {
  timeout: 120_000,
}, () => {
  // Talos' own CoreDNS is disabled (the coredns component deploys the cluster DNS): between
  // `talosctl bootstrap` and the runbook's CoreDNS step nothing answers at 10.96.0.10, and Argo
  // CD resolves the repository through it.
  const runbook = 'clusters/dev/RUNBOOK.md';
  // dev's Kubernetes version: the render is Argo CD's, for the cluster's version
  const kubernetes = /\n {4}kubernetes:\n(?: {6}#.*\n)* {6}version: (\S+)\n/.exec(
    referenceText,
  )?.[1];
  const COREDNS = [
    `helm template coredns charts/coredns --namespace coredns --kube-version ${kubernetes} \\`,
    '  -f charts/coredns/env/development.yaml -f charts/coredns/clusters/dev.yaml \\',
    '  | kubectl apply --server-side --field-manager=argocd-controller -f -',
    'kubectl -n coredns rollout status deployment/coredns --timeout=5m',
  ];
  const ARGOCD = 'kubectl get namespace argocd >/dev/null 2>&1 || kubectl create namespace argocd';

  it('the reference runbooks install and wait for CoreDNS before Argo CD', async () => {
    expect(found(await errorsOf(referenceText), 'dns-before-gitops')).toEqual([]);
  });

  it('a runbook installing Argo CD before CoreDNS is an error at the coredns settings', async () => {
    let argocd = 0;
    let coredns = 0;
    const errors = await broken(
      withFile(runbook, (content) => {
        const lines = content.split('\n');
        const start = lines.indexOf(COREDNS[0] as string);
        expect(lines.slice(start, start + COREDNS.length)).toEqual(COREDNS);
        // The CoreDNS commands moved to the end of the runbook, after Argo CD's install.
        const moved = [
          ...lines.slice(0, start),
          ...lines.slice(start + COREDNS.length),
          '```sh',
          ...COREDNS,
          '```',
        ];
        argocd = moved.indexOf(ARGOCD) + 1;
        coredns = moved.lastIndexOf(COREDNS[3] as string) + 1;
        return moved.join('\n');
      }),
    );
    expect(argocd).toBeGreaterThan(0);
    expect(coredns).toBeGreaterThan(argocd);
    expect(found(errors, 'dns-before-gitops')).toEqual([
      {
        at: inside('coredns:', 'components:'),
        output: `${runbook}:${argocd}`,
        message: `the runbook of cluster "dev" installs argocd (line ${argocd}) before the cluster DNS coredns is installed and ready (line ${coredns}): Talos' own CoreDNS is disabled (coredns), so argocd would start with no DNS and never resolve the repository`,
      },
    ]);
  });

  it('a runbook that never waits for CoreDNS is an error too', async () => {
    const errors = await broken(
      withFile(runbook, (content) =>
        content
          .split('\n')
          .filter((line) => line !== COREDNS[3])
          .join('\n'),
      ),
    );
    expect(found(errors, 'dns-before-gitops').map((issue) => issue.message)).toEqual([
      expect.stringContaining('the runbook of cluster "dev" installs argocd (line '),
    ]);
    expect(found(errors, 'dns-before-gitops')[0]?.message).toContain(
      'without installing the cluster DNS coredns by hand first',
    );
  });
});
