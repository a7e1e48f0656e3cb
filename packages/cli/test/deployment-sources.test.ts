// The repo-server's egress to the deployment sources (the platform repository, the upstream
// chart repositories, the CRD bundles' repositories) when the platform repository is read over
// SSH from the host that also serves charts over HTTPS: one policy per host with both ports.
// Both ports used to resolve to one policy name, the second replacing the first, and the build
// refused the valid definition with an error about a policy the user cannot write.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, type Issue, parseYaml } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const HTTPS = 'url: https://github.com/example/homelab-platform.git';

async function githubPolicy(text: string) {
  const result = await generate({ text, file: 'platform.yaml', chartVersions: {} });
  const errors = result.issues.filter((issue) => issue.severity === 'error');
  const layer = result.files.find((file) => file.path === 'charts/cilium/clusters/prod.yaml');
  const manifests = (parseYaml(layer?.content ?? '{}') as AnyJson)?.manifests ?? {};
  const policy = Object.values(manifests).find(
    (object: AnyJson) =>
      object.kind === 'CiliumNetworkPolicy' &&
      object.metadata.name === 'argocd-repo-server-sources-github-com-egress',
  ) as AnyJson;
  return { errors, policy };
}

describe('the deployment sources of the repo-server', () => {
  it('reach github.com on 443 when the platform repository is read over HTTPS', async () => {
    expect(reference).toContain(HTTPS);
    const { errors, policy } = await githubPolicy(reference);
    expect(errors).toEqual([]);
    expect(policy.spec.egress).toEqual([
      {
        toFQDNs: [{ matchName: 'github.com' }],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
    ]);
  });

  it('reach github.com on 22 and 443 when the repository is read over SSH', async () => {
    for (const url of [
      'url: git@github.com:example/homelab-platform.git',
      'url: ssh://git@github.com/example/homelab-platform.git',
    ]) {
      const { errors, policy } = await githubPolicy(reference.replace(HTTPS, url));
      expect(errors, url).toEqual([]);
      expect(policy.spec.egress, url).toEqual([
        {
          toFQDNs: [{ matchName: 'github.com' }],
          toPorts: [
            {
              ports: [
                { port: '22', protocol: 'TCP' },
                { port: '443', protocol: 'TCP' },
              ],
            },
          ],
        },
      ]);
    }
  });

  it('reach every host an upstream chart is fetched from: the repositories, and GitHub Releases with its redirect', async () => {
    const result = await generate({ text: reference, file: 'platform.yaml', chartVersions: {} });
    const layer = result.files.find((file) => file.path === 'charts/cilium/clusters/prod.yaml');
    const manifests: AnyJson[] = Object.values(
      (parseYaml(layer?.content ?? '{}') as AnyJson)?.manifests ?? {},
    );
    const hosts = manifests
      .filter(
        (object) =>
          object.kind === 'CiliumNetworkPolicy' &&
          object.metadata.name.startsWith('argocd-repo-server-sources-'),
      )
      .flatMap((object) => object.spec.egress.flatMap((rule: AnyJson) => rule.toFQDNs))
      .map((fqdn) => fqdn.matchName)
      .sort();
    // argo-helm, authelia, bitwarden, longhorn, prometheus-community and piraeus publish their
    // archives with chart-releaser: the index points at github.com/<owner>/<repo>/releases/download/…,
    // which answers with a redirect to release-assets.githubusercontent.com (checked in their
    // gh-pages index.yaml); without that host the repo-server's `helm dependency build` fails.
    expect(hosts).toEqual([
      'argoproj.github.io',
      'backube.github.io',
      'charts.authelia.com',
      'charts.bitwarden.com',
      'charts.jetstack.io',
      'charts.longhorn.io',
      'github.com',
      'helm.cilium.io',
      'open-policy-agent.github.io',
      'piraeus.io',
      'prometheus-community.github.io',
      'release-assets.githubusercontent.com',
    ]);
  });
});

// The users' own Applications (an application's AppProject app-<name>) are fetched by the same
// repo-server, under the same default deny: the hosts their repositories name get egresses too,
// and a project open to any host is a warning that names the clusters.
describe("the deployment sources of the applications' own Applications", () => {
  const NAMED = 'repositories: [https://github.com/example/paperless-deploy.git]';
  const withRepositories = (list: string) => reference.replace(NAMED, `repositories: ${list}`);
  const build = async (text: string) => {
    const result = await generate({ text, file: 'platform.yaml', chartVersions: {} });
    const layer = result.files.find((file) => file.path === 'charts/cilium/clusters/prod.yaml');
    const manifests: AnyJson[] = Object.values(
      (parseYaml(layer?.content ?? '{}') as AnyJson)?.manifests ?? {},
    );
    const sources = new Map<string, AnyJson>(
      manifests
        .filter(
          (object) =>
            object.kind === 'CiliumNetworkPolicy' &&
            object.metadata.name.startsWith('argocd-repo-server-sources-'),
        )
        .map((object) => [object.metadata.name, object.spec.egress]),
    );
    return {
      errors: result.issues.filter((issue) => issue.severity === 'error'),
      open: result.issues.filter((issue) => issue.code === 'deployment-source-open'),
      sources,
    };
  };

  it("reach quay.io's CDN hosts for a chart from quay.io, where it serves the blobs", async () => {
    const { errors, sources } = await build(withRepositories('[oci://quay.io/me/charts]'));
    expect(errors).toEqual([]);
    const names = [...sources.values()]
      .flat()
      .flatMap((rule: AnyJson) => (rule.toFQDNs ?? []).map((fqdn: AnyJson) => fqdn.matchName))
      .filter((name: string) => name.endsWith('quay.io'))
      .sort();
    expect(names).toEqual([
      'cdn.quay.io',
      'cdn01.quay.io',
      'cdn02.quay.io',
      'cdn03.quay.io',
      'quay.io',
    ]);
  });

  it('reach the host of every repository an application names, on its port', async () => {
    expect(reference).toContain(NAMED);
    const { errors, open, sources } = await build(
      withRepositories(
        "[https://gitlab.com/me/paperless.git, oci://ghcr.io/me/charts, 'https://git.lab.example.com:3000/me/*', 'ssh://git@10.0.0.7:2222/me/deploy.git', '!https://gitlab.com/me/old-*']",
      ),
    );
    expect(errors).toEqual([]);
    expect(open).toEqual([]);
    expect(sources.get('argocd-repo-server-sources-gitlab-com-egress')).toEqual([
      {
        toFQDNs: [{ matchName: 'gitlab.com' }],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
    ]);
    expect(sources.get('argocd-repo-server-sources-ghcr-io-egress')).toEqual([
      {
        toFQDNs: [{ matchName: 'ghcr.io' }],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
    ]);
    // ghcr.io sends blob downloads to GitHub's package CDN (a long name: shortened with a hash)
    expect(
      [...sources.values()].filter((egress) =>
        JSON.stringify(egress).includes('"matchName":"pkg-containers.githubusercontent.com"'),
      ),
    ).toEqual([
      [
        {
          toFQDNs: [{ matchName: 'pkg-containers.githubusercontent.com' }],
          toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
        },
      ],
    ]);
    expect(sources.get('argocd-repo-server-sources-git-lab-example-com-egress')).toEqual([
      {
        toFQDNs: [{ matchName: 'git.lab.example.com' }],
        toPorts: [{ ports: [{ port: '3000', protocol: 'TCP' }] }],
      },
    ]);
    // An address: a CIDR rule (git dials it without a DNS query)
    const byAddress = [...sources.values()]
      .flat()
      .filter((rule: AnyJson) => rule.toCIDR !== undefined || rule.toCIDRSet !== undefined);
    expect(byAddress).toEqual([
      expect.objectContaining({ toPorts: [{ ports: [{ port: '2222', protocol: 'TCP' }] }] }),
    ]);
    expect(JSON.stringify(byAddress)).toContain('10.0.0.7/32');
  });

  it('warn once, at the application, where its repositories leave the host open', async () => {
    for (const list of ["['*']", "['https://*.example.com/*']"]) {
      const { errors, open, sources } = await build(withRepositories(list));
      expect(errors, list).toEqual([]);
      expect(
        open.map((issue) => [issue.severity, issue.path, issue.value]),
        list,
      ).toEqual([
        ['warning', ['components', 'applications', 'apps', 'paperless'], [list.slice(2, -2)]],
      ]);
      expect(open[0]?.message).toContain(
        'Argo CD\'s repo-server on clusters "dev", "prod" and "staging" is under default deny',
      );
      // The formatted line quotes the patterns once: the message carries the value as JSON, so
      // the formatter does not print it in front as well.
      const line = formatIssue(open[0] as Issue);
      const json = JSON.stringify([list.slice(2, -2)]);
      expect(line.split(json).length - 1, line).toBe(1);
      expect(line).toContain(
        `components.applications.apps.paperless: AppProject app-paperless lets its Applications take their sources from ${json}, a pattern of any host, but`,
      );
      // No egress for a host nobody named
      expect([...sources.keys()].filter((name) => name.includes('example-com'))).toEqual([]);
    }
    // The default (no repositories) is any host too
    const { open } = await build(reference.replace(`        ${NAMED}\n`, ''));
    expect(open.map((issue) => issue.value)).toEqual([['*']]);
  });

  it('say nothing where no namespace is under default deny', async () => {
    const { open } = await build(
      withRepositories("['*']").replace('      defaultDeny: true', '      defaultDeny: false'),
    );
    expect(open).toEqual([]);
  });
});
