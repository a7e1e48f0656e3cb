// `homelab vendor sync`: bring vendor/ to exactly what the pins ask for, atomically.
//
// A mirror is checked first (`mirrorProblem`: an existing folder marked by a SOURCES.md), before
// anything is reused. Then for each pin (in path order): reuse the vendored file when the lock
// already has this pin and its bytes (a regular file, read bounded) still match its sha256;
// otherwise take the bytes from the mirror (`<mirror>/<path>`, a regular file, read bounded) or
// download them (charts: `<repository>/index.yaml` → the version's `urls[0]` → sha256 checked
// against the index's `digest`; files: the pinned URL). Everything is collected in memory first;
// only when every pin succeeded is the new tree (artifacts + lock.json) written aside and swapped
// in, so a failure of any kind leaves vendor/ exactly as it was.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  formatIssue,
  HomelabError,
  MAX_ARTIFACT_BYTES,
  readRegularFile,
  type UpstreamPin,
  vendorPath,
} from '@homelab/core';
import type { Fetcher } from './fetcher.js';
import { listFiles, sha256 } from './fs.js';
import { findChartInIndex, indexUrl } from './helm-index.js';
import {
  LOCK_FILE,
  type LockedArtifact,
  lockEntry,
  parseLock,
  pinDifferences,
  serializeLock,
  type VendorLock,
} from './lock.js';
import { type MirrorReader, mirrorReader } from './mirror.js';
import { describePin, pinIssues } from './validate.js';

/** Where sync takes the bytes from: an offline mirror folder, or the network. */
export type VendorSource = { readonly mirror: string } | { readonly fetch: Fetcher };

export interface SyncVendorOptions {
  readonly pins: readonly UpstreamPin[];
  /** The vendor folder (created when missing); only sync writes in it. */
  readonly vendorDir: string;
  readonly source: VendorSource;
  /** Called once per pin, in path order, after its bytes are in hand. */
  readonly onArtifact?: (path: string, how: 'reused' | 'mirror' | 'download') => void;
}

export interface SyncResult {
  /** The lock as written (or as it already was). */
  readonly lock: VendorLock;
  /** Paths whose bytes came from the source (new, changed or repaired files). */
  readonly fetched: readonly string[];
  /** Paths kept from vendor/ (the lock's sha256 matched). */
  readonly reused: readonly string[];
  /** Paths removed from vendor/ because no pin needs them. */
  readonly removed: readonly string[];
  /** False when vendor/ already was exactly this and nothing was written. */
  readonly changed: boolean;
}

