// Each rule of the Pod Security Standards with a pod that passes and one that fails. Expected
// reasons and details are those pod-security-admission v0.34.4 writes (policy/check_*_test.go).
import { describe, expect, it } from 'vitest';
import {
  enforcedPodSecurity,
  type PodSpec,
  podSecurityViolations,
  podTemplateOf,
} from './pod-security.js';

type Json = { [key: string]: unknown };

const RESTRICTED_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** A pod that satisfies `restricted`, with its container `app` changed by `container`. */
function restrictedPod(spec: Json = {}, container: Json = {}): PodSpec {
  return {
    containers: [
      { name: 'app', image: 'app:1', securityContext: { ...RESTRICTED_CONTEXT }, ...container },
    ],
    ...spec,
  };
}

/** A pod with no security settings at all (fine for `baseline`, not for `restricted`). */
function plainPod(spec: Json = {}, container: Json = {}): PodSpec {
  return { containers: [{ name: 'app', image: 'app:1', ...container }], ...spec };
}

const checks = (spec: PodSpec, level: 'baseline' | 'restricted', version?: string) =>
  podSecurityViolations(spec, level, version).map((violation) => violation.check);

const only = (spec: PodSpec, level: 'baseline' | 'restricted', version?: string) => {
  const violations = podSecurityViolations(spec, level, version);
  expect(violations).toHaveLength(1);
  return violations[0];
};

describe('podSecurityViolations: every level', () => {
  it('admits a pod that sets the restricted security context at every level', () => {
    expect(podSecurityViolations(restrictedPod(), 'restricted')).toEqual([]);
    expect(podSecurityViolations(restrictedPod(), 'baseline')).toEqual([]);
  });

  it('admits a pod without any security settings at baseline', () => {
    expect(podSecurityViolations(plainPod(), 'baseline')).toEqual([]);
  });

  it('admits anything at privileged', () => {
    const pod = plainPod({ hostNetwork: true }, { securityContext: { privileged: true } });
    expect(podSecurityViolations(pod, 'privileged')).toEqual([]);
  });

  it('refuses a version that is neither "latest" nor v1.<minor>', () => {
    expect(() => podSecurityViolations(plainPod(), 'baseline', '1.34')).toThrow(
      'Pod Security version "1.34" is invalid: expected "latest" or "v1.<minor>"',
    );
  });

  it('evaluates a version newer than v1.34 with the v1.34 rules', () => {
    const pod = plainPod({}, { livenessProbe: { httpGet: { host: 'example.com', port: 80 } } });
    expect(checks(pod, 'baseline', 'v1.40')).toEqual(['hostProbesAndHostLifecycle']);
  });

  it('lists baseline violations before restricted ones, each group sorted by check ID', () => {
    const pod = plainPod({ hostNetwork: true }, { securityContext: { privileged: true } });
    expect(checks(pod, 'restricted')).toEqual([
      'hostNamespaces',
      'privileged',
      'allowPrivilegeEscalation',
      'capabilities_restricted',
      'runAsNonRoot',
      'seccompProfile_restricted',
    ]);
  });

  it('checks init and ephemeral containers too', () => {
    const pod = plainPod({
      initContainers: [{ name: 'init', securityContext: { privileged: true } }],
      ephemeralContainers: [{ name: 'debug', securityContext: { privileged: true } }],
    });
    expect(only(pod, 'baseline')?.detail).toBe(
      'containers "init", "debug" must not set securityContext.privileged=true',
    );
  });

  it('formats the message as reason (detail), as the admission plugin prints it', () => {
    expect(only(plainPod({ hostPID: true }), 'baseline')?.message).toBe(
      'host namespaces (hostPID=true)',
    );
  });
});

