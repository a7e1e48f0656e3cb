export { CERT_APPROVER_NAMESPACE, CERT_APPROVER_VERSION } from './baseline.js';
export {
  loadBalancerPoolsOnLink,
  nodeAddressPinned,
  nodeFirewall,
  nodeLinks,
  TALOS_CHECKS,
  tpmEncryptionSecureBoot,
} from './checks.js';
export type { DeployedClusterFacts, DeployedClusterFiles, DeployedNode } from './deployed.js';
export { deployedCluster } from './deployed.js';
export type { RenderTalosOptions, TalosRenderResult } from './render.js';
export { renderTalos } from './render.js';
export type { RunbookApplication } from './runbook.js';
export { kubectlRange } from './runbook.js';
export { TALOS_UPSTREAM } from './versions.js';
