// The Talos security baseline in the patches: disk encryption per environment and definition,
// kubelet serving-certificate rotation with its approver, audit policy, Pod Security admission
// defaults with exemptions for privileged platform namespaces only, sysctl hardening, and Talos'
// CoreDNS disabled when a component deploys the cluster DNS. (Schema validity for every supported
// Talos release is in conformance.test.ts, which renders the same baseline.)
import { describe, expect, it } from 'vitest';
import {
  AUDIT_POLICY,
  CERT_APPROVER_MANIFEST,
  HARDENING_SYSCTLS,
  TALOS_DEFAULT_EXEMPT_NAMESPACES,
} from '../src/baseline.js';
import { asks, cilium, component, devCluster, doc, docs, haCluster, talos } from './helpers.js';

const DEV = 'clusters/dev/talos';
const PROD = 'clusters/prod/talos';

/** A component whose Application runs privileged in `namespace` (and another namespace). */
const privileged = component('net', {
  application: {
    namespace: 'net-system',
    additionalNamespaces: ['net-extra'],
    podSecurity: 'privileged',
    clusterResources: [],
  },
});
const restricted = component('app', {
  application: { namespace: 'app', podSecurity: 'restricted', clusterResources: [] },
});

function volumes(files: Parameters<typeof docs>[0], path: string) {
  return docs(files, path).filter((d) => d.kind === 'VolumeConfig');
}

describe('disk encryption', () => {
  it('encrypts STATE and EPHEMERAL with node-id keys in development and TPM keys in production, on both roles', () => {
    const { files } = talos([haCluster(), devCluster()]);
    for (const role of ['controlplane', 'worker']) {
      expect(volumes(files, `${DEV}/${role}.yaml`)).toEqual([
        {
          apiVersion: 'v1alpha1',
          kind: 'VolumeConfig',
          name: 'STATE',
          encryption: { provider: 'luks2', keys: [{ slot: 0, nodeID: {} }] },
        },
        {
          apiVersion: 'v1alpha1',
          kind: 'VolumeConfig',
          name: 'EPHEMERAL',
          encryption: { provider: 'luks2', keys: [{ slot: 0, nodeID: {} }] },
        },
      ]);
      expect(
        volumes(files, `${PROD}/${role}.yaml`).map((d) => [d.name, d.encryption.keys]),
      ).toEqual([
        ['STATE', [{ slot: 0, tpm: {} }]],
        ['EPHEMERAL', [{ slot: 0, tpm: {} }]],
      ]);
    }
  });

  it('follows the definition: TPM keys on a development cluster, none at all when it says none', () => {
    const tpm = talos([devCluster({ talos: { version: 'v1.12.11', diskEncryption: 'tpm' } })]);
    expect(volumes(tpm.files, `${DEV}/worker.yaml`).map((d) => d.encryption.keys[0])).toEqual([
      { slot: 0, tpm: {} },
      { slot: 0, tpm: {} },
    ]);
    const none = talos([haCluster({ talos: { version: 'v1.12.11', diskEncryption: 'none' } })]);
    expect(volumes(none.files, `${PROD}/worker.yaml`)).toEqual([]);
  });
});

