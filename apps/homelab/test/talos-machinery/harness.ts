// The machinery of the Talos suite (talos-machinery.test.ts): finds the talos-machinery builds
// (tools/talos-machinery, one per supported Talos release), reads each cluster of the committed
// output (its RUNBOOK.md and talos/ patches; never the definition), runs the runbook's own
// `talosctl gen secrets`, `gen config` and `apply-config` commands with the build of the
// cluster's Talos release, validates what each node would receive as `talosctl validate --mode
// metal --strict` does, and reports every problem in words.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join, relative } from 'node:path';
import { parseAllDocuments } from '@homelab/core';
import { toolsCache } from '@homelab/core/testing';

// ---------------------------------------------------------------------------------------------
// The tool

export interface TalosMachinery {
  /** The folder's `talos-machinery`. */
  readonly path: string;
  /** The Talos release it is built from (`talos-machinery version`), e.g. `v1.13.9`. */
  readonly version: string;
}

/** The tools cache of .ci/install-* (core's, shared by every suite that looks there). */
export { toolsCache };

/**
 * The talos-machinery builds, by Talos release: the folders of TALOS_MACHINERY_DIRS (what
 * `.ci/run` sets from `.ci/install-talos-machinery`), else the `talos-machinery-<tag>` folders
 * of the tools cache (where that script builds them).
 */
export function findTalosMachinery(
  env: NodeJS.ProcessEnv = process.env,
): Map<string, TalosMachinery> {
  const dirs =
    env.TALOS_MACHINERY_DIRS !== undefined && env.TALOS_MACHINERY_DIRS !== ''
      ? env.TALOS_MACHINERY_DIRS.split(delimiter).filter((dir) => dir !== '')
      : cachedDirs(toolsCache(env));
  const found = new Map<string, TalosMachinery>();
  for (const dir of dirs) {
    const path = join(dir, 'talos-machinery');
    if (!existsSync(path) || !statSync(path).isFile()) continue;
    const result = spawnSync(path, ['version'], { encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) continue;
    const version = result.stdout.trim();
    if (!found.has(version)) found.set(version, { path, version });
  }
  return found;
}

function cachedDirs(cache: string): string[] {
  if (!existsSync(cache)) return [];
  return readdirSync(cache)
    .filter((name) => /^talos-machinery-v\d+\.\d+\.\d+/.test(name))
    .sort()
    .map((name) => join(cache, name));
}

/** `v1.12.11` → `v1.12`. */
export function releaseLine(version: string): string {
  const match = /^v?(\d+)\.(\d+)\./.exec(version);
  return match ? `v${match[1]}.${match[2]}` : version;
}

/**
 * The build for a cluster's Talos version: the same release, else the same release line (the
 * pinned patch release of that line; said so in `note`).
 */
export function toolFor(
  tools: ReadonlyMap<string, TalosMachinery>,
  version: string,
): { tool: TalosMachinery; note?: string } | undefined {
  const exact = tools.get(version);
  if (exact) return { tool: exact };
  const line = [...tools.values()].find(
    (tool) => releaseLine(tool.version) === releaseLine(version),
  );
  if (!line) return undefined;
  return {
    tool: line,
    note: `Talos ${version} validated with the machinery of ${line.version}, the pinned release of its line`,
  };
}

// ---------------------------------------------------------------------------------------------
// The committed output

export interface RunbookNode {
  readonly name: string;
  readonly role: string;
  /** Repository-relative path of its patch (`clusters/<cluster>/talos/nodes/<name>.yaml`). */
  readonly patch: string;
}

export interface ClusterMaterial {
  readonly cluster: string;
  /** The Talos release of the nodes (the runbook's header). */
  readonly talosVersion: string;
  /** The installer image the runbook says the nodes install. */
  readonly installImage: string | undefined;
  /** The `--image` of every `talosctl upgrade` of the runbook. */
  readonly upgradeImages: readonly string[];
  readonly nodes: readonly RunbookNode[];
  /** Every node patch file under clusters/<cluster>/talos/nodes/ (repository-relative). */
  readonly nodePatchFiles: readonly string[];
  /** The runbook's commands this suite runs, in the runbook's order. */
  readonly commands: readonly RunbookCommand[];
}

export interface RunbookCommand {
  /** 1-based line of RUNBOOK.md where the command starts. */
  readonly line: number;
  /** The command as written (continuations joined). */
  readonly text: string;
}

/** Clusters of the committed output that have Talos material (`clusters/<c>/talos/`). */
export function talosClusters(root: string): string[] {
  const dir = join(root, 'clusters');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((cluster) => existsSync(join(dir, cluster, 'talos')))
    .filter((cluster) => existsSync(join(dir, cluster, 'RUNBOOK.md')))
    .sort();
}

const RUNS = /^talosctl\s+(gen\s+secrets|gen\s+config|apply-config|apply)\b/;

/** The `sh` code blocks' commands of a Markdown text, continuation lines joined, with lines. */
export function shellCommands(markdown: string): RunbookCommand[] {
  const lines = markdown.split('\n');
  const out: RunbookCommand[] = [];
  let inBlock = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    if (/^```/.test(line)) {
      inBlock = !inBlock && /^```(sh|bash|shell)\s*$/.test(line);
      continue;
    }
    if (!inBlock) continue;
    let text = line;
    const start = index;
    while (text.endsWith('\\') && index + 1 < lines.length) {
      index++;
      text = `${text.slice(0, -1).trimEnd()} ${(lines[index] as string).trim()}`;
    }
    if (text.trim() !== '') out.push({ line: start + 1, text: text.trim() });
  }
  return out;
}

