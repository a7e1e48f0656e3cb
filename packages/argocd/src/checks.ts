// System checks (layer 4) of Argo CD's login path. Pure.
import {
  deployedValues,
  error,
  groupKindOf,
  type Issue,
  type SystemCheck,
  settingsPath,
} from '@homelab/core';

const COMPONENT = 'argocd';
const VALUES_KEY = 'argo-cd';

type Json = { [key: string]: unknown };

function record(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}

/**
 * The local admin is the login that works without anything else: it may be switched off only
 * where the OIDC chain is whole (DESIGN.md: "Argo CD keeps a working login path until SSO is
 * proven"): an OIDC provider and a secrets provider on the cluster, Argo CD's OIDC client and
 * its route declared, its oidc.config set, its client secret made by the secrets provider.
 */
export const localAdminCheck: SystemCheck = {
  name: 'argocd-local-admin',
  description:
    "Argo CD's local admin is disabled only where the OIDC login chain is complete: an OIDC provider and a secrets provider on the cluster, Argo CD's OIDC client, route and oidc.config, and its client secret made by the secrets provider.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const app = deployed.applications.find((candidate) => candidate.component === COMPONENT);
      if (app === undefined) continue;
      const cm = record(record(record(deployedValues(input, app)?.[VALUES_KEY]).configs).cm);
      if (cm['admin.enabled'] !== false) continue;
      const own = deployed.run.contributions.get(COMPONENT) ?? {};
      const missing: string[] = [];
      for (const capability of ['oidc-provider', 'secrets', 'gateway'] as const) {
        if (!deployed.run.providers.has(capability)) {
          missing.push(`${capability.startsWith('o') ? 'an' : 'a'} "${capability}" provider`);
        }
      }
      const client = own.oidcClients?.find((candidate) => !candidate.public);
      if (client === undefined) missing.push('an OIDC client');
      if (typeof cm['oidc.config'] !== 'string') missing.push('an oidc.config');
      const routed = (own.routes ?? []).some(
        (route) => route.auth.kind === 'app' && route.auth.oidcClient === client?.id,
      );
      if (client !== undefined && !routed) missing.push('a route that logs in through the client');
      const producer = deployed.run.facts.secrets?.producer;
      const secret = client?.secret;
      if (secret !== undefined && producer !== undefined) {
        const made = deployed.applications.some((candidate) =>
          candidate.objects.some(({ object }) => {
            const kind = groupKindOf(object);
            if (kind.group !== producer.group || kind.kind !== producer.kind) return false;
            const name = producer.secretName.reduce<unknown>(
              (node, key) => record(node)[key],
              object,
            );
            return object.metadata.namespace === secret.namespace && name === secret.name;
          }),
        );
        if (!made)
          missing.push(
            `the Secret ${secret.namespace}/${secret.name} made by the secrets provider`,
          );
      }
      if (missing.length === 0) continue;
      issues.push(
        error({
          code: 'argocd-local-admin',
          path: settingsPath(deployed.cluster, COMPONENT, 'localAdmin'),
          output: `charts/argo-cd/clusters/${deployed.cluster.name}.yaml`,
          value: false,
          message: `disables Argo CD's local admin on cluster "${deployed.cluster.name}" while the OIDC login is incomplete (missing: ${missing.join(', ')}): nobody could log in`,
          expected: 'localAdmin: true until the OIDC chain is complete',
        }),
      );
    }
    return issues;
  },
};
