export {
  GATEWAY_CHECKS,
  gatewayCertificate,
  routesAuthenticated,
  routesOverTls,
} from './checks.js';
export { gatewayComponent } from './component.js';
export type { GatewaySettings } from './settings.js';
