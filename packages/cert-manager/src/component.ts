// @homelab/cert-manager: the cert-manager component. Provides `certificates` (one ClusterIssuer
// per cluster: a private CA made in the cluster, or Let's Encrypt with a DNS-01 solver); renders
// charts/cert-manager, the upstream chart with its CRDs, HA and resources per environment and the
// issuer objects; declares the DNS provider's Secret and the runbook step that trusts the CA. Pure.
import {
  type ApplicationDescriptor,
  type BootstrapSecret,
  type BootstrapStep,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  cidrContains,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  type Declaration,
  type DeclareInput,
  type EnvironmentName,
  type GroupKind,
  type Issue,
  type PathSegment,
  parseIp,
  type RenderInput,
  type ResolvedCluster,
  requireVariable,
  SECRET_APPLY,
  type SecretKeyRef,
  type SecretRequirement,
  secretFromVariable,
  shellQuote,
  type Values,
  warning,
} from '@homelab/core';
import { CERT_MANAGER_CHANGES } from './changes.js';
import { CERT_MANAGER_CHECKS } from './checks.js';
import { certManagerFlows } from './flows.js';
import {
  CERT_MANAGER_GROUP,
  issuerManifests,
  issuerName,
  issuerSecrets,
  PRIVATE_CA,
  ROOT_CA_RENEW_BEFORE_HOURS,
} from './issuers.js';
import {
  CERT_MANAGER_NAMESPACE,
  type CertManagerSettings,
  certManagerSettingsSpec,
  type ResolvedIssuer,
  resolveCertManagerSettings,
} from './settings.js';
import { certManagerValidators } from './validators.js';
import {
  baseValues,
  CERT_MANAGER_RELEASE,
  CERT_MANAGER_VALUES_KEY,
  clusterValues,
  environmentValues,
} from './values.js';
import {
  CERT_MANAGER_APP_VERSION,
  CERT_MANAGER_CHART,
  CERT_MANAGER_UPGRADE_PATH,
  CERT_MANAGER_UPSTREAM,
} from './versions.js';

/** Chart folder (charts/cert-manager). */
export const CERT_MANAGER_CHART_NAME = 'cert-manager';

/** Kinds whose CRDs the chart installs (`crds.enabled`). */
const INSTALLS: readonly GroupKind[] = [
  ...['Certificate', 'CertificateRequest', 'ClusterIssuer', 'Issuer'].map((kind) => ({
    group: CERT_MANAGER_GROUP,
    kind,
  })),
  ...['Challenge', 'Order'].map((kind) => ({ group: 'acme.cert-manager.io', kind })),
];

