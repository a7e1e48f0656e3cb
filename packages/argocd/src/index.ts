export { argocdComponent } from './component.js';
export { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA, healthKey } from './health.js';
export type { ArgocdSettings } from './settings.js';
export { ARGOCD_APP_VERSION } from './versions.js';
