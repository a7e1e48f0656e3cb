// cert-manager's system check (layer 4) on the platform as Argo CD deploys it: it passes on the
// private CA with a leaf Certificate like the ones Argo CD, Grafana and the Gateway ask for, and
// each lifetime broken on purpose fails with the Certificate named.
import type { AnyComponent, KubeObject, SystemInput, Values } from '@homelab/core';
import {
  deployedCharts,
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { certificateRenewal, certManagerComponent } from '../src/index.js';
import { type AnyJson, NETWORK } from './helpers.js';

/** A component whose chart holds one Certificate of the cluster's issuer (like argocd-oidc-ca). */
function leaf(spec: Values = {}): AnyComponent {
  return testComponent({
    name: 'consumer',
    needs: ['certificates'],
    contribution: () => ({
      application: { namespace: 'consumer', podSecurity: 'restricted', clusterResources: [] },
    }),
    render: (input) => ({
      chart: {
        name: 'consumer',
        description: 'consumer (test component)',
        appVersion: '1.0.0',
        values: {},
        environments: {},
        clusters: Object.fromEntries(
          input.clusters.map((entry) => {
            const issuerRef = entry.provided.certificates?.issuerRef;
            const certificate: KubeObject = {
              apiVersion: 'cert-manager.io/v1',
              kind: 'Certificate',
              metadata: { name: 'consumer-ca', namespace: 'consumer' },
              spec: {
                secretName: 'consumer-ca',
                commonName: 'consumer-ca',
                issuerRef: { ...issuerRef },
                ...spec,
              },
            };
            return [entry.cluster.name, { manifests: { certificate } as unknown as Values }];
          }),
        ),
        readme: { summary: 'consumer for tests.' },
      },
    }),
  });
}

function platform(consumer = leaf(), issuer?: AnyJson): SystemInput {
  const definition = testDefinition(
    testReferenceClusters(),
    issuer === undefined ? {} : { components: { 'cert-manager': { issuer } } },
  );
  const { platform: resolved, components } = testRun(definition, [
    certManagerComponent,
    NETWORK,
    consumer,
  ]);
  expect(components.issues).toEqual([]);
  return { platform: resolved, clusters: deployedCharts(components), files: [] };
}

/** The deployed object named `name` of `app` on cluster `cluster`, to break in place. */
function objectOf(input: SystemInput, cluster: string, app: string, name: string): AnyJson {
  const found = input.clusters
    .find((c) => c.cluster.name === cluster)
    ?.applications.find((a) => a.name === app)
    ?.objects.find((o) => o.object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${app} ${name} on ${cluster}`);
  return found.object;
}

function messages(input: SystemInput): string[] {
  return certificateRenewal.check(input).map((issue) => `${issue.code}: ${issue.message}`);
}

describe('certificate-renewal', () => {
  test('passes on the private CA and a leaf with cert-manager’s default lifetime', () => {
    const input = platform();
    expect(certificateRenewal.check(input)).toEqual([]);
    // What it looks at is there: the root in cert-manager's namespace, the leaf of its issuer.
    expect(objectOf(input, 'dev', 'cert-manager', 'private-root-ca').spec.renewBefore).toBe(
      '2160h',
    );
    expect(objectOf(input, 'dev', 'consumer', 'consumer-ca').spec.issuerRef.name).toBe(
      'private-ca',
    );
  });

  test('is registered on the component', () => {
    expect(certManagerComponent.checks?.map((check) => check.name)).toEqual([
      'certificate-renewal',
      'acme-self-check-dns',
    ]);
  });

  test('a root that renews a month ahead leaves the leaves’ ca.crt on the expired root', () => {
    // The root of 720h ahead that the component made before: a leaf renewed every 1440h.
    const input = platform();
    for (const cluster of ['dev', 'staging', 'prod']) {
      objectOf(input, cluster, 'cert-manager', 'private-root-ca').spec.renewBefore = '720h';
    }
    expect(messages(input).filter((m) => m.includes('"dev"'))).toEqual([
      "certificate-renewal: Certificate consumer/consumer-ca on cluster \"dev\" renews every 1440h, but its CA cert-manager/private-root-ca renews only 720h before it expires: cert-manager writes ca.crt only when it issues, so this Secret's ca.crt can still hold the old root after it expired, and whatever trusts that copy (Argo CD's rootCA, Grafana's tls_client_ca) refuses every certificate of the platform",
    ]);
    expect(certificateRenewal.check(input).map((issue) => issue.output)).toEqual([
      'charts/consumer#consumer-ca',
      'charts/consumer#consumer-ca',
      'charts/consumer#consumer-ca',
    ]);
  });

  test('a leaf of a year renews too rarely for the root, a leaf of 30 days passes', () => {
    expect(messages(platform(leaf({ duration: '8760h' })))[0]).toContain(
      'renews every 5840h, but its CA cert-manager/private-root-ca renews only 2160h before it expires',
    );
    expect(certificateRenewal.check(platform(leaf({ duration: '720h' })))).toEqual([]);
  });

  test('a renewBefore at or over the duration, or a duration under an hour, is refused as the webhook refuses it', () => {
    const input = platform();
    objectOf(input, 'dev', 'cert-manager', 'private-root-ca').spec = {
      ...objectOf(input, 'dev', 'cert-manager', 'private-root-ca').spec,
      duration: '720h',
      renewBefore: '720h',
    };
    objectOf(input, 'staging', 'consumer', 'consumer-ca').spec.duration = '30m';
    objectOf(input, 'prod', 'consumer', 'consumer-ca').spec.renewBefore = '1m';
    expect(messages(input)).toEqual([
      'certificate-renewal: Certificate cert-manager/private-root-ca on cluster "dev" is refused by cert-manager\'s webhook: renewBefore 720h is not less than its duration 720h',
      'certificate-renewal: Certificate consumer/consumer-ca on cluster "staging" is refused by cert-manager\'s webhook: duration 30m is shorter than 1h',
      'certificate-renewal: Certificate consumer/consumer-ca on cluster "prod" is refused by cert-manager\'s webhook: renewBefore 1m is shorter than 5m',
    ]);
  });

  test('leaves of an ACME issuer are not held to a CA’s renewal', () => {
    const acme = {
      type: 'acme',
      acme: {
        email: 'ops@homelab.dev',
        dns01: {
          provider: 'cloudflare',
          cloudflare: { apiToken: { secretName: 'cloudflare', key: 'api-token' } },
        },
      },
    };
    const definition = testDefinition(testReferenceClusters(), {
      platform: { name: 'homelab', domain: 'homelab.dev' },
      components: { 'cert-manager': { issuer: acme } },
    });
    const { platform: resolved, components } = testRun(definition, [
      certManagerComponent,
      NETWORK,
      leaf({ duration: '8760h' }),
    ]);
    const input = { platform: resolved, clusters: deployedCharts(components), files: [] };
    expect(objectOf(input, 'dev', 'consumer', 'consumer-ca').spec.issuerRef.name).toBe(
      'letsencrypt-staging',
    );
    expect(certificateRenewal.check(input)).toEqual([]);
  });
});