describe('podSecurityViolations: baseline rules', () => {
  it('refuses hostProcess on the pod or a container', () => {
    const pod = plainPod(
      { securityContext: { windowsOptions: { hostProcess: true } } },
      { securityContext: { windowsOptions: { hostProcess: true } } },
    );
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'windowsHostProcess',
      reason: 'hostProcess',
      detail:
        'pod and container "app" must not set securityContext.windowsOptions.hostProcess=true',
    });
  });

  it('admits hostProcess: false', () => {
    const pod = plainPod({ securityContext: { windowsOptions: { hostProcess: false } } });
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses the host network, PID and IPC namespaces', () => {
    expect(
      only(plainPod({ hostNetwork: true, hostPID: true, hostIPC: true }), 'baseline'),
    ).toMatchObject({
      check: 'hostNamespaces',
      reason: 'host namespaces',
      detail: 'hostNetwork=true, hostPID=true, hostIPC=true',
    });
  });

  it('admits host namespaces set to false', () => {
    const pod = plainPod({ hostNetwork: false, hostPID: false, hostIPC: false });
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses a privileged container', () => {
    expect(only(plainPod({}, { securityContext: { privileged: true } }), 'baseline')).toMatchObject(
      {
        check: 'privileged',
        detail: 'container "app" must not set securityContext.privileged=true',
      },
    );
  });

  it('admits privileged: false', () => {
    const pod = plainPod({}, { securityContext: { privileged: false } });
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses capabilities beyond the baseline set, naming them sorted', () => {
    const pod = plainPod(
      {},
      { securityContext: { capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN', 'CHOWN'] } } },
    );
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'capabilities_baseline',
      reason: 'non-default capabilities',
      detail:
        'container "app" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add',
    });
  });

  it('admits capabilities of the baseline set', () => {
    const pod = plainPod(
      {},
      { securityContext: { capabilities: { add: ['CHOWN', 'NET_BIND_SERVICE', 'KILL'] } } },
    );
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses hostPath volumes', () => {
    const pod = plainPod({
      volumes: [
        { name: 'root', hostPath: { path: '/' } },
        { name: 'tmp', emptyDir: {} },
      ],
    });
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'hostPathVolumes',
      reason: 'hostPath volumes',
      detail: 'volume "root"',
    });
  });

  it('refuses host ports, listing them sorted', () => {
    const pod = plainPod(
      {},
      {
        ports: [
          { containerPort: 80, hostPort: 8080 },
          { containerPort: 9, hostPort: 10000 },
        ],
      },
    );
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'hostPorts',
      reason: 'hostPort',
      detail: 'container "app" uses hostPorts 10000, 8080',
    });
  });

  it('admits hostPort 0 (not set)', () => {
    const pod = plainPod({}, { ports: [{ containerPort: 80, hostPort: 0 }] });
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses an Unconfined AppArmor profile type', () => {
    const pod = plainPod({ securityContext: { appArmorProfile: { type: 'Unconfined' } } });
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'appArmorProfile',
      reason: 'forbidden AppArmor profile',
      detail: 'pod must not set AppArmor profile type to "Unconfined"',
    });
  });

  it('admits the RuntimeDefault and Localhost AppArmor profile types', () => {
    const pod = plainPod(
      { securityContext: { appArmorProfile: { type: 'RuntimeDefault' } } },
      { securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: 'x' } } },
    );
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses AppArmor annotations other than empty, runtime/default and localhost/*', () => {
    // The case of policy/check_appArmorProfile_test.go.
    const prefix = 'container.apparmor.security.beta.kubernetes.io/';
    const violations = podSecurityViolations(plainPod(), 'baseline', 'latest', {
      annotations: {
        [prefix]: 'bogus',
        [`${prefix}a`]: '',
        [`${prefix}b`]: 'runtime/default',
        [`${prefix}c`]: 'localhost/',
        [`${prefix}d`]: 'localhost/foo',
        [`${prefix}e`]: 'unconfined',
        [`${prefix}f`]: 'unknown',
      },
    });
    expect(violations.map(({ reason, detail }) => ({ reason, detail }))).toEqual([
      {
        reason: 'forbidden AppArmor profiles',
        detail: `annotations must not set AppArmor profile type to "${prefix}="bogus"", "${prefix}e="unconfined"", "${prefix}f="unknown""`,
      },
    ]);
  });

  it('refuses a SELinux type outside the container types, and a user or role', () => {
    const pod = plainPod(
      {},
      { securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } } },
    );
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'seLinuxOptions',
      detail:
        'container "app" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set',
    });
  });

  it('admits the SELinux type container_engine_t from v1.31 only', () => {
    const pod = plainPod({ securityContext: { seLinuxOptions: { type: 'container_engine_t' } } });
    expect(checks(pod, 'baseline', 'v1.31')).toEqual([]);
    expect(checks(pod, 'baseline', 'v1.30')).toEqual(['seLinuxOptions']);
  });

  it('refuses a procMount other than Default', () => {
    const pod = plainPod({}, { securityContext: { procMount: 'Unmasked' } });
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'procMount',
      detail: 'container "app" must not set securityContext.procMount to "Unmasked"',
    });
  });

  it('admits procMount Default', () => {
    const pod = plainPod({}, { securityContext: { procMount: 'Default' } });
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('refuses an Unconfined seccomp profile', () => {
    const pod = plainPod({ securityContext: { seccompProfile: { type: 'Unconfined' } } });
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'seccompProfile_baseline',
      detail: 'pod must not set securityContext.seccompProfile.type to "Unconfined"',
    });
  });

  it('reads the seccomp annotations before v1.19 and the field from v1.19 on', () => {
    const metadata = { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } };
    const pod = plainPod();
    expect(podSecurityViolations(pod, 'baseline', 'v1.18', metadata).map((v) => v.detail)).toEqual([
      'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"',
    ]);
    expect(podSecurityViolations(pod, 'baseline', 'v1.19', metadata)).toEqual([]);
  });

  it('refuses sysctls outside the safe set', () => {
    const pod = plainPod({ securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } });
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'sysctls',
      reason: 'forbidden sysctls',
      detail: 'kernel.msgmax',
    });
  });

  it('admits net.ipv4.tcp_rmem from v1.32 only', () => {
    const pod = plainPod({
      securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '4096 87380 6291456' }] },
    });
    expect(checks(pod, 'baseline', 'v1.32')).toEqual([]);
    expect(checks(pod, 'baseline', 'v1.31')).toEqual(['sysctls']);
  });

  it('refuses a probe or lifecycle handler with a host from v1.34 on', () => {
    const pod = plainPod(
      {},
      {
        readinessProbe: { tcpSocket: { host: '10.0.0.1', port: 80 } },
        lifecycle: { preStop: { httpGet: { host: 'example.com', port: 80 } } },
      },
    );
    expect(only(pod, 'baseline')).toMatchObject({
      check: 'hostProbesAndHostLifecycle',
      reason: 'probe or lifecycle host',
      detail: 'container "app" uses probe or lifecycle hosts "10.0.0.1", "example.com"',
    });
    expect(checks(pod, 'baseline', 'v1.33')).toEqual([]);
  });
});

describe('podSecurityViolations: restricted rules', () => {
  it('refuses volume types outside the restricted list, naming the type', () => {
    const pod = restrictedPod({ volumes: [{ name: 'share', nfs: { server: 'nas', path: '/' } }] });
    expect(only(pod, 'restricted')).toMatchObject({
      check: 'restrictedVolumes',
      reason: 'restricted volume types',
      detail: 'volume "share" uses restricted volume type "nfs"',
    });
    expect(podSecurityViolations(pod, 'baseline')).toEqual([]);
  });

  it('reports a hostPath volume once, as a restricted volume type', () => {
    const pod = restrictedPod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] });
    expect(checks(pod, 'restricted')).toEqual(['restrictedVolumes']);
  });

  it('admits the allowed volume types and a volume without a source (defaulted to emptyDir)', () => {
    const pod = restrictedPod({
      volumes: [
        { name: 'a', configMap: { name: 'x' } },
        { name: 'b', secret: { secretName: 'x' } },
        { name: 'c', projected: { sources: [] } },
        { name: 'd', persistentVolumeClaim: { claimName: 'x' } },
        { name: 'e', image: { reference: 'x:1' } },
        { name: 'f' },
      ],
    });
    expect(podSecurityViolations(pod, 'restricted')).toEqual([]);
  });

  it('requires allowPrivilegeEscalation: false', () => {
    const pod = restrictedPod(
      {},
      { securityContext: { ...RESTRICTED_CONTEXT, allowPrivilegeEscalation: true } },
    );
    expect(only(pod, 'restricted')).toMatchObject({
      check: 'allowPrivilegeEscalation',
      reason: 'allowPrivilegeEscalation != false',
      detail: 'container "app" must set securityContext.allowPrivilegeEscalation=false',
    });
  });

  it('exempts Windows pods from allowPrivilegeEscalation from v1.25 on', () => {
    const { allowPrivilegeEscalation: _unset, ...context } = RESTRICTED_CONTEXT;
    const pod = restrictedPod({ os: { name: 'windows' } }, { securityContext: context });
    expect(checks(pod, 'restricted', 'v1.25')).toEqual([]);
    expect(checks(pod, 'restricted', 'v1.24')).toEqual(['allowPrivilegeEscalation']);
  });

  it('requires runAsNonRoot: true on the pod or every container', () => {
    const { runAsNonRoot: _unset, ...context } = RESTRICTED_CONTEXT;
    const pod = restrictedPod({}, { securityContext: context });
    expect(only(pod, 'restricted')).toMatchObject({
      check: 'runAsNonRoot',
      detail: 'pod or container "app" must set securityContext.runAsNonRoot=true',
    });
  });

  it('admits runAsNonRoot set on the pod only', () => {
    const { runAsNonRoot: _unset, ...context } = RESTRICTED_CONTEXT;
    const pod = restrictedPod(
      { securityContext: { runAsNonRoot: true } },
      { securityContext: context },
    );
    expect(podSecurityViolations(pod, 'restricted')).toEqual([]);
  });

  it('refuses a container that sets runAsNonRoot: false under a pod that sets true', () => {
    const pod = restrictedPod(
      { securityContext: { runAsNonRoot: true } },
      { securityContext: { ...RESTRICTED_CONTEXT, runAsNonRoot: false } },
    );
    expect(only(pod, 'restricted')?.detail).toBe(
      'container "app" must not set securityContext.runAsNonRoot=false',
    );
  });

  it('refuses runAsUser 0 from v1.23 on', () => {
    const pod = restrictedPod({ securityContext: { runAsUser: 0 } });
    expect(only(pod, 'restricted')).toMatchObject({
      check: 'runAsUser',
      reason: 'runAsUser=0',
      detail: 'pod must not set runAsUser=0',
    });
    expect(checks(pod, 'restricted', 'v1.22')).toEqual([]);
  });

  it('admits a non-zero runAsUser', () => {
    expect(
      podSecurityViolations(restrictedPod({ securityContext: { runAsUser: 1000 } }), 'restricted'),
    ).toEqual([]);
  });

  it('requires a RuntimeDefault or Localhost seccomp profile on the pod or every container', () => {
    const { seccompProfile: _unset, ...context } = RESTRICTED_CONTEXT;
    const pod = restrictedPod({}, { securityContext: context });
    expect(only(pod, 'restricted')).toMatchObject({
      check: 'seccompProfile_restricted',
      detail:
        'pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    });
  });

  it('admits a Localhost seccomp profile set on the pod', () => {
    const { seccompProfile: _unset, ...context } = RESTRICTED_CONTEXT;
    const pod = restrictedPod(
      { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } },
      { securityContext: context },
    );
    expect(podSecurityViolations(pod, 'restricted')).toEqual([]);
  });

  it('requires capabilities to drop ALL', () => {
    const pod = restrictedPod(
      {},
      { securityContext: { ...RESTRICTED_CONTEXT, capabilities: { drop: ['NET_RAW'] } } },
    );
    expect(only(pod, 'restricted')).toMatchObject({
      check: 'capabilities_restricted',
      reason: 'unrestricted capabilities',
      detail: 'container "app" must set securityContext.capabilities.drop=["ALL"]',
    });
  });

  it('admits adding NET_BIND_SERVICE and refuses adding anything else', () => {
    const add = (capabilities: string[]) =>
      restrictedPod(
        {},
        {
          securityContext: {
            ...RESTRICTED_CONTEXT,
            capabilities: { drop: ['ALL'], add: capabilities },
          },
        },
      );
    expect(podSecurityViolations(add(['NET_BIND_SERVICE']), 'restricted')).toEqual([]);
    expect(only(add(['CHOWN']), 'restricted')?.detail).toBe(
      'container "app" must not include "CHOWN" in securityContext.capabilities.add',
    );
  });

  it('checks the baseline capabilities instead of drop ALL before v1.22', () => {
    const { capabilities: _unset, ...context } = RESTRICTED_CONTEXT;
    const pod = restrictedPod({}, { securityContext: context });
    expect(checks(pod, 'restricted', 'v1.21')).toEqual([]);
    expect(checks(pod, 'restricted', 'v1.22')).toEqual(['capabilities_restricted']);
  });
});

describe('podTemplateOf', () => {
  const spec = { containers: [{ name: 'app' }] };
  const template = { metadata: { labels: { app: 'x' } }, spec };

  it('returns the pod template of a Deployment', () => {
    const object = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template },
    };
    expect(podTemplateOf(object)).toEqual(template);
  });

  it("returns the job template's pod template of a CronJob", () => {
    const object = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { schedule: '@daily', jobTemplate: { spec: { template } } },
    };
    expect(podTemplateOf(object)).toEqual(template);
  });

  it('returns the metadata and spec of a Pod', () => {
    const metadata = { name: 'p', annotations: { a: 'b' } };
    expect(podTemplateOf({ apiVersion: 'v1', kind: 'Pod', metadata, spec })).toEqual({
      metadata,
      spec,
    });
  });

  it('returns undefined for kinds that run no pod', () => {
    expect(
      podTemplateOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }),
    ).toBeUndefined();
  });

  it('returns undefined for a value that is not an object', () => {
    expect(podTemplateOf(null)).toBeUndefined();
    expect(podTemplateOf('Pod')).toBeUndefined();
  });

  it('returns undefined for a Deployment of another API group', () => {
    const object = {
      apiVersion: 'example.com/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template },
    };
    expect(podTemplateOf(object)).toBeUndefined();
  });
});

describe('enforcedPodSecurity', () => {
  it('reads the enforce level and version labels', () => {
    expect(
      enforcedPodSecurity({
        'pod-security.kubernetes.io/enforce': 'baseline',
        'pod-security.kubernetes.io/enforce-version': 'v1.33',
      }),
    ).toEqual({ level: 'baseline', version: 'v1.33', problems: [] });
  });

  it('defaults the version to latest', () => {
    expect(enforcedPodSecurity({ 'pod-security.kubernetes.io/enforce': 'privileged' })).toEqual({
      level: 'privileged',
      version: 'latest',
      problems: [],
    });
  });

  it('returns undefined when no enforce label is set', () => {
    expect(
      enforcedPodSecurity({ 'pod-security.kubernetes.io/warn': 'restricted' }),
    ).toBeUndefined();
  });

  it('enforces restricted for an unknown level and says so', () => {
    expect(enforcedPodSecurity({ 'pod-security.kubernetes.io/enforce': 'strict' })).toEqual({
      level: 'restricted',
      version: 'latest',
      problems: [
        'pod-security.kubernetes.io/enforce: "strict" must be one of privileged, baseline, restricted (restricted is enforced)',
      ],
    });
  });

  it('enforces latest for a malformed version and says so', () => {
    const policy = enforcedPodSecurity({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/enforce-version': '1.34',
    });
    expect(policy?.version).toBe('latest');
    expect(policy?.problems).toEqual([
      'pod-security.kubernetes.io/enforce-version: "1.34" must be "latest" or "v1.x" (latest is enforced)',
    ]);
  });
});