interface Obtained {
  readonly bytes: Uint8Array;
  readonly entry: LockedArtifact;
  readonly reused: boolean;
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function lockTextOrUndefined(path: string): string | undefined {
  try {
    return readRegularFile(path).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * The bytes of a vendored file, or `undefined` when it is not a regular file that can be read
 * (a FIFO, a symlink, a folder in its place): sync then takes it from the source again, as it
 * does a file whose bytes changed. Read bounded: a FIFO is never waited on.
 */
function vendoredBytes(path: string): Buffer | undefined {
  try {
    return readRegularFile(path, { maxBytes: MAX_ARTIFACT_BYTES });
  } catch {
    return undefined;
  }
}

function previousLock(vendorDir: string): Map<string, LockedArtifact> {
  const path = join(vendorDir, LOCK_FILE);
  if (!existsSync(path)) return new Map();
  // An unreadable lock only means nothing can be reused: sync rewrites it. Read bounded: a FIFO
  // or a folder there is not waited on.
  const text = lockTextOrUndefined(path);
  if (text === undefined) return new Map();
  const { lock } = parseLock(text);
  return new Map((lock?.artifacts ?? []).map((a) => [a.path, a]));
}

/**
 * Makes `vendorDir` hold exactly the pinned artifacts and their `lock.json`. Rejects with a
 * `HomelabError` on any failure, naming the mirror when it is none (`mirrorProblem`), else the pin
 * (invalid pin, a mirror file missing or not a regular file, HTTP error, dead server, version
 * missing from the index, digest mismatch, bytes that differ from the lock); vendor/ is then
 * untouched.
 */
export async function syncVendor(options: SyncVendorOptions): Promise<SyncResult> {
  const invalid = pinIssues(options.pins);
  if (invalid.length > 0) {
    throw new HomelabError(
      `invalid pins, nothing synced:\n${invalid.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
  }
  const source = options.source;
  // Before anything is reused: a mistyped mirror is refused even when vendor/ is current.
  const from: { readonly mirror: MirrorReader } | { readonly fetch: Fetcher } =
    'mirror' in source ? { mirror: mirrorReader(resolve(source.mirror)) } : source;
  const vendorDir = resolve(options.vendorDir);
  const previous = previousLock(vendorDir);
  const onDisk = listFiles(vendorDir);
  const present = new Set(onDisk);
  const indexes = new Map<string, Promise<string>>();
  const decoder = new TextDecoder();

  const index = (repository: string, fetch: Fetcher): Promise<string> => {
    let text = indexes.get(repository);
    if (text === undefined) {
      text = fetch(indexUrl(repository)).then((bytes) => decoder.decode(bytes));
      indexes.set(repository, text);
    }
    return text;
  };

  const fromSource = async (pin: UpstreamPin, path: string): Promise<Obtained> => {
    if ('mirror' in from) {
      const bytes = from.mirror(path);
      return { bytes, entry: lockEntry(pin, sha256(bytes), 'mirror'), reused: false };
    }
    if (pin.kind === 'helm-chart') {
      const found = findChartInIndex(await index(pin.repository, from.fetch), pin);
      const bytes = await from.fetch(found.url);
      const digest = sha256(bytes);
      if (digest !== found.digest) {
        throw new HomelabError(
          `${found.url} has sha256 ${digest}, but ${indexUrl(pin.repository)} says ${found.digest}`,
        );
      }
      return { bytes, entry: lockEntry(pin, digest, 'download', found.url), reused: false };
    }
    const bytes = await from.fetch(pin.url);
    return { bytes, entry: lockEntry(pin, sha256(bytes), 'download'), reused: false };
  };

  const obtain = async (pin: UpstreamPin): Promise<Obtained> => {
    const path = vendorPath(pin);
    const locked = previous.get(path);
    const sameLockedPin = locked !== undefined && pinDifferences(locked, pin).length === 0;
    if (sameLockedPin && present.has(path)) {
      const bytes = vendoredBytes(join(vendorDir, path));
      if (bytes !== undefined && sha256(bytes) === locked.sha256) {
        return { bytes, entry: locked, reused: true };
      }
    }
    let obtained: Obtained;
    try {
      obtained = await fromSource(pin, path);
    } catch (cause) {
      throw new HomelabError(`${describePin(pin)}: ${messageOf(cause)}`, { cause });
    }
    if (
      sameLockedPin &&
      locked.via === obtained.entry.via &&
      locked.sha256 !== obtained.entry.sha256
    ) {
      throw new HomelabError(
        `${describePin(pin)}: the ${obtained.entry.via === 'mirror' ? 'mirror' : 'upstream'} bytes have sha256 ${obtained.entry.sha256}, but vendor/${LOCK_FILE} locked ${locked.sha256} for this pin. Check the upstream change; to accept it, remove the entry for ${path} from ${LOCK_FILE} and sync again.`,
      );
    }
    return obtained;
  };

  const pins = [...options.pins].sort((a, b) => {
    const pa = vendorPath(a);
    const pb = vendorPath(b);
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  });
  const results = new Map<string, Obtained>();
  for (const pin of pins) {
    const obtained = await obtain(pin);
    const path = vendorPath(pin);
    results.set(path, obtained);
    options.onArtifact?.(path, obtained.reused ? 'reused' : obtained.entry.via);
  }

  const lockText = serializeLock([...results.values()].map((r) => r.entry));
  const lock = parseLock(lockText).lock as VendorLock;
  const wanted = new Set([...results.keys(), LOCK_FILE]);
  const removed = onDisk.filter((path) => !wanted.has(path));
  const fetched = [...results].filter(([, r]) => !r.reused).map(([path]) => path);
  const reused = [...results].filter(([, r]) => r.reused).map(([path]) => path);
  const lockPath = join(vendorDir, LOCK_FILE);
  const unchanged =
    removed.length === 0 &&
    fetched.length === 0 &&
    present.has(LOCK_FILE) &&
    lockTextOrUndefined(lockPath) === lockText;
  if (unchanged) return { lock, fetched, reused, removed, changed: false };

  writeAside(vendorDir, (stage) => {
    for (const [path, { bytes }] of results) {
      const target = join(stage, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, bytes);
    }
    writeFileSync(join(stage, LOCK_FILE), lockText);
  });
  return { lock, fetched, reused, removed, changed: true };
}

/** Builds the new tree in a sibling folder with `fill`, then swaps it in for `dir`. */
function writeAside(dir: string, fill: (stage: string) => void): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const stage = mkdtempSync(join(parent, '.homelab-stage-vendor-'));
  const old = `${stage}-previous`;
  try {
    fill(stage);
    if (existsSync(dir)) {
      renameSync(dir, old);
      try {
        renameSync(stage, dir);
      } catch (cause) {
        renameSync(old, dir);
        throw cause;
      }
    } else {
      renameSync(stage, dir);
    }
  } catch (cause) {
    rmSync(stage, { recursive: true, force: true });
    throw new HomelabError(`writing ${dir} failed (${messageOf(cause)}); it was left as it was`, {
      cause,
    });
  }
  // The new tree is in place; the old one is garbage (and git-ignored should removal fail).
  try {
    rmSync(old, { recursive: true, force: true });
  } catch {}
}