/** Reads a cluster's runbook and Talos material from the output under `root`. */
export function readCluster(root: string, cluster: string): ClusterMaterial {
  const runbook = readFileSync(join(root, 'clusters', cluster, 'RUNBOOK.md'), 'utf8');
  const version = /Talos \*\*(v[0-9][^*]*)\*\*/.exec(runbook)?.[1];
  if (version === undefined) {
    throw new Error(`clusters/${cluster}/RUNBOOK.md: no "Talos **v…**" in its header`);
  }
  const installImage = /The nodes install\s+`([^`]+)`/.exec(runbook)?.[1];
  const all = shellCommands(runbook);
  const upgradeImages = all
    .map((command) => /^talosctl\s.*\bupgrade\b.*--image[ =](\S+)/.exec(command.text)?.[1])
    .filter((image): image is string => image !== undefined);
  const nodes: RunbookNode[] = [];
  for (const line of runbook.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // | node | role | address | link | install disk | patch |
    const patch = /`(clusters\/[^`]+\/talos\/nodes\/[^`]+\.yaml)`/.exec(cells[6] ?? '')?.[1];
    if (cells.length >= 8 && patch !== undefined && cells[1] !== undefined && cells[2]) {
      nodes.push({ name: cells[1], role: cells[2], patch });
    }
  }
  const nodesDir = join(root, 'clusters', cluster, 'talos', 'nodes');
  const nodePatchFiles = existsSync(nodesDir)
    ? readdirSync(nodesDir)
        .filter((file) => file.endsWith('.yaml'))
        .sort()
        .map((file) => `clusters/${cluster}/talos/nodes/${file}`)
    : [];
  return {
    cluster,
    talosVersion: version,
    installImage,
    upgradeImages,
    nodes,
    nodePatchFiles,
    commands: all.filter((command) => RUNS.test(command.text)),
  };
}

// ---------------------------------------------------------------------------------------------
// Shell words

/**
 * The words of one shell command line as sh would split them: single and double quotes,
 * backslash escapes, `$VAR`, `${VAR}` and `${VAR:?message}` expanded from `env`. A variable
 * `env` lacks is an error (the suite knows every variable the runbook's commands may use).
 */
export function shellWords(text: string, env: Readonly<Record<string, string>>): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  const expand = (index: number): [string, number] => {
    const rest = text.slice(index + 1);
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::\?[^}]*)?\}/.exec(rest);
    const bare = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    const match = braced ?? bare;
    if (!match) throw new Error(`unsupported expansion at column ${index + 1}: ${text}`);
    const name = match[1] as string;
    const value = env[name];
    if (value === undefined) throw new Error(`unknown variable $${name} in: ${text}`);
    return [value, index + match[0].length];
  };
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && /["\\$`]/.test(text[index + 1] ?? '')) word += text[++index];
      else if (char === '$') {
        const [value, end] = expand(index);
        word += value;
        index = end;
      } else if (char === '`') throw new Error(`command substitution is not supported: ${text}`);
      else word += char;
      continue;
    }
    if (char === ' ' || char === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (/[;&|<>()`]/.test(char)) throw new Error(`not a simple command (${char}): ${text}`);
    if (char === '#' && !inWord) break;
    inWord = true;
    if (char === "'" || char === '"') quote = char;
    else if (char === '\\') word += text[++index] ?? '';
    else if (char === '$') {
      const [value, end] = expand(index);
      word += value;
      index = end;
    } else word += char;
  }
  if (quote !== undefined) throw new Error(`unterminated quote: ${text}`);
  if (inWord) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------------------------
// Running the runbook

export interface ToolRun {
  readonly what: string;
  readonly args: readonly string[];
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AppliedConfig {
  /** The node of the `--config-patch @…/nodes/<node>.yaml` (undefined: the command named none). */
  readonly node: string | undefined;
  /** Role config the command applied (`controlplane`, `worker`, …: `-f`'s file name). */
  readonly roleFile: string;
  readonly insecure: boolean;
  /** `--dry-run`: what the node runs is compared, nothing applied. */
  readonly dryRun: boolean;
  readonly command: RunbookCommand;
  /** What talosctl would send to the node (the role config with the node's patches). */
  readonly config?: string;
  readonly validate?: ToolRun;
}

export interface ClusterRun {
  readonly material: ClusterMaterial;
  readonly tool: TalosMachinery;
  readonly note?: string;
  readonly runs: readonly ToolRun[];
  readonly applied: readonly AppliedConfig[];
  /** The talosconfig after step 3, and after every later `gen config` of the runbook. */
  /** talosconfig before and after each `gen config` that writes the machine configs. */
  readonly talosconfigs: readonly { readonly before: string; readonly after: string }[];
  /** What each `gen config --output-types talosconfig` (the yearly renewal) wrote. */
  readonly renewals: readonly string[];
  /**
   * Each `gen secrets --from-controlplane-config`: the control plane's running config it read
   * (as the suite made it: see `RunbookOptions.runningConfig`) and the bundle it wrote.
   */
  readonly rebuilds: readonly { readonly running: string; readonly bundle: string }[];
  /** Problems found before or between the runs (a command the suite could not read). */
  readonly problems: readonly string[];
}

export interface RunbookOptions {
  /**
   * The running config of a control plane, from the last control-plane config an apply-config
   * sent (the runbook fetches it from the node, which the suite does not run): a test changes it
   * as the node would have (a CA rotation gives it new authorities).
   */
  readonly runningConfig?: (config: string) => string;
}

/** Address that stands for a node's DHCP address (TEST-NET-1, RFC 5737). */
const DHCP_ADDRESS = '192.0.2.1';

/**
 * Runs the runbook's commands of `material` (read under `root`) in order, in a fresh scratch
 * `$TALOS_DIR`, from `root` (the runbook says: from the repository root), then validates every
 * config an `apply-config` would send as `talosctl validate --mode metal --strict`.
 */
export function runRunbook(
  root: string,
  material: ClusterMaterial,
  tool: TalosMachinery,
  scratch: string,
  note?: string,
  options: RunbookOptions = {},
): ClusterRun {
  const talosDir = join(scratch, 'talos');
  const appliedDir = join(scratch, 'applied');
  mkdirSync(talosDir, { recursive: true });
  mkdirSync(appliedDir, { recursive: true });
  const env: Record<string, string> = {
    HOME: join(scratch, 'home'),
    TALOS_DIR: talosDir,
    TALOSCONFIG: join(talosDir, 'talosconfig'),
  };
  const runs: ToolRun[] = [];
  const applied: AppliedConfig[] = [];
  const talosconfigs: { before: string; after: string }[] = [];
  const renewals: string[] = [];
  const rebuilds: { running: string; bundle: string }[] = [];
  const problems: string[] = [];
  const run = (what: string, args: string[], extraEnv: Record<string, string> = {}): ToolRun => {
    const result = spawnSync(tool.path, args, {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '', HOME: env.HOME, ...extraEnv },
    });
    const out: ToolRun = {
      what,
      args,
      status: result.status ?? 1,
      stdout: result.stdout ?? '',
      stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`,
    };
    runs.push(out);
    return out;
  };
  for (const command of material.commands) {
    const where = `RUNBOOK.md:${command.line}`;
    let words: string[];
    try {
      words = shellWords(withoutDryRunFilter(command.text), {
        ...env,
        ...dhcpVariables(command.text),
      });
    } catch (cause) {
      problems.push(`${where}: ${cause instanceof Error ? cause.message : String(cause)}`);
      continue;
    }
    const args = words.slice(1);
    if (args[0] === 'apply-config' || args[0] === 'apply') {
      const index = applied.length;
      const output = join(appliedDir, `${String(index).padStart(3, '0')}.yaml`);
      const result = run(`${where} ${args[0]}`, args, { TALOS_MACHINERY_APPLY_OUTPUT: output });
      const patch = flagValues(args, '--config-patch', '-p')
        .map((value) => /\/nodes\/([^/]+)\.yaml$/.exec(value)?.[1])
        .find((node) => node !== undefined);
      const file = flagValues(args, '--file', '-f')[0] ?? '';
      const entry = {
        node: patch,
        roleFile: basename(file).replace(/\.yaml$/, ''),
        insecure: args.includes('--insecure') || args.includes('-i'),
        dryRun: args.includes('--dry-run'),
        command,
      };
      if (result.status !== 0 || !existsSync(output)) {
        applied.push(entry);
        continue;
      }
      const validate = run(`${where} validate`, [
        'validate',
        '--config',
        output,
        '--mode',
        'metal',
        '--strict',
      ]);
      applied.push({ ...entry, config: readFileSync(output, 'utf8'), validate });
      continue;
    }
    const running =
      args[0] === 'gen' && args[1] === 'secrets'
        ? flagValues(args, '--from-controlplane-config', '--from-controlplane-config')[0]
        : undefined;
    if (running !== undefined && !existsSync(running)) {
      // The control plane's running config, which the runbook fetched from the node (`talosctl
      // get machineconfig`, not run here): the last control-plane config an apply-config sent.
      const config = applied.findLast((entry) => entry.roleFile === 'controlplane')?.config;
      if (config === undefined) {
        problems.push(`${where}: reads a control plane's running config before any was applied`);
        continue;
      }
      writeFileSync(running, options.runningConfig?.(config) ?? config);
    }
    const talosconfig = join(talosDir, 'talosconfig');
    const read = () => (existsSync(talosconfig) ? readFileSync(talosconfig, 'utf8') : '');
    const before = read();
    const result = run(where, args);
    const bundle = flagValues(args, '--output-file', '-o')[0];
    if (running !== undefined && result.status === 0 && bundle !== undefined) {
      rebuilds.push({
        running: readFileSync(running, 'utf8'),
        bundle: readFileSync(bundle, 'utf8'),
      });
    }
    if (args[0] === 'gen' && args[1] === 'config') {
      // The yearly renewal makes talosconfig alone again, on purpose (a new certificate).
      if (flagValues(args, '--output-types', '-t')[0] === 'talosconfig') renewals.push(read());
      else talosconfigs.push({ before, after: read() });
    }
  }
  return {
    material,
    tool,
    ...(note === undefined ? {} : { note }),
    runs,
    applied,
    talosconfigs,
    renewals,
    rebuilds,
    problems,
  };
}

