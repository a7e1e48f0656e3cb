// The real Helm on charts/platform with the root Application's Helm parameters, as Argo CD v3.4
// passes them: `--set-string <name>=<value>` for a `forceString` parameter (util/helm/cmd.go),
// each value first run through `env.Envsubst` with the build environment
// (reposerver/repository/repository.go), where `$ARGOCD_APP_SOURCE_TARGET_REVISION` is the root's
// own `targetRevision`. Every child Application of the platform repository must then follow that
// revision, whatever the committed values say (at a tagged commit, the pin of that time): this is
// what makes a tag pin hold for the whole platform. On the reference platform (examples/), not
// the user's definition.
//
// Needs `helm` on PATH, as helm.test.ts: without it the suite is skipped and says "not run"; with
// CI=true a missing Helm fails the run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeObject, parseAllDocuments } from '@homelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChartRender,
  discoverRenders,
  findHelm,
  helmSuiteRuns,
  prepareChart,
  REPO,
  runHelm,
  splitHelmOutput,
  templateArgs,
} from './helm/harness.js';

const helm = findHelm();
const suite = helmSuiteRuns(helm, 'helm revision suite: not run: helm not found')
  ? describe
  : describe.skip;

const definition = join(REPO, 'examples/reference/platform.yaml');
const CLUSTERS = ['dev', 'staging', 'prod'];
/**
 * What Argo CD would put in place of `$ARGOCD_APP_SOURCE_TARGET_REVISION` for a root pinned to a
 * release tag: the root's own targetRevision.
 */
const ROOT_REVISION = '@homelab/chart-platform@1.2.0';

interface Parameter {
  readonly name: string;
  readonly value: string;
  readonly forceString?: boolean;
}

interface RootHelm {
  readonly parameters?: readonly Parameter[];
}

interface Source {
  readonly repoURL: string;
  readonly targetRevision: string;
}

suite('helm renders every child Application at the revision the root follows', () => {
  let scratch = '';
  let out = '';
  let renders: ChartRender[] = [];

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-helm-revision-'));
    out = join(scratch, 'out');
    const cli = spawnSync(
      process.execPath,
      [join(REPO, 'packages/cli/dist/bin.js'), 'build', '--config', definition, '--out', out],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    if (cli.status !== 0) throw new Error(`examples/reference did not build:\n${cli.stderr}`);
    renders = discoverRenders(out, definition).renders.filter(
      (render) => render.path === 'charts/platform',
    );
  }, 600_000);

  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  /** The root Application of `cluster` as committed. */
  function rootOf(cluster: string): KubeObject & { spec: { source: { helm: RootHelm } } } {
    const documents = parseAllDocuments(
      readFileSync(join(out, 'clusters', cluster, 'root-application.yaml'), 'utf8'),
    ) as (KubeObject & { spec: { source: { helm: RootHelm } } })[];
    const root = documents.find((document) => document.kind === 'Application');
    if (root === undefined) throw new Error(`clusters/${cluster} has no root Application`);
    return root;
  }
  /** `helm template` of charts/platform for `cluster`, with `extra` arguments; its Applications. */
  function template(cluster: string, extra: readonly string[], layer?: string): KubeObject[] {
    if (helm === undefined) expect.fail('helm not found on PATH');
    const render = renders.find((candidate) => candidate.cluster === cluster);
    if (render === undefined)
      expect.fail(`no root Application renders charts/platform on ${cluster}`);
    const home = join(scratch, `home-${cluster}-${extra.length}`);
    mkdirSync(home, { recursive: true });
    const prepared = prepareChart(render, join(scratch, `${cluster}-${extra.length}`), out, REPO);
    if (layer !== undefined) writeFileSync(join(prepared.dir, `clusters/${cluster}.yaml`), layer);
    const result = runHelm(helm, [...templateArgs(render, prepared), ...extra], prepared.dir, home);
    expect(result.stderr).not.toContain('Error');
    expect(result.status).toBe(0);
    return splitHelmOutput(result.stdout)
      .map(({ object }) => object)
      .filter((object) => object.kind === 'Application');
  }

  /** Argo CD's arguments for the root's parameters, `$ARGOCD_APP_SOURCE_TARGET_REVISION` substituted. */
  function setArgs(parameters: readonly Parameter[]): string[] {
    return parameters.flatMap((parameter) => [
      parameter.forceString === true ? '--set-string' : '--set',
      `${parameter.name}=${parameter.value.replaceAll('$ARGOCD_APP_SOURCE_TARGET_REVISION', ROOT_REVISION)}`,
    ]);
  }

  it.each(CLUSTERS)(
    '%s: every Application of the platform repository follows the root revision, even where the committed values name another',
    (cluster) => {
      // Given the root's parameters, and the cluster layer as a tagged commit may hold it: every
      // child's targetRevision is `main`, the pin of the time the tag was made
      const root = rootOf(cluster);
      const repository = (root.spec.source as unknown as Source).repoURL;
      const parameters = root.spec.source.helm.parameters ?? [];
      expect(parameters.length).toBeGreaterThan(5);
      const layer = readFileSync(
        join(out, 'charts/platform/clusters', `${cluster}.yaml`),
        'utf8',
      ).replace(/^( +targetRevision: )(\S+)$/gm, (line, head: string, revision: string) =>
        revision.startsWith('v') ? line : `${head}main`,
      );
      // When Helm renders charts/platform with them, as Argo CD's repo-server does
      const apps = template(cluster, setArgs(parameters), layer);
      // Then every child of the platform repository is at the root's revision, a CRD bundle at its
      // own upstream tag
      const revisions = apps.map((app) => {
        const source = (app.spec as unknown as { source: Source }).source;
        return [app.metadata.name, source.repoURL === repository ? source.targetRevision : 'own'];
      });
      expect(revisions.filter(([, revision]) => revision === ROOT_REVISION).length).toBe(
        parameters.length,
      );
      expect(
        revisions.filter(([, revision]) => revision !== ROOT_REVISION && revision !== 'own'),
      ).toEqual([]);
    },
  );

  it('without the parameters (a plain helm template), the children keep the environment revision', () => {
    const root = rootOf('prod');
    const revision = (root.spec.source as unknown as Source).targetRevision;
    const repository = (root.spec.source as unknown as Source).repoURL;
    const apps = template('prod', []);
    const own = apps
      .map((app) => (app.spec as unknown as { source: Source }).source)
      .filter((source) => source.repoURL === repository)
      .map((source) => source.targetRevision);
    expect(own.length).toBeGreaterThan(5);
    expect(new Set(own)).toEqual(new Set([revision]));
  });
});
