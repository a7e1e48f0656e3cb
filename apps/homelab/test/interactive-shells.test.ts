// Layer 5 (DESIGN.md, "Validation layers"): the runbooks as an operator pastes them. Every ```sh
// block of every clusters/<cluster>/*.md (of the committed output, and of the examples' builds
// where the committed output lacks the block: SHELL_EXAMPLES of runbook-blocks.ts) is pasted into an interactive bash (this machine's) and an
// interactive zsh 5.9 (macOS' login shell, where many operators paste; Debian bookworm's
// zsh-static, .ci/install-zsh), each in its no-exec mode (`bash -i -n`, `zsh -f -i -n`): the shell
// reads the block line by line as from a terminal, with history expansion (`!` in double quotes
// is "event not found" in both) and its own parser (zsh refuses `${x,,}`, reads `${!x}` as a
// history event and `==` as `=<command>`), and runs nothing. Anything either shell says is a finding. ShellCheck's suite
// checks the blocks as bash scripts; this one catches what only an interactive shell, or only
// zsh, does with them. Four zsh facts no parser reports are checked on the text:
// - zsh's prompt does not read comments (INTERACTIVE_COMMENTS is off by default): it runs `#` as
//   a command with the rest of the line as its arguments; no block holds a `#` comment as zsh's
//   own lexer splits it (`${(z)…}`; the build's `shell-comments` check refuses one first);
// - zsh does not split an unquoted parameter expansion (`for member in $others` runs once, with
//   every address in one word): a `for` list holds no unquoted `$name`/`${…}` (ShellCheck does
//   not flag a `for` list; an unquoted `$(…)` is split by zsh too and is fine);
// - a variable a block sets is no special parameter of bash or zsh (zsh's `path` is $PATH as an
//   array, `status` is read-only, bash's `UID` is read-only, `SECONDS` counts): the names come
//   from the shells themselves, not from a list kept here.
// - no word is one zsh expands where bash passes it on: an unquoted `*`, `?` or `[` (NOMATCH:
//   "no matches found" when the word runs, which no-exec mode does not do), `=cmd`, `~name`
//   (core's zshExpandedWords, the build's `zsh-expansions` check).
// Broken on purpose: a `!` in double quotes, an unterminated quote, `${x,,}` (zsh only), a
// comment after a pipeline and a comment line, an unquoted `$others` in a `for` list and `path=…`
// fail.
//
// Needs zsh 5.9 (`.ci/run` installs it with .ci/install-zsh and passes its folder in ZSH_DIR;
// else it is looked for on PATH and in the tools cache). Without it the suite says "interactive
// shells suite: not run: zsh not found" and is skipped; with CI=true a missing zsh fails.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zshExpandedWords } from '@homelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from './find-tool.js';
import { IN_CI } from './helm/harness.js';
import {
  documentBlocks,
  exampleRunbookBlocks,
  type RunbookBlock,
  runbookBlocks,
  SHELL_EXAMPLES,
} from './runbook-blocks.js';

const ZSH_VERSION = '5.9';
const INSTALL = 'install it: .ci/install-zsh, and put its folder in ZSH_DIR or on PATH';

const zsh = findTool('zsh', 'ZSH_DIR', `zsh-${ZSH_VERSION}`, /^zsh (\S+) /);
const bashVersion = /version (\S+)/.exec(
  spawnSync('bash', ['--version'], { encoding: 'utf8' }).stdout ?? '',
)?.[1];

/** The shells a block is pasted into. */
type Shell = 'bash' | 'zsh';

/** The command line that pastes into the interactive `shell`, in its no-exec mode. */
function shellCommand(shell: Shell): [string, string[]] {
  if (shell === 'bash') return ['bash', ['--norc', '--noprofile', '-i', '-n']];
  if (zsh === undefined) throw new Error(`zsh not found: ${INSTALL}`);
  return [zsh.path, ['-f', '-i', '-n']];
}

