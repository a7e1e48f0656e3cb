// Runs the real cert-manager component through core's component run (definitions built with the
// one test factory, checked by the real validator) and renders its chart as Helm would.
import {
  type AnyComponent,
  type ChartSpec,
  type ClusterContribution,
  type ComponentsResult,
  chartFiles,
  INITIAL_CHART_VERSION,
  type Issue,
  type RenderedChart,
  renderChart,
} from '@homelab/core';
import { testComponent, testRun } from '@homelab/core/testing';
import { certManagerComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type AnyJson = any;

/** The CNI cert-manager needs. */
export const NETWORK: AnyComponent = testComponent({
  name: 'network',
  provides: ['cni'],
  contribution: () => ({
    facts: { cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' } },
  }),
});

/** A CNI that enforces no network policies (no default deny: the self-check may ask anyone). */
export const OPEN_NETWORK: AnyComponent = testComponent({
  name: 'network',
  provides: ['cni'],
  contribution: () => ({
    facts: { cni: { kubeProxyReplacement: true, networkPolicy: false, namespace: 'kube-system' } },
  }),
});

/** A secrets provider (what bitwarden-sm will be). */
export const SECRETS: AnyComponent = testComponent({
  name: 'vault',
  provides: ['secrets'],
  needs: ['cni'],
  contribution: () => ({ facts: { secrets: { store: 'Test Vault' } } }),
});

export interface CertManagerRun {
  readonly components: ComponentsResult;
  readonly chart: ChartSpec;
  /** What Helm computes for each cluster's value files of charts/cert-manager. */
  readonly rendered: { readonly [cluster: string]: RenderedChart };
  /** What cert-manager declared on each cluster. */
  readonly declared: { readonly [cluster: string]: ClusterContribution };
  readonly issues: readonly Issue[];
}

/** Renders `definition` with cert-manager and the network (plus `others`) as the registry. */
export function runCertManager(
  definition: unknown,
  others: readonly AnyComponent[] = [],
  network: AnyComponent = NETWORK,
): CertManagerRun {
  const { components } = testRun(definition, [certManagerComponent, network, ...others]);
  const run = components.components.find((entry) => entry.component.name === 'cert-manager');
  const chart = run?.output.chart;
  if (chart === undefined)
    throw new Error(`cert-manager rendered no chart: ${JSON.stringify(components.issues)}`);
  const { files, issues } = chartFiles(chart, INITIAL_CHART_VERSION);
  if (issues.length > 0) throw new Error(`chart issues: ${JSON.stringify(issues)}`);
  const rendered: { [cluster: string]: RenderedChart } = {};
  const declared: { [cluster: string]: ClusterContribution } = {};
  for (const cluster of components.clusters) {
    const name = cluster.cluster.name;
    const own = cluster.contributions.get('cert-manager');
    if (own === undefined) continue;
    declared[name] = own;
    if (chart.clusters[name] === undefined) continue;
    rendered[name] = renderChart(files, [
      `env/${cluster.cluster.environment}.yaml`,
      `clusters/${name}.yaml`,
    ]);
  }
  return { components, chart, rendered, declared, issues: components.issues };
}

/** `value`, or a thrown error naming what is missing. */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing ${what}`);
  return value;
}

/** An ACME issuer through `provider`, with its section. */
export function acme(
  provider: 'cloudflare' | 'rfc2136' | 'route53',
  server?: string,
  recursiveNameservers?: readonly string[],
): AnyJson {
  const sections: AnyJson = {
    cloudflare: { apiToken: { secretName: 'cloudflare', key: 'api-token' } },
    rfc2136: {
      nameserver: '10.0.0.53:53',
      tsigKeyName: 'homelab-acme',
      tsigSecret: { secretName: 'tsig', key: 'secret' },
    },
    route53: {
      region: 'eu-west-1',
      hostedZoneId: 'Z0123456789ABC',
      accessKeyId: { secretName: 'aws', key: 'access-key-id' },
      secretAccessKey: { secretName: 'aws', key: 'secret-access-key' },
    },
  };
  return {
    type: 'acme',
    acme: {
      email: 'ops@homelab.dev',
      ...(server === undefined ? {} : { server }),
      ...(recursiveNameservers === undefined ? {} : { recursiveNameservers }),
      dns01: { provider, [provider]: sections[provider] },
    },
  };
}
