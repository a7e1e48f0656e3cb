export { CERT_MANAGER_CHECKS, certificateRenewal } from './checks.js';
export { certManagerComponent } from './component.js';
export { acmeSelfCheckDns, serverBlocks } from './self-check.js';
export type { CertManagerSettings } from './settings.js';
