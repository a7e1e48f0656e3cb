export type { LabelMatcher, ScrapeTarget, SeriesSelector } from './alert-targets.js';
export {
  alertTargetProblems,
  clusterMadeServices,
  scrapeTargets,
  seriesSelectors,
} from './alert-targets.js';
export { DEFINITION_RULES, monitoringComponent, TEST_ALERT_NAME } from './component.js';
export type { PromqlProblem } from './promql.js';
export { promqlProblem } from './promql.js';
export type { RouteNode } from './route-match.js';
export { receiversFor } from './route-match.js';
export type { MonitoringSettings } from './settings.js';
