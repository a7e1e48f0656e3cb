// `homelab vendor verify`: the bytes in vendor/ against vendor/lock.json, and the lock against
// the pins. Every mismatch is an issue; nothing is thrown for one.
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import {
  error,
  FileReadError,
  type Issue,
  MAX_ARTIFACT_BYTES,
  readFailureCode,
  readRegularFile,
  type UpstreamPin,
  vendorPath,
} from '@homelab/core';
import { listFiles, sha256 } from './fs.js';
import { isCopyleft } from './licence.js';
import { LOCK_FILE, parseLock, pinDifferences } from './lock.js';
import { pinIssues } from './validate.js';

/** The codes `verifyVendor` reports. */
export type VendorIssueCode =
  | 'lock-missing'
  | 'lock-invalid'
  | 'file-missing'
  | 'file-changed'
  | 'file-unreadable'
  | 'file-unlisted'
  | 'pin-invalid'
  | 'pin-duplicate'
  | 'pin-not-locked'
  | 'pin-changed'
  | 'lock-not-pinned';

const SYNC = 'run `homelab vendor sync`';

/** What a vendored file that is no regular file can be: reported, not thrown (a check failed). */
const NOT_A_REGULAR_FILE = new Set(['EISDIR', 'EINVAL', 'ELOOP', 'EFBIG', 'ENXIO']);

/**
 * The bytes of a vendored file (a regular file, read bounded), or why it is none: the reason of
 * `readRegularFile`'s refusal (`it is a named pipe (FIFO), not a regular file`), without the path.
 * Faults of the machine (permission denied, too many open files) are thrown.
 */
function readVendored(path: string): { bytes: Buffer } | { reason: string } {
  try {
    return { bytes: readRegularFile(path, { maxBytes: MAX_ARTIFACT_BYTES }) };
  } catch (cause) {
    if (!NOT_A_REGULAR_FILE.has(readFailureCode(cause) ?? '')) throw cause;
    if (cause instanceof FileReadError) return { reason: cause.reason };
    return { reason: cause instanceof Error ? cause.message : String(cause) };
  }
}

function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function byPath(a: Issue, b: Issue): number {
  const pa = a.output ?? '';
  const pb = b.output ?? '';
  if (pa !== pb) return pa < pb ? -1 : 1;
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}

/**
 * Checks `vendorDir` against its `lock.json`: every locked file is there, a regular file (read
 * bounded: a FIFO, a folder or a symlink in its place is a `file-unreadable` issue, never waited
 * on or followed) with its sha256, no file is there that the lock does not list; with `pins`,
 * every pin is locked as pinned and nothing locked is unpinned. Returns the issues (paths
 * relative to `vendorDir`), sorted.
 */
