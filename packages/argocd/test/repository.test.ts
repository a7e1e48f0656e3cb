import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml, type ResolvedPlatform } from '@homelab/core';
import { pasteShells, readVendoredChartFile, zshTestRuns } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KNOWN_HOSTS,
  knownHostName,
  knownHostsOf,
  repositoryCredentials,
  repositoryIssues,
  repositorySecret,
  sshTarget,
} from '../src/repository.js';
import { ARGOCD_CHART } from '../src/versions.js';

/** Just what the repository functions read of a platform. */
function platform(repository: Record<string, unknown>): ResolvedPlatform {
  return {
    repositoryUrl: repository.url as string,
    definition: { repository },
  } as unknown as ResolvedPlatform;
}

const GITEA_KEY =
  '[gitea.lan]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

describe('the SSH hosts Argo CD knows', () => {
  it("are the hosts of the vendored chart's configs.ssh.knownHosts", () => {
    const values = parseYaml(
      readVendoredChartFile('argo-cd', ARGOCD_CHART.version, 'values.yaml'),
    ) as { configs: { ssh: { knownHosts: string } } };
    expect([...knownHostsOf(values.configs.ssh.knownHosts)].sort()).toEqual(
      [...DEFAULT_KNOWN_HOSTS].sort(),
    );
  });

  it('name a host as known_hosts does: bare on port 22, bracketed with another port', () => {
    expect(sshTarget('git@github.com:me/homelab.git')).toEqual({ host: 'github.com', port: 22 });
    expect(sshTarget('ssh://git@GitHub.com/me/homelab.git')).toEqual({
      host: 'github.com',
      port: 22,
    });
    const gitea = sshTarget('ssh://git@gitea.lan:2222/me/homelab.git');
    expect(gitea).toEqual({ host: 'gitea.lan', port: 2222 });
    expect(knownHostName(gitea as { host: string; port: number })).toBe('[gitea.lan]:2222');
    expect(sshTarget('https://github.com/me/homelab.git')).toBeUndefined();
    expect(knownHostsOf(`# a comment\n${GITEA_KEY}\ngit.lan,10.0.0.5 ssh-rsa AAAA\n`)).toEqual(
      new Set(['[gitea.lan]:2222', 'git.lan', '10.0.0.5']),
    );
  });
});

