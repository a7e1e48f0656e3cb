// The command tree of `homelab`: each command declared once with its options and positionals;
// parsing, help and did-you-mean come from the declarations. No I/O: returns what to do.
// `--help` anywhere never acts; an unknown command or option never acts.
import { parseArgs } from 'node:util';

type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly help: string;
  readonly value?: string;
};

interface CommandSpec {
  readonly summary: string;
  readonly options: readonly string[];
  /** Positional arguments, in order (`<name>` required, `[name]` optional). */
  readonly positionals?: readonly string[];
  readonly subcommands?: { readonly [name: string]: CommandSpec };
  /** What an option means for this command, where it differs from its general help. */
  readonly optionHelp?: { readonly [option: string]: string };
}

const OPTIONS: { readonly [name: string]: OptionSpec } = {
  config: {
    type: 'string',
    short: 'c',
    value: 'FILE',
    help: 'platform definition (default: <workspace>/apps/homelab/platform.yaml, <workspace> being the nearest folder above the current one that holds pnpm-workspace.yaml, else the current folder)',
  },
  out: {
    type: 'string',
    short: 'o',
    value: 'DIR',
    help: 'output root holding charts/ and clusters/, the version record charts/.versions.json and .changeset/ (default: <workspace>)',
  },
  json: { type: 'boolean', help: 'print a JSON report on stdout: { ok, issues, summary }' },
  strict: { type: 'boolean', help: 'treat warnings as errors' },
  'allow-immutable-changes': {
    type: 'boolean',
    help: '(build, validate, check, diff) do not refuse a change the deployed cluster cannot take, found by comparing with the last build: a field the API server never updates (immutable-field-changed), a CRD bundle below a version the cluster cannot leave (crd-bundle-downgrade), an upstream chart release its upgrade path does not reach (chart-upgrade-path), another pod or service network (cluster-network-changed), a Kubernetes release down or more than one minor release up (kubernetes-upgrade-path), a Talos release its upgrade path does not reach, a skipped or an earlier minor one (talos-upgrade-path); for objects not deployed yet, changed on the cluster by hand first, or a cluster rebuilt from scratch',
  },
  'exit-code': { type: 'boolean', help: '(diff) exit 1 when build would change something' },
  'no-tag': { type: 'boolean', help: '(release) do not create git tags' },
  report: {
    type: 'boolean',
    help: '(validate) also print what the platform is made of: components per cluster with what they provide and come after (sync waves), the reachability matrix, the Gatekeeper evaluation',
  },
  mirror: {
    type: 'string',
    value: 'DIR',
    help: '(vendor sync) read artifacts from an offline mirror instead of downloading them',
  },
};

const DEFINITION = ['config', 'json', 'strict'] as const;

export const COMMANDS: { readonly [name: string]: CommandSpec } = {
  build: {
    summary: 'generate charts/ and clusters/ from the definition (writes only when it is valid)',
    options: [...DEFINITION, 'out', 'allow-immutable-changes'],
  },
  validate: {
    summary: 'check the definition and everything it generates; writes nothing',
    options: [...DEFINITION, 'report', 'allow-immutable-changes'],
  },
  check: {
    summary: 'exit 1 when the output is stale or a chart changed without a new version',
    options: [...DEFINITION, 'out', 'allow-immutable-changes'],
  },
  diff: {
    summary: 'show, as a unified diff, what build would change',
    options: [...DEFINITION, 'out', 'exit-code', 'allow-immutable-changes'],
  },
  changeset: {
    summary: 'write a changeset bumping every chart that changed without a new version',
    options: ['config', 'out'],
  },
  vendor: {
    summary: 'the pinned upstream artifacts in vendor/: sync, verify, outdated',
    options: [],
    subcommands: {
      sync: {
        summary: 'fetch exactly what the pins ask for into vendor/ and write vendor/lock.json',
        options: ['mirror'],
      },
      verify: {
        summary: 'check every vendored file against vendor/lock.json and the pins',
        options: ['json'],
      },
      outdated: {
        summary:
          'for each chart with a newer pinned release, the upgrade report against our values',
        options: ['config'],
      },
    },
  },
  'upgrade-check': {
    summary: 'what moving <component> to its pinned chart <version> changes for the values we set',
    options: ['config'],
    positionals: ['<component>', '<version>'],
  },
  release: {
    summary:
      'package every chart into <out>/<chart>-<version>.tgz, merge <out>/index.yaml, tag new versions',
    options: ['out', 'no-tag'],
    optionHelp: {
      out: 'where the chart archives and index.yaml go (default: <workspace>/release)',
    },
    subcommands: {
      record: {
        summary: 'record every chart version and content digest in charts/.versions.json',
        options: [],
      },
      version: {
        summary:
          'apply the pending changesets (changeset version), regenerate, record charts/.versions.json: pnpm version-packages',
        options: ['config'],
      },
    },
  },
};

export type CommandName = string;

