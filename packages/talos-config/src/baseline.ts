// The Talos security baseline of a cluster: what every node gets whatever the components ask.
// - disk encryption of STATE and EPHEMERAL (LUKS2, `VolumeConfig` documents, which every supported
//   release has), keys sealed by the TPM or derived from the node id, per the definition and the
//   environment;
// - kubelet serving-certificate rotation (`rotate-server-certificates`), with the Kubelet Serving
//   Certificate Approver installed by Talos at bootstrap (pinned release manifest), so that the
//   API server and metrics clients verify kubelets against the cluster CA;
// - an API server audit policy (metadata for Secrets and tokens, never their bodies; request
//   bodies for RBAC and admission configuration changes; nothing for high-volume reads);
// - Pod Security admission defaults: baseline enforced, restricted audited and warned,
//   cluster-wide, with exemptions only for the namespaces components declare privileged (each
//   namespace at its own level: `namespacePodSecurity`);
// - network sysctl hardening.
// Pure.
import {
  type ClusterRun,
  compareStrings,
  isJsonTable as isTable,
  type JsonValue,
  namespacePodSecurity,
  type ResolvedCluster,
} from '@homelab/core';
import type { TalosDocument } from './patches.js';

/** Disk encryption key source: TPM-sealed, node-id derived, or none. */
export type DiskEncryption = 'tpm' | 'nodeID' | 'none';

/** What a cluster gets when `talos.diskEncryption` is not set. */
export const DEFAULT_DISK_ENCRYPTION = {
  development: 'nodeID',
  staging: 'tpm',
  production: 'tpm',
} as const satisfies { readonly [E in ResolvedCluster['environment']]: DiskEncryption };

// renovate: datasource=github-releases depName=alex1989hu/kubelet-serving-cert-approver
export const CERT_APPROVER_VERSION = 'v0.11.0';

/** The approver's standalone manifest at its release tag (Talos applies it at bootstrap). */
export const CERT_APPROVER_MANIFEST = `https://raw.githubusercontent.com/alex1989hu/kubelet-serving-cert-approver/${CERT_APPROVER_VERSION}/deploy/standalone-install.yaml`;

/**
 * The namespace the approver's manifest creates (restricted Pod Security, labelled by it), one of
 * core's TALOS_MANIFEST_NAMESPACES, which the admission policies exempt.
 */
export const CERT_APPROVER_NAMESPACE = 'kubelet-serving-cert-approver';

/**
 * Network hardening that holds with Cilium's eBPF datapath (no redirects, no source routing,
 * martians logged, SYN cookies) and kernel pointer / dmesg restrictions on top of Talos' KSPP
 * defaults. Reverse-path filtering is left to Cilium, which manages it on its interfaces.
 */
export const HARDENING_SYSCTLS: { readonly [key: string]: string } = {
  'kernel.dmesg_restrict': '1',
  'kernel.kptr_restrict': '2',
  'net.ipv4.conf.all.accept_redirects': '0',
  'net.ipv4.conf.all.accept_source_route': '0',
  'net.ipv4.conf.all.log_martians': '1',
  'net.ipv4.conf.all.send_redirects': '0',
  'net.ipv4.conf.default.accept_redirects': '0',
  'net.ipv4.conf.default.accept_source_route': '0',
  'net.ipv4.conf.default.send_redirects': '0',
  'net.ipv4.icmp_echo_ignore_broadcasts': '1',
  'net.ipv4.tcp_syncookies': '1',
  'net.ipv6.conf.all.accept_redirects': '0',
  'net.ipv6.conf.all.accept_source_route': '0',
  'net.ipv6.conf.default.accept_redirects': '0',
};

/** The API server's audit policy. */
export const AUDIT_POLICY: { [key: string]: JsonValue } = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [
    // High-volume, low-value reads and health checks.
    {
      level: 'None',
      users: ['system:kube-proxy', 'system:apiserver'],
      verbs: ['watch'],
    },
    {
      level: 'None',
      nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/version', '/metrics'],
    },
    { level: 'None', resources: [{ group: '', resources: ['events'] }] },
    {
      level: 'None',
      resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
      verbs: ['get', 'update'],
    },
    // Secrets, ConfigMaps and tokens: who touched what, never the payload.
    {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
        { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
      ],
    },
    // Changes to who may do what, and to admission: the full request.
    {
      level: 'Request',
      verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
      resources: [
        { group: 'rbac.authorization.k8s.io' },
        { group: 'admissionregistration.k8s.io' },
        { group: 'templates.gatekeeper.sh' },
        { group: 'constraints.gatekeeper.sh' },
        {
          group: 'cilium.io',
          resources: ['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'],
        },
      ],
    },
    // Everything else that changes state: metadata.
    { level: 'Metadata', verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
    { level: 'None' },
  ],
};

