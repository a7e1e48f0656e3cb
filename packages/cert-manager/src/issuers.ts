// The ClusterIssuer of a cluster, as plain data in charts/cert-manager's cluster layer: a private
// CA (a self-signed root made in the cluster, then a CA ClusterIssuer over it) or Let's Encrypt
// with a DNS-01 solver. Pure.
import type { KubeObject, ResolvedCluster, SecretKeyRef, Values } from '@homelab/core';
import {
  ACME_SERVERS,
  CERT_MANAGER_NAMESPACE,
  type ResolvedIssuer,
  type ResolvedSolver,
} from './settings.js';

/** The API group of cert-manager's issuers and certificates. */
export const CERT_MANAGER_GROUP = 'cert-manager.io';
const API_VERSION = `${CERT_MANAGER_GROUP}/v1`;

/** Names of what the private CA consists of (stable: renaming one would mint a new CA). */
export const PRIVATE_CA = {
  /** Signs only the root: the bootstrap of the chain. */
  selfSigned: 'selfsigned-bootstrap',
  /** The root CA's Certificate and its Secret (`ca.crt` is what clients trust). */
  root: 'private-root-ca',
  /** The ClusterIssuer every platform certificate comes from. */
  issuer: 'private-ca',
} as const;

/**
 * How long before it expires the root CA renews, in hours: 90 days. cert-manager writes a
 * certificate's `ca.crt` (what Argo CD's `rootCA` and Grafana's `tls_client_ca` trust) only when
 * it issues it, so a renewed root reaches those copies only as each Certificate of the CA renews:
 * every 60 days with cert-manager's defaults (90 days, renewed at two thirds). Renewing the root
 * 90 days ahead replaces every copy before the old root expires. It must stay below the root's
 * lifetime, or cert-manager's webhook refuses the Certificate (`renewBefore` not less than
 * `duration`): the settings schema's minimum `validityHours` is twice this.
 */
export const ROOT_CA_RENEW_BEFORE_HOURS = 2160;

/** cert-manager's webhook refuses a `commonName` longer than this (RFC 5280 `ub-common-name`). */
export const MAX_COMMON_NAME = 64;

/**
 * The root CA's common name: `<platform> <cluster> root CA`, or `<cluster> root CA` (the
 * organization names the platform) when that is longer than cert-manager accepts, the cluster
 * name cut to fit. Both names are DNS labels of up to 63 characters.
 */
