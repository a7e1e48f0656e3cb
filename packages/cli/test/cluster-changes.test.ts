// What a running Talos cluster cannot take, through the whole pipeline on the reference platform
// (examples/reference/platform.yaml): the files the last build wrote under clusters/<cluster>/
// stand for what each cluster runs. Another pod or service network (`cluster-network-changed`),
// a Kubernetes release down or a minor release skipped (`kubernetes-upgrade-path`), a Talos
// release its upgrade path does not reach, a skipped or an earlier minor one (`talos-upgrade-path`) are
// refused at the definition's line; `--allow-immutable-changes` builds them. A cluster the last
// build wrote that the definition no longer has is a warning (`cluster-removed`), and so is a root
// Application that changes (`root-application-changed`: it is applied by hand).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GenerateResult, generate } from '../src/pipeline.js';
import { buildIn, clustersOf } from './last-build.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const CODES = new Set(['cluster-network-changed', 'kubernetes-upgrade-path', 'talos-upgrade-path']);

/** `text` with `from` replaced by `to` on the first line after cluster `name` starts that has it. */
function inCluster(text: string, name: string, from: string, to: string): string {
  const start = text.indexOf(`\n  - name: ${name}\n`);
  const at = text.indexOf(`      ${from}\n`, start);
  if (start < 0 || at < 0) throw new Error(`${from} is not in cluster ${name}`);
  return `${text.slice(0, at)}      ${to}\n${text.slice(at + from.length + 7)}`;
}

/** The 1-based line and column of `to` after cluster `name` starts, in `text`. */
function place(text: string, name: string, to: string): { line: number; column: number } {
  const at = text.indexOf(`      ${to}\n`, text.indexOf(`\n  - name: ${name}\n`));
  const line = text.slice(0, at).split('\n').length;
  // The value, after `key: ` (the key at column 7).
  return { line, column: 7 + to.indexOf(': ') + 2 };
}

const refusals = (result: GenerateResult): Issue[] =>
  result.issues.filter((issue) => CODES.has(issue.code));

let last: GenerateResult;

/** A build of `text` compared with `previous` (default: the reference's own build). */
function over(text: string, previous = clustersOf(last.files)): Promise<GenerateResult> {
  return generate({ text, file: 'platform.yaml', chartVersions: {}, previousCluster: previous });
}

beforeAll(async () => {
  last = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
  expect(last.files.length).toBeGreaterThan(0);
}, 180_000);

