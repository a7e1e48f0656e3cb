export { bitwardenSmComponent } from './component.js';
export { BITWARDEN_SECRET_HEALTH_LUA } from './health.js';
export type { BitwardenSmSettings } from './settings.js';