describe('kubelet, API server and admission', () => {
  const { files, issues } = talos([haCluster()], [cilium, privileged, restricted]);
  const controlPlane = doc(files, `${PROD}/controlplane.yaml`);
  const worker = doc(files, `${PROD}/worker.yaml`);

  it('renders without issues', () => {
    expect(issues).toEqual([]);
  });

  it('rotates kubelet serving certificates on every node, and Talos installs the approver from the control planes', () => {
    expect(controlPlane.machine.kubelet.extraArgs).toEqual({
      'rotate-server-certificates': 'true',
    });
    expect(worker.machine.kubelet.extraArgs).toEqual({ 'rotate-server-certificates': 'true' });
    expect(controlPlane.cluster.extraManifests).toEqual([CERT_APPROVER_MANIFEST]);
    expect(CERT_APPROVER_MANIFEST).toMatch(/\/v\d+\.\d+\.\d+\/deploy\/standalone-install\.yaml$/);
    expect(worker.cluster.extraManifests).toBeUndefined();
  });

  it('audits the API server, never logging Secret bodies', () => {
    expect(controlPlane.cluster.apiServer.auditPolicy).toEqual(AUDIT_POLICY);
    const secrets = controlPlane.cluster.apiServer.auditPolicy.rules.find(
      (rule: { resources?: { resources?: string[] }[] }) =>
        rule.resources?.some((entry) => entry.resources?.includes('secrets')),
    );
    expect(secrets.level).toBe('Metadata');
    expect(worker.cluster?.apiServer).toBeUndefined();
  });

  it('enforces Pod Security baseline and warns restricted cluster-wide, exempting only the privileged namespaces of components', () => {
    expect(controlPlane.cluster.apiServer.admissionControl).toEqual([
      {
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
          // Not `app`: it runs restricted.
          exemptions: {
            usernames: [],
            runtimeClasses: [],
            namespaces: ['net-extra', 'net-system'],
          },
        },
      },
    ]);
  });

  it("exempts an Application's namespaces at their own levels: a privileged first namespace exempts none of its restricted or baseline ones", () => {
    // The applications' Application: adguard (privileged) first, then paperless (restricted)
    // and homeassistant (baseline) at the levels `additionalPodSecurity` gives them. Exempting
    // them all would switch Pod Security admission off in paperless.
    const applications = component('applications', {
      application: {
        namespace: 'adguard',
        podSecurity: 'privileged',
        additionalNamespaces: ['homeassistant', 'paperless'],
        additionalPodSecurity: { homeassistant: 'baseline', paperless: 'restricted' },
        clusterResources: [],
      },
    });
    const run = talos([haCluster()], [cilium, privileged, applications]);
    const plugin = doc(run.files, `${PROD}/controlplane.yaml`).cluster.apiServer
      .admissionControl[0];
    expect(plugin.configuration.exemptions.namespaces).toEqual([
      'adguard',
      'net-extra',
      'net-system',
    ]);
  });

  it("never repeats a namespace Talos' generated configuration already exempts (kube-system)", () => {
    // `talosctl gen config` exempts kube-system (pkg/machinery/config/generate/init.go) and
    // Talos' strategic merge appends lists (pkg/machinery/config/merge): a kube-system of ours
    // would be a duplicate, which the API server's PodSecurity plugin refuses at start-up
    // (exemptions.namespaces[i]: Duplicate value).
    const cni = component('cni', {
      application: { namespace: 'kube-system', podSecurity: 'privileged', clusterResources: [] },
    });
    const run = talos([haCluster()], [cilium, cni, privileged]);
    const plugin = doc(run.files, `${PROD}/controlplane.yaml`).cluster.apiServer
      .admissionControl[0];
    expect(plugin.configuration.exemptions.namespaces).toEqual(['net-extra', 'net-system']);
    const merged = [
      ...TALOS_DEFAULT_EXEMPT_NAMESPACES,
      ...plugin.configuration.exemptions.namespaces,
    ];
    expect(new Set(merged).size).toBe(merged.length);
    // The runbook names what the nodes end up with, Talos' own included.
    const runbook = run.files.find((file) => file.path === 'clusters/prod/RUNBOOK.md')?.content;
    expect(runbook).toContain('exempt: `kube-system`, `net-extra`, `net-system`');
  });

  it('hardens sysctls on every node', () => {
    expect(worker.machine.sysctls).toEqual(HARDENING_SYSCTLS);
    expect(controlPlane.machine.sysctls['net.ipv4.conf.all.accept_redirects']).toBe('0');
  });
});

describe('conflicts and the cluster DNS', () => {
  it('a component that wants a hardening sysctl the other way is a conflict naming both', () => {
    const { issues } = talos(
      [devCluster()],
      [asks('router', { sysctls: { 'net.ipv4.conf.all.send_redirects': '1' } })],
    );
    expect(issues.map((issue) => issue.message)).toContain(
      'components ask for different values for sysctl net.ipv4.conf.all.send_redirects: router wants 1, talos-baseline wants 0',
    );
  });

  it("disables Talos' CoreDNS on the control planes when a component deploys the cluster DNS", () => {
    const dns = asks('dns', { disableCoreDns: true });
    const { files } = talos([devCluster()], [dns]);
    expect(doc(files, `${DEV}/controlplane.yaml`).cluster.coreDNS).toEqual({ disabled: true });
    const without = talos([devCluster()]);
    expect(doc(without.files, `${DEV}/controlplane.yaml`).cluster.coreDNS).toBeUndefined();
  });
});