/** Cluster-scoped kinds the chart and our issuers create. */
const CLUSTER_RESOURCES: readonly GroupKind[] = [
  { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: CERT_MANAGER_GROUP, kind: 'ClusterIssuer' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
];

function descriptor(cluster: ResolvedCluster): ApplicationDescriptor {
  return {
    chart: CERT_MANAGER_CHART_NAME,
    namespace: CERT_MANAGER_NAMESPACE,
    // The chart's four images and the HTTP-01 solver's, which it hands the controller
    // (`--acme-http01-solver-image`; never started here, the issuers solve DNS-01 only). The Helm
    // suite checks every image the chart renders is here.
    imageRepositories: {
      [CERT_MANAGER_NAMESPACE]: [
        'acmesolver',
        'cainjector',
        'controller',
        'startupapicheck',
        'webhook',
      ].map((name) => `quay.io/jetstack/cert-manager-${name}`),
    },
    // Not critical: removing cert-manager stops renewals but breaks nothing that runs, and the
    // CRDs carry helm.sh/resource-policy: keep (Argo CD: Delete=false), so every Certificate
    // and Issuer of the cluster survives a deleted or renamed Application.
    critical: false,
    installs: INSTALLS,
    // Every cert-manager pod runs as non-root, drops all capabilities, RuntimeDefault seccomp.
    podSecurity: 'restricted',
    // The ClusterIssuer and Issuer CRDs are larger than the client-side apply annotation allows.
    serverSideApply: true,
    clusterResources: CLUSTER_RESOURCES.map((kind) => ({ ...kind })),
    // What the upstream chart renders with our values (the project allows exactly these).
    namespacedResources: [
      { group: '', kind: 'Service' },
      { group: '', kind: 'ServiceAccount' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'batch', kind: 'Job' },
      { group: 'rbac.authorization.k8s.io', kind: 'Role' },
      { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
      ...(cluster.profile.podDisruptionBudget
        ? [{ group: 'policy', kind: 'PodDisruptionBudget' }]
        : []),
    ],
  };
}

/** An environment variable name for a Secret key, read from the operator's shell. */
function variableFor(ref: SecretKeyRef): string {
  return `${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** The issuer's Secrets grouped by name, keys sorted. */
function secretsByName(refs: readonly SecretKeyRef[]): Map<string, SecretKeyRef[]> {
  const byName = new Map<string, SecretKeyRef[]>();
  for (const ref of refs) {
    const list = byName.get(ref.name) ?? [];
    if (!list.some((other) => other.key === ref.key)) list.push(ref);
    byName.set(ref.name, list);
  }
  for (const list of byName.values()) list.sort((a, b) => compareStrings(a.key, b.key));
  return new Map([...byName].sort(([a], [b]) => compareStrings(a, b)));
}

/**
 * What the credentials must be allowed to do, as the provider's cert-manager documentation says
 * (cert-manager.io/docs/configuration/acme/dns01/): the Cloudflare solver finds the zone by name
 * (`GET /zones?name=`, pkg/issuer/acme/dns/cloudflare, v1.21.1), which a token with DNS:Edit
 * alone may not do; Route 53 likewise lists hosted zones by name and waits for the change.
 */
const CREDENTIAL_NEEDS: { readonly [provider: string]: string } = {
  cloudflare:
    'a Cloudflare API token with the permissions Zone:DNS:Edit and Zone:Zone:Read on all zones (cert-manager looks the zone up by name)',
  route53:
    'the access key of an IAM user allowed route53:GetChange, route53:ChangeResourceRecordSets, route53:ListResourceRecordSets and route53:ListHostedZonesByName',
  rfc2136: 'the TSIG key (base64) the DNS server accepts dynamic updates of the zone with',
};

function credentialDescription(issuer: ResolvedIssuer): string {
  if (issuer.type !== 'acme') return 'credentials of the issuer';
  const provider = issuer.solver.provider;
  return `credentials of the ${provider} DNS-01 solver (ACME DNS-01 challenges): ${CREDENTIAL_NEEDS[provider]}`;
}

/**
 * The DNS provider's credentials: declared to the `secrets` provider when the cluster has one,
 * else made by hand with the runbook's commands (values read from the terminal, never from Git
 * and never in the shell history).
 */
function credentials(
  issuer: ResolvedIssuer,
  hasSecretsProvider: boolean,
): { secrets: SecretRequirement[]; bootstrapSecrets: BootstrapSecret[] } {
  const grouped = secretsByName(issuerSecrets(issuer));
  const description = credentialDescription(issuer);
  if (hasSecretsProvider) {
    return {
      secrets: [...grouped].map(([name, refs]) => ({
        name,
        namespace: CERT_MANAGER_NAMESPACE,
        keys: refs.map((ref) => ref.key),
        description,
        // The controller reads the issuer's credentials from its Secret informer at each
        // challenge: the next issuance or renewal uses the new value.
        readers: [
          {
            kind: 'Deployment' as const,
            name: CERT_MANAGER_RELEASE,
            reads: 'use' as const,
            how: 'the issuer\u2019s credential Secret, which the controller reads at each ACME challenge',
          },
        ],
      })),
      bootstrapSecrets: [],
    };
  }
  return {
    secrets: [],
    bootstrapSecrets: [...grouped].map(([name, refs]) => ({
      name,
      namespace: CERT_MANAGER_NAMESPACE,
      keys: refs.map((ref) => ref.key),
      description,
      reads: refs.map((ref) => ({ variable: variableFor(ref), prompt: `${name}/${ref.key}` })),
      commands: [
        ...refs.map((ref) => `${requireVariable(variableFor(ref), 'empty: read it again')} &&`),
        `kubectl -n ${CERT_MANAGER_NAMESPACE} create secret generic ${shellQuote(name)} \\`,
        ...refs.map((ref) => `  ${secretFromVariable(ref.key, variableFor(ref))} \\`),
        `  --dry-run=client -o yaml | ${SECRET_APPLY}`,
      ],
    })),
  };
}

/** The file the runbook extracts a cluster's private root CA into. */
export function caFile(platformName: string, cluster: ResolvedCluster): string {
  return `${platformName}-${cluster.name}-root-ca.crt`;
}

/**
 * Commands that wait for an object Argo CD creates after the hand-over, then for its condition.
 * `kubectl wait --for=condition=…` on a named object fails at once while the object, or its
 * kind's CRD, does not exist yet (its resource builder's GET is NotFound); `--for=create`
 * (kubectl 1.31+) waits for it, once the CRD is established so that kubectl can map the kind.
 */
function waitForCreated(
  crd: string,
  object: string,
  condition: string,
  namespace?: string,
): string[] {
  const ns = namespace === undefined ? '' : `-n ${namespace} `;
  return [
    `kubectl wait --for=create crd/${crd} --timeout=30m`,
    `kubectl wait --for=condition=Established crd/${crd} --timeout=5m`,
    `kubectl ${ns}wait --for=create ${object} --timeout=30m`,
    `kubectl ${ns}wait --for=condition=${condition} ${object} --timeout=10m`,
  ];
}

function trustStep(platformName: string, cluster: ResolvedCluster): BootstrapStep {
  const file = shellQuote(caFile(platformName, cluster));
  return {
    title: "Trust the cluster's private CA",
    when: 'after-handover',
    body: [
      `Every certificate of \`*.${cluster.domain}\` comes from the private CA cert-manager made in`,
      'the cluster. The commands wait until Argo CD has synced cert-manager and its CA is ready,',
      'then extract the root certificate and check its fingerprint:',
    ],
    commands: [
      ...waitForCreated(
        `certificates.${CERT_MANAGER_GROUP}`,
        `certificate/${PRIVATE_CA.root}`,
        'Ready',
        CERT_MANAGER_NAMESPACE,
      ),
      `kubectl -n ${CERT_MANAGER_NAMESPACE} get secret ${PRIVATE_CA.root} -o jsonpath='{.data.ca\\.crt}' | base64 -d > ${file}`,
      `openssl x509 -in ${file} -noout -subject -enddate -fingerprint -sha256`,
    ],
    after: [
      'Then trust it on every machine that opens the platform, e.g.:',
      '',
      `- Debian/Ubuntu: \`sudo cp ${file} /usr/local/share/ca-certificates/ && sudo update-ca-certificates\``,
      `- macOS: \`sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${file}\``,
      `- Windows (Edge and Chrome read this store), in a Command Prompt run as administrator: \`certutil -addstore Root ${file}\``,
      '- Firefox keeps its own store: Settings → Certificates → Import.',
      '- Chrome and Chromium on Linux read their NSS store, not the system one (`libnss3-tools`):',
      `  \`certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n ${shellQuote(`${platformName} ${cluster.name} root CA`)} -i ${file}\``,
    ],
  };
}

