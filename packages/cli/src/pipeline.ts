// The build pipeline bound to the real packages. Pure: `generate` reads nothing and writes
// nothing; the CLI reads the definition and hands the files to core's writer.
import { argocdComponent, assembleApplications, renderArgocd } from '@homelab/argocd-apps';
import { ciliumComponent, ciliumValidators } from '@homelab/cilium';
import type { Component, ObjectValidator } from '@homelab/core';
import {
  chartFiles,
  loadDefinition,
  loadModelValidators,
  mergeValues,
  resolvePlatform,
  validateObjects,
} from '@homelab/core';
import { renderTalos } from '@homelab/talos-config';
import type { Assembler, Engine, GenerateInput, GenerateResult } from './internal/assemble.js';
import { generateWith } from './internal/assemble.js';

/** The command every generated file names in its first line. */
export const GENERATED_BY = 'pnpm build';

/**
 * Every platform component, in one place. A new component is one import and one entry here
 * (plus its validators below when it emits custom resources without a kubernetes-models package).
 */
export const components: readonly Component[] = [ciliumComponent];

/**
 * Stages that need the output of every component, in order: Argo CD (its values gather the
 * other components' ignoreDifferences), then the app-of-apps umbrella chart and the root
 * Applications from every component's ApplicationDescriptor.
 */
export const assemblers: readonly Assembler[] = [
  { name: argocdComponent.name, assemble: (platform, outputs) => renderArgocd(platform, outputs) },
  {
    name: 'platform',
    assemble: (platform, outputs) => {
      const assembled = assembleApplications(platform, outputs);
      return {
        component: 'platform',
        chart: assembled.chart,
        clusters: {},
        files: assembled.files,
        issues: assembled.issues,
      };
    },
  },
];

/**
 * Validators of the custom resources the components emit. Core kinds, Gateway API and Argo CD
 * objects are checked against the kubernetes-models schemas, loaded for the kinds present.
 */
const componentValidators: readonly ObjectValidator[] = [...ciliumValidators];

export const engine: Engine = {
  loadDefinition: (text, file) => loadDefinition(text, file),
  resolvePlatform: (definition) => ({ platform: resolvePlatform(definition), issues: [] }),
  components,
  assemblers,
  renderTalos: (platform, requirements) =>
    renderTalos(platform, requirements, { generatedBy: GENERATED_BY }),
  chartFiles: (spec, version) => chartFiles(spec, version, { command: GENERATED_BY }),
  mergeValues: (layers) => mergeValues(...layers),
  validateManifests: async (manifests) =>
    validateObjects(manifests, [...(await loadModelValidators(manifests)), ...componentValidators]),
};

/**
 * load → resolve → every component → assemblers → talos-config → chart files → output
 * validation → secret scan → files sorted by path. Files only when there is no error.
 */
export function generate(input: GenerateInput): Promise<GenerateResult> {
  return generateWith(engine, input);
}