/** No rc file, no history file written (HISTFILE empty), empty prompts. */
const pasteEnv = (home: string) => ({
  PATH: process.env.PATH ?? '',
  HOME: home,
  HISTFILE: '',
  PS1: '',
  PS2: '',
  TERM: 'dumb',
});

/**
 * The messages in what `shell` printed on stderr (its prompts and messages; zsh puts carriage
 * returns between them): bash's lines that start `bash: ` but for its job-control notices (no
 * terminal), zsh's `zsh: …` wherever on a line.
 */
function messages(shell: Shell, stderr: string): string[] {
  const lines = stderr.split(/\r?\n|\r/);
  if (shell === 'bash') {
    return lines
      .filter((line) => line.startsWith('bash: '))
      .filter((line) => !/^bash: (cannot set terminal process group|no job control)/.test(line));
  }
  return lines.flatMap((line) => /zsh: .*$/.exec(line)?.[0] ?? []);
}

/** What pasting `text` into the interactive `shell` (no-exec) made it say. */
export function paste(shell: Shell, text: string, home: string): string[] {
  const [command, args] = shellCommand(shell);
  const result = spawnSync(command, args, {
    input: text,
    encoding: 'utf8',
    env: pasteEnv(home),
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return messages(shell, result.stderr);
}

/** `paste`, without waiting: the suite pastes its blocks a few at a time. */
function pasteAsync(shell: Shell, text: string, home: string): Promise<string[]> {
  const [command, args] = shellCommand(shell);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: pasteEnv(home), timeout: 30_000 });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', () => resolve(messages(shell, stderr)));
    child.stdin.end(text);
  });
}

/**
 * The `for` lists of `text` that hold an unquoted parameter expansion, which zsh does not split:
 * `for NAME in WORDS` up to `;`, ` do` or the end of the line, a word of which starts with `$`
 * then a name or `{` (an unquoted `$(…)` is split by zsh too).
 */
