// Grafana behind the platform Gateway, logging users in through the OIDC provider. No password
// is in Git: the local admin's credentials are in the grafana-admin Secret (filled by the
// secrets provider), the client secret reaches Grafana as an environment variable from its
// Secret, and Grafana's roles follow the OIDC groups. Pure.
import type {
  CapabilityFacts,
  OidcClientRequest,
  ResolvedCluster,
  SecretKeyRef,
  Values,
} from '@homelab/core';
import { MONITORING_NAMESPACE, type ResolvedMonitoringSettings } from './settings.js';

/** Grafana's Service (`grafana.fullnameOverride`) and its HTTP port. */
export const GRAFANA_SERVICE = 'grafana';
export const GRAFANA_PORT = 80;
/** The pods' container port (the Service's target). */
export const GRAFANA_CONTAINER_PORT = 3000;

/** The Secret holding the local admin (keys admin-user, admin-password). */
export const GRAFANA_ADMIN_SECRET = {
  name: 'grafana-admin',
  keys: ['admin-user', 'admin-password'],
};

export const GRAFANA_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/** Host name of Grafana on a cluster. */
export function grafanaHost(cluster: ResolvedCluster): string {
  return `grafana.${cluster.domain}`;
}

/** Groups that may log in (empty: every authenticated user). */
function allGroups(settings: ResolvedMonitoringSettings): string[] {
  const { adminGroups, editorGroups, viewerGroups } = settings.grafana;
  return [...new Set([...adminGroups, ...editorGroups, ...viewerGroups])].sort();
}

/** The confidential client Grafana logs users in with (PKCE on). */
export function grafanaOidcClient(
  cluster: ResolvedCluster,
  settings: ResolvedMonitoringSettings,
): OidcClientRequest | undefined {
  const oidc = settings.grafana.oidc;
  if (oidc === undefined) return undefined;
  const secret: SecretKeyRef = {
    namespace: MONITORING_NAMESPACE,
    name: oidc.clientSecret.secretName,
    key: oidc.clientSecret.key,
  };
  return {
    id: oidc.clientId,
    name: 'Grafana',
    redirectUris: [`https://${grafanaHost(cluster)}/login/generic_oauth`],
    scopes: GRAFANA_OIDC_SCOPES,
    pkce: true,
    public: false,
    secret,
    policy: oidc.policy,
    groups: allGroups(settings),
  };
}

/**
 * Grafana's role from the groups claim (JMESPath): Admin, Editor, Viewer in that order of
 * precedence. With groups listed, a user in none of them gets no role and cannot log in
 * (`role_attribute_strict`); with none listed, every user is a Viewer.
 */
export function roleAttributePath(settings: ResolvedMonitoringSettings): string {
  const { adminGroups, editorGroups, viewerGroups } = settings.grafana;
  const terms: string[] = [];
  for (const [groups, role] of [
    [adminGroups, 'Admin'],
    [editorGroups, 'Editor'],
    [viewerGroups, 'Viewer'],
  ] as const) {
    for (const group of [...groups].sort())
      terms.push(`contains(groups[*], '${group}') && '${role}'`);
  }
  return terms.length === 0 ? "'Viewer'" : terms.join(' || ');
}

type OidcProvider = CapabilityFacts['oidc-provider'];

/** The provider's endpoints (Authelia's paths unless its facts say otherwise). */
function endpoints(provider: OidcProvider): { auth: string; token: string; userinfo: string } {
  const issuer = provider.issuer.replace(/\/+$/, '');
  return {
    auth: `${issuer}${provider.authorizationPath ?? '/api/oidc/authorization'}`,
    token: `${issuer}${provider.tokenPath ?? '/api/oidc/token'}`,
    userinfo: `${issuer}${provider.userinfoPath}`,
  };
}

/**
 * Where a private CA reaches Grafana: the Secret of a Certificate of the platform's issuer
 * (cert-manager puts the issuing CA in its `ca.crt`), mounted for `tls_client_ca`.
 */
export const GRAFANA_OIDC_CA = {
  secretName: 'grafana-oidc-ca',
  mountPath: '/etc/grafana/oidc-ca',
} as const;

/**
 * The Certificate whose Secret brings the platform's private CA to Grafana. Grafana calls the
 * token and userinfo endpoints with the system roots unless `tls_client_ca` names a file
 * (`GetOAuthHttpClient`, pkg/login/social/socialimpl/service.go): without it a private CA ends
 * every login with "certificate signed by unknown authority".
 */
export function grafanaOidcCaCertificate(issuerRef: CertificatesFacts['issuerRef']): Values {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: GRAFANA_OIDC_CA.secretName,
      namespace: MONITORING_NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': 'monitoring' },
    },
    spec: {
      secretName: GRAFANA_OIDC_CA.secretName,
      commonName: GRAFANA_OIDC_CA.secretName,
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { ...issuerRef },
    },
  };
}

type CertificatesFacts = CapabilityFacts['certificates'];

/** The `grafana` values of a cluster: its URL, login, and where the client secret comes from. */
export function grafanaClusterValues(
  cluster: ResolvedCluster,
  settings: ResolvedMonitoringSettings,
  provider: OidcProvider,
  privateCa = false,
): Values {
  const host = grafanaHost(cluster);
  const { oidc, localLogin } = settings.grafana;
  // Only the login form goes: the sidecars reload provisioning through the API as the admin
  // (basic auth), so `auth.basic` stays on.
  const ini: Values = {
    server: { domain: host, root_url: `https://${host}` },
    auth: { disable_login_form: !localLogin },
  };
  const values: Values = { 'grafana.ini': ini };
  if (oidc !== undefined) {
    const urls = endpoints(provider);
    ini['auth.generic_oauth'] = {
      enabled: true,
      name: oidc.name,
      client_id: oidc.clientId,
      scopes: GRAFANA_OIDC_SCOPES.join(' '),
      auth_url: urls.auth,
      token_url: urls.token,
      api_url: urls.userinfo,
      use_pkce: true,
      login_attribute_path: 'preferred_username',
      name_attribute_path: 'name',
      email_attribute_path: 'email',
      groups_attribute_path: 'groups',
      role_attribute_path: roleAttributePath(settings),
      role_attribute_strict: allGroups(settings).length > 0,
      allow_assign_grafana_admin: false,
      allow_sign_up: true,
      auto_login: !localLogin,
      // The issuer's certificate chains to the platform's private CA: trust it.
      ...(privateCa ? { tls_client_ca: `${GRAFANA_OIDC_CA.mountPath}/ca.crt` } : {}),
    };
    if (privateCa) {
      values.extraSecretMounts = [
        {
          name: 'oidc-ca',
          secretName: GRAFANA_OIDC_CA.secretName,
          mountPath: GRAFANA_OIDC_CA.mountPath,
          readOnly: true,
        },
      ];
    }
    values.envValueFrom = {
      GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: {
        secretKeyRef: { name: oidc.clientSecret.secretName, key: oidc.clientSecret.key },
      },
    };
  }
  return values;
}
