// The alert names of kube-prometheus-stack's default rules that src/default-rules.ts holds, read
// again from the vendored chart archive: a chart upgrade that changes them fails here until the
// list follows.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { chartArchivePath, untar } from '@homelab/core';
import { vendored } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_ALERTS, renderedDefaultAlerts } from '../src/default-rules.js';
import { REPLACED_DEFAULT_RULES, UNFED_DEFAULT_RULES } from '../src/values.js';
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

/** The text of one alert's rule in the vendored chart: from its `- alert:` line to the next. */
function chartAlertExpression(alert: string): string {
  const archive = readFileSync(vendored(chartArchivePath(name, version)));
  for (const file of untar(gunzipSync(archive))) {
    if (!file.path.startsWith(RULES)) continue;
    const text = new TextDecoder().decode(file.data);
    const match = new RegExp(`^\\s*- alert: ${alert}\\s*$`, 'm').exec(text);
    if (match === null) continue;
    const rest = text.slice(match.index + match[0].length);
    const end = rest.search(/^\s*- alert: /m);
    return end < 0 ? rest : rest.slice(0, end);
  }
  return '';
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

  it('leave out the rules whose metric nothing exports, each reading that metric in the vendored chart', () => {
    const everywhere = renderedDefaultAlerts({ kubeProxyReplacement: false });
    expect(Object.keys(UNFED_DEFAULT_RULES).sort()).toEqual([
      'NodeSystemdServiceCrashlooping',
      'NodeSystemdServiceFailed',
      'etcdGRPCRequestsSlow',
    ]);
    for (const [alert, metric] of Object.entries(UNFED_DEFAULT_RULES)) {
      expect(everywhere.has(alert), alert).toBe(false);
      // The reason holds for the pinned chart: the rule's expression reads that metric
      expect(chartAlertExpression(alert), alert).toContain(metric);
    }
    // Their neighbours stay on
    expect(everywhere.get('etcdHighFsyncDurations')).toBe('etcd');
  });
});
