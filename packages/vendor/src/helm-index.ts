// A Helm repository's index.yaml: find a chart version, resolve its archive URL, read its digest.
import { type HelmChartPin, HomelabError } from '@homelab/core';
import { parse } from 'yaml';

/** The index.yaml URL of a Helm repository (`<repository>/index.yaml`). */
export function indexUrl(repository: string): string {
  return `${repository.replace(/\/+$/, '')}/index.yaml`;
}

/** Resolves an archive URL from an index against the repository, as Helm does. */
export function resolveChartUrl(repository: string, url: string): string {
  const base = repository.endsWith('/') ? repository : `${repository}/`;
  return new URL(url, base).toString();
}

export interface IndexedChart {
  /** Absolute URL of the chart archive. */
  readonly url: string;
  /** Hex sha256 of the archive, as the index states it. */
  readonly digest: string;
}

function isRecord(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The archive URL and digest of `pin` in the repository index text. Throws `HomelabError` when
 * the index is not a Helm index, the chart or the version is missing, or the entry has no URL
 * or sha256 digest (an unverifiable download is refused).
 */
export function findChartInIndex(indexText: string, pin: HelmChartPin): IndexedChart {
  const where = indexUrl(pin.repository);
  let data: unknown;
  try {
    // Failsafe: every scalar stays a string, so `version: 1.10` is not the number 1.1.
    data = parse(indexText, { schema: 'failsafe', maxAliasCount: -1 });
  } catch (cause) {
    throw new HomelabError(`${where} is not YAML`, { cause });
  }
  if (!isRecord(data) || !isRecord(data.entries)) {
    throw new HomelabError(`${where} is not a Helm repository index (no "entries")`);
  }
  const versions = data.entries[pin.name];
  if (!Array.isArray(versions) || versions.length === 0) {
    throw new HomelabError(`${where} has no chart named ${pin.name}`);
  }
  const entry = versions.find((v: unknown) => isRecord(v) && String(v.version) === pin.version);
  if (!isRecord(entry)) {
    const listed = versions
      .filter(isRecord)
      .map((v) => String(v.version))
      .slice(0, 5)
      .join(', ');
    throw new HomelabError(
      `${where} has no version ${pin.version} of ${pin.name} (it lists ${versions.length}, first: ${listed})`,
    );
  }
  const urls = entry.urls;
  if (!Array.isArray(urls) || typeof urls[0] !== 'string' || urls[0] === '') {
    throw new HomelabError(`${where}: ${pin.name} ${pin.version} has no download URL`);
  }
  const digest = typeof entry.digest === 'string' ? entry.digest.replace(/^sha256:/, '') : '';
  if (!/^[0-9a-fA-F]{64}$/.test(digest)) {
    throw new HomelabError(
      `${where}: ${pin.name} ${pin.version} has no sha256 digest; refusing an unverifiable download`,
    );
  }
  return { url: resolveChartUrl(pin.repository, urls[0]), digest: digest.toLowerCase() };
}
