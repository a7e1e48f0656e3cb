import { describe, expect, it } from 'vitest';
import { clusterList, error, formatIssue, type Issue, mergeClusterIssues } from './issues.js';

const at = { file: 'platform.yaml', line: 146, column: 5 };
const needsStorage = (cluster: string) =>
  error({
    path: ['components', 'backups'],
    position: at,
    value: 'storage',
    message: `backups needs "storage", which no component enabled on cluster "${cluster}" provides`,
    expected: `longhorn enabled on cluster "${cluster}" (it provides "storage"), or backups disabled`,
    code: 'missing-capability',
  });

describe('clusterList', () => {
  it('names one cluster, two, and more in one form', () => {
    expect(clusterList(['dev'])).toBe('cluster "dev"');
    expect(clusterList(['dev', 'prod'])).toBe('clusters "dev" and "prod"');
    expect(clusterList(['dev', 'staging', 'prod'])).toBe('clusters "dev", "staging" and "prod"');
  });
});

describe('formatIssue', () => {
  it('writes the invisible characters that reorder a line as \\uXXXX, in the path and the value', () => {
    const issue = error({
      path: ['apps', 'paper\u202eless'],
      value: 'admins\u2066x',
      message: 'is not allowed',
      code: 'c',
    });
    expect(formatIssue(issue)).toBe('apps["paper\\u202eless"]: "admins\\u2066x" is not allowed');
    // The issue itself keeps what was there (--json prints it as JSON escapes it).
    expect(issue.value).toBe('admins\u2066x');
  });

  it('puts the value in front of the message, unless the message quotes it already', () => {
    // Given an issue whose message is a predicate of its value, and one whose message quotes it
    const predicate = error({
      path: ['a'],
      value: '10.0.0.0/33',
      message: 'is not a CIDR',
      code: 'c',
    });
    const quoting = error({
      path: ['clusters', 2, 'name'],
      value: 'prod',
      message: 'the session cookie of cluster "prod" is set for example.com',
      code: 'c',
    });
    // Then the value is shown once in each
    expect(formatIssue(predicate)).toBe('a: "10.0.0.0/33" is not a CIDR');
    expect(formatIssue(quoting)).toBe(
      'clusters[2].name: the session cookie of cluster "prod" is set for example.com',
    );
    // and the issue keeps its value (--json prints it)
    expect(quoting.value).toBe('prod');
  });
});

describe('mergeClusterIssues', () => {
  it('reads one cause on several clusters once, naming them all', () => {
    const merged = mergeClusterIssues([
      needsStorage('dev'),
      needsStorage('prod'),
      needsStorage('staging'),
    ]);
    expect(merged.map(formatIssue)).toEqual([
      'platform.yaml:146:5  components.backups: backups needs "storage", which no component enabled on clusters "dev", "prod" and "staging" provides (expected longhorn enabled on clusters "dev", "prod" and "staging" (it provides "storage"), or backups disabled)',
    ]);
    expect(merged[0]?.severity).toBe('error');
    expect(merged[0]?.code).toBe('missing-capability');
  });

  it('keeps issues apart that differ in anything but their cluster', () => {
    const other = { ...needsStorage('prod'), code: 'other-code' };
    const elsewhere = { ...needsStorage('prod'), position: { ...at, line: 147 } };
    const asWarning: Issue = { ...needsStorage('staging'), severity: 'warning' };
    const merged = mergeClusterIssues([needsStorage('dev'), other, elsewhere, asWarning]);
    expect(merged).toHaveLength(4);
    expect(merged.map((issue) => issue.message)).toEqual([
      needsStorage('dev').message,
      needsStorage('prod').message,
      needsStorage('prod').message,
      needsStorage('staging').message,
    ]);
  });

  it('leaves a message that names its cluster in other words too, or two clusters', () => {
    const file = (cluster: string) =>
      error({
        path: [],
        message: `cluster "${cluster}" reads charts/x/clusters/${cluster}.yaml`,
        code: 'x',
      });
    const two = (a: string, b: string) =>
      error({ path: [], message: `cluster "${a}" overlaps cluster "${b}"`, code: 'y' });
    const merged = mergeClusterIssues([
      file('dev'),
      file('prod'),
      two('dev', 'prod'),
      two('dev', 'staging'),
    ]);
    expect(merged.map((issue) => issue.message)).toEqual([
      'cluster "dev" reads charts/x/clusters/dev.yaml',
      'cluster "prod" reads charts/x/clusters/prod.yaml',
      'cluster "dev" overlaps cluster "prod"',
      'cluster "dev" overlaps cluster "staging"',
    ]);
  });

  it('keeps the place of the first of a group among the other issues', () => {
    const lone = error({ path: ['a'], message: 'alone', code: 'z' });
    const merged = mergeClusterIssues([needsStorage('dev'), lone, needsStorage('prod')]);
    expect(merged.map((issue) => issue.message)).toEqual([
      'backups needs "storage", which no component enabled on clusters "dev" and "prod" provides',
      'alone',
    ]);
  });
});
