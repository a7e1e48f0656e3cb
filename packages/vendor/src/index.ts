// core's bound on one artifact, kept under vendor's name for its importers (the CLI).
export { MAX_ARTIFACT_BYTES } from '@homelab/core';
export type { Fetcher, HttpFetcherOptions } from './fetcher.js';
export { httpFetcher } from './fetcher.js';
export type { IndexedChart } from './helm-index.js';
export { findChartInIndex, indexUrl, resolveChartUrl } from './helm-index.js';
export { isCopyleft } from './licence.js';
export type { LockedArtifact, VendorLock } from './lock.js';
export { LOCK_FILE, parseLock, serializeLock } from './lock.js';
export { mirrorProblem } from './mirror.js';
export type { SyncResult, SyncVendorOptions, VendorSource } from './sync.js';
export { syncVendor } from './sync.js';
export type {
  ChangedDefault,
  RemovedKey,
  RenamedKey,
  RetypedKey,
  ValuesUpgradeReport,
  ValueType,
} from './upgrade.js';
export { formatValuesUpgradeReport, valuesUpgradeReport } from './upgrade.js';
export { describePin, pinIssues } from './validate.js';
export type { VendorIssueCode } from './verify.js';
export { lockedFileProblem, verifyVendor } from './verify.js';
