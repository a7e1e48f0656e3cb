export type {
  ClusterPatches,
  NodePatch,
  PatchInput,
  TalosDocument,
} from './patches.js';
export { buildPatches, endpointVip } from './patches.js';
export type { RenderTalosOptions, TalosRenderResult } from './render.js';
export { renderTalos, TALOS_GENERATED_BY } from './render.js';
export type { KubeletExtraMount, MergedTalosRequirements } from './requirements.js';
export { mergeTalosRequirements } from './requirements.js';
export type { RunbookInput } from './runbook.js';
export { ARGOCD_BOOTSTRAP, CNI_NAMESPACE, runbook } from './runbook.js';
export type { Schematic } from './schematic.js';
export { IMAGE_FACTORY, installerImage, schematic, schematicId } from './schematic.js';
export type { TalosVersion } from './versions.js';
export { checkTalosVersion, talosSupportedVersions } from './versions.js';
