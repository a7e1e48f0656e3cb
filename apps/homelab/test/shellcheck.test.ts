// Layer 5 (DESIGN.md, "Validation layers"): the real ShellCheck (0.9.0, Debian bookworm's
// package) on every piece of shell the committed output holds.
// 1. Every ```sh block of every clusters/<cluster>/*.md (the runbook, rotating-secrets.md,
//    disaster-recovery.md), each block as one script, as bash: the operator pastes a block into
//    an interactive bash or zsh (ShellCheck has no zsh dialect; bash is the nearest it checks,
//    and what is sound in bash is sound in zsh for what the blocks use: quoted expansions,
//    `$(…)`, `${VAR:?}`, `${VAR%…}`, `read -r`/`-s`, `for`/`while`/`until`, pipelines).
//    Inside them, every `sh -c '…'` script (run by `kubectl exec` in a container's /bin/sh) is
//    checked again on its own, as POSIX sh.
// 2. Every shell script of the generated charts: a container (any object with `command`/`args`)
//    whose command is a shell (`sh`, `/bin/sh`, `bash`, …) with `-c`, anywhere in a chart's value
//    layers (values.yaml, env/*.yaml, clusters/*.yaml: the `manifests` the chart's template
//    renders and the values of its upstream chart), checked with the shell the container runs
//    (`sh` as POSIX sh: the images' /bin/sh is busybox ash or dash; `bash` as bash).
// The same for the examples' builds (SHELL_EXAMPLES of runbook-blocks.ts: the reference, the
// compact cluster, the single-node homelab), each script whose text the committed output does not
// hold: blocks a definition like the user's never generates (a storage CA, a hand-made Grafana
// Secret) are checked too.
// 3. Broken on purpose: a runbook block with an unterminated quote, a chart script with an
//    unquoted expansion (SC2086) and a `[ "$a" == b ]` in sh (SC3014) fail.
// Every severity counts (error, warning, info, style); the only findings let through are those
// of EXCLUSIONS, each with its reason, each matching one line's text, and each still used.
// The variables a runbook shares across blocks (TALOS_DIR, TALOSCONFIG, KUBECONFIG, NODE, …)
// are all upper case: ShellCheck takes an upper-case name it sees no assignment of for an
// environment variable (no SC2154), so no block needs a preamble and SC2154 stays on (a
// lower-case variable no block assigns is reported).
//
// Needs shellcheck (`.ci/run` installs it with .ci/install-shellcheck and passes its folder in
// SHELLCHECK_DIR; else it is looked for on PATH and in the tools cache). Without it the suite is
// skipped and says "shellcheck suite: not run: shellcheck not found" (a skipped test is not a
// passed one); with CI=true a missing shellcheck fails. Nothing here names a cluster or a
// chart: they all come from the committed output and the examples' builds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseYaml, shellQuote } from '@homelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FoundTool, findTool, toolSuite } from './find-tool.js';
import { REPO } from './helm/harness.js';
import {
  exampleLabel,
  exampleRunbookBlocks,
  type RunbookBlock,
  runbookBlocks,
  SHELL_EXAMPLES,
  shBlocks,
} from './runbook-blocks.js';

/** Debian bookworm's shellcheck (0.9.0-1); .ci/install-shellcheck installs it. */
const SHELLCHECK_VERSION = '0.9.0';
const INSTALL =
  'install it: .ci/install-shellcheck, and put its folder in SHELLCHECK_DIR or on PATH';

type Shellcheck = FoundTool;

/** shellcheck from SHELLCHECK_DIR, else PATH, else the tools cache .ci/install-shellcheck fills. */
function findShellcheck(): Shellcheck | undefined {
  return findTool(
    'shellcheck',
    'SHELLCHECK_DIR',
    `shellcheck-${SHELLCHECK_VERSION}`,
    /^version: (\S+)$/m,
  );
}

/** The dialects checked: ShellCheck's `--shell`. */
type Dialect = 'bash' | 'sh';

/** One ShellCheck finding, placed in the file it came from. */
export interface Finding {
  /** Where: `<file>:<line>` of the committed output. */
  readonly at: string;
  readonly code: number;
  readonly level: string;
  readonly message: string;
  /** The text of the script's line the finding is on. */
  readonly line: string;
}