/**
 * A dry run's command without the filter its output goes through (`--dry-run 2>&1 | sed -n -e
 * '…'`: the runbook prints the names of the fields that differ, never a line of the difference); any other command as
 * it is (a pipeline is then refused as not a simple command).
 */
export function withoutDryRunFilter(text: string): string {
  const match = /^(talosctl\s+apply-config\s.*\s--dry-run) 2>&1 \| sed -n( -e '[^']*')+$/.exec(
    text,
  );
  return match === null ? text : (match[1] as string);
}

/** The certificates of a machine config's two authorities (Talos API, Kubernetes). */
export function authorities(config: string): { machine: unknown; cluster: unknown } {
  const document = v1alpha1(configDocuments(config)) ?? {};
  const ca = (part: Json | undefined) =>
    isTable(part) && isTable(part.ca) ? part.ca.crt : undefined;
  return { machine: ca(document.machine), cluster: ca(document.cluster) };
}

/**
 * Every `apply-config --dry-run` (the check after secrets.yaml is made again from a control
 * plane's running config) sends the node the authorities that control plane runs with: a
 * secrets.yaml still holding the old ones would give them back to the nodes.
 */
export function dryRunProblems(run: ClusterRun): string[] {
  const dryRuns = run.applied.filter((entry) => entry.dryRun);
  if (dryRuns.length === 0) return [];
  const running = run.rebuilds.at(-1)?.running;
  if (running === undefined)
    return ['dry runs, but no secrets.yaml made again from a running config'];
  const want = authorities(running);
  const out: string[] = [];
  for (const entry of dryRuns) {
    if (entry.config === undefined) continue;
    const got = authorities(entry.config);
    for (const part of ['machine', 'cluster'] as const) {
      if (got[part] !== want[part]) {
        out.push(
          `RUNBOOK.md:${entry.command.line}: ${entry.node} would get another ${part}.ca than the control plane runs with`,
        );
      }
    }
  }
  return out;
}

