import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpFetcher } from '../src/fetcher.js';
import { deadUrl, serve, type TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('httpFetcher', () => {
  it('returns the body bytes of a 200 answer', async () => {
    server = await serve({ '/a.json': '{"a":1}' });
    const bytes = await httpFetcher()(`${server.url}/a.json`);
    expect(new TextDecoder().decode(bytes)).toBe('{"a":1}');
  });

  it('names the URL and the status of an HTTP error', async () => {
    server = await serve({ '/gone': { status: 410 } });
    await expect(httpFetcher()(`${server.url}/gone`)).rejects.toThrow(
      `GET ${server.url}/gone: HTTP 410 Gone`,
    );
  });

  it('names the URL and the reason when nothing listens', async () => {
    const dead = await deadUrl();
    await expect(httpFetcher()(`${dead}/index.yaml`)).rejects.toThrow(
      `GET ${dead}/index.yaml: ECONNREFUSED`,
    );
  });

  it('gives up after the timeout on a server that never answers', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/slow`;
    try {
      await expect(httpFetcher({ timeoutMs: 200 })(url)).rejects.toThrow(
        `GET ${url}: no answer within 200 ms`,
      );
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((done) => silent.close(() => done()));
    }
  });

  it('refuses a body larger than the limit', async () => {
    server = await serve({ '/big': 'x'.repeat(100) });
    await expect(httpFetcher({ maxBytes: 10 })(`${server.url}/big`)).rejects.toThrow(
      `GET ${server.url}/big: 100 bytes is more than the limit of 10`,
    );
  });
});
