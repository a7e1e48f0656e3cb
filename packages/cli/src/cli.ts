// The `homelab` command. `run(argv, io)` does everything and returns the exit code; only bin.ts
// touches `process`. Exit codes: 0 ok; 1 invalid definition, unreadable --config, a --mirror
// that is no mirror, failed check, drift, a release or record the repository's state refuses, a
// refused upgrade-check; 2 usage error, fault of the environment or internal fault.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  formatIssue,
  formatPath,
  type GeneratedFile,
  hasErrors,
  type Issue,
  readBuildRecord,
  readChartVersions,
  shellQuote,
} from '@homelab/core';
import type { ChartState, VersionRecord } from '@homelab/release';
import pc from 'picocolors';
import type { CommandOptions } from './args.js';
import { asksForJson, parseCommandLine, usage } from './args.js';
import type { GenerateResult } from './pipeline.js';
import { readDefinitionFile } from './read-definition.js';
import type { FileChange, Runtime } from './runtime-types.js';
import { UserError } from './user-error.js';

/** Version of a chart whose package.json does not exist yet. */
const DEFAULT_CHART_VERSION = '0.1.0';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (colour). */
  readonly isTTY: boolean;
  /** Milliseconds, for the summary's timing (default: performance.now). */
  readonly now?: () => number;
  /** The runtime (default: the real one, imported on first use). */
  readonly runtime?: () => Promise<Runtime>;
  /**
   * The identity of the code that generates (the bundled CLI's file: size, times, inode), set by
   * the installed executable. With it, `build` records what it wrote and an unchanged rebuild
   * reuses that record instead of generating again (see `buildKey`); without it (the unbundled
   * CLI, tests of other commands) every build generates.
   */
  readonly tool?: string;
}

type Colors = ReturnType<typeof pc.createColors>;

interface Context {
  readonly io: CliIo;
  readonly colors: Colors;
  readonly now: () => number;
  readonly started: number;
  readonly runtime: Runtime;
  readonly configPath: string;
  readonly outRoot: string;
  readonly root: string;
  readonly options: CommandOptions;
  readonly positionals: readonly string[];
  /**
   * Takes the lock on `dir` (default: the output root) until the command ends, completing an
   * interrupted write first: called just before a command first reads what a build writes, so
   * that no other build changes it meanwhile ("another homelab build is running" if one does).
   */
  readonly hold: (dir?: string) => void;
}

export function workspaceRoot(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(cwd);
    dir = parent;
  }
}

