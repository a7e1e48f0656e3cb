// Command-line parsing with node:util parseArgs. No I/O: returns what to do.
import { parseArgs } from 'node:util';

export const COMMANDS = ['build', 'validate', 'check', 'diff', 'changeset'] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface CommandOptions {
  /** `--config FILE` as given (resolved against cwd later). */
  readonly config?: string;
  /** `--out DIR` as given. */
  readonly out?: string;
  readonly json: boolean;
  readonly strict: boolean;
  /** `diff --exit-code`: exit 1 when there are differences (like `git diff --exit-code`). */
  readonly exitCode: boolean;
}

export type CommandLine =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly command: CommandName; readonly options: CommandOptions }
  | { readonly kind: 'usage-error'; readonly message: string; readonly command?: CommandName };

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

const CONFIG: OptionSpec = { type: 'string', short: 'c' };
const OUT: OptionSpec = { type: 'string', short: 'o' };
const FLAG: OptionSpec = { type: 'boolean' };

const OPTIONS: Record<CommandName, Record<string, OptionSpec>> = {
  build: { config: CONFIG, out: OUT, json: FLAG, strict: FLAG },
  validate: { config: CONFIG, json: FLAG, strict: FLAG },
  check: { config: CONFIG, out: OUT, json: FLAG, strict: FLAG },
  diff: { config: CONFIG, out: OUT, 'exit-code': FLAG },
  changeset: { config: CONFIG, out: OUT },
};

const SUMMARIES: Record<CommandName, string> = {
  build: 'generate charts/ and clusters/ from the definition (writes only when it is valid)',
  validate: 'check the definition and everything it generates; writes nothing',
  check: 'exit 1 when the output is stale or a chart changed without a new version',
  diff: 'show, as a unified diff, what build would change',
  changeset: 'write a changeset bumping every chart that changed without a new version',
};

const USAGES: Record<CommandName, string> = {
  build: 'homelab build [--config FILE] [--out DIR] [--json] [--strict]',
  validate: 'homelab validate [--config FILE] [--json] [--strict]',
  check: 'homelab check [--config FILE] [--out DIR] [--json] [--strict]',
  diff: 'homelab diff [--config FILE] [--out DIR] [--exit-code]',
  changeset: 'homelab changeset [--config FILE] [--out DIR]',
};

const OPTION_HELP = `Options:
  -c, --config FILE  platform definition (default: <workspace>/apps/homelab/platform.yaml,
                     <workspace> being the nearest folder above the current one that holds
                     pnpm-workspace.yaml, else the current folder)
  -o, --out DIR      output root holding charts/ and clusters/, and the version record
                     charts/.versions.json and .changeset/ (default: <workspace>)
      --json         print a JSON report on stdout: { ok, issues, summary }
      --strict       treat warnings as errors
      --exit-code    (diff) exit 1 when build would change something
  -h, --help         show this help
  -v, --version      print the version`;

const EXIT_CODES = `Exit codes:
  0  success
  1  invalid definition (or unreadable --config), failed check (drift, or a chart changed
     without a new version: add a changeset), drift (diff --exit-code)
  2  usage error or internal fault (set HOMELAB_DEBUG=1 for the stack trace)`;

export function usage(command?: CommandName): string {
  if (command) {
    return `Usage: ${USAGES[command]}\n\n${SUMMARIES[command]}\n\n${OPTION_HELP}\n\n${EXIT_CODES}\n`;
  }
  const commands = COMMANDS.map((name) => `  ${name.padEnd(10)} ${SUMMARIES[name]}`).join('\n');
  return `Usage: homelab <command> [options]\n\nCommands:\n${commands}\n\n${OPTION_HELP}\n\n${EXIT_CODES}\n`;
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

function firstSentence(message: string): string {
  const end = message.indexOf('. ');
  return end === -1 ? message.replace(/\.$/, '') : message.slice(0, end);
}

/** Parses `argv` (without node and the script). */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'usage-error', message: 'no command given' };
  if (first === '-h' || first === '--help') return { kind: 'help' };
  if (first === '-v' || first === '--version') {
    return rest.length === 0
      ? { kind: 'version' }
      : { kind: 'usage-error', message: `unexpected argument '${rest[0]}' after ${first}` };
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { kind: 'help' };
    return isCommand(topic)
      ? { kind: 'help', command: topic }
      : { kind: 'usage-error', message: `unknown command '${topic}'` };
  }
  if (first.startsWith('-')) return { kind: 'usage-error', message: `unknown option '${first}'` };
  if (!isCommand(first)) return { kind: 'usage-error', message: `unknown command '${first}'` };

  const command = first;
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...rest],
      options: { ...OPTIONS[command], help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (cause) {
    const message = cause instanceof Error ? firstSentence(cause.message) : String(cause);
    return { kind: 'usage-error', message, command };
  }
  if (values.help === true) return { kind: 'help', command };
  for (const name of ['config', 'out'] as const) {
    if (values[name] === '') {
      return { kind: 'usage-error', message: `option '--${name}' needs a value`, command };
    }
  }
  const config = typeof values.config === 'string' ? values.config : undefined;
  const out = typeof values.out === 'string' ? values.out : undefined;
  return {
    kind: 'run',
    command,
    options: {
      ...(config === undefined ? {} : { config }),
      ...(out === undefined ? {} : { out }),
      json: values.json === true,
      strict: values.strict === true,
      exitCode: values['exit-code'] === true,
    },
  };
}
