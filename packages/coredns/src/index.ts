export type { CorednsSettings } from './component.js';
export { corednsComponent } from './component.js';
