export type { AssembledApplications } from './applications.js';
export {
  assembleApplications,
  BOOTSTRAP_PROJECT,
  CNI_COMPONENT,
  GATEWAY_API_CRDS,
  GATEWAY_API_PATH,
  GATEWAY_API_REPOSITORY,
  IN_CLUSTER,
  PLATFORM_CHART,
  PLATFORM_PROJECT,
  RESOURCES_FINALIZER,
  SECRETS_PROVIDERS,
  SYNC_WAVE_ANNOTATION,
} from './applications.js';
export {
  APPLICATION_HEALTH_KEY,
  APPLICATION_HEALTH_LUA,
  ARGOCD_CHART_NAME,
  argocdComponent,
  renderArgocd,
  systemIgnoreDifferences,
} from './argocd.js';
export type { LocatedObject } from './checks.js';
export {
  argocdValidators,
  checkApplicationSources,
  checkProjectPermissions,
  validateArgoObjects,
} from './checks.js';
export type { DependencyNode, DependencyProblem, SyncWaves } from './graph.js';
export { formatCycle, syncWaves } from './graph.js';
export type { ArgocdOidcClient } from './oidc.js';
export { ARGOCD_OIDC_SCOPES, argocdHost, argocdOidcClient, oidcIssuer } from './oidc.js';
export type { ArgocdSettings, ResolvedArgocdSettings, SecretKeyReference } from './settings.js';
export {
  ARGOCD_COMPONENT,
  ARGOCD_NAMESPACE,
  argocdSecretRef,
  resolveArgocdSettings,
} from './settings.js';
export { ARGOCD_APP_VERSION, ARGOCD_CHART } from './versions.js';
