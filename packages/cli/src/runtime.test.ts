import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runtime, writerStepHook } from './runtime.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homelab-runtime-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const changeset = { path: '.changeset/charts-1234abcd.md', content: '---\n"x": patch\n---\n\nx\n' };

describe('writeChangesets and a symlinked .changeset', () => {
  it('refuses a .changeset symlink out of the root, writing and reading nothing there', async () => {
    const repo = join(dir, 'repo');
    const outside = join(dir, 'outside');
    mkdirSync(repo);
    mkdirSync(outside);
    symlinkSync(outside, join(repo, '.changeset'));
    expect(() => runtime.writeChangesets(repo, [changeset])).toThrow(
      `${repo}/.changeset is a symlink to ${outside}, outside ${repo}; refusing to read or write changesets there`,
    );
    await expect(runtime.readReleaseState(repo)).rejects.toThrow('outside');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('follows a .changeset symlink that stays inside the root', () => {
    mkdirSync(join(dir, 'shared/changes'), { recursive: true });
    symlinkSync('shared/changes', join(dir, '.changeset'));
    expect(runtime.writeChangesets(dir, [changeset])).toEqual([changeset.path]);
    expect(readFileSync(join(dir, 'shared/changes/charts-1234abcd.md'), 'utf8')).toBe(
      changeset.content,
    );
  });

  it('creates a missing .changeset as a folder', () => {
    expect(runtime.writeChangesets(dir, [changeset])).toEqual([changeset.path]);
    expect(existsSync(join(dir, changeset.path))).toBe(true);
  });
});

describe('readReleaseState: pending changesets against the workspace', () => {
  it('refuses a changeset naming a package the workspace does not have, chart or not', async () => {
    const write = (path: string, content: string) => {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    };
    write('pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - charts/*\n');
    write('packages/core/package.json', '{"name":"@homelab/core"}');
    write('charts/cilium/package.json', '{"name":"@homelab/chart-cilium","version":"0.1.0"}');
    write(
      '.changeset/good.md',
      '---\n"@homelab/core": patch\n"@homelab/chart-cilium": patch\n---\n',
    );
    write('.changeset/typo.md', '---\n"@homelab/cor": patch\n---\n');
    const state = await runtime.readReleaseState(dir);
    expect(state.issues.map((issue) => [issue.code, issue.output, issue.message])).toEqual([
      [
        'changeset-invalid',
        '.changeset/typo.md',
        'names @homelab/cor, which is no package of the workspace (did you mean @homelab/core?): changeset version refuses the whole run',
      ],
    ]);
  });
});

describe('writerStepHook', () => {
  it('is off unless a test asks for it', () => {
    expect(writerStepHook({})).toBeUndefined();
    expect(writerStepHook({ HOMELAB_WRITER_PAUSE_AT: 'x' })).toBeUndefined();
    expect(typeof writerStepHook({ HOMELAB_WRITER_TRACE: '1' })).toBe('function');
    expect(typeof writerStepHook({ HOMELAB_WRITER_PAUSE_AT: '3' })).toBe('function');
  });
});

describe('readClusterNames', () => {
  it('lists the clusters/ folders holding a root Application or a control-plane patch, sorted; nothing else', () => {
    const clusters = join(dir, 'clusters');
    const folder = (name: string, file?: string) => {
      mkdirSync(join(clusters, name, 'talos'), { recursive: true });
      if (file !== undefined) writeFileSync(join(clusters, name, ...file.split('/')), 'x\n');
    };
    folder('prod', 'talos/controlplane.yaml');
    folder('dev', 'root-application.yaml');
    folder('notes', 'README.md');
    folder('empty');
    mkdirSync(join(clusters, 'dir-marker', 'root-application.yaml'), { recursive: true });
    writeFileSync(join(clusters, 'file.yaml'), 'x\n');
    symlinkSync(join(clusters, 'dev'), join(clusters, 'linked'));
    expect(runtime.readClusterNames?.(dir)).toEqual(['dev', 'prod']);
  });

  it('is empty without a clusters/ folder (a first build)', () => {
    expect(runtime.readClusterNames?.(dir)).toEqual([]);
    writeFileSync(join(dir, 'clusters'), 'not a folder\n');
    expect(runtime.readClusterNames?.(dir)).toEqual([]);
  });
});
