export { bitwardenSmComponent } from './component.js';
export type { BitwardenSmSettings } from './settings.js';
