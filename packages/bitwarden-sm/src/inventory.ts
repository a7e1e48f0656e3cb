// The secret inventory: what Secrets the cluster's components declare (and the OIDC client
// secrets the OIDC provider reads), each key matched to the Bitwarden secret the definition maps
// to it, and the objects that make them: one BitwardenSecret per Secret, plus the Secret itself
// when the consumer needs labels on it (the operator creates Secrets without labels). Pure.
import type { KubeObject, PeerContribution, SecretKeyRef, SecretProducer } from '@homelab/core';
import { compareStrings } from '@homelab/core';
import type { ResolvedBitwardenSettings } from './settings.js';

export const BITWARDEN_GROUP = 'k8s.bitwarden.com';
export const BITWARDEN_API_VERSION = `${BITWARDEN_GROUP}/v1`;
export const BITWARDEN_KIND = 'BitwardenSecret';

/** How layer 4 recognises what the operator makes (the `secrets` capability's producer fact). */
export const BITWARDEN_PRODUCER: SecretProducer = {
  group: BITWARDEN_GROUP,
  kind: BITWARDEN_KIND,
  secretName: ['spec', 'secretName'],
  keys: ['spec', 'map', 'secretKeyName'],
};

/** A key of a wanted Secret; `source`: it holds the value of another declared Secret's key. */
export interface WantedKey {
  readonly key: string;
  readonly source?: SecretKeyRef;
}

/** A Secret some component needs on a cluster. */
export interface WantedSecret {
  readonly namespace: string;
  readonly name: string;
  /** The component whose chart holds its BitwardenSecret. */
  readonly owner: string;
  /** What asks for it: the declaring components, or the OIDC provider for client secrets. */
  readonly declaredBy: readonly string[];
  /** Sorted by key. */
  readonly keys: readonly WantedKey[];
  readonly labels: { readonly [key: string]: string } | undefined;
}

/** Two components asking for one Secret with different keys or labels. */
export interface SecretConflict {
  readonly id: string;
  readonly first: string;
  readonly second: string;
  readonly what: string;
}

/** `<namespace>/<name>`, the inventory's key of a Secret. */
export function secretId(secret: { readonly namespace: string; readonly name: string }): string {
  return `${secret.namespace}/${secret.name}`;
}

function sameLabels(
  a: { readonly [key: string]: string } | undefined,
  b: { readonly [key: string]: string } | undefined,
): boolean {
  return JSON.stringify(sortedRecord(a ?? {})) === JSON.stringify(sortedRecord(b ?? {}));
}

function sortedRecord(record: { readonly [key: string]: string }): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  for (const key of Object.keys(record).sort(compareStrings)) out[key] = record[key] as string;
  return out;
}

/**
 * The Secrets the cluster's other components ask for: their declared `secrets`, and, when an OIDC
 * provider says where it reads client secrets (`clientSecrets`), one key per OIDC client with a
 * secret, sourced from that client's own Secret. Two components declaring one Secret must agree
 * on its keys and labels.
 */
export function wantedSecrets(others: readonly PeerContribution[]): {
  secrets: WantedSecret[];
  conflicts: SecretConflict[];
} {
  const byId = new Map<string, WantedSecret>();
  const conflicts: SecretConflict[] = [];
  const add = (secret: WantedSecret): void => {
    const id = secretId(secret);
    const previous = byId.get(id);
    if (previous === undefined) {
      byId.set(id, secret);
      return;
    }
    const keys = (list: readonly WantedKey[]) =>
      JSON.stringify(list.map((key) => [key.key, key.source ? secretId(key.source) : '']));
    const what = !sameLabels(previous.labels, secret.labels)
      ? 'labels'
      : keys(previous.keys) !== keys(secret.keys)
        ? 'keys'
        : undefined;
    if (what === undefined) {
      byId.set(id, { ...previous, declaredBy: [...previous.declaredBy, ...secret.declaredBy] });
      return;
    }
    conflicts.push({
      id,
      first: previous.declaredBy.join(', '),
      second: secret.declaredBy.join(', '),
      what,
    });
  };

  for (const peer of others) {
    for (const secret of peer.contribution.secrets ?? []) {
      add({
        namespace: secret.namespace,
        name: secret.name,
        owner: peer.component,
        declaredBy: [peer.component],
        keys: [...new Set(secret.keys)].sort(compareStrings).map((key) => ({ key })),
        labels: secret.labels,
      });
    }
  }

  for (const provider of others) {
    const where = provider.contribution.facts?.['oidc-provider']?.clientSecrets;
    if (where === undefined) continue;
    const keys: WantedKey[] = [];
    for (const peer of others) {
      for (const client of peer.contribution.oidcClients ?? []) {
        if (client.secret !== undefined) keys.push({ key: client.id, source: client.secret });
      }
    }
    if (keys.length === 0) continue;
    add({
      namespace: where.namespace,
      name: where.name,
      owner: provider.component,
      declaredBy: [provider.component],
      keys: keys.sort((a, b) => compareStrings(a.key, b.key)),
      labels: undefined,
    });
  }
  return {
    secrets: [...byId.values()].sort((a, b) => compareStrings(secretId(a), secretId(b))),
    conflicts,
  };
}

