// An application logging its users in through Authelia (a route's `oidc`), through the whole
// pipeline on the reference platform (examples/reference: paperless): the policy that lets the
// pods behind the route reach the issuer through the Gateway, the reachability check failing
// without it, and a second application outside default deny needing none.
import type { Issue, KubeObject } from '@homelab/core';
import { formatIssue } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { broken, edit, generateSeen, reference, withApplications } from './broken-output.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read into the policies' specs.
type Loose = any;

const POLICY = 'applications-paperless-oidc-paperless-egress';

async function build(
  text: string,
): Promise<{ issues: Issue[]; objects: (cluster: string) => KubeObject[] }> {
  const { issues, objects } = await generateSeen(text);
  return { issues: issues.filter((issue) => issue.severity === 'error'), objects };
}

describe("an application's OIDC login on the reference", { timeout: 180_000 }, () => {
  it("paperless' web pods reach Authelia through the Gateway on every cluster", async () => {
    const { issues, objects } = await build(reference);
    expect(issues.map(formatIssue)).toEqual([]);
    for (const [cluster, domain] of [
      ['dev', 'dev.lab.example.com'],
      ['prod', 'lab.example.com'],
    ] as const) {
      const policy = objects(cluster).find(
        (object) => object.kind === 'CiliumNetworkPolicy' && object.metadata.name === POLICY,
      ) as Loose;
      expect(policy.metadata.namespace).toBe('paperless');
      expect(policy.spec.endpointSelector).toEqual({
        matchLabels: { 'app.kubernetes.io/name': 'paperless' },
      });
      expect(policy.spec.description).toBe(
        `applications: paperless exchanges the login code for tokens and reads the user at the OIDC issuer (https://auth.${domain}), client paperless`,
      );
      expect(policy.spec.egress).toEqual([
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
    }
  });

  it('broken on purpose: without that policy on prod, the reachability check names the call', async () => {
    const issues = await broken(
      withApplications('prod', (app) => ({
        ...app,
        objects: app.objects.filter((item) => item.object.metadata.name !== POLICY),
      })),
    );
    expect(issues.filter((issue) => issue.code === 'reachability').map((i) => i.message)).toEqual([
      'applications needs paperless/paperless → gateway (auth.lab.example.com → authelia) 443/TCP (paperless exchanges the login code for tokens and reads the user at the OIDC issuer (https://auth.lab.example.com), client paperless) on cluster "prod", but no generated policy allows it',
    ]);
  });

  it('a second application logging in, outside default deny (no flows): no flow and no error', async () => {
    const text = edit(
      edit(
        reference,
        '  monitoring:\n    grafana:',
        '      wiki:\n        routes:\n          - host: wiki\n            service: wiki\n            port: 3000\n            auth: app\n            oidc:\n              redirectPaths: [/oauth/callback]\n  monitoring:\n    grafana:',
      ),
      '      paperless/paperless-oidc:\n        client-secret: 5b0f3c1e-7a2d-4c8e-9f61-2d4a8b7e3c90\n',
      '      paperless/paperless-oidc:\n        client-secret: 5b0f3c1e-7a2d-4c8e-9f61-2d4a8b7e3c90\n      wiki/wiki-oidc:\n        client-secret: 0c4f6a7e-2b1d-4e3a-9c5f-8d7e6b5a4c3d\n',
    );
    const prodText = edit(
      text,
      '          paperless/paperless-oidc:\n            client-secret: c2e9a4d7-1b3f-4e58-8a06-7f5d9c2b1e43\n',
      '          paperless/paperless-oidc:\n            client-secret: c2e9a4d7-1b3f-4e58-8a06-7f5d9c2b1e43\n          wiki/wiki-oidc:\n            client-secret: 1d5e7b8f-3c2e-4f4b-8d6a-9e8f7c6b5d4e\n',
    );
    const { issues, objects } = await build(prodText);
    expect(issues.map(formatIssue)).toEqual([]);
    expect(
      objects('prod')
        .filter((object) => object.kind === 'CiliumNetworkPolicy')
        .map((object) => object.metadata.name)
        .filter((name) => name.startsWith('applications-') && name.includes('oidc')),
    ).toEqual([POLICY]);
  });
});
