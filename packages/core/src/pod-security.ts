// The Kubernetes Pod Security Standards, evaluated on a pod spec the way the PodSecurity
// admission plugin does (DESIGN.md, "Validation layers" 5). Pure: no fs, no env, no clock.
//
// A port of k8s.io/pod-security-admission v0.34.4 (the release that ships with Kubernetes
// 1.34.4), https://github.com/kubernetes/pod-security-admission/tree/v0.34.4/policy:
// every check of `policy/check_*.go` with its versions (`VersionedCheck.MinimumVersion`), the
// restricted checks' `OverrideCheckIDs`, the order of `registry.go` (baseline IDs sorted, then
// restricted IDs sorted), the containers `visitor.go` visits (init, regular, ephemeral), and the
// reasons and details of each `CheckResult`, word for word, so a message here reads like the
// warning `kubectl apply` prints.
//
// Not ported: the `UserNamespacesPodSecurityStandards` relaxation (`helpers.go`
// `relaxPolicyForUserNamespacePod`: an alpha feature gate, off by default in 1.34) and the
// probe-host opt-out for clusters emulating an older minor (`SkipProbeHostEnforcement`).
//
// Input is a pod spec as written in a manifest (the API server's defaulting has not run). One
// defaulting rule matters to the checks and is applied here: a volume with no source is an
// `emptyDir` (k8s.io/kubernetes pkg/apis/core/v1/defaults.go `SetDefaults_Volume`).
import { HomelabError } from './issues.js';
import { isJson as isTable } from './json-access.js';
import type { PodSecurityLevel } from './types.js';
import { compareStrings } from './yaml.js';

/** A check ID of pod-security-admission (`CheckID`), e.g. `hostNamespaces`. */
export type PodSecurityCheckId =
  | 'allowPrivilegeEscalation'
  | 'appArmorProfile'
  | 'capabilities_baseline'
  | 'capabilities_restricted'
  | 'hostNamespaces'
  | 'hostPathVolumes'
  | 'hostPorts'
  | 'hostProbesAndHostLifecycle'
  | 'privileged'
  | 'procMount'
  | 'restrictedVolumes'
  | 'runAsNonRoot'
  | 'runAsUser'
  | 'seLinuxOptions'
  | 'seccompProfile_baseline'
  | 'seccompProfile_restricted'
  | 'sysctls'
  | 'windowsHostProcess';

/** One failed check: what the admission plugin's `CheckResult` says when `Allowed` is false. */
export interface PodSecurityViolation {
  readonly check: PodSecurityCheckId;
  /** The level the check belongs to. */
  readonly level: 'baseline' | 'restricted';
  /** `ForbiddenReason`, e.g. `host namespaces`. */
  readonly reason: string;
  /** `ForbiddenDetail`, e.g. `hostNetwork=true` (may be empty). */
  readonly detail: string;
  /** `reason (detail)`, as the plugin prints it. */
  readonly message: string;
}

/** A pod's metadata as far as the checks read it (AppArmor and seccomp annotations). */
export interface PodMetadata {
  readonly annotations?: { readonly [key: string]: unknown } | null;
  readonly [key: string]: unknown;
}

/** A pod spec as written in a manifest (fields are read defensively: the input is data). */
export type PodSpec = { readonly [key: string]: unknown };

/** The pod template of a workload: its metadata and spec. */
export interface PodTemplate {
  readonly metadata: PodMetadata;
  readonly spec: PodSpec;
}

/** The newest policy version this evaluator knows: `latest` means this one (Kubernetes 1.34). */
export const POD_SECURITY_LATEST_VERSION = 'v1.34';

const MAX_MINOR = 34;

type Table = { readonly [key: string]: unknown };
type CheckFn = (
  metadata: PodMetadata,
  spec: PodSpec,
) => Omit<PodSecurityViolation, 'check' | 'level' | 'message'> | null;

interface VersionedCheck {
  readonly minimumMinor: number;
  readonly check: CheckFn;
  readonly overrides?: readonly PodSecurityCheckId[];
}

