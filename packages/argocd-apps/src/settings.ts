// The `components.argocd` settings of a cluster with defaults applied. Pure.
import type { Cluster, Issue, ResolvedCluster } from '@homelab/core';
import { error } from '@homelab/core';

/** `clusters[].components.argocd` as written in the definition. */
export type ArgocdSettings = NonNullable<NonNullable<Cluster['components']>['argocd']>;

/** The namespace Argo CD runs in (and where its Applications and AppProjects live). */
export const ARGOCD_NAMESPACE = 'argocd';

/** Component name, also the key under `components` and the Application name suffix. */
export const ARGOCD_COMPONENT = 'argocd';

/** A key of a Kubernetes Secret in the argocd namespace. */
export interface SecretKeyReference {
  readonly secretName: string;
  readonly key: string;
}

export interface ResolvedArgocdSettings {
  readonly enabled: boolean;
  readonly adminGroups: readonly string[];
  readonly readonlyGroups: readonly string[];
  readonly localAdmin: boolean;
  readonly oidc:
    | {
        readonly clientId: string;
        readonly clientSecret: SecretKeyReference;
        readonly name: string;
      }
    | undefined;
  /** Path of the settings in the definition, for issues. */
  readonly path: string;
}

/** Argo CD keeps its own settings in this Secret; the chart owns it. */
const CHART_OWNED_SECRET = 'argocd-secret';

const SECRET_STRING = /^\$([a-z0-9]([-a-z0-9.]*[a-z0-9])?):([-._a-zA-Z0-9]+)$/;

export function resolveArgocdSettings(cluster: ResolvedCluster): {
  settings: ResolvedArgocdSettings;
  issues: Issue[];
} {
  const issues: Issue[] = [];
  const path = `clusters[${cluster.index}].components.argocd`;
  const raw: ArgocdSettings = cluster.definition.components?.argocd ?? {};
  let oidc: ResolvedArgocdSettings['oidc'];
  if (raw.oidc !== undefined) {
    const secretPath = `${path}.oidc.clientSecret`;
    const reference = parseSecretReference(raw.oidc.clientSecret);
    if (reference === undefined) {
      issues.push(
        error({
          code: 'secret-reference',
          path: secretPath,
          // Never echo what might be a secret value.
          message: 'is not a Secret reference',
          expected: '{ secretName, key } or "$<secret>:<key>"',
        }),
      );
    } else if (reference.secretName === CHART_OWNED_SECRET) {
      issues.push(
        error({
          code: 'secret-reference',
          path: secretPath,
          value: reference.secretName,
          message: 'names the Secret the argo-cd chart manages itself',
          expected: 'a dedicated Secret, e.g. argocd-oidc',
        }),
      );
    } else {
      oidc = {
        clientId: raw.oidc.clientId,
        clientSecret: reference,
        name: raw.oidc.name ?? 'Authelia',
      };
    }
  }
  return {
    settings: {
      enabled: raw.enabled ?? true,
      adminGroups: [...(raw.adminGroups ?? [])],
      readonlyGroups: [...(raw.readonlyGroups ?? [])],
      localAdmin: raw.localAdmin ?? true,
      oidc,
      path,
    },
    issues,
  };
}

function parseSecretReference(value: unknown): SecretKeyReference | undefined {
  if (typeof value === 'string') {
    const match = SECRET_STRING.exec(value);
    if (match === null) return undefined;
    return { secretName: match[1] as string, key: match[3] as string };
  }
  if (typeof value === 'object' && value !== null) {
    const { secretName, key } = value as { secretName?: unknown; key?: unknown };
    if (typeof secretName === 'string' && typeof key === 'string') return { secretName, key };
  }
  return undefined;
}

/** Argo CD's reference syntax for a key of another Secret: `$<secret>:<key>`. */
export function argocdSecretRef(reference: SecretKeyReference): string {
  return `$${reference.secretName}:${reference.key}`;
}
