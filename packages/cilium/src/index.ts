export type { RenderCiliumOptions } from './cilium.js';
export {
  CILIUM_TALOS_REQUIREMENTS,
  ciliumComponent,
  renderCilium,
  resolveCiliumVersion,
} from './cilium.js';
export {
  CILIUM_GATEWAY_CLASS,
  CILIUM_NAMESPACE,
  CILIUM_SECRETS_NAMESPACE,
  KUBE_PRISM_PORT,
  PLATFORM_GATEWAY,
} from './constants.js';
export type { CiliumSettings, ResolvedCiliumSettings } from './settings.js';
export { ciliumDefaults, resolveCiliumSettings } from './settings.js';
export { ciliumValidators, validateCiliumObjects } from './validators.js';
export type { CiliumRelease, CiliumVersion } from './versions.js';
export {
  CILIUM_CHART_VERSION,
  CILIUM_RELEASES,
  CILIUM_REPOSITORY,
  CILIUM_VERSIONS,
  GATEWAY_API_VERSION,
  gatewayApiVersionFor,
  isCiliumVersion,
} from './versions.js';