interface Check {
  readonly id: PodSecurityCheckId;
  readonly level: 'baseline' | 'restricted';
  readonly versions: readonly VersionedCheck[];
}

// ---------------------------------------------------------------------------------------------
// helpers.go, visitor.go

function table(value: unknown): Table | undefined {
  return isTable(value) ? value : undefined;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A field Go would see as a non-nil pointer / non-empty value. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function text(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value === undefined || value === null
      ? ''
      : String(value);
}

function joinQuote(items: readonly string[]): string {
  return items.length === 0 ? '' : `"${items.join('", "')}"`;
}

function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** `sets.String.List()`: distinct, sorted. */
function sortedSet(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compareStrings);
}

export interface Container {
  readonly name: string;
  readonly securityContext: Table | undefined;
  readonly raw: Table;
}

/** A pod spec's containers as `visitContainers` walks them: init containers, containers, ephemeral containers, in that order. */
export function containers(spec: PodSpec): Container[] {
  const out: Container[] = [];
  for (const field of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const item of list(spec[field])) {
      const raw = table(item) ?? {};
      out.push({ name: text(raw.name), securityContext: table(raw.securityContext), raw });
    }
  }
  return out;
}

function podSecurityContext(spec: PodSpec): Table | undefined {
  return table(spec.securityContext);
}

function isWindows(spec: PodSpec): boolean {
  return table(spec.os)?.name === 'windows';
}