/** A script to check: its text, its dialect, and where its first line is. */
export interface Script {
  readonly kind: 'runbook' | 'runbook-sh-c' | 'chart';
  readonly file: string;
  /** The file's line of the script's first line (for a chart script: its container's path). */
  readonly line: number;
  readonly where: string;
  readonly dialect: Dialect;
  readonly text: string;
}

interface Comment {
  readonly line: number;
  readonly level: string;
  readonly code: number;
  readonly message: string;
}

/** Runs shellcheck on `script` (all severities, no rc file) and places its findings. */
function check(tool: Shellcheck, script: Script): Finding[] {
  const result = spawnSync(
    tool.path,
    ['--norc', `--shell=${script.dialect}`, '--severity=style', '--format=json1', '-'],
    { input: script.text, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
  );
  if (result.error) throw result.error;
  // 0: no finding, 1: findings; anything else is shellcheck failing.
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`shellcheck exited ${result.status}: ${result.stderr}`);
  }
  const { comments } = JSON.parse(result.stdout) as { comments: Comment[] };
  const lines = script.text.split('\n');
  return comments.map((comment) => ({
    at:
      script.kind === 'chart'
        ? `${script.where} (script line ${comment.line})`
        : `${script.file}:${script.line + comment.line - 1}`,
    code: comment.code,
    level: comment.level,
    message: comment.message,
    line: lines[comment.line - 1] ?? '',
  }));
}

// ---------------------------------------------------------------------------------------------
// What the committed output runs

/**
 * The `sh -c '…'` scripts of a shell text (what `kubectl exec … -- sh -c` runs in a container),
 * as the shell hands them over: one word of single-quoted parts joined by `\'` (core's
 * shellQuote writes a `'` inside as `'\''`).
 */
export function shDashC(text: string): { offset: number; text: string }[] {
  return [...text.matchAll(/\bsh -c ('[^']*'(?:\\''[^']*')*)/g)].map((match) => ({
    offset: text.slice(0, match.index).split('\n').length - 1,
    text: `${(match[1] as string).slice(1, -1).replaceAll("'\\''", "'")}\n`,
  }));
}

/**
 * The shell scripts of the one-shot pods a shell text runs (`kubectl run … --overrides='<pod>'`):
 * each container whose `command` is a shell with `-c`, as the container's sh gets it.
 */
export function podOverrideScripts(text: string): { offset: number; text: string }[] {
  return [...text.matchAll(/--overrides=('[^']*'(?:\\''[^']*')*)/g)].flatMap((match) => {
    const offset = text.slice(0, match.index).split('\n').length - 1;
    const pod = JSON.parse((match[1] as string).slice(1, -1).replaceAll("'\\''", "'")) as {
      spec?: { containers?: { command?: string[] }[] };
    };
    return (pod.spec?.containers ?? []).flatMap(({ command = [] }) =>
      SHELLS.has(command[0] ?? '') && command[1] === '-c' && command[2] !== undefined
        ? [{ offset, text: command[2].endsWith('\n') ? command[2] : `${command[2]}\n` }]
        : [],
    );
  });
}

/** The scripts of runbook blocks: by default, those of every runbook of the committed clusters/. */
export function runbookScripts(blocks: readonly RunbookBlock[] = runbookBlocks()): Script[] {
  const scripts: Script[] = [];
  for (const block of blocks) {
    const { file } = block;
    scripts.push({
      kind: 'runbook',
      file,
      where: file,
      dialect: 'bash',
      line: block.line,
      text: block.text,
    });
    for (const inner of [...shDashC(block.text), ...podOverrideScripts(block.text)]) {
      const line = block.line + inner.offset;
      scripts.push({
        kind: 'runbook-sh-c',
        file,
        line,
        where: `${file}:${line} (sh -c)`,
        dialect: 'sh',
        text: inner.text,
      });
    }
  }
  return scripts;
}

const SHELLS: ReadonlyMap<string, Dialect> = new Map([
  ['sh', 'sh'],
  ['ash', 'sh'],
  ['dash', 'sh'],
  ['bash', 'bash'],
]);

/**
 * The shell scripts of a YAML tree: every object whose `command` then `args` start with a shell
 * and hold a `-c` (or `-ec`, `-euc`, …) option; the script is the argument after it.
 */
