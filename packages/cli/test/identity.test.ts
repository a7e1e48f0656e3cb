// Identity and secrets end to end (issue 11), through the whole pipeline on the reference platform
// (examples/reference/platform.yaml): Argo CD logs in through Authelia on every cluster with every
// secret from Bitwarden; and each bad input the issue names is one clear error at the definition's
// file:line:col, with nothing generated.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, type Issue, parseYaml } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

async function build(text: string) {
  return generate({ text, file: 'platform.yaml', chartVersions: {} });
}

/** The 1-based line of the first line of `text` that contains `needle` (after `after`, if given). */
function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  const start = after === undefined ? 0 : lines.findIndex((line) => line.includes(after));
  const index = lines.findIndex((line, i) => i >= start && line.includes(needle));
  if (index < 0) throw new Error(`"${needle}" is not in the definition`);
  return index + 1;
}

/** `text` with `from` replaced once (it must occur). */
function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`"${from}" is not in the definition`);
  return text.replace(from, to);
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

describe('the reference platform', () => {
  it('builds with Argo CD logging in through Authelia on every cluster, nothing unfulfilled', async () => {
    const { files, issues } = await build(reference);
    expect(errors(issues).map(formatIssue)).toEqual([]);
    expect(issues.filter((issue) => issue.code === 'request-unfulfilled')).toEqual([]);
    for (const cluster of ['dev', 'staging', 'prod']) {
      const argocd = parseYaml(file(files, `charts/argo-cd/clusters/${cluster}.yaml`)) as Loose;
      const oidc = parseYaml(argocd['argo-cd'].configs.cm['oidc.config']) as Loose;
      const domain = cluster === 'prod' ? 'lab.example.com' : `${cluster}.lab.example.com`;
      expect(oidc.issuer).toBe(`https://auth.${domain}`);
      // both sides read one Bitwarden secret
      const clientId = `argocd-${cluster}`;
      const own = argocd.manifests['bitwardensecret-argocd-oidc'].spec.map[0].bwSecretId;
      const authelia = parseYaml(file(files, `charts/authelia/clusters/${cluster}.yaml`)) as Loose;
      const theirs = authelia.manifests['bitwardensecret-authelia-oidc-clients'].spec.map.find(
        (entry: Loose) => entry.secretKeyName === clientId,
      ).bwSecretId;
      expect([cluster, theirs]).toEqual([cluster, own]);
      expect(
        authelia.authelia.configMap.identity_providers.oidc.clients.map(
          (client: Loose) => client.client_id,
        ),
      ).toEqual([clientId, `${clientId}-cli`, `grafana-${cluster}`, 'paperless']);
      // paperless logs its users in through its own client (its route's oidc): redirects to its
      // host, its secret from the same Bitwarden entry as Authelia's copy
      const paperless = authelia.authelia.configMap.identity_providers.oidc.clients.find(
        (client: Loose) => client.client_id === 'paperless',
      );
      expect(paperless.redirect_uris).toEqual([
        `https://paperless.${domain}/accounts/oidc/authelia/login/callback/`,
      ]);
      const apps = parseYaml(file(files, `charts/applications/clusters/${cluster}.yaml`)) as Loose;
      const appSide = apps.manifests['bitwardensecret-paperless-oidc'];
      expect(appSide.metadata.namespace).toBe('paperless');
      expect(appSide.spec.map).toEqual([
        {
          bwSecretId: authelia.manifests['bitwardensecret-authelia-oidc-clients'].spec.map.find(
            (entry: Loose) => entry.secretKeyName === 'paperless',
          ).bwSecretId,
          secretKeyName: 'client-secret',
        },
      ]);
    }
    // production: no local admin, two factors for Argo CD
    const prod = parseYaml(file(files, 'charts/argo-cd/clusters/prod.yaml')) as Loose;
    expect(prod['argo-cd'].configs.cm['admin.enabled']).toBe(false);
    const prodAuthelia = parseYaml(file(files, 'charts/authelia/clusters/prod.yaml')) as Loose;
    expect(prodAuthelia.authelia.configMap.access_control.rules).toEqual([
      {
        domain: ['argocd.lab.example.com'],
        policy: 'two_factor',
        subject: ['group:platform-admins', 'group:platform-viewers'],
      },
      // Grafana logs in through its own OIDC client, at prod's grafana.oidc.policy
      {
        domain: ['grafana.lab.example.com'],
        policy: 'two_factor',
        subject: ['group:platform-admins', 'group:platform-viewers'],
      },
      // paperless logs its users in through its OIDC client (its route's oidc), one factor
      { domain: ['paperless.lab.example.com'], policy: 'one_factor' },
    ]);
    // no plaintext: the secret scan ran over every file (an error would have stopped the build)
    expect(files.length).toBeGreaterThan(0);
    // the runbook makes the token by hand in every namespace with a BitwardenSecret
    const runbook = file(files, 'clusters/dev/RUNBOOK.md');
    expect(runbook).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      ': "${BWS_ACCESS_TOKEN:?read it first (see above)}" && kubectl -n argocd create secret generic bw-auth-token --from-file=token=<(printf \'%s\' "$BWS_ACCESS_TOKEN")',
    );
    expect(runbook).toContain('kubectl -n authelia create secret generic bw-auth-token');
    // Authelia's chart puts each client secret into its configuration as
    // `client_secret: '{{ secret "<file>" }}'` (authelia chart 0.11.5, _oidc.tpl), expanded before
    // the YAML is read: the operator is told which characters the Bitwarden entry may hold
    const store = runbook.split('\n').filter((line) => line.includes('OIDC client secret'));
    expect(store.map((line) => line.replace(/ \(\w+\):.*/, ''))).toEqual([
      '- `argocd/argocd-oidc`',
      '- `monitoring/grafana-oidc`',
      '- `paperless/paperless-oidc`',
    ]);
    for (const line of store) expect(line).toContain('40 or more random letters and digits');
  });
});

