export { l2InterfacesMatchLinks } from './checks.js';
export { ciliumComponent } from './component.js';
export { entityReachesPods, podsReachPods } from './reachability.js';
export type { CiliumSettings } from './settings.js';
export { CILIUM_UPGRADE_PATH } from './versions.js';