export interface CommandOptions {
  /** `--config FILE` as given (resolved against cwd later). */
  readonly config?: string;
  /** `--out DIR` as given. */
  readonly out?: string;
  readonly json: boolean;
  readonly strict: boolean;
  /** `diff --exit-code`: exit 1 when there are differences (like `git diff --exit-code`). */
  readonly exitCode: boolean;
  readonly noTag: boolean;
  readonly report: boolean;
  /** `--allow-immutable-changes`: no comparison with the charts and clusters the last build wrote. */
  readonly allowImmutableChanges: boolean;
  readonly mirror?: string;
}

export type CommandLine =
  | { readonly kind: 'help'; readonly command?: readonly string[] }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      /** The command path, e.g. `['release', 'record']`. */
      readonly command: readonly string[];
      readonly options: CommandOptions;
      readonly positionals: readonly string[];
    }
  | {
      readonly kind: 'usage-error';
      readonly message: string;
      readonly command?: readonly string[];
    };

const EXIT_CODES = `Exit codes:
  0  success
  1  invalid definition (or unreadable --config, or a --mirror that is no mirror), failed
     check (drift, a chart changed without a new version: add a changeset, a file in a chart
     folder the build does not write), drift (diff --exit-code), a refused release or release
     record ("nothing released: …", "nothing recorded: …": a chart's content not the one
     recorded for its version, charts/ not committed, a Chart.yaml older than its package.json,
     a vendored archive not the one vendor/lock.json locks), a refused upgrade-check (an unknown
     component, one that wraps no upstream chart, a version it does not pin or already uses)
  2  usage error or fault of the environment (no git, or no git identity, to tag with, an
     invalid SOURCE_DATE_EPOCH, a folder that cannot be written) or internal fault (set
     HOMELAB_DEBUG=1 for the stack trace)`;

/**
 * An option's line in a command's help: the command's own text for it, else its general help
 * without the leading list of the commands that take it (`(diff) …`: this command does).
 */
function optionLine(name: string, command: CommandSpec): string {
  const spec = OPTIONS[name];
  if (spec === undefined) return '';
  const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
  const help = command.optionHelp?.[name] ?? spec.help.replace(/^\([^)]*\) /, '');
  return `  ${flag.padEnd(22)} ${help}`;
}

function specAt(path: readonly string[]): CommandSpec | undefined {
  let commands: { readonly [name: string]: CommandSpec } | undefined = COMMANDS;
  let spec: CommandSpec | undefined;
  for (const name of path) {
    spec = commands?.[name];
    if (spec === undefined) return undefined;
    commands = spec.subcommands;
  }
  return spec;
}

export function usage(command?: readonly string[]): string {
  const spec = command === undefined ? undefined : specAt(command);
  if (command !== undefined && spec !== undefined) {
    const name = command.join(' ');
    const positionals = (spec.positionals ?? []).map((p) => ` ${p}`).join('');
    const subs = Object.entries(spec.subcommands ?? {});
    const lines = [
      `Usage: homelab ${name}${subs.length > 0 ? ' [subcommand]' : ''}${positionals} [options]`,
      '',
      spec.summary,
    ];
    if (subs.length > 0) {
      lines.push('', 'Subcommands:', ...subs.map(([sub, s]) => `  ${sub.padEnd(12)} ${s.summary}`));
    }
    lines.push(
      '',
      'Options:',
      ...spec.options.map((option) => optionLine(option, spec)),
      `  ${'-h, --help'.padEnd(22)} show this help`,
    );
    return `${lines.join('\n')}\n\n${EXIT_CODES}\n`;
  }
  // One column for every command name, the longest (`upgrade-check`) included.
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const commands = Object.entries(COMMANDS)
    .map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`)
    .join('\n');
  return `Usage: homelab <command> [options]\n\nCommands:\n${commands}\n\nRun \`homelab <command> --help\` for its options.\n  -h, --help             show this help\n  -v, --version          print the version\n\n${EXIT_CODES}\n`;
}

/** Levenshtein distance, for did-you-mean. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(
        current + 1,
        (row[j - 1] ?? 0) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

function suggestion(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    // Case counts as no difference (`BUILD`, `--JSON`): commands and options are lowercase.
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3))
    ? `; did you mean '${best}'?`
    : '';
}

/**
 * Whether the command line asks for a JSON report, in any form, before a `--`: `--json`, or
 * `--json=…` (a usage error, the flag takes no value, but the user asked for JSON all the same,
 * `--json=false` included). A usage error then still prints its JSON document.
 */
export function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some(
    (arg) => arg === '--json' || arg.startsWith('--json='),
  );
}

/** `--out` for `-o` (an option's long name, as the help lists it); a long name as it is. */
function longName(option: string): string {
  if (option.startsWith('--')) return option;
  const name = Object.entries(OPTIONS).find(([, spec]) => `-${spec.short}` === option)?.[0];
  return name === undefined ? option : `--${name}`;
}

function firstSentence(message: string): string {
  const end = message.indexOf('. ');
  return end === -1 ? message.replace(/\.$/, '') : message.slice(0, end);
}

