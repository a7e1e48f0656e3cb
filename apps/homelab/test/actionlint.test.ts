// Layer 5 (DESIGN.md, "Validation layers"): the real actionlint (v1.7.12) on the GitHub Actions
// workflows, .github/workflows/*.yml. They run only on GitHub, where nothing here can try them:
// actionlint checks their syntax, the expressions and the contexts they read (a step id that
// does not exist, an output of the wrong step), the inputs of the actions they use, and, with
// ShellCheck (0.9.0, the shellcheck suite's), every `run:` script as bash, as the runner does.
// Every finding counts. Broken on purpose: a copy of each workflow with a known fault is refused.
//
// Needs actionlint (`.ci/run` installs it with .ci/install-actionlint and passes its folder in
// ACTIONLINT_DIR; else PATH, else the tools cache) and shellcheck (SHELLCHECK_DIR, as the
// shellcheck suite finds it). Without them the suite is skipped and says "actionlint suite: not
// run" (a skipped test is not a passed one); with CI=true a missing tool fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findTool, toolSuite } from './find-tool.js';
import { REPO } from './helm/harness.js';

const ACTIONLINT_VERSION = 'v1.7.12';
const SHELLCHECK_VERSION = '0.9.0';
const INSTALL =
  'install them: .ci/install-actionlint and .ci/install-shellcheck, and put their folders in ACTIONLINT_DIR and SHELLCHECK_DIR or on PATH';

const actionlint = findTool(
  'actionlint',
  'ACTIONLINT_DIR',
  `actionlint-${ACTIONLINT_VERSION}`,
  /^(v\d+\.\d+\.\d+)$/m,
);
const shellcheck = findTool(
  'shellcheck',
  'SHELLCHECK_DIR',
  `shellcheck-${SHELLCHECK_VERSION}`,
  /^version: (\S+)$/m,
);

const WORKFLOWS = join(REPO, '.github/workflows');

/** One actionlint finding (`-format '{{json .}}'`). */
interface Finding {
  readonly filepath: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
  readonly message: string;
}

/** actionlint on `files` (paths relative to `cwd`), ShellCheck on: its findings. */
function lint(cwd: string, files: readonly string[]): Finding[] {
  if (actionlint === undefined || shellcheck === undefined) {
    expect.fail(`actionlint or shellcheck not found (${INSTALL})`);
  }
  const result = spawnSync(
    actionlint.path,
    ['-shellcheck', shellcheck.path, '-pyflakes=', '-format', '{{json .}}', ...files],
    { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
  );
  if (result.error) throw result.error;
  // 0: no finding; 1: findings; anything else is actionlint failing (bad flags, unreadable file).
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`actionlint exited ${result.status}: ${result.stderr}`);
  }
  const findings = JSON.parse(result.stdout || '[]') as Finding[];
  return findings.map(({ filepath, line, column, kind, message }) => ({
    filepath,
    line,
    column,
    kind,
    message,
  }));
}

const workflowFiles = (): string[] =>
  readdirSync(WORKFLOWS)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();

const { suite, title } = toolSuite(
  'actionlint',
  actionlint !== undefined && shellcheck !== undefined ? actionlint : undefined,
  INSTALL,
);

suite(title, () => {
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-actionlint-'));
    mkdirSync(join(scratch, '.github/workflows'), { recursive: true });
  });
  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it(`is actionlint ${ACTIONLINT_VERSION} with ShellCheck ${SHELLCHECK_VERSION}`, () => {
    expect({ actionlint: actionlint?.version, shellcheck: shellcheck?.version }).toEqual({
      actionlint: ACTIONLINT_VERSION,
      shellcheck: SHELLCHECK_VERSION,
    });
  });

  it('finds no fault in the workflows, their run: scripts included', () => {
    const files = workflowFiles();
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'release.yml']));
    expect(
      lint(
        REPO,
        files.map((name) => `.github/workflows/${name}`),
      ),
    ).toEqual([]);
  });

  /** Lints a copy of `workflow` with `from` replaced by `to` (which must be in it). */
  function lintBroken(workflow: string, from: string, to: string): Finding[] {
    const text = readFileSync(join(WORKFLOWS, workflow), 'utf8');
    expect(text).toContain(from);
    const file = `.github/workflows/${workflow}`;
    writeFileSync(join(scratch, file), text.replaceAll(from, to));
    return lint(scratch, [file]);
  }

  it('refuses a step output read from a step id that does not exist', () => {
    const findings = lintBroken(
      'release.yml',
      'steps.changesets.outputs.published',
      'steps.changeset.outputs.published',
    );
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      expect(finding).toMatchObject({
        kind: 'expression',
        filepath: '.github/workflows/release.yml',
      });
      expect(finding.message).toContain('property "changeset" is not defined');
    }
  });

  it("refuses an input the action does not have (actions/setup-node's node_version)", () => {
    const findings = lintBroken('ci.yml', 'node-version: 20', 'node_version: 20');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'action', filepath: '.github/workflows/ci.yml' });
    expect(findings[0]?.message).toContain('input "node_version" is not defined');
  });

  it('runs ShellCheck on run: scripts (an unquoted $GITHUB_ENV is SC2086)', () => {
    const findings = lintBroken(
      'ci.yml',
      'talos.git" >> "$GITHUB_ENV"',
      'talos.git" >> $GITHUB_ENV',
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'shellcheck', filepath: '.github/workflows/ci.yml' });
    expect(findings[0]?.message).toContain('SC2086');
  });
});