export function unsplitForLists(text: string): string[] {
  return [...text.matchAll(/\bfor +[A-Za-z_]\w* +in +([^;\n]*?)(?=;| do\b|\n|$)/g)]
    .filter((match) => (match[1] as string).split(/\s+/).some((word) => /^\$[A-Za-z_{]/.test(word)))
    .map((match) => match[0]);
}

/**
 * The names of the variables `text` sets: assignments (`name=`, also after `export`/`local`),
 * `read [-flags] name…`, `for name in`. Quoted strings are dropped first (a JSON patch, an awk
 * program, a message), so `=` in them is not an assignment.
 */
export function assignedNames(text: string): string[] {
  const bare = text.replace(/'[^']*'/g, "''").replace(/"(?:[^"\\$]|\\.|\$(?!\())*"/g, '""');
  const names = new Set<string>();
  // At a command's start: after a line's start, `;`, `&`, `|`, `(`, `{`, a backquote, or a
  // keyword (`then`, `do`, `else`, `export`, `local`); not `-o jsonpath=…`, a command's argument.
  const assignment =
    /(?:^|[;&|(`{]|\b(?:then|do|else|export|local|readonly))[ \t]*([A-Za-z_]\w*)\+?=/gm;
  for (const match of bare.matchAll(assignment)) names.add(match[1] as string);
  for (const match of bare.matchAll(/\bread((?: +-[A-Za-z]+)*)((?: +[A-Za-z_]\w*)+)/g)) {
    for (const name of (match[2] as string).trim().split(/ +/)) names.add(name);
  }
  for (const match of bare.matchAll(/\bfor +([A-Za-z_]\w*) +in\b/g)) names.add(match[1] as string);
  return [...names].sort();
}

/**
 * The comments of `text` as zsh's own lexer splits it (`${(z)…}`: a word starting with `#`):
 * zsh's prompt does not read comments (INTERACTIVE_COMMENTS is off by default) and runs `#` as
 * a command, the rest of the line its arguments.
 */
function zshComments(text: string): string[] {
  if (zsh === undefined) throw new Error(`zsh not found: ${INSTALL}`);
  const script =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion
    'text=$(cat); for word in ${(z)text}; do [[ $word == "#"* ]] && print -r -- $word; done; true';
  const result = spawnSync(zsh.path, ['-f', '-c', script], {
    input: text,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.status !== 0) throw new Error(`zsh exited ${result.status}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

/** The special parameters of an interactive bash and an interactive zsh, as each lists them. */
function specialParameters(): ReadonlyMap<string, Shell[]> {
  const specials = new Map<string, Shell[]>();
  const add = (shell: Shell, names: string) => {
    for (const name of names.split('\n').filter((line) => line !== '')) {
      specials.set(name, [...(specials.get(name) ?? []), shell]);
    }
  };
  const env = { PATH: process.env.PATH ?? '', HISTFILE: '', TERM: 'dumb' };
  // bash: every variable an interactive bash without rc files has, its own and the ones it reads
  // (compgen -v: PATH, HOME, UID, SECONDS, RANDOM, PS1, HISTFILE, …).
  const bash = spawnSync('bash', ['--norc', '--noprofile', '-i', '-c', 'compgen -v'], {
    encoding: 'utf8',
    env,
  });
  add('bash', bash.stdout);
  // zsh: every parameter whose type says `special` (path, status, options, HOST, SECONDS, …).
  const script =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion
    'for name type in ${(kv)parameters}; do [[ $type == *special* ]] && print -r -- $name; done';
  const z = spawnSync((zsh as { path: string }).path, ['-f', '-i', '-c', script], {
    encoding: 'utf8',
    env,
  });
  add('zsh', z.stdout);
  return specials;
}

// Where zsh is not found the suite is skipped and says so (a skipped test is not a passed one),
// except in CI, where it runs and its tests fail on the missing zsh.
const runs = zsh !== undefined || IN_CI;
if (!runs) console.log(`interactive shells suite: not run: zsh not found (${INSTALL})`);
const suite = runs ? describe : describe.skip;

/**
 * The committed runbooks' blocks, then those of the examples' builds whose text they lack (built
 * only where the suite runs), then the project's own documents' (the README's first).
 */
const scratch = mkdtempSync(join(tmpdir(), 'interactive-shells-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const committed = runbookBlocks();
const examples = zsh === undefined ? [] : exampleRunbookBlocks(scratch, committed);
const runbooks = [...committed, ...examples];
const blocks = [...runbooks, ...documentBlocks()];

suite(`interactive shells suite (zsh ${zsh?.version ?? 'not found'}, bash ${bashVersion ?? 'not found'})`, () => {
  let home = '';
  /** Each block's messages, per shell, pasted once. */
  const said = new Map<RunbookBlock, { bash: string[]; zsh: string[] }>();
  beforeAll(async () => {
    if (zsh === undefined) return; // in CI: every test fails on its own
    home = mkdtempSync(join(tmpdir(), 'interactive-shells-'));
    const started = Date.now();
    // About 400 blocks, two shells each: two blocks at a time.
    const queue = [...blocks];
    const worker = async () => {
      for (let block = queue.shift(); block !== undefined; block = queue.shift()) {
        const [bash, z] = await Promise.all([
          pasteAsync('bash', block.text, home),
          pasteAsync('zsh', block.text, home),
        ]);
        said.set(block, { bash, zsh: z });
      }
    };
    await Promise.all([worker(), worker()]);
    console.log(
      `interactive shells suite: ${committed.length} runbook blocks, ${examples.length} more of the examples' builds and ${blocks.length - runbooks.length} blocks of the project's documents pasted into bash and zsh in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 300_000);
  afterAll(() => {
    if (home !== '') rmSync(home, { recursive: true, force: true });
  });
  const needZsh = () => {
    if (zsh === undefined) throw new Error(`zsh not found: ${INSTALL}`);
    return zsh;
  };

  it(`is zsh ${ZSH_VERSION} and a bash`, () => {
    expect(needZsh().version).toBe(ZSH_VERSION);
    expect(bashVersion).toMatch(/^\d+\.\d+/);
  });

  it("finds the blocks of every runbook and of the project's documents, the quick start first", () => {
    expect(runbooks.length).toBeGreaterThan(0);
    expect(runbooks.some((block) => block.file.endsWith('/RUNBOOK.md'))).toBe(true);
    // The examples' builds: each read, their blocks the committed output lacks among them (the
    // compact example's storage CA, the single-node homelab's hand-made Grafana Secret).
    needZsh();
    for (const example of SHELL_EXAMPLES) {
      expect(existsSync(join(scratch, example, 'clusters'))).toBe(true);
    }
    expect(examples.every((block) => block.file.startsWith('examples/'))).toBe(true);
    const texts = runbooks.map((block) => block.text);
    expect(texts.some((text) => text.includes('--ca-bundle ./backup-s3-ca.pem'))).toBe(true);
    expect(
      texts.some((text) =>
        text.includes('kubectl -n monitoring create secret generic grafana-admin'),
      ),
    ).toBe(true);
    const documents = blocks.slice(runbooks.length);
    expect(documents[0]?.file).toBe('README.md');
    expect(documents[0]?.text).toContain('pnpm install');
  });

  const files = [...new Set(blocks.map((block) => block.file))];
  it.each(files)('every block of %s pastes into bash and zsh without a message', (file) => {
    needZsh();
    const messages = blocks
      .filter((block) => block.file === file)
      .flatMap((block) => {
        const { bash, zsh } = said.get(block) ?? { bash: [], zsh: [] };
        return [...bash, ...zsh].map((message) => `${file}:${block.line}: ${message}`);
      });
    expect(messages.join('\n')).toBe('');
  });

  it('loops over no unquoted parameter expansion (zsh does not split it)', () => {
    const found = blocks.flatMap((block) =>
      unsplitForLists(block.text).map((loop) => `${block.file}:${block.line}: ${loop}`),
    );
    expect(found.join('\n')).toBe('');
  });

  it('holds no # comment, as zsh reads the blocks (its prompt runs # as a command)', () => {
    needZsh();
    const found = blocks
      .filter((block) => block.text.includes('#'))
      .filter((block) => zshComments(block.text).length > 0)
      .map((block) => `${block.file}:${block.line}`);
    expect(found).toEqual([]);
    // Broken on purpose: a comment after a command and a comment line; `#` in quotes and words
    expect(zshComments('curl -sI http://x/ | head -n 1   # 301 to https\n# a note\n')).toEqual([
      '#',
      '#',
    ]);
    expect(zshComments('sed \'s#a#b#\' f && echo "# x" a#b\n')).toEqual([]);
    expect(paste('zsh', 'X=1 # set it\n', home)).toEqual([]); // parses: the harm is at run time
  });

  it('holds no word zsh expands where bash passes it on (a pattern, =cmd, ~name)', () => {
    needZsh();
    // zsh's no-exec mode does not expand words: NOMATCH's "no matches found" is only seen when
    // the word runs. The build's `zsh-expansions` check reads every word (core's
    // zshExpandedWords, checked against zsh in packages/core); here the project's documents too.
    const found = blocks.flatMap((block) =>
      zshExpandedWords(
        block.text.split('\n').map((text, index) => ({ line: block.line + index, text })),
      ).map((word) => `${block.file}:${word.line}: ${word.word}`),
    );
    expect(found.join('\n')).toBe('');
    // Broken on purpose: the word the reading finds is the one zsh stops at when it runs
    const jsonpath = 'kubectl get pods -o jsonpath={.items[*].metadata.name}';
    expect(zshExpandedWords([{ line: 1, text: jsonpath }]).map((word) => word.word)).toEqual([
      'jsonpath={.items[*].metadata.name}',
    ]);
    const run = spawnSync(needZsh().path, ['-f', '-c', `kubectl() { :; }; ${jsonpath}`], {
      cwd: home,
      encoding: 'utf8',
      env: pasteEnv(home),
    });
    expect(run.stderr.trim()).toBe('zsh:1: no matches found: jsonpath={.items[*].metadata.name}');
  });

  it('sets no special parameter of bash or zsh', () => {
    needZsh();
    const specials = specialParameters();
    // The lists are the shells' own: they hold what this check is about.
    expect(specials.get('path')).toEqual(['zsh']);
    expect(specials.get('status')).toEqual(['zsh']);
    expect(specials.get('UID')).toContain('bash');
    expect(specials.get('PATH')).toEqual(['bash', 'zsh']);
    // The runbook's own exports: what it sets on purpose for the tools it runs.
    const intended = new Set(['KUBECONFIG', 'TALOSCONFIG']);
    const found = blocks.flatMap((block) =>
      assignedNames(block.text)
        .filter((name) => specials.has(name) && !intended.has(name))
        .map(
          (name) =>
            `${block.file}:${block.line}: sets ${name}, special in ${specials.get(name)?.join(' and ')}`,
        ),
    );
    expect(found.join('\n')).toBe('');
  });

  it('reports what either shell says of a broken block (broken on purpose)', () => {
    needZsh();
    // A `!` in double quotes: history expansion in both.
    const bang = 'echo "restored!done"\n';
    expect(paste('bash', bang, home)).toEqual(['bash: !done: event not found']);
    expect(paste('zsh', bang, home)).toEqual(['zsh: event not found: done']);
    // An unterminated quote: both.
    const open = "echo 'never closed\n";
    expect(paste('bash', open, home).join('\n')).toMatch(/unexpected EOF/);
    expect(paste('zsh', open, home).join('\n')).toMatch(/unmatched '|parse error/);
    // bash's case conversion: zsh only.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    const lower = 'NAME=X; echo "${NAME,,}"\n';
    expect(paste('bash', lower, home)).toEqual([]);
    expect(paste('zsh', lower, home)).toEqual(['zsh: bad substitution']);
    // `==` in a test: a word zsh's EQUALS expansion reads as `=<command>`: zsh only.
    const equals = '[ "$NAME" == x ] && echo same\n';
    expect(paste('bash', equals, home)).toEqual([]);
    expect(paste('zsh', equals, home)).toEqual(['zsh: = not found']);
    // What the committed blocks do pass through both.
    const fine = `: "\${NODE:?set it}" && printf '%s\\n' "$NODE" | awk '!seen[$0]++'\n`;
    expect(paste('bash', fine, home)).toEqual([]);
    expect(paste('zsh', fine, home)).toEqual([]);
  });

  it('finds an unsplit for list and a special parameter set (broken on purpose)', () => {
    needZsh();
    expect(unsplitForLists('for member in $others; do echo "$member"; done\n')).toEqual([
      'for member in $others',
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions
    expect(unsplitForLists('for m in a ${rest}\ndo :; done\n')).toEqual(['for m in a ${rest}']);
    expect(unsplitForLists('for member in $(printf \'%s\\n\' "$others"); do :; done\n')).toEqual(
      [],
    );
    expect(unsplitForLists('for member in "$others"; do :; done\n')).toEqual([]);
    expect(
      assignedNames(
        'path=$(kubectl get x -o jsonpath=\'{.spec.path}\') && read -rs status TOKEN && for i in 1; do :; done\nkubectl patch x -p \'{"a":"b=c"}\' --type=merge && echo "x=y"\n',
      ),
    ).toEqual(['TOKEN', 'i', 'path', 'status']);
    const specials = specialParameters();
    expect(['path', 'status', 'TOKEN'].filter((name) => specials.has(name))).toEqual([
      'path',
      'status',
    ]);
  });
});
