// The hosted-forge workflows cannot run here; these tests keep them in step with `.ci/run` and
// with the root scripts the release flow relies on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = repoRoot();

interface Step {
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly with?: { readonly [key: string]: unknown };
}

function steps(workflow: string): Step[] {
  const parsed = parse(readFileSync(join(root, '.github/workflows', workflow), 'utf8')) as {
    jobs: { [job: string]: { steps: Step[] } };
  };
  return Object.values(parsed.jobs).flatMap((job) => job.steps);
}

/** The commands `.ci/run` runs as `step <name> <command…>`, in order (install-pnpm aside). */
function ciRunCommands(): string[] {
  const text = readFileSync(join(root, '.ci/run'), 'utf8');
  const commands: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(?:if )?step (\S+) (.+?)(?:; then)?(?: \|\| true)?$/.exec(line);
    if (match && match[1] !== 'install-pnpm') commands.push(match[2] ?? '');
  }
  return commands;
}

const script = (name: string): string =>
  (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts[name] ?? '';

describe('the pull-request workflow', () => {
  it('runs .ci/run itself, after setting up Node 20, Go and the Talos and Argo CD clones it needs', () => {
    // .ci/run's own checks, in order (the workflow runs the script, so they cannot drift apart).
    expect(ciRunCommands()).toEqual([
      'pnpm install --frozen-lockfile',
      'pnpm build',
      'git diff --exit-code --stat -- charts clusters',
      'pnpm homelab vendor verify',
      'pnpm lint',
      'pnpm typecheck',
      'pnpm test',
      'pnpm homelab check',
    ]);
    const all = steps('ci.yml');
    const at = (found: (step: Step) => boolean) => all.findIndex(found);
    const run = at((step) => step.run?.trim() === '.ci/run');
    const node = at((step) => step.uses?.startsWith('actions/setup-node@') === true);
    const go = at((step) => step.uses?.startsWith('actions/setup-go@') === true);
    const talos = at((step) => step.run?.includes('TALOS_GIT_DIR=') === true);
    const argocd = at((step) => step.run?.includes('ARGOCD_GIT_DIR=') === true);
    expect(all.filter((step) => step.run?.trim() === '.ci/run')).toHaveLength(1);
    expect([node, go, talos, argocd].map((index) => index >= 0 && index < run)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(all[node]?.with?.['node-version']).toBe(20);
    // The tools build with GOTOOLCHAIN=local: the Go must be at least the one their modules name.
    expect(String(all[go]?.with?.['go-version'])).toMatch(/^1\.(2[6-9]|[3-9]\d)/);
    // No step of its own besides: the workflow adds nothing .ci/run does not do.
    expect(
      all
        .filter(
          (step) =>
            step.run !== undefined &&
            !step.run.includes('TALOS_GIT_DIR=') &&
            !step.run.includes('ARGOCD_GIT_DIR='),
        )
        .map((step) => step.run?.trim()),
    ).toEqual(['.ci/run']);
  });
});

describe('the release workflow', () => {
  it('runs the version guard before changesets versions or publishes', () => {
    const all = steps('release.yml');
    const check = all.findIndex((step) => step.run === 'pnpm homelab check');
    const action = all.findIndex((step) => step.uses?.startsWith('changesets/action@') === true);
    expect(check).toBeGreaterThan(-1);
    expect(action).toBeGreaterThan(check);
    expect(all[action]?.with?.version).toBe('pnpm version-packages');
    expect(all[action]?.with?.publish).toBe('pnpm release');
  });

  it('versions with changesets, regenerates, then records the new digests', () => {
    // One homelab command (changeset version, build, record), so that the arguments pnpm
    // appends to the script (`pnpm version-packages --help`) are parsed before anything runs;
    // appended to `changeset version && … && … record`, they reached only the last command.
    expect(script('version-packages')).toBe('node packages/cli/dist/homelab.cjs release version');
    expect(script('release')).toBe('node packages/cli/dist/homelab.cjs release');
  });
});