/**
 * Trusting the root again when cert-manager renews it (`when: 'later'`). cert-manager (v1.21)
 * renews the root Certificate at `notAfter - renewBefore` (ROOT_CA_RENEW_BEFORE_HOURS, 90 days)
 * and, with `rotationPolicy: Never`, signs the new root with the same key and subject: every
 * certificate of the CA, issued before or after, verifies with either root certificate, but a
 * client that trusts the old one refuses the chain once that root's own `notAfter` passed
 * (OpenSSL and Go check the trust anchor's validity too). Inside the platform the copies follow
 * by themselves: each Certificate of the CA renews within the root's `renewBefore` (the
 * `certificate-lifetimes` check) and carries the new root in its `ca.crt`, which Argo CD re-reads
 * when the Secret changes and Grafana reads at each login from its mounted Secret. The operators'
 * machines do not: this step tells them when, and how to see it happened.
 */
function renewalStep(
  platformName: string,
  cluster: ResolvedCluster,
  validityHours: number,
): BootstrapStep {
  const file = shellQuote(caFile(platformName, cluster));
  const secret = `kubectl -n ${CERT_MANAGER_NAMESPACE} get secret ${PRIVATE_CA.root} -o jsonpath='{.data.ca\\.crt}' | base64 -d`;
  const days = ROOT_CA_RENEW_BEFORE_HOURS / 24;
  return {
    title: "trust the private CA's renewed root before the old one expires",
    when: 'later',
    body: [
      `The root \`${PRIVATE_CA.root}\` (namespace \`${CERT_MANAGER_NAMESPACE}\`) is valid ${validityHours} hours; cert-manager`,
      `renews it ${days} days before it expires (\`renewBefore: ${ROOT_CA_RENEW_BEFORE_HOURS}h\`), with the same key (\`rotationPolicy:`,
      'Never`) and subject: certificates issued before and after verify with either root certificate,',
      'but a machine that trusts only the old one refuses them all once that one expires (OpenSSL and',
      'Go check the trusted root’s dates too). Inside the platform nothing is to be done: every',
      `certificate of the CA renews within those ${days} days and carries the new root in its \`ca.crt\`,`,
      'which Argo CD (`rootCA`, re-read when its Secret changes) and Grafana (`tls_client_ca`, read at',
      'each login from its mounted Secret) follow by themselves. Every machine that trusts the root',
      '(the step "Trust the cluster’s private CA": system and browser stores, `SSL_CERT_FILE` for the',
      'argocd CLI, anything else that pinned it) must trust the renewed one between the renewal and',
      'the old root’s expiry.',
      '',
      'The first command prints when the root renews (note it in your calendar) and when the one in',
      'the cluster expires; the next two print the end date and fingerprint of the root you trust',
      'and of the root in the cluster. The last two export the root in the cluster again and print',
      'its subject, end date and fingerprint (while it was not renewed, the file does not change).',
      'Once the fingerprints differ, the root was renewed: trust the exported one on every machine,',
      'as in that step, before the end date of the root you trust (the second command\u2019s). Both',
      'may stay trusted side by side (same subject and key).',
    ],
    commands: [
      `kubectl -n ${CERT_MANAGER_NAMESPACE} get certificate ${PRIVATE_CA.root} -o jsonpath='renews: {.status.renewalTime}{"\\n"}expires: {.status.notAfter}{"\\n"}'`,
      `openssl x509 -in ${file} -noout -enddate -fingerprint -sha256`,
      `${secret} | openssl x509 -noout -enddate -fingerprint -sha256`,
      `${secret} > ${file}`,
      `openssl x509 -in ${file} -noout -subject -enddate -fingerprint -sha256`,
    ],
  };
}

