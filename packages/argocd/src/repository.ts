// How Argo CD reads the platform repository: the credentials Secret it needs for a private one,
// and the SSH host keys it checks. Pure.
//
// Argo CD clones a repository with the credentials of a Secret in its namespace labelled
// `argocd.argoproj.io/secret-type: repository` whose `url` is the repository's (declarative
// setup, "Repositories"): `sshPrivateKey` for SSH, `username`/`password` for HTTPS. It verifies
// an SSH host against argocd-ssh-known-hosts-cm (the chart's `configs.ssh.knownHosts`, plus
// `configs.ssh.extraHosts`) and refuses a host it does not know. The root Application is the
// first thing Argo CD clones, before any Application could deliver a Secret (the secrets
// provider comes from Git too): so the credentials are a hand-made bootstrap secret.
import {
  type BootstrapSecret,
  type DeployedApplication,
  error,
  type Issue,
  isDnsName,
  isIp,
  type ResolvedPlatform,
  record,
  requireVariable,
  SECRET_APPLY,
  type SystemCheck,
  type SystemInput,
  secretFromVariable,
  shellQuote,
  valuesSource,
} from '@homelab/core';
import { argocdDeployments } from './checks.js';

/** The namespace the hand-made repository Secret lives in (Argo CD's). */
const NAMESPACE = 'argocd';
/** The repository Secret's name. */
export const REPOSITORY_SECRET = 'platform-repository';
/** The label Argo CD finds repository Secrets by. */
export const REPOSITORY_SECRET_LABEL = 'argocd.argoproj.io/secret-type=repository';

/**
 * The SSH hosts whose keys the argo-cd chart ships in `configs.ssh.knownHosts` (10.1.1; a test
 * compares the list with the vendored chart's values), as known_hosts names them.
 */
export const DEFAULT_KNOWN_HOSTS: readonly string[] = [
  '[ssh.github.com]:443',
  'bitbucket.org',
  'github.com',
  'gitlab.com',
  'ssh.dev.azure.com',
  'vs-ssh.visualstudio.com',
];

export type RepositoryCredentials = 'none' | 'ssh-key' | 'token';

/** The SSH host and port of an ssh:// or scp-like (`git@host:path`) URL; undefined for https. */
export function sshTarget(url: string): { host: string; port: number } | undefined {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(?!\/\/)/.exec(url);
  if (scp?.[1] !== undefined) return { host: scp[1].toLowerCase(), port: 22 };
  if (!url.startsWith('ssh://')) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.hostname === '') return undefined;
    return {
      host: parsed.hostname.toLowerCase(),
      port: parsed.port === '' ? 22 : Number(parsed.port),
    };
  } catch {
    return undefined;
  }
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(target: { host: string; port: number }): string {
  return target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
}

/** The hosts a known_hosts text names (its first field, comma-separated; comments skipped). */
export function knownHostsOf(text: string): Set<string> {
  const hosts = new Set<string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    for (const name of (trimmed.split(/\s+/)[0] ?? '').split(',')) {
      if (name !== '') hosts.add(name.toLowerCase());
    }
  }
  return hosts;
}

/** The definition's `repository.access`, or its default for the URL. */
export function repositoryCredentials(platform: ResolvedPlatform): RepositoryCredentials {
  const repository = platform.definition.repository as { access?: RepositoryCredentials };
  return (
    repository.access ?? (sshTarget(platform.repositoryUrl) === undefined ? 'none' : 'ssh-key')
  );
}

function repositoryUsername(platform: ResolvedPlatform): string {
  return (platform.definition.repository as { username?: string }).username ?? 'git';
}

function sshKnownHosts(platform: ResolvedPlatform): readonly string[] {
  return (
    (platform.definition.repository as { sshKnownHosts?: readonly string[] }).sshKnownHosts ?? []
  );
}

/** `configs.ssh.extraHosts` of the argo-cd values: the definition's known_hosts lines. */
export function knownHostsValue(platform: ResolvedPlatform): string | undefined {
  const lines = sshKnownHosts(platform);
  return lines.length === 0 ? undefined : `${lines.join('\n')}\n`;
}

