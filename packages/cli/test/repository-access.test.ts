// Argo CD reads a private platform repository: the reference platform moved to an SSH URL (a
// deploy key), to an SSH host Argo CD does not know (its keys in the definition), and each link
// broken on purpose before the system checks run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterContribution, Issue, SystemInput } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const HTTPS = '  url: https://github.com/example/homelab-platform.git\n';
const GITEA_KEY =
  '[gitea.lan]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

async function build(repository: string, alter?: (input: SystemInput) => SystemInput) {
  expect(reference).toContain(HTTPS);
  const text = reference.replace(HTTPS, repository);
  const result = await generate(
    { text, file: 'platform.yaml', chartVersions: {} },
    alter === undefined ? {} : { beforeSystemChecks: alter },
  );
  const errors = result.issues.filter((issue) => issue.severity === 'error');
  const file = (path: string) => result.files.find((entry) => entry.path === path)?.content ?? '';
  return { errors, file };
}

const access = (errors: readonly Issue[]) =>
  errors
    .filter((issue) => issue.code === 'argocd-repository-access')
    .map((issue) => issue.message.replace(/ \(argocd-ssh-known-hosts-cm\).*/, ''));

describe('a private platform repository', () => {
  it('over SSH: the runbook makes the labelled deploy-key Secret before the hand-over', async () => {
    const { errors, file } = await build('  url: git@github.com:example/homelab-platform.git\n');
    expect(errors).toEqual([]);
    const runbook = file('clusters/prod/RUNBOOK.md');
    const secret = runbook.indexOf(
      'kubectl -n argocd create secret generic platform-repository --from-literal=type=git --from-literal=url=git@github.com:example/homelab-platform.git --from-file=sshPrivateKey=',
    );
    expect(secret).toBeGreaterThan(0);
    // In the hand-made secrets step, before Argo CD is handed the cluster.
    expect(runbook.lastIndexOf('. Create the hand-made secrets', secret)).toBeGreaterThan(0);
    expect(runbook.indexOf('. Hand the cluster to Argo CD', secret)).toBeGreaterThan(secret);
  });

  it('with an access token: the runbook prompts for it in a block of its own, before the Secret is made', async () => {
    const { errors, file } = await build(
      '  url: https://github.com/example/homelab-platform.git\n  access: token\n',
    );
    expect(errors).toEqual([]);
    const runbook = file('clusters/prod/RUNBOOK.md');
    const lines = runbook.split('\n');
    const prompt = lines.findIndex((line) => line.includes('read -rs HOMELAB_REPOSITORY_TOKEN'));
    // the prompt is the one line of its block: pasted with more lines, read would take the next
    expect([lines[prompt - 1], lines[prompt + 1]]).toEqual(['```sh', '```']);
    expect(lines[prompt]).toBe(
      "printf '%s' 'access token for https://github.com/example/homelab-platform.git: ' && read -rs HOMELAB_REPOSITORY_TOKEN && export HOMELAB_REPOSITORY_TOKEN && echo",
    );
    // in the hand-made secrets step, before the command that uses it
    const secret = lines.findIndex((line) =>
      line.includes('create secret generic platform-repository'),
    );
    expect(prompt).toBeLessThan(secret);
    expect(
      runbook.lastIndexOf('. Create the hand-made secrets', runbook.indexOf(lines[prompt] ?? '')),
    ).toBeGreaterThan(0);
  });

  it('without its Secret, Argo CD cannot read it: every cluster fails the check', async () => {
    const withoutSecret = (input: SystemInput): SystemInput => ({
      ...input,
      clusters: input.clusters.map((deployed) => {
        const contributions = new Map(deployed.run.contributions);
        const own = contributions.get('argocd') as ClusterContribution;
        contributions.set('argocd', { ...own, bootstrapSecrets: [] });
        return { ...deployed, run: { ...deployed.run, contributions } };
      }),
    });
    const { errors } = await build(
      '  url: git@github.com:example/homelab-platform.git\n',
      withoutSecret,
    );
    // One error naming every cluster (the pipeline merges one cause across clusters).
    expect(access(errors)).toEqual([
      'Argo CD on clusters "dev", "prod" and "staging" has no repository Secret with sshPrivateKey for git@github.com:example/homelab-platform.git: the root Application never renders',
    ]);
  });

  it('on an SSH host Argo CD does not know: its keys reach argocd-ssh-known-hosts-cm, and without them it fails', async () => {
    const gitea = `  url: ssh://git@gitea.lan:2222/me/homelab.git\n  sshKnownHosts:\n    - '${GITEA_KEY}'\n`;
    const { errors, file } = await build(gitea);
    expect(errors).toEqual([]);
    const layers = ['env/development.yaml', 'clusters/dev.yaml'].map((name) =>
      file(`charts/argo-cd/${name}`),
    );
    expect(layers.join('\n')).toContain(`extraHosts: |\n        ${GITEA_KEY}\n`);
    // The known hosts removed from what Argo CD deploys (issues sorted by message).
    const withoutKeys = (input: SystemInput): SystemInput => ({
      ...input,
      files: input.files.map((entry) =>
        entry.path.startsWith('charts/argo-cd/')
          ? { ...entry, content: entry.content.replace(/ {6}extraHosts: \|\n {8}.*\n/g, '') }
          : entry,
      ),
    });
    const broken = await build(gitea, withoutKeys);
    expect(access(broken.errors)).toEqual(
      ['dev', 'prod', 'staging'].map(
        (cluster) =>
          `Argo CD on cluster "${cluster}" does not know the SSH host key of [gitea.lan]:2222`,
      ),
    );
  });
});

describe("a repository behind the cluster's own Gateway", () => {
  it("warns where the Gateway's certificate is of the private CA, which the repo-server does not trust; not for a public host", async () => {
    // Given the platform repository on paperless' host: routed by prod's Gateway (its domain is
    // lab.example.com), a host outside the Gateway on dev and staging
    const text = reference.replace(
      HTTPS,
      '  url: https://paperless.lab.example.com/example/homelab-platform.git\n',
    );
    const result = await generate({ text, file: 'platform.yaml', chartVersions: {} });
    const trust = result.issues.filter((issue) => issue.code === 'argocd-repository-trust');
    expect(trust.map((issue) => [issue.severity, issue.path, issue.value])).toEqual([
      ['warning', ['clusters', 2, 'components', 'argocd'], 'paperless.lab.example.com'],
    ]);
    expect(trust[0]?.message).toBe(
      'Argo CD on cluster "prod" fetches from paperless.lab.example.com, which the cluster\'s own Gateway serves (its route "paperless") with a certificate of the cluster\'s private CA: the repo-server trusts only the system roots and argocd-tls-certs-cm, which holds none, so every fetch fails with "certificate signed by unknown authority"',
    );
    // And the reference's own repository (github.com) gives none
    const plain = await generate({ text: reference, file: 'platform.yaml', chartVersions: {} });
    expect(plain.issues.filter((issue) => issue.code === 'argocd-repository-trust')).toEqual([]);
  });
});