function acmeStep(issuer: Extract<ResolvedIssuer, { type: 'acme' }>): BootstrapStep {
  const name = issuerName(issuer);
  return {
    title: 'Check the ACME issuer',
    when: 'after-handover',
    body: [
      `cert-manager registers the ACME account and answers DNS-01 challenges through ${issuer.solver.provider}.`,
      ...(issuer.server === 'staging'
        ? [
            "The issuer uses Let's Encrypt's staging directory: browsers do not trust its certificates,",
            'and neither do the servers of the applications that log in through the OIDC provider',
            '(their SSO fails). Once the Gateway certificate is Ready, set `issuer.acme.server: production`',
            'and rebuild.',
          ]
        : [
            // letsencrypt.org/docs/rate-limits (2025): the limits a rebuilt or retried cluster meets
            // first. Renewals are exempt from the per-name limit; a new cluster's order is not.
            "Let's Encrypt's production directory issues at most 5 certificates for the same set of names",
            'per 7 days (one more about every 34 hours) and allows 5 failed validations per name per hour.',
            'Each rebuild of this cluster orders its certificates again: try issuer changes on',
            '`issuer.acme.server: staging` first. An order refused for a limit shows',
            '`too many certificates` or `rateLimited` in `kubectl describe orders -A`; it passes by itself once',
            'the limit refills, and revoking certificates does not reset it.',
          ]),
    ],
    commands: [
      ...waitForCreated(`clusterissuers.${CERT_MANAGER_GROUP}`, `clusterissuer/${name}`, 'Ready'),
      'kubectl get certificates,challenges -A',
    ],
  };
}

