// The `acme-self-check-dns` system check: an ACME DNS-01 issuer whose self-check goes through the
// cluster's CoreDNS (no recursiveNameservers) must not meet a stub domain or a hosts record at a
// zone apex on the way up from `_acme-challenge.<name>`; broken on purpose with each, and passing
// with the split-horizon blocks the coredns component writes (hosts, fallthrough, forwarders) and
// with recursiveNameservers outside the cluster.
import {
  type AnyComponent,
  chartFiles,
  type GeneratedFile,
  INITIAL_CHART_VERSION,
  type KubeObject,
  type SystemInput,
  type Values,
} from '@homelab/core';
import {
  deployedCharts,
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import {
  acmeSelfCheckDns,
  CERT_MANAGER_CHECKS,
  certManagerComponent,
  serverBlocks,
} from '../src/index.js';
import { privateView, zoneSearch } from '../src/self-check.js';
import { type AnyJson, acme, OPEN_NETWORK } from './helpers.js';

/** The root block and a split-horizon block as the coredns component writes them. */
const ROOT = [
  '.:53 {',
  '    errors',
  '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
  '        pods insecure',
  '        fallthrough in-addr.arpa ip6.arpa',
  '    }',
  '    prometheus :9153',
  '    forward . 1.1.1.1 9.9.9.9 {',
  '        max_concurrent 1000',
  '    }',
  '    cache 30',
  '}',
];

function zoneBlock(zone: string, records: readonly string[]): string[] {
  return [
    `${zone}:53 {`,
    '    errors',
    '    hosts {',
    ...records.map((record) => `        ${record}`),
    '        ttl 60',
    '        fallthrough',
    '    }',
    '    forward . 1.1.1.1 9.9.9.9',
    '}',
  ];
}

function stubBlock(zone: string, servers: string): string[] {
  return [`${zone}:53 {`, '    errors', `    forward . ${servers}`, '    cache 30', '}'];
}

/** Stands in for the coredns component: its Corefile ConfigMap and the kube-dns Service. */
function dns(corefile: string): AnyComponent {
  return testComponent({
    name: 'dns',
    provides: ['dns'],
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'coredns', podSecurity: 'restricted', clusterResources: [] },
      facts: {
        dns: {
          clusterDomain: 'cluster.local',
          namespace: 'coredns',
          selector: { 'k8s-app': 'kube-dns' },
        },
      },
    }),
    render: (input) => ({
      chart: {
        name: 'dns',
        description: 'dns (test component)',
        appVersion: '1.0.0',
        values: {},
        environments: {},
        clusters: Object.fromEntries(
          input.clusters.map((entry) => {
            const configMap: KubeObject = {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'coredns', namespace: 'coredns' },
              data: { Corefile: corefile },
            } as KubeObject;
            const service: KubeObject = {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'kube-dns', namespace: 'coredns' },
              spec: { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] },
            };
            return [
              entry.cluster.name,
              { manifests: { configmap: configMap, service } as unknown as Values },
            ];
          }),
        ),
        readme: { summary: 'dns for tests.' },
      },
    }),
  });
}

/** A component whose chart holds the cluster's wildcard Certificate (like the Gateway's). */
const WILDCARD: AnyComponent = testComponent({
  name: 'edge',
  needs: ['certificates'],
  contribution: () => ({
    application: { namespace: 'edge', podSecurity: 'restricted', clusterResources: [] },
  }),
  render: (input) => ({
    chart: {
      name: 'edge',
      description: 'edge (test component)',
      appVersion: '1.0.0',
      values: {},
      environments: {},
      clusters: Object.fromEntries(
        input.clusters.map((entry) => {
          const certificate: KubeObject = {
            apiVersion: 'cert-manager.io/v1',
            kind: 'Certificate',
            metadata: { name: 'wildcard', namespace: 'edge' },
            spec: {
              secretName: 'wildcard',
              dnsNames: [`*.${entry.cluster.domain}`, entry.cluster.domain],
              issuerRef: { ...entry.provided.certificates?.issuerRef },
            },
          };
          return [entry.cluster.name, { manifests: { certificate } as unknown as Values }];
        }),
      ),
      readme: { summary: 'edge for tests.' },
    },
  }),
});

/**
 * The platform homelab.dev (clusters dev.homelab.dev, …) with `issuer` and `corefile`, on a CNI
 * without default deny: under it a Cloudflare issuer without recursiveNameservers is refused
 * already (`cert-manager-self-check`), whatever CoreDNS answers.
 */