/** Parses `argv` (without node and the script). */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  // `--help`/`-h` anywhere: help for the deepest command named before it, never an action.
  const helpAt = argv.findIndex((arg) => arg === '--help' || arg === '-h');
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'usage-error', message: 'no command given' };
  if (first === '-v' || first === '--version') {
    return rest.length === 0
      ? { kind: 'version' }
      : { kind: 'usage-error', message: `unexpected argument '${rest[0]}' after ${first}` };
  }
  if (first === 'help') {
    const topic = rest.filter((arg) => !arg.startsWith('-'));
    if (topic.length === 0) return { kind: 'help' };
    if (specAt(topic) !== undefined) return { kind: 'help', command: topic };
    // The suggestion is for the first word that names nothing: `help vendor snyc` → 'sync'.
    let known = 0;
    while (known < topic.length && specAt(topic.slice(0, known + 1)) !== undefined) known++;
    const candidates =
      known === 0
        ? Object.keys(COMMANDS)
        : Object.keys(specAt(topic.slice(0, known))?.subcommands ?? {});
    return {
      kind: 'usage-error',
      message: `unknown command '${topic.join(' ')}'${suggestion(topic[known] ?? '', candidates)}`,
    };
  }

  const path: string[] = [];
  let spec: CommandSpec | undefined;
  let commands: { readonly [name: string]: CommandSpec } | undefined = COMMANDS;
  let index = 0;
  while (index < argv.length) {
    const word = argv[index] as string;
    if (word.startsWith('-')) break;
    const next: CommandSpec | undefined = commands?.[word];
    if (next === undefined) {
      if (spec === undefined) {
        return {
          kind: 'usage-error',
          message: `unknown command '${word}'${suggestion(word, Object.keys(COMMANDS))}`,
        };
      }
      break;
    }
    path.push(word);
    spec = next;
    commands = next.subcommands;
    index++;
  }
  if (spec === undefined) {
    if (helpAt !== -1) return { kind: 'help' };
    return { kind: 'usage-error', message: `unknown option '${first}'` };
  }
  if (helpAt !== -1) return { kind: 'help', command: path };

  const allowed = Object.fromEntries(
    spec.options.map((name) => {
      const option = OPTIONS[name] as OptionSpec;
      return [
        name,
        option.short ? { type: option.type, short: option.short } : { type: option.type },
      ];
    }),
  );
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: argv.slice(index),
      options: allowed,
      strict: true,
      allowPositionals: true,
    });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (cause) {
    const raw = cause instanceof Error ? cause.message : String(cause);
    // A value missing, said one way for `--out`, `-o` and `--out --json` alike (Node words them
    // "argument missing" and "argument is ambiguous", the latter over three lines).
    const missing =
      /^Option '(?:-[A-Za-z], )?(--[\w-]+|-[A-Za-z])(?: <value>)?' argument (missing|is ambiguous)/.exec(
        raw,
      );
    if (missing !== null) {
      const option = longName(missing[1] as string);
      return {
        kind: 'usage-error',
        message:
          missing[2] === 'missing'
            ? `option '${option}' needs a value`
            : `option '${option}' needs a value, and the next word is an option; for a value that starts with '-', write ${option}=<value>`,
        command: path,
      };
    }
    const message = firstSentence(raw);
    const unknown = /Unknown option '--?([^']+)'/.exec(message)?.[1];
    const flag = /^Option '(--[^']+)' does not take an argument$/.exec(message)?.[1];
    // The hint names the option as it is typed: `--strict`, not `strict`.
    const hint =
      flag !== undefined
        ? `: write ${flag} alone, or leave it out`
        : unknown === undefined
          ? ''
          : suggestion(unknown, spec.options).replace(/'([^']+)'\?$/, "'--$1'?");
    return { kind: 'usage-error', message: `${message}${hint}`, command: path };
  }
  const expected = spec.positionals ?? [];
  const required = expected.filter((p) => p.startsWith('<')).length;
  if (positionals.length > expected.length) {
    const extra = positionals[expected.length] as string;
    const subs = Object.keys(spec.subcommands ?? {});
    const hint =
      subs.length === 0
        ? ''
        : suggestion(extra, subs) || ` (subcommands of ${path.join(' ')}: ${subs.join(', ')})`;
    return {
      kind: 'usage-error',
      message: `Unexpected argument '${extra}'${hint}`,
      command: path,
    };
  }
  if (positionals.length < required) {
    return {
      kind: 'usage-error',
      message: `missing argument ${expected[positionals.length]}`,
      command: path,
    };
  }
  for (const name of ['config', 'out', 'mirror'] as const) {
    if (values[name] === '') {
      return { kind: 'usage-error', message: `option '--${name}' needs a value`, command: path };
    }
  }
  const text = (name: string): string | undefined =>
    typeof values[name] === 'string' ? (values[name] as string) : undefined;
  const config = text('config');
  const out = text('out');
  const mirror = text('mirror');
  return {
    kind: 'run',
    command: path,
    positionals,
    options: {
      ...(config === undefined ? {} : { config }),
      ...(out === undefined ? {} : { out }),
      ...(mirror === undefined ? {} : { mirror }),
      json: values.json === true,
      strict: values.strict === true,
      exitCode: values['exit-code'] === true,
      noTag: values['no-tag'] === true,
      report: values.report === true,
      allowImmutableChanges: values['allow-immutable-changes'] === true,
    },
  };
}
