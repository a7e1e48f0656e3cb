// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`, on the chart's
// merged values). Pure.
//
// Authelia v4.39 keeps its users' state in its storage backend (SQLite on its volume, or
// PostgreSQL): second factors (TOTP, WebAuthn), the opaque identifiers OIDC clients know users by
// (`sub`), consents and OIDC sessions. It has no migration between backends: pointed at another
// store it starts empty. Its CLI exports and imports the users' part
// (`internal/commands/storage.go`: `storage user identifiers|totp|webauthn export|import`).
import {
  type ChangeCheck,
  type Issue,
  isJson as isTable,
  settingsPath,
  type Values,
  warning,
} from '@homelab/core';
import { AUTHELIA_VALUES_KEY } from './values.js';

/** The store a chart's values point Authelia at, in words; `undefined` where they name none. */
function store(values: Values | undefined): string | undefined {
  const chart = values?.[AUTHELIA_VALUES_KEY];
  const configMap = isTable(chart) ? chart.configMap : undefined;
  const storage = isTable(configMap) ? configMap.storage : undefined;
  if (!isTable(storage)) return undefined;
  const { local, postgres } = storage;
  if (isTable(postgres) && postgres.enabled === true) {
    const database = typeof postgres.database === 'string' ? postgres.database : 'authelia';
    const schema = typeof postgres.schema === 'string' ? `, schema ${postgres.schema}` : '';
    return `PostgreSQL at ${String(postgres.address)} (database ${database}${schema})`;
  }
  if (isTable(local) && local.enabled === true)
    return `SQLite at ${String(local.path)} on its volume`;
  return undefined;
}

const KINDS = ['identifiers', 'totp', 'webauthn'] as const;

/**
 * Authelia pointed at another store than the last build deployed: it starts empty there. A
 * warning at the storage settings, with the export and import of the users' state.
 */
export const storageChangedCheck: ChangeCheck = {
  name: 'authelia-storage-changed',
  description:
    "Authelia keeps the store the last build deployed, or the build says what moves: Authelia has no migration between stores and starts empty on a new one (every user's second factors, the opaque identifiers OIDC clients know users by, consents and sessions stay behind), so the users' state is exported from the running Authelia and imported into the new store.",
  check({ cluster, beforeValues, afterValues }) {
    const issues: Issue[] = [];
    for (const [chart, values] of afterValues) {
      const now = store(values);
      const was = store(beforeValues.get(chart));
      if (now === undefined || was === undefined || now === was) continue;
      issues.push(
        warning({
          code: 'authelia-storage-changed',
          path: settingsPath(cluster, 'authelia', 'storage'),
          output: `charts/${chart}`,
          value: now,
          message: `moves Authelia's store on cluster "${cluster.name}" from ${was}, which the last build deployed: Authelia starts on the new store empty (it has no migration between stores), so every user's second factors (TOTP, WebAuthn), the opaque identifiers OIDC clients know users by (their \`sub\`), consents and OIDC sessions stay behind: every user registers a second factor again, through the notifier's identity check`,
          expected: `before the change syncs, export the users' state from the running Authelia, in its container (${KINDS.map((kind) => `\`authelia storage user ${kind} export\``).join(', ')}), and import each file into the new store once Authelia runs on it (${KINDS.map((kind) => `\`authelia storage user ${kind} import <file>\``).join(', ')}); or keep the store`,
        }),
      );
    }
    return issues;
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const autheliaChanges: readonly ChangeCheck[] = [storageChangedCheck];
