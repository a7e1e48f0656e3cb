// syncVendor against a Helm repository served from 127.0.0.1 inside the test, and against a
// mirror folder: what it writes, what it reuses, and that every failure leaves vendor/ as it was.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { FilePin, HelmChartPin, UpstreamPin } from '@homelab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpFetcher } from '../src/fetcher.js';
import { parseLock } from '../src/lock.js';
import { syncVendor } from '../src/sync.js';
import { verifyVendor } from '../src/verify.js';
import {
  chartArchive,
  deadUrl,
  helmIndex,
  type Route,
  serve,
  sha256,
  snapshot,
  type TestServer,
  tempDir,
} from './helpers.js';

const demo = chartArchive('demo', '1.2.3');
const agpl = chartArchive('agpl-op', '0.1.0', 'image: op\n');
const schema = new TextEncoder().encode('{"type":"object"}\n');

let server: TestServer;
let work: { path: string; remove: () => void };
let vendorDir: string;

function routes(overrides: { [path: string]: Route } = {}): { [path: string]: Route } {
  return {
    '/charts/index.yaml': helmIndex([
      // A relative URL (resolved against the repository) and an absolute one.
      { name: 'demo', version: '1.2.3', url: 'demo-1.2.3.tgz', digest: sha256(demo) },
      { name: 'demo', version: '1.0.0', url: 'demo-1.0.0.tgz', digest: sha256(demo) },
      {
        name: 'agpl-op',
        version: '0.1.0',
        url: 'PLACEHOLDER/releases/agpl-op-0.1.0.tgz',
        digest: sha256(agpl),
      },
    ]),
    '/charts/demo-1.2.3.tgz': demo,
    '/releases/agpl-op-0.1.0.tgz': agpl,
    '/raw/v1/schema.json': schema,
    ...overrides,
  };
}

function pins(base: string): UpstreamPin[] {
  const chart = (name: string, version: string, licence: string): HelmChartPin => ({
    kind: 'helm-chart',
    name,
    version,
    repository: `${base}/charts`,
    licence,
  });
  const file: FilePin = {
    kind: 'file',
    path: 'upstream/demo/v1/schema.json',
    url: `${base}/raw/v1/schema.json`,
    version: 'v1',
    licence: 'MPL-2.0',
  };
  return [chart('demo', '1.2.3', 'Apache-2.0'), chart('agpl-op', '0.1.0', 'AGPL-3.0'), file];
}

async function start(overrides: { [path: string]: Route } = {}): Promise<void> {
  server = await serve({});
  for (const [path, route] of Object.entries(routes(overrides))) {
    server.routes.set(
      path,
      typeof route === 'string' ? route.replaceAll('PLACEHOLDER', server.url) : route,
    );
  }
}

const fetcher = () => httpFetcher({ timeoutMs: 5000 });

beforeEach(() => {
  work = tempDir();
  vendorDir = join(work.path, 'vendor');
});

afterEach(async () => {
  await server?.close();
  work.remove();
});

