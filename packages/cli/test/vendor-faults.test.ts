// `homelab vendor sync|verify` and `upgrade-check` given what is not what it should be: a
// --mirror that is no mirror is refused up front (exit 1, like an unreadable --config: the
// user's argument), before anything is reused or written; a FIFO, a folder or a symlink in place
// of a vendored file is never waited on or followed. Run on a scratch workspace holding a copy
// of the repository's vendor/ (and a mirror made from it), never on the repository's own.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../src/registry.js';
import { upgradeCheck } from '../src/vendor.js';
import { spawnCli } from './spawn-cli.js';

const root = repoRoot();
const SCHEMA = 'upstream/talos/v1.12.11/config.schema.json';
const WHAT =
  'A mirror is a folder laid out as vendor/ is, with a SOURCES.md saying where its files come from (at its top or in a folder directly under it, as charts/SOURCES.md)';

let scratch = '';

/** `homelab <args>` in the scratch workspace; a hang ends at the timeout (status null). */
const homelab = (...args: string[]) => spawnCli(scratch, args);

beforeEach(() => {
  // A workspace root (pnpm-workspace.yaml) with the repository's vendor/, and a mirror of it:
  // the same layout, no lock, marked by charts/SOURCES.md.
  scratch = mkdtempSync(join(tmpdir(), 'homelab-vendor-faults-'));
  writeFileSync(join(scratch, 'pnpm-workspace.yaml'), 'packages: []\n');
  cpSync(join(root, 'vendor'), join(scratch, 'vendor'), { recursive: true });
  cpSync(join(root, 'vendor'), join(scratch, 'mirror'), { recursive: true });
  rmSync(join(scratch, 'mirror', 'lock.json'));
  writeFileSync(join(scratch, 'mirror', 'charts', 'SOURCES.md'), 'copied from vendor/\n');
});

afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('homelab vendor sync --mirror', () => {
  it('syncs from a mirror: everything reused when vendor/ is current', () => {
    const { status, stdout } = homelab('vendor', 'sync', '--mirror', 'mirror');
    expect(status).toBe(0);
    expect(stdout).toMatch(/vendored \d+ artifacts: 0 fetched, \d+ unchanged, 0 removed/);
  });

  it('names each file it removes because no pin needs it', () => {
    // Given a file in vendor/ that no pin names
    writeFileSync(join(scratch, 'vendor', 'charts', 'stray.tgz'), 'not pinned');
    const { status, stdout } = homelab('vendor', 'sync', '--mirror', 'mirror');
    expect(status).toBe(0);
    // Then it is listed by path before the summary that counts it
    const lines = stdout.trimEnd().split('\n');
    expect(lines.slice(-2)[0]).toBe('removed  charts/stray.tgz');
    expect(lines.at(-1)).toMatch(/^vendored \d+ artifacts: 0 fetched, \d+ unchanged, 1 removed$/);
    expect(homelab('vendor', 'verify').status).toBe(0);
  }, 40_000);

  it.each([
    ['a path that does not exist', 'nonexistent', 'it does not exist'],
    ['a file', 'vendor/lock.json', 'it is a file, not a folder'],
    ['a folder with no SOURCES.md (vendor/ itself)', 'vendor', 'it has no SOURCES.md'],
  ])(
    'refuses %s up front with exit 1, reusing and writing nothing',
    (_, mirror, reason) => {
      // Given a current vendor/ (everything would be reused)
      const lock = readFileSync(join(scratch, 'vendor', 'lock.json'), 'utf8');
      // When the mirror named is not one
      const { status, stdout, stderr } = homelab('vendor', 'sync', '--mirror', mirror);
      // Then it is refused by name, with what a mirror is and how to go on; nothing listed
      expect(status).toBe(1);
      expect(stderr).toBe(
        `homelab: --mirror ${join(scratch, mirror)} is not an offline mirror: ${reason}. ${WHAT}; pass its path, or leave --mirror out to download from upstream\n`,
      );
      expect(stdout).toBe('');
      expect(readFileSync(join(scratch, 'vendor', 'lock.json'), 'utf8')).toBe(lock);
    },
    40_000,
  );

  it('refuses a FIFO in place of a mirror file at once, naming it (exit 2)', () => {
    // Given the schema missing from vendor/ (so it is taken from the mirror), a FIFO in the mirror
    rmSync(join(scratch, 'vendor', SCHEMA));
    const file = join(scratch, 'mirror', SCHEMA);
    rmSync(file);
    execFileSync('mkfifo', [file]);
    const { status, stderr } = homelab('vendor', 'sync', '--mirror', 'mirror');
    expect(status).toBe(2);
    expect(stderr).toContain(`cannot read ${file}: it is a named pipe (FIFO), not a regular file`);
  }, 40_000);

  it('repairs a FIFO in place of a vendored file from the mirror', () => {
    const file = join(scratch, 'vendor', SCHEMA);
    rmSync(file);
    execFileSync('mkfifo', [file]);
    const { status, stdout } = homelab('vendor', 'sync', '--mirror', 'mirror');
    expect(status).toBe(0);
    expect(stdout).toContain(`mirror   ${SCHEMA}\n`);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(root, 'vendor', SCHEMA), 'utf8'));
    expect(homelab('vendor', 'verify').status).toBe(0);
  }, 40_000);

  it.each([
    ['vendor', 'verify'],
    ['vendor', 'outdated'],
    ['upgrade-check', 'cilium', '1.20.0'],
  ])(
    'is a usage error (exit 2) for the commands that take no mirror: %s %s',
    (...command) => {
      const { status, stderr } = homelab(...command, '--mirror', 'mirror');
      expect(status).toBe(2);
      expect(stderr.split('\n')[0]).toBe("homelab: Unknown option '--mirror'");
    },
    40_000,
  );
});