export function treeScripts(
  tree: unknown,
  where: string,
): { where: string; dialect: Dialect; text: string }[] {
  const found: { where: string; dialect: Dialect; text: string }[] = [];
  const walk = (node: unknown, at: string) => {
    if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) walk(item, `${at}[${index}]`);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    const argv = [record.command, record.args].flatMap((list) =>
      Array.isArray(list) ? list.map(String) : [],
    );
    const dialect = argv[0] === undefined ? undefined : SHELLS.get(basename(argv[0]));
    const dashC = argv.findIndex((arg, index) => index > 0 && /^-[a-z]*c[a-z]*$/.test(arg));
    if (dialect !== undefined && dashC > 0 && argv[dashC + 1] !== undefined) {
      found.push({ where: at, dialect, text: argv[dashC + 1] as string });
    }
    for (const [key, value] of Object.entries(record)) walk(value, `${at}.${key}`);
  };
  walk(tree, where);
  return found;
}

/**
 * The shell scripts of every generated chart's value layers under `root` (the committed output by
 * default), each script once (the first layer that holds it names it, after `label`; the same
 * script in another cluster's layer is the same check), and none whose dialect and text `seen`
 * holds (`seen` gets the new ones).
 */
export function chartScripts(root = REPO, label = '', seen = new Set<string>()): Script[] {
  const scripts = new Map<string, Script>();
  const charts = join(root, 'charts');
  for (const chart of readdirSync(charts).sort()) {
    if (!existsSync(join(charts, chart, 'Chart.yaml'))) continue;
    const layers = [
      'values.yaml',
      ...['env', 'clusters'].flatMap((dir) =>
        existsSync(join(charts, chart, dir))
          ? readdirSync(join(charts, chart, dir))
              .filter((name) => name.endsWith('.yaml'))
              .sort()
              .map((name) => `${dir}/${name}`)
          : [],
      ),
    ];
    for (const layer of layers) {
      const path = `charts/${chart}/${layer}`;
      const file = `${label}${path}`;
      const tree = parseYaml(readFileSync(join(root, path), 'utf8'));
      for (const found of treeScripts(tree, file)) {
        const key = `${found.dialect}\n${found.text}`;
        if (seen.has(key)) continue;
        seen.add(key);
        scripts.set(key, { kind: 'chart', file, line: 1, ...found });
      }
    }
  }
  return [...scripts.values()];
}

// ---------------------------------------------------------------------------------------------
// What is let through

interface Exclusion {
  readonly code: number;
  readonly kinds: readonly Script['kind'][];
  /** The line's text the finding is on. */
  readonly line: RegExp;
  readonly reason: string;
}

