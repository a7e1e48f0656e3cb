// An application's call to a host the cluster's own Gateway routes (an OIDC back-channel to
// auth.<domain>, another application's route): Cilium takes the connection into its Envoy before
// a toFQDNs rule could match the name (cilium/cilium#47768), so the flow is the Gateway
// (Cilium's plan: an fqdn peer naming a host some component routes on the cluster), a host of the
// domain no route serves keeps its rule, and `cilium-fqdn-routed-host` refuses any toFQDNs rule
// naming a routed host.
import type { Issue, KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { broken, edit, found, generateSeen, reference, withObject } from './broken-output.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read into the policies' specs.
type Loose = any;

/** The reference with paperless calling `host` on 443 (its `sso` flow). */
const withCall = (host: string) =>
  edit(
    reference,
    '          - name: mail\n            fqdn: imap.example.com',
    `          - name: sso\n            fqdn: ${host}\n            ports: [{ port: 443 }]\n            reason: the web server redeems OIDC codes at Authelia\n          - name: mail\n            fqdn: imap.example.com`,
  );

async function build(
  text: string,
): Promise<{ issues: Issue[]; policy: (cluster: string) => Loose }> {
  const { issues, objects } = await generateSeen(text);
  return {
    issues: issues.filter((issue) => issue.severity === 'error'),
    policy: (cluster) =>
      objects(cluster).find(
        (object: KubeObject) =>
          object.kind === 'CiliumNetworkPolicy' &&
          object.metadata.name === 'applications-paperless-sso-egress',
      ),
  };
}

describe('cilium-fqdn-routed-host', { timeout: 180_000 }, () => {
  it("an application's fqdn flow to a host its cluster's Gateway routes is a Gateway flow", async () => {
    // prod's Gateway serves lab.example.com (auth.lab.example.com is its Authelia); dev's serves
    // dev.lab.example.com, where the same name is an outside host
    const { issues, policy } = await build(withCall('auth.lab.example.com'));
    expect(issues).toEqual([]);
    expect(policy('prod').spec.egress).toEqual([
      { toEntities: ['ingress'] },
      {
        toEndpoints: [
          {
            matchLabels: {
              'app.kubernetes.io/instance': 'authelia',
              'app.kubernetes.io/name': 'authelia',
              'k8s:io.kubernetes.pod.namespace': 'authelia',
            },
          },
        ],
        toPorts: [{ ports: [{ port: '9091', protocol: 'TCP' }] }],
      },
    ]);
    expect(policy('dev').spec.egress).toEqual([
      {
        toFQDNs: [{ matchName: 'auth.lab.example.com' }],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
    ]);
  });

  it("a host of the Gateway's domain that no route serves (a NAS on the LAN) keeps its toFQDNs rule", async () => {
    // prod's Gateway serves lab.example.com but routes no nas.lab.example.com: the call goes to
    // the NAS's own address, which only a toFQDNs rule allows
    const { issues, policy } = await build(withCall('nas.lab.example.com'));
    expect(issues).toEqual([]);
    expect(policy('prod').spec.egress).toEqual([
      {
        toFQDNs: [{ matchName: 'nas.lab.example.com' }],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
    ]);
  });

  it('broken on purpose: a toFQDNs rule naming a routed host is an error', async () => {
    // The reference's mail flow (imap.example.com) pointed at paperless' own route on prod
    const issues = await broken(
      withObject('prod', 'CiliumNetworkPolicy', 'applications-paperless-mail-egress', (object) => {
        (object as Loose).spec.egress[0].toFQDNs = [{ matchName: 'paperless.lab.example.com' }];
        return object;
      }),
    );
    const errors = found(issues, 'cilium-fqdn-routed-host');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.output).toBe(
      'charts/cilium/clusters/prod.yaml#manifests.cnp-paperless-applications-paperless-mail-egress',
    );
    expect(errors[0]?.message).toBe(
      'the CiliumNetworkPolicy applications-paperless-mail-egress on cluster "prod" allows egress to paperless.lab.example.com with a toFQDNs rule, but the cluster\'s own Gateway routes that host (charts/applications/clusters/prod.yaml#manifests.httproute-paperless): Cilium takes the connection into its Envoy before the rule can match, so it allows nothing and the call times out',
    );
    // and the same name on a cluster whose Gateway does not route it is left alone
    expect(
      found(
        await broken(
          withObject(
            'dev',
            'CiliumNetworkPolicy',
            'applications-paperless-mail-egress',
            (object) => {
              (object as Loose).spec.egress[0].toFQDNs = [
                { matchName: 'paperless.lab.example.com' },
              ];
              return object;
            },
          ),
        ),
        'cilium-fqdn-routed-host',
      ),
    ).toEqual([]);
  });
});
