// The platform's certificates as the build checks them on the reference platform's output
// (`certificate-renewal`, `gateway-certificate`, docs/system-checks.md), broken on purpose: the
// build stops with the check's code, the Certificate and the place in the definition.
import { describe, expect, it } from 'vitest';
import { broken, found, inside, type Loose, PROD, withObject } from './broken-output.js';

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
      'charts/gateway/clusters/prod.yaml#manifests.certificate',
      'charts/argo-cd/clusters/prod.yaml#manifests.certificate-argocd-oidc-ca',
      'charts/monitoring/clusters/prod.yaml#manifests.certificate-grafana-oidc-ca',
    ]);
    expect(issues[1]?.at).toBe(inside('argocd:', PROD));
    expect(issues[1]?.message).toContain(
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
