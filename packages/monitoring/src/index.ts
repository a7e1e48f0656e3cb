export { monitoringComponent } from './component.js';
export type { PromqlProblem } from './promql.js';
export { promqlProblem } from './promql.js';
export type { MonitoringSettings } from './settings.js';
