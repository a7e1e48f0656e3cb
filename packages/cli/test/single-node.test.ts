// The single-node example (examples/single-node/platform.yaml) through the whole pipeline: one
// Talos machine that is control plane and worker at once comes up, and its runbook's day-two
// steps hold on one node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parseYaml } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const example = readFileSync(join(repoRoot(), 'examples/single-node/platform.yaml'), 'utf8');

function file(files: readonly { path: string; content: string }[], path: string): string {
  const found = files.find((candidate) => candidate.path === path);
  if (found === undefined) throw new Error(`${path} was not generated`);
  return found.content;
}

describe('the single-node example', { timeout: 120_000 }, () => {
  const built = generate({ text: example, file: 'platform.yaml', chartVersions: {} });

  it('schedules the workloads on its control plane, one replica of Longhorn data', async () => {
    const { files } = await built;
    // Talos leaves the control-plane NoSchedule taint off only with this switch
    const patch = parseAllDocuments(file(files, 'clusters/home/talos/controlplane.yaml')) as {
      cluster?: { allowSchedulingOnControlPlanes?: boolean };
    }[];
    expect(patch[0]?.cluster?.allowSchedulingOnControlPlanes).toBe(true);
    const longhorn = parseYaml(file(files, 'charts/longhorn/clusters/home.yaml')) as {
      longhorn: { defaultSettings: { defaultReplicaCount: number } };
      manifests: { [key: string]: { kind: string; parameters?: { numberOfReplicas?: string } } };
    };
    expect(longhorn.longhorn.defaultSettings.defaultReplicaCount).toBe(1);
    const classes = Object.values(longhorn.manifests).filter((o) => o.kind === 'StorageClass');
    expect(classes.length).toBeGreaterThan(0);
    for (const storageClass of classes) expect(storageClass.parameters?.numberOfReplicas).toBe('1');
  });

  it('upgrades and reboots its one node without promising a quorum or a rebuild', async () => {
    const { files } = await built;
    const markdown = file(files, 'clusters/home/RUNBOOK.md');
    const upgrades = markdown.slice(
      markdown.indexOf('### Talos'),
      markdown.indexOf('### Kubernetes'),
    );
    const later = markdown.slice(
      markdown.indexOf('## Later: changing Talos settings'),
      markdown.indexOf('## Upgrades'),
    );
    // one etcd member: no quorum to keep, and the API is down while the node reboots
    expect(upgrades).not.toContain('keeps its quorum');
    expect(upgrades).toContain('The cluster has one node, its only etcd member');
    // Talos' drain cannot move a pod: it waits on PDBs 5 minutes (DrainTimeout), then upgrades;
    // Longhorn's instance manager keeps one while its volumes are attached
    expect(upgrades).toContain('until Talos stops waiting, after 5 minutes');
    expect(upgrades).toContain(
      "the instance manager's PodDisruptionBudget refuses every eviction while a volume is attached",
    );
    // Talos v1.12.11: talosctl upgrades the old way, no --drain=false (a 1.12 flag it lacks)
    expect(upgrades).not.toContain('--drain=false');
    expect(upgrades).not.toContain("the next node's drain");
    expect(later).not.toContain('Never let Talos reboot the nodes together');
    expect(later).not.toContain('rebuilt to `healthy`');
  });

  it("makes Grafana's admin Secret only where it is missing, and says how to read its password", async () => {
    const { files } = await built;
    const markdown = file(files, 'clusters/home/RUNBOOK.md');
    // a run again of the hand-made secrets step neither fails (AlreadyExists) nor replaces the
    // random password
    expect(markdown).toContain(
      'kubectl -n monitoring get secret grafana-admin >/dev/null 2>&1 || kubectl -n monitoring create secret generic grafana-admin \\\n',
    );
    // and logging in says where that password is
    const login = markdown.slice(
      markdown.indexOf('## Logging in'),
      markdown.indexOf('\n## ', markdown.indexOf('## Logging in') + 1),
    );
    expect(login).toContain(
      "kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d && echo",
    );
  });
});