function containersDetail(names: readonly string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

function forbidden(reason: string, detail: string): { reason: string; detail: string } {
  return { reason, detail };
}

/** Windows pods are exempt from some restricted checks from policy version 1.25 on. */
function exemptWindows(check: CheckFn): CheckFn {
  return (metadata, spec) => (isWindows(spec) ? null : check(metadata, spec));
}

// ---------------------------------------------------------------------------------------------
// Baseline checks

// check_windowsHostProcess.go
const windowsHostProcess: CheckFn = (_metadata, spec) => {
  const hostProcess = (context: Table | undefined): boolean =>
    table(context?.windowsOptions)?.hostProcess === true;
  const setters: string[] = [];
  if (hostProcess(podSecurityContext(spec))) setters.push('pod');
  const bad = containers(spec)
    .filter((container) => hostProcess(container.securityContext))
    .map((container) => container.name);
  if (bad.length > 0) setters.push(containersDetail(bad));
  if (setters.length === 0) return null;
  return forbidden(
    'hostProcess',
    `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
  );
};

// check_hostNamespaces.go
const hostNamespaces: CheckFn = (_metadata, spec) => {
  const found: string[] = [];
  if (spec.hostNetwork === true) found.push('hostNetwork=true');
  if (spec.hostPID === true) found.push('hostPID=true');
  if (spec.hostIPC === true) found.push('hostIPC=true');
  return found.length === 0 ? null : forbidden('host namespaces', found.join(', '));
};

// check_privileged.go
const privileged: CheckFn = (_metadata, spec) => {
  const bad = containers(spec)
    .filter((container) => container.securityContext?.privileged === true)
    .map((container) => container.name);
  if (bad.length === 0) return null;
  return forbidden(
    'privileged',
    `${containersDetail(bad)} must not set securityContext.privileged=true`,
  );
};

// check_capabilities_baseline.go
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const capabilitiesBaseline: CheckFn = (_metadata, spec) => {
  const bad: string[] = [];
  const extra: string[] = [];
  for (const container of containers(spec)) {
    const capabilities = table(container.securityContext?.capabilities);
    if (capabilities === undefined) continue;
    let valid = true;
    for (const capability of list(capabilities.add).map(text)) {
      if (!BASELINE_CAPABILITIES.has(capability)) {
        valid = false;
        extra.push(capability);
      }
    }
    if (!valid) bad.push(container.name);
  }
  if (bad.length === 0) return null;
  return forbidden(
    'non-default capabilities',
    `${containersDetail(bad)} must not include ${joinQuote(sortedSet(extra))} in securityContext.capabilities.add`,
  );
};

// check_hostPathVolumes.go
const hostPathVolumes: CheckFn = (_metadata, spec) => {
  const bad = list(spec.volumes)
    .map((volume) => table(volume) ?? {})
    .filter((volume) => isSet(volume.hostPath))
    .map((volume) => text(volume.name));
  if (bad.length === 0) return null;
  return forbidden(
    'hostPath volumes',
    `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)}`,
  );
};

// check_hostPorts.go
const hostPorts: CheckFn = (_metadata, spec) => {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const container of containers(spec)) {
    let valid = true;
    for (const port of list(container.raw.ports)) {
      const hostPort = table(port)?.hostPort;
      if (isSet(hostPort) && hostPort !== 0) {
        valid = false;
        ports.push(text(hostPort));
      }
    }
    if (!valid) bad.push(container.name);
  }
  if (bad.length === 0) return null;
  const distinct = sortedSet(ports);
  return forbidden(
    'hostPort',
    `${containersDetail(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', distinct.length)} ${distinct.join(', ')}`,
  );
};

// check_appArmorProfile.go
const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

const appArmorProfile: CheckFn = (metadata, spec) => {
  const allowedType = (profile: Table | undefined): boolean =>
    profile === undefined || profile.type === 'RuntimeDefault' || profile.type === 'Localhost';
  const setters: string[] = [];
  const values: string[] = [];
  const podProfile = table(podSecurityContext(spec)?.appArmorProfile);
  if (!allowedType(podProfile)) {
    setters.push('pod');
    values.push(text(podProfile?.type));
  }
  const bad: string[] = [];
  for (const container of containers(spec)) {
    const profile = table(container.securityContext?.appArmorProfile);
    if (!allowedType(profile)) {
      bad.push(container.name);
      values.push(text(profile?.type));
    }
  }
  if (bad.length > 0) setters.push(containersDetail(bad));
  const valueList = sortedSet(values);
  const annotations: string[] = [];
  for (const [key, value] of Object.entries(table(metadata.annotations) ?? {})) {
    const profile = text(value);
    const allowed =
      profile === '' || profile === 'runtime/default' || profile.startsWith('localhost/');
    if (key.startsWith(APPARMOR_ANNOTATION_PREFIX) && !allowed) {
      annotations.push(`${key}=${JSON.stringify(profile)}`);
    }
  }
  if (annotations.length > 0) {
    annotations.sort(compareStrings);
    valueList.push(...annotations);
    setters.push(pluralize('annotation', 'annotations', annotations.length));
  }
  if (setters.length === 0) return null;
  return forbidden(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', valueList.length),
    `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(valueList)}`,
  );
};

// check_seLinuxOptions.go
const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

function seLinuxOptions(allowedTypes: ReadonlySet<string>): CheckFn {
  return (_metadata, spec) => {
    const badTypes: string[] = [];
    let setUser = false;
    let setRole = false;
    const valid = (options: Table): boolean => {
      let ok = true;
      const type = text(options.type);
      if (!allowedTypes.has(type)) {
        ok = false;
        badTypes.push(type);
      }
      if (text(options.user) !== '') {
        ok = false;
        setUser = true;
      }
      if (text(options.role) !== '') {
        ok = false;
        setRole = true;
      }
      return ok;
    };
    const setters: string[] = [];
    const podOptions = table(podSecurityContext(spec)?.seLinuxOptions);
    if (podOptions !== undefined && !valid(podOptions)) setters.push('pod');
    const bad: string[] = [];
    for (const container of containers(spec)) {
      const options = table(container.securityContext?.seLinuxOptions);
      if (options !== undefined && !valid(options)) bad.push(container.name);
    }
    if (bad.length > 0) setters.push(containersDetail(bad));
    if (setters.length === 0) return null;
    const data: string[] = [];
    const types = sortedSet(badTypes);
    if (types.length > 0) {
      data.push(`${pluralize('type', 'types', types.length)} ${joinQuote(types)}`);
    }
    if (setUser) data.push('user may not be set');
    if (setRole) data.push('role may not be set');
    return forbidden(
      'seLinuxOptions',
      `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
    );
  };
}

// check_procMount.go (the relaxation for user-namespace pods is behind an alpha gate: not ported)
const procMount: CheckFn = (_metadata, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const container of containers(spec)) {
    const mount = container.securityContext?.procMount;
    if (!isSet(mount)) continue;
    if (mount !== 'Default') {
      bad.push(container.name);
      types.push(text(mount));
    }
  }
  if (bad.length === 0) return null;
  return forbidden(
    'procMount',
    `${containersDetail(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
  );
};

// check_seccompProfile_baseline.go
const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

function validSeccompType(type: unknown): boolean {
  return type === 'Localhost' || type === 'RuntimeDefault';
}

/** Policy versions before 1.19 read the seccomp alpha annotations. */
const seccompBaselineAnnotations: CheckFn = (metadata, spec) => {
  const annotations = table(metadata.annotations) ?? {};
  const validValue = (value: string): boolean =>
    value === 'runtime/default' || value === 'docker/default' || value.startsWith('localhost/');
  const bad: string[] = [];
  const check = (key: string): void => {
    if (!Object.hasOwn(annotations, key)) return;
    const value = text(annotations[key]);
    if (!validValue(value)) bad.push(`${key}=${JSON.stringify(value)}`);
  };
  check(SECCOMP_POD_ANNOTATION);
  for (const container of containers(spec))
    check(SECCOMP_CONTAINER_ANNOTATION_PREFIX + container.name);
  if (bad.length === 0) return null;
  const distinct = sortedSet(bad);
  return forbidden(
    'seccompProfile',
    `forbidden ${pluralize('annotation', 'annotations', distinct.length)} ${distinct.join(', ')}`,
  );
};

/** From 1.19: `securityContext.seccompProfile.type` must not be `Unconfined` where it is set. */
const seccompBaselineField: CheckFn = (_metadata, spec) => {
  const setters: string[] = [];
  const values: string[] = [];
  const podProfile = table(podSecurityContext(spec)?.seccompProfile);
  if (podProfile !== undefined && !validSeccompType(podProfile.type)) {
    setters.push('pod');
    values.push(text(podProfile.type));
  }
  const bad: string[] = [];
  for (const container of containers(spec)) {
    const profile = table(container.securityContext?.seccompProfile);
    if (profile !== undefined && !validSeccompType(profile.type)) {
      bad.push(container.name);
      values.push(text(profile.type));
    }
  }
  if (bad.length > 0) setters.push(containersDetail(bad));
  if (setters.length === 0) return null;
  return forbidden(
    'seccompProfile',
    `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
  );
};

// check_sysctls.go
const SYSCTLS_1_0 = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];

function sysctls(allowed: readonly string[]): CheckFn {
  const allowedSet = new Set(allowed);
  return (_metadata, spec) => {
    const bad = list(podSecurityContext(spec)?.sysctls)
      .map((sysctl) => text(table(sysctl)?.name))
      .filter((name) => !allowedSet.has(name));
    return bad.length === 0 ? null : forbidden('forbidden sysctls', bad.join(', '));
  };
}

// check_hostProbesAndhostLifecycle.go (new in 1.34)
const hostProbesAndHostLifecycle: CheckFn = (_metadata, spec) => {
  const hostsOf = (handler: unknown): string[] => {
    const hosts: string[] = [];
    const value = table(handler);
    if (value === undefined) return hosts;
    for (const field of ['httpGet', 'tcpSocket']) {
      const host = text(table(value[field])?.host);
      if (host !== '') hosts.push(host);
    }
    return hosts;
  };
  const bad = new Set<string>();
  const hosts = new Set<string>();
  for (const container of containers(spec)) {
    const lifecycle = table(container.raw.lifecycle);
    const handlers = [
      container.raw.livenessProbe,
      container.raw.readinessProbe,
      container.raw.startupProbe,
      lifecycle?.postStart,
      lifecycle?.preStop,
    ];
    for (const handler of handlers) {
      const found = hostsOf(handler);
      if (found.length === 0) continue;
      bad.add(container.name);
      for (const host of found) hosts.add(host);
    }
  }
  if (bad.size === 0) return null;
  const names = sortedSet(bad);
  const values = sortedSet(hosts);
  return forbidden(
    'probe or lifecycle host',
    `${containersDetail(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('probe or lifecycle host', 'probe or lifecycle hosts', values.length)} ${joinQuote(values)}`,
  );
};

// ---------------------------------------------------------------------------------------------
// Restricted checks

// check_restrictedVolumes.go
const ALLOWED_VOLUME_SOURCES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'image',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
/** The restricted volume types the check names, in the order of its `switch`. */
const NAMED_VOLUME_SOURCES: readonly [field: string, name: string][] = [
  ['hostPath', 'hostPath'],
  ['gcePersistentDisk', 'gcePersistentDisk'],
  ['awsElasticBlockStore', 'awsElasticBlockStore'],
  ['gitRepo', 'gitRepo'],
  ['nfs', 'nfs'],
  ['iscsi', 'iscsi'],
  ['glusterfs', 'glusterfs'],
  ['rbd', 'rbd'],
  ['flexVolume', 'flexVolume'],
  ['cinder', 'cinder'],
  ['cephfs', 'cephfs'],
  ['flocker', 'flocker'],
  ['fc', 'fc'],
  ['azureFile', 'azureFile'],
  ['vsphereVolume', 'vsphereVolume'],
  ['quobyte', 'quobyte'],
  ['azureDisk', 'azureDisk'],
  ['photonPersistentDisk', 'photonPersistentDisk'],
  ['portworxVolume', 'portworxVolume'],
  ['scaleIO', 'scaleIO'],
  ['storageos', 'storageos'],
];

const restrictedVolumes: CheckFn = (_metadata, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const item of list(spec.volumes)) {
    const volume = table(item) ?? {};
    const sources = Object.keys(volume).filter((key) => key !== 'name' && isSet(volume[key]));
    // SetDefaults_Volume: a volume without a source is an emptyDir.
    if (sources.length === 0) continue;
    if (sources.some((source) => ALLOWED_VOLUME_SOURCES.has(source))) continue;
    bad.push(text(volume.name));
    const named = NAMED_VOLUME_SOURCES.find(([field]) => isSet(volume[field]));
    types.push(named === undefined ? 'unknown' : named[1]);
  }
  if (bad.length === 0) return null;
  const distinct = sortedSet(types);
  return forbidden(
    'restricted volume types',
    `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('restricted volume type', 'restricted volume types', distinct.length)} ${joinQuote(distinct)}`,
  );
};

// check_allowPrivilegeEscalation.go
const allowPrivilegeEscalation: CheckFn = (_metadata, spec) => {
  const bad = containers(spec)
    .filter((container) => container.securityContext?.allowPrivilegeEscalation !== false)
    .map((container) => container.name);
  if (bad.length === 0) return null;
  return forbidden(
    'allowPrivilegeEscalation != false',
    `${containersDetail(bad)} must set securityContext.allowPrivilegeEscalation=false`,
  );
};

// check_runAsNonRoot.go
const runAsNonRoot: CheckFn = (_metadata, spec) => {
  const setters: string[] = [];
  let podRunAsNonRoot = false;
  const podValue = podSecurityContext(spec)?.runAsNonRoot;
  if (isSet(podValue)) {
    if (podValue !== true) setters.push('pod');
    else podRunAsNonRoot = true;
  }
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const container of containers(spec)) {
    const value = container.securityContext?.runAsNonRoot;
    if (isSet(value)) {
      if (value !== true) explicitlyBad.push(container.name);
    } else if (!podRunAsNonRoot) {
      implicitlyBad.push(container.name);
    }
  }
  if (explicitlyBad.length > 0) setters.push(containersDetail(explicitlyBad));
  if (setters.length > 0) {
    return forbidden(
      'runAsNonRoot != true',
      `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
    );
  }
  if (implicitlyBad.length > 0) {
    return forbidden(
      'runAsNonRoot != true',
      `pod or ${containersDetail(implicitlyBad)} must set securityContext.runAsNonRoot=true`,
    );
  }
  return null;
};

// check_runAsUser.go
const runAsUser: CheckFn = (_metadata, spec) => {
  const setters: string[] = [];
  if (podSecurityContext(spec)?.runAsUser === 0) setters.push('pod');
  const bad = containers(spec)
    .filter((container) => container.securityContext?.runAsUser === 0)
    .map((container) => container.name);
  if (bad.length > 0) setters.push(containersDetail(bad));
  if (setters.length === 0) return null;
  return forbidden('runAsUser=0', `${setters.join(' and ')} must not set runAsUser=0`);
};

// check_seccompProfile_restricted.go
const seccompRestricted: CheckFn = (_metadata, spec) => {
  const setters: string[] = [];
  const values: string[] = [];
  let podSet = false;
  const podProfile = table(podSecurityContext(spec)?.seccompProfile);
  if (podProfile !== undefined) {
    if (!validSeccompType(podProfile.type)) {
      setters.push('pod');
      values.push(text(podProfile.type));
    } else {
      podSet = true;
    }
  }
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const container of containers(spec)) {
    const profile = table(container.securityContext?.seccompProfile);
    if (profile !== undefined) {
      if (!validSeccompType(profile.type)) {
        explicitlyBad.push(container.name);
        values.push(text(profile.type));
      }
    } else if (!podSet) {
      implicitlyBad.push(container.name);
    }
  }
  if (explicitlyBad.length > 0) setters.push(containersDetail(explicitlyBad));
  if (setters.length > 0) {
    return forbidden(
      'seccompProfile',
      `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
    );
  }
  if (implicitlyBad.length > 0) {
    return forbidden(
      'seccompProfile',
      `pod or ${containersDetail(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    );
  }
  return null;
};

// check_capabilities_restricted.go
const capabilitiesRestricted: CheckFn = (_metadata, spec) => {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbiddenCapabilities: string[] = [];
  for (const container of containers(spec)) {
    const capabilities = table(container.securityContext?.capabilities);
    if (capabilities === undefined) {
      missingDropAll.push(container.name);
      continue;
    }
    if (!list(capabilities.drop).some((capability) => capability === 'ALL')) {
      missingDropAll.push(container.name);
    }
    let added = false;
    for (const capability of list(capabilities.add).map(text)) {
      if (capability !== 'NET_BIND_SERVICE') {
        added = true;
        forbiddenCapabilities.push(capability);
      }
    }
    if (added) addingForbidden.push(container.name);
  }
  const details: string[] = [];
  if (missingDropAll.length > 0) {
    details.push(
      `${containersDetail(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`,
    );
  }
  if (addingForbidden.length > 0) {
    details.push(
      `${containersDetail(addingForbidden)} must not include ${joinQuote(sortedSet(forbiddenCapabilities))} in securityContext.capabilities.add`,
    );
  }
  return details.length === 0 ? null : forbidden('unrestricted capabilities', details.join('; '));
};

// ---------------------------------------------------------------------------------------------
// checks.go, registry.go

const CHECKS: readonly Check[] = [
  // Baseline
  {
    id: 'appArmorProfile',
    level: 'baseline',
    versions: [{ minimumMinor: 0, check: appArmorProfile }],
  },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    versions: [{ minimumMinor: 0, check: capabilitiesBaseline }],
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    versions: [{ minimumMinor: 0, check: hostNamespaces }],
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    versions: [{ minimumMinor: 0, check: hostPathVolumes }],
  },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimumMinor: 0, check: hostPorts }] },
  {
    id: 'hostProbesAndHostLifecycle',
    level: 'baseline',
    versions: [{ minimumMinor: 34, check: hostProbesAndHostLifecycle }],
  },
  { id: 'privileged', level: 'baseline', versions: [{ minimumMinor: 0, check: privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minimumMinor: 0, check: procMount }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: seLinuxOptions(SELINUX_TYPES_1_0) },
      { minimumMinor: 31, check: seLinuxOptions(SELINUX_TYPES_1_31) },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: seccompBaselineAnnotations },
      { minimumMinor: 19, check: seccompBaselineField },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: sysctls(SYSCTLS_1_0) },
      { minimumMinor: 27, check: sysctls(SYSCTLS_1_27) },
      { minimumMinor: 29, check: sysctls(SYSCTLS_1_29) },
      { minimumMinor: 32, check: sysctls(SYSCTLS_1_32) },
    ],
  },
  {
    id: 'windowsHostProcess',
    level: 'baseline',
    versions: [{ minimumMinor: 0, check: windowsHostProcess }],
  },
  // Restricted
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minimumMinor: 8, check: allowPrivilegeEscalation },
      { minimumMinor: 25, check: exemptWindows(allowPrivilegeEscalation) },
    ],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimumMinor: 22, check: capabilitiesRestricted, overrides: ['capabilities_baseline'] },
      {
        minimumMinor: 25,
        check: exemptWindows(capabilitiesRestricted),
        overrides: ['capabilities_baseline'],
      },
    ],
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    versions: [{ minimumMinor: 0, check: restrictedVolumes, overrides: ['hostPathVolumes'] }],
  },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minimumMinor: 0, check: runAsNonRoot }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minimumMinor: 23, check: runAsUser }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minimumMinor: 19, check: seccompRestricted, overrides: ['seccompProfile_baseline'] },
      {
        minimumMinor: 25,
        check: exemptWindows(seccompRestricted),
        overrides: ['seccompProfile_baseline'],
      },
    ],
  },
];