describe('a running cluster compared with the last build', () => {
  it("refuses dev's new pod network and staging's new service network, each at its line, naming what the last build wrote", async () => {
    // Given dev's pod network and staging's service network renumbered
    let text = inCluster(definition, 'dev', 'podCidr: 10.244.0.0/16', 'podCidr: 10.42.0.0/16');
    text = inCluster(text, 'staging', 'serviceCidr: 10.96.0.0/12', 'serviceCidr: 10.43.0.0/16');
    // When it builds over the reference's last build
    const result = await over(text);
    // Then both are refused and nothing is written
    expect(result.files).toEqual([]);
    const found = refusals(result);
    expect(found.map((issue) => [issue.code, issue.path, issue.value])).toEqual([
      ['cluster-network-changed', ['clusters', 0, 'network', 'podCidr'], '10.42.0.0/16'],
      ['cluster-network-changed', ['clusters', 1, 'network', 'serviceCidr'], '10.43.0.0/16'],
    ]);
    const [pods, services] = found as [Issue, Issue];
    expect(pods.position).toMatchObject(place(text, 'dev', 'podCidr: 10.42.0.0/16'));
    expect(pods.output).toBe('clusters/dev/talos/controlplane.yaml');
    expect(pods.message).toContain(
      'would change cluster "dev"\'s pod network from 10.244.0.0/16, which the last build wrote (clusters/dev/talos/controlplane.yaml, the patch its nodes were configured with), to 10.42.0.0/16; Talos and Kubernetes cannot renumber a running cluster',
    );
    expect(pods.expected).toContain('10.244.0.0/16 while the cluster runs: keep it');
    expect(pods.expected).toContain('rebuild the cluster');
    expect(pods.expected).toContain('--allow-immutable-changes');
    expect(services.position).toMatchObject(place(text, 'staging', 'serviceCidr: 10.43.0.0/16'));
    expect(services.message).toContain('service network from 10.96.0.0/12');
  }, 180_000);

  it('refuses a skipped Kubernetes minor release, a Kubernetes and a Talos minor release down, and a Talos release that does not install over the running one', async () => {
    // Given dev from Kubernetes 1.34 to 1.36, staging from Talos 1.12 back to 1.11, prod from
    // Kubernetes 1.34 back to 1.33, and a last build that had prod on Talos v1.9.5 (which
    // Talos 1.12 does not install over: its minimum is 1.10.0)
    let text = inCluster(definition, 'dev', 'version: 1.34.4', 'version: 1.36.3');
    text = inCluster(text, 'staging', 'version: v1.12.11', 'version: v1.11.6');
    text = inCluster(text, 'prod', 'version: 1.34.4', 'version: 1.33.12');
    const built = clustersOf(last.files);
    const previous = (cluster: string) => {
      const files = built(cluster);
      if (cluster !== 'prod' || files === undefined) return files;
      const patch = files.get('talos/controlplane.yaml') ?? '';
      expect(patch).toContain(':v1.12.11\n');
      return new Map([
        ...files,
        ['talos/controlplane.yaml', patch.replace(':v1.12.11\n', ':v1.9.5\n')],
      ]);
    };
    // When it builds
    const result = await over(text, previous);
    // Then each is refused at its version line
    expect(result.files).toEqual([]);
    const found = refusals(result);
    expect(found.map((issue) => [issue.code, issue.path, issue.value])).toEqual([
      ['kubernetes-upgrade-path', ['clusters', 0, 'kubernetes', 'version'], '1.36.3'],
      ['talos-upgrade-path', ['clusters', 1, 'talos', 'version'], 'v1.11.6'],
      ['talos-upgrade-path', ['clusters', 2, 'talos', 'version'], 'v1.12.11'],
      ['kubernetes-upgrade-path', ['clusters', 2, 'kubernetes', 'version'], '1.33.12'],
    ]);
    const [skip, talosDown, jump, kubeDown] = found as [Issue, Issue, Issue, Issue];
    expect(skip.position).toMatchObject(place(text, 'dev', 'version: 1.36.3'));
    expect(skip.output).toBe('clusters/dev/RUNBOOK.md');
    expect(skip.message).toBe(
      'would take cluster "dev" from Kubernetes 1.34.4, which the last build wrote (clusters/dev/RUNBOOK.md), to 1.36.3, which it cannot take: Kubernetes upgrades one minor release at a time: talosctl upgrade-k8s refuses the path 1.34->1.36, which skips 1.35',
    );
    expect(skip.expected).toContain('1.35.x first');
    expect(talosDown.position).toMatchObject(place(text, 'staging', 'version: v1.11.6'));
    expect(talosDown.message).toContain('from Talos v1.12.11');
    expect(talosDown.message).toContain('goes back to an earlier minor release');
    expect(kubeDown.message).toContain('does not go back to an earlier minor release');
    expect(jump.message).toContain(
      'Talos 1.12 installs only over Talos 1.10.0 or later (its MinimumHostUpgradeVersion)',
    );
    expect(jump.expected).toContain('--allow-immutable-changes');
  }, 180_000);

  it('lets clusters stay, move up one step, and compares nothing on a cluster the last build did not build', async () => {
    // The reference over its own build.
    expect(refusals(await over(definition))).toEqual([]);
    // staging to Talos 1.13 and Kubernetes 1.35, dev to Kubernetes 1.35; prod renamed to live
    // on another pod network: a new cluster.
    let text = inCluster(definition, 'staging', 'version: v1.12.11', 'version: v1.13.9');
    text = inCluster(text, 'staging', 'version: 1.34.4', 'version: 1.35.4');
    text = inCluster(text, 'dev', 'version: 1.34.4', 'version: 1.35.4');
    text = inCluster(text, 'prod', 'podCidr: 10.244.0.0/16', 'podCidr: 10.42.0.0/16');
    text = text.replace('\n  - name: prod\n', '\n  - name: live\n');
    const result = await over(text);
    expect(refusals(result)).toEqual([]);
    expect(result.files.length).toBeGreaterThan(0);
  }, 240_000);

  it('prints file:line:col, writes nothing, and builds with --allow-immutable-changes: `homelab build` on a copy of the reference example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-cluster-changes-'));
    try {
      // Given a build of the reference
      const file = join(dir, 'platform.yaml');
      writeFileSync(file, definition);
      const { build: homelab, stderr } = buildIn(dir);
      expect(await homelab()).toBe(0);
      const patch = join(dir, 'out', 'clusters', 'dev', 'talos', 'controlplane.yaml');
      const written = readFileSync(patch);
      // When dev's pod network changes
      const text = inCluster(definition, 'dev', 'podCidr: 10.244.0.0/16', 'podCidr: 10.42.0.0/16');
      writeFileSync(file, text);
      // Then the build is refused at the line, and nothing is written
      expect(await homelab()).toBe(1);
      const line = stderr()
        .split('\n')
        .find((entry) => entry.includes('cluster-network-changed') || entry.includes('renumber'));
      const { line: at, column } = place(text, 'dev', 'podCidr: 10.42.0.0/16');
      expect(line?.slice(0, line.indexOf(': '))).toBe(
        `platform.yaml:${at}:${column}  clusters[0].network.podCidr → clusters/dev/talos/controlplane.yaml`,
      );
      expect(stderr()).toContain('nothing written');
      expect(readFileSync(patch).equals(written)).toBe(true);
      // And with --allow-immutable-changes (the cluster rebuilt) it builds
      expect(await homelab('--allow-immutable-changes')).toBe(0);
      expect(readFileSync(patch, 'utf8')).toContain('- 10.42.0.0/16');
      expect(existsSync(join(dir, 'out', 'clusters', 'dev', 'RUNBOOK.md'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

/** The reference with a fourth cluster, `edge`: dev's on addresses of its own. */
function withEdge(text: string): string {
  const start = text.indexOf('  - name: dev\n');
  const end = text.indexOf('  - name: staging\n');
  const edge = text
    .slice(start, end)
    .replace('name: dev', 'name: edge')
    .replaceAll('dev-cp-1', 'edge-cp-1')
    .replaceAll('10.10.10.', '10.40.10.')
    .replaceAll('argocd-dev', 'argocd-edge')
    .replaceAll('grafana-dev', 'grafana-edge')
    // Its own restic repository entry: the repository URL names the cluster, and one entry
    // holds one value (bitwarden-entry-values refuses dev's).
    .replace(
      '    components:\n',
      '    components:\n      bitwarden-sm:\n        secrets:\n          paperless/data-restic:\n' +
        '            RESTIC_REPOSITORY: 5a1f0c3e-0000-4000-8000-000000000040\n',
    );
  return `${text.trimEnd()}\n\n${edge.trimEnd()}\n`;
}

describe('a cluster the last build wrote that the definition no longer has', () => {
  const removed = (result: GenerateResult): Issue[] =>
    result.issues.filter((issue) => issue.code === 'cluster-removed');

  it('is a warning at `clusters`, one per cluster gone, naming what the build deletes', async () => {
    const result = await generate({
      text: definition,
      file: 'platform.yaml',
      chartVersions: {},
      previousClusters: ['dev', 'edge', 'prod', 'staging', 'z-lab'],
    });
    expect(result.files.length).toBe(last.files.length);
    const found = removed(result);
    expect(found.map((issue) => [issue.severity, issue.path, issue.value, issue.output])).toEqual([
      ['warning', ['clusters'], 'edge', 'clusters/edge/'],
      ['warning', ['clusters'], 'z-lab', 'clusters/z-lab/'],
    ]);
    expect(found[0]?.message).toContain(
      'building it deletes clusters/edge/ and charts/platform/clusters/edge.yaml, a value file of the root Application edge-platform',
    );
    // At the list of clusters (its first item, the line after `clusters:`).
    expect(found[0]?.position?.line).toBe(definition.split('\n').indexOf('clusters:') + 2);
    // The same clusters as the last build: nothing to say.
    const same = await generate({
      text: definition,
      file: 'platform.yaml',
      chartVersions: {},
      previousClusters: ['dev', 'prod', 'staging'],
    });
    expect(removed(same)).toEqual([]);
  }, 180_000);

  it('`homelab build` warns and deletes its folder, after a build that had it; not with --allow-immutable-changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-cluster-removed-'));
    try {
      // Given a build with a fourth cluster, edge
      const file = join(dir, 'platform.yaml');
      writeFileSync(file, withEdge(definition));
      const { build: homelab, stderr } = buildIn(dir);
      expect(await homelab()).toBe(0);
      expect(stderr()).not.toContain('cluster-removed');
      expect(existsSync(join(dir, 'out', 'clusters', 'edge', 'root-application.yaml'))).toBe(true);
      // When edge leaves the definition
      writeFileSync(file, definition);
      // Then the build warns once, at `clusters:`, and removes edge's material
      expect(await homelab()).toBe(0);
      const at = definition.split('\n').indexOf('clusters:') + 2;
      const warnings = stderr()
        .split('\n')
        .filter((line) => line.includes('has no cluster "edge"'));
      expect(warnings.length).toBe(1);
      expect(warnings[0]?.slice(0, warnings[0].indexOf(': '))).toBe(
        `platform.yaml:${at}:3  clusters → clusters/edge/`,
      );
      expect(existsSync(join(dir, 'out', 'clusters', 'edge'))).toBe(false);
      expect(existsSync(join(dir, 'out', 'charts', 'platform', 'clusters', 'edge.yaml'))).toBe(
        false,
      );
      expect(existsSync(join(dir, 'out', 'clusters', 'dev', 'root-application.yaml'))).toBe(true);
      // And a build with edge again, then without it and the flag, says nothing of it
      writeFileSync(file, withEdge(definition));
      expect(await homelab()).toBe(0);
      writeFileSync(file, definition);
      expect(await homelab('--allow-immutable-changes')).toBe(0);
      expect(stderr()).not.toContain('has no cluster "edge"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe("a cluster's root Application changed from what the last build wrote", () => {
  const changed = (result: GenerateResult): Issue[] =>
    result.issues.filter((issue) => issue.code === 'root-application-changed');
  /** The reference without its monitoring component (the last top-level component). */
  const withoutMonitoring = (text: string): string => {
    const cut = text.replace(/\n {2}monitoring:\n[\s\S]*?\nclusters:/, '\nclusters:');
    if (cut === text) throw new Error('monitoring is not in the definition');
    return cut;
  };

  it('warns per cluster whose root changes, naming the field, what the running root does meanwhile, and the apply', async () => {
    // The same definition: the roots are the same.
    expect(changed(await over(definition))).toEqual([]);
    // Development pinned to a tag: dev's root alone.
    const pinned = await over(
      definition.replace(
        '  targetRevision:\n    development: main\n',
        '  targetRevision:\n    development: v1.2.0\n',
      ),
    );
    expect(pinned.files.length).toBeGreaterThan(0);
    const found = changed(pinned);
    expect(found.map((issue) => [issue.severity, issue.path, issue.value, issue.output])).toEqual([
      ['warning', ['clusters', 0], 'dev', 'clusters/dev/root-application.yaml'],
    ]);
    expect(found[0]?.message).toBe(
      'changes the root Application dev-platform of cluster "dev" from what the last build wrote (clusters/dev/root-application.yaml): spec.source.targetRevision from "main" to "v1.2.0". No Application manages the root (it is applied by hand), so the cluster runs the old one until the file is applied again: until then the cluster goes on following the revision it follows now',
    );
    expect(found[0]?.expected).toContain('`kubectl apply -f clusters/dev/root-application.yaml`');
    // The same command the runbook gives to apply the root.
    const runbook = last.files.find((file) => file.path === 'clusters/dev/RUNBOOK.md')?.content;
    expect(runbook).toContain('\nkubectl apply -f clusters/dev/root-application.yaml\n');
  }, 180_000);

  it("warns that a component's removal stops the running root until it is applied again", async () => {
    const found = changed(await over(withoutMonitoring(definition)));
    expect(found.map((issue) => issue.value)).toEqual(['dev', 'staging', 'prod']);
    for (const issue of found) {
      expect(issue.message).toContain('the revision parameter for monitoring removed');
      expect(issue.message).toContain(
        "the root's parameter for monitoring makes charts/platform's schema refuse the root's render",
      );
    }
    // The other way round: a last build without monitoring's parameter (the component enabled
    // now): the new Application follows its own pin until the root is applied.
    const parameter =
      /\n {8}- forceString: true\n {10}name: manifests\.application-monitoring\.spec\.source\.targetRevision\n {10}value: \$ARGOCD_APP_SOURCE_TARGET_REVISION\n/;
    const earlier = last.files.map((file) =>
      file.path.endsWith('/root-application.yaml')
        ? { ...file, content: file.content.replace(parameter, '\n') }
        : file,
    );
    expect(
      earlier.filter((file, index) => file.content !== last.files[index]?.content).length,
    ).toBe(3);
    const added = changed(await over(definition, clustersOf(earlier)));
    expect(added.map((issue) => issue.value)).toEqual(['dev', 'staging', 'prod']);
    expect(added[0]?.message).toContain(
      "a revision parameter for monitoring added. No Application manages the root (it is applied by hand), so the cluster runs the old one until the file is applied again: until then monitoring follows the revision its committed values name, not the root's",
    );
  }, 180_000);
});

describe("a cluster's installer image changed at the same Talos release", () => {
  const installer = (result: GenerateResult): Issue[] =>
    result.issues.filter((issue) => issue.code === 'talos-installer-changed');
  const DEV_TALOS = '      version: v1.13.9\n      # A VM without a TPM';

  it('warns where the extensions change (a new schematic) at the same release, naming the upgrade onto the new image; not along a new release', async () => {
    if (!definition.includes(DEV_TALOS)) throw new Error("dev's Talos is not in the definition");
    // dev's nodes get CPU microcode: a new schematic, the same release
    const text = definition.replace(
      DEV_TALOS,
      '      version: v1.13.9\n      extensions: [siderolabs/intel-ucode]\n      # A VM without a TPM',
    );
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = installer(result);
    expect(found.map((issue) => [issue.severity, issue.path, issue.output])).toEqual([
      ['warning', ['clusters', 0, 'talos'], 'clusters/dev/talos/controlplane.yaml'],
    ]);
    const image = /image: (factory\.talos\.dev\/installer\/[0-9a-f]{64}):v1\.13\.9\n/;
    const before = image.exec(
      last.files.find((file) => file.path === 'clusters/dev/talos/controlplane.yaml')?.content ??
        '',
    )?.[1];
    const after = image.exec(
      result.files.find((file) => file.path === 'clusters/dev/talos/controlplane.yaml')?.content ??
        '',
    )?.[1];
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(found[0]?.value).toBe(after);
    expect(found[0]?.message).toContain(
      `at the same Talos release v1.13.9, in place of ${before}, which its nodes installed`,
    );
    expect(found[0]?.expected).toContain(`\`talosctl upgrade --image ${after}:v1.13.9\``);
    // The runbook's upgrade block names the same image.
    expect(result.files.find((file) => file.path === 'clusters/dev/RUNBOOK.md')?.content).toContain(
      `talosctl upgrade -n 10.10.10.11 --image ${after}:v1.13.9`,
    );
    // The same definition: none.
    expect(installer(await over(definition))).toEqual([]);
    // Another schematic on an earlier patch release: the upgrade to v1.13.9 installs the image
    // anyway (talos-upgrade-path judges the step), so no warning.
    const earlier = last.files.map((file) =>
      file.path === 'clusters/dev/talos/controlplane.yaml'
        ? {
            ...file,
            content: file.content.replace(
              image,
              `image: factory.talos.dev/installer/${'0'.repeat(64)}:v1.13.8\n`,
            ),
          }
        : file,
    );
    expect(
      earlier.find((file) => file.path === 'clusters/dev/talos/controlplane.yaml')?.content,
    ).toContain(':v1.13.8\n');
    expect(installer(await over(definition, clustersOf(earlier)))).toEqual([]);
    // The same release on another schematic before: the warning.
    const other = last.files.map((file) =>
      file.path === 'clusters/dev/talos/controlplane.yaml'
        ? {
            ...file,
            content: file.content.replace(
              image,
              `image: factory.talos.dev/installer/${'0'.repeat(64)}:v1.13.9\n`,
            ),
          }
        : file,
    );
    expect(
      installer(await over(definition, clustersOf(other))).map((issue) => issue.value),
    ).toEqual([before]);
  }, 180_000);
});

describe('a node the last build wrote that the definition no longer has', () => {
  const removedNodes = (result: GenerateResult): Issue[] =>
    result.issues.filter((issue) => issue.code === 'node-removed');

  it("warns at the cluster's nodes, filling in the retiring block's NODE and NODE_ADDRESS", async () => {
    // A last build whose prod runbook had two more nodes, a worker and a control plane (the
    // blocks of "Later: changing Talos settings" name every node so)
    const earlier = last.files.map((file) =>
      file.path === 'clusters/prod/RUNBOOK.md'
        ? {
            ...file,
            content: `${file.content}\n**prod-worker-4** (worker, 10.30.10.24):\n\n**prod-cp-4** (controlplane, 10.30.10.14), once the block above finished without an error:\n`,
          }
        : file,
    );
    const result = await over(definition, clustersOf(earlier));
    expect(result.files.length).toBeGreaterThan(0);
    const found = removedNodes(result);
    expect(found.map((issue) => [issue.severity, issue.value, issue.path, issue.output])).toEqual([
      ['warning', 'prod-cp-4', ['clusters', 2, 'nodes'], 'clusters/prod/RUNBOOK.md'],
      ['warning', 'prod-worker-4', ['clusters', 2, 'nodes'], 'clusters/prod/RUNBOOK.md'],
    ]);
    const worker = found.find((issue) => issue.value === 'prod-worker-4');
    expect(worker?.message).toContain('(worker, 10.30.10.24)');
    expect(worker?.message).not.toContain('etcd');
    expect(worker?.expected).toContain(
      'the block for a worker, with `NODE=prod-worker-4` and `NODE_ADDRESS=10.30.10.24`',
    );
    const controlPlane = found.find((issue) => issue.value === 'prod-cp-4');
    expect(controlPlane?.message).toContain('its etcd member among them');
    expect(controlPlane?.expected).toContain(
      'the block for a control plane, with `NODE=prod-cp-4`',
    );
    // The blocks it names are in the runbook this build writes.
    const runbook =
      result.files.find((file) => file.path === 'clusters/prod/RUNBOOK.md')?.content ?? '';
    expect(runbook).toContain('\n### Retiring a node no longer in the definition\n');
    expect(runbook).toContain('\nA worker:\n');
    expect(runbook).toContain('\nA control plane leaves etcd with its graceful reset');
    // Every node of the reference is read back from its own runbook: the same nodes, none.
    expect(removedNodes(await over(definition))).toEqual([]);
  }, 180_000);
});

describe('a hand-made Secret the last build did not ask for', () => {
  const added = (result: GenerateResult): Issue[] =>
    result.issues.filter((issue) => issue.code === 'hand-made-secret-added');
  const LINE =
    '- `paperless/bw-auth-token` (keys `token`): the access token of the Bitwarden machine account the operator reads this namespace’s secrets with (bitwarden-sm)\n';

  it('warns at the cluster where an application added later needs the secrets provider token in its namespace', async () => {
    // The last build's prod runbook without paperless' token (paperless added since)
    const old = last.files.find((file) => file.path === 'clusters/prod/RUNBOOK.md')?.content ?? '';
    expect(old).toContain(LINE);
    const earlier = last.files.map((file) =>
      file.path === 'clusters/prod/RUNBOOK.md'
        ? { ...file, content: file.content.replace(LINE, '') }
        : file,
    );
    const result = await over(definition, clustersOf(earlier));
    expect(result.files.length).toBeGreaterThan(0);
    const found = added(result);
    expect(found.map((issue) => [issue.severity, issue.value, issue.path, issue.output])).toEqual([
      ['warning', 'paperless/bw-auth-token', ['clusters', 2], 'clusters/prod/RUNBOOK.md'],
    ]);
    expect(found[0]?.expected).toContain(
      'the runbook\'s step "Create the hand-made secrets", its commands for namespace `paperless`',
    );
    // The step it names makes that Secret in the runbook this build writes
    const runbook =
      result.files.find((file) => file.path === 'clusters/prod/RUNBOOK.md')?.content ?? '';
    expect(runbook).toContain('kubectl -n paperless create secret generic bw-auth-token');
    // The same runbook as before: none
    expect(added(await over(definition))).toEqual([]);
  }, 180_000);
});

describe("a node's role or a cluster's disk encryption changed from what the last build wrote", () => {
  const codes = (result: GenerateResult, code: string): Issue[] =>
    result.issues.filter((issue) => issue.code === code);

  it('refuses a control plane made a worker, at its role, naming its etcd member and the retire-then-add way; a worker made a control plane likewise', async () => {
    // staging-cp-3, a control plane of the last build's runbook, made a worker
    const at = definition.indexOf('      - hostname: staging-cp-3\n        role: controlplane');
    expect(at).toBeGreaterThan(0);
    const text = `${definition.slice(0, at)}${definition.slice(at).replace('role: controlplane', 'role: worker')}`;
    const result = await over(text);
    expect(result.files).toEqual([]);
    const found = codes(result, 'node-role-changed');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path, issue.output])).toEqual([
      ['error', 'worker', ['clusters', 1, 'nodes', 2, 'role'], 'clusters/staging/RUNBOOK.md'],
    ]);
    const line = text.slice(0, at).split('\n').length + 1;
    expect(found[0]?.position).toEqual({ file: 'platform.yaml', line, column: 15 });
    expect(found[0]?.message).toContain(
      'would make node "staging-cp-3" of cluster "staging" a worker, which the last build\'s runbook names as a control plane',
    );
    // Talos v1.12.11: LeaveEtcd runs in the reset sequence alone
    expect(found[0]?.message).toContain('its etcd member leaves only with a graceful reset');
    expect(found[0]?.expected).toContain(
      'role: controlplane while the node runs; to change it, retire the node with the runbook\'s "Retiring a node" block for staging-cp-3 (it resets the machine and removes its etcd member)',
    );
    // The other way (a last build whose runbook named staging-cp-3 a worker): no etcd member to
    // speak of
    const earlier = last.files.map((file) =>
      file.path === 'clusters/staging/RUNBOOK.md'
        ? {
            ...file,
            content: file.content.replaceAll(
              '**staging-cp-3** (controlplane, ',
              '**staging-cp-3** (worker, ',
            ),
          }
        : file,
    );
    const up = codes(await over(definition, clustersOf(earlier)), 'node-role-changed');
    expect(up.map((issue) => [issue.value, issue.path])).toEqual([
      ['controlplane', ['clusters', 1, 'nodes', 2, 'role']],
    ]);
    expect(up[0]?.message).toContain(
      "a control plane, which the last build's runbook names as a worker",
    );
    expect(up[0]?.message).not.toContain('etcd');
    expect(up[0]?.expected).toContain('role: worker while the node runs');
    // The same roles: none
    expect(codes(await over(definition), 'node-role-changed')).toEqual([]);
  }, 180_000);

  it('refuses another disk encryption on a cluster the last build wrote, at its line, whichever way; the same one passes', async () => {
    const line = '      diskEncryption: nodeID';
    expect(definition.split('\n').filter((l) => l === line)).toHaveLength(1);
    const cases = [
      ['none', 'finds them encrypted with no key configured'],
      ['tpm', 'finds no configured key that opens them'],
    ] as const;
    for (const [to, why] of cases) {
      const text = definition.replace(line, `      diskEncryption: ${to}`);
      const result = await over(text);
      expect(result.files).toEqual([]);
      const found = codes(result, 'disk-encryption-changed');
      expect(found.map((issue) => [issue.severity, issue.value, issue.path, issue.output])).toEqual(
        [
          [
            'error',
            to,
            ['clusters', 0, 'talos', 'diskEncryption'],
            'clusters/dev/talos/controlplane.yaml',
          ],
        ],
      );
      expect(found[0]?.position?.line).toBe(
        text.split('\n').indexOf(`      diskEncryption: ${to}`) + 1,
      );
      expect(found[0]?.message).toContain(
        `would change the encryption of cluster "dev"'s STATE and EPHEMERAL partitions from nodeID`,
      );
      expect(found[0]?.message).toContain(why);
      expect(found[0]?.expected).toContain('talos.diskEncryption: nodeID while the cluster runs');
    }
    // From none: a last build without encryption on dev, the reference's nodeID now
    const plain = await generate({
      text: definition.replace(line, '      diskEncryption: none'),
      file: 'platform.yaml',
      chartVersions: {},
    });
    expect(plain.files.length).toBeGreaterThan(0);
    const encrypted = codes(
      await over(definition, clustersOf(plain.files)),
      'disk-encryption-changed',
    );
    expect(encrypted.map((issue) => issue.value)).toEqual(['nodeID']);
    expect(encrypted[0]?.message).toContain('finds them not encrypted where it expects LUKS');
    expect(codes(await over(definition), 'disk-encryption-changed')).toEqual([]);
  }, 180_000);
});

describe("a node's address changed from what the last build wrote", () => {
  it('warns at the address, naming the old one to apply the new config at first; a worker without the etcd part', async () => {
    const from = '        address: 10.20.10.13\n';
    expect(definition.split(from)).toHaveLength(2);
    const text = definition.replace(from, '        address: 10.20.10.23\n');
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = result.issues.filter((issue) => issue.code === 'node-address-changed');
    expect(found.map((issue) => [issue.severity, issue.value, issue.path])).toEqual([
      ['warning', '10.20.10.23', ['clusters', 1, 'nodes', 2, 'address']],
    ]);
    expect(found[0]?.position?.line).toBe(
      text.split('\n').indexOf('        address: 10.20.10.23') + 1,
    );
    expect(found[0]?.message).toContain(
      'moves node "staging-cp-3" of cluster "staging" from 10.20.10.13, which the last build\'s runbook names',
    );
    expect(found[0]?.expected).toContain(
      '`talosctl apply-config -n 10.20.10.13 -f "$TALOS_DIR"/controlplane.yaml --config-patch @clusters/staging/talos/nodes/staging-cp-3.yaml`',
    );
    expect(found[0]?.expected).toContain('with every other etcd member up');
    // The runbook this build writes reaches the node at its new address only
    const runbook = result.files.find((file) => file.path === 'clusters/staging/RUNBOOK.md');
    expect(String(runbook?.content)).toContain('talosctl apply-config -n 10.20.10.23 ');
    expect(String(runbook?.content)).not.toContain('talosctl apply-config -n 10.20.10.13 ');
    // A worker: no etcd
    const worker =
      '      - hostname: prod-worker-1\n        role: worker\n        address: 10.30.10.21\n';
    expect(definition.split(worker)).toHaveLength(2);
    const moved = await over(
      definition.replace(worker, worker.replace('10.30.10.21', '10.30.10.31')),
    );
    const w = moved.issues.filter((issue) => issue.code === 'node-address-changed');
    expect(w.map((issue) => issue.value)).toEqual(['10.30.10.31']);
    expect(w[0]?.expected).not.toContain('etcd');
    expect(w[0]?.expected).toContain('"$TALOS_DIR"/worker.yaml');
    // The same addresses: none
    expect(
      (await over(definition)).issues.filter((issue) => issue.code === 'node-address-changed'),
    ).toEqual([]);
  }, 180_000);
});

describe("an application's login through the OIDC provider changed from what the last build's runbook said", () => {
  const logins = (result: GenerateResult): Issue[] =>
    result.issues.filter((issue) => issue.code === 'application-login-changed');

  it('warns per cluster where a renamed route takes the client id, Secret and redirect URI with it, naming only what changed', async () => {
    expect(definition.split('          - host: paperless\n')).toHaveLength(2);
    const text = definition
      .replace('          - host: paperless\n', '          - host: docs\n')
      .replaceAll('paperless/paperless-oidc:', 'paperless/docs-oidc:');
    const result = await over(text);
    expect(result.files.length).toBeGreaterThan(0);
    const found = logins(result);
    expect(found.map((issue) => [issue.severity, issue.value, issue.output])).toEqual([
      ['warning', 'paperless', 'clusters/dev/RUNBOOK.md'],
      ['warning', 'paperless', 'clusters/prod/RUNBOOK.md'],
      ['warning', 'paperless', 'clusters/staging/RUNBOOK.md'],
    ]);
    const prod = found[1]?.message ?? '';
    expect(prod).toContain(
      'changes how application paperless logs in through the platform\'s OIDC provider on cluster "prod", from what the last build\'s runbook said to configure: now route `https://docs.lab.example.com/`; client id `docs`; the client secret from key `client-secret` of the Secret `docs-oidc`',
    );
    expect(prod).toContain(
      '; no longer route `https://paperless.lab.example.com/`; client id `paperless`;',
    );
    expect(prod).toContain(
      'redirect URI `https://paperless.lab.example.com/accounts/oidc/authelia/login/callback/`',
    );
    // what stayed is not named: the issuer, the scopes, PKCE
    expect(prod).not.toContain('issuer `https://auth.lab.example.com`');
    expect(prod).not.toContain('scopes');
    expect(found[1]?.expected).toContain('`oidc.clientId` and `oidc.clientSecret.secretName`');
    // The same definition: none
    expect(logins(await over(definition))).toEqual([]);
  }, 180_000);

  it("warns where a cluster's own domain moves the issuer and the redirect URIs", async () => {
    const from = '  - name: prod\n    environment: production\n';
    expect(definition.split(from)).toHaveLength(2);
    const result = await over(
      definition.replace(from, `${from}    domain: prod.lab.example.com\n`),
    );
    const found = logins(result);
    expect(found.map((issue) => issue.output)).toEqual(['clusters/prod/RUNBOOK.md']);
    expect(found[0]?.message).toContain(
      'now route `https://paperless.prod.lab.example.com/`; configure the application with issuer `https://auth.prod.lab.example.com`',
    );
    expect(found[0]?.message).toContain('no longer route `https://paperless.lab.example.com/`');
  }, 180_000);
});
