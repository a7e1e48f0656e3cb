// Hostile input and hostile surroundings, through the bundled CLI (dist/homelab.cjs) as a
// child process: bounded reads, secrets masked in every output, concurrent builds, content
// under the output root that is not the build's, file-system faults. Every case works on a
// scratch copy of the small fixture definition (test/fixtures/base.yaml), never on the user's.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../../../packages/cli/dist/homelab.cjs');
const base = readFileSync(join(here, 'fixtures/base.yaml'), 'utf8');

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A scratch folder with `platform.yaml` (the fixture, or `text`). */
function workspace(text: string | Buffer = base): string {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-hardening-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'platform.yaml'), text);
  return dir;
}

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function homelab(cwd: string, args: string[], env: Record<string, string> = {}): Result {
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOMELAB_DEBUG: '', ...env },
    timeout: 60_000,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    ms: performance.now() - started,
  };
}

const build = (cwd: string, ...extra: string[]): Result =>
  homelab(cwd, ['build', '--config', 'platform.yaml', '--out', 'out', ...extra]);

describe('bounded reads of the definition', { timeout: 120_000 }, () => {
  it.each([
    ['/dev/zero', 'it is a character device, not a regular file'],
    ['/dev/urandom', 'it is a character device, not a regular file'],
  ])('validate --config %s is refused at once, exit 1', (device, reason) => {
    const dir = workspace();
    const result = homelab(dir, ['validate', '--config', device]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `homelab: cannot read the platform definition ${device}: ${reason} (use --config FILE)\n`,
    );
    // It used to read 8.4 GB in 30 s: refused from its file type now, before any read (the
    // unit test counts the reads; a hang would end in spawnSync's timeout, status null).
  });

  it('a FIFO is refused without waiting for a writer; --json still prints JSON', () => {
    const dir = workspace();
    expect(spawnSync('mkfifo', [join(dir, 'fifo.yaml')]).status).toBe(0);
    const result = homelab(dir, ['validate', '--config', 'fifo.yaml', '--json']);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      issues: [
        {
          code: 'unreadable-definition',
          message:
            'cannot read the platform definition fifo.yaml: it is a named pipe (FIFO), not a regular file (use --config FILE)',
        },
      ],
    });
  });

  it('invalid UTF-8 is an error at its line and column, not a replacement character', () => {
    const [before, after] = base.split('name: fixture');
    const dir = workspace(
      Buffer.concat([
        Buffer.from(`${before}name: caf`),
        Buffer.from([0xe9]),
        Buffer.from(after ?? ''),
      ]),
    );
    const result = homelab(dir, ['validate', '--config', 'platform.yaml']);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(
      /^platform\.yaml:3:12 {2}\(root\): is not valid UTF-8: byte 0xe9 at byte offset \d+ does not belong to a UTF-8 character \(expected UTF-8 text/,
    );
    expect(result.stderr).not.toContain('\uFFFD');
  });

  it('a CR-only definition reads like the LF one', () => {
    const lf = homelab(workspace(), ['validate', '--config', 'platform.yaml']);
    const cr = homelab(workspace(base.replaceAll('\n', '\r')), [
      'validate',
      '--config',
      'platform.yaml',
    ]);
    expect(lf.status).toBe(0);
    expect(cr.status).toBe(0);
    expect(cr.stdout.replace(/\d+ ms/, 'N ms')).toBe(lf.stdout.replace(/\d+ ms/, 'N ms'));
  });

  it('a 1-million-item list under 2 MiB is refused at the list, while tokenising', () => {
    const text = `${base}extra: [${Array.from({ length: 1_000_000 }, () => '1').join(',')}]\n`;
    expect(Buffer.byteLength(text)).toBeLessThan(2 * 1024 * 1024);
    const dir = workspace(text);
    const result = homelab(dir, ['validate', '--config', 'platform.yaml']);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(
      `platform.yaml:${base.split('\n').length}:8  extra: has more entries than a platform definition has in one list (refused while reading, at entry 5003) (expected at most 5000 entries)`,
    );
    // "at entry 5003": the rest of the list is never tokenised (10 s before the check moved into
    // the tokeniser, about 1 s now; printed for the log, not asserted: pnpm bench measures time).
    console.log(`1-million-item list refused by the CLI in ${Math.round(result.ms)} ms`);
  });

  it.each([
    ['.inf', 'is read by YAML as an infinite number'],
    ['.nan', 'is read by YAML as not-a-number'],
    ['9007199254740993', 'is an integer beyond 2^53 - 1: it would be read as 9007199254740992'],
  ])('%s where a number is expected is refused with its text', (source, message) => {
    const text = base.replace(
      '      l2Announcements: {}',
      `      bgp:\n        localAsn: 64512\n        peers:\n          - name: router\n            address: 10.10.0.1\n            asn: ${source}`,
    );
    const result = homelab(workspace(text), ['validate', '--config', 'platform.yaml']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`clusters[0].network.bgp.peers[0].asn: "${source}" ${message}`);
    expect(result.stderr).not.toContain('null');
  });
});

