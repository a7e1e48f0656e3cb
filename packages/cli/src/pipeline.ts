// The build pipeline bound to the real packages. Pure: `generate` reads nothing and writes
// nothing; the CLI reads the definition and hands the files to core's writer.
import { ciliumComponent, ciliumValidators } from '@homelab/cilium';
import type { Component } from '@homelab/core';
import {
  chartFiles,
  loadDefinition,
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
 * (plus its validators below when it emits custom resources).
 */
export const components: readonly Component[] = [ciliumComponent];

/**
 * Stages that need the output of every component. Slot for `@homelab/argocd-apps` (the
 * app-of-apps from every component's ApplicationDescriptor) and `@homelab/bitwarden-sm`
 * (BitwardenSecrets from every SecretRequirement) once they land.
 */
export const assemblers: readonly Assembler[] = [];

/** Validators of the custom resources the components emit (core kinds are built in). */
const validators = [...ciliumValidators];

export const engine: Engine = {
  loadDefinition: (text, file) => loadDefinition(text, file),
  resolvePlatform: (definition) => ({ platform: resolvePlatform(definition), issues: [] }),
  components,
  assemblers,
  renderTalos: (platform, requirements) =>
    renderTalos(platform, requirements, { generatedBy: GENERATED_BY }),
  chartFiles: (spec, version) => chartFiles(spec, version, { command: GENERATED_BY }),
  mergeValues: (layers) => mergeValues(...layers),
  validateManifests: (manifests) => validateObjects(manifests, validators),
};

/**
 * load → resolve → every component → assemblers → talos-config → chart files → output
 * validation → secret scan → files sorted by path. Files only when there is no error.
 */
export function generate(input: GenerateInput): GenerateResult {
  return generateWith(engine, input);
}