/**
 * What makes the repository unreadable for Argo CD, found in the definition alone: credentials
 * of the other protocol, an SSH host whose key Argo CD does not know.
 */
export function repositoryIssues(platform: ResolvedPlatform): Issue[] {
  const issues: Issue[] = [];
  const url = platform.repositoryUrl;
  const ssh = sshTarget(url);
  const credentials = repositoryCredentials(platform);
  if (ssh !== undefined && credentials !== 'ssh-key') {
    issues.push(
      error({
        code: 'repository-credentials',
        path: ['repository', 'access'],
        value: credentials,
        message: `does not fit the SSH URL ${url}: Argo CD reads an SSH repository with a key, always`,
        expected: 'ssh-key (the default for an SSH URL), or an https:// URL',
      }),
    );
  }
  if (ssh === undefined && credentials === 'ssh-key') {
    issues.push(
      error({
        code: 'repository-credentials',
        path: ['repository', 'access'],
        value: credentials,
        message: `does not fit the https URL ${url}: a deploy key is for SSH`,
        expected: 'token or none for https, or an ssh:// (git@…) URL',
      }),
    );
  }
  // A host that is no name or address is core's error at repository.url (`repository-url`): no
  // host key to fetch, so no command that would fetch it.
  const host = ssh?.host.replace(/^\[(.*)\]$/, '$1');
  // `sshTarget` gives the host in lower case; one label (`git@gitea:…`) is a LAN name.
  if (
    ssh !== undefined &&
    host !== undefined &&
    (isIp(host) || isDnsName(host, { singleLabel: true }))
  ) {
    const name = knownHostName(ssh);
    const known = new Set([
      ...DEFAULT_KNOWN_HOSTS,
      ...knownHostsOf(sshKnownHosts(platform).join('\n')),
    ]);
    if (!known.has(name)) {
      issues.push(
        error({
          code: 'repository-host-key',
          path: ['repository', 'url'],
          value: url,
          message: `reaches the SSH host ${name}, whose key Argo CD does not know: it refuses to clone (knownhosts: key is unknown)`,
          expected: `repository.sshKnownHosts with the host's public keys, e.g. the lines of \`ssh-keyscan${ssh.port === 22 ? '' : ` -p ${ssh.port}`} ${shellQuote(ssh.host)}\` (checked against a fingerprint you trust)`,
        }),
      );
    }
  }
  return issues;
}

/** The hand-made Secret Argo CD reads the repository with; undefined for a public one. */
export function repositorySecret(platform: ResolvedPlatform): BootstrapSecret | undefined {
  const credentials = repositoryCredentials(platform);
  if (credentials === 'none') return undefined;
  const url = platform.repositoryUrl;
  const create = `kubectl -n ${NAMESPACE} create secret generic ${REPOSITORY_SECRET} --from-literal=type=git --from-literal=url=${shellQuote(url)}`;
  const label = `kubectl label --local -f - ${REPOSITORY_SECRET_LABEL} -o yaml`;
  if (credentials === 'ssh-key') {
    return {
      name: REPOSITORY_SECRET,
      namespace: NAMESPACE,
      keys: ['type', 'url', 'sshPrivateKey'],
      description: `the private deploy key Argo CD reads ${url} with (set HOMELAB_REPOSITORY_KEY to its file; labelled \`${REPOSITORY_SECRET_LABEL}\`)`,
      commands: [
        `${create} --from-file=sshPrivateKey="\${HOMELAB_REPOSITORY_KEY:?set HOMELAB_REPOSITORY_KEY to the file of the deploy key (its private key)}" --dry-run=client -o yaml | ${label} | ${SECRET_APPLY}`,
      ],
    };
  }
  return {
    name: REPOSITORY_SECRET,
    namespace: NAMESPACE,
    keys: ['type', 'url', 'username', 'password'],
    description: `the access token Argo CD reads ${url} with (labelled \`${REPOSITORY_SECRET_LABEL}\`)`,
    reads: [{ variable: 'HOMELAB_REPOSITORY_TOKEN', prompt: `access token for ${url}` }],
    commands: [
      `${requireVariable('HOMELAB_REPOSITORY_TOKEN', 'empty: read it again')} && ${create} --from-literal=username=${shellQuote(repositoryUsername(platform))} ${secretFromVariable('password', 'HOMELAB_REPOSITORY_TOKEN')} --dry-run=client -o yaml | ${label} | ${SECRET_APPLY}`,
    ],
  };
}

