// The definition schema of the registered components, and its validators. The build composes the
// schema into schema/platform.schema.json (editor completion) and
// generates the validators' code (dist/definition-validator.cjs): the definition's, and each
// component's merged settings', so the CLI never compiles a schema.
import { createRequire } from 'node:module';
import {
  compiledSettingsValidator,
  composeDefinitionSchema,
  type DefinitionValidator,
  definitionValidator,
  definitionValidatorSource,
  type JsonSchema,
  type Registry,
  type SettingsValidator,
  type StandaloneSource,
  schemaIssues,
  settingsSchema,
  standaloneValidators,
  withTextRule,
} from '@homelab/core';
import { REGISTRY } from './registry.js';

const require = createRequire(import.meta.url);

/** The definition schema composed from every registered component's settings fragment. */
export const definitionSchema: JsonSchema = composeDefinitionSchema(REGISTRY);

/**
 * What the build generates the validators' standalone code from: `definition`, and
 * `settings-<component>` for each component's merged settings.
 */
export const definitionSource: StandaloneSource = {
  ...definitionValidatorSource(definitionSchema),
  schemas: {
    ...definitionValidatorSource(definitionSchema).schemas,
    ...Object.fromEntries(
      REGISTRY.map((component) => [`settings-${component.name}`, settingsSchema(component)]),
    ),
  },
};

const generated = (): unknown => require('./definition-validator.cjs');

let registryValidators:
  | { definition: DefinitionValidator; settings: SettingsValidator }
  | undefined;

/**
 * The validators of `registry`'s definition and settings: for the registry, the build-time
 * generated ones (compiled on first use when stale or absent); for another registry (tests
 * adding a component), compiled.
 */
export function validatorsFor(registry: Registry): {
  readonly definition: DefinitionValidator;
  readonly settings: SettingsValidator;
} {
  if (registry !== REGISTRY) {
    return {
      definition: definitionValidator(composeDefinitionSchema(registry)),
      settings: compiledSettingsValidator(),
    };
  }
  if (registryValidators === undefined) {
    const validators = standaloneValidators(definitionSource, generated);
    registryValidators = {
      definition: withTextRule(definitionSchema, (data, locate) =>
        schemaIssues(validators('definition'), data, locate),
      ),
      settings: (component, settings) =>
        schemaIssues(validators(`settings-${component.name}`), settings),
    };
  }
  return registryValidators;
}