/** The version of a check in force at policy minor `minor`, if the check exists by then. */
function versionAt(check: Check, minor: number): VersionedCheck | undefined {
  let found: VersionedCheck | undefined;
  for (const version of check.versions) if (version.minimumMinor <= minor) found = version;
  return found;
}

/** `PSA` version syntax: `latest` or `v1.<minor>`. */
function policyMinor(version: string): number {
  if (version === 'latest') return MAX_MINOR;
  const match = /^v1\.([0-9]|[1-9][0-9]*)$/.exec(version);
  if (match === null) {
    throw new HomelabError(
      `Pod Security version ${JSON.stringify(version)} is invalid: expected "latest" or "v1.<minor>"`,
    );
  }
  // Newer than this evaluator: its newest rules (registry.go clamps to maxVersion the same way).
  return Math.min(Number(match[1]), MAX_MINOR);
}

/**
 * The Pod Security Standards violations of a pod for `level` at policy `version` (`latest`,
 * the default, or `v1.<minor>`; newer than v1.34 evaluates as v1.34), in the order the
 * admission plugin reports them. `privileged` allows everything. `metadata` is the pod's (or
 * pod template's) metadata: the AppArmor and, before v1.19, seccomp annotations are read
 * there. An empty result means the pod is admitted at that level.
 */
