// The settings of `components.gateway`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it) and defaults.
import type { JsonSchema, SettingsSpec } from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { GatewaySettings } from './generated/settings.js';

export type { GatewaySettings };

export const gatewaySettingsSpec: SettingsSpec<GatewaySettings> = {
  schema: schemaJson as unknown as JsonSchema,
  // The address defaults per cluster (from its pools), so it has no platform-wide default.
  defaults: {},
};