describe('secrets never printed', { timeout: 120_000 }, () => {
  const glpat = `glpat-${'z_sxgtrfAxKr8q1TPY8Y'}`;
  // [name, definition, the secret, what the message advises instead]
  const cases: [string, string, string, string][] = [
    [
      'a password in the repository URL',
      base.replace(
        'url: https://github.com/example/homelab.git',
        `url: https://admin:${'S3cr3tPassw0rd!'}@github.com/example/homelab.git`,
      ),
      'S3cr3tPassw0rd',
      // Argo CD reads repository credentials from the runbook's hand-made Secret
      'set repository.access: token',
    ],
    [
      'a GitLab token in the repository URL',
      base.replace(
        'url: https://github.com/example/homelab.git',
        `url: https://oauth2:${glpat}@gitlab.example.com/homelab.git`,
      ),
      glpat.slice(4),
      'set repository.access: token',
    ],
    [
      'a literal OIDC client secret (a schema error on the same value too)',
      base.replace(
        '        installDisk: /dev/sda',
        '        installDisk: /dev/sda\n    components:\n      argocd:\n        oidc:\n          clientId: argocd\n          clientSecret: hunter2hunter2',
      ),
      'hunter2',
      'a Secret filled from Bitwarden',
    ],
  ];

  it.each(cases)(
    '%s: masked in text and --json, nothing written',
    (_name, text, secret, advice) => {
      const dir = workspace(text);
      const plain = build(dir);
      expect(plain.status).toBe(1);
      expect(plain.stderr).toContain(advice);
      const json = build(dir, '--json');
      expect(json.status).toBe(1);
      const output = JSON.parse(json.stdout) as { issues: { code: string; value: unknown }[] };
      expect(output.issues.some((issue) => issue.code === 'literal-secret')).toBe(true);
      for (const stream of [plain.stdout, plain.stderr, json.stdout, json.stderr]) {
        expect(stream).not.toContain(secret);
      }
      expect(existsSync(join(dir, 'out'))).toBe(false);
    },
  );

  it('the masked value names the format and no more: glpa…, https://****:****@host…', () => {
    const dir = workspace(`${cases[1]?.[1]}# the old token was ${glpat}\n`);
    const json = JSON.parse(build(dir, '--json').stdout) as {
      issues: { code: string; value: unknown; message: string; line: number }[];
    };
    expect(
      json.issues
        .filter((issue) => issue.code === 'literal-secret')
        .map((issue) => [issue.line, issue.value, issue.message.split(';')[0]]),
    ).toEqual([
      [6, 'https://****:****@gitlab.example.com…', 'is a password in a URL'],
      [base.split('\n').length, 'glpa…', 'is a GitLab token'],
    ]);
  });
});

describe('two builds into one folder', { timeout: 120_000 }, () => {
  it('the second is told another build is running (pid, start), exit 2, --json still JSON; after it, builds work', async () => {
    const dir = workspace();
    // The first build stops inside its write, holding the lock.
    const first = spawn(
      process.execPath,
      [bin, 'build', '--config', 'platform.yaml', '--out', 'out'],
      {
        cwd: dir,
        env: { ...process.env, HOMELAB_WRITER_PAUSE_AT: '3' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await new Promise<void>((resolve) => {
      first.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('homelab-writer-paused')) resolve();
      });
    });
    try {
      const second = build(dir);
      expect(second.status).toBe(2);
      expect(second.stderr).toMatch(
        new RegExp(
          `^homelab: another homelab build is running in ${dir}/out \\(pid ${first.pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); wait for it to finish, or delete ${dir}/out/\\.homelab-lock if that process is gone\\n$`,
        ),
      );
      const json = build(dir, '--json');
      expect(json.status).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: false,
        issues: [{ code: 'fault', message: expect.stringContaining('another homelab build') }],
      });
      expect(homelab(dir, ['check', '--config', 'platform.yaml', '--out', 'out']).status).toBe(2);
    } finally {
      first.kill('SIGKILL');
      await new Promise((resolve) => first.on('exit', resolve));
    }
    // The first build died holding the lock: the next one takes it over.
    const after = build(dir);
    expect(after.status).toBe(0);
    expect(after.stdout).toMatch(/^built (\d+) files: \1 written/);
    // No lock or stage left behind; the build record of the build that finished.
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([
      '.homelab-build.json',
      'charts',
      'clusters',
    ]);
  });
});