describe('syncVendor from a Helm repository', () => {
  it('downloads, checks the index digests and writes the artifacts with a sorted lock', async () => {
    await start();
    const result = await syncVendor({
      pins: pins(server.url),
      vendorDir,
      source: { fetch: fetcher() },
    });
    expect(result.changed).toBe(true);
    expect(result.fetched).toEqual([
      'charts/agpl-op/0.1.0/agpl-op-0.1.0.tgz',
      'charts/demo/1.2.3/demo-1.2.3.tgz',
      'upstream/demo/v1/schema.json',
    ]);
    expect(readFileSync(join(vendorDir, 'charts/demo/1.2.3/demo-1.2.3.tgz'))).toEqual(
      Buffer.from(demo),
    );
    const lockText = readFileSync(join(vendorDir, 'lock.json'), 'utf8');
    expect(lockText.endsWith('}\n')).toBe(true);
    expect(JSON.parse(lockText)).toEqual({
      lockfileVersion: 1,
      artifacts: [
        {
          path: 'charts/agpl-op/0.1.0/agpl-op-0.1.0.tgz',
          kind: 'helm-chart',
          name: 'agpl-op',
          version: '0.1.0',
          source: `${server.url}/charts`,
          url: `${server.url}/releases/agpl-op-0.1.0.tgz`,
          sha256: sha256(agpl),
          licence: 'AGPL-3.0',
          copyleft: true,
          via: 'download',
        },
        {
          path: 'charts/demo/1.2.3/demo-1.2.3.tgz',
          kind: 'helm-chart',
          name: 'demo',
          version: '1.2.3',
          source: `${server.url}/charts`,
          url: `${server.url}/charts/demo-1.2.3.tgz`,
          sha256: sha256(demo),
          licence: 'Apache-2.0',
          copyleft: false,
          via: 'download',
        },
        {
          path: 'upstream/demo/v1/schema.json',
          kind: 'file',
          version: 'v1',
          source: `${server.url}/raw/v1/schema.json`,
          sha256: sha256(schema),
          licence: 'MPL-2.0',
          copyleft: true,
          via: 'download',
        },
      ],
    });
    expect(server.requests.filter((r) => r.endsWith('index.yaml'))).toEqual(['/charts/index.yaml']);
    expect(verifyVendor(vendorDir, pins(server.url))).toEqual([]);
  });

  it('writes the same lock bytes whatever the order of the pins', async () => {
    await start();
    await syncVendor({ pins: pins(server.url), vendorDir, source: { fetch: fetcher() } });
    const first = readFileSync(join(vendorDir, 'lock.json'), 'utf8');
    const other = join(work.path, 'other');
    await syncVendor({
      pins: pins(server.url).reverse(),
      vendorDir: other,
      source: { fetch: fetcher() },
    });
    expect(readFileSync(join(other, 'lock.json'), 'utf8')).toBe(first);
  });

  it('reuses files whose sha256 matches the lock: no download, nothing written', async () => {
    await start();
    await syncVendor({ pins: pins(server.url), vendorDir, source: { fetch: fetcher() } });
    const before = server.requests.length;
    const again = await syncVendor({
      pins: pins(server.url),
      vendorDir,
      source: { fetch: fetcher() },
    });
    expect(server.requests.length).toBe(before);
    expect(again).toMatchObject({ changed: false, fetched: [], removed: [] });
    expect(again.reused).toHaveLength(3);
  });

  it('downloads again a vendored file whose bytes no longer match the lock', async () => {
    await start();
    await syncVendor({ pins: pins(server.url), vendorDir, source: { fetch: fetcher() } });
    writeFileSync(join(vendorDir, 'upstream/demo/v1/schema.json'), '{}');
    const repaired = await syncVendor({
      pins: pins(server.url),
      vendorDir,
      source: { fetch: fetcher() },
    });
    expect(repaired.fetched).toEqual(['upstream/demo/v1/schema.json']);
    expect(readFileSync(join(vendorDir, 'upstream/demo/v1/schema.json'))).toEqual(
      Buffer.from(schema),
    );
  });

  it('removes the files no pin needs any more', async () => {
    await start();
    await syncVendor({ pins: pins(server.url), vendorDir, source: { fetch: fetcher() } });
    writeFileSync(join(vendorDir, 'charts/stray.txt'), 'left behind');
    const fewer = pins(server.url).filter((p) => p.kind === 'file');
    const result = await syncVendor({ pins: fewer, vendorDir, source: { fetch: fetcher() } });
    expect(result.removed).toEqual([
      'charts/agpl-op/0.1.0/agpl-op-0.1.0.tgz',
      'charts/demo/1.2.3/demo-1.2.3.tgz',
      'charts/stray.txt',
    ]);
    expect(snapshot(vendorDir, work.path).files.map(([path]) => path)).toEqual([
      'lock.json',
      'upstream/demo/v1/schema.json',
    ]);
  });
});

