import { describe, expect, it } from 'vitest';
import { renderTalos, schematicId } from '../src/index.js';
import { cilium, cluster, haCluster, longhorn, node, platform, requirement } from './factory.js';
import { doc, docs, file } from './helpers.js';

const DEV = 'clusters/dev/talos';
const PROD = 'clusters/prod/talos';

describe('role patches', () => {
  it('carry CNI none, kube-proxy disabled and KubePrism on 7445 when Cilium asks for them', () => {
    const { files, issues } = renderTalos(platform(), { dev: [cilium] });
    expect(issues).toEqual([]);
    for (const role of ['controlplane', 'worker']) {
      const patch = doc(files, `${DEV}/${role}.yaml`);
      expect(patch.cluster.network.cni).toEqual({ name: 'none' });
      expect(patch.cluster.proxy).toEqual({ disabled: true });
      expect(patch.machine.features.kubePrism).toEqual({ enabled: true, port: 7445 });
    }
  });

  it('keep Talos defaults for CNI, kube-proxy and KubePrism when no component asks', () => {
    const { files } = renderTalos(platform(), {});
    const patch = doc(files, `${DEV}/controlplane.yaml`);
    expect(patch.cluster.network.cni).toBeUndefined();
    expect(patch.cluster.proxy).toBeUndefined();
    expect(patch.machine.features).toBeUndefined();
  });

  it('take the pod and service networks from the definition', () => {
    const { files } = renderTalos(platform(haCluster()), { prod: [cilium] });
    for (const role of ['controlplane', 'worker']) {
      const network = doc(files, `${PROD}/${role}.yaml`).cluster.network;
      expect(network.podSubnets).toEqual(['10.42.0.0/16']);
      expect(network.serviceSubnets).toEqual(['10.43.0.0/16']);
    }
  });

  it('allow workloads on control planes only when the cluster has no workers', () => {
    const single = renderTalos(platform(), {});
    expect(
      doc(single.files, `${DEV}/controlplane.yaml`).cluster.allowSchedulingOnControlPlanes,
    ).toBe(true);
    const ha = renderTalos(platform(haCluster()), {});
    expect(doc(ha.files, `${PROD}/controlplane.yaml`).cluster.allowSchedulingOnControlPlanes).toBe(
      false,
    );
    expect(
      doc(ha.files, `${PROD}/worker.yaml`).cluster.allowSchedulingOnControlPlanes,
    ).toBeUndefined();
  });

  it('pin kubelet and etcd to the node network', () => {
    const { files } = renderTalos(platform(haCluster()), {});
    const cp = doc(files, `${PROD}/controlplane.yaml`);
    expect(cp.machine.kubelet.nodeIP).toEqual({ validSubnets: ['192.168.30.0/24'] });
    expect(cp.cluster.etcd).toEqual({ advertisedSubnets: ['192.168.30.0/24'] });
    expect(doc(files, `${PROD}/worker.yaml`).cluster.etcd).toBeUndefined();
  });

  it('carry kubelet mounts, kernel modules and sysctls from the requirements, sorted', () => {
    const { files } = renderTalos(platform(), { dev: [cilium, longhorn] });
    const machine = doc(files, `${DEV}/worker.yaml`).machine;
    expect(machine.kubelet.extraMounts).toEqual([
      {
        destination: '/var/lib/longhorn',
        type: 'bind',
        source: '/var/lib/longhorn',
        options: ['bind', 'rshared', 'rw'],
      },
    ]);
    expect(machine.kernel.modules).toEqual([{ name: 'dm_thin_pool' }, { name: 'nvme_tcp' }]);
    expect(machine.sysctls).toEqual({ 'vm.max_map_count': '262144' });
  });

  it('install the Image Factory installer of the schematic and the cluster version', () => {
    const { files } = renderTalos(platform(), { dev: [longhorn] });
    expect(doc(files, `${DEV}/controlplane.yaml`).machine.install.image).toBe(
      'factory.talos.dev/installer/613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245:v1.12.11',
    );
  });

  it('set the nameservers with a ResolverConfig document on Talos 1.12+', () => {
    const { files } = renderTalos(platform(haCluster()), {});
    expect(doc(files, `${PROD}/worker.yaml`, 'ResolverConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'ResolverConfig',
      nameservers: [{ address: '192.168.30.53' }, { address: '1.1.1.1' }],
    });
    expect(doc(files, `${PROD}/worker.yaml`).machine.network).toBeUndefined();
  });

  it('set the nameservers (the gateway by default) in machine.network on Talos 1.11', () => {
    const { files } = renderTalos(platform(cluster({ talos: { version: 'v1.11.6' } })), {});
    expect(docs(files, `${DEV}/worker.yaml`)).toHaveLength(1);
    expect(doc(files, `${DEV}/worker.yaml`).machine.network).toEqual({
      nameservers: ['192.168.10.1'],
    });
  });
});

