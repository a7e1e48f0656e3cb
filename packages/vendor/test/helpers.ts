// Test support: chart archives built in memory, a Helm repository served from 127.0.0.1 on an
// ephemeral port, temporary folders and snapshots of them.
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tar } from '@homelab/core';
import { stringify } from 'yaml';
import { listFiles } from '../src/fs.js';

export const sha256 = (bytes: Uint8Array | string): string =>
  createHash('sha256').update(bytes).digest('hex');

/** A gzipped chart archive `<name>/Chart.yaml` + `<name>/values.yaml`. */
export function chartArchive(name: string, version: string, values = 'replicas: 1\n'): Uint8Array {
  const encode = (text: string) => new TextEncoder().encode(text);
  return gzipSync(
    tar([
      {
        path: `${name}/Chart.yaml`,
        data: encode(`apiVersion: v2\nname: ${name}\nversion: ${version}\n`),
        mode: 0o644,
        mtime: 0,
      },
      { path: `${name}/values.yaml`, data: encode(values), mode: 0o644, mtime: 0 },
    ]),
  );
}

export interface IndexVersion {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly digest?: string;
}

/** A Helm repository index.yaml listing these chart versions. */
export function helmIndex(versions: readonly IndexVersion[]): string {
  const entries: { [name: string]: unknown[] } = {};
  for (const v of versions) {
    const list = entries[v.name] ?? [];
    entries[v.name] = list;
    list.push({
      apiVersion: 'v2',
      name: v.name,
      version: v.version,
      urls: [v.url],
      ...(v.digest === undefined ? {} : { digest: v.digest }),
    });
  }
  return stringify({ apiVersion: 'v1', entries, generated: '2026-01-01T00:00:00Z' });
}

export type Route = Uint8Array | string | { readonly status: number };

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  /** Replace or add what a path serves. */
  readonly routes: Map<string, Route>;
  close(): Promise<void>;
}

/** Serves `routes` (path → body or status) from 127.0.0.1 on an ephemeral port. */
export async function serve(routes: { [path: string]: Route }): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push(path);
    const route = table.get(path);
    if (route === undefined || (typeof route === 'object' && 'status' in route)) {
      response.statusCode = route === undefined ? 404 : route.status;
      response.end('no');
      return;
    }
    response.statusCode = 200;
    response.end(route);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port that was just closed). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return `http://127.0.0.1:${port}`;
}

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'homelab-vendor-test-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Every file under `dir` with its sha256 (a FIFO or a symlink by what it is, never read); and the
 * names beside `dir` (to catch stage leftovers).
 */
export function snapshot(
  dir: string,
  parent: string,
): { files: [string, string][]; beside: string[] } {
  const digest = (path: string): string => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return `symlink to ${readlinkSync(path)}`;
    if (!stat.isFile()) return 'not a regular file';
    return sha256(readFileSync(path));
  };
  return {
    files: listFiles(dir).map((path) => [path, digest(join(dir, path))]),
    beside: readdirSync(parent).sort(),
  };
}
