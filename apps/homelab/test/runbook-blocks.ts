// The shell an operator pastes: the ```sh blocks of the committed runbooks (clusters/<cluster>/
// *.md of every cluster with a RUNBOOK.md: the runbook, rotating-secrets.md,
// disaster-recovery.md), read by the ShellCheck suite and the interactive shells suite; those of
// the examples' builds (what other definitions generate: the committed output is the user's and
// may lack whole sections); and those of the project's own documents (the README's quick start
// first), read by the latter.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helm/harness.js';

/**
 * The ```sh blocks of a Markdown document, each with the file line of its first line. A block in
 * a list item is indented: its lines lose the fence's indentation (CommonMark), as a paste does.
 */
export function shBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  let open: { indent: number; line: number; body: string[] } | undefined;
  markdown.split('\n').forEach((text, index) => {
    if (open === undefined) {
      const fence = /^( *)```sh$/.exec(text);
      if (fence !== null) open = { indent: (fence[1] as string).length, line: index + 2, body: [] };
    } else if (/^ *```$/.test(text)) {
      blocks.push({ line: open.line, text: `${open.body.join('\n')}\n` });
      open = undefined;
    } else {
      const spaces = text.length - text.trimStart().length;
      open.body.push(text.slice(Math.min(open.indent, spaces)));
    }
  });
  if (open !== undefined)
    throw new Error(`a \`\`\`sh block opened at line ${open.line - 1} never ends`);
  return blocks;
}

/** One ```sh block of a committed runbook document: its file, its first line, its text. */
export interface RunbookBlock {
  /** `clusters/<cluster>/<doc>.md`, from the repository's root. */
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/**
 * Every ```sh block of every runbook document of the clusters/ under `root` (the committed
 * output by default); each `file` is `<label>clusters/<cluster>/<doc>.md`.
 */
export function runbookBlocks(root = REPO, label = ''): RunbookBlock[] {
  const blocks: RunbookBlock[] = [];
  const clusters = join(root, 'clusters');
  for (const cluster of readdirSync(clusters).sort()) {
    if (!existsSync(join(clusters, cluster, 'RUNBOOK.md'))) continue;
    for (const doc of readdirSync(join(clusters, cluster)).sort()) {
      if (!doc.endsWith('.md')) continue;
      const file = `clusters/${cluster}/${doc}`;
      for (const block of shBlocks(readFileSync(join(root, file), 'utf8'))) {
        blocks.push({ ...block, file: `${label}${file}` });
      }
    }
  }
  return blocks;
}

/**
 * The examples whose builds the shell suites read besides the committed output: the reference
 * (the committed output is the user's, and may be anything valid), the compact cluster (its S3
 * storage and Longhorn backup target with a lab CA: the blocks that write and pass that CA) and
 * the single-node homelab (no secrets provider: Grafana's admin Secret made by hand, one node).
 * Not the fleet: its 100 clusters' blocks differ from the reference's by names and addresses.
 */
export const SHELL_EXAMPLES = ['reference', 'compact', 'single-node'] as const;

/** `examples/<example>`'s build, by the CLI (dist/bin.js), into `<scratch>/<example>`. */
export function buildExample(example: string, scratch: string): string {
  const out = join(scratch, example);
  const result = spawnSync(
    process.execPath,
    [
      join(REPO, 'packages/cli/dist/bin.js'),
      'build',
      '--config',
      join(REPO, 'examples', example, 'platform.yaml'),
      '--out',
      out,
    ],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  if (result.status !== 0) {
    throw new Error(`examples/${example} did not build:\n${result.stderr}${result.stdout}`);
  }
  return out;
}

/** The label of an example's build in a block's `file`: `examples/<example> (built): `. */
export const exampleLabel = (example: string) => `examples/${example} (built): `;

/**
 * The ```sh blocks of the runbooks of SHELL_EXAMPLES' builds (made under `scratch`) whose text no
 * block of `seen` (the committed output's) nor an earlier example's has: a block's checks depend
 * on its text alone, so each text is checked once.
 */
export function exampleRunbookBlocks(
  scratch: string,
  seen: readonly RunbookBlock[],
): RunbookBlock[] {
  const texts = new Set(seen.map((block) => block.text));
  const blocks: RunbookBlock[] = [];
  for (const example of SHELL_EXAMPLES) {
    const root = buildExample(example, scratch);
    for (const block of runbookBlocks(root, exampleLabel(example))) {
      if (texts.has(block.text)) continue;
      texts.add(block.text);
      blocks.push(block);
    }
  }
  return blocks;
}

/**
 * Every ```sh block of the project's own Markdown documents under `root`: README.md, docs/*.md,
 * and the README.md of every app, package, tool and of examples/ (what a developer pastes).
 */
export function documentBlocks(root = REPO): RunbookBlock[] {
  const files = ['README.md', 'examples/README.md'];
  if (existsSync(join(root, 'docs'))) {
    for (const name of readdirSync(join(root, 'docs')).sort()) {
      if (name.endsWith('.md')) files.push(`docs/${name}`);
    }
  }
  for (const parent of ['apps', 'packages', 'tools']) {
    if (!existsSync(join(root, parent))) continue;
    for (const name of readdirSync(join(root, parent)).sort()) {
      files.push(`${parent}/${name}/README.md`);
    }
  }
  return files
    .filter((file) => existsSync(join(root, file)))
    .flatMap((file) =>
      shBlocks(readFileSync(join(root, file), 'utf8')).map((block) => ({ file, ...block })),
    );
}
