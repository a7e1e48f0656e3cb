// The platform's certificates as the build checks them on the reference platform's output
// (`certificate-renewal`, `gateway-certificate`, `acme-self-check-dns`, docs/system-checks.md), broken on purpose: the
// build stops with the check's code, the Certificate and the place in the definition.
import { describe, expect, it } from 'vitest';
import {
  broken,
  edit,
  errorsOf,
  FILE,
  found,
  inside,
  type Loose,
  PROD,
  reference,
  withObject,
} from './broken-output.js';

describe('certificate-renewal on the reference platform', { timeout: 120_000 }, () => {
  it('passes as generated', async () => {
    expect(found(await broken((input) => input), 'certificate-renewal')).toEqual([]);
  });

  it('a root CA renewed only a month ahead leaves the ca.crt copies of prod on the expired root', async () => {
    const errors = await broken(
      withObject('prod', 'Certificate', 'private-root-ca', (object) => {
        (object.spec as Loose).renewBefore = '720h';
        return object;
      }),
    );
    const issues = found(errors, 'certificate-renewal');
    expect(issues.map((issue) => issue.output)).toEqual([
      // paperless' copy of the CA, for its OIDC login
      'charts/applications/clusters/prod.yaml#manifests.certificate-paperless-platform-ca',
      'charts/gateway/clusters/prod.yaml#manifests.certificate',
      'charts/argo-cd/clusters/prod.yaml#manifests.certificate-argocd-oidc-ca',
      'charts/monitoring/clusters/prod.yaml#manifests.certificate-grafana-oidc-ca',
    ]);
    expect(issues[2]?.at).toBe(inside('argocd:', PROD));
    expect(issues[2]?.message).toContain(
      'Certificate argocd/argocd-oidc-ca on cluster "prod" renews every 1440h, but its CA cert-manager/private-root-ca renews only 720h before it expires',
    );
  });

  it('a root whose renewBefore is its duration is refused as cert-manager’s webhook refuses it', async () => {
    const errors = await broken(
      withObject('prod', 'Certificate', 'private-root-ca', (object) => {
        Object.assign(object.spec as Loose, { duration: '720h', renewBefore: '720h' });
        return object;
      }),
    );
    expect(found(errors, 'certificate-renewal').map((issue) => issue.message)).toEqual([
      'Certificate cert-manager/private-root-ca on cluster "prod" is refused by cert-manager\'s webhook: renewBefore 720h is not less than its duration 720h',
    ]);
  });
});

describe('gateway-certificate on the reference platform', { timeout: 120_000 }, () => {
  it('the private CA’s wildcard without the "server auth" usage is refused', async () => {
    const errors = await broken(
      withObject('prod', 'Certificate', 'platform-wildcard', (object) => {
        delete (object.spec as Loose).usages;
        return object;
      }),
    );
    const issues = found(errors, 'gateway-certificate');
    expect(issues.map((issue) => [issue.output, issue.message])).toEqual([
      [
        'charts/gateway/clusters/prod.yaml#manifests.certificate',
        'Certificate gateway/platform-wildcard on cluster "prod", served by listener "https" of Gateway gateway/platform, does not ask for the "server auth" usage: ClusterIssuer private-ca signs the usages asked for (cert-manager\'s default: digital signature, key encipherment), and Apple\'s TLS clients (Safari; curl and the argocd CLI on macOS) refuse a server certificate without the serverAuth extended key usage',
      ],
    ]);
  });
});

/**
 * The reference on a public domain with Let's Encrypt through Cloudflare, and CoreDNS sending the
 * home domain (homelab.dev, above every cluster's domain) to a LAN server (a stub domain): `recursiveNameservers` as given, or none.
 */
function acmeReference(recursiveNameservers?: string): string {
  let text = edit(
    reference,
    'platform:\n  name: homelab\n  domain: lab.example.com',
    'platform:\n  name: homelab\n  domain: lab.homelab.dev',
  );
  text = edit(
    text,
    '    cache:\n      ttl: 30\n',
    '    cache:\n      ttl: 30\n    stubDomains:\n      - domain: homelab.dev\n        servers: [10.0.0.53]\n',
  );
  text = edit(
    text,
    '  cert-manager:\n    issuer:\n      type: private-ca\n',
    [
      '  cert-manager:',
      '    issuer:',
      '      type: acme',
      '      acme:',
      '        email: ops@homelab.dev',
      ...(recursiveNameservers === undefined
        ? []
        : [`        recursiveNameservers: ['${recursiveNameservers}']`]),
      '        dns01:',
      '          provider: cloudflare',
      '          cloudflare:',
      '            apiToken: { secretName: cloudflare-api-token, key: api-token }',
      '',
    ].join('\n'),
  );
  return edit(
    text,
    '    secrets:\n      argocd/argocd-oidc:\n',
    '    secrets:\n      cert-manager/cloudflare-api-token:\n        api-token: 0b7c2d3e-4f5a-4b6c-8d9e-0f1a2b3c4d5e\n      argocd/argocd-oidc:\n',
  );
}

describe('acme-self-check-dns on the reference platform', { timeout: 120_000 }, () => {
  it('a stub domain of the home domain, with no recursiveNameservers, is an error on every cluster', async () => {
    const issues = found(await errorsOf(acmeReference()), 'acme-self-check-dns');
    expect(issues.map((issue) => [issue.output, issue.message])).toEqual(
      [
        // The Gateway's block (its domain, the forwarders) answers the names below it.
        ['dev', '*.dev.lab.homelab.dev', 'lab.homelab.dev, homelab.dev'],
        ['prod', '*.lab.homelab.dev', 'homelab.dev'],
        ['staging', '*.staging.lab.homelab.dev', 'lab.homelab.dev, homelab.dev'],
      ].map(([cluster, wildcard, asked]) => [
        `charts/cert-manager/clusters/${cluster}.yaml#manifests.clusterissuer-letsencrypt-staging`,
        `ClusterIssuer letsencrypt-staging on cluster "${cluster}" has no recursiveNameservers, so cert-manager asks the cluster DNS (/etc/resolv.conf) to find the zone of the DNS-01 challenge record of ${wildcard} (it asks ${asked} there): CoreDNS forwards homelab.dev to 10.0.0.53 (a stub domain), not to its forwarders, so the SOA and nameservers it returns there are that server's view of the zone, not the public one: the self-check asks nameservers that never see the challenge record, and no certificate is issued`,
      ]),
    );
  });

  it('passes with recursiveNameservers outside the cluster', async () => {
    const issues = await errorsOf(acmeReference('1.1.1.1:53'));
    expect(found(issues, 'acme-self-check-dns')).toEqual([]);
    expect(found(issues, 'cert-manager-self-check')).toEqual([]);
  });

  it("refuses Cloudflare without recursiveNameservers under default deny, at the issuer's acme: the self-check would ask Cloudflare's nameservers, which no flow names", async () => {
    const text = acmeReference();
    const lines = text.split('\n');
    const line = lines.indexOf('      acme:') + 2;
    const issues = found(await errorsOf(text), 'cert-manager-self-check');
    // One issuer for every cluster: one error, where it is written
    expect(issues.map((issue) => issue.at)).toEqual([`${FILE}:${line}:9`]);
    expect(issues[0]?.message).toBe(
      "the DNS-01 self-check asks the zone's authoritative nameservers directly (found through the cluster DNS), at addresses no flow names: under the CNI's default deny it cannot see the challenge record and no certificate is issued (the nameservers of a Cloudflare zone are the provider's)",
    );
  });
});