function outputOf(input: SystemInput, app: DeployedApplication): { output?: string } {
  const source = valuesSource(input, app, ['argo-cd', 'configs', 'ssh']);
  return source === undefined ? {} : { output: source };
}

/**
 * Argo CD can read the platform repository on every cluster that deploys it: a private one has
 * a hand-made repository Secret with the keys its protocol needs, and an SSH host is in the known
 * hosts the deployed values give argocd-ssh-known-hosts-cm (the chart's defaults, unless the
 * values replace them, plus `extraHosts`).
 */
export const repositoryAccessCheck: SystemCheck = {
  name: 'argocd-repository-access',
  description:
    'Argo CD can read the platform repository: a private one has a hand-made repository Secret (labelled argocd.argoproj.io/secret-type: repository) with the keys of its protocol, and an SSH host is in the known hosts of the deployed values.',
  check(input) {
    const issues: Issue[] = [];
    const credentials = repositoryCredentials(input.platform);
    const ssh = sshTarget(input.platform.repositoryUrl);
    // What the definition gets wrong is reported once, by the build (repositoryIssues).
    const reported = new Set(repositoryIssues(input.platform).map((issue) => issue.code));
    for (const { deployed, app, values } of argocdDeployments(input)) {
      const cluster = deployed.cluster.name;
      if (credentials !== 'none' && !reported.has('repository-credentials')) {
        const needed = credentials === 'ssh-key' ? 'sshPrivateKey' : 'password';
        const secret = (deployed.run.contributions.get('argocd')?.bootstrapSecrets ?? []).find(
          (candidate) =>
            candidate.namespace === NAMESPACE &&
            candidate.keys.includes(needed) &&
            candidate.commands.some((command) => command.includes(REPOSITORY_SECRET_LABEL)),
        );
        if (secret === undefined) {
          issues.push(
            error({
              code: 'argocd-repository-access',
              path: ['repository', 'access'],
              value: credentials,
              message: `Argo CD on cluster "${cluster}" has no repository Secret with ${needed} for ${input.platform.repositoryUrl}: the root Application never renders`,
              expected: `a hand-made Secret in ${NAMESPACE} labelled ${REPOSITORY_SECRET_LABEL}, with ${needed}`,
            }),
          );
        }
      }
      if (ssh === undefined || reported.has('repository-host-key')) continue;
      const sshValues = record(record(values.configs).ssh);
      const knownHosts =
        typeof sshValues.knownHosts === 'string'
          ? knownHostsOf(sshValues.knownHosts)
          : new Set(DEFAULT_KNOWN_HOSTS);
      for (const host of knownHostsOf(
        typeof sshValues.extraHosts === 'string' ? sshValues.extraHosts : '',
      )) {
        knownHosts.add(host);
      }
      const name = knownHostName(ssh);
      if (knownHosts.has(name)) continue;
      issues.push(
        error({
          code: 'argocd-repository-access',
          path: ['repository', 'url'],
          ...outputOf(input, app),
          value: name,
          message: `Argo CD on cluster "${cluster}" does not know the SSH host key of ${name} (argocd-ssh-known-hosts-cm): it refuses to clone ${input.platform.repositoryUrl}`,
          expected: `${name} in configs.ssh.knownHosts or configs.ssh.extraHosts (repository.sshKnownHosts)`,
        }),
      );
    }
    return issues;
  },
};
