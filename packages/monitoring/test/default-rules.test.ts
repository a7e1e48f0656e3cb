// The alert names of kube-prometheus-stack's default rules that src/default-rules.ts holds, read
// again from the vendored chart archive: a chart upgrade that changes them fails here until the
// list follows.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { chartArchivePath, untar } from '@homelab/core';
import { vendored } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_ALERTS, renderedDefaultAlerts } from '../src/default-rules.js';
import { REPLACED_DEFAULT_RULES } from '../src/values.js';
import { KUBE_PROMETHEUS_STACK_CHART } from '../src/versions.js';

const { name, version } = KUBE_PROMETHEUS_STACK_CHART;
const RULES = `${name}/templates/prometheus/rules-1.14/`;

/** The alerts of each rule template of the vendored chart, by group (file name), in file order. */
function chartDefaultAlerts(): { [group: string]: string[] } {
  const archive = readFileSync(vendored(chartArchivePath(name, version)));
  const out: { [group: string]: string[] } = {};
  const files = untar(gunzipSync(archive))
    .filter((file) => file.path.startsWith(RULES) && file.path.endsWith('.yaml'))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of files) {
    const text = new TextDecoder().decode(file.data);
    const alerts = [...text.matchAll(/^\s*- alert: (\S+)\s*$/gm)].map((match) => match[1] ?? '');
    if (alerts.length === 0) continue;
    out[file.path.slice(RULES.length, -'.yaml'.length)] = [...new Set(alerts)];
  }
  return out;
}

describe(`the default rules of ${name} ${version}`, () => {
  it('are the alerts the vendored chart templates, group by group', () => {
    const fromChart = chartDefaultAlerts();
    expect(Object.keys(fromChart).length).toBeGreaterThan(15);
    expect(DEFAULT_RULE_ALERTS).toEqual(fromChart);
  });

  it('leave out the rules the platform replaces and, where the CNI replaces it, kube-proxy', () => {
    const everywhere = renderedDefaultAlerts({ kubeProxyReplacement: false });
    expect(everywhere.get('Watchdog')).toBe('general.rules');
    expect(everywhere.get('InfoInhibitor')).toBe('general.rules');
    expect(everywhere.get('KubeProxyDown')).toBe('kubernetes-system-kube-proxy');
    for (const replaced of REPLACED_DEFAULT_RULES) expect(everywhere.has(replaced)).toBe(false);
    expect(renderedDefaultAlerts({ kubeProxyReplacement: true }).has('KubeProxyDown')).toBe(false);
  });
});
