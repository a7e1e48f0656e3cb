import { HomelabError } from '@homelab/core';
import semver from 'semver';
import { parse, stringify } from 'yaml';
import { compareCodeUnits } from './files.js';
import { ReleaseRefused } from './refusal.js';

/** `Chart.yaml` fields that a Helm repository index repeats for each chart version. */
const METADATA_FIELDS = [
  'annotations',
  'apiVersion',
  'appVersion',
  'dependencies',
  'deprecated',
  'description',
  'home',
  'icon',
  'keywords',
  'kubeVersion',
  'maintainers',
  'name',
  'sources',
  'type',
  'version',
] as const;

/** One released archive to list in the index. */
export interface IndexEntryInput {
  /** The chart's `Chart.yaml`, parsed. */
  readonly metadata: { readonly [key: string]: unknown };
  /** sha256 of the archive, hex. */
  readonly digest: string;
  /** Defaults to `<name>-<version>.tgz` (relative to the index). */
  readonly url?: string;
}

type IndexEntry = { [key: string]: unknown };

/** RFC 3339 in UTC, whole seconds: `2024-05-01T12:00:00Z`. */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function newestFirst(a: IndexEntry, b: IndexEntry): number {
  const va = String(a.version);
  const vb = String(b.version);
  const ca = semver.valid(va);
  const cb = semver.valid(vb);
  if (ca !== null && cb !== null) return semver.rcompare(ca, cb);
  if (ca !== null) return -1;
  if (cb !== null) return 1;
  return compareCodeUnits(vb, va);
}

function sortKeys(entry: IndexEntry): IndexEntry {
  const out: IndexEntry = {};
  for (const key of Object.keys(entry).sort(compareCodeUnits)) out[key] = entry[key];
  return out;
}

function readExisting(
  existing: string | undefined,
  where: string,
): { [chart: string]: IndexEntry[] } {
  if (existing === undefined || existing.trim() === '') return {};
  let data: unknown;
  try {
    data = parse(existing);
  } catch (cause) {
    const reason =
      cause instanceof Error ? (cause.message.split('\n')[0] ?? '').replace(/:$/, '') : '';
    throw new HomelabError(
      `the existing ${where} is not valid YAML${reason === '' ? '' : ` (${reason})`}: a Helm repository index is expected there; restore it or move it away`,
      { cause },
    );
  }
  const index = data as { apiVersion?: unknown; entries?: unknown } | null;
  if (typeof index !== 'object' || index === null || index.apiVersion !== 'v1') {
    throw new HomelabError(`the existing ${where} is not a Helm repository index (apiVersion v1)`);
  }
  const entries = index.entries ?? {};
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
    throw new HomelabError(`the existing ${where} has no \`entries\` map`);
  }
  const out: { [chart: string]: IndexEntry[] } = {};
  for (const [chart, versions] of Object.entries(entries)) {
    if (!Array.isArray(versions)) {
      throw new HomelabError(`the existing ${where} lists ${chart} without a list of versions`);
    }
    out[chart] = versions.filter((v): v is IndexEntry => typeof v === 'object' && v !== null);
  }
  return out;
}

/**
 * A Helm repository `index.yaml`: the existing index (if any) with the given archives added;
 * other versions and charts stay. An archive of a version the index already lists must have the
 * same digest (a released version never changes: refused otherwise) and keeps its entry's first
 * `created`. `created` of a new entry and `generated` are `timestamp` (the release commit's
 * time, never the clock). Versions are listed newest first (semver), keys sorted.
 */
export function buildIndex(
  existing: string | undefined,
  entries: readonly IndexEntryInput[],
  timestamp: number,
  /** How messages name the existing index (its path). */
  where = 'index.yaml',
): string {
  const charts = readExisting(existing, where);
  const created = rfc3339(timestamp);
  for (const input of entries) {
    const name = input.metadata.name;
    const version = input.metadata.version;
    if (typeof name !== 'string' || typeof version !== 'string') {
      throw new HomelabError('a chart to index has no string `name` and `version` in Chart.yaml');
    }
    const versions = charts[name] ?? [];
    const previous = versions.find((v) => v.version === version);
    if (previous !== undefined && previous.digest !== input.digest) {
      // A published version never changes: Helm clients and caches hold the first archive.
      throw new ReleaseRefused(
        `index.yaml already lists ${name} ${version} with another archive (digest ${String(previous.digest)}, now ${input.digest}): a released version never changes. Its chart content is the one recorded for the version, so either that record was rewritten for other content or the bytes packed with it moved (a dependency archive vendor/lock.json locks afresh, another packer); both need a new version (add a changeset, pnpm version-packages)`,
      );
    }
    const entry: IndexEntry = {};
    for (const field of METADATA_FIELDS) {
      const value = input.metadata[field];
      if (value !== undefined && value !== null) entry[field] = value;
    }
    entry.created =
      previous !== undefined &&
      previous.digest === input.digest &&
      typeof previous.created === 'string'
        ? previous.created
        : created;
    entry.digest = input.digest;
    entry.urls = [input.url ?? `${name}-${version}.tgz`];
    charts[name] = [...versions.filter((v) => v.version !== version), entry];
  }
  const sorted: { [chart: string]: IndexEntry[] } = {};
  for (const chart of Object.keys(charts).sort(compareCodeUnits)) {
    sorted[chart] = [...(charts[chart] ?? [])].sort(newestFirst).map(sortKeys);
  }
  return stringify(
    { apiVersion: 'v1', entries: sorted, generated: created },
    { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false },
  );
}
