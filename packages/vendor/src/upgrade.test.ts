import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml, readChartArchiveFile, type Values } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { formatValuesUpgradeReport, valuesUpgradeReport } from './upgrade.js';

const OLD = `
kubeProxyReplacement: "false"
k8sServiceHost: ""
operator:
  replicas: 2
  image:
    tag: v1
    pullPolicy: IfNotPresent
  prometheus:
    enabled: false
    port: 9963
  podLabels: {}
hubble:
  relay:
    enabled: false
    replicas: 1
    legacyOption: null
  ui:
    enabled: false
ipam:
  mode: cluster-pool
  operator:
    clusterPoolIPv4PodCIDRList: ["10.0.0.0/8"]
untouched:
  a: 1
`;

const NEW = `
kubeProxyReplacement: false
k8s:
  k8sServiceHost: ""
operator:
  replicas: 1
  image:
    tag: v2
    pullPolicy: IfNotPresent
  metrics:
    enabled: false
    port: 9963
  podLabels: {}
  priorityClassName: ""
  hostUsers: null
hubble:
  relay:
    replicas: 1
  ui:
    enabled: false
ipam:
  mode: cluster-pool
untouched:
  a: 2
`;

const OURS: Values = {
  kubeProxyReplacement: 'true',
  k8sServiceHost: 'localhost',
  operator: { replicas: 3, prometheus: { enabled: true }, podLabels: { team: 'net' } },
  hubble: { relay: { enabled: true } },
  ipam: { mode: 'kubernetes' },
  notUpstream: { x: 1 },
};

describe('valuesUpgradeReport', () => {
  const report = valuesUpgradeReport(OLD, NEW, OURS);

  it('lists a key we set that the new release dropped, when no rename fits', () => {
    // `operator.metrics.enabled` is new and ends in `enabled`, but shares nothing else with
    // `hubble.relay.enabled`: not offered as a rename.
    expect(report.removed).toEqual([{ path: 'hubble.relay.enabled', ours: true }]);
  });

  it('offers renames: same name under another parent (a unique name, or a shared first key)', () => {
    expect(report.renamed).toEqual([
      { path: 'k8sServiceHost', candidates: ['k8s.k8sServiceHost'], ours: 'localhost' },
      { path: 'operator.prometheus.enabled', candidates: ['operator.metrics.enabled'], ours: true },
    ]);
  });

  it('lists a key whose default changed type', () => {
    expect(report.retyped).toEqual([
      { path: 'kubeProxyReplacement', from: 'string', to: 'boolean', ours: 'true' },
    ]);
  });

  it('lists the defaults we rely on that changed, only inside the maps we set keys of (a null default is none)', () => {
    expect(report.defaultsChanged).toEqual([
      { path: 'ipam.operator', from: { clusterPoolIPv4PodCIDRList: ['10.0.0.0/8'] } },
      { path: 'operator.image.tag', from: 'v1', to: 'v2' },
      { path: 'operator.metrics', to: { enabled: false, port: 9963 } },
      { path: 'operator.priorityClassName', to: '' },
    ]);
  });

  it('reports nothing when the release did not change what we use', () => {
    const empty = valuesUpgradeReport(OLD, OLD, OURS);
    expect(empty).toEqual({ removed: [], renamed: [], retyped: [], defaultsChanged: [] });
    expect(formatValuesUpgradeReport(empty)).toBe(
      'no key we set was removed, renamed or retyped; no default we rely on changed\n',
    );
  });

  it('prints one line per finding', () => {
    expect(formatValuesUpgradeReport(report).split('\n')).toEqual([
      'removed   hubble.relay.enabled (we set true)',
      'renamed?  k8sServiceHost -> k8s.k8sServiceHost (we set "localhost")',
      'renamed?  operator.prometheus.enabled -> operator.metrics.enabled (we set true)',
      'retyped   kubeProxyReplacement: string -> boolean (we set "true")',
      'default   ipam.operator: removed, was {"clusterPoolIPv4PodCIDRList":["10.0.0.0/8"]}',
      'default   operator.image.tag: "v1" -> "v2"',
      'default   operator.metrics: added, {"enabled":false,"port":9963}',
      'default   operator.priorityClassName: added, ""',
      '',
    ]);
  });
});

describe('valuesUpgradeReport on the vendored Cilium releases (1.18.12 → 1.20.0)', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const values = (version: string) =>
    readChartArchiveFile(
      readFileSync(join(root, `vendor/charts/cilium/${version}/cilium-${version}.tgz`)),
      'cilium/values.yaml',
    );
  const oldText = values('1.18.12');
  const newText = values('1.20.0');
  const oldTree = parseYaml(oldText) as Values;
  const newTree = parseYaml(newText) as Values;
  // A realistic subset of what the Cilium component sets.
  const ours: Values = {
    kubeProxyReplacement: true,
    k8sServiceHost: 'localhost',
    k8sServicePort: 7445,
    ipam: { mode: 'kubernetes' },
    cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
    operator: { replicas: 3, rollOutPods: true },
    hubble: { relay: { enabled: true }, ui: { enabled: true } },
    gatewayAPI: { enabled: true },
    l2announcements: { enabled: true },
    bgpControlPlane: { enabled: true },
  };
  const report = valuesUpgradeReport(oldText, newText, ours);

  /** The value at a formatted path (`a.b["c.d"]`), or `missing`. */
  const at = (tree: unknown, path: string): unknown => {
    let node: unknown = tree;
    for (const [, plain, quoted] of path.matchAll(/([A-Za-z_$][\w$-]*)|\["((?:[^"\\]|\\.)*)"\]/g)) {
      const key = plain ?? JSON.parse(`"${quoted}"`);
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return 'missing';
      node = (node as { [k: string]: unknown })[key];
    }
    return node;
  };

  it('finds changed defaults, each of which really differs between the two values.yaml', () => {
    expect(report.defaultsChanged.length).toBeGreaterThan(0);
    for (const change of report.defaultsChanged) {
      expect(at(oldTree, change.path)).toEqual('from' in change ? change.from : 'missing');
      expect(at(newTree, change.path)).toEqual('to' in change ? change.to : 'missing');
    }
  });

  it('only calls removed or renamed what 1.18.12 has and 1.20.0 has not', () => {
    for (const { path } of [...report.removed, ...report.renamed]) {
      expect(at(oldTree, path)).not.toBe('missing');
      expect(at(newTree, path)).toBe('missing');
    }
    for (const { candidates } of report.renamed) {
      for (const candidate of candidates) expect(at(oldTree, candidate)).toBe('missing');
    }
  });
});
