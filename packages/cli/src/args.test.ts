import { describe, expect, it } from 'vitest';
import { asksForJson, parseCommandLine, usage } from './args.js';

const DEFAULTS = {
  json: false,
  strict: false,
  exitCode: false,
  noTag: false,
  report: false,
  allowImmutableChanges: false,
};

describe('parseCommandLine', () => {
  it('parses build with every option', () => {
    expect(
      parseCommandLine(['build', '--config', 'p.yaml', '--out=dist', '--json', '--strict']),
    ).toEqual({
      kind: 'run',
      command: ['build'],
      positionals: [],
      options: { ...DEFAULTS, config: 'p.yaml', out: 'dist', json: true, strict: true },
    });
  });

  it('leaves config and out unset when not given', () => {
    expect(parseCommandLine(['check'])).toEqual({
      kind: 'run',
      command: ['check'],
      positionals: [],
      options: DEFAULTS,
    });
  });

  it('accepts short options and diff --exit-code', () => {
    expect(parseCommandLine(['diff', '-c', 'a.yaml', '-o', 'out', '--exit-code'])).toEqual({
      kind: 'run',
      command: ['diff'],
      positionals: [],
      options: { ...DEFAULTS, config: 'a.yaml', out: 'out', exitCode: true },
    });
  });

  it('refuses --out on validate, which writes nothing', () => {
    expect(parseCommandLine(['validate', '--out', 'x'])).toEqual({
      kind: 'usage-error',
      command: ['validate'],
      message: "Unknown option '--out'",
    });
  });

  it('reports an unknown command with a suggestion, an unknown option and a missing command', () => {
    expect(parseCommandLine(['deploy'])).toEqual({
      kind: 'usage-error',
      message: "unknown command 'deploy'",
    });
    expect(parseCommandLine(['biuld'])).toEqual({
      kind: 'usage-error',
      message: "unknown command 'biuld'; did you mean 'build'?",
    });
    // A missing value reads one way however it is missing
    for (const argv of [
      ['build', '--out'],
      ['build', '-o'],
      ['build', '--out='],
    ]) {
      expect(parseCommandLine(argv), argv.join(' ')).toEqual({
        kind: 'usage-error',
        message: "option '--out' needs a value",
        command: ['build'],
      });
    }
    expect(parseCommandLine(['build', '-o', '--json'])).toEqual({
      kind: 'usage-error',
      message:
        "option '--out' needs a value, and the next word is an option; for a value that starts with '-', write --out=<value>",
      command: ['build'],
    });
    expect(parseCommandLine(['build', '--out', '--json'])).toEqual({
      kind: 'usage-error',
      message:
        "option '--out' needs a value, and the next word is an option; for a value that starts with '-', write --out=<value>",
      command: ['build'],
    });
    // Case is no difference: `BUILD` is `build` typed with caps lock
    expect(parseCommandLine(['BUILD'])).toEqual({
      kind: 'usage-error',
      message: "unknown command 'BUILD'; did you mean 'build'?",
    });
    expect(parseCommandLine(['--frobnicate'])).toEqual({
      kind: 'usage-error',
      message: "unknown option '--frobnicate'",
    });
    // `help` suggests for the first word that names nothing, a subcommand too
    expect(parseCommandLine(['help', 'vendor', 'snyc'])).toEqual({
      kind: 'usage-error',
      message: "unknown command 'vendor snyc'; did you mean 'sync'?",
    });
    expect(parseCommandLine(['help', 'biuld'])).toEqual({
      kind: 'usage-error',
      message: "unknown command 'biuld'; did you mean 'build'?",
    });
    expect(parseCommandLine([])).toEqual({ kind: 'usage-error', message: 'no command given' });
  });

  it('suggests the option a typo meant', () => {
    expect(parseCommandLine(['build', '--strcit'])).toEqual({
      kind: 'usage-error',
      command: ['build'],
      message: "Unknown option '--strcit'; did you mean '--strict'?",
    });
  });

  it('reports a missing option value and a stray positional', () => {
    expect(parseCommandLine(['build', '--config'])).toEqual({
      kind: 'usage-error',
      command: ['build'],
      message: "option '--config' needs a value",
    });
    expect(parseCommandLine(['build', 'extra'])).toMatchObject({
      kind: 'usage-error',
      message: "Unexpected argument 'extra'",
    });
    expect(parseCommandLine(['build', '--config='])).toMatchObject({
      kind: 'usage-error',
      message: "option '--config' needs a value",
    });
  });

  it('parses changeset with --config and --out, and refuses --json on it', () => {
    expect(parseCommandLine(['changeset', '-c', 'p.yaml', '--out', 'repo'])).toEqual({
      kind: 'run',
      command: ['changeset'],
      positionals: [],
      options: { ...DEFAULTS, config: 'p.yaml', out: 'repo' },
    });
    expect(parseCommandLine(['changeset', '--json'])).toEqual({
      kind: 'usage-error',
      command: ['changeset'],
      message: "Unknown option '--json'",
    });
  });

  it('parses release and its record subcommand from the same tree', () => {
    expect(parseCommandLine(['release', '--no-tag', '--out', 'r'])).toEqual({
      kind: 'run',
      command: ['release'],
      positionals: [],
      options: { ...DEFAULTS, out: 'r', noTag: true },
    });
    expect(parseCommandLine(['release', 'record'])).toEqual({
      kind: 'run',
      command: ['release', 'record'],
      positionals: [],
      options: DEFAULTS,
    });
    expect(parseCommandLine(['release', 'recrod'])).toEqual({
      kind: 'usage-error',
      command: ['release'],
      message: "Unexpected argument 'recrod'; did you mean 'record'?",
    });
    // Nothing close: the valid subcommands, named
    expect(parseCommandLine(['vendor', 'bogus'])).toEqual({
      kind: 'usage-error',
      command: ['vendor'],
      message: "Unexpected argument 'bogus' (subcommands of vendor: sync, verify, outdated)",
    });
  });

  it('never acts on --help or on an unknown flag, wherever it stands', () => {
    expect(parseCommandLine(['release', '--help'])).toEqual({ kind: 'help', command: ['release'] });
    expect(parseCommandLine(['release', 'record', '-h'])).toEqual({
      kind: 'help',
      command: ['release', 'record'],
    });
    expect(parseCommandLine(['build', '--out', 'x', '--help'])).toEqual({
      kind: 'help',
      command: ['build'],
    });
    expect(parseCommandLine(['release', '--dry-run'])).toMatchObject({ kind: 'usage-error' });
  });

  it('refuses a value given to a flag, saying to write the flag alone', () => {
    expect(parseCommandLine(['validate', '--json=false'])).toEqual({
      kind: 'usage-error',
      command: ['validate'],
      message: "Option '--json' does not take an argument: write --json alone, or leave it out",
    });
    expect(parseCommandLine(['build', '--strict=1'])).toEqual({
      kind: 'usage-error',
      command: ['build'],
      message: "Option '--strict' does not take an argument: write --strict alone, or leave it out",
    });
  });

  it('recognises help and version in their forms', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['build', '--help'])).toEqual({ kind: 'help', command: ['build'] });
    expect(parseCommandLine(['help', 'diff'])).toEqual({ kind: 'help', command: ['diff'] });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(parseCommandLine(['-v'])).toEqual({ kind: 'version' });
  });
});