export function podSecurityViolations(
  podSpec: PodSpec,
  level: PodSecurityLevel,
  version = 'latest',
  metadata: PodMetadata = {},
): PodSecurityViolation[] {
  const minor = policyMinor(version);
  if (level === 'privileged') return [];
  const active = CHECKS.filter((check) => level === 'restricted' || check.level === 'baseline')
    .map((check) => ({ check, versioned: versionAt(check, minor) }))
    .filter(
      (entry): entry is { check: Check; versioned: VersionedCheck } =>
        entry.versioned !== undefined,
    );
  const overridden = new Set(active.flatMap(({ versioned }) => versioned.overrides ?? []));
  const ordered = active
    .filter(({ check }) => !overridden.has(check.id))
    .sort(
      (a, b) =>
        (a.check.level === b.check.level ? 0 : a.check.level === 'baseline' ? -1 : 1) ||
        compareStrings(a.check.id, b.check.id),
    );
  const violations: PodSecurityViolation[] = [];
  for (const { check, versioned } of ordered) {
    const result = versioned.check(metadata, podSpec);
    if (result === null) continue;
    violations.push({
      check: check.id,
      level: check.level,
      reason: result.reason,
      detail: result.detail,
      message: result.detail === '' ? result.reason : `${result.reason} (${result.detail})`,
    });
  }
  return violations;
}