export function rootCommonName(platformName: string, clusterName: string): string {
  const suffix = ' root CA';
  const full = `${platformName} ${clusterName}${suffix}`;
  if (full.length <= MAX_COMMON_NAME) return full;
  return `${clusterName.slice(0, MAX_COMMON_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** The ClusterIssuer of an ACME server. */
export function acmeIssuerName(server: keyof typeof ACME_SERVERS): string {
  return `letsencrypt-${server}`;
}

/** The ClusterIssuer certificates reference on a cluster with this issuer. */
export function issuerName(issuer: ResolvedIssuer): string {
  return issuer.type === 'private-ca' ? PRIVATE_CA.issuer : acmeIssuerName(issuer.server);
}

/**
 * The chart installs the cert-manager.io CRDs in the same Application: Argo CD must not dry-run
 * these before the CRDs exist. The sync wave orders them after the Deployments (wave 0), so the
 * webhook answers when they are applied, and each after what it needs: the root after the
 * self-signed issuer, the CA issuer after the root's Secret (a CA issuer without its Secret is
 * Degraded, and Argo CD would wait on it).
 */
function syncAnnotations(wave: number): { [key: string]: string } {
  return {
    'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
    'argocd.argoproj.io/sync-wave': String(wave),
  };
}

function keySelector(ref: SecretKeyRef): { name: string; key: string } {
  return { name: ref.name, key: ref.key };
}

/** The private CA of a cluster: self-signed bootstrap issuer, root Certificate, CA issuer. */
function privateCa(
  cluster: ResolvedCluster,
  issuer: Extract<ResolvedIssuer, { type: 'private-ca' }>,
  platformName: string,
): { [key: string]: KubeObject } {
  return {
    'clusterissuer-selfsigned': {
      apiVersion: API_VERSION,
      kind: 'ClusterIssuer',
      metadata: { name: PRIVATE_CA.selfSigned, annotations: syncAnnotations(1) },
      spec: { selfSigned: {} },
    },
    'certificate-root-ca': {
      apiVersion: API_VERSION,
      kind: 'Certificate',
      metadata: {
        name: PRIVATE_CA.root,
        namespace: CERT_MANAGER_NAMESPACE,
        annotations: syncAnnotations(2),
      },
      spec: {
        isCA: true,
        commonName: rootCommonName(platformName, cluster.name),
        subject: { organizations: [issuer.organization] },
        secretName: PRIVATE_CA.root,
        duration: `${issuer.validityHours}h`,
        // Renew 90 days ahead, so that every ca.crt copy follows before the old root expires
        // (ROOT_CA_RENEW_BEFORE_HOURS); keep the key, so a renewed root still verifies what it
        // signed.
        renewBefore: `${ROOT_CA_RENEW_BEFORE_HOURS}h`,
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
        issuerRef: {
          group: CERT_MANAGER_GROUP,
          kind: 'ClusterIssuer',
          name: PRIVATE_CA.selfSigned,
        },
      },
    },
    'clusterissuer-private-ca': {
      apiVersion: API_VERSION,
      kind: 'ClusterIssuer',
      metadata: { name: PRIVATE_CA.issuer, annotations: syncAnnotations(3) },
      spec: { ca: { secretName: PRIVATE_CA.root } },
    },
  };
}

function dns01(solver: ResolvedSolver): Values {
  switch (solver.provider) {
    case 'cloudflare':
      return { cloudflare: { apiTokenSecretRef: keySelector(solver.apiToken) } };
    case 'rfc2136':
      return {
        rfc2136: {
          nameserver: solver.nameserver,
          tsigKeyName: solver.tsigKeyName,
          tsigAlgorithm: solver.tsigAlgorithm,
          tsigSecretSecretRef: keySelector(solver.tsigSecret),
        },
      };
    case 'route53':
      return {
        route53: {
          region: solver.region,
          ...(solver.hostedZoneId === undefined ? {} : { hostedZoneID: solver.hostedZoneId }),
          accessKeyIDSecretRef: keySelector(solver.accessKeyId),
          secretAccessKeySecretRef: keySelector(solver.secretAccessKey),
        },
      };
  }
}

/** The Secrets an issuer reads (its DNS provider's credentials). */
export function issuerSecrets(issuer: ResolvedIssuer): SecretKeyRef[] {
  if (issuer.type !== 'acme') return [];
  const solver = issuer.solver;
  switch (solver.provider) {
    case 'cloudflare':
      return [solver.apiToken];
    case 'rfc2136':
      return [solver.tsigSecret];
    case 'route53':
      return [solver.accessKeyId, solver.secretAccessKey];
  }
}

/** The issuer objects of one cluster, keyed for `manifests`. */
export function issuerManifests(
  cluster: ResolvedCluster,
  issuer: ResolvedIssuer,
  platformName: string,
): { [key: string]: KubeObject } {
  if (issuer.type === 'private-ca') return privateCa(cluster, issuer, platformName);
  const name = acmeIssuerName(issuer.server);
  return {
    [`clusterissuer-${name}`]: {
      apiVersion: API_VERSION,
      kind: 'ClusterIssuer',
      metadata: { name, annotations: syncAnnotations(1) },
      spec: {
        acme: {
          server: ACME_SERVERS[issuer.server],
          email: issuer.email,
          // cert-manager creates this Secret (the ACME account key) itself.
          privateKeySecretRef: { name: `${name}-account-key` },
          // One solver, no selector: it answers for every name the cluster's certificates ask.
          solvers: [{ dns01: dns01(issuer.solver) }],
        },
      },
    },
  };
}