function colorsFor(io: CliIo): Colors {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  const force = io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== '0';
  return pc.createColors(!noColor && (io.isTTY || force));
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * The folder shown paths are relative to: the current one, except when the command runs as a
 * package script (`npm_lifecycle_event` set: `pnpm build` through turbo runs it in apps/homelab,
 * inside a log whose reader stands at the repository root): then the workspace root.
 */
function displayBase(io: CliIo): string {
  const script = io.env.npm_lifecycle_event;
  return script !== undefined && script !== '' ? workspaceRoot(io.cwd) : io.cwd;
}

function displayFile(io: CliIo, file: string): string {
  const absolute = isAbsolute(file) ? file : resolve(io.cwd, file);
  const shown = relative(displayBase(io), absolute).split('\\').join('/');
  // Relative to cwd, unless that climbs out more than one level: then the absolute path reads better.
  if (shown === '' || shown.startsWith('../../') || isAbsolute(shown)) return absolute;
  return shown;
}

/** The issue with its file shown relative to cwd; warnings and errors after `--strict`. */
function presentIssue(io: CliIo, issue: Issue, strict: boolean): Issue {
  const severity = strict ? 'error' : issue.severity;
  if (!issue.position) return { ...issue, severity };
  return {
    ...issue,
    severity,
    position: { ...issue.position, file: displayFile(io, issue.position.file) },
  };
}

/** The indent of the lines of an issue after its first. */
const CONTINUATION = '    ';

function issueLine(ctx: Pick<Context, 'colors' | 'runtime'>, issue: Issue): string {
  const text = ctx.runtime.formatIssue(issue);
  const { colors } = ctx;
  const at = text.indexOf('  ');
  const styled =
    issue.position && at > 0 ? `${colors.dim(text.slice(0, at))}${text.slice(at)}` : text;
  // A message over several lines (an `expected` with the YAML lines to add) goes on indented, so
  // that each issue starts at the beginning of a line and every line after its first is indented:
  // one issue is told from the next, by a reader or a filter, and the YAML keeps its shape.
  const lines = styled.split('\n').join(`\n${CONTINUATION}`);
  // The location stays first on the line, where terminals and editors make it clickable.
  return issue.severity === 'warning' ? `${lines} ${colors.yellow('[warning]')}` : lines;
}

function jsonIssue(issue: Issue): Record<string, unknown> {
  return {
    severity: issue.severity,
    code: issue.code,
    path: formatPath(issue.path),
    segments: [...issue.path],
    output: issue.output ?? null,
    message: issue.message,
    value: issue.value === undefined ? null : issue.value,
    expected: issue.expected ?? null,
    file: issue.position?.file ?? null,
    line: issue.position?.line ?? null,
    column: issue.position?.column ?? null,
  };
}

function counts(issues: readonly Issue[]): { errors: number; warnings: number } {
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  return { errors, warnings: issues.length - errors };
}

function printIssues(ctx: Context, issues: readonly Issue[]): void {
  for (const issue of issues) ctx.io.stderr(`${issueLine(ctx, issue)}\n`);
}

function printJson(ctx: Context, ok: boolean, issues: readonly Issue[], summary: object): void {
  ctx.io.stdout(`${JSON.stringify({ ok, issues: issues.map(jsonIssue), summary }, null, 2)}\n`);
}

function elapsed(ctx: Context): number {
  return Math.round(ctx.now() - ctx.started);
}

/** The definition's text, or the one issue that stops it from being read as one (size, encoding). */
function readDefinition(path: string, io: CliIo): { text: string } | { issue: Issue } {
  const read = readDefinitionFile(path);
  if (read.kind === 'text') return { text: read.text };
  if (read.kind === 'issue') return { issue: read.issue };
  throw new UserError(
    `cannot read the platform definition ${displayFile(io, path)}: ${read.reason} (use --config FILE)`,
  );
}

/**
 * The definition's path as the runbooks name it: relative to the output root (the repository
 * the runbooks are read in), else to the workspace, POSIX; `null` outside both. Never absolute:
 * the output does not depend on where the repository is checked out.
 */
function definitionSource(ctx: Context): string | null {
  for (const base of [ctx.outRoot, ctx.root]) {
    const shown = relative(base, ctx.configPath);
    if (shown !== '' && !shown.startsWith('..') && !isAbsolute(shown)) {
      return shown.split(sep).join('/');
    }
  }
  return null;
}

/** The code of a pending changeset `changeset version` would refuse (@homelab/release). */
const CHANGESET_INVALID = 'changeset-invalid';

/** How many errors of `issues` are about pending changesets. */
function badChangesetErrors(issues: readonly Issue[]): number {
  return issues.filter((issue) => issue.code === CHANGESET_INVALID && issue.severity === 'error')
    .length;
}

/**
 * The build command of this definition and output, for hints: `homelab build`, with `--config`
 * and `--out` where they are not the defaults (shown relative to the current folder, shell-quoted).
 */
function buildCommand(ctx: Context): string {
  const parts = ['homelab build'];
  if (ctx.configPath !== join(ctx.root, 'apps/homelab/platform.yaml')) {
    parts.push(`--config ${shellQuote(displayFile(ctx.io, ctx.configPath))}`);
  }
  if (ctx.outRoot !== ctx.root) parts.push(`--out ${shellQuote(displayFile(ctx.io, ctx.outRoot))}`);
  return parts.join(' ');
}

/**
 * Generates, and reports issues. Returns the result and the issues as presented. `lastBuild`
 * false: no comparison with the charts and clusters the last build wrote (the reports of
 * `vendor outdated` and `upgrade-check`, which deploy nothing); nor with
 * `--allow-immutable-changes`.
 */
async function generate(
  ctx: Context,
  {
    lastBuild = true,
    lock = lastBuild,
    print = !ctx.options.json,
  }: { lastBuild?: boolean; lock?: boolean; print?: boolean } = {},
): Promise<{
  result: GenerateResult;
  issues: Issue[];
  failed: boolean;
  chartVersions: Readonly<Record<string, string>>;
  /** The definition's text the result was generated from (`undefined`: it could not be read). */
  text: string | undefined;
}> {
  const definition = readDefinition(ctx.configPath, ctx.io);
  // Before the first read of the output; not for `validate`, which writes nothing and compares
  // nothing with the output but the last build's immutable fields (two validations, or one during
  // a build, must not refuse each other), nor for the reports of `vendor outdated` and
  // `upgrade-check`, which read no chart of the last build.
  if (lock) ctx.hold();
  const chartVersions = await ctx.runtime.readChartVersions(ctx.outRoot);
  const result =
    'issue' in definition
      ? { files: [], issues: [definition.issue] }
      : await ctx.runtime.generate({
          text: definition.text,
          file: ctx.configPath,
          source: definitionSource(ctx),
          chartVersions,
          ...(ctx.runtime.readChart === undefined || ctx.options.allowImmutableChanges || !lastBuild
            ? {}
            : {
                previousChart: (chart: string) => ctx.runtime.readChart?.(ctx.outRoot, chart),
              }),
          ...(ctx.runtime.readClusterFiles === undefined ||
          ctx.options.allowImmutableChanges ||
          !lastBuild
            ? {}
            : {
                previousCluster: (cluster: string) =>
                  ctx.runtime.readClusterFiles?.(ctx.outRoot, cluster),
              }),
          ...(ctx.runtime.readClusterNames === undefined ||
          ctx.options.allowImmutableChanges ||
          !lastBuild
            ? {}
            : { previousClusters: ctx.runtime.readClusterNames(ctx.outRoot) }),
        });
  const issues = result.issues.map((issue) => presentIssue(ctx.io, issue, ctx.options.strict));
  const failed = issues.some((issue) => issue.severity === 'error');
  if (print) printIssues(ctx, issues);
  const text = 'text' in definition ? definition.text : undefined;
  return { result, issues, failed, chartVersions, text };
}

type ReleaseModule = typeof import('@homelab/release');

/**
 * The version-increment guard's view of what build would write: each generated chart's digest
 * and version, its entry in charts/.versions.json and whether a pending changeset bumps it.
 * Computed from the generated files, not the disk, so it means the same before and after a build.
 */
async function chartStates(
  ctx: Context,
  files: readonly GeneratedFile[],
  chartVersions: Readonly<Record<string, string>>,
): Promise<{
  release: ReleaseModule;
  charts: ChartState[];
  record: VersionRecord;
  issues: Issue[];
  /** Files of chart folders the build does not write that a release would pack. */
  foreign: string[];
}> {
  const release = await import('@homelab/release');
  const state = await ctx.runtime.readReleaseState(ctx.outRoot);
  const charts = release.chartStatesFromBuild({
    files,
    versions: chartVersions,
    defaultVersion: DEFAULT_CHART_VERSION,
    record: state.record,
    pending: state.pending,
    packageNames: state.packageNames,
  });
  const foreign = release.foreignChartFiles(files, state.chartPaths);
  return { release, charts, record: state.record, issues: [...state.issues], foreign };
}

/**
 * An error for each file of a chart folder that the build does not write and a release would
 * pack (`foreign`, from `chartStates`): its digest covers it, so `release` refuses the chart
 * while the build's digest calls it unchanged, and no changeset changes that.
 */
function foreignFileIssues(foreign: readonly string[]): Issue[] {
  return foreign.map((path) => ({
    severity: 'error',
    code: 'chart-foreign-file',
    path: [],
    output: path,
    message: `is not written by the build, yet it would be packed into charts/${path.split('/')[1]} and counts in its content digest (homelab release refuses the chart); a changeset does not change that`,
    expected: 'only generated files in a chart folder: remove it (or move it out of charts/)',
  }));
}

function failureSummary(ctx: Context, verb: string, issues: readonly Issue[]): string {
  const { errors, warnings } = counts(issues);
  const detail =
    warnings > 0
      ? `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`
      : plural(errors, 'error');
  return `${ctx.colors.red(`${verb} failed:`)} ${detail} in ${displayFile(ctx.io, ctx.configPath)}`;
}

function warningSuffix(issues: readonly Issue[]): string {
  const { warnings } = counts(issues);
  return warnings > 0 ? ` (${plural(warnings, 'warning')})` : '';
}

/**
 * The digest of everything a build's output and issues depend on: the generating code
 * (`io.tool`), the definition's path and text, the output root and its charts' versions.
 * `undefined` when there is no tool identity (the unbundled CLI, an injected runtime, the
 * writer's test hooks) or the definition cannot be read (the full build then says why).
 */
function buildKey(
  ctx: Context,
  text: string,
  chartVersions: Readonly<Record<string, string>>,
): string | undefined {
  if (ctx.io.tool === undefined || ctx.io.runtime !== undefined) return undefined;
  if (ctx.io.env.HOMELAB_WRITER_TRACE !== undefined) return undefined;
  if (ctx.io.env.HOMELAB_WRITER_PAUSE_AT !== undefined) return undefined;
  const inputs = {
    tool: ctx.io.tool,
    config: ctx.configPath,
    out: ctx.outRoot,
    chartVersions: Object.keys(chartVersions)
      .sort()
      .map((chart) => [chart, chartVersions[chart]]),
  };
  return createHash('sha256')
    .update(JSON.stringify(inputs))
    .update('\0')
    .update(text)
    .digest('hex');
}

/** `buildKey` of the output root as it is now. */
function currentBuildKey(ctx: Context): string | undefined {
  if (ctx.io.tool === undefined) return undefined;
  const read = readDefinitionFile(ctx.configPath);
  if (read.kind !== 'text') return undefined;
  try {
    return buildKey(ctx, read.text, readChartVersions(ctx.outRoot));
  } catch {
    return undefined; // an unreadable chart package.json: the full build reports it
  }
}

/**
 * `buildKey` of the output root once `files` are written: of the text they were generated from
 * (not the file as it is now: an edit during the build must not be recorded as built), the
 * charts' versions as they were, and the default version for each new chart (the writer creates
 * its package.json with it), so that the next build of the same definition finds the record.
 */
function writtenBuildKey(
  ctx: Context,
  text: string | undefined,
  files: readonly GeneratedFile[],
  chartVersions: Readonly<Record<string, string>>,
): string | undefined {
  if (text === undefined) return undefined;
  const versions: Record<string, string> = { ...chartVersions };
  for (const file of files) {
    const chart = /^charts\/([^/]+)\/Chart\.yaml$/.exec(file.path)?.[1];
    if (chart !== undefined && versions[chart] === undefined)
      versions[chart] = DEFAULT_CHART_VERSION;
  }
  return buildKey(ctx, text, versions);
}

/** Prints a build's outcome (issues already printed); 0. */
function builtSummary(ctx: Context, issues: readonly Issue[], summary: BuildSummary): number {
  if (ctx.options.json) {
    printJson(ctx, true, issues, summary);
  } else {
    const created =
      summary.created.length > 0
        ? `; created ${summary.created.map((path) => displayFile(ctx.io, join(ctx.outRoot, path))).join(', ')}`
        : '';
    ctx.io.stdout(
      `${ctx.colors.green('built')} ${plural(summary.files, 'file')}: ${summary.written} written, ` +
        `${summary.unchanged} unchanged, ${summary.removed} removed in ${summary.ms} ms${created}` +
        `${summary.reused ? ' (same inputs and output as the last build: nothing generated)' : ''}${warningSuffix(issues)}\n`,
    );
  }
  return 0;
}

interface BuildSummary {
  readonly files: number;
  readonly written: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly created: readonly string[];
  /** Whether the build reused the record of the last one instead of generating. */
  readonly reused: boolean;
  readonly ms: number;
}

function buildFailed(ctx: Context, issues: readonly Issue[]): number {
  if (ctx.options.json)
    printJson(ctx, false, issues, {
      files: 0,
      written: 0,
      unchanged: 0,
      removed: 0,
      created: [],
      reused: false,
      ms: elapsed(ctx),
    });
  else ctx.io.stderr(`${failureSummary(ctx, 'build', issues)}; nothing written\n`);
  return 1;
}

async function build(ctx: Context): Promise<number> {
  const current = currentBuildKey(ctx);
  const record = current === undefined ? undefined : readBuildRecord(ctx.outRoot, current);
  if (record !== undefined) {
    // The same inputs built this very tree: its issues again, nothing to generate or write.
    const issues = record.issues.map((issue) => presentIssue(ctx.io, issue, ctx.options.strict));
    if (!ctx.options.json) printIssues(ctx, issues);
    if (issues.some((issue) => issue.severity === 'error')) return buildFailed(ctx, issues);
    return builtSummary(ctx, issues, {
      files: record.files,
      written: 0,
      unchanged: record.files,
      removed: 0,
      created: [],
      reused: true,
      ms: elapsed(ctx),
    });
  }
  const { result, issues, failed, chartVersions, text } = await generate(ctx);
  if (failed) return buildFailed(ctx, issues);
  const key = writtenBuildKey(ctx, text, result.files, chartVersions);
  const written = await ctx.runtime.writeTree(
    ctx.outRoot,
    result.files,
    key === undefined ? undefined : { key, issues: result.issues },
  );
  return builtSummary(ctx, issues, {
    files: result.files.length,
    written: written.written,
    unchanged: written.unchanged,
    removed: written.removed,
    created: [...written.created],
    reused: false,
    ms: elapsed(ctx),
  });
}

/**
 * `validate --report`: the components of every cluster in declaration order, what they provide,
 * what their sync waves come after, and whose facts they only read.
 */
function report(result: GenerateResult): string {
  const lines: string[] = [];
  const runs = result.components?.clusters ?? [];
  // One column for every component name, the longest (`snapshot-controller`) included.
  const width = Math.max(16, ...runs.flatMap((run) => run.order.map((name) => name.length)));
  for (const run of runs) {
    lines.push(`cluster ${run.cluster.name} (${run.cluster.environment}):`);
    for (const name of run.order) {
      const provides = [...run.providers.entries()]
        .filter(([, provider]) => provider === name)
        .map(([capability]) => capability);
      // What its Application's sync wave comes after (needs and uses), and the providers whose
      // facts it only reads (declared before it, not waited for); a late one says so.
      const after = run.startsAfter.get(name) ?? [];
      const reads = (run.dependsOn.get(name) ?? []).filter((other) => !after.includes(other));
      lines.push(
        `  ${name.padEnd(width)} provides ${provides.length > 0 ? provides.join(', ') : '—'}; after ${after.length > 0 ? after.join(', ') : '—'}${reads.length > 0 ? `; reads ${reads.join(', ')}` : ''}${run.syncLate.has(name) ? '; syncs late' : ''}`,
      );
    }
  }
  for (const section of result.reports?.() ?? []) {
    lines.push('', `${section.name}:`, ...section.lines.map((line) => `  ${line}`));
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

async function validate(ctx: Context): Promise<number> {
  const { result, issues, failed } = await generate(ctx, { lock: false });
  const clusters = result.platform?.clusters.length ?? 0;
  if (ctx.options.report && !ctx.options.json) ctx.io.stdout(report(result));
  if (ctx.options.json) {
    printJson(ctx, !failed, issues, { clusters, files: result.files.length, ms: elapsed(ctx) });
  } else if (failed) {
    ctx.io.stderr(`${failureSummary(ctx, 'validation', issues)}\n`);
  } else {
    ctx.io.stdout(
      `${ctx.colors.green('valid:')} ${plural(clusters, 'cluster')}, ${plural(result.files.length, 'file')} ` +
        `would be generated; checked in ${elapsed(ctx)} ms${warningSuffix(issues)}\n`,
    );
  }
  return failed ? 1 : 0;
}

/** Generated paths that differ from the disk: changed, missing (new), stale (to be removed). */
export interface TreeDifferences {
  readonly changed: readonly string[];
  readonly missing: readonly string[];
  readonly stale: readonly string[];
}

export function classifyChanges(changes: readonly FileChange[]): TreeDifferences {
  const changed: string[] = [];
  const missing: string[] = [];
  const stale: string[] = [];
  for (const change of changes) {
    if (change.after === null) stale.push(change.path);
    else if (change.before === null) missing.push(change.path);
    else changed.push(change.path);
  }
  return { changed, missing, stale };
}

function differenceCount(diff: TreeDifferences): number {
  return diff.changed.length + diff.missing.length + diff.stale.length;
}

async function check(ctx: Context): Promise<number> {
  const { result, issues: buildIssues, failed, chartVersions } = await generate(ctx);
  if (failed) {
    const issues = buildIssues;
    if (ctx.options.json)
      // The same shape as every other check report: nothing compared, nothing guarded.
      printJson(ctx, false, issues, {
        files: 0,
        changed: [],
        missing: [],
        stale: [],
        unversioned: [],
        unrecorded: [],
        foreign: [],
        ms: elapsed(ctx),
      });
    else ctx.io.stderr(`${failureSummary(ctx, 'check', issues)}\n`);
    return 1;
  }
  // The version-increment guard: a chart whose content moved at its recorded version needs a
  // changeset (a pending one counts, as in a pull request that carries it).
  const guard = await chartStates(ctx, result.files, chartVersions);
  // An unreadable record guards nothing: its problem alone, not every chart "not recorded"
  // (which `homelab changeset` could not fix: it refuses to write over an unreadable record).
  const unreadable = hasErrors(guard.issues.filter((issue) => issue.code !== CHANGESET_INVALID));
  // Pending changesets `changeset version` would refuse: the release job's first step fails.
  const badChangesets = [
    ...new Set(
      guard.issues.flatMap((issue) =>
        issue.code === CHANGESET_INVALID && issue.output !== undefined ? [issue.output] : [],
      ),
    ),
  ];
  const guardIssues = [
    ...guard.issues,
    ...(unreadable ? [] : guard.release.checkChartVersions(guard.charts)),
  ].map((issue) => presentIssue(ctx.io, issue, ctx.options.strict));
  const foreignIssues = foreignFileIssues(guard.foreign);
  if (!ctx.options.json) printIssues(ctx, [...guardIssues, ...foreignIssues]);
  const guardErrors = counts(guardIssues).errors;
  const unversioned = unreadable
    ? []
    : guard.release.chartsNeedingChangeset(guard.charts).map((chart) => `charts/${chart.name}`);
  const unrecorded = unreadable
    ? []
    : guard.release.chartsToRecord(guard.charts).map((chart) => `charts/${chart.name}`);
  const issues = [...buildIssues, ...guardIssues, ...foreignIssues];
  const diff = classifyChanges(await ctx.runtime.diffTree(ctx.outRoot, result.files));
  const differences = differenceCount(diff);
  // Every file compared: the generated ones, and those build would create besides them (a new
  // chart's package.json, which the writer makes) or remove (stale), so the differing ones are
  // a part of it, in the text and in --json alike.
  const generated = new Set(result.files.map((file) => file.path));
  const compared =
    result.files.length +
    [...diff.missing, ...diff.stale, ...diff.changed].filter((path) => !generated.has(path)).length;
  const ok = differences === 0 && guardErrors === 0 && guard.foreign.length === 0;
  if (ctx.options.json) {
    printJson(ctx, ok, issues, {
      files: compared,
      changed: [...diff.changed],
      missing: [...diff.missing],
      stale: [...diff.stale],
      unversioned,
      unrecorded,
      foreign: guard.foreign,
      ms: elapsed(ctx),
    });
    return ok ? 0 : 1;
  }
  const { colors } = ctx;
  const list = (label: string, paths: readonly string[], color: (s: string) => string): void => {
    for (const path of paths)
      ctx.io.stdout(
        `  ${color(label.padEnd(8))} ${displayFile(ctx.io, join(ctx.outRoot, path))}\n`,
      );
  };
  list('changed', diff.changed, colors.yellow);
  list('missing', diff.missing, colors.green);
  list('stale', diff.stale, colors.red);
  if (ok) {
    ctx.io.stdout(
      `${colors.green('check passed:')} ${plural(compared, 'file')} match the definition in ${elapsed(ctx)} ms${warningSuffix(issues)}\n`,
    );
    return 0;
  }
  if (differences > 0) {
    ctx.io.stdout(
      `${colors.red('check failed:')} ${differences} of ${plural(compared, 'file')} differ from what build would write ` +
        `(${diff.changed.length} changed, ${diff.missing.length} missing, ${diff.stale.length} stale); ` +
        `run \`${buildCommand(ctx)}\` and commit the result\n`,
    );
  }
  if (badChangesets.length > 0) {
    ctx.io.stdout(
      `${colors.red('check failed:')} ${badChangesets.map((path) => displayFile(ctx.io, join(ctx.outRoot, path))).join(', ')} ` +
        `${badChangesets.length === 1 ? 'is a changeset' : 'are changesets'} \`changeset version\` (pnpm version-packages) would refuse (above): fix or remove ${badChangesets.length === 1 ? 'it' : 'them'}\n`,
    );
  }
  if (guardErrors > badChangesetErrors(guard.issues)) {
    const detail = unreadable
      ? `: ${displayFile(ctx.io, join(ctx.outRoot, 'charts/.versions.json'))} is unreadable (above), so no chart version is checked: fix it there, or restore it (git checkout -- charts/.versions.json)`
      : unrecorded.length > 0
        ? `: ${[
            ...(unversioned.length > 0
              ? [`${unversioned.join(', ')} changed without a new version`]
              : []),
            `${unrecorded.join(', ')} ${unrecorded.length === 1 ? 'has' : 'have'} no recorded version yet`,
          ].join(
            '; ',
          )}; run \`pnpm homelab changeset\` (it writes a changeset for every changed chart and records every new one)`
        : unversioned.length > 0
          ? `: ${unversioned.join(', ')} changed without a new version; add a changeset ` +
            '(`pnpm homelab changeset` writes one for every such chart)'
          : ' (above)';
    ctx.io.stdout(
      `${colors.red('check failed:')} ${plural(guardErrors, 'chart version error')}${detail}\n`,
    );
  }
  if (guard.foreign.length > 0) {
    ctx.io.stdout(
      `${colors.red('check failed:')} ${guard.foreign.map((path) => displayFile(ctx.io, join(ctx.outRoot, path))).join(', ')} ` +
        `${guard.foreign.length === 1 ? 'is' : 'are'} not generated but would be packed into ${guard.foreign.length === 1 ? 'its chart' : 'their charts'} (above): remove ${guard.foreign.length === 1 ? 'it' : 'them'}\n`,
    );
  }
  return 1;
}

async function changeset(ctx: Context): Promise<number> {
  const { result, issues, failed, chartVersions } = await generate(ctx);
  if (failed) {
    ctx.io.stderr(`${failureSummary(ctx, 'changeset', issues)}; nothing written\n`);
    return 1;
  }
  const guard = await chartStates(ctx, result.files, chartVersions);
  const recordIssues = guard.issues.map((issue) => presentIssue(ctx.io, issue, false));
  printIssues(ctx, recordIssues);
  if (counts(recordIssues).errors > badChangesetErrors(recordIssues)) {
    ctx.io.stderr(`${ctx.colors.red('changeset failed:')} the version record is unreadable\n`);
    return 1;
  }
  const changed = guard.release.chartsNeedingChangeset(guard.charts);
  // New charts (no entry in the record, no pending changeset): their first version is the one
  // they have now; recording it is what starts guarding their content.
  const toRecord = guard.release.chartsToRecord(guard.charts);
  const files = guard.release.writeChangesets(
    changed.map((chart) =>
      chart.packageName === undefined
        ? { name: chart.name }
        : { name: chart.name, packageName: chart.packageName },
    ),
  );
  // A file the build does not write in a chart folder: no changeset makes release accept it.
  const foreign = foreignFileIssues(guard.foreign).map((issue) =>
    presentIssue(ctx.io, issue, false),
  );
  printIssues(ctx, foreign);
  if (files.length === 0 && toRecord.length === 0) {
    if (foreign.length > 0) {
      ctx.io.stderr(
        `${ctx.colors.red('changeset failed:')} no chart changed without a new version, but ${guard.foreign.join(', ')} ` +
          `would be packed into ${guard.foreign.length === 1 ? 'its chart' : 'their charts'} (above): remove ${guard.foreign.length === 1 ? 'it' : 'them'}; no changeset written\n`,
      );
      return 1;
    }
    ctx.io.stdout('no chart changed without a new version: no changeset to write\n');
    return 0;
  }
  const written = new Set(await ctx.runtime.writeChangesets(ctx.outRoot, files));
  for (const file of files) {
    const verb = written.has(file.path) ? 'wrote' : 'unchanged';
    ctx.io.stdout(
      `${ctx.colors.green(verb)} ${displayFile(ctx.io, join(ctx.outRoot, file.path))}\n${file.content}`,
    );
  }
  if (changed.length > 0) {
    ctx.io.stdout(
      `${plural(changed.length, 'chart')} to bump: ${changed.map((chart) => `charts/${chart.name}`).join(', ')}; ` +
        'edit the summary if you like, commit it with the change; `pnpm version-packages` applies it\n',
    );
  }
  if (toRecord.length > 0) {
    await ctx.runtime.writeVersionRecord(
      ctx.outRoot,
      guard.release.serializeVersionRecord(guard.release.recordNewCharts(guard.record, toRecord)),
    );
    ctx.io.stdout(
      `${ctx.colors.green('recorded')} the first version of ${plural(toRecord.length, 'new chart')} in ` +
        `${displayFile(ctx.io, join(ctx.outRoot, 'charts/.versions.json'))}: ` +
        `${toRecord.map((chart) => `charts/${chart.name} ${chart.version}`).join(', ')}; commit it with the change\n`,
    );
  }
  // What was written stands; the file no changeset covers still fails check and release.
  if (foreign.length > 0) {
    ctx.io.stderr(
      `${ctx.colors.red('changeset failed:')} ${guard.foreign.join(', ')} would still be packed into ` +
        `${guard.foreign.length === 1 ? 'its chart' : 'their charts'} (above): remove ${guard.foreign.length === 1 ? 'it' : 'them'}\n`,
    );
    return 1;
  }
  return 0;
}

async function diff(ctx: Context): Promise<number> {
  const { result, failed, issues } = await generate(ctx);
  if (failed) {
    if (ctx.options.json)
      printJson(ctx, false, issues, {
        files: 0,
        changed: [],
        missing: [],
        stale: [],
        patches: [],
        ms: elapsed(ctx),
      });
    else ctx.io.stderr(`${failureSummary(ctx, 'diff', issues)}\n`);
    return 1;
  }
  const changes = await ctx.runtime.diffTree(ctx.outRoot, result.files);
  const differences = classifyChanges(changes);
  const { createTwoFilesPatch } = await import('diff');
  const entries = [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const patchOf = (entry: FileChange): string => {
    const patch = createTwoFilesPatch(
      entry.before === null ? '/dev/null' : `a/${entry.path}`,
      entry.after === null ? '/dev/null' : `b/${entry.path}`,
      entry.before ?? '',
      entry.after ?? '',
      undefined,
      undefined,
      { context: 3 },
    );
    // Drop jsdiff's `Index:`/`====` preamble: start at the `---` header, as git does.
    return patch.slice(patch.indexOf('--- '));
  };
  const count = entries.length;
  const exit = ctx.options.exitCode && count > 0 ? 1 : 0;
  if (ctx.options.json) {
    // { ok, issues, summary: { files, changed, missing, stale, patches: [{ path, patch }], ms } }:
    // `ok` is false only when --exit-code turns a difference into a failure.
    printJson(ctx, exit === 0, issues, {
      files: result.files.length,
      changed: [...differences.changed],
      missing: [...differences.missing],
      stale: [...differences.stale],
      patches: entries.map((entry) => ({ path: entry.path, patch: patchOf(entry) })),
      ms: elapsed(ctx),
    });
    return exit;
  }
  const { colors } = ctx;
  for (const entry of entries) {
    const body = patchOf(entry);
    const lines = body.endsWith('\n') ? body.slice(0, -1).split('\n') : body.split('\n');
    for (const line of lines) {
      const styled =
        line.startsWith('+++') || line.startsWith('---')
          ? colors.bold(line)
          : line.startsWith('+')
            ? colors.green(line)
            : line.startsWith('-')
              ? colors.red(line)
              : line.startsWith('@@')
                ? colors.cyan(line)
                : line;
      ctx.io.stdout(`${styled}\n`);
    }
  }
  ctx.io.stderr(
    count === 0
      ? `no changes: ${plural(result.files.length, 'file')} match the definition\n`
      : `${plural(count, 'file')} would change (${differences.changed.length} changed, ${differences.missing.length} added, ${differences.stale.length} removed)\n`,
  );
  return exit;
}

async function releaseCharts(ctx: Context): Promise<number> {
  const { publishCharts } = await import('@homelab/release');
  ctx.hold(ctx.root);
  const out = resolve(ctx.io.cwd, ctx.options.out ?? join(ctx.root, 'release'));
  return publishCharts({
    root: ctx.root,
    out,
    tag: !ctx.options.noTag,
    env: ctx.io.env,
    log: (line) => ctx.io.stdout(`${line}\n`),
    error: (line) => ctx.io.stderr(`${line}\n`),
  });
}

async function releaseRecord(ctx: Context): Promise<number> {
  const { recordVersionsOnDisk } = await import('@homelab/release');
  ctx.hold(ctx.root);
  return recordVersionsOnDisk({
    root: ctx.root,
    log: (line) => ctx.io.stdout(`${line}\n`),
    error: (line) => ctx.io.stderr(`${line}\n`),
  });
}

/**
 * `pnpm version-packages`: `changeset version` (bumps each chart's package.json, writes its
 * CHANGELOG.md), then the build (Chart.yaml follows package.json), then `release record`. The
 * command line is parsed before any of it runs: `--help` or an unknown option never versions;
 * and the definition is read and validated (generated in memory, as the build will) before
 * `changeset version`: an unreadable `--config` or an invalid definition is refused with the
 * build's errors, nothing changed, never package.json bumped with Chart.yaml left behind.
 */
async function releaseVersion(ctx: Context): Promise<number> {
  ctx.hold(ctx.root);
  const before = await generate(ctx, { print: false });
  if (before.failed) {
    printIssues(ctx, before.issues);
    ctx.io.stderr(
      `${failureSummary(ctx, 'version', before.issues)}; nothing versioned, built or recorded\n`,
    );
    return 1;
  }
  // A file in a chart folder the build does not write: the record after the bump would take it
  // into the chart's digest, and `release` would pack and tag it (check refuses it; so does this).
  const state = await ctx.runtime.readReleaseState(ctx.outRoot);
  const { foreignChartFiles } = await import('@homelab/release');
  const foreign = foreignChartFiles(before.result.files, state.chartPaths);
  if (foreign.length > 0) {
    printIssues(
      ctx,
      foreignFileIssues(foreign).map((issue) => presentIssue(ctx.io, issue, false)),
    );
    ctx.io.stderr(
      `${ctx.colors.red('version failed:')} ${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not generated but would be recorded and packed into ${foreign.length === 1 ? 'its chart' : 'their charts'} (above): remove ${foreign.length === 1 ? 'it' : 'them'}; nothing versioned, built or recorded\n`,
    );
    return 1;
  }
  const status = await ctx.runtime.changesetVersion(ctx.root);
  if (status !== 0) {
    ctx.io.stderr(
      `${ctx.colors.red('version failed:')} changeset version exited with ${status}; nothing built or recorded\n`,
    );
    return 1;
  }
  const built = await build(ctx);
  if (built !== 0) {
    ctx.io.stderr(
      `${ctx.colors.red('version failed:')} the build failed after changeset version; charts/.versions.json not recorded\n`,
    );
    return built;
  }
  return releaseRecord(ctx);
}

async function vendorSync(ctx: Context): Promise<number> {
  const { sync } = await import('./vendor.js');
  const { REGISTRY } = await import('./registry.js');
  const mirror =
    ctx.options.mirror === undefined ? undefined : resolve(ctx.io.cwd, ctx.options.mirror);
  const result = await sync(ctx.root, REGISTRY, mirror, (line) => ctx.io.stdout(`${line}\n`));
  ctx.io.stdout(
    `${ctx.colors.green('vendored')} ${plural(result.fetched.length + result.reused.length, 'artifact')}: ` +
      `${result.fetched.length} fetched, ${result.reused.length} unchanged, ${result.removed.length} removed` +
      `${result.changed ? '' : ' (vendor/ was already up to date)'}\n`,
  );
  return 0;
}

async function vendorVerify(ctx: Context): Promise<number> {
  const { verify } = await import('./vendor.js');
  const { REGISTRY } = await import('./registry.js');
  const issues = verify(ctx.root, REGISTRY).map((issue) => presentIssue(ctx.io, issue, false));
  const { errors } = counts(issues);
  if (ctx.options.json) {
    printJson(ctx, errors === 0, issues, { ms: elapsed(ctx) });
  } else {
    printIssues(ctx, issues);
    ctx.io.stdout(
      errors === 0
        ? `${ctx.colors.green('vendor verified:')} every file matches vendor/lock.json and the pins${warningSuffix(issues)}\n`
        : `${ctx.colors.red('vendor verify failed:')} ${plural(errors, 'error')}; run \`homelab vendor sync\` to restore vendor/\n`,
    );
  }
  return errors === 0 ? 0 : 1;
}

/** The charts the definition generates, by component, for the upgrade reports. */
async function chartsByComponent(ctx: Context) {
  // A report on the upstream charts' values: what the output folder's charts hold (built from
  // whatever definition) says nothing about it.
  const { result, failed } = await generate(ctx, { lastBuild: false });
  if (failed)
    throw new UserError(
      `${displayFile(ctx.io, ctx.configPath)} has errors (above); fix them first`,
    );
  const charts = new Map<string, import('@homelab/core').ChartSpec>();
  for (const run of result.components?.components ?? []) {
    if (run.output.chart !== undefined) charts.set(run.component.name, run.output.chart);
  }
  return charts;
}

async function vendorOutdated(ctx: Context): Promise<number> {
  const { outdated, upgradeCheck } = await import('./vendor.js');
  const { REGISTRY } = await import('./registry.js');
  const charts = await chartsByComponent(ctx);
  const stale = outdated(REGISTRY, charts);
  if (stale.length === 0) {
    ctx.io.stdout('every chart uses the newest release its component pins\n');
    return 0;
  }
  for (const { component, spec, newest } of stale) {
    const check = upgradeCheck(ctx.root, component, spec, newest);
    ctx.io.stdout(
      `${check.component}: ${check.chart} ${check.from} → ${check.to}\n${check.text}\n`,
    );
  }
  return 0;
}

async function upgradeCheckCommand(ctx: Context): Promise<number> {
  const { upgradeCheck } = await import('./vendor.js');
  const { REGISTRY } = await import('./registry.js');
  const [name = '', version = ''] = ctx.positionals;
  const component = REGISTRY.find((candidate) => candidate.name === name);
  if (component === undefined) {
    throw new UserError(
      `no component named '${name}' (components: ${REGISTRY.map((c) => c.name).join(', ')})`,
    );
  }
  const spec = (await chartsByComponent(ctx)).get(name);
  if (spec === undefined)
    throw new UserError(`${name} renders no chart on any cluster of the definition`);
  const check = upgradeCheck(ctx.root, component, spec, version);
  ctx.io.stdout(`${check.component}: ${check.chart} ${check.from} → ${check.to}\n${check.text}\n`);
  return 0;
}

const HANDLERS: Record<string, (ctx: Context) => Promise<number>> = {
  'vendor sync': vendorSync,
  'vendor verify': vendorVerify,
  'vendor outdated': vendorOutdated,
  'upgrade-check': upgradeCheckCommand,
  build,
  validate,
  check,
  diff,
  changeset,
  release: releaseCharts,
  'release record': releaseRecord,
  'release version': releaseVersion,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function loadRuntime(): Promise<Runtime> {
  const module = await import('./runtime.js');
  return module.runtime;
}

function isValidationError(cause: unknown): cause is Error & { issues: readonly Issue[] } {
  return (
    cause instanceof Error &&
    cause.name === 'ValidationError' &&
    Array.isArray((cause as { issues?: unknown }).issues)
  );
}

/**
 * A file-system error that escaped (errno code and path) as a HomelabError naming the path and
 * the cause, like the writer's own: `cannot open /x/charts: permission denied (EACCES)`.
 */
async function explainFault(cause: unknown): Promise<unknown> {
  const errno = cause as NodeJS.ErrnoException | undefined;
  if (
    !(cause instanceof Error) ||
    typeof errno?.code !== 'string' ||
    typeof errno.path !== 'string'
  )
    return cause;
  const { fileSystemFault } = await import('@homelab/core');
  return fileSystemFault(errno.syscall ?? 'use', errno.path, cause);
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const colors = colorsFor(io);
  const now = io.now ?? (() => performance.now());
  const started = now();
  const commandLine = parseCommandLine(argv);
  switch (commandLine.kind) {
    case 'help':
      io.stdout(usage(commandLine.command));
      return 0;
    case 'version':
      io.stdout(`${version()}\n`);
      return 0;
    case 'usage-error': {
      io.stderr(
        `${colors.red('homelab:')} ${commandLine.message}\n\n${usage(commandLine.command)}`,
      );
      // --json asked for one JSON document on stdout, also when the rest of the line is wrong,
      // and when the wrong part is --json itself (`--json=1`, `--json=false`).
      if (asksForJson(argv)) {
        const issue: Issue = {
          severity: 'error',
          code: 'usage',
          path: [],
          message: commandLine.message,
        };
        const summary = { ms: Math.round(now() - started) };
        io.stdout(
          `${JSON.stringify({ ok: false, issues: [jsonIssue(issue)], summary }, null, 2)}\n`,
        );
      }
      return 2;
    }
    case 'run':
      break;
  }
  const { command, options, positionals } = commandLine;
  const debug = io.env.HOMELAB_DEBUG === '1';
  const handler = HANDLERS[command.join(' ')];
  if (handler === undefined) {
    io.stderr(
      `${colors.red('homelab:')} '${command.join(' ')}' needs a subcommand\n\n${usage(command)}`,
    );
    return 2;
  }
  const locks = new Map<string, { release(): void }>();
  try {
    const root = workspaceRoot(io.cwd);
    const configPath = resolve(io.cwd, options.config ?? join(root, 'apps/homelab/platform.yaml'));
    const outRoot = resolve(io.cwd, options.out ?? root);
    const runtime = await (io.runtime ?? loadRuntime)();
    const hold = (dir: string = outRoot): void => {
      if (locks.has(dir) || runtime.holdOutput === undefined) return;
      locks.set(dir, runtime.holdOutput(dir));
    };
    return await handler({
      io,
      colors,
      now,
      started,
      runtime,
      configPath,
      outRoot,
      root,
      options,
      positionals,
      hold,
    });
  } catch (caught) {
    const cause = await explainFault(caught);
    // With --json, every failure is still one JSON document on stdout (the text on stderr).
    const fail = (exitCode: number, issues: readonly Issue[]): number => {
      if (options.json) {
        const summary = { ms: Math.round(now() - started) };
        io.stdout(
          `${JSON.stringify({ ok: false, issues: issues.map(jsonIssue), summary }, null, 2)}\n`,
        );
      }
      return exitCode;
    };
    const fault = (code: string, message: string): Issue => ({
      severity: 'error',
      code,
      path: [],
      message,
    });
    if (cause instanceof UserError) {
      io.stderr(`${colors.red('homelab:')} ${cause.message}\n`);
      return fail(1, [fault('unreadable-definition', cause.message)]);
    }
    if (isValidationError(cause)) {
      const shown = cause.issues.map((issue) => presentIssue(io, issue, false));
      for (const issue of shown) {
        io.stderr(`${formatIssue(issue).split('\n').join(`\n${CONTINUATION}`)}\n`);
      }
      io.stderr(`${colors.red('homelab:')} ${cause.message}\n`);
      return fail(1, shown);
    }
    if (cause instanceof Error && cause.name === 'HomelabError') {
      // A fault the tool detected and explained (the writer refusing to overwrite a file it did
      // not generate, another build holding the lock, a full disk): its message is for the
      // user, naming the path and the cause; exit 2.
      io.stderr(`${colors.red('homelab:')} ${cause.message}\n`);
      if (debug && cause.stack) io.stderr(`${cause.stack}\n`);
      return fail(2, [fault('fault', cause.message)]);
    }
    const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    io.stderr(`${colors.red('homelab: internal error:')} ${message}\n`);
    if (debug && cause instanceof Error && cause.stack) io.stderr(`${cause.stack}\n`);
    else io.stderr('(set HOMELAB_DEBUG=1 for the stack trace)\n');
    return fail(2, [fault('internal', `internal error: ${message}`)]);
  } finally {
    for (const lock of [...locks.values()].reverse()) lock.release();
  }
}