export function verifyVendor(vendorDir: string, pins?: readonly UpstreamPin[]): Issue[] {
  const lockPath = join(vendorDir, LOCK_FILE);
  if (!existsSync(lockPath)) {
    return [
      error({
        code: 'lock-missing',
        path: [],
        output: LOCK_FILE,
        message: `is missing from ${vendorDir}`,
        expected: `the lock \`homelab vendor sync\` writes (${SYNC})`,
      }),
    ];
  }
  // A FIFO, a folder or a symlink at vendor/lock.json is refused by name, never read.
  const { lock, issues: lockIssues } = parseLock(readRegularFile(lockPath).toString('utf8'));
  if (lock === undefined) return lockIssues;
  const issues: Issue[] = [];
  const present = new Set(listFiles(vendorDir));
  present.delete(LOCK_FILE);
  const locked = new Map(lock.artifacts.map((a) => [a.path, a]));

  for (const artifact of lock.artifacts) {
    if (artifact.copyleft !== isCopyleft(artifact.licence)) {
      issues.push(
        error({
          code: 'lock-invalid',
          path: [],
          output: artifact.path,
          value: artifact.copyleft,
          message: `is marked copyleft: ${artifact.copyleft} in ${LOCK_FILE}, but its licence is ${artifact.licence}`,
          expected: `copyleft: ${isCopyleft(artifact.licence)}`,
        }),
      );
    }
    const file = join(vendorDir, artifact.path);
    if (!present.has(artifact.path) && isFolder(file)) {
      issues.push(
        error({
          code: 'file-unreadable',
          path: [],
          output: artifact.path,
          message: 'is a folder, not the vendored file',
          expected: `the vendored file, a regular file (${SYNC} to restore it)`,
        }),
      );
      continue;
    }
    if (!present.has(artifact.path)) {
      issues.push(
        error({
          code: 'file-missing',
          path: [],
          output: artifact.path,
          message: `is listed in ${LOCK_FILE} but missing`,
          expected: `the vendored file (${SYNC})`,
        }),
      );
      continue;
    }
    const read = readVendored(file);
    if ('reason' in read) {
      issues.push(
        error({
          code: 'file-unreadable',
          path: [],
          output: artifact.path,
          message: `cannot be read: ${read.reason}`,
          expected: `the vendored file, a regular file (${SYNC} to restore it)`,
        }),
      );
      continue;
    }
    const actual = sha256(read.bytes);
    if (actual !== artifact.sha256) {
      issues.push(
        error({
          code: 'file-changed',
          path: [],
          output: artifact.path,
          value: actual,
          message: `has changed: its sha256 differs from ${LOCK_FILE}`,
          expected: `sha256 ${artifact.sha256}; vendored files stay verbatim (${SYNC} to restore it)`,
        }),
      );
    }
  }
  for (const path of present) {
    if (locked.has(path)) continue;
    issues.push(
      error({
        code: 'file-unlisted',
        path: [],
        output: path,
        message: `is not listed in ${LOCK_FILE}`,
        expected: 'only pinned artifacts in vendor/ (`homelab vendor sync` removes the rest)',
      }),
    );
  }

  if (pins !== undefined) {
    issues.push(...pinIssues(pins));
    const pinned = new Set<string>();
    for (const pin of pins) {
      const path = vendorPath(pin);
      pinned.add(path);
      const artifact = locked.get(path);
      if (artifact === undefined) {
        issues.push(
          error({
            code: 'pin-not-locked',
            path: [],
            output: path,
            message: `is pinned but not in ${LOCK_FILE}`,
            expected: `a locked artifact for every pin (${SYNC})`,
          }),
        );
        continue;
      }
      const differences = pinDifferences(artifact, pin);
      if (differences.length > 0) {
        issues.push(
          error({
            code: 'pin-changed',
            path: [],
            output: path,
            message: `is locked with ${differences.join(', ')}`,
            expected: `the lock to match the pin (${SYNC})`,
          }),
        );
      }
    }
    for (const artifact of lock.artifacts) {
      if (pinned.has(artifact.path)) continue;
      issues.push(
        error({
          code: 'lock-not-pinned',
          path: [],
          output: artifact.path,
          message: `is in ${LOCK_FILE} but no pin asks for it`,
          expected: 'only pinned artifacts (`homelab vendor sync` removes it)',
        }),
      );
    }
  }
  return issues.sort(byPath);
}

/**
 * Why `bytes`, read from `vendorDir`/`path`, are not the file `vendor/lock.json` locks at that
 * path (`undefined`: they are), for a caller that carries a vendored file on (`homelab release`
 * bundles the upstream chart archives into the released ones): the lock missing or unreadable,
 * the path not listed, or another sha256. `verifyVendor`'s checks for one file, as one sentence.
 */
export function lockedFileProblem(
  vendorDir: string,
  path: string,
  bytes: Uint8Array,
): string | undefined {
  const lockPath = join(vendorDir, LOCK_FILE);
  if (!existsSync(lockPath))
    return `vendor/${LOCK_FILE} is missing, so nothing in vendor/ is verified`;
  const { lock, issues } = parseLock(readRegularFile(lockPath).toString('utf8'));
  if (lock === undefined) {
    const [first] = issues;
    return `vendor/${LOCK_FILE} is unreadable${first === undefined ? '' : ` (${first.output ?? LOCK_FILE} ${first.message})`}`;
  }
  const artifact = lock.artifacts.find((candidate) => candidate.path === path);
  if (artifact === undefined) return `vendor/${path} is not listed in vendor/${LOCK_FILE}`;
  const actual = sha256(bytes);
  if (actual !== artifact.sha256) {
    return `vendor/${path} has changed: its sha256 is ${actual}, vendor/${LOCK_FILE} locks ${artifact.sha256}`;
  }
  return undefined;
}
