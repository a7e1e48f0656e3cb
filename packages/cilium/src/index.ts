export { l2InterfacesMatchLinks } from './checks.js';
export { ciliumComponent } from './component.js';
export type { CiliumSettings } from './settings.js';
