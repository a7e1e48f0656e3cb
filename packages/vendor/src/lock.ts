// vendor/lock.json: what each vendored file is, where it came from, its sha256 and licence.
// Pure: parse, serialise (sorted, fixed key order, final newline) and compare with pins.
import { error, type Issue, type UpstreamPin, vendorPath } from '@homelab/core';
import { isCopyleft } from './licence.js';
import { isSafeRelativePath } from './paths.js';

export const LOCK_FILE = 'lock.json';
export const LOCKFILE_VERSION = 1;

/** One vendored file in `vendor/lock.json`. */
export interface LockedArtifact {
  /** vendor-relative path. */
  readonly path: string;
  readonly kind: UpstreamPin['kind'];
  /** The chart name (charts only). */
  readonly name?: string;
  readonly version: string;
  /** Charts: the Helm repository URL; files: the URL upstream publishes the file at. */
  readonly source: string;
  /** Charts fetched from their repository: the archive URL its index.yaml gave. */
  readonly url?: string;
  /** Hex sha256 of the vendored bytes. */
  readonly sha256: string;
  /** SPDX licence expression. */
  readonly licence: string;
  /** Copyleft (AGPL, GPL, MPL, …): vendored verbatim, unmodified, never copied into code. */
  readonly copyleft: boolean;
  /** How the bytes arrived: from the upstream URL, or from an offline mirror of it. */
  readonly via: 'download' | 'mirror';
}

export interface VendorLock {
  readonly lockfileVersion: typeof LOCKFILE_VERSION;
  /** Sorted by path. */
  readonly artifacts: readonly LockedArtifact[];
}

/** The lock entry a pin yields for bytes with this digest. */
export function lockEntry(
  pin: UpstreamPin,
  sha256: string,
  via: LockedArtifact['via'],
  url?: string,
): LockedArtifact {
  const common = {
    path: vendorPath(pin),
    kind: pin.kind,
    ...(pin.kind === 'helm-chart' ? { name: pin.name } : {}),
    version: pin.version,
    source: pin.kind === 'helm-chart' ? pin.repository : pin.url,
  };
  return {
    ...common,
    ...(url === undefined ? {} : { url }),
    sha256,
    licence: pin.licence,
    copyleft: isCopyleft(pin.licence),
    via,
  };
}

/**
 * What differs between a lock entry and the pin at the same path (`[]` when the entry is this
 * pin's): kind, name, version, source or licence.
 */
export function pinDifferences(entry: LockedArtifact, pin: UpstreamPin): string[] {
  const wanted = lockEntry(pin, entry.sha256, entry.via);
  const out: string[] = [];
  for (const key of ['kind', 'name', 'version', 'source', 'licence'] as const) {
    if (entry[key] !== wanted[key]) {
      out.push(`${key} ${JSON.stringify(entry[key])} (pinned: ${JSON.stringify(wanted[key])})`);
    }
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `vendor/lock.json` text: artifacts sorted by path, keys in a fixed order, LF, final newline. */
export function serializeLock(artifacts: readonly LockedArtifact[]): string {
  const sorted = [...artifacts].sort((a, b) => compare(a.path, b.path));
  const ordered = sorted.map((a) => ({
    path: a.path,
    kind: a.kind,
    ...(a.name === undefined ? {} : { name: a.name }),
    version: a.version,
    source: a.source,
    ...(a.url === undefined ? {} : { url: a.url }),
    sha256: a.sha256,
    licence: a.licence,
    copyleft: a.copyleft,
    via: a.via,
  }));
  return `${JSON.stringify({ lockfileVersion: LOCKFILE_VERSION, artifacts: ordered }, null, 2)}\n`;
}

function isRecord(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STRING_FIELDS = ['path', 'version', 'source', 'sha256', 'licence'] as const;

/** Parses `vendor/lock.json`; every problem is an issue (code `lock-invalid`), never a throw. */
export function parseLock(text: string): { lock?: VendorLock; issues: Issue[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return {
      issues: [
        error({
          code: 'lock-invalid',
          path: [],
          output: LOCK_FILE,
          message: `is not JSON (${message})`,
          expected: 'the file `homelab vendor sync` writes',
        }),
      ],
    };
  }
  const invalid = (path: string, message: string, expected: string): Issue =>
    error({ code: 'lock-invalid', path: [], output: path, message, expected });
  if (!isRecord(data) || data.lockfileVersion !== LOCKFILE_VERSION) {
    return {
      issues: [
        invalid(
          LOCK_FILE,
          'has no lockfileVersion 1',
          '{ "lockfileVersion": 1, "artifacts": [...] }',
        ),
      ],
    };
  }
  if (!Array.isArray(data.artifacts)) {
    return { issues: [invalid(LOCK_FILE, 'has no artifacts list', '"artifacts": [...]')] };
  }
  const issues: Issue[] = [];
  const artifacts: LockedArtifact[] = [];
  const seen = new Set<string>();
  data.artifacts.forEach((item: unknown, i: number) => {
    const where = `${LOCK_FILE}: artifacts[${i}]`;
    if (!isRecord(item)) {
      issues.push(invalid(where, 'is not an object', 'an artifact entry'));
      return;
    }
    const missing: string[] = STRING_FIELDS.filter((key) => typeof item[key] !== 'string');
    if (item.kind !== 'helm-chart' && item.kind !== 'file') missing.push('kind');
    if (item.kind === 'helm-chart' && typeof item.name !== 'string') missing.push('name');
    if (typeof item.copyleft !== 'boolean') missing.push('copyleft');
    if (item.via !== 'download' && item.via !== 'mirror') missing.push('via');
    if (item.url !== undefined && typeof item.url !== 'string') missing.push('url');
    if (typeof item.path === 'string' && !isSafeRelativePath(item.path)) missing.push('path');
    if (typeof item.sha256 === 'string' && !/^[0-9a-f]{64}$/.test(item.sha256)) {
      missing.push('sha256');
    }
    if (missing.length > 0) {
      issues.push(
        invalid(
          where,
          `has a missing or malformed ${missing.join(', ')}`,
          'path, kind, name (charts), version, source, sha256 (64 hex digits), licence, copyleft, via',
        ),
      );
      return;
    }
    const artifact = item as unknown as LockedArtifact;
    if (seen.has(artifact.path)) {
      issues.push(invalid(where, `lists ${artifact.path} twice`, 'one entry per path'));
      return;
    }
    seen.add(artifact.path);
    artifacts.push(artifact);
  });
  if (issues.length > 0) return { issues };
  return {
    lock: {
      lockfileVersion: LOCKFILE_VERSION,
      artifacts: artifacts.sort((a, b) => compare(a.path, b.path)),
    },
    issues,
  };
}
