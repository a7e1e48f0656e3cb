// A cluster's own DNS zone (`clusters[].domain`), through the whole pipeline on the reference
// platform (examples/reference/platform.yaml): prod on the platform domain shares Authelia's
// session cookie with dev's and staging's hosts (a warning whose fix is the setting); with
// `domain: prod.lab.example.com` every name prod derives moves below it and the warning is gone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, type Issue, parseYaml } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const PROD = '  - name: prod\n    environment: production\n';

/** The reference with `domain` set on prod (on the line after its environment). */
function withProdDomain(domain: string): string {
  if (!reference.includes(PROD)) throw new Error('prod is not in the reference');
  return reference.replace(PROD, `${PROD}    domain: ${domain}\n`);
}

async function build(text: string) {
  return generate({ text, file: 'platform.yaml', chartVersions: {} });
}

function errors(issues: readonly Issue[]): Issue[] {
  return issues.filter((issue) => issue.severity === 'error');
}

function file(files: readonly { path: string; content: string }[], path: string): string {
  const found = files.find((candidate) => candidate.path === path);
  if (found === undefined) throw new Error(`${path} was not generated`);
  return found.content;
}

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type Loose = any;

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`"${needle}" is not in the definition`);
  return index + 1;
}

describe("a cluster's domain", () => {
  it("the cookie warning on the reference names the setting that fixes it, at the cluster's name", async () => {
    const { issues } = await build(reference);
    const cookie = issues.filter((issue) => issue.code === 'authelia-cookie-scope');
    expect(cookie.map(formatIssue)).toEqual([
      `platform.yaml:${lineOf(reference, '- name: prod')}:11  clusters[2].name: the Authelia session cookie of cluster "prod" is set for lab.example.com, so browsers also send it to the hosts of dev (dev.lab.example.com), staging (staging.lab.example.com): a service there could read prod's sessions (expected clusters[2].domain: prod.lab.example.com)`,
    ]);
  });

  it('moves every name prod derives below prod.lab.example.com, and the warning goes', async () => {
    const { files, issues } = await build(withProdDomain('prod.lab.example.com'));
    expect(errors(issues).map(formatIssue)).toEqual([]);
    expect(issues.filter((issue) => issue.code === 'authelia-cookie-scope')).toEqual([]);
    const values = (chart: string) =>
      parseYaml(file(files, `charts/${chart}/clusters/prod.yaml`)) as Loose;

    // Gateway: the wildcard listeners and their certificate.
    const gateway = values('gateway').manifests;
    const certificate = Object.values(gateway).find(
      (object: Loose) => object.kind === 'Certificate',
    ) as Loose;
    expect(certificate.spec.dnsNames).toEqual(['*.prod.lab.example.com']);
    const gw = Object.values(gateway).find((object: Loose) => object.kind === 'Gateway') as Loose;
    expect(new Set(gw.spec.listeners.map((listener: Loose) => listener.hostname))).toEqual(
      new Set(['*.prod.lab.example.com']),
    );

    // Authelia: the session cookie, the portal's route, the OIDC clients' redirects, the rules.
    const authelia = values('authelia').authelia;
    expect(authelia.configMap.session.cookies).toEqual([
      expect.objectContaining({ domain: 'prod.lab.example.com', subdomain: 'auth' }),
    ]);
    const redirects = authelia.configMap.identity_providers.oidc.clients.flatMap(
      (client: Loose) => client.redirect_uris,
    );
    expect(redirects).toEqual(
      expect.arrayContaining([
        'https://argocd.prod.lab.example.com/auth/callback',
        'https://grafana.prod.lab.example.com/login/generic_oauth',
      ]),
    );
    expect(
      authelia.configMap.access_control.rules.flatMap((rule: Loose) => rule.domain).sort(),
    ).toEqual([
      'argocd.prod.lab.example.com',
      'grafana.prod.lab.example.com',
      'paperless.prod.lab.example.com',
    ]);

    // Argo CD's URL (the chart's url is https://<global.domain>) and issuer; Grafana's root_url
    // and its OIDC endpoints.
    const argocd = values('argo-cd')['argo-cd'];
    expect(argocd.global.domain).toBe('argocd.prod.lab.example.com');
    expect(parseYaml(argocd.configs.cm['oidc.config'])).toMatchObject({
      issuer: 'https://auth.prod.lab.example.com',
    });
    const grafana = JSON.stringify(values('monitoring'));
    expect(grafana).toContain('"root_url":"https://grafana.prod.lab.example.com"');
    expect(grafana).toContain('"token_url":"https://auth.prod.lab.example.com/api/oidc/token"');

    // CoreDNS answers prod's routed hosts in a zone of their own; the user's split-horizon zone
    // of the platform domain (nas, git) stays as written.
    const corefile = JSON.stringify(values('coredns'));
    expect(corefile).toContain('prod.lab.example.com:53 {');
    expect(corefile).toContain(
      '10.30.20.30 argocd.prod.lab.example.com auth.prod.lab.example.com grafana.prod.lab.example.com paperless.prod.lab.example.com',
    );
    expect(corefile).toContain('lab.example.com:53 {');

    // The runbook's DNS record, checks and login table.
    const runbook = file(files, 'clusters/prod/RUNBOOK.md');
    expect(runbook).toContain('*.prod.lab.example.com.  IN  A  10.30.20.30');
    expect(runbook).toContain('argocd login argocd.prod.lab.example.com --grpc-web --sso');
    expect(runbook).toContain('| https://grafana.prod.lab.example.com/ | monitoring |');
    // No routed host of prod is left on the bare platform domain.
    for (const host of ['auth', 'argocd', 'grafana', 'paperless', 'gateway-check']) {
      expect(runbook).not.toContain(`${host}.lab.example.com`);
    }

    // dev and staging keep their names.
    const dev = parseYaml(file(files, 'charts/authelia/clusters/dev.yaml')) as Loose;
    expect(dev.authelia.configMap.session.cookies[0].domain).toBe('dev.lab.example.com');
  });

  it('an invalid domain is an error at the setting, and nothing is generated', async () => {
    const text = withProdDomain('prod.example.org');
    const { files, issues } = await build(text);
    expect(files).toEqual([]);
    expect(errors(issues).map(formatIssue)).toEqual([
      `platform.yaml:${lineOf(text, 'domain: prod.example.org')}:13  clusters[2].domain: "prod.example.org" is outside the platform domain lab.example.com (platform.domain): every cluster's hostnames, Gateway certificate and DNS zone are names of the platform domain (expected lab.example.com or a name below it, e.g. clusters[2].domain: prod.lab.example.com)`,
    ]);
  });

  it("a domain that still holds another cluster's keeps the warning, at the setting", async () => {
    // prod on its own name, dev moved below it: prod's cookie reaches dev again.
    const text = withProdDomain('prod.lab.example.com').replace(
      '  - name: dev\n    environment: development\n',
      '  - name: dev\n    environment: development\n    domain: dev.prod.lab.example.com\n',
    );
    const { issues } = await build(text);
    expect(errors(issues).map(formatIssue)).toEqual([]);
    const [cookie, ...rest] = issues.filter((issue) => issue.code === 'authelia-cookie-scope');
    expect(rest).toEqual([]);
    expect(cookie).toMatchObject({
      severity: 'warning',
      path: ['clusters', 2, 'domain'],
      position: { line: lineOf(text, 'domain: prod.lab.example.com'), column: 13 },
      // Its own name holds dev: no name to offer, only the rule.
      expected:
        "clusters[2].domain: a name below lab.example.com that holds no other cluster's domain",
    });
  });
});
