export { argocdComponent } from './component.js';
export { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA } from './health.js';
export type { ArgocdSettings } from './settings.js';
