// verifyVendor on a vendor folder synced from a mirror, then broken one way at a time.
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { FilePin, UpstreamPin } from '@homelab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncVendor } from '../src/sync.js';
import { verifyVendor } from '../src/verify.js';
import { chartArchive, sha256, tempDir } from './helpers.js';

const demo = chartArchive('demo', '1.2.3');
const schemaText = '{"type":"object"}\n';
const PINS: UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: 'demo',
    version: '1.2.3',
    repository: 'https://charts.example.org',
    licence: 'Apache-2.0',
  },
  {
    kind: 'file',
    path: 'upstream/demo/v1/schema.json',
    url: 'https://example.org/v1/schema.json',
    version: 'v1',
    licence: 'MPL-2.0',
  },
];

let work: { path: string; remove: () => void };
let vendorDir: string;

beforeEach(async () => {
  work = tempDir();
  const mirror = join(work.path, 'mirror');
  mkdirSync(join(mirror, 'charts/demo/1.2.3'), { recursive: true });
  mkdirSync(join(mirror, 'upstream/demo/v1'), { recursive: true });
  writeFileSync(join(mirror, 'charts/demo/1.2.3/demo-1.2.3.tgz'), demo);
  writeFileSync(join(mirror, 'upstream/demo/v1/schema.json'), schemaText);
  writeFileSync(join(mirror, 'charts/SOURCES.md'), 'where the archives come from\n');
  vendorDir = join(work.path, 'vendor');
  await syncVendor({ pins: PINS, vendorDir, source: { mirror } });
});

afterEach(() => work.remove());

const codes = (issues: ReturnType<typeof verifyVendor>) =>
  issues.map((i) => [i.code, i.output] as const);

describe('verifyVendor', () => {
  it('finds nothing wrong in a freshly synced folder', () => {
    expect(verifyVendor(vendorDir, PINS)).toEqual([]);
  });

  it('detects one changed byte, with the expected and the actual sha256', () => {
    const path = join(vendorDir, 'upstream/demo/v1/schema.json');
    writeFileSync(path, schemaText.replace('object', 'objecT'));
    expect(verifyVendor(vendorDir)).toEqual([
      {
        severity: 'error',
        code: 'file-changed',
        path: [],
        output: 'upstream/demo/v1/schema.json',
        value: sha256(schemaText.replace('object', 'objecT')),
        message: 'has changed: its sha256 differs from lock.json',
        expected: `sha256 ${sha256(schemaText)}; vendored files stay verbatim (run \`homelab vendor sync\` to restore it)`,
      },
    ]);
  });

  it('detects a missing file', () => {
    rmSync(join(vendorDir, 'charts/demo/1.2.3/demo-1.2.3.tgz'));
    expect(codes(verifyVendor(vendorDir))).toEqual([
      ['file-missing', 'charts/demo/1.2.3/demo-1.2.3.tgz'],
    ]);
  });

  it('detects a file the lock does not list', () => {
    mkdirSync(join(vendorDir, 'crds'));
    writeFileSync(join(vendorDir, 'crds/extra.yaml'), 'kind: CustomResourceDefinition\n');
    const issues = verifyVendor(vendorDir);
    expect(codes(issues)).toEqual([['file-unlisted', 'crds/extra.yaml']]);
    expect(issues[0]?.expected).toBe(
      'only pinned artifacts in vendor/ (`homelab vendor sync` removes the rest)',
    );
  });

  it('reports a missing or unreadable lock instead of throwing', () => {
    writeFileSync(join(vendorDir, 'lock.json'), '{"lockfileVersion": 1, "artifacts": [');
    expect(codes(verifyVendor(vendorDir))).toEqual([['lock-invalid', 'lock.json']]);
    rmSync(join(vendorDir, 'lock.json'));
    expect(codes(verifyVendor(vendorDir))).toEqual([['lock-missing', 'lock.json']]);
  });

  it('reports a lock entry whose copyleft flag contradicts its licence', () => {
    const lockPath = join(vendorDir, 'lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
    lock.artifacts[1].copyleft = false;
    writeFileSync(lockPath, JSON.stringify(lock));
    expect(codes(verifyVendor(vendorDir))).toEqual([
      ['lock-invalid', 'upstream/demo/v1/schema.json'],
    ]);
  });

  it('with pins: an unlocked pin, an unpinned lock entry and a pin that changed', () => {
    const added: FilePin = {
      kind: 'file',
      path: 'crds/demo/v2/crd.yaml',
      url: 'https://example.org/v2/crd.yaml',
      version: 'v2',
      licence: 'Apache-2.0',
    };
    const relicensed = { ...(PINS[1] as FilePin), licence: 'Apache-2.0' };
    const issues = verifyVendor(vendorDir, [relicensed, added]);
    expect(codes(issues)).toEqual([
      ['lock-not-pinned', 'charts/demo/1.2.3/demo-1.2.3.tgz'],
      ['pin-not-locked', 'crds/demo/v2/crd.yaml'],
      ['pin-changed', 'upstream/demo/v1/schema.json'],
    ]);
    expect(issues[2]?.message).toBe('is locked with licence "MPL-2.0" (pinned: "Apache-2.0")');
    expect(issues[0]?.expected).toBe('only pinned artifacts (`homelab vendor sync` removes it)');
  });

  it('checks every file, so a change appended to an archive is found too', () => {
    appendFileSync(join(vendorDir, 'charts/demo/1.2.3/demo-1.2.3.tgz'), '\0');
    expect(codes(verifyVendor(vendorDir, PINS))).toEqual([
      ['file-changed', 'charts/demo/1.2.3/demo-1.2.3.tgz'],
    ]);
  });

  it.each([
    [
      'a FIFO',
      (path: string) => execFileSync('mkfifo', [path]),
      'cannot be read: it is a named pipe (FIFO), not a regular file',
    ],
    [
      'a symlink to a copy of its bytes outside vendor/',
      (path: string) => {
        writeFileSync(join(work.path, 'copy.json'), schemaText);
        symlinkSync(join(work.path, 'copy.json'), path);
      },
      'cannot be read: it is a symbolic link (not followed: make it a regular file)',
    ],
    ['an empty folder', (path: string) => mkdirSync(path), 'is a folder, not the vendored file'],
  ])(
    'reports %s in place of a vendored file as unreadable, never waiting on it',
    (_, make, message) => {
      const path = join(vendorDir, 'upstream/demo/v1/schema.json');
      rmSync(path);
      make(path);
      expect(verifyVendor(vendorDir, PINS)).toEqual([
        {
          severity: 'error',
          code: 'file-unreadable',
          path: [],
          output: 'upstream/demo/v1/schema.json',
          message,
          expected: 'the vendored file, a regular file (run `homelab vendor sync` to restore it)',
        },
      ]);
    },
    5_000,
  );
});
