export { ciliumComponent } from './component.js';
export type { CiliumSettings } from './settings.js';
