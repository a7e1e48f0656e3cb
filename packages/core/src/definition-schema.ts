// The definition's JSON Schema, composed from core's base (platform, repository, environments,
// clusters) and every registered component's settings fragment. Pure.
import baseSchemaJson from '../schema/definition.schema.json' with { type: 'json' };
import type { AnyComponent, JsonSchema } from './contract.js';
import { HomelabError } from './issues.js';
import type { JsonValue } from './types.js';

/** The base schema (schema/definition.schema.json): the definition without component settings. */
export const baseDefinitionSchema: JsonSchema = baseSchemaJson as unknown as JsonSchema;

const COMPONENT_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** `$defs` key of a component's settings schema (`cluster`: the per-cluster override form). */
export function settingsDefName(component: string, scope: 'platform' | 'cluster'): string {
  return scope === 'platform' ? `${component}Settings` : `${component}ClusterSettings`;
}

function checkFragment(component: AnyComponent): { [key: string]: JsonValue } {
  const schema = component.settings.schema;
  const problem = (what: string): HomelabError =>
    new HomelabError(`component "${component.name}": its settings schema ${what}`);
  if (!COMPONENT_NAME.test(component.name)) {
    throw new HomelabError(`component name "${component.name}" is not a DNS label`);
  }
  if (!isObject(schema) || schema.type !== 'object') throw problem('is not an object schema');
  if (schema.additionalProperties !== false) {
    throw problem('must set additionalProperties: false (a typo must be an error)');
  }
  if ('$id' in schema || '$schema' in schema) throw problem('must not set $id or $schema');
  const properties = schema.properties;
  if (!isObject(properties)) throw problem('has no properties');
  for (const key of component.settings.platformOnly ?? []) {
    if (!(key in properties)) throw problem(`lists platformOnly key "${key}" it does not define`);
  }
  return schema as { [key: string]: JsonValue };
}

/** `schema` without `required` anywhere: one layer of settings may give any part of them. */
function withoutRequired(schema: JsonValue): JsonValue {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (!isObject(schema)) return schema;
  const out: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'required') continue;
    // `const`, `enum` and `default` hold data, not schemas.
    out[key] =
      key === 'const' || key === 'enum' || key === 'default' ? value : withoutRequired(value);
  }
  return out;
}

/**
 * The settings schema of a component as its merged settings must satisfy it (every layer
 * merged): the fragment with `enabled` added unless it defines it.
 */
export function settingsSchema(component: AnyComponent): JsonSchema {
  return fragment(component, 'merged') as JsonSchema;
}

/**
 * The fragment with `enabled` added (unless it defines it) and a title for the generated types.
 * `platform`/`cluster`: one layer of settings, without `required` (the layers merge first, the
 * merged settings are checked against the `merged` form); `cluster` refuses platform-only keys.
 */
function fragment(component: AnyComponent, scope: 'platform' | 'cluster' | 'merged'): JsonValue {
  const schema = checkFragment(component);
  const properties = { ...(schema.properties as { [key: string]: JsonValue }) };
  if (!('enabled' in properties)) {
    properties.enabled = {
      description: `Deploy ${component.name} (default ${component.settings.defaults?.enabled === false ? 'false' : 'true'}).`,
      type: 'boolean',
    };
  }
  if (scope === 'cluster') {
    for (const key of component.settings.platformOnly ?? []) {
      properties[key] = {
        description: `Only in the top-level components.${component.name}.${key}: it is the same on every cluster (one chart pins it); remove it from the cluster's components.`,
        not: {},
      };
    }
  }
  const ordered: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(properties).sort()) ordered[key] = properties[key] as JsonValue;
  const full: JsonValue = {
    ...schema,
    title: `${pascal(component.name)}${scope === 'cluster' ? 'ClusterSettings' : 'Settings'}`,
    description:
      typeof schema.description === 'string' ? schema.description : component.description,
    properties: ordered,
  };
  return scope === 'merged' ? full : withoutRequired(full);
}

/**
 * The definition schema with `components.<name>` (platform-wide settings) and
 * `clusters[].components.<name>` (per-cluster overrides) for every component, sorted by name.
 * Throws a HomelabError for a malformed fragment or a duplicate name (a bug of a component).
 */
export function composeDefinitionSchema(components: readonly AnyComponent[]): JsonSchema {
  const schema = structuredClone(baseDefinitionSchema) as { [key: string]: JsonValue };
  const defs = schema.$defs as { [key: string]: JsonValue };
  const platformProps: { [key: string]: JsonValue } = {};
  const clusterProps: { [key: string]: JsonValue } = {};
  const seen = new Set<string>();
  for (const component of [...components].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (seen.has(component.name)) {
      throw new HomelabError(`component "${component.name}" is registered twice`);
    }
    seen.add(component.name);
    const platformDef = settingsDefName(component.name, 'platform');
    const clusterDef = settingsDefName(component.name, 'cluster');
    defs[platformDef] = fragment(component, 'platform');
    defs[clusterDef] = fragment(component, 'cluster');
    platformProps[component.name] = {
      $ref: `#/$defs/${platformDef}`,
      description: `${component.description} Settings for every cluster.`,
    };
    clusterProps[component.name] = {
      $ref: `#/$defs/${clusterDef}`,
      description: `${component.description} Overrides for this cluster.`,
    };
  }
  (defs.platformComponents as { [key: string]: JsonValue }).properties = platformProps;
  (defs.components as { [key: string]: JsonValue }).properties = clusterProps;
  schema.$id = 'https://homelab-platform.dev/schema/platform.schema.json';
  schema.title = 'PlatformDefinition';
  schema.description =
    'A homelab-platform definition: the clusters of a Talos Linux fleet and the platform components on them. `homelab build` turns it into Helm charts under charts/ and bootstrap material under clusters/.';
  return schema;
}