describe('node patches', () => {
  it('carry hostname, static address with prefix, default route, disk, labels and taints (1.12+)', () => {
    const { files, issues } = renderTalos(platform(haCluster()), { prod: [cilium] });
    expect(issues).toEqual([]);
    const path = `${PROD}/nodes/prod-w-1.yaml`;
    expect(doc(files, path)).toEqual({
      machine: {
        install: { disk: '/dev/nvme0n1' },
        nodeLabels: {
          'node.longhorn.io/create-default-disk': 'true',
          'topology.kubernetes.io/zone': 'rack-a',
        },
        nodeTaints: { dedicated: 'storage:NoSchedule' },
      },
    });
    expect(doc(files, path, 'HostnameConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'HostnameConfig',
      hostname: 'prod-w-1',
      auto: 'off',
    });
    expect(doc(files, path, 'LinkConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'LinkConfig',
      name: 'eth0',
      addresses: [{ address: '192.168.30.21/24' }],
      routes: [{ destination: '0.0.0.0/0', gateway: '192.168.30.1' }],
    });
  });

  it('write a taint without value as ":<effect>"', () => {
    const { files } = renderTalos(platform(haCluster()), {});
    expect(doc(files, `${PROD}/nodes/prod-w-2.yaml`).machine.nodeTaints).toEqual({
      gpu: ':NoExecute',
    });
  });

  it('use the v1alpha1 machine.network block on Talos 1.11', () => {
    const { files } = renderTalos(platform(haCluster({ talos: { version: 'v1.11.6' } })), {});
    const patch = docs(files, `${PROD}/nodes/prod-cp-2.yaml`);
    expect(patch).toHaveLength(1);
    expect(patch[0].machine.install).toEqual({ disk: '/dev/sda' });
    expect(patch[0].machine.network).toEqual({
      hostname: 'prod-cp-2',
      interfaces: [
        {
          interface: 'enp1s0',
          addresses: ['192.168.30.12/24'],
          routes: [{ network: '0.0.0.0/0', gateway: '192.168.30.1' }],
          vip: { ip: '192.168.30.10' },
        },
      ],
    });
  });

  it('announce an endpoint VIP from the control planes only (Layer2VIPConfig on 1.12+)', () => {
    const { files } = renderTalos(platform(haCluster()), {});
    expect(doc(files, `${PROD}/nodes/prod-cp-2.yaml`, 'Layer2VIPConfig')).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'Layer2VIPConfig',
      name: '192.168.30.10',
      link: 'enp1s0',
    });
    const worker = docs(files, `${PROD}/nodes/prod-w-1.yaml`);
    expect(worker.map((d) => d.kind)).toEqual([undefined, 'HostnameConfig', 'LinkConfig']);
  });

  it('announce no VIP when the endpoint is a node address', () => {
    const { files } = renderTalos(platform(), {});
    expect(docs(files, `${DEV}/nodes/dev-cp-1.yaml`).map((d) => d.kind)).toEqual([
      undefined,
      'HostnameConfig',
      'LinkConfig',
    ]);
  });

  it('refuse two taints with the same key on a node', () => {
    const bad = cluster({
      nodes: [
        node({
          taints: [
            { key: 'dedicated', value: 'a', effect: 'NoSchedule' },
            { key: 'dedicated', value: 'b', effect: 'NoExecute' },
          ],
        }),
      ],
    });
    const { files, issues } = renderTalos(platform(bad), {});
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ['clusters[0].nodes[0].taints[1]', 'talos-taint'],
    ]);
    expect(files).toEqual([]);
  });
});

