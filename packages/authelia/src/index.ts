export { autheliaComponent } from './component.js';
export type { AutheliaSettings } from './settings.js';