describe('homelab vendor verify', () => {
  it.each([
    [
      'a FIFO',
      (path: string) => execFileSync('mkfifo', [path]),
      'cannot be read: it is a named pipe (FIFO), not a regular file',
    ],
    [
      'a symlink',
      (path: string) => symlinkSync('/etc/passwd', path),
      'cannot be read: it is a symbolic link (not followed: make it a regular file)',
    ],
    ['a folder', (path: string) => mkdirSync(path), 'is a folder, not the vendored file'],
  ])(
    'reports %s in place of a vendored file, naming it (exit 1)',
    (_, make, message) => {
      const file = join(scratch, 'vendor', SCHEMA);
      rmSync(file);
      make(file);
      const { status, stdout } = homelab('vendor', 'verify', '--json');
      expect(status).toBe(1);
      const report = JSON.parse(stdout) as {
        issues: { code: string; output: string; message: string }[];
      };
      expect(report.issues.map((issue) => [issue.code, issue.output, issue.message])).toEqual([
        ['file-unreadable', SCHEMA, message],
      ]);
      expect(stdout).not.toContain('root:');
    },
    40_000,
  );
});

describe('upgrade-check', () => {
  const cilium = REGISTRY.find((component) => component.name === 'cilium');
  if (cilium === undefined) throw new Error('no cilium component');
  const spec = {
    name: 'cilium',
    dependency: { name: 'cilium', version: '1.19.6', repository: 'https://helm.cilium.io' },
    values: { cilium: { kubeProxyReplacement: true } },
    environments: {},
    clusters: {},
  } as unknown as Parameters<typeof upgradeCheck>[2];
  const archive = () => join(scratch, 'vendor', 'charts/cilium/1.19.6/cilium-1.19.6.tgz');

  it('refuses a FIFO in place of a chart archive at once, naming it', () => {
    rmSync(archive());
    execFileSync('mkfifo', [archive()]);
    expect(() => upgradeCheck(scratch, cilium, spec, '1.20.0')).toThrow(
      `cannot read ${archive()}: it is a named pipe (FIFO), not a regular file`,
    );
  }, 10_000);

  it('refuses a folder in place of a chart archive, naming it, not an EISDIR crash', () => {
    rmSync(archive());
    mkdirSync(archive());
    expect(() => upgradeCheck(scratch, cilium, spec, '1.20.0')).toThrow(
      `cannot read ${archive()}: it is a folder (EISDIR)`,
    );
  });

  it('still says to sync when the archive is missing', () => {
    rmSync(archive());
    expect(() => upgradeCheck(scratch, cilium, spec, '1.20.0')).toThrow(
      'vendor/ has no cilium 1.19.6: run homelab vendor sync',
    );
  });
});