describe('syncVendor failures leave vendor/ exactly as it was', () => {
  /**
   * Syncs the good pins, runs `prepare`, then `attempt`; returns the error `attempt` rejects with,
   * after checking that nothing in or beside vendor/ moved.
   */
  async function failing(attempt: () => Promise<unknown>, prepare = () => {}): Promise<string> {
    await syncVendor({ pins: pins(server.url), vendorDir, source: { fetch: fetcher() } });
    writeFileSync(join(vendorDir, 'charts/stray.txt'), 'would be removed by a successful sync');
    prepare();
    const before = snapshot(vendorDir, work.path);
    const error = await attempt().then(
      () => new Error('expected the sync to fail'),
      (e: unknown) => e as Error,
    );
    expect(snapshot(vendorDir, work.path)).toEqual(before);
    return error.message;
  }

  /** The good pins with the demo chart at another version (forces a download). */
  const bumped = (version: string) =>
    pins(server.url).map((p) =>
      p.kind === 'helm-chart' && p.name === 'demo' ? { ...p, version } : p,
    );

  it('a wrong digest', async () => {
    await start();
    const message = await failing(() => {
      server.routes.set(
        '/charts/demo-1.0.0.tgz',
        chartArchive('demo', '1.0.0', 'tampered: true\n'),
      );
      return syncVendor({ pins: bumped('1.0.0'), vendorDir, source: { fetch: fetcher() } });
    });
    expect(message).toBe(
      `chart demo 1.0.0 (${server.url}/charts): ${server.url}/charts/demo-1.0.0.tgz has sha256 ${sha256(chartArchive('demo', '1.0.0', 'tampered: true\n'))}, but ${server.url}/charts/index.yaml says ${sha256(demo)}`,
    );
  });

  it('a version missing from the index', async () => {
    await start();
    const message = await failing(() =>
      syncVendor({ pins: bumped('9.9.9'), vendorDir, source: { fetch: fetcher() } }),
    );
    expect(message).toBe(
      `chart demo 9.9.9 (${server.url}/charts): ${server.url}/charts/index.yaml has no version 9.9.9 of demo (it lists 2, first: 1.2.3, 1.0.0)`,
    );
  });

  it('a dead server (closed port)', async () => {
    await start();
    const dead = await deadUrl();
    const message = await failing(() =>
      syncVendor({
        pins: [
          ...pins(server.url),
          { kind: 'helm-chart', name: 'gone', version: '1.0.0', repository: dead, licence: 'MIT' },
        ],
        vendorDir,
        source: { fetch: fetcher() },
      }),
    );
    expect(message).toMatch(
      new RegExp(
        `^chart gone 1\\.0\\.0 \\(${dead}\\): GET ${dead}/index\\.yaml: ECONNREFUSED \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\)$`,
      ),
    );
  });

  it('an HTTP 404', async () => {
    await start();
    const missing: FilePin = {
      kind: 'file',
      path: 'upstream/demo/v2/schema.json',
      url: `${server.url}/raw/v2/schema.json`,
      version: 'v2',
      licence: 'Apache-2.0',
    };
    const message = await failing(() =>
      syncVendor({ pins: [...pins(server.url), missing], vendorDir, source: { fetch: fetcher() } }),
    );
    expect(message).toBe(
      `file upstream/demo/v2/schema.json v2 (${server.url}/raw/v2/schema.json): GET ${server.url}/raw/v2/schema.json: HTTP 404 Not Found`,
    );
  });

  it('an HTTP 500 on the index', async () => {
    await start();
    const message = await failing(() => {
      server.routes.set('/charts/index.yaml', { status: 500 });
      return syncVendor({ pins: bumped('1.0.0'), vendorDir, source: { fetch: fetcher() } });
    });
    expect(message).toBe(
      `chart demo 1.0.0 (${server.url}/charts): GET ${server.url}/charts/index.yaml: HTTP 500 Internal Server Error`,
    );
  });

  it('bytes that differ from what the lock recorded for the same pin', async () => {
    await start();
    const message = await failing(
      () => syncVendor({ pins: pins(server.url), vendorDir, source: { fetch: fetcher() } }),
      () => {
        server.routes.set('/raw/v1/schema.json', '{"type":"array"}\n');
        writeFileSync(join(vendorDir, 'upstream/demo/v1/schema.json'), 'locally damaged');
      },
    );
    expect(message).toContain(
      `file upstream/demo/v1/schema.json v1 (${server.url}/raw/v1/schema.json): the upstream bytes have sha256 ${sha256('{"type":"array"}\n')}, but vendor/lock.json locked ${sha256(schema)} for this pin.`,
    );
  });

  it('an invalid pin list, before anything is fetched', async () => {
    await start();
    const requests = server.requests.length;
    const message = await failing(() =>
      syncVendor({
        pins: [
          ...pins(server.url),
          { kind: 'file', path: '../escape.json', url: 'ftp://x', version: 'v1', licence: '' },
        ],
        vendorDir,
        source: { fetch: fetcher() },
      }),
    );
    expect(message.split('\n')).toEqual([
      'invalid pins, nothing synced:',
      '  pins[3].path: "../escape.json" is not a path inside vendor/ (expected e.g. upstream/talos/v1.12.11/config.schema.json)',
      '  pins[3].url: "ftp://x" is not an HTTP(S) URL (expected where upstream publishes the file)',
      '  pins[3].licence: "" is not an SPDX licence expression (expected e.g. Apache-2.0, AGPL-3.0)',
    ]);
    expect(server.requests.length).toBe(requests + 4);
  });
});