describe('schematic', () => {
  it('lists the sorted, deduplicated union of the extensions components ask for', () => {
    const other = requirement({
      source: 'zfs',
      extensions: ['siderolabs/zfs', 'siderolabs/iscsi-tools'],
    });
    const { files } = renderTalos(platform(), { dev: [longhorn, other, cilium] });
    expect(doc(files, `${DEV}/schematic.yaml`)).toEqual({
      customization: {
        systemExtensions: {
          officialExtensions: [
            'siderolabs/iscsi-tools',
            'siderolabs/util-linux-tools',
            'siderolabs/zfs',
          ],
        },
      },
    });
  });

  it('allows an empty extension list', () => {
    const { files } = renderTalos(platform(), { dev: [cilium] });
    expect(
      doc(files, `${DEV}/schematic.yaml`).customization.systemExtensions.officialExtensions,
    ).toEqual([]);
  });

  it('computes the Image Factory ids (published ids of the default and the Longhorn schematic)', () => {
    expect(schematicId([])).toBe(
      '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba',
    );
    expect(schematicId(['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'])).toBe(
      '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245',
    );
  });
});

describe('merging requirements', () => {
  it('reports two different KubePrism ports naming both components, and writes nothing for the cluster', () => {
    const other = requirement({ source: 'other', kubePrism: { port: 7446 } });
    const { files, issues } = renderTalos(platform(), { dev: [cilium, other] });
    expect(files).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      path: 'clusters[0].components',
      code: 'talos-requirement-conflict',
      value: { cilium: '7445', other: '7446' },
    });
    expect(issues[0]?.message).toBe(
      'components ask for different KubePrism ports: cilium wants 7445, other wants 7446',
    );
  });

  it('reports kube-proxy disabled by one component and required by another', () => {
    const other = requirement({ source: 'kube-router', disableKubeProxy: false });
    const { issues } = renderTalos(platform(), { dev: [cilium, other] });
    expect(issues.map((i) => i.message)).toEqual([
      'components ask for different kube-proxy settings: cilium wants disabled, kube-router wants enabled',
    ]);
  });

  it('reports two different mounts at the same kubelet path and keeps identical ones once', () => {
    const same = requirement({
      source: 'backup',
      kubeletExtraMounts: longhorn.kubeletExtraMounts ?? [],
    });
    const ok = renderTalos(platform(), { dev: [longhorn, same] });
    expect(ok.issues).toEqual([]);
    expect(doc(ok.files, `${DEV}/worker.yaml`).machine.kubelet.extraMounts).toHaveLength(1);

    const different = requirement({
      source: 'backup',
      kubeletExtraMounts: [
        { destination: '/var/lib/longhorn', type: 'bind', source: '/mnt/x', options: ['rw'] },
      ],
    });
    const bad = renderTalos(platform(), { dev: [longhorn, different] });
    expect(bad.issues.map((i) => i.message)).toEqual([
      'components ask for different kubelet mounts at /var/lib/longhorn: backup wants bind from /mnt/x (rw), longhorn wants bind from /var/lib/longhorn (bind, rshared, rw)',
    ]);
  });

  it('reports conflicting sysctls and a malformed extension name', () => {
    const a = requirement({ source: 'a', sysctls: { 'net.core.somaxconn': '1024' } });
    const b = requirement({
      source: 'b',
      sysctls: { 'net.core.somaxconn': '4096' },
      extensions: ['iscsi tools'],
    });
    const { issues } = renderTalos(platform(), { dev: [a, b] });
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ['clusters[0].components.b', 'talos-requirement'],
      ['clusters[0].components', 'talos-requirement-conflict'],
    ]);
  });

  it('gives the same bytes whatever the order of the requirements', () => {
    const one = renderTalos(platform(haCluster()), { prod: [cilium, longhorn] });
    const two = renderTalos(platform(haCluster()), { prod: [longhorn, cilium] });
    expect(two.files).toEqual(one.files);
  });
});

describe('Talos versions', () => {
  it('refuses Talos 1.14 on clusters[i].talos.version and writes nothing for that cluster', () => {
    const { files, issues } = renderTalos(
      platform(cluster(), haCluster({ talos: { version: 'v1.14.0' } })),
      { dev: [cilium], prod: [cilium] },
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      path: 'clusters[1].talos.version',
      value: 'v1.14.0',
      code: 'talos-version-unsupported',
      expected: 'a Talos version of a supported release line (v1.11.x, v1.12.x, v1.13.x)',
    });
    expect(issues[0]?.message).toMatch(
      /^Talos 1\.14 is not supported yet: Talos 1\.14 changes the machine-config document format/,
    );
    expect(files.some((f) => f.path.startsWith('clusters/prod/'))).toBe(false);
    expect(files.some((f) => f.path.startsWith('clusters/dev/'))).toBe(true);
  });

  it('refuses versions older than 1.11 and text that is no version', () => {
    const old = renderTalos(platform(cluster({ talos: { version: 'v1.10.7' } })), {});
    expect(old.issues[0]?.message).toBe(
      'Talos 1.10 is too old: the patches use fields that need Talos 1.11 or later',
    );
    const garbage = renderTalos(platform(cluster({ talos: { version: 'latest' } })), {});
    expect(garbage.issues.map((i) => i.code)).toEqual(['talos-version']);
  });
});