/** Every finding let through, with why it is not a defect where it is. Nothing else is. */
export const EXCLUSIONS: readonly Exclusion[] = [
  {
    code: 2016,
    kinds: ['runbook'],
    line: /\bkubectl .* exec -i .* -- sh -c '/,
    reason:
      "single quotes on purpose: the container's sh expands $(cat) and $VAR, not the operator's " +
      'shell (the script is checked on its own as POSIX sh)',
  },
  {
    code: 2016,
    kinds: ['runbook'],
    line: /^kubectl -n \S+ run \S+ --restart=Never --image=\S+ --overrides='\{/,
    reason:
      "single quotes on purpose: the one-shot pod's sh expands $VAR and $(…) of its command, not " +
      "the operator's shell (the script is checked on its own as POSIX sh)",
  },
  {
    code: 2016,
    kinds: ['runbook'],
    line: /-o go-template='\{\{range \.items\}\}\{\{\$node := \.metadata\.name\}\}/,
    reason:
      "single quotes on purpose: $node, $disk and $status are variables of kubectl's Go template " +
      "(the disaster recovery's Longhorn disk lists), not the operator's shell's",
  },
  {
    code: 2155,
    kinds: ['runbook'],
    line: /^export LOST_AT="\$\(date -u \+%Y-%m-%dT%H:%M:%SZ\)"$/,
    reason:
      "an interactive paste, not a script under `set -e` or reading $?: date -u's status is never " +
      'looked at either way, and the next line uses LOST_AT only through the runbook',
  },
  {
    code: 2046,
    kinds: ['runbook'],
    line: /^kubectl -n longhorn-system get pdb \$\(kubectl -n longhorn-system get pods /,
    reason:
      'split on purpose: one argument per instance-manager pod name (Kubernetes names hold no ' +
      'space or glob character); zsh also splits an unquoted $(…)',
  },
  {
    code: 2086,
    kinds: ['chart'],
    line: /^ {2}set -- \$f$/,
    reason:
      "split on purpose (spire-watchdog's epoch()): f is the seven fields sed printed from an RFC " +
      '3339 time, digits, Z and +hh:mm only, no glob character; `set --` makes them $1…$7',
  },
];

function excludedBy(finding: Finding, kind: Script['kind']): Exclusion | undefined {
  return EXCLUSIONS.find(
    (exclusion) =>
      exclusion.code === finding.code &&
      exclusion.kinds.includes(kind) &&
      exclusion.line.test(finding.line),
  );
}

const describeFinding = (finding: Finding) =>
  `${finding.at}: SC${finding.code} (${finding.level}) ${finding.message}\n    ${finding.line.trim()}`;

// ---------------------------------------------------------------------------------------------

const shellcheck = findShellcheck();

const { suite } = toolSuite('shellcheck', shellcheck, INSTALL);

suite('ShellCheck on the shell of the committed output', () => {
  const tool = (): Shellcheck => {
    if (shellcheck === undefined) throw new Error(`shellcheck not found (${INSTALL})`);
    return shellcheck;
  };
  // The committed output's scripts, then those of the examples' builds whose text it lacks
  // (built only where the suite runs).
  const scratch = mkdtempSync(join(tmpdir(), 'homelab-shellcheck-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const committed = runbookBlocks();
  const examples = shellcheck === undefined ? [] : exampleRunbookBlocks(scratch, committed);
  const runbooks = runbookScripts([...committed, ...examples]);
  const seenCharts = new Set<string>();
  const charts = [
    ...chartScripts(REPO, '', seenCharts),
    ...(shellcheck === undefined
      ? []
      : SHELL_EXAMPLES.flatMap((example) =>
          chartScripts(join(scratch, example), exampleLabel(example), seenCharts),
        )),
  ];
  /** The findings of `scripts` no exclusion lets through. */
  const unexcused = (scripts: readonly Script[], used?: Set<Exclusion>): Finding[] =>
    scripts.flatMap((script) =>
      check(tool(), script).filter((finding) => {
        const exclusion = excludedBy(finding, script.kind);
        if (exclusion !== undefined) used?.add(exclusion);
        return exclusion === undefined;
      }),
    );
  /** Every script of the committed output checked once: its unexcused findings, per script. */
  const findings = new Map<Script, Finding[]>();
  /** The exclusions some finding of the committed output used. */
  const used = new Set<Exclusion>();
  beforeAll(() => {
    // About 300 scripts, one shellcheck run each (a few seconds in all). Without shellcheck (in
    // CI) every test fails on its own, in tool().
    if (shellcheck === undefined) return;
    const started = Date.now();
    let excused = 0;
    for (const script of [...runbooks, ...charts]) {
      const all = check(tool(), script);
      const kept = all.filter((finding) => {
        const exclusion = excludedBy(finding, script.kind);
        if (exclusion !== undefined) used.add(exclusion);
        return exclusion === undefined;
      });
      excused += all.length - kept.length;
      findings.set(script, kept);
    }
    const count = (kind: Script['kind']) =>
      runbooks.filter((script) => script.kind === kind).length;
    console.log(
      `shellcheck suite: ${count('runbook')} runbook blocks (bash), ${count('runbook-sh-c')} sh -c ` +
        `scripts in them (sh), ${charts.length} chart scripts; ${excused} findings let through by ` +
        `${used.size} exclusions, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 300_000);
  const findingsOf = (scripts: readonly Script[]) => {
    tool();
    return scripts.flatMap((script) => findings.get(script) ?? []);
  };

  it(`is ShellCheck ${SHELLCHECK_VERSION}`, () => {
    expect(tool().version).toBe(SHELLCHECK_VERSION);
  });

  it('finds the blocks of every runbook', () => {
    const docs = new Set(runbooks.map((script) => script.file));
    let found = 0;
    for (const cluster of readdirSync(join(REPO, 'clusters'))) {
      if (existsSync(join(REPO, 'clusters', cluster, 'RUNBOOK.md'))) {
        expect(docs).toContain(`clusters/${cluster}/RUNBOOK.md`);
        found++;
      }
    }
    expect(found).toBeGreaterThan(0);
  });

  it("checks the examples' blocks the committed output lacks: the storage CA, the hand-made Grafana Secret", () => {
    tool();
    // Each example's build was read: some of its blocks are new, or all were checked already.
    for (const example of SHELL_EXAMPLES) {
      expect(existsSync(join(scratch, example, 'clusters'))).toBe(true);
    }
    const texts = runbooks.map((script) => script.text);
    // The compact example's disaster recovery writes its storage's CA and passes it to aws.
    expect(
      texts.some((text) =>
        /^printf '%s\\n' '-----BEGIN CERTIFICATE-----\n[\s\S]*' > \.\/backup-s3-ca\.pem$/m.test(
          text,
        ),
      ),
    ).toBe(true);
    expect(texts.some((text) => text.includes('--ca-bundle ./backup-s3-ca.pem'))).toBe(true);
    // The single-node homelab (no secrets provider) makes Grafana's admin Secret by hand.
    expect(
      texts.some((text) =>
        text.includes('kubectl -n monitoring create secret generic grafana-admin'),
      ),
    ).toBe(true);
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.every((block) => block.file.startsWith('examples/'))).toBe(true);
  });

  // `sh -c` scripts in runbook blocks and scripts in charts come from components the user's
  // definition may disable (the reference has both): "not run" where it has none.
  it('finds the sh -c scripts of the runbooks and the scripts of the charts', (context) => {
    const shC = runbooks.filter((script) => script.kind === 'runbook-sh-c').length;
    if (shC === 0 || charts.length === 0) {
      const why = `the definition's output has ${shC} sh -c scripts in runbooks and ${charts.length} chart scripts`;
      console.log(`shellcheck suite: not run: ${why}`);
      context.skip(why);
    }
    expect(shC).toBeGreaterThan(0);
    expect(charts.length).toBeGreaterThan(0);
  });

  const docs = [...new Set(runbooks.map((script) => script.file))];
  it.each(docs)('every ```sh block of %s passes (bash; its sh -c scripts as sh)', (file) => {
    const findings = findingsOf(runbooks.filter((script) => script.file === file));
    expect(findings.map(describeFinding).join('\n')).toBe('');
  });

  it.each(charts.map((script) => [`${script.where} (${script.dialect})`, script] as const))(
    'the script of %s passes',
    (_, script) => {
      const findings = findingsOf([script]);
      expect(findings.map(describeFinding).join('\n')).toBe('');
    },
  );

  it('lets through only findings an exclusion names, and every exclusion is still needed', () => {
    // An exclusion no finding uses is stale: it would let a later real finding through.
    tool();
    // Stale where a line it names is in the output and no finding needed it; a line the user's
    // definition does not generate (a component it disables) leaves the exclusion unused.
    const lines = [...runbooks, ...charts].flatMap((script) =>
      script.text.split('\n').map((line) => ({ kind: script.kind, line })),
    );
    const stale = EXCLUSIONS.filter(
      (exclusion) =>
        !used.has(exclusion) &&
        lines.some(
          ({ kind, line }) =>
            exclusion.kinds.includes(kind) &&
            (exclusion.line.test(line) || exclusion.line.test(line.trim())),
        ),
    );
    expect(stale.map((exclusion) => `SC${exclusion.code} ${exclusion.line}`)).toEqual([]);
    for (const exclusion of EXCLUSIONS) expect(exclusion.reason.length).toBeGreaterThan(20);
  });

  describe('broken on purpose', () => {
    const runbook = runbooks.find((script) => script.kind === 'runbook');
    // A POSIX sh script of the committed charts; where the user's definition renders none (no
    // backups), one of the same kind written here: the check on it is what is broken.
    const chart: Script = charts.find((script) => script.dialect === 'sh') ?? {
      kind: 'chart',
      file: 'charts/x/clusters/x.yaml',
      line: 1,
      where: 'a chart script written by this test',
      dialect: 'sh',
      text: 'set -eu\nprintf \'%s\\n\' "$RESTORE_ROOT"\n',
    };

    it('fails a runbook block with an unterminated quote', () => {
      const file = runbook?.file as string;
      const markdown = `${readFileSync(join(REPO, file), 'utf8')}\n1. Then:\n\n   \`\`\`sh\n   kubectl -n "$NS get pods\n   \`\`\`\n`;
      const blocks = shBlocks(markdown);
      const last = blocks.at(-1) as { line: number; text: string };
      expect(last.text).toBe('kubectl -n "$NS get pods\n');
      const findings = unexcused([
        { kind: 'runbook', file, line: last.line, where: file, dialect: 'bash', text: last.text },
      ]);
      // SC1073: "Couldn't parse this double quoted string" (an error: no other check runs).
      expect(findings.map((finding) => [finding.code, finding.level])).toContainEqual([
        1073,
        'error',
      ]);
      expect(findings[0]?.at).toBe(`${file}:${markdown.split('\n').length - 2}`);
    });

    it('fails a chart script with an unquoted expansion (SC2086)', () => {
      const script = chart as Script;
      const text = script.text.replace(/\n/, '\nrm -rf $RESTORE_ROOT/cache\n');
      const findings = unexcused([{ ...script, text }]);
      expect(findings.map((finding) => [finding.code, finding.line])).toEqual([
        [2086, 'rm -rf $RESTORE_ROOT/cache'],
      ]);
    });

    it('fails `[ "$a" == b ]` in a script /bin/sh runs, and not in one bash runs', () => {
      const found = treeScripts(
        {
          containers: [
            { name: 'a', command: ['/bin/sh', '-ec'], args: ['[ "$1" == x ] && echo x'] },
            { name: 'b', command: ['bash'], args: ['-c', '[ "$1" == x ] && echo x'] },
          ],
        },
        'test',
      );
      expect(found.map((script) => [script.where, script.dialect])).toEqual([
        ['test.containers[0]', 'sh'],
        ['test.containers[1]', 'bash'],
      ]);
      const codes = found.map((script) =>
        unexcused([{ kind: 'chart', file: 'test', line: 1, ...script }]).map((f) => f.code),
      );
      expect(codes).toEqual([[3014], []]);
    });

    it("finds a one-shot pod's sh -c script in its --overrides, and fails an unquoted $VAR in it", () => {
      const pod = { spec: { containers: [{ command: ['sh', '-c', "echo 'a' && rm $X/y"] }] } };
      const line = `x\nkubectl -n ns run p --restart=Never --image=i --overrides=${shellQuote(JSON.stringify(pod))} &&\n`;
      const inner = podOverrideScripts(line);
      expect(inner).toEqual([{ offset: 1, text: "echo 'a' && rm $X/y\n" }]);
      const findings = unexcused([
        {
          kind: 'runbook-sh-c',
          file: 'x',
          line: 2,
          where: 'x',
          dialect: 'sh',
          text: inner[0]?.text ?? '',
        },
      ]);
      expect(findings.map((finding) => finding.code)).toEqual([2086]);
      // A pod whose command is no shell gives none
      expect(
        podOverrideScripts(
          `kubectl -n ns run p --overrides=${shellQuote(JSON.stringify({ spec: { containers: [{ command: ['restic', 'unlock'] }] } }))}\n`,
        ),
      ).toEqual([]);
    });

    it("fails an unquoted $VAR in a runbook's sh -c script (checked as sh)", () => {
      const inner = shDashC("kubectl exec -i deploy/x -- sh -c 'rm $X/y'\n");
      expect(inner).toEqual([{ offset: 0, text: 'rm $X/y\n' }]);
      // A quote inside, written '\'' by shellQuote, is part of the one script.
      expect(
        shDashC("x\nkubectl exec -i deploy/x -- sh -c 'echo '\\''a b'\\'' && rm $X/y'\n"),
      ).toEqual([{ offset: 1, text: "echo 'a b' && rm $X/y\n" }]);
      const findings = unexcused([
        {
          kind: 'runbook-sh-c',
          file: 'x',
          line: 1,
          where: 'x',
          dialect: 'sh',
          ...inner[0],
        } as Script,
      ]);
      expect(findings.map((finding) => finding.code)).toEqual([2086]);
    });
  });
});
