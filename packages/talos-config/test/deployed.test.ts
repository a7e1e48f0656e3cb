// `deployedCluster`: the facts a running cluster cannot change at will, read back from the files
// the renderer generated (what the last build wrote under clusters/<cluster>/).
import { describe, expect, it } from 'vitest';
import { deployedCluster } from '../src/index.js';
import { cilium, devCluster, file, haCluster, talos } from './helpers.js';

/** The control-plane patch and runbook of `cluster`, as the build writes them. */
function generated(name: string, run: ReturnType<typeof talos>) {
  return {
    controlPlane: file(run.files, `clusters/${name}/talos/controlplane.yaml`),
    runbook: file(run.files, `clusters/${name}/RUNBOOK.md`),
  };
}

describe('deployedCluster', () => {
  it("reads the networks and the Talos release from the control-plane patch, Kubernetes from the runbook's gen config", () => {
    // Given a development cluster generated on Talos v1.13.9 and Kubernetes 1.35.1
    const run = talos(
      [devCluster({ talos: { version: 'v1.13.9' }, kubernetes: { version: '1.35.1' } })],
      [cilium],
    );
    expect(run.issues).toEqual([]);
    // When its generated files are read back
    const facts = deployedCluster(generated('dev', run));
    // Then they give what the definition said
    expect(facts).toEqual({
      podCidrs: ['10.244.0.0/16'],
      serviceCidrs: ['10.96.0.0/12'],
      talosVersion: 'v1.13.9',
      kubernetesVersion: '1.35.1',
      // A development cluster's default: LUKS2 keys derived from the node id
      diskEncryption: 'nodeID',
      // The Image Factory installer of the cluster's schematic, without the release
      installer: expect.stringMatching(/^factory\.talos\.dev\/installer\/[0-9a-f]{64}$/),
      // Its node, from the runbook's blocks
      nodes: [{ hostname: 'dev-cp-1', role: 'controlplane', address: '192.168.10.11' }],
    });
  });

  it('reads a production cluster on the SecureBoot installer and Talos 1.11 (the v1alpha1 network block)', () => {
    // Given TPM-sealed disks (installer-secureboot) on the oldest supported release
    const run = talos([haCluster({ talos: { version: 'v1.11.6', diskEncryption: 'tpm' } })]);
    expect(run.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const files = generated('prod', run);
    expect(files.controlPlane).toContain('installer-secureboot/');
    // Then
    expect(deployedCluster(files)).toEqual({
      podCidrs: ['10.42.0.0/16'],
      serviceCidrs: ['10.43.0.0/16'],
      talosVersion: 'v1.11.6',
      kubernetesVersion: '1.34.2',
      diskEncryption: 'tpm',
      installer: expect.stringMatching(/^factory\.talos\.dev\/installer-secureboot\/[0-9a-f]{64}$/),
      // Every node of the definition, as it lists them
      nodes: run.platform.clusters[0]?.nodes.map(({ hostname, role, address }) => ({
        hostname,
        role,
        address,
      })),
    });
    // Control planes and workers alike
    expect(new Set(deployedCluster(files).nodes?.map((node) => node.role))).toEqual(
      new Set(['controlplane', 'worker']),
    );
  });

  it('gives no fact a file does not hold: a missing file, another YAML, a runbook without gen config', () => {
    expect(deployedCluster({})).toEqual({});
    expect(deployedCluster({ controlPlane: 'not: [valid', runbook: '# nothing here\n' })).toEqual(
      {},
    );
    // A patch with only the install image: the Talos release and the installer alone.
    expect(
      deployedCluster({
        controlPlane:
          '---\nmachine:\n  install:\n    image: factory.talos.dev/installer/abc:v1.12.0-beta.1\n',
      }),
    ).toEqual({
      talosVersion: 'v1.12.0-beta.1',
      installer: 'factory.talos.dev/installer/abc',
      // no STATE VolumeConfig: nothing encrypted
      diskEncryption: 'none',
    });
    // An image without a version tag (a digest): no release.
    expect(
      deployedCluster({
        controlPlane: 'machine:\n  install:\n    image: ghcr.io/siderolabs/installer@sha256:00\n',
      }),
    ).toEqual({ diskEncryption: 'none' });
  });

  it('reads the disk encryption from the STATE VolumeConfig: its key, none without encryption, nothing for a key of another kind', () => {
    const patch = (state: string) =>
      `machine:\n  install:\n    disk: /dev/sda\n---\napiVersion: v1alpha1\nkind: VolumeConfig\nname: EPHEMERAL\nencryption:\n  provider: luks2\n  keys:\n    - slot: 0\n      nodeID: {}\n---\n${state}`;
    const state = (key: string) =>
      `apiVersion: v1alpha1\nkind: VolumeConfig\nname: STATE\nencryption:\n  provider: luks2\n  keys:\n    - slot: 0\n      ${key}\n`;
    expect(deployedCluster({ controlPlane: patch(state('tpm: {}')) }).diskEncryption).toBe('tpm');
    expect(deployedCluster({ controlPlane: patch(state('nodeID: {}')) }).diskEncryption).toBe(
      'nodeID',
    );
    // STATE's own document decides, not EPHEMERAL's
    expect(
      deployedCluster({
        controlPlane: patch('apiVersion: v1alpha1\nkind: VolumeConfig\nname: STATE\n'),
      }).diskEncryption,
    ).toBe('none');
    expect(deployedCluster({ controlPlane: patch(state('static: { passphrase: x }')) })).toEqual(
      {},
    );
  });

  it("takes the value of a quoted --kubernetes-version, as the template's shell helper would write it", () => {
    const runbook =
      "```sh\ntalosctl gen config dev https://x:6443 \\\n  --kubernetes-version '1.34.4' \\\n```\n";
    expect(deployedCluster({ runbook })).toEqual({ kubernetesVersion: '1.34.4' });
  });
});
