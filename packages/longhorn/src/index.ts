export { longhornComponent } from './component.js';
export type { LonghornSettings } from './settings.js';
