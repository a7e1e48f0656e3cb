export { certManagerComponent } from './component.js';
export type { CertManagerSettings } from './settings.js';