function declare(input: DeclareInput<CertManagerSettings>): Declaration {
  const { cluster, platform } = input;
  const { settings, issues } = resolveCertManagerSettings(input.settings, {
    platformName: platform.name,
    domain: cluster.domain,
    path: input.path,
  });
  const enforced = input.provided.cni?.networkPolicy === true;
  if (settings === undefined) {
    return {
      application: descriptor(cluster),
      flows: certManagerFlows(undefined, enforced, input.path).flows,
      issues,
    };
  }
  const issuer = settings.issuer;
  const { secrets, bootstrapSecrets } = credentials(issuer, input.provided.secrets !== undefined);
  const network = certManagerFlows(
    issuer,
    enforced,
    input.path,
    input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
  );
  issues.push(...network.issues);
  issues.push(...lanResolverIssues(issuer, cluster, input.path));
  return {
    application: descriptor(cluster),
    flows: network.flows,
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(bootstrapSecrets.length > 0 ? { bootstrapSecrets } : {}),
    bootstrap:
      issuer.type === 'private-ca'
        ? [
            trustStep(platform.name, cluster),
            renewalStep(platform.name, cluster, issuer.validityHours),
          ]
        : [acmeStep(issuer)],
    facts: {
      certificates: {
        issuerRef: { group: CERT_MANAGER_GROUP, kind: 'ClusterIssuer', name: issuerName(issuer) },
        privateCa: issuer.type === 'private-ca',
        ...(issuer.type === 'acme' && issuer.server === 'staging' ? { untrusted: true } : {}),
      },
    },
    issues,
  };
}

function readme(): ChartSpec['readme'] {
  return {
    summary:
      `cert-manager ${CERT_MANAGER_APP_VERSION} (upstream chart ${CERT_MANAGER_CHART.version}) with ` +
      'its CRDs, and the ClusterIssuer every platform certificate comes from: a private CA made in ' +
      "the cluster for a lab domain, or Let's Encrypt with a DNS-01 solver for a real one. " +
      'Controller, webhook and CA injector replicas, disruption budgets, placement, requests and ' +
      "memory limits follow each environment's profile.",
    sections: [
      {
        heading: 'CRDs',
        body:
          'The chart installs the cert-manager CRDs (`crds.enabled`) with ' +
          '`helm.sh/resource-policy: keep`, which Argo CD treats as `Delete=false`: deleting the ' +
          'Application never deletes the CRDs, and with them every Certificate and Issuer.',
      },
      {
        heading: 'Issuers',
        body:
          'A private CA is a self-signed root (`private-root-ca` in the cert-manager namespace, ' +
          'ten years, key never rotated) and the `private-ca` ClusterIssuer over it; each cluster ' +
          'has its own. The runbook extracts the root to trust it. An ACME issuer reads its DNS ' +
          "provider's credentials from a Secret in the cert-manager namespace, declared to the " +
          'secrets provider or made by hand as the runbook says. Gateway API support ' +
          '(`config.gatewayAPI.enabled`, off by default in v1.21.1) stays off: the Gateway asks for its certificate with an ' +
          'explicit Certificate, so cert-manager does not depend on the Gateway API CRDs at start.',
      },
    ],
  };
}

/** charts/cert-manager for every cluster that enables cert-manager. */
function render(input: RenderInput<CertManagerSettings>): ComponentOutput {
  const issues: Issue[] = [];
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments = new Set<EnvironmentName>();
  for (const entry of input.clusters) {
    const { settings } = resolveCertManagerSettings(entry.settings, {
      platformName: input.platform.name,
      domain: entry.cluster.domain,
      path: entry.path,
    });
    if (settings === undefined) continue;
    environments.add(entry.cluster.environment);
    const values = clusterValues(entry.cluster, settings.issuer, entry.path, issues);
    const upstream = values[CERT_MANAGER_VALUES_KEY] as Values;
    clusterLayers[entry.cluster.name] = {
      ...(Object.keys(upstream).length > 0 ? values : {}),
      // KubeObjects are plain JSON data; their type only names the fields we rely on.
      manifests: issuerManifests(
        entry.cluster,
        settings.issuer,
        input.platform.name,
      ) as unknown as Values,
    };
  }
  const environmentLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of [...environments].sort(compareStrings)) {
    environmentLayers[name] = environmentValues(input.platform.environments[name]);
  }
  const chart: ChartSpec = {
    name: CERT_MANAGER_CHART_NAME,
    description: 'cert-manager, the issuer of the platform TLS certificates',
    appVersion: CERT_MANAGER_APP_VERSION,
    dependency: {
      name: CERT_MANAGER_VALUES_KEY,
      version: CERT_MANAGER_CHART.version,
      repository: CERT_MANAGER_CHART.repository,
      upgradePath: CERT_MANAGER_UPGRADE_PATH,
    },
    values: baseValues(),
    environments: environmentLayers,
    clusters: clusterLayers,
    readme: readme(),
  };
  return { chart, issues };
}