describe('syncVendor from a mirror', () => {
  function mirror(): string {
    const dir = join(work.path, 'mirror');
    mkdirSync(join(dir, 'charts/demo/1.2.3'), { recursive: true });
    mkdirSync(join(dir, 'upstream/demo/v1'), { recursive: true });
    writeFileSync(join(dir, 'charts/demo/1.2.3/demo-1.2.3.tgz'), demo);
    writeFileSync(join(dir, 'upstream/demo/v1/schema.json'), schema);
    writeFileSync(join(dir, 'README.md'), 'not pinned, not copied');
    writeFileSync(join(dir, 'charts/SOURCES.md'), 'where the archives come from\n');
    return dir;
  }
  const mirrorPins = (): UpstreamPin[] =>
    pins('https://charts.example.org').filter((p) => p.kind === 'file' || p.name === 'demo');

  it('copies <mirror>/<vendor path> without an index and locks the files’ own digests', async () => {
    const result = await syncVendor({
      pins: mirrorPins(),
      vendorDir,
      source: { mirror: mirror() },
    });
    expect(result.fetched).toEqual([
      'charts/demo/1.2.3/demo-1.2.3.tgz',
      'upstream/demo/v1/schema.json',
    ]);
    const { lock } = parseLock(readFileSync(join(vendorDir, 'lock.json'), 'utf8'));
    expect(lock?.artifacts.map((a) => [a.path, a.sha256, a.via, a.url, a.source])).toEqual([
      [
        'charts/demo/1.2.3/demo-1.2.3.tgz',
        sha256(demo),
        'mirror',
        undefined,
        'https://charts.example.org/charts',
      ],
      [
        'upstream/demo/v1/schema.json',
        sha256(schema),
        'mirror',
        undefined,
        'https://charts.example.org/raw/v1/schema.json',
      ],
    ]);
    expect(existsSync(join(vendorDir, 'README.md'))).toBe(false);
    expect(verifyVendor(vendorDir, mirrorPins())).toEqual([]);
  });

  it('fails on a file missing from the mirror, naming the pin, and writes nothing', async () => {
    const dir = mirror();
    const extra: FilePin = {
      kind: 'file',
      path: 'crds/demo/v1/missing.yaml',
      url: 'https://example.org/missing.yaml',
      version: 'v1',
      licence: 'Apache-2.0',
    };
    const error = await syncVendor({
      pins: [...mirrorPins(), extra],
      vendorDir,
      source: { mirror: dir },
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `file crds/demo/v1/missing.yaml v1 (https://example.org/missing.yaml): ${join(dir, 'crds/demo/v1/missing.yaml')} is not in the mirror`,
    );
    expect(existsSync(vendorDir)).toBe(false);
    expect(snapshot(work.path, work.path).beside).toEqual(['mirror']);
  });

  const WHAT =
    'A mirror is a folder laid out as vendor/ is, with a SOURCES.md saying where its files come from (at its top or in a folder directly under it, as charts/SOURCES.md)';

  /**
   * After a good sync, syncs from `source`; returns the error and the artifacts reported, after
   * checking that nothing in or beside vendor/ moved.
   */
  async function refused(source: {
    mirror: string;
  }): Promise<{ message: string; reported: string[] }> {
    await syncVendor({ pins: mirrorPins(), vendorDir, source: { mirror: mirror() } });
    const before = snapshot(vendorDir, work.path);
    const reported: string[] = [];
    const error = await syncVendor({
      pins: mirrorPins(),
      vendorDir,
      source,
      onArtifact: (path, how) => reported.push(`${how} ${path}`),
    }).then(
      () => new Error('expected the sync to fail'),
      (e: unknown) => e as Error,
    );
    expect(snapshot(vendorDir, work.path)).toEqual(before);
    return { message: error.message, reported };
  }

  it('refuses a mirror that does not exist before reusing anything, also when vendor/ is current', async () => {
    // Given vendor/ synced and current, when the mirror's path is mistyped
    const missing = join(work.path, 'nonexistent');
    const { message, reported } = await refused({ mirror: missing });
    // Then the path is refused up front: no artifact reported reused, nothing written
    expect(message).toBe(`${missing} is not an offline mirror: it does not exist. ${WHAT}`);
    expect(reported).toEqual([]);
  });

  it('refuses a folder that is no mirror (vendor/ itself: no SOURCES.md) and a file', async () => {
    const asMirror = await refused({ mirror: vendorDir });
    expect(asMirror.message).toBe(
      `${vendorDir} is not an offline mirror: it has no SOURCES.md. ${WHAT}`,
    );
    expect(asMirror.reported).toEqual([]);
    const file = join(vendorDir, 'lock.json');
    expect((await refused({ mirror: file })).message).toBe(
      `${file} is not an offline mirror: it is a file, not a folder. ${WHAT}`,
    );
  });

  it.each([
    [
      'a FIFO',
      (path: string) => execFileSync('mkfifo', [path]),
      'it is a named pipe (FIFO), not a regular file',
    ],
    ['a folder', (path: string) => mkdirSync(path), 'it is a folder (EISDIR)'],
    [
      'a symlink out of the mirror',
      (path: string) => {
        writeFileSync(join(work.path, 'secret'), 'root:x:0:0\n');
        symlinkSync(join(work.path, 'secret'), path);
      },
      'it is a symbolic link (not followed: make it a regular file)',
    ],
  ])(
    'refuses %s in place of a mirror file at once, naming it, and writes nothing',
    async (_, make, reason) => {
      const dir = mirror();
      const file = join(dir, 'upstream/demo/v1/schema.json');
      rmSync(file);
      make(file);
      const error = await syncVendor({
        pins: mirrorPins(),
        vendorDir,
        source: { mirror: dir },
      }).catch((e: Error) => e);
      expect((error as Error).message).toBe(
        `file upstream/demo/v1/schema.json v1 (https://charts.example.org/raw/v1/schema.json): cannot read ${file}: ${reason}`,
      );
      expect(existsSync(vendorDir)).toBe(false);
      expect(snapshot(work.path, work.path).beside).toEqual(
        reason.startsWith('it is a symbolic link') ? ['mirror', 'secret'] : ['mirror'],
      );
    },
    10_000,
  );

  it.each([
    ['a FIFO', (path: string) => execFileSync('mkfifo', [path])],
    ['a folder', (path: string) => mkdirSync(path)],
    [
      'a symlink to a copy of its bytes outside vendor/',
      (path: string) => {
        writeFileSync(join(work.path, 'copy.json'), schema);
        symlinkSync(join(work.path, 'copy.json'), path);
      },
    ],
  ])(
    'takes a vendored file from the mirror again when %s took its place',
    async (_, make) => {
      // Given vendor/ synced, then a vendored file replaced
      const dir = mirror();
      await syncVendor({ pins: mirrorPins(), vendorDir, source: { mirror: dir } });
      const file = join(vendorDir, 'upstream/demo/v1/schema.json');
      rmSync(file);
      make(file);
      // When synced again
      const result = await syncVendor({ pins: mirrorPins(), vendorDir, source: { mirror: dir } });
      // Then the file is a regular file with the mirror's bytes again, the other one reused
      expect([result.changed, result.fetched, result.reused]).toEqual([
        true,
        ['upstream/demo/v1/schema.json'],
        ['charts/demo/1.2.3/demo-1.2.3.tgz'],
      ]);
      expect(lstatSync(file).isFile()).toBe(true);
      expect(readFileSync(file)).toEqual(Buffer.from(schema));
      expect(verifyVendor(vendorDir, mirrorPins())).toEqual([]);
    },
    10_000,
  );
});
