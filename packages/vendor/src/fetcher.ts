// Downloads over HTTP(S) with Node's global fetch: a timeout, and errors that name the URL.
import { HomelabError, MAX_ARTIFACT_BYTES } from '@homelab/core';

/** Fetches the bytes at a URL; rejects with an error naming the URL. */
export type Fetcher = (url: string) => Promise<Uint8Array>;

export interface HttpFetcherOptions {
  /** Abort a request (connection and body) after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Refuse bodies larger than this many bytes (default `MAX_ARTIFACT_BYTES`, 256 MiB). */
  readonly maxBytes?: number;
}

function causeText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${inner.message})` : inner.message;
  }
  return cause.message;
}

/** A `Fetcher` over Node's global `fetch` (follows redirects; HTTP errors name the URL). */
export function httpFetcher(options: HttpFetcherOptions = {}): Fetcher {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxBytes = options.maxBytes ?? MAX_ARTIFACT_BYTES;
  return async (url) => {
    let response: Response;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      response = await fetch(url, { redirect: 'follow', signal });
    } catch (cause) {
      if (signal.aborted) {
        throw new HomelabError(`GET ${url}: no answer within ${timeoutMs} ms`, { cause });
      }
      throw new HomelabError(`GET ${url}: ${causeText(cause)}`, { cause });
    }
    if (!response.ok) {
      await response.body?.cancel();
      const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
      throw new HomelabError(`GET ${url}: HTTP ${status}`);
    }
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    if (length > maxBytes) {
      await response.body?.cancel();
      throw new HomelabError(`GET ${url}: ${length} bytes is more than the limit of ${maxBytes}`);
    }
    try {
      const body = new Uint8Array(await response.arrayBuffer());
      if (body.byteLength > maxBytes) {
        throw new HomelabError(
          `GET ${url}: ${body.byteLength} bytes is more than the limit of ${maxBytes}`,
        );
      }
      return body;
    } catch (cause) {
      if (cause instanceof HomelabError) throw cause;
      const reason = signal.aborted
        ? `no complete answer within ${timeoutMs} ms`
        : causeText(cause);
      throw new HomelabError(`GET ${url}: ${reason}`, { cause });
    }
  };
}
