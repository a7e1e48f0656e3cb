// Layer 4 check of cert-manager (DESIGN.md, "Validation layers"): every Certificate of the platform,
// whichever component renders it, has a lifetime cert-manager's webhook accepts, and the
// Certificates of a CA issuer renew often enough that the CA copies in their Secrets follow a
// renewed root in time. Pure.
import type { DeployedApplication, Issue, JsonValue, KubeObject, SystemCheck } from '@homelab/core';
import { error } from '@homelab/core';
import { CERT_MANAGER_GROUP } from './issuers.js';
import { acmeSelfCheckDns } from './self-check.js';
import { CERT_MANAGER_NAMESPACE } from './settings.js';

// biome-ignore lint/suspicious/noExplicitAny: navigation into plain JSON objects
type Json = any;

const HOUR = 3600;

/** cert-manager's defaults and limits (pkg/apis/certmanager/v1, v1.21.1), in seconds. */
const DEFAULT_DURATION = 2160 * HOUR;
const MINIMUM_DURATION = HOUR;
const MINIMUM_RENEW_BEFORE = 5 * 60;

interface Located {
  readonly object: KubeObject;
  readonly spec: Json;
  readonly source: string;
  readonly app: DeployedApplication;
}

function isCertManager(object: KubeObject, kind: string): boolean {
  return object.apiVersion === `${CERT_MANAGER_GROUP}/v1` && object.kind === kind;
}

/** A Go duration of hours, minutes and seconds (`2160h`, `1h30m`), in seconds; else undefined. */
export function parseDuration(value: JsonValue | undefined): number | undefined {
  if (typeof value !== 'string' || !/^(\d+(\.\d+)?(h|m|s))+$/.test(value)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)) {
    seconds += Number(amount) * (unit === 'h' ? HOUR : unit === 'm' ? 60 : 1);
  }
  return seconds;
}

