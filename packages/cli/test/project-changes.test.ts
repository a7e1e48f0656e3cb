// Workload projects a build takes away from a running cluster (`workload-project-removed`, a
// warning), through the whole pipeline on the reference platform (examples/reference/platform.yaml)
// with one more application, the last build's charts standing for what the clusters run; and the
// comparison itself on projects made here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangedObject, Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GenerateResult, generate } from '../src/pipeline.js';
import { projectChangeIssues } from '../src/project-changes.js';
import { chartsOf } from './last-build.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const APPS = '  applications:\n    apps:\n';
/** The reference with one more application, `wiki`, which has nothing but its namespace. */
const withWiki = (name = 'wiki'): string => {
  if (!definition.includes(APPS)) throw new Error('the applications are not in the definition');
  return definition.replace(APPS, `${APPS}      ${name}: {}\n`);
};
const projectIssues = (result: GenerateResult): Issue[] =>
  result.issues.filter((issue) => issue.code === 'workload-project-removed');

let last: GenerateResult;

function over(text: string): Promise<GenerateResult> {
  return generate({
    text,
    file: 'platform.yaml',
    chartVersions: {},
    previousChart: chartsOf(last.files),
  });
}

beforeAll(async () => {
  last = await generate({ text: withWiki(), file: 'platform.yaml', chartVersions: {} });
  expect(last.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  // The project the comparison looks for, as the last build deployed it.
  const layer = last.files.find((file) => file.path === 'charts/platform/clusters/dev.yaml');
  expect(layer?.content).toMatch(
    /kind: AppProject\n {4}metadata:\n[\s\S]{0,200}?homelab\.dev\/workload-namespace: wiki\n {6}name: app-wiki\n {6}namespace: argocd\n/,
  );
}, 120_000);

describe('workload projects against the last build', () => {
  it('finds nothing where the applications stay', async () => {
    const same = await over(withWiki());
    expect(projectIssues(same)).toEqual([]);
    expect(same.files.length).toBe(last.files.length);
  }, 120_000);

  it('warns once of an application removed, on every cluster, at the applications, and the build writes', async () => {
    const result = await over(definition);
    expect(result.files.length).toBeGreaterThan(0);
    expect(result.files.some((file) => file.content.includes('app-wiki'))).toBe(false);
    const found = projectIssues(result);
    expect(
      found.map((issue) => [issue.severity, issue.value, issue.path.join('.'), issue.output]),
    ).toEqual([['warning', 'app-wiki', 'components.applications', 'charts/platform']]);
    expect(found[0]?.message).toBe(
      'is the AppProject for your own Applications in namespace "wiki" that the last build deployed on clusters "dev", "prod" and "staging" and this build removes (its application removed or renamed): the root\'s next sync deletes it, and Argo CD v3.4.4 neither reconciles nor deletes an Application whose project is gone, so one of yours still in it stays, with what it deployed (the namespace stays too), until its finalizer is taken off by hand',
    );
    expect(found[0]?.expected).toContain(
      'your Applications in project "app-wiki" deleted before this change syncs',
    );
    expect(found[0]?.expected).toContain(
      '`kubectl -n argocd patch applications.argoproj.io <name> --type json -p \'[{"op":"remove","path":"/metadata/finalizers"}]\'`',
    );
    // The applications' settings (their first line), where the application was.
    const line = definition.split('\n').indexOf('  applications:') + 2;
    expect(definition.split('\n')[line - 1]).toBe('    apps:');
    expect(found[0]?.position).toMatchObject({ file: 'platform.yaml', line });
  }, 120_000);

  it('warns of the old project of an application renamed, not of the new one', async () => {
    const found = projectIssues(await over(withWiki('notes')));
    expect(found.map((issue) => [issue.value, issue.path.join('.')])).toEqual([
      ['app-wiki', 'components.applications'],
    ]);
  }, 120_000);

  it('warns at the cluster where no component declares workload projects any more (the applications disabled)', async () => {
    const text = withWiki().replace(APPS, `  applications:\n    enabled: false\n    apps:\n`);
    const result = await generate({
      text,
      file: 'platform.yaml',
      chartVersions: { applications: '0.1.0' },
      previousChart: chartsOf(last.files),
    });
    const found = projectIssues(result);
    expect(found.map((issue) => [issue.value, issue.path.join('.')]).sort()).toEqual([
      ['app-paperless', 'clusters.0'],
      ['app-paperless', 'clusters.1'],
      ['app-paperless', 'clusters.2'],
      ['app-wiki', 'clusters.0'],
      ['app-wiki', 'clusters.1'],
      ['app-wiki', 'clusters.2'],
    ]);
  }, 120_000);
});

describe('projectChangeIssues', () => {
  const project = (name: string, labels: Record<string, string>): ChangedObject => ({
    chart: 'platform',
    object: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name, namespace: 'gitops', labels },
    },
  });
  const workload = (name: string) =>
    project(name, { 'homelab.dev/workload-namespace': name.replace('app-', '') });
  const cluster = { name: 'dev' };

  it('names each workload project gone once, in name order, with the namespace Argo CD runs in', () => {
    const issues = projectChangeIssues(
      cluster,
      [workload('app-web'), workload('app-db'), workload('app-web'), workload('app-kept')],
      [workload('app-kept')],
      ['clusters', 0],
    );
    expect(issues.map((issue) => [issue.value, issue.path])).toEqual([
      ['app-db', ['clusters', 0]],
      ['app-web', ['clusters', 0]],
    ]);
    expect(issues[0]?.message).toContain(
      'in namespace "db" that the last build deployed on cluster "dev"',
    );
    expect(issues[0]?.expected).toContain(
      '`kubectl -n gitops delete applications.argoproj.io <name>`',
    );
  });

  it("says nothing of the platform's own projects, nor of other kinds", () => {
    const platformProject = project('platform', { 'app.kubernetes.io/part-of': 'homelab' });
    const config: ChangedObject = {
      chart: 'platform',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-web', labels: { 'homelab.dev/workload-namespace': 'web' } },
      },
    };
    expect(projectChangeIssues(cluster, [platformProject, config], [], ['clusters', 0])).toEqual(
      [],
    );
  });
});
