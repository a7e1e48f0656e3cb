export type { ChangedChart } from './changesets.js';
export { changesetProblems, pendingBumps, writeChangesets } from './changesets.js';
export type { PublishOptions, ReleaseIo } from './command.js';
export { publishCharts, recordVersionsOnDisk } from './command.js';
export { chartDigest } from './digest.js';
export type { ChartState, VersionRecord } from './guard.js';
export {
  chartsNeedingChangeset,
  chartsToRecord,
  checkChartVersions,
  recordNewCharts,
  serializeVersionRecord,
} from './guard.js';
export {
  chartFolderPaths,
  readChangesetFiles,
  readVersionRecord,
  readWorkspacePackageNames,
} from './repo.js';
export type { BuildStatesInput } from './states.js';
export { chartStatesFromBuild, foreignChartFiles } from './states.js';