function formatDuration(seconds: number): string {
  if (seconds % HOUR === 0) return `${seconds / HOUR}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

interface Lifetime {
  /** `spec.duration`, or cert-manager's default (90 days). */
  readonly duration: number;
  /** `spec.renewBefore` as written, when it is. */
  readonly renewBefore: number | undefined;
  /** How long before expiry cert-manager renews it (`desiredRenewalTime` of pki/renewaltime.go). */
  readonly effectiveRenewBefore: number;
}

function lifetimeOf(spec: Json): Lifetime {
  const duration = parseDuration(spec.duration) ?? DEFAULT_DURATION;
  const renewBefore = parseDuration(spec.renewBefore);
  const percentage = spec.renewBeforePercentage;
  const effectiveRenewBefore =
    renewBefore !== undefined && renewBefore > 0 && renewBefore < duration
      ? renewBefore
      : typeof percentage === 'number' && percentage > 0 && percentage < 100
        ? (duration * percentage) / 100
        : duration / 3;
  return { duration, renewBefore, effectiveRenewBefore };
}

function name(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** What cert-manager's webhook says of a Certificate's lifetime (validation/certificate.go). */
function webhookProblems(lifetime: Lifetime): string[] {
  const problems: string[] = [];
  if (lifetime.duration < MINIMUM_DURATION) {
    problems.push(`duration ${formatDuration(lifetime.duration)} is shorter than 1h`);
  }
  if (lifetime.renewBefore !== undefined) {
    if (lifetime.renewBefore < MINIMUM_RENEW_BEFORE) {
      problems.push(`renewBefore ${formatDuration(lifetime.renewBefore)} is shorter than 5m`);
    }
    if (lifetime.renewBefore >= lifetime.duration) {
      problems.push(
        `renewBefore ${formatDuration(lifetime.renewBefore)} is not less than its duration ${formatDuration(lifetime.duration)}`,
      );
    }
  }
  return problems;
}

/** The Certificate that makes the CA Secret of `certificate`'s issuer, when its issuer is a CA. */
function caCertificate(certificate: Located, objects: readonly Located[]): Located | undefined {
  const ref = certificate.spec.issuerRef ?? {};
  if ((ref.group ?? CERT_MANAGER_GROUP) !== CERT_MANAGER_GROUP) return undefined;
  const kind = ref.kind ?? 'Issuer';
  const namespace = certificate.object.metadata.namespace ?? certificate.app.namespace;
  const issuer = objects.find(
    (item) =>
      isCertManager(item.object, kind) &&
      item.object.metadata.name === ref.name &&
      (kind === 'ClusterIssuer' ||
        (item.object.metadata.namespace ?? item.app.namespace) === namespace),
  );
  const secretName = issuer?.spec.ca?.secretName;
  if (issuer === undefined || typeof secretName !== 'string') return undefined;
  // A ClusterIssuer reads its Secret from cert-manager's cluster resource namespace (the chart's
  // `clusterResourceNamespace`: its own namespace), an Issuer from its own.
  const secretNamespace =
    kind === 'ClusterIssuer'
      ? CERT_MANAGER_NAMESPACE
      : (issuer.object.metadata.namespace ?? issuer.app.namespace);
  return objects.find(
    (item) =>
      item !== certificate &&
      isCertManager(item.object, 'Certificate') &&
      (item.object.metadata.namespace ?? item.app.namespace) === secretNamespace &&
      item.spec.secretName === secretName,
  );
}

/**
 * Every Certificate's lifetime passes cert-manager's webhook, and every Certificate of a CA
 * issuer renews more often than its CA's Certificate renews ahead of expiry: cert-manager writes
 * `ca.crt` only when it issues, so a slower one keeps the old root in its Secret after that root
 * expired, and whatever trusts that copy (Argo CD's `rootCA`, Grafana's `tls_client_ca`) refuses
 * every platform certificate until it renews.
 */
export const certificateRenewal: SystemCheck = {
  name: 'certificate-renewal',
  description:
    "Every cert-manager Certificate has a lifetime cert-manager's webhook accepts (duration at least 1h, renewBefore at least 5m and below the duration), and every Certificate of a CA issuer whose Secret a Certificate makes (the private CA's root) renews more often than that root renews ahead of its expiry, so that its Secret's ca.crt (what Argo CD's rootCA and Grafana's tls_client_ca trust) holds the renewed root before the old one expires.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const objects: Located[] = deployed.applications.flatMap((app) =>
        app.objects.map(({ object, source }) => ({
          object,
          spec: (object.spec ?? {}) as Json,
          source,
          app,
        })),
      );
      const certificates = objects.filter((item) => isCertManager(item.object, 'Certificate'));
      for (const certificate of certificates) {
        const lifetime = lifetimeOf(certificate.spec);
        const where = `Certificate ${name(certificate.object)} on cluster "${deployed.cluster.name}"`;
        const refused = webhookProblems(lifetime);
        if (refused.length > 0) {
          issues.push(
            error({
              code: 'certificate-renewal',
              path: certificate.app.origin,
              output: certificate.source,
              message: `${where} is refused by cert-manager's webhook: ${refused.join('; ')}`,
              expected:
                'duration of at least 1h, renewBefore of at least 5m and below the duration',
            }),
          );
          continue;
        }
        const ca = caCertificate(certificate, objects);
        if (ca === undefined) continue;
        const root = lifetimeOf(ca.spec);
        // A CA the webhook refuses is its own error: no leaf of it is issued at all.
        if (webhookProblems(root).length > 0) continue;
        const interval = lifetime.duration - lifetime.effectiveRenewBefore;
        if (interval < root.effectiveRenewBefore) continue;
        issues.push(
          error({
            code: 'certificate-renewal',
            path: certificate.app.origin,
            output: certificate.source,
            message: `${where} renews every ${formatDuration(interval)}, but its CA ${name(ca.object)} renews only ${formatDuration(root.effectiveRenewBefore)} before it expires: cert-manager writes ca.crt only when it issues, so this Secret's ca.crt can still hold the old root after it expired, and whatever trusts that copy (Argo CD's rootCA, Grafana's tls_client_ca) refuses every certificate of the platform`,
            expected: `a renewal interval (duration minus renewBefore) shorter than ${formatDuration(root.effectiveRenewBefore)}, the CA's renewBefore`,
          }),
        );
      }
    }
    return issues;
  },
};

/** cert-manager's system checks (`checks` of the component). */
export const CERT_MANAGER_CHECKS: readonly SystemCheck[] = [certificateRenewal, acmeSelfCheckDns];
