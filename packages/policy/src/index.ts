export type { PolicyName } from './component.js';
export { policyComponent } from './component.js';
export type { Verdict, VerdictCache } from './evaluate.js';
export {
  configExemptNamespaces,
  evaluateConstraints,
  isExemptNamespace,
  runValidations,
  templatesByKind,
  withoutNulls,
} from './evaluate.js';
export { MONITOR_CREDENTIALS, MONITOR_FILES } from './generated/monitor-credentials.js';
export { CONSTRAINT_TEMPLATE_HEALTH_LUA } from './health.js';
export type { CredentialKind } from './monitor-credentials.js';
export { credentialObject } from './monitor-credentials.js';
export type { PolicySettings } from './settings.js';
export { POLICY_NAMES } from './templates.js';