/** cert-manager as a platform component. */
export const certManagerComponent: Component<CertManagerSettings> = {
  name: 'cert-manager',
  description: "cert-manager, the platform's TLS certificates: a private CA or ACME DNS-01.",
  settings: certManagerSettingsSpec,
  provides: ['certificates'],
  needs: ['cni'],
  uses: ['secrets'],
  upstream: CERT_MANAGER_UPSTREAM,
  validators: certManagerValidators,
  checks: CERT_MANAGER_CHECKS,
  changes: CERT_MANAGER_CHANGES,
  declare,
  render,
};

/** Addresses of private networks: RFC 1918, carrier-grade NAT, link-local, ULA. */
const PRIVATE_NETWORKS = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
];

/**
 * A warning for each recursive nameserver of an ACME issuer at a private address outside the
 * cluster (a resolver of the LAN): with `recursiveNameservers` set, cert-manager v1.21.1 asks
 * only them for the challenge's TXT record (`--dns01-recursive-nameservers-only`,
 * pkg/issuer/acme/dns/util/wait.go `checkDNSPropagation`). A LAN resolver that serves the
 * home domain itself (dnsmasq's `address=/<domain>/…`, an Unbound local zone, Pi-hole's local
 * DNS: what the runbook's "Point DNS at the Gateway" suggests) answers the TXT query empty and
 * never forwards it, so the challenge never passes and the Gateway's certificate stays pending.
 * One that forwards the domain upstream works: a warning. Left alone: the cluster's own
 * addresses (CoreDNS: the `acme-self-check-dns` check covers it) and the RFC 2136 server the
 * records are written to (it answers them).
 */
function lanResolverIssues(
  issuer: ResolvedIssuer,
  cluster: ResolvedCluster,
  path: (...segments: PathSegment[]) => PathSegment[],
): Issue[] {
  if (issuer.type !== 'acme') return [];
  const hostOf = (address: string) =>
    /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):\d{1,5}$/.exec(address)?.slice(1).find(Boolean);
  // The RFC 2136 server the records are written to, as an address (a name cannot be compared:
  // then no resolver is warned of, since it may be that server)
  const server =
    issuer.solver.provider === 'rfc2136' ? hostOf(issuer.solver.nameserver) : undefined;
  if (server !== undefined && parseIp(server) === undefined) return [];
  const written = server === undefined ? undefined : parseIp(server)?.text;
  const inCluster = [cluster.network.serviceCidr, cluster.network.podCidr].filter(
    (cidr): cidr is string => typeof cidr === 'string',
  );
  const issues: Issue[] = [];
  issuer.recursiveNameservers.forEach((nameserver, index) => {
    const host = hostOf(nameserver);
    if (host === undefined || parseIp(host)?.text === written) return;
    if (!PRIVATE_NETWORKS.some((cidr) => cidrContains(cidr, host))) return;
    if (inCluster.some((cidr) => cidrContains(cidr, host))) return;
    issues.push(
      warning({
        code: 'cert-manager-lan-resolver',
        path: path('issuer', 'acme', 'recursiveNameservers', index),
        value: nameserver,
        message: `is a private address, a resolver of your network: cert-manager asks only the recursive nameservers whether the DNS-01 challenge record is visible, and a resolver that serves ${cluster.domain} itself (a dnsmasq address=/${cluster.domain}/ line, an Unbound local zone, Pi-hole's local DNS) answers the TXT query empty without forwarding it: the challenge never passes and the Gateway's certificate is never issued`,
        expected:
          'resolvers that answer the zone as the Internet sees it (e.g. ["1.1.1.1:53", "9.9.9.9:53"]), or this one only if it forwards queries for your domain upstream',
      }),
    );
  });
  return issues;
}