/** Namespaces the components declare privileged (their Applications' namespaces), sorted. */
export function privilegedNamespaces(run: ClusterRun): string[] {
  const out = new Set<string>();
  for (const contribution of run.contributions.values()) {
    const application = contribution.application;
    if (application === undefined) continue;
    // Per namespace: a privileged application must not exempt the restricted ones it lists.
    for (const [namespace, level] of namespacePodSecurity(application)) {
      if (level === 'privileged') out.add(namespace);
    }
  }
  return [...out].sort(compareStrings);
}

/**
 * The namespaces `talosctl gen config` already exempts from Pod Security admission in the
 * configuration it generates (every supported release: `pkg/machinery/config/generate/init.go`).
 */
export const TALOS_DEFAULT_EXEMPT_NAMESPACES: readonly string[] = ['kube-system'];

/**
 * The Pod Security admission plugin configuration, merged by name into the one `talosctl gen
 * config` generates. Talos' strategic merge appends lists (`pkg/machinery/config/merge`), so the
 * exemptions list only what Talos' own does not have: a namespace named twice is a duplicate the
 * API server refuses (`exemptions.namespaces[i]: Duplicate value`, the PodSecurity plugin's
 * configuration validation), and it does not start.
 */
export function podSecurityAdmission(exempt: readonly string[]): { [key: string]: JsonValue } {
  const namespaces = exempt.filter(
    (namespace) => !TALOS_DEFAULT_EXEMPT_NAMESPACES.includes(namespace),
  );
  return {
    name: 'PodSecurity',
    configuration: {
      apiVersion: 'pod-security.admission.config.k8s.io/v1',
      kind: 'PodSecurityConfiguration',
      defaults: {
        enforce: 'baseline',
        'enforce-version': 'latest',
        audit: 'restricted',
        'audit-version': 'latest',
        warn: 'restricted',
        'warn-version': 'latest',
      },
      exemptions: { usernames: [], runtimeClasses: [], namespaces },
    },
  };
}

function volumeConfig(name: 'STATE' | 'EPHEMERAL', keys: DiskEncryption): TalosDocument {
  const key = keys === 'tpm' ? { slot: 0, tpm: {} } : { slot: 0, nodeID: {} };
  return {
    apiVersion: 'v1alpha1',
    kind: 'VolumeConfig',
    name,
    encryption: { provider: 'luks2', keys: [key] },
  };
}

export interface Baseline {
  readonly diskEncryption: DiskEncryption;
  /** Namespaces exempt from Pod Security admission once merged (Talos' own and the privileged). */
  readonly exemptNamespaces: readonly string[];
  /** Merged into the v1alpha1 document of both roles. */
  readonly machine: TalosDocument;
  /** Merged into the v1alpha1 document of the control planes. */
  readonly controlPlaneCluster: TalosDocument;
  /** Typed documents appended to both roles' patches. */
  readonly documents: readonly TalosDocument[];
  readonly sysctls: { readonly [key: string]: string };
}

/** The baseline of a cluster. */
export function clusterBaseline(cluster: ResolvedCluster, run: ClusterRun): Baseline {
  const diskEncryption: DiskEncryption =
    (cluster.definition.talos.diskEncryption as DiskEncryption | undefined) ??
    DEFAULT_DISK_ENCRYPTION[cluster.environment];
  const exemptNamespaces = [
    ...new Set([...TALOS_DEFAULT_EXEMPT_NAMESPACES, ...privilegedNamespaces(run)]),
  ].sort(compareStrings);
  return {
    diskEncryption,
    exemptNamespaces,
    machine: { kubelet: { extraArgs: { 'rotate-server-certificates': 'true' } } },
    controlPlaneCluster: {
      apiServer: {
        auditPolicy: AUDIT_POLICY,
        admissionControl: [podSecurityAdmission(exemptNamespaces)],
      },
      extraManifests: [CERT_APPROVER_MANIFEST],
    },
    documents:
      diskEncryption === 'none'
        ? []
        : [volumeConfig('STATE', diskEncryption), volumeConfig('EPHEMERAL', diskEncryption)],
    sysctls: HARDENING_SYSCTLS,
  };
}

type Table = { [key: string]: JsonValue };

/** `base` with `extra` merged in (maps merge; an existing scalar or list is kept). */
function mergeInto(base: Table, extra: Table): Table {
  const out: Table = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    if (isTable(current) && isTable(value)) out[key] = mergeInto(current, value);
    else if (current === undefined) out[key] = value;
  }
  return out;
}

/** A role's patch with the baseline merged into its v1alpha1 document and its documents appended. */
export function withBaseline(
  documents: readonly TalosDocument[],
  baseline: Baseline,
  role: 'controlplane' | 'worker',
): TalosDocument[] {
  const [first, ...rest] = documents;
  const extra: Table = { machine: baseline.machine };
  if (role === 'controlplane') extra.cluster = baseline.controlPlaneCluster;
  const merged = mergeInto(first ?? {}, extra);
  return [merged, ...rest, ...baseline.documents];
}
