export type { BumpType, ChangedChart } from './changesets.js';
export { chartPackageName, pendingBumps, writeChangesets } from './changesets.js';
export { chartDigest, isChartContent, VERSION_RECORD_PATH } from './digest.js';
export type { ChartFiles, FileContent } from './files.js';
export type { ChartState, RecordedVersion, VersionRecord } from './guard.js';
export {
  changedWithoutVersion,
  chartsNeedingChangeset,
  checkChartVersions,
  parseVersionRecord,
  recordVersions,
  serializeVersionRecord,
} from './guard.js';
export type { HelmignoreRule } from './helmignore.js';
export { isIgnored, isPackaged, parseHelmignore } from './helmignore.js';
export type { PackOptions } from './pack.js';
export { packagedFiles, packChart } from './pack.js';
export type { ChartFolder } from './repo.js';
export {
  readChangesetFiles,
  readChartFolders,
  readChartStates,
  readVersionRecord,
} from './repo.js';
export type { IndexEntryInput } from './repo-index.js';
export { buildIndex, rfc3339 } from './repo-index.js';
export type { BuildStatesInput } from './states.js';
export { chartStatesFromBuild } from './states.js';
