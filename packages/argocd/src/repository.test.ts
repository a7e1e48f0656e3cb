import { resolvePlatform } from '@homelab/core';
import { testDefinition, testReferenceClusters } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { repositoryIssues } from './repository.js';

/** The issues of the repository settings `repository` on the reference clusters. */
function issuesOf(repository: { url: string }) {
  return repositoryIssues(resolvePlatform(testDefinition(testReferenceClusters(), { repository })));
}

describe('repositoryIssues', () => {
  it('suggests ssh-keyscan for an SSH host Argo CD does not know', () => {
    const [issue, ...rest] = issuesOf({ url: 'ssh://git@gitea.lan:2222/homelab/platform.git' });
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({
      code: 'repository-host-key',
      path: ['repository', 'url'],
      message:
        'reaches the SSH host [gitea.lan]:2222, whose key Argo CD does not know: it refuses to clone (knownhosts: key is unknown)',
    });
    expect(issue?.expected).toContain('`ssh-keyscan -p 2222 gitea.lan`');
  });

  it('shows no command for a host that is no DNS name (core reports the host)', () => {
    // Given a host the shell would run a command substitution in
    const issues = issuesOf({ url: 'ssh://git@XQ$(id).example.com:22/x.git' });
    // Then no issue suggests a command with it
    expect(issues).toEqual([]);
  });
});