describe('bad input: one clear error at its place in the file, nothing written', () => {
  it('an unmapped secret', async () => {
    const text = edit(
      reference,
      '        session.encryption.key: 0ee20bdf-e126-4028-b5b9-f1da818dba01\n',
      '',
    );
    const { files, issues } = await build(text);
    expect(files).toEqual([]);
    const found = errors(issues);
    expect(found.map((issue) => issue.code)).toEqual(['bitwarden-unmapped']);
    // at the Secret's mapping (where its keys begin), the place to add the line
    expect(found[0]?.position).toEqual({
      file: 'platform.yaml',
      line: lineOf(text, 'authelia/authelia:') + 1,
      column: 9,
    });
    expect(formatIssue(found[0] as Issue)).toContain(
      'authelia declares Secret authelia/authelia with key "session.encryption.key" on clusters "dev" and "staging"',
    );
    expect(found[0]?.expected).toContain('  authelia/authelia:\n    session.encryption.key: <id');
  });

  it('an unmapped OIDC client secret: one error, not one per place that reads it', async () => {
    // Given Argo CD's client secret unmapped where it is inherited (dev, staging; prod maps its own)
    const text = edit(
      reference,
      '      argocd/argocd-oidc:\n        client-secret: 3d0e6a2f-cfa7-45a2-a656-2daadeacf663\n',
      '',
    );
    const { issues } = await build(text);
    // Then the inventory error alone: Authelia's side reads the same entry, and the checks of
    // the output (secret references, both sides of the client) count a declared key as the
    // secrets provider's to make
    expect(errors(issues).map((issue) => [issue.code, issue.value])).toEqual([
      // the value sits under a secret-like key: masked like any value there
      ['bitwarden-unmapped', '****'],
    ]);
    expect(errors(issues)[0]?.message).toContain('on clusters "dev" and "staging"');
  });

  it('a malformed UUID', async () => {
    const text = edit(
      reference,
      'client-secret: 3d0e6a2f-cfa7-45a2-a656-2daadeacf663',
      'client-secret: 3d0e6a2f-cfa7-45a2-a656',
    );
    const { files, issues } = await build(text);
    expect(files).toEqual([]);
    expect(errors(issues).map(formatIssue)).toEqual([
      `platform.yaml:${lineOf(text, '3d0e6a2f-cfa7-45a2-a656')}:24  components.bitwarden-sm.secrets["argocd/argocd-oidc"].client-secret: "****" does not have the expected form (expected a Bitwarden secret id: a UUID (8-4-4-4-12 hexadecimal digits), as the Secrets Manager web app shows it for the secret)`,
    ]);
  });

  it('a client redirect outside the cluster domain', async () => {
    const text = edit(
      reference,
      '    localAdmin: true\n',
      '    localAdmin: true\n    additionalUrls: [https://argocd.example.net]\n',
    );
    const { files, issues } = await build(text);
    expect(files).toEqual([]);
    const found = errors(issues);
    expect(found.map((issue) => [issue.code, issue.position?.line])).toEqual([
      ['authelia-redirect', lineOf(text, 'additionalUrls')],
    ]);
    expect(found[0]?.message).toBe(
      'argocd (its OIDC login) redirects to https://argocd.example.net/auth/callback on clusters "dev", "staging" and "prod", outside the cluster domain: Authelia would hand authorization codes to another site (dev: dev.lab.example.com; staging: staging.lab.example.com; prod: lab.example.com)',
    );
  });

  it('a group that no rule and no directory has', async () => {
    const text = edit(
      reference,
      '    adminGroups: [platform-admins]',
      '    adminGroups: [platform-admins, platform-operators]',
    );
    const { files, issues } = await build(text);
    expect(files).toEqual([]);
    const found = errors(issues);
    expect(found.map((issue) => [issue.code, issue.value, issue.position?.line])).toEqual([
      ['authelia-group', 'platform-operators', lineOf(text, 'platform-operators')],
    ]);
  });

  it('two_factor with no second factor configured', async () => {
    const text = edit(
      reference,
      '    groups: [platform-admins, platform-viewers]\n',
      '    groups: [platform-admins, platform-viewers]\n    secondFactor: { totp: false, webauthn: false }\n',
    );
    const { files, issues } = await build(text);
    expect(files).toEqual([]);
    const found = errors(issues);
    expect(found.map((issue) => [issue.code, issue.position?.line])).toEqual([
      ['authelia-two-factor', lineOf(text, 'secondFactor')],
    ]);
    expect(found[0]?.message).toBe(
      'argocd (its OIDC login) and monitoring (its OIDC login) ask for two_factor on cluster "prod", but every second factor is off: nobody could ever pass it',
    );
  });

  it("Argo CD's local admin off where the login chain is incomplete", async () => {
    // Given production without Authelia
    const text = reference.replace(
      '      authelia:\n        storage:\n          postgres:\n            address: tcp://postgres.lab.example.com:5432\n            database: authelia_prod\n',
      '      authelia:\n        enabled: false\n        storage:\n          postgres:\n            address: tcp://postgres.lab.example.com:5432\n            database: authelia_prod\n',
    );
    expect(text).toContain('        enabled: false\n        storage:');
    const { issues } = await build(text);
    const found = errors(issues).filter((issue) => issue.code === 'argocd-local-admin');
    expect(found.map((issue) => [issue.path.join('.'), issue.position?.line])).toEqual([
      ['clusters.2.components.argocd.localAdmin', lineOf(text, 'localAdmin: false')],
    ]);
    expect(found[0]?.message).toContain('missing: an "oidc-provider" provider');
  });
});

describe('one cause, one error', () => {
  it('without a secrets provider, the unprovided capability is the error, not what follows from it', async () => {
    // Given the reference with Bitwarden Secrets Manager switched off everywhere
    const text = edit(
      reference,
      '  bitwarden-sm:\n',
      '  bitwarden-sm:\n    enabled: false\n',
    ).replace('    enabled: false\n    enabled: true\n', '    enabled: false\n');
    expect(text).toContain('  bitwarden-sm:\n    enabled: false\n    organizationId:');
    const { issues } = await build(text);
    // Then each cluster reports Authelia's unmet need once, and the platform checks there
    // (Authelia's secret files, its OIDC clients' secrets) do not repeat it in other words
    expect(errors(issues).map((issue) => [issue.code, issue.path.join('.')])).toEqual([
      ['capability-unprovided', 'components.authelia'],
      ['capability-unprovided', 'clusters.1.components.authelia'],
      ['capability-unprovided', 'clusters.2.components.authelia'],
    ]);
  });
});
