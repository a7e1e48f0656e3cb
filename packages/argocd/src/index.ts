export { argocdComponent } from './component.js';
export type { ArgocdSettings } from './settings.js';
