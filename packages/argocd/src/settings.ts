// The settings of `components.argocd`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it), defaults, and the settings of a cluster resolved. Pure.
import {
  error,
  type Issue,
  type JsonSchema,
  type PathSegment,
  type SecretKeyRef,
  type SettingsSpec,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { ArgocdSettings } from './generated/settings.js';

export type { ArgocdSettings };

/** The namespace Argo CD runs in (and where its Applications and AppProjects live). */
export const ARGOCD_NAMESPACE = 'argocd';

export const argocdSettingsSpec: SettingsSpec<ArgocdSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  defaults: { localAdmin: true },
};

export interface ResolvedArgocdSettings {
  readonly adminGroups: readonly string[];
  readonly readonlyGroups: readonly string[];
  readonly localAdmin: boolean;
  /** Further URLs Argo CD is reached at (argocd-cm `additionalUrls`). */
  readonly additionalUrls: readonly string[];
  readonly oidc:
    | {
        readonly clientId: string;
        readonly clientSecret: SecretKeyRef;
        readonly name: string;
        readonly policy: 'one_factor' | 'two_factor';
        /** The public client of `argocd login --sso`, unless switched off. */
        readonly cliClientId: string | undefined;
        /** Renew a browser's session with the refresh token of its web login (`renewSessions`). */
        readonly renewSessions: boolean;
      }
    | undefined;
}

/** Argo CD keeps its own settings in this Secret; the chart owns it. */
const CHART_OWNED_SECRET = 'argocd-secret';

const SECRET_STRING = /^\$([a-z0-9]([-a-z0-9.]*[a-z0-9])?):([-._a-zA-Z0-9]+)$/;

export function resolveArgocdSettings(
  raw: ArgocdSettings,
  path: (...segments: PathSegment[]) => PathSegment[],
): { settings: ResolvedArgocdSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  let oidc: ResolvedArgocdSettings['oidc'];
  if (raw.oidc !== undefined) {
    const secretPath = path('oidc', 'clientSecret');
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
    } else if (reference.name === CHART_OWNED_SECRET) {
      issues.push(
        error({
          code: 'secret-reference',
          path: secretPath,
          value: reference.name,
          message: 'names the Secret the argo-cd chart manages itself',
          expected: 'a dedicated Secret, e.g. argocd-oidc',
        }),
      );
    } else {
      oidc = {
        clientId: raw.oidc.clientId,
        clientSecret: reference,
        name: raw.oidc.name ?? 'Authelia',
        policy: raw.oidc.policy ?? 'one_factor',
        cliClientId:
          raw.oidc.cli === false ? undefined : (raw.oidc.cliClientId ?? `${raw.oidc.clientId}-cli`),
        renewSessions: raw.oidc.renewSessions ?? false,
      };
      if (oidc.cliClientId === oidc.clientId) {
        issues.push(
          error({
            code: 'argocd-oidc',
            path: path('oidc', 'cliClientId'),
            value: oidc.cliClientId,
            message: 'is the id of the web client too; the CLI needs a public client of its own',
            expected: 'another client id',
          }),
        );
      }
    }
  }
  return {
    settings: {
      adminGroups: [...(raw.adminGroups ?? [])],
      readonlyGroups: [...(raw.readonlyGroups ?? [])],
      localAdmin: raw.localAdmin ?? true,
      additionalUrls: [...(raw.additionalUrls ?? [])],
      oidc,
    },
    issues,
  };
}

function parseSecretReference(value: unknown): SecretKeyRef | undefined {
  if (typeof value === 'string') {
    const match = SECRET_STRING.exec(value);
    if (match === null) return undefined;
    return { namespace: ARGOCD_NAMESPACE, name: match[1] as string, key: match[3] as string };
  }
  if (typeof value === 'object' && value !== null) {
    const { secretName, key } = value as { secretName?: unknown; key?: unknown };
    if (typeof secretName === 'string' && typeof key === 'string') {
      return { namespace: ARGOCD_NAMESPACE, name: secretName, key };
    }
  }
  return undefined;
}

/** Argo CD's reference syntax for a key of another Secret: `$<secret>:<key>`. */
export function argocdSecretRef(reference: SecretKeyRef): string {
  return `$${reference.name}:${reference.key}`;
}