describe('the repository as the definition gives it', () => {
  it('defaults to no credentials over https and a deploy key over SSH', () => {
    expect(repositoryCredentials(platform({ url: 'https://github.com/me/h.git' }))).toBe('none');
    expect(repositoryCredentials(platform({ url: 'git@github.com:me/h.git' }))).toBe('ssh-key');
    expect(repositorySecret(platform({ url: 'https://github.com/me/h.git' }))).toBeUndefined();
  });

  it('accepts a known SSH host, and an unknown one with its keys', () => {
    expect(repositoryIssues(platform({ url: 'git@gitlab.com:me/h.git' }))).toEqual([]);
    expect(
      repositoryIssues(
        platform({ url: 'ssh://git@gitea.lan:2222/me/h.git', sshKnownHosts: [GITEA_KEY] }),
      ),
    ).toEqual([]);
  });

  it('refuses an SSH host whose key Argo CD does not know, and credentials of the other protocol', () => {
    const unknown = repositoryIssues(platform({ url: 'ssh://git@gitea.lan:2222/me/h.git' }));
    expect(unknown.map((issue) => [issue.code, issue.path])).toEqual([
      ['repository-host-key', ['repository', 'url']],
    ]);
    expect(unknown[0]?.expected).toContain('ssh-keyscan -p 2222 gitea.lan');
    // A host of one label, in any case, is a name too: its key is asked for the same way.
    const short = repositoryIssues(platform({ url: 'git@Gitea:me/h.git' }));
    expect(short.map((issue) => issue.code)).toEqual(['repository-host-key']);
    expect(short[0]?.expected).toContain('ssh-keyscan gitea');
    // A key for the same host on another port is another host to SSH.
    expect(
      repositoryIssues(
        platform({
          url: 'ssh://git@gitea.lan/me/h.git',
          sshKnownHosts: [GITEA_KEY],
        }),
      ).map((issue) => issue.code),
    ).toEqual(['repository-host-key']);
    expect(
      repositoryIssues(platform({ url: 'git@github.com:me/h.git', access: 'token' })).map(
        (issue) => [issue.code, issue.value],
      ),
    ).toEqual([['repository-credentials', 'token']]);
    expect(
      repositoryIssues(platform({ url: 'https://github.com/me/h.git', access: 'ssh-key' })).map(
        (issue) => [issue.code, issue.value],
      ),
    ).toEqual([['repository-credentials', 'ssh-key']]);
  });

  (zshTestRuns('argocd: the repository Secret') ? it : it.skip)(
    'runs its command in zsh too',
    () => {
      expect(pasteShells('bash').map((shell) => shell.name)).toEqual(['bash', 'zsh']);
    },
  );

  it('makes a labelled repository Secret by hand, the key or token from the shell', () => {
    const ssh = repositorySecret(platform({ url: 'git@github.com:me/h.git' }));
    expect(ssh?.keys).toEqual(['type', 'url', 'sshPrivateKey']);
    expect(ssh?.commands).toEqual([
      `kubectl -n argocd create secret generic platform-repository --from-literal=type=git --from-literal=url=git@github.com:me/h.git --from-file=sshPrivateKey="\${HOMELAB_REPOSITORY_KEY:?set HOMELAB_REPOSITORY_KEY to the file of the deploy key (its private key)}" --dry-run=client -o yaml | kubectl label --local -f - argocd.argoproj.io/secret-type=repository -o yaml | kubectl apply --server-side --force-conflicts -f -`,
    ]);
    // Run as the runbook's bash runs it (kubectl a stub that prints its arguments; pipefail gives the
    // first stage's status): unset, the
    // variable stops the command with its hint; set, kubectl reads the key from that file. An
    // apostrophe in the hint once left bash looking for the end of a quoted string.
    const dir = mkdtempSync(join(tmpdir(), 'repository-secret-'));
    try {
      writeFileSync(join(dir, 'kubectl'), '#!/bin/sh\nprintf "%s\\n" "$*" >&2\n');
      chmodSync(join(dir, 'kubectl'), 0o755);
      // In bash and, where found, zsh (macOS' login shell).
      for (const shell of pasteShells('bash', ['-o', 'pipefail'])) {
        const run = (env: NodeJS.ProcessEnv) =>
          spawnSync(shell.command, [...shell.args, ssh?.commands[0] ?? ''], {
            encoding: 'utf8',
            env: { PATH: `${dir}:${process.env.PATH ?? ''}`, ...env },
          });
        const unset = run({});
        expect(unset.status, shell.name).not.toBe(0);
        expect(unset.stderr, shell.name).toContain(
          'HOMELAB_REPOSITORY_KEY: set HOMELAB_REPOSITORY_KEY to the file of the deploy key (its private key)',
        );
        expect(unset.stderr, shell.name).not.toContain('create secret');
        const set = run({ HOMELAB_REPOSITORY_KEY: join(dir, 'deploy-key') });
        expect(set.status, shell.name).toBe(0);
        expect(set.stderr, shell.name).toContain(
          `--from-file=sshPrivateKey=${join(dir, 'deploy-key')}`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const token = repositorySecret(
      platform({ url: 'https://gitea.lan/me/h.git', access: 'token', username: 'me' }),
    );
    expect(token?.keys).toEqual(['type', 'url', 'username', 'password']);
    // the token is a prompt of its own (the runbook gives it a block before the commands)
    expect(token?.reads).toEqual([
      {
        variable: 'HOMELAB_REPOSITORY_TOKEN',
        prompt: 'access token for https://gitea.lan/me/h.git',
      },
    ]);
    // the token reaches kubectl through a pipe, never as its argument (`ps` shows those); an
    // unset or empty token stops the command before kubectl runs
    expect(token?.commands).toEqual([
      `: "\${HOMELAB_REPOSITORY_TOKEN:?empty: read it again}" && kubectl -n argocd create secret generic platform-repository --from-literal=type=git --from-literal=url=https://gitea.lan/me/h.git --from-literal=username=me --from-file=password=<(printf '%s' "$HOMELAB_REPOSITORY_TOKEN") --dry-run=client -o yaml | kubectl label --local -f - argocd.argoproj.io/secret-type=repository -o yaml | kubectl apply --server-side --force-conflicts -f -`,
    ]);
  });
});
