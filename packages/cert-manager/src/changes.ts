// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// The private CA's root keeps its key for good (`rotationPolicy: Never`), so a renewed root still
// verifies every certificate it signed: clients find a certificate's issuer by its name (the
// issuer field must equal the root's subject) and check the signature with the root's key. A root
// whose subject changes (its common name holds the platform's and the cluster's names, its
// organization the setting or the platform's name) is re-issued by cert-manager at once
// (v1.21.1 `pkg/util/pki/match.go` compares `commonName` and `subject.organizations` with the
// issued certificate; `policies/checks.go` `CurrentCertificateRequestMismatchesSpec`), while every
// certificate it signed keeps naming the old subject until it renews on its own clock.
import { type ChangeCheck, type ChangedObject, isJson, settingsPath, warning } from '@homelab/core';
import { CERT_MANAGER_GROUP, PRIVATE_CA } from './issuers.js';
import { CERT_MANAGER_NAMESPACE } from './settings.js';

/** The subject of the private CA's root Certificate among `objects`, if it is there. */
function rootSubject(
  objects: readonly ChangedObject[],
): { chart: string; commonName: string; organizations: string[] } | undefined {
  for (const { chart, object } of objects) {
    if (
      object.apiVersion !== `${CERT_MANAGER_GROUP}/v1` ||
      object.kind !== 'Certificate' ||
      object.metadata.name !== PRIVATE_CA.root ||
      object.metadata.namespace !== CERT_MANAGER_NAMESPACE
    ) {
      continue;
    }
    const spec = isJson(object.spec) ? object.spec : {};
    const subject = isJson(spec.subject) ? spec.subject : {};
    const organizations = Array.isArray(subject.organizations)
      ? subject.organizations.filter((entry): entry is string => typeof entry === 'string')
      : [];
    return {
      chart,
      commonName: typeof spec.commonName === 'string' ? spec.commonName : '',
      organizations,
    };
  }
  return undefined;
}

/** A subject as the certificates print it: `CN=…, O=…`. */
function subjectText(subject: { commonName: string; organizations: readonly string[] }): string {
  return [`CN=${subject.commonName}`, ...subject.organizations.map((o) => `O=${o}`)].join(', ');
}

/**
 * The private CA's root changes its subject against the last build's: cert-manager re-issues it
 * under the new one (same key), and until each certificate it signed has renewed, the cluster
 * holds certificates naming the old root beside copies of the new one (`ca.crt` of each
 * certificate it issues anew), which TLS clients do not match. A warning with the renewals that
 * close the gap.
 */
export const rootSubjectCheck: ChangeCheck = {
  name: 'private-ca-subject-changed',
  description:
    "The private CA's root keeps the subject the last build deployed (its common name holds the platform's and the cluster's names, its organization `issuer.privateCa.organization` or the platform's name), or the build says to renew every certificate it signed: cert-manager re-issues a root whose subject changed, and a certificate whose issuer names the old subject verifies against no copy of the new root.",
  check({ cluster, before, after }) {
    const was = rootSubject(before);
    const now = rootSubject(after);
    if (was === undefined || now === undefined) return [];
    if (subjectText(was) === subjectText(now)) return [];
    const sameName = was.commonName === now.commonName;
    return [
      warning({
        code: 'private-ca-subject-changed',
        // The common name follows the platform's name (the cluster's is the cluster itself); the
        // organization follows the issuer's setting, else the platform's name.
        path: sameName ? settingsPath(cluster, 'cert-manager', 'issuer') : ['platform', 'name'],
        output: `charts/${now.chart}`,
        value: subjectText(now),
        message: `re-issues the private CA's root of cluster "${cluster.name}" as ${subjectText(now)}, in place of ${subjectText(was)}, which the last build deployed: cert-manager re-issues a root whose subject changed (with the same key), but every certificate it signed names the old subject as its issuer until it renews on its own (cert-manager's default: at two thirds of 90 days), and TLS clients look a certificate's issuer up by that name: from the sync on, whatever was given the new root (Argo CD's and Grafana's copies of \`ca.crt\`, an application's \`platform-ca\`, devices that install it again) refuses the certificates still signed under the old name, and whatever holds the old root refuses the renewed ones`,
        expected: `the platform's name${sameName ? " and the issuer's organization" : ''} kept while the cluster runs its private CA; else, once Argo CD synced the change and \`kubectl -n ${CERT_MANAGER_NAMESPACE} get certificate ${PRIVATE_CA.root}\` is Ready, renew every certificate of the ${PRIVATE_CA.issuer} ClusterIssuer (the cert-manager CLI: \`cmctl renew --all --all-namespaces\`), then install the new root where devices trust the old one (the runbook's step that exports it)`,
      }),
    ];
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const CERT_MANAGER_CHANGES: readonly ChangeCheck[] = [rootSubjectCheck];
