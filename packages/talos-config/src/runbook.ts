import type { BootstrapStep, ResolvedCluster, ResolvedNode } from '@homelab/core';
import type { Baseline } from './baseline.js';
import { CERT_APPROVER_VERSION } from './baseline.js';
import type { ClusterPatches } from './patches.js';
import type { MergedTalosRequirements } from './requirements.js';
import { IMAGE_FACTORY } from './schematic.js';
import type { TalosVersion } from './versions.js';

export interface RunbookInput {
  readonly header: string;
  readonly cluster: ResolvedCluster;
  readonly version: TalosVersion;
  readonly requirements: MergedTalosRequirements;
  readonly patches: ClusterPatches;
  /** The security baseline every node gets. */
  readonly baseline?: Baseline;
  readonly schematicId: string;
  readonly installImage: string;
  /** Folder of the Talos files relative to the repository root: `clusters/<cluster>/talos`. */
  readonly dir: string;
  /**
   * The platform's steps once the cluster answers, in order: what the components contribute
   * (CRDs before the components that need them, providers before consumers), the hand-made
   * secrets, the hand-over to the GitOps controller.
   */
  readonly steps: readonly BootstrapStep[];
}

/** How the runbook names a node's link: its name, or its selector and Talos' alias. */
function linkText(node: ResolvedNode): string {
  const { link } = node;
  if (link.hardwareAddr !== undefined)
    return `MAC \`${link.hardwareAddr}\` (alias \`${node.linkName}\`)`;
  if (link.busPath !== undefined) return `bus \`${link.busPath}\` (alias \`${node.linkName}\`)`;
  if (link.driver !== undefined) return `driver \`${link.driver}\` (alias \`${node.linkName}\`)`;
  return `\`${node.linkName}\``;
}

