export { monitoringComponent } from './component.js';
export type { MonitoringSettings } from './settings.js';