describe('files', () => {
  it('are the contract set for each cluster, each starting with the generated-by line', () => {
    const { files } = renderTalos(platform(haCluster()), { prod: [cilium] });
    expect(files.map((f) => f.path)).toEqual([
      `${PROD}/README.md`,
      `${PROD}/controlplane.yaml`,
      `${PROD}/nodes/prod-cp-1.yaml`,
      `${PROD}/nodes/prod-cp-2.yaml`,
      `${PROD}/nodes/prod-cp-3.yaml`,
      `${PROD}/nodes/prod-w-1.yaml`,
      `${PROD}/nodes/prod-w-2.yaml`,
      `${PROD}/schematic.yaml`,
      `${PROD}/worker.yaml`,
    ]);
    for (const f of files) {
      const first = f.content.split('\n')[0];
      expect(first).toBe(
        f.path.endsWith('.md')
          ? '<!-- generated by pnpm build (homelab build); do not edit. -->'
          : '# generated by pnpm build (homelab build); do not edit.',
      );
      expect(f.content.endsWith('\n')).toBe(true);
      expect(f.content).not.toContain('\r');
    }
  });

  it('quote "off" so that YAML 1.1 readers do not take it for false', () => {
    const { files } = renderTalos(platform(), {});
    expect(file(files, `${DEV}/nodes/dev-cp-1.yaml`)).toContain('auto: "off"\n');
  });
});

describe('runbook', () => {
  const { files } = renderTalos(platform(haCluster()), { prod: [cilium, longhorn] });
  const readme = file(files, `${PROD}/README.md`);

  it('generates secrets outside Git and registers the schematic', () => {
    expect(readme).toContain('talosctl gen secrets -o "$TALOS_DIR/secrets.yaml"');
    expect(readme).toContain(
      'curl -sS -X POST --data-binary @clusters/prod/talos/schematic.yaml https://factory.talos.dev/schematics',
    );
    expect(readme).toContain('613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245');
  });

  it('generates the configs with the patches, the endpoint and the versions of the cluster', () => {
    expect(readme).toContain(
      [
        'talosctl gen config prod https://192.168.30.10:6443 \\',
        '  --with-secrets "$TALOS_DIR/secrets.yaml" \\',
        '  --talos-version v1.12 \\',
        '  --kubernetes-version 1.34.2 \\',
        '  --config-patch-control-plane @clusters/prod/talos/controlplane.yaml \\',
        '  --config-patch-worker @clusters/prod/talos/worker.yaml \\',
      ].join('\n'),
    );
  });

  it('applies each node with its own patch, then bootstraps the first control plane', () => {
    expect(readme).toContain(
      'talosctl apply-config --insecure -n 192.168.30.12 -f "$TALOS_DIR/controlplane.yaml" --config-patch @clusters/prod/talos/nodes/prod-cp-2.yaml',
    );
    expect(readme).toContain(
      'talosctl apply-config --insecure -n 192.168.30.22 -f "$TALOS_DIR/worker.yaml" --config-patch @clusters/prod/talos/nodes/prod-w-2.yaml',
    );
    expect(readme).toContain('talosctl bootstrap -n 192.168.30.11');
  });

  it('installs Cilium, then Argo CD, then the root Application, in that order', () => {
    const ciliumAt = readme.indexOf(
      'helm template cilium charts/cilium --namespace kube-system \\\n  -f charts/cilium/env/production.yaml -f charts/cilium/clusters/prod.yaml \\\n  | kubectl apply --server-side -f -',
    );
    const argoAt = readme.indexOf(
      'helm template argocd charts/argo-cd --namespace argocd \\\n  -f charts/argo-cd/env/production.yaml -f charts/argo-cd/clusters/prod.yaml',
    );
    const rootAt = readme.indexOf('kubectl apply -f clusters/prod/root-application.yaml');
    expect(ciliumAt).toBeGreaterThan(0);
    expect(argoAt).toBeGreaterThan(ciliumAt);
    expect(rootAt).toBeGreaterThan(argoAt);
  });
});