/** `${NODE_…_DHCP:?…}` variables of a command, each standing for a DHCP address. */
function dhcpVariables(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(/\$\{(NODE_[A-Z0-9_]+_DHCP)(?::\?[^}]*)?\}/g)) {
    out[match[1] as string] = DHCP_ADDRESS;
  }
  return out;
}

/** The values of a flag (`--name v`, `--name=v`, `-s v`) in talosctl's words. */
export function flagValues(args: readonly string[], long: string, short: string): string[] {
  const out: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === long || arg === short) {
      const value = args[index + 1];
      if (value !== undefined) out.push(value);
      index++;
    } else if (arg.startsWith(`${long}=`)) out.push(arg.slice(long.length + 1));
    else if (arg.startsWith(`${short}=`)) out.push(arg.slice(short.length + 1));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What Talos said, and what the merged configs hold

/** Lines a tool printed on stderr that are warnings (talosctl prints `WARNING: …`). */
export function warningLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /\bwarn(ing)?\b/i.test(line));
}

/** Every failed or warning run, in Talos' own words. */
export function runProblems(run: ClusterRun): string[] {
  const out = [...run.problems];
  for (const result of run.runs) {
    if (result.status !== 0) {
      out.push(
        `${result.what}: talos-machinery ${result.args.join(' ')} failed: ${result.stderr.trim()}`,
      );
    }
    for (const line of warningLines(result.stderr)) out.push(`${result.what}: ${line}`);
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Table = { [key: string]: Json };

function isTable(value: Json | undefined): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The documents of a machine config (comments dropped). */
export function configDocuments(text: string): Table[] {
  return (parseAllDocuments(text) as Json[]).filter(isTable);
}

/** The v1alpha1 document (the one with `machine`), or undefined. */
export function v1alpha1(documents: readonly Table[]): Table | undefined {
  return documents.find((document) => document.kind === undefined && 'machine' in document);
}

const key = (value: Json): string => JSON.stringify(sortKeys(value));
function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isTable(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((name) => [name, sortKeys(value[name] as Json)]),
  );
}

/** Lists of a config that hold the same entry twice (path and the entry). */
export function duplicateListEntries(document: Json, path = ''): string[] {
  const out: string[] = [];
  if (Array.isArray(document)) {
    const seen = new Set<string>();
    for (const entry of document) {
      const k = key(entry);
      if (seen.has(k)) out.push(`${path || '.'}: ${k} twice`);
      seen.add(k);
    }
    document.forEach((entry, index) => {
      out.push(...duplicateListEntries(entry, `${path}[${index}]`));
    });
  } else if (isTable(document)) {
    for (const [name, value] of Object.entries(document)) {
      out.push(...duplicateListEntries(value, `${path}.${name}`));
    }
  }
  return out;
}

/**
 * Where a patch's value did not come through in the merged document: every scalar of the patch
 * must be the merged value at its path, and every entry of a patch list must be in the merged
 * list (Talos' strategic merge appends lists). Where `later` (a patch applied after this one,
 * the node's) sets a scalar at the same path, that path is skipped.
 */
export function patchNotApplied(
  patch: Json,
  merged: Json | undefined,
  path = '',
  later?: Json,
): string[] {
  if (later !== undefined && !isTable(later) && !Array.isArray(later)) return [];
  if (isTable(patch)) {
    if (!isTable(merged))
      return [`${path || '.'}: the patch sets a map, merged has ${key(merged ?? null)}`];
    const out: string[] = [];
    for (const [name, value] of Object.entries(patch)) {
      if (isTable(value) && '$patch' in value) continue;
      out.push(
        ...patchNotApplied(
          value,
          merged[name],
          `${path}.${name}`,
          isTable(later) ? later[name] : undefined,
        ),
      );
    }
    return out;
  }
  if (Array.isArray(patch)) {
    if (!Array.isArray(merged))
      return [`${path}: the patch sets a list, merged has ${key(merged ?? null)}`];
    // Each entry must be in the merged list, or (lists Talos merges by name, e.g. the API
    // server's admission plugins) an entry there must hold all of it.
    return patch
      .filter(
        (entry) => !merged.some((candidate) => patchNotApplied(entry, candidate).length === 0),
      )
      .map((entry) => `${path}: the patch's ${key(entry)} is not in the merged list`);
  }
  if (key(patch) !== key(merged ?? null)) {
    return [`${path}: the patch sets ${key(patch)}, merged has ${key(merged ?? null)}`];
  }
  return [];
}

/** `kind/name` of a typed document (name: `name`, or none for singletons). */
export function documentId(document: Table): string {
  return `${String(document.kind)}${typeof document.name === 'string' ? `/${document.name}` : ''}`;
}

/** The patch documents of a file (comments dropped). */
export function patchDocuments(root: string, file: string): Table[] {
  return configDocuments(readFileSync(join(root, file), 'utf8'));
}

/** Path of `file` relative to `root`, for messages. */
export function shown(root: string, file: string): string {
  return relative(root, file);
}

// ---------------------------------------------------------------------------------------------
// What the runbook and the patches promise, against what the nodes would receive

/**
 * Every node patch under talos/nodes/ must be applied at install (`apply-config --insecure`),
 * with the config of the node's role (the runbook's node table), and the node then runs as that
 * role (`machine.type` of what it receives).
 */
export function coverageProblems(run: ClusterRun): string[] {
  const out: string[] = [];
  const installs = run.applied.filter((entry) => entry.insecure);
  for (const file of run.material.nodePatchFiles) {
    const node = basename(file, '.yaml');
    if (!installs.some((entry) => entry.node === node)) {
      out.push(`${file}: no apply-config --insecure of the runbook applies it`);
    }
  }
  for (const entry of run.applied) {
    const where = `RUNBOOK.md:${entry.command.line}`;
    if (entry.node === undefined) {
      out.push(`${where}: apply-config without a node patch (--config-patch @…/nodes/<node>.yaml)`);
      continue;
    }
    const listed = run.material.nodes.find((node) => node.name === entry.node);
    if (!listed) {
      out.push(`${where}: node ${entry.node} is not in the runbook's node table`);
      continue;
    }
    if (entry.roleFile !== listed.role) {
      out.push(`${where}: ${entry.node} is a ${listed.role} but gets ${entry.roleFile}.yaml`);
    }
    if (entry.config === undefined) continue;
    const type = v1alpha1(configDocuments(entry.config))?.machine;
    const machineType = isTable(type as Json) ? (type as Table).type : undefined;
    if (machineType !== listed.role) {
      out.push(
        `${where}: ${entry.node} would run as machine.type ${String(machineType)}, not ${listed.role}`,
      );
    }
  }
  return out;
}

/** Every node installs the runbook's installer image; every `talosctl upgrade` uses it too. */
export function imageProblems(run: ClusterRun): string[] {
  const out: string[] = [];
  const image = run.material.installImage;
  if (image === undefined) return ['RUNBOOK.md names no installer image ("The nodes install `…`")'];
  for (const entry of run.applied) {
    if (entry.config === undefined) continue;
    const machine = v1alpha1(configDocuments(entry.config))?.machine;
    const install = isTable(machine as Json) ? (machine as Table).install : undefined;
    const got = isTable(install as Json) ? (install as Table).image : undefined;
    if (got !== image) {
      out.push(
        `RUNBOOK.md:${entry.command.line}: ${entry.node} installs ${String(got)}, the runbook says ${image}`,
      );
    }
  }
  for (const upgrade of run.material.upgradeImages) {
    if (upgrade !== image) out.push(`talosctl upgrade --image ${upgrade} is not ${image}`);
  }
  return out;
}

/**
 * The merged configs against the patches: every value of the role patch (`gen config
 * --config-patch-…`) and the node patch (`apply-config --config-patch`) is there, no list holds
 * an entry twice (Talos' merge appends lists: an entry a patch repeats from Talos' defaults, or
 * the node patch from the role patch, is there twice), and every typed document of the patches
 * is there exactly once.
 */
export function mergeProblems(root: string, run: ClusterRun): string[] {
  const out: string[] = [];
  for (const entry of run.applied) {
    if (entry.config === undefined || entry.node === undefined) continue;
    const where = `${entry.node} (RUNBOOK.md:${entry.command.line})`;
    const merged = configDocuments(entry.config);
    const role = patchDocuments(
      root,
      `clusters/${run.material.cluster}/talos/${entry.roleFile}.yaml`,
    );
    const node = patchDocuments(
      root,
      `clusters/${run.material.cluster}/talos/nodes/${entry.node}.yaml`,
    );
    const mergedV1 = v1alpha1(merged);
    const nodeV1 = v1alpha1(node);
    const roleV1 = v1alpha1(role);
    if (roleV1) {
      for (const problem of patchNotApplied(roleV1, mergedV1 ?? null, '', nodeV1)) {
        out.push(`${where}: ${entry.roleFile}.yaml ${problem}`);
      }
    }
    if (nodeV1) {
      for (const problem of patchNotApplied(nodeV1, mergedV1 ?? null)) {
        out.push(`${where}: nodes/${entry.node}.yaml ${problem}`);
      }
    }
    for (const document of merged) {
      for (const problem of duplicateListEntries(document)) {
        out.push(
          `${where}: ${document.kind === undefined ? 'v1alpha1' : documentId(document)} ${problem}`,
        );
      }
    }
    const ids = merged.filter((document) => document.kind !== undefined).map(documentId);
    for (const id of new Set(ids)) {
      if (ids.filter((other) => other === id).length > 1)
        out.push(`${where}: document ${id} twice`);
    }
    const typed = (documents: Table[]) =>
      documents.filter((document) => document.kind !== undefined);
    const nodeTyped = typed(node);
    for (const [file, documents] of [
      [`${entry.roleFile}.yaml`, typed(role)],
      [`nodes/${entry.node}.yaml`, nodeTyped],
    ] as const) {
      for (const document of documents) {
        const id = documentId(document);
        const found = merged.find(
          (candidate) => candidate.kind !== undefined && documentId(candidate) === id,
        );
        if (!found) {
          out.push(`${where}: ${file}'s document ${id} is not in the merged config`);
          continue;
        }
        const later = file.startsWith('nodes/')
          ? undefined
          : nodeTyped.find((n) => documentId(n) === id);
        for (const problem of patchNotApplied(document, found, '', later)) {
          out.push(`${where}: ${file} ${id}${problem}`);
        }
      }
    }
  }
  return out;
}

/**
 * What the runbook says of its later commands: regenerating the configs (`--output-types
 * controlplane,worker`) keeps talosconfig; renewing it (`--output-types talosconfig`) writes one
 * of the same cluster (its context and CA); every apply of a node sends it the same config.
 */
export function consistencyProblems(run: ClusterRun): string[] {
  const out: string[] = [];
  const [first, ...later] = run.talosconfigs;
  if (later.some(({ before, after }) => after !== before)) {
    out.push('a later `talosctl gen config` of the runbook rewrote talosconfig');
  }
  // The renewal of an expired talosconfig writes one of the same cluster (context and CA).
  const context = (text: string | undefined) => /^context: (\S+)$/m.exec(text ?? '')?.[1];
  const ca = (text: string | undefined) => /^\s+ca: (\S+)$/m.exec(text ?? '')?.[1];
  for (const renewed of run.renewals) {
    if (
      context(renewed) === undefined ||
      context(renewed) !== context(first?.after) ||
      ca(renewed) !== ca(first?.after)
    ) {
      out.push(
        'the renewal of talosconfig (`--output-types talosconfig`) wrote none of the same cluster',
      );
    }
  }
  const byNode = new Map<string, AppliedConfig[]>();
  for (const entry of run.applied) {
    if (entry.node === undefined || entry.config === undefined) continue;
    byNode.set(entry.node, [...(byNode.get(entry.node) ?? []), entry]);
  }
  for (const [node, entries] of byNode) {
    const [base, ...rest] = entries.map((entry) => key(configDocuments(entry.config as string)));
    rest.forEach((other, index) => {
      if (other !== base) {
        const entry = entries[index + 1] as AppliedConfig;
        out.push(
          `RUNBOOK.md:${entry.command.line}: ${node} gets another config than at RUNBOOK.md:${entries[0]?.command.line}`,
        );
      }
    });
  }
  return out;
}