describe('content under the output root that is not the build’s', { timeout: 120_000 }, () => {
  /** A built workspace, then a definition change so that the next build writes. */
  function built(): string {
    const dir = workspace();
    expect(build(dir).status).toBe(0);
    writeFileSync(
      join(dir, 'platform.yaml'),
      base.replace('cidr: 10.10.1.0/27', 'cidr: 10.10.1.32/27'),
    );
    return dir;
  }

  it('keeps a FIFO, a 700 folder, a symlink, and never copies node_modules', () => {
    const dir = built();
    const out = join(dir, 'out');
    expect(spawnSync('mkfifo', [join(out, 'charts/cilium/pipe')]).status).toBe(0);
    chmodSync(join(out, 'charts/cilium'), 0o700);
    symlinkSync('../cilium/values.yaml', join(out, 'charts/cilium/mine.yaml'));
    for (let i = 0; i < 2000; i++) {
      mkdirSync(join(out, `charts/cilium/node_modules/p${i}`), { recursive: true });
      writeFileSync(join(out, `charts/cilium/node_modules/p${i}/index.js`), 'x');
    }
    const inode = statSync(join(out, 'charts/cilium/node_modules/p0/index.js')).ino;
    const result = build(dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^built \d+ files: \d+ written, \d+ unchanged, 0 removed/);
    expect(lstatSync(join(out, 'charts/cilium/pipe')).isFIFO()).toBe(true);
    expect(statSync(join(out, 'charts/cilium')).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(out, 'charts/cilium/mine.yaml')).isSymbolicLink()).toBe(true);
    // The same file, not a copy.
    expect(statSync(join(out, 'charts/cilium/node_modules/p0/index.js')).ino).toBe(inode);
    expect(readFileSync(join(out, 'charts/cilium/clusters/dev.yaml'), 'utf8')).toContain(
      '10.10.1.32/27',
    );
  });

  it('writes through a symlinked charts/ and keeps it a symlink', () => {
    const dir = workspace();
    mkdirSync(join(dir, 'out/real-charts'), { recursive: true });
    symlinkSync('real-charts', join(dir, 'out/charts'));
    expect(build(dir).status).toBe(0);
    expect(lstatSync(join(dir, 'out/charts')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'out/real-charts/cilium/Chart.yaml'))).toBe(true);
  });

  it('keeps changesets’ package.json version and CHANGELOG.md; Chart.yaml follows the version', () => {
    const dir = built();
    const out = join(dir, 'out');
    writeFileSync(
      join(out, 'charts/cilium/package.json'),
      '{\n  "name": "@homelab/chart-cilium",\n  "version": "0.3.0",\n  "private": true\n}\n',
    );
    writeFileSync(join(out, 'charts/cilium/CHANGELOG.md'), '# @homelab/chart-cilium\n');
    expect(build(dir).status).toBe(0);
    expect(readFileSync(join(out, 'charts/cilium/package.json'), 'utf8')).toContain('"0.3.0"');
    expect(readFileSync(join(out, 'charts/cilium/CHANGELOG.md'), 'utf8')).toBe(
      '# @homelab/chart-cilium\n',
    );
    expect(readFileSync(join(out, 'charts/cilium/Chart.yaml'), 'utf8')).toContain('version: 0.3.0');
  });

  it('refuses a chart package.json version that is not semver, at its line, writing nothing', () => {
    const dir = built();
    const out = join(dir, 'out');
    writeFileSync(
      join(out, 'charts/cilium/package.json'),
      '{\n  "name": "@homelab/chart-cilium",\n  "version": "not-a-version",\n  "private": true\n}\n',
    );
    const before = readFileSync(join(out, 'charts/cilium/clusters/dev.yaml'), 'utf8');
    const result = build(dir);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(
      'out/charts/cilium/package.json:3:14  charts/cilium/package.json#version: "not-a-version" is not a semantic version; it would become the chart version in Chart.yaml (expected a semantic version such as 0.1.0 (changesets sets it: `pnpm version-packages`))',
    );
    expect(readFileSync(join(out, 'charts/cilium/clusters/dev.yaml'), 'utf8')).toBe(before);
  });

  it('homelab changeset does not follow a .changeset symlink out of the root', () => {
    const dir = built();
    const outside = mkdtempSync(join(tmpdir(), 'homelab-outside-'));
    scratch.push(outside);
    symlinkSync(outside, join(dir, 'out/.changeset'));
    const result = homelab(dir, ['changeset', '--config', 'platform.yaml', '--out', 'out']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`is a symlink to ${outside}, outside`);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('file-system faults are reported with their cause', { timeout: 120_000 }, () => {
  it.each([
    ['/proc/sys/homelab-out', 'it does not exist (ENOENT)'],
    ['/sys/homelab-out', 'operation not permitted (EPERM)'],
  ])('--out %s: exit 2 naming the path and the cause, --json still JSON', (out, cause) => {
    const dir = workspace();
    const text = homelab(dir, ['build', '--config', 'platform.yaml', '--out', out]);
    expect(text.status).toBe(2);
    expect(text.stderr).toBe(`homelab: cannot create the output folder ${out}: ${cause}\n`);
    const json = homelab(dir, ['build', '--config', 'platform.yaml', '--out', out, '--json']);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      issues: [{ code: 'fault', message: `cannot create the output folder ${out}: ${cause}` }],
    });
  });
});