describe('asksForJson', () => {
  it('is true for --json in any form before --, and only then', () => {
    const cases: [string[], boolean][] = [
      [['validate', '--json'], true],
      [['validate', '--json=1'], true],
      [['validate', '--json=false'], true],
      [['validate', '--json='], true],
      [['--json', 'deploy'], true],
      [['validate'], false],
      [['validate', '--jsonx'], false],
      [['validate', '--config=--json'], false],
      [['upgrade-check', 'a', 'b', '--', '--json'], false],
    ];
    expect(cases.map(([argv]) => [argv, asksForJson(argv)])).toEqual(cases);
  });
});

describe('usage', () => {
  it('lists every command and the exit codes', () => {
    const text = usage();
    for (const command of ['build', 'validate', 'check', 'diff', 'changeset', 'release'])
      expect(text).toContain(`\n  ${command} `);
    const codes = text.slice(text.indexOf('Exit codes:'));
    expect(codes).toContain('2  usage error or fault of the environment');
    // Refusals exit 1, named where they are: release record's and upgrade-check's too.
    const one = codes.slice(codes.indexOf('  1  '), codes.indexOf('  2  '));
    expect(one).toContain('"nothing recorded: …"');
    expect(one).toContain(
      'a refused upgrade-check (an unknown\n     component, one that wraps no upstream chart',
    );
  });

  it('shows the synopsis, summary and options of one command', () => {
    const text = usage(['changeset']);
    expect(text.split('\n').slice(0, 3)).toEqual([
      'Usage: homelab changeset [options]',
      '',
      'write a changeset bumping every chart that changed without a new version',
    ]);
    expect(text).toContain('-c, --config FILE');
    expect(text).not.toContain('--json');
  });

  it('says everything validate --report prints, as the README does', () => {
    const line = usage(['validate'])
      .split('\n')
      .find((l) => l.includes('--report'));
    expect(line).toContain('sync waves');
    expect(line).toContain('the reachability matrix');
    expect(line).toContain('the Gatekeeper evaluation');
  });

  it("gives each option the meaning it has for the command, not another command's", () => {
    const line = (command: string[], option: string) =>
      usage(command)
        .split('\n')
        .find((l) => l.includes(option))
        ?.replace(/\s+/g, ' ')
        .trim();
    expect(line(['release'], '--out')).toBe(
      '-o, --out DIR where the chart archives and index.yaml go (default: <workspace>/release)',
    );
    expect(line(['release'], '--no-tag')).toBe('--no-tag do not create git tags');
    expect(line(['build'], '--out')).toBe(
      '-o, --out DIR output root holding charts/ and clusters/, the version record charts/.versions.json and .changeset/ (default: <workspace>)',
    );
    expect(line(['diff'], '--exit-code')).toBe(
      '--exit-code exit 1 when build would change something',
    );
    expect(line(['build'], '--allow-immutable-changes')).toMatch(
      /^--allow-immutable-changes do not refuse a change the deployed cluster cannot take/,
    );
  });

  it('lists the subcommands of release', () => {
    const text = usage(['release']);
    expect(text.split('\n')[0]).toBe('Usage: homelab release [subcommand] [options]');
    expect(text).toContain('\n  record ');
    // A release the repository's state refuses is a failed check (1), not a fault (2).
    const codes = text.slice(text.indexOf('Exit codes:'));
    expect(codes.slice(codes.indexOf('  1  '), codes.indexOf('  2  '))).toContain(
      'a refused release',
    );
  });
});