function platform(corefile: readonly string[], issuer: AnyJson = acme('cloudflare')): SystemInput {
  const definition = testDefinition(testReferenceClusters(), {
    platform: { name: 'homelab', domain: 'homelab.dev' },
    components: { 'cert-manager': { issuer } },
  });
  const { platform: resolved, components } = testRun(definition, [
    certManagerComponent,
    OPEN_NETWORK,
    dns(`${corefile.join('\n')}\n`),
    WILDCARD,
  ]);
  expect(components.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  const chart = components.components.find((run) => run.component.name === 'cert-manager')?.output
    .chart;
  if (chart === undefined) throw new Error('cert-manager rendered no chart');
  // charts/cert-manager/values.yaml, env/<environment>.yaml, clusters/<cluster>.yaml.
  const files: GeneratedFile[] = chartFiles(chart, INITIAL_CHART_VERSION).files;
  return { platform: resolved, clusters: deployedCharts(components), files };
}

function found(input: SystemInput, cluster = 'dev'): string[] {
  return acmeSelfCheckDns
    .check(input)
    .filter((issue) => issue.message.includes(`cluster "${cluster}"`))
    .map((issue) => `${issue.severity} ${issue.code}: ${issue.message}`);
}

describe('the Corefile as the check reads it', () => {
  test('server blocks, their forwarders and hosts names', () => {
    const blocks = serverBlocks(
      [...ROOT, '', ...zoneBlock('lab.homelab.dev', ['10.0.0.5 nas.lab.homelab.dev'])].join('\n'),
    );
    expect(blocks.map((block) => [block.zones, block.forward, [...block.hosts]])).toEqual([
      [[''], ['1.1.1.1', '9.9.9.9'], []],
      [['lab.homelab.dev'], ['1.1.1.1', '9.9.9.9'], ['nas.lab.homelab.dev']],
    ]);
  });

  test('the names cert-manager asks for an SOA, from the challenge record up', () => {
    expect(zoneSearch('*.dev.homelab.dev')).toEqual([
      '_acme-challenge.dev.homelab.dev',
      'dev.homelab.dev',
      'homelab.dev',
      'dev',
    ]);
  });

  test('a hosts record below a zone apex, or a block with the forwarders, is the public view', () => {
    const blocks = serverBlocks(
      [...ROOT, ...zoneBlock('homelab.dev', ['10.0.0.5 nas.homelab.dev'])].join('\n'),
    );
    expect(privateView(blocks, 'homelab.dev')).toBeUndefined();
    expect(privateView(blocks, 'nas.homelab.dev')).toBeUndefined();
    expect(privateView(blocks, '_acme-challenge.dev.homelab.dev')).toBeUndefined();
  });
});

describe('acme-self-check-dns', () => {
  test('is registered on the component', () => {
    expect(CERT_MANAGER_CHECKS.map((check) => check.name)).toContain('acme-self-check-dns');
  });

  test('passes with the split-horizon blocks the coredns component writes', () => {
    const input = platform([
      ...ROOT,
      ...zoneBlock('dev.homelab.dev', ['10.10.10.254 auth.dev.homelab.dev']),
      ...zoneBlock('homelab.dev', ['10.0.0.5 nas.homelab.dev']),
    ]);
    expect(acmeSelfCheckDns.check(input)).toEqual([]);
  });

  test('a stub domain of the home domain sends the zone search to the LAN server: an error', () => {
    const input = platform([...ROOT, ...stubBlock('homelab.dev', '10.0.0.53')]);
    expect(found(input)).toEqual([
      'error acme-self-check-dns: ClusterIssuer letsencrypt-staging on cluster "dev" has no recursiveNameservers, so cert-manager asks the cluster DNS (/etc/resolv.conf) to find the zone of the DNS-01 challenge record of *.dev.homelab.dev, dev.homelab.dev (it asks _acme-challenge.dev.homelab.dev, dev.homelab.dev, homelab.dev there): CoreDNS forwards homelab.dev to 10.0.0.53 (a stub domain), not to its forwarders, so the SOA and nameservers it returns there are that server\'s view of the zone, not the public one: the self-check asks nameservers that never see the challenge record, and no certificate is issued',
    ]);
    expect(acmeSelfCheckDns.check(input)).toHaveLength(3);
    const issue = acmeSelfCheckDns.check(input)[0];
    expect(issue?.output).toBe('charts/cert-manager#letsencrypt-staging');
  });

  test('a hosts record at the apex of the home domain hides its SOA: a warning', () => {
    const input = platform([...ROOT, ...zoneBlock('homelab.dev', ['10.0.0.2 homelab.dev'])]);
    expect(found(input)).toEqual([
      'warning acme-self-check-dns: ClusterIssuer letsencrypt-staging on cluster "dev" has no recursiveNameservers, so cert-manager asks the cluster DNS (/etc/resolv.conf) to find the zone of the DNS-01 challenge record of *.dev.homelab.dev, dev.homelab.dev (it asks homelab.dev there): CoreDNS answers homelab.dev, the apex of its server block, from a hosts record: an SOA query for it gets an empty answer, so where homelab.dev is the zone your DNS provider holds, the zone search passes over it to dev, whose nameservers the self-check then asks for the challenge record, which they never hold (and Route 53\'s solver looks for a hosted zone of that name), so no certificate is issued',
    ]);
  });

  test('recursiveNameservers outside the cluster leave CoreDNS out; its own address does not', () => {
    const corefile = [...ROOT, ...stubBlock('homelab.dev', '10.0.0.53')];
    expect(
      acmeSelfCheckDns.check(platform(corefile, acme('cloudflare', undefined, ['1.1.1.1:53']))),
    ).toEqual([]);
    const throughCoreDns = found(
      platform(corefile, acme('cloudflare', undefined, ['10.96.0.10:53'])),
    );
    expect(throughCoreDns).toHaveLength(1);
    expect(throughCoreDns[0]).toContain(
      'ClusterIssuer letsencrypt-staging on cluster "dev" asks 10.96.0.10:53, the cluster\'s CoreDNS, to find the zone',
    );
  });

  test('a private CA has no self-check', () => {
    const input = platform([...ROOT, ...stubBlock('homelab.dev', '10.0.0.53')], {
      type: 'private-ca',
    });
    expect(acmeSelfCheckDns.check(input)).toEqual([]);
  });
});
