import { describe, expect, it } from 'vitest';
import { parseCommandLine, usage } from './args.js';

describe('parseCommandLine', () => {
  it('parses build with every option', () => {
    expect(
      parseCommandLine(['build', '--config', 'p.yaml', '--out=dist', '--json', '--strict']),
    ).toEqual({
      kind: 'run',
      command: 'build',
      options: { config: 'p.yaml', out: 'dist', json: true, strict: true, exitCode: false },
    });
  });

  it('leaves config and out unset when not given', () => {
    expect(parseCommandLine(['check'])).toEqual({
      kind: 'run',
      command: 'check',
      options: { json: false, strict: false, exitCode: false },
    });
  });

  it('accepts short options and diff --exit-code', () => {
    expect(parseCommandLine(['diff', '-c', 'a.yaml', '-o', 'out', '--exit-code'])).toEqual({
      kind: 'run',
      command: 'diff',
      options: { config: 'a.yaml', out: 'out', json: false, strict: false, exitCode: true },
    });
  });

  it('refuses --out on validate, which writes nothing', () => {
    expect(parseCommandLine(['validate', '--out', 'x'])).toEqual({
      kind: 'usage-error',
      command: 'validate',
      message: "Unknown option '--out'",
    });
  });

  it('reports an unknown command, an unknown option and a missing command', () => {
    expect(parseCommandLine(['deploy'])).toEqual({
      kind: 'usage-error',
      message: "unknown command 'deploy'",
    });
    expect(parseCommandLine(['--frobnicate'])).toEqual({
      kind: 'usage-error',
      message: "unknown option '--frobnicate'",
    });
    expect(parseCommandLine([])).toEqual({ kind: 'usage-error', message: 'no command given' });
  });

  it('reports a missing option value and a stray positional', () => {
    expect(parseCommandLine(['build', '--config'])).toEqual({
      kind: 'usage-error',
      command: 'build',
      message: "Option '-c, --config <value>' argument missing",
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
      command: 'changeset',
      options: { config: 'p.yaml', out: 'repo', json: false, strict: false, exitCode: false },
    });
    expect(parseCommandLine(['changeset', '--json'])).toEqual({
      kind: 'usage-error',
      command: 'changeset',
      message: "Unknown option '--json'",
    });
  });

  it('recognises help and version in their forms', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['build', '--help'])).toEqual({ kind: 'help', command: 'build' });
    expect(parseCommandLine(['help', 'diff'])).toEqual({ kind: 'help', command: 'diff' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(parseCommandLine(['-v'])).toEqual({ kind: 'version' });
  });
});

describe('usage', () => {
  it('lists every command and the exit codes', () => {
    const text = usage();
    for (const command of ['build', 'validate', 'check', 'diff', 'changeset'])
      expect(text).toContain(`\n  ${command} `);
    expect(text).toContain('2  usage error or internal fault');
  });

  it('shows the synopsis of one command', () => {
    expect(usage('validate').split('\n')[0]).toBe(
      'Usage: homelab validate [--config FILE] [--json] [--strict]',
    );
    expect(usage('changeset').split('\n').slice(0, 3)).toEqual([
      'Usage: homelab changeset [--config FILE] [--out DIR]',
      '',
      'write a changeset bumping every chart that changed without a new version',
    ]);
  });
});