/** Where the workload kinds keep their pod template (admission.go `DefaultPodSpecExtractor`). */
const TEMPLATE_PATHS: readonly [group: string, kind: string, path: readonly string[]][] = [
  ['', 'Pod', []],
  ['', 'PodTemplate', ['template']],
  ['', 'ReplicationController', ['spec', 'template']],
  ['apps', 'ReplicaSet', ['spec', 'template']],
  ['apps', 'Deployment', ['spec', 'template']],
  ['apps', 'DaemonSet', ['spec', 'template']],
  ['apps', 'StatefulSet', ['spec', 'template']],
  ['batch', 'Job', ['spec', 'template']],
  ['batch', 'CronJob', ['spec', 'jobTemplate', 'spec', 'template']],
];

/**
 * The pod (metadata and spec) an object runs, for the kinds the PodSecurity admission plugin
 * checks: Pod, PodTemplate, ReplicationController, ReplicaSet, Deployment, DaemonSet,
 * StatefulSet, Job, CronJob. `undefined` for any other kind or value, and for an object of
 * those kinds without a template (the plugin has nothing to check either).
 */
export function podTemplateOf(object: unknown): PodTemplate | undefined {
  if (!isTable(object)) return undefined;
  const apiVersion = text(object.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const entry = TEMPLATE_PATHS.find(([g, kind]) => g === group && kind === object.kind);
  if (entry === undefined) return undefined;
  let node: unknown = object;
  for (const segment of entry[2]) node = table(node)?.[segment];
  const template = table(node);
  if (template === undefined) return undefined;
  const spec = table(template.spec);
  if (spec === undefined) return undefined;
  return { metadata: table(template.metadata) ?? {}, spec };
}

/** The enforced policy of a namespace, read from its labels. */
export interface EnforcedPodSecurity {
  readonly level: PodSecurityLevel;
  /** `latest` or `v1.<minor>`. */
  readonly version: string;
  /** Label values the admission plugin refuses (it then falls back as noted in each). */
  readonly problems: readonly string[];
}

const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';

/**
 * The level and version `pod-security.kubernetes.io/enforce[-version]` labels enforce
 * (api/helpers.go `PolicyToEvaluate`): an unknown level enforces `restricted`, an unknown
 * version `latest`, each with a problem. `undefined` when the labels set no enforce level (the
 * cluster's default policy applies, which this function cannot know).
 */
export function enforcedPodSecurity(
  labels: { readonly [key: string]: unknown } | undefined,
): EnforcedPodSecurity | undefined {
  if (labels === undefined || !Object.hasOwn(labels, ENFORCE_LABEL)) return undefined;
  const problems: string[] = [];
  const rawLevel = text(labels[ENFORCE_LABEL]);
  let level: PodSecurityLevel = 'restricted';
  if (rawLevel === 'privileged' || rawLevel === 'baseline' || rawLevel === 'restricted') {
    level = rawLevel;
  } else {
    problems.push(
      `${ENFORCE_LABEL}: ${JSON.stringify(rawLevel)} must be one of privileged, baseline, restricted (restricted is enforced)`,
    );
  }
  let version = 'latest';
  if (Object.hasOwn(labels, ENFORCE_VERSION_LABEL)) {
    const rawVersion = text(labels[ENFORCE_VERSION_LABEL]);
    if (rawVersion === 'latest' || /^v1\.([0-9]|[1-9][0-9]*)$/.test(rawVersion)) {
      version = rawVersion;
    } else {
      problems.push(
        `${ENFORCE_VERSION_LABEL}: ${JSON.stringify(rawVersion)} must be "latest" or "v1.x" (latest is enforced)`,
      );
    }
  }
  return { level, version, problems };
}