/** The cluster's bootstrap runbook (README.md), with the cluster's own values in every command. */
export function runbook(input: RunbookInput): string {
  const { cluster, version, requirements, patches, dir } = input;
  const name = cluster.name;
  const env = cluster.environment;
  const first = cluster.controlPlanes[0];
  const cpAddresses = cluster.controlPlanes.map((node) => node.address);
  const extensions =
    requirements.extensions.length === 0
      ? 'none'
      : requirements.extensions.map((e) => `\`${e}\``).join(', ');

  const lines: string[] = [];
  const add = (...text: string[]): void => {
    lines.push(...text);
  };
  const sh = (...commands: string[]): void => {
    add('```sh', ...commands, '```', '');
  };

  add(
    input.header,
    `# Cluster \`${name}\`: Talos bootstrap runbook`,
    '',
    `Environment **${env}**, Talos **${version.tag}**, Kubernetes **${cluster.kubernetesVersion}**, ` +
      `API endpoint \`${cluster.endpoint}\`${patches.vip ? ` (Layer 2 VIP announced by the control planes on the node network)` : ''}.`,
    '',
    'Run the commands from the repository root. Everything this folder holds is generated from',
    '`apps/homelab/platform.yaml`; change the definition and run `pnpm build`, never edit these files.',
    '',
    '| file | what it is |',
    '|---|---|',
    '| `controlplane.yaml` | patch for every control-plane node (`--config-patch-control-plane`) |',
    '| `worker.yaml` | patch for every worker node (`--config-patch-worker`) |',
    '| `nodes/<hostname>.yaml` | one patch per node: hostname, static address, install disk, labels, taints |',
    `| \`schematic.yaml\` | Image Factory schematic; system extensions: ${extensions} |`,
    '',
    '| node | role | address | link | install disk | patch |',
    '|---|---|---|---|---|---|',
    ...cluster.nodes.map(
      (node) =>
        `| ${node.hostname} | ${node.role} | ${node.address} | ${linkText(node)} | ${node.installDisk} | \`nodes/${node.hostname}.yaml\` |`,
    ),
    '',
    'What the platform asks of Talos (merged from the components):',
    '',
    `- CNI: ${requirements.cni === undefined ? "Talos' default" : `\`${requirements.cni}\` (${requirements.cniSources.join(', ')} installs it)`}; ` +
      `kube-proxy: ${requirements.disableKubeProxy ? 'disabled' : 'enabled'}; ` +
      `KubePrism: ${requirements.kubePrism ? `on, port ${requirements.kubePrism.port}` : 'Talos default'}`,
    `- pod network \`${cluster.network.podCidr}\`, service network \`${cluster.network.serviceCidr}\`, ` +
      `node network \`${cluster.network.nodeCidr}\` via \`${cluster.network.gateway}\`, ` +
      `DNS ${cluster.network.nameservers.map((n) => `\`${n}\``).join(', ')}`,
    `- workloads on control planes: ${cluster.allowSchedulingOnControlPlanes ? 'allowed (the cluster has no workers)' : 'not allowed'}`,
    ...(requirements.kubernetesTalosAPIAccess === undefined
      ? []
      : [
          `- Talos API access from Kubernetes (control planes): roles ${requirements.kubernetesTalosAPIAccess.roles.map((r) => `\`${r}\``).join(', ')} in namespace(s) ${requirements.kubernetesTalosAPIAccess.namespaces.map((n) => `\`${n}\``).join(', ')}`,
        ]),
    ...cluster.nodes.flatMap((node) => {
      const volumes = requirements.nodes.get(node.hostname)?.userVolumes ?? [];
      return volumes.length === 0
        ? []
        : [
            `- ${node.hostname}: user volume(s) ${volumes.map((v) => `\`/var/mnt/${v.name}\``).join(', ')} (\`UserVolumeConfig\` in \`nodes/${node.hostname}.yaml\`; check with \`talosctl -n ${node.address} get volumestatus\`)`,
          ];
    }),
    ...(requirements.disableCoreDns
      ? [
          `- Talos' CoreDNS: disabled (${requirements.coreDnsSources.join(', ')} deploys the cluster DNS from Git)`,
        ]
      : []),
    ...baselineLines(input.baseline),
    '',
    '## 1. Generate the cluster secrets (once)',
    '',
    'The Talos secrets, `talosconfig` and `kubeconfig` are credentials: keep them outside this',
    `repository (the commands use \`~/.homelab/${name}\`) and back \`secrets.yaml\` up in your`,
    'password manager; it is needed to add nodes or rebuild the cluster. Never commit them.',
    '',
  );
  sh(
    `export TALOS_DIR="$HOME/.homelab/${name}"`,
    'export TALOSCONFIG="$TALOS_DIR/talosconfig"',
    'mkdir -p "$TALOS_DIR" && chmod 700 "$TALOS_DIR"',
    'talosctl gen secrets -o "$TALOS_DIR/secrets.yaml"',
  );
  add(
    '## 2. Register the schematic with the Image Factory',
    '',
    `The schematic selects the system extensions (${extensions}). The Image Factory answers with`,
    `its id; it must be \`${input.schematicId}\`, the id the patches already use.`,
    '',
  );
  sh(`curl -sS -X POST --data-binary @${dir}/schematic.yaml https://${IMAGE_FACTORY}/schematics`);
  add(
    'Boot every machine from the matching image, e.g. the ISO',
    `\`https://${IMAGE_FACTORY}/image/${input.schematicId}/${version.tag}/metal-amd64.iso\`. The nodes install`,
    `\`${input.installImage}\`.`,
    '',
    '## 3. Generate the machine configs with the patches',
    '',
  );
  sh(
    `talosctl gen config ${name} ${cluster.endpoint} \\`,
    '  --with-secrets "$TALOS_DIR/secrets.yaml" \\',
    `  --talos-version ${version.line} \\`,
    `  --kubernetes-version ${cluster.kubernetesVersion} \\`,
    `  --config-patch-control-plane @${dir}/controlplane.yaml \\`,
    `  --config-patch-worker @${dir}/worker.yaml \\`,
    '  --output-dir "$TALOS_DIR"',
  );
  add(
    '## 4. Apply the configs',
    '',
    'The machines are in maintenance mode. `-n` is the address the machine has now: the static',
    'address below once it is configured, its DHCP address on the very first boot.',
    '',
  );
  sh(
    ...cluster.nodes.map(
      (node) =>
        `talosctl apply-config --insecure -n ${node.address} -f "$TALOS_DIR/${node.role === 'controlplane' ? 'controlplane' : 'worker'}.yaml" --config-patch @${dir}/nodes/${node.hostname}.yaml`,
    ),
  );
  add('## 5. Bootstrap etcd (once, on one control plane)', '');
  sh(
    `talosctl config endpoint ${cpAddresses.join(' ')}`,
    `talosctl config node ${first?.address ?? '<control-plane address>'}`,
    `talosctl bootstrap -n ${first?.address ?? '<control-plane address>'}`,
  );
  add('## 6. Fetch the kubeconfig', '');
  sh(
    `talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n ${first?.address ?? '<control-plane address>'}`,
    'export KUBECONFIG="$TALOS_DIR/kubeconfig"',
    'kubectl get nodes -o wide',
  );

  let step = 7;
  if (requirements.cni === 'none') {
    add(
      `The nodes stay \`NotReady\` until the CNI runs: Talos installs none (\`cni: none\`)${requirements.disableKubeProxy ? ' and no kube-proxy' : ''}.`,
      '',
    );
  }
  for (const entry of input.steps) {
    add(`## ${step}. ${entry.title}`, '');
    if (entry.body.length > 0) add(...entry.body, '');
    if (entry.commands.length > 0) sh(...entry.commands);
    step += 1;
  }
  add(
    '## Later: changing Talos settings',
    '',
    'After `pnpm build` changed these patches, regenerate the configs (step 3, into a fresh',
    'folder or with `--force`) and apply them node by node, without `--insecure`:',
    '',
  );
  sh(
    ...cluster.nodes.map(
      (node) =>
        `talosctl apply-config -n ${node.address} -f "$TALOS_DIR/${node.role === 'controlplane' ? 'controlplane' : 'worker'}.yaml" --config-patch @${dir}/nodes/${node.hostname}.yaml`,
    ),
  );
  add(
    'When the Talos version or the extensions changed, upgrade each node to the new installer image:',
    '',
  );
  sh(
    ...cluster.nodes.map(
      (node) => `talosctl upgrade -n ${node.address} --image ${input.installImage}`,
    ),
  );
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** The security baseline, as the runbook states it. */
function baselineLines(baseline: Baseline | undefined): string[] {
  if (baseline === undefined) return [];
  const disks =
    baseline.diskEncryption === 'none'
      ? 'STATE and EPHEMERAL are **not** encrypted (`talos.diskEncryption: none`)'
      : `STATE and EPHEMERAL encrypted with LUKS2, keys ${baseline.diskEncryption === 'tpm' ? 'sealed by the TPM (needs TPM 2.0 and SecureBoot)' : 'derived from the node id'}; set at install: changing it later needs a reinstall`;
  return [
    '',
    'The security baseline every node gets:',
    '',
    `- disks: ${disks}`,
    `- kubelet serving certificates rotated and signed by the cluster CA; Talos installs the Kubelet Serving Certificate Approver ${CERT_APPROVER_VERSION} at bootstrap`,
    `- API server audit policy (metadata for Secrets and tokens, requests for RBAC and admission changes); Pod Security \`baseline\` enforced and \`restricted\` warned cluster-wide, exempt: ${baseline.exemptNamespaces.map((namespace) => `\`${namespace}\``).join(', ') || 'none'}`,
    `- sysctl hardening: ${Object.keys(baseline.sysctls).length} kernel and network settings (no redirects or source routing, SYN cookies, restricted dmesg and kernel pointers)`,
  ];
}