/** A wanted key the inventory maps no Bitwarden secret to. */
export interface UnmappedKey {
  readonly secret: WantedSecret;
  readonly key: string;
  /** Set when the key takes its value from a key of another Secret that is unmapped or undeclared. */
  readonly source?: SecretKeyRef;
  /** The source is not a Secret any component declares. */
  readonly undeclaredSource?: boolean;
}

/** A sourced key the inventory maps to a different Bitwarden secret than its source. */
export interface DivergentKey {
  readonly secret: WantedSecret;
  readonly key: string;
  readonly source: SecretKeyRef;
}

export interface MappedSecret extends WantedSecret {
  /** key → Bitwarden secret id, for every key that has one. */
  readonly ids: ReadonlyMap<string, string>;
}

export interface InventoryMatch {
  readonly secrets: readonly MappedSecret[];
  readonly unmapped: readonly UnmappedKey[];
  readonly divergent: readonly DivergentKey[];
  /** Inventory entries (`<namespace>/<name>` + key) some wanted key uses. */
  readonly used: ReadonlySet<string>;
}

/** The inventory entry of a Secret key: `<namespace>/<name>\0<key>`. */
export function entryId(id: string, key: string): string {
  return `${id}\u0000${key}`;
}

/** Matches the wanted Secrets against the inventory. */
export function matchInventory(
  wanted: readonly WantedSecret[],
  inventory: ResolvedBitwardenSettings['inventory'],
): InventoryMatch {
  const declared = new Map(wanted.map((secret) => [secretId(secret), secret]));
  const used = new Set<string>();
  const unmapped: UnmappedKey[] = [];
  const divergent: DivergentKey[] = [];
  const secrets = wanted.map((secret): MappedSecret => {
    const ids = new Map<string, string>();
    const own = inventory.get(secretId(secret));
    for (const { key, source } of secret.keys) {
      const direct = own?.get(key);
      if (source === undefined) {
        if (direct === undefined) unmapped.push({ secret, key });
        else {
          ids.set(key, direct);
          used.add(entryId(secretId(secret), key));
        }
        continue;
      }
      const sourceDeclared = declared
        .get(secretId(source))
        ?.keys.some((candidate) => candidate.key === source.key);
      const fromSource = inventory.get(secretId(source))?.get(source.key);
      if (!sourceDeclared || fromSource === undefined) {
        unmapped.push({
          secret,
          key,
          source,
          ...(sourceDeclared ? {} : { undeclaredSource: true }),
        });
        continue;
      }
      if (direct !== undefined) {
        used.add(entryId(secretId(secret), key));
        if (direct !== fromSource) {
          divergent.push({ secret, key, source });
          continue;
        }
      }
      ids.set(key, fromSource);
    }
    return { ...secret, ids };
  });
  return { secrets, unmapped, divergent, used };
}

/** The BitwardenSecret that makes `secret` (in its namespace, named like it). */
export function bitwardenSecret(
  secret: MappedSecret,
  settings: Pick<ResolvedBitwardenSettings, 'organizationId' | 'authToken'>,
): KubeObject {
  return {
    apiVersion: BITWARDEN_API_VERSION,
    kind: BITWARDEN_KIND,
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'bitwarden-sm' },
    },
    spec: {
      organizationId: settings.organizationId,
      secretName: secret.name,
      map: [...secret.ids.entries()]
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([key, id]) => ({ bwSecretId: id, secretKeyName: key })),
      authToken: {
        secretName: settings.authToken.secretName,
        secretKey: settings.authToken.key,
      },
      // Only the mapped keys: the machine account may read more than this Secret needs.
      onlyMappedSecrets: true,
    },
  };
}

/**
 * The Secret itself, empty and with the labels its consumer needs. The operator creates the
 * Secret it fills without labels and copies none from the BitwardenSecret, but fills an existing
 * Secret in place and keeps its labels (its reconciler reads the Secret first and patches only
 * its data, its own label and its annotations): so the platform creates the Secret with the
 * labels, and the operator fills it.
 */
export function labelledSecret(secret: WantedSecret): KubeObject | undefined {
  if (secret.labels === undefined || Object.keys(secret.labels).length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      labels: sortedRecord(secret.labels),
      annotations: {
        'homelab.dev/filled-by': `BitwardenSecret ${secret.namespace}/${secret.name}`,
      },
    },
    type: 'Opaque',
  };
}

/** The YAML lines that map `key` of `secret`, to paste under `components.bitwarden-sm`. */
export function mappingLines(secret: { namespace: string; name: string }, key: string): string {
  return [
    'secrets:',
    `  ${secretId(secret)}:`,
    `    ${key}: <id of the Bitwarden secret holding it>`,
  ].join('\n');
}
