// Layer 5 (DESIGN.md, "Validation layers"; docs/system-checks.md, "Layer 5: real Talos
// machinery"): Talos' own code generates, merges and validates every machine config a node of
// the committed output would receive. For every cluster with Talos material, the suite runs the
// runbook's own commands (steps 1, 3 and 5 and the later sections: `talosctl gen secrets`,
// `gen config … --config-patch-control-plane @… --config-patch-worker @…`, every `apply-config
// … --config-patch @clusters/<c>/talos/nodes/<node>.yaml`) with talos-machinery built for the
// cluster's Talos release (tools/talos-machinery: talosctl's code paths on the pinned
// github.com/siderolabs/talos/pkg/machinery; not talosctl), then validates each config as
// `talosctl validate --mode metal --strict` does (warnings are errors). It asserts: no command
// fails or warns; every node's patch is applied with its role's config; the installer image is
// the runbook's; every value of the patches survives Talos' merge, no list holds an entry twice
// (the merge appends lists), every typed document is there once; later commands keep
// talosconfig and send each node the same config.
//
// Needs the talos-machinery builds (`.ci/install-talos-machinery`; `.ci/run` passes them in
// TALOS_MACHINERY_DIRS, else the suite looks in the tools cache). Without them the suite is
// skipped and says "not run" (a skipped test is not a passed one); with CI=true a missing build
// fails. It reads the committed clusters/ only, never the definition.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { IN_CI, REPO } from './helm/harness.js';
import {
  authorities,
  type ClusterRun,
  configDocuments,
  consistencyProblems,
  coverageProblems,
  dryRunProblems,
  duplicateListEntries,
  findTalosMachinery,
  imageProblems,
  mergeProblems,
  readCluster,
  runProblems,
  runRunbook,
  shellCommands,
  shellWords,
  type TalosMachinery,
  talosClusters,
  toolFor,
  v1alpha1,
} from './talos-machinery/harness.js';

const tools = findTalosMachinery();
const clusters = talosClusters(REPO);
const INSTALL = 'build it: .ci/install-talos-machinery';

function suiteRuns(): boolean {
  if (tools.size > 0 || IN_CI) return true;
  console.log(`talos suite: not run: talos-machinery not found (${INSTALL})`);
  return false;
}
const suite = suiteRuns() ? describe : describe.skip;
function committedRuns(): boolean {
  if (clusters.length > 0) return true;
  console.log('talos suite: not run: no cluster has Talos material in the committed output');
  return false;
}
const committed = committedRuns() ? describe : describe.skip;

/** Whether a build for the cluster's Talos release is there (a cluster it cannot read: true, to fail). */
function hasTool(cluster: string): boolean {
  try {
    return toolFor(tools, readCluster(REPO, cluster).talosVersion) !== undefined;
  } catch {
    return true;
  }
}

const runs = new Map<string, ClusterRun | string>();
const scratches: string[] = [];
const scratch = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratches.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
});

/** The run of a cluster, failing the test with the reason when there is none. */
function runOf(cluster: string): ClusterRun {
  const run = runs.get(cluster);
  if (run === undefined) expect.fail(`${cluster}: not run`);
  if (typeof run === 'string') expect.fail(run);
  return run;
}

suite(`talos suite (talos-machinery ${[...tools.keys()].join(', ') || 'not found'})`, {
  timeout: 120_000,
}, () => {
  beforeAll(() => {
    const started = Date.now();
    let commands = 0;
    let configs = 0;
    for (const cluster of clusters) {
      try {
        const material = readCluster(REPO, cluster);
        const found = toolFor(tools, material.talosVersion);
        if (found === undefined) {
          const why = `${cluster}: no talos-machinery for Talos ${material.talosVersion} (found: ${[...tools.keys()].join(', ') || 'none'}; ${INSTALL})`;
          if (!IN_CI) console.log(`talos suite: not run: ${why}`);
          runs.set(cluster, why);
          continue;
        }
        const run = runRunbook(
          REPO,
          material,
          found.tool,
          scratch(`homelab-talos-${cluster}-`),
          found.note,
        );
        if (found.note) console.log(`talos suite: ${cluster}: ${found.note}`);
        commands += material.commands.length;
        configs += run.applied.filter((entry) => entry.validate !== undefined).length;
        runs.set(cluster, run);
      } catch (cause) {
        runs.set(cluster, `${cluster}: ${cause instanceof Error ? cause.message : String(cause)}`);
      }
    }
    console.log(
      `talos suite: ${clusters.length} cluster(s), ${commands} runbook commands run, ${configs} node configs validated (metal, strict) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 300_000);

  committed('the committed output', () => {
    for (const cluster of clusters) {
      // Outside CI, a cluster whose Talos release has no build is skipped (said in beforeAll).
      const clusterSuite = IN_CI || hasTool(cluster) ? describe : describe.skip;
      clusterSuite(`cluster ${cluster}`, () => {
        it("runs the runbook's gen secrets, gen config and apply-config commands without an error or a warning", () => {
          const run = runOf(cluster);
          const words = run.material.commands.map((command) => command.text);
          expect(words.some((text) => /^talosctl gen secrets\b/.test(text))).toBe(true);
          expect(words.some((text) => /^talosctl gen config\b/.test(text))).toBe(true);
          expect(run.applied.length).toBeGreaterThan(0);
          expect(runProblems(run)).toEqual([]);
        });

        it('validates every config a node receives in metal mode, strictly (warnings are errors)', () => {
          const run = runOf(cluster);
          for (const entry of run.applied) {
            expect(entry.validate?.status, `${entry.node}: ${entry.validate?.stderr}`).toBe(0);
            expect(entry.validate?.stdout).toMatch(/is valid for metal mode/);
            expect(entry.validate?.stderr).toBe('');
          }
        });

        it("applies every node's patch with its role's config at install, and the node runs as that role", () => {
          expect(coverageProblems(runOf(cluster))).toEqual([]);
        });

        it("installs the runbook's installer image on every node", () => {
          const run = runOf(cluster);
          expect(run.material.installImage).toMatch(/:v\d+\.\d+\.\d+/);
          expect(imageProblems(run)).toEqual([]);
        });

        it('keeps every value of the role and node patches through Talos’ merge, with no list entry twice', () => {
          expect(mergeProblems(REPO, runOf(cluster))).toEqual([]);
        });

        it('keeps talosconfig in the later gen config, renews it for the same cluster, and sends a node the same config in every apply', () => {
          expect(consistencyProblems(runOf(cluster))).toEqual([]);
          // The yearly renewal ran (talosconfig from the secrets alone) and wrote one.
          expect(runOf(cluster).renewals).toHaveLength(1);
          expect(runOf(cluster).renewals[0]).toMatch(/^context: /m);
        });

        it("makes secrets.yaml again from a control plane's running config (after a CA rotation): the secrets it runs with, and each node's dry run gets its authorities", () => {
          const run = runOf(cluster);
          expect(run.rebuilds).toHaveLength(1);
          const [rebuild] = run.rebuilds;
          expect(bundleSecrets(rebuild?.bundle ?? '')).toEqual(
            configSecrets(rebuild?.running ?? ''),
          );
          // One dry run per node of the table, after the rebuild
          expect(
            run.applied
              .filter((entry) => entry.dryRun)
              .map((entry) => entry.node)
              .sort(),
          ).toEqual(run.material.nodes.map((node) => node.name).sort());
          expect(dryRunProblems(run)).toEqual([]);
        });

        it('leaves the CNI and kube-proxy as the patches set them, and exempts kube-system once', () => {
          const run = runOf(cluster);
          const role = configDocuments(
            readFileSync(join(REPO, 'clusters', cluster, 'talos', 'controlplane.yaml'), 'utf8'),
          );
          const patchCluster = (v1alpha1(role)?.cluster ?? {}) as {
            network?: { cni?: { name?: string } };
            proxy?: { disabled?: boolean };
          };
          for (const entry of run.applied.filter(
            (e) => e.roleFile === 'controlplane' && e.config,
          )) {
            const merged = v1alpha1(configDocuments(entry.config as string))?.cluster as {
              network?: { cni?: { name?: string; urls?: string[] } };
              proxy?: { disabled?: boolean };
              apiServer?: {
                admissionControl?: {
                  name: string;
                  configuration?: { exemptions?: { namespaces?: string[] } };
                }[];
              };
            };
            if (patchCluster.network?.cni?.name !== undefined) {
              expect(merged.network?.cni?.name).toBe(patchCluster.network.cni.name);
              if (patchCluster.network.cni.name === 'none')
                expect(merged.network?.cni?.urls).toBeUndefined();
            }
            if (patchCluster.proxy?.disabled !== undefined) {
              expect(merged.proxy?.disabled).toBe(patchCluster.proxy.disabled);
            }
            const podSecurity = merged.apiServer?.admissionControl?.filter(
              (p) => p.name === 'PodSecurity',
            );
            expect(podSecurity?.length).toBe(1);
            const exempt = podSecurity?.[0]?.configuration?.exemptions?.namespaces ?? [];
            expect(exempt.filter((namespace) => namespace === 'kube-system')).toEqual([
              'kube-system',
            ]);
          }
        });
      });
    }
  });

  // Each breaks a copy of one cluster's output (the first with a build) on purpose: the same
  // checks must fail, in Talos' words where Talos refuses it.
  describe('breaks on purpose', () => {
    const target = clusters
      .map((cluster) => {
        try {
          const material = readCluster(REPO, cluster);
          const found = toolFor(tools, material.talosVersion);
          return found ? { cluster, material, tool: found.tool } : undefined;
        } catch {
          return undefined;
        }
      })
      .find((entry) => entry !== undefined);

    /** A copy of the target's clusters/<c>/, changed by `edit`, run as the suite runs it. */
    function broken(edit: (root: string, cluster: string) => void): {
      root: string;
      run: ClusterRun;
    } {
      if (target === undefined) expect.fail('no cluster with a talos-machinery build');
      const root = scratch('homelab-talos-broken-');
      cpSync(join(REPO, 'clusters', target.cluster), join(root, 'clusters', target.cluster), {
        recursive: true,
      });
      edit(root, target.cluster);
      const material = readCluster(root, target.cluster);
      return {
        root,
        run: runRunbook(
          root,
          material,
          target.tool as TalosMachinery,
          scratch('homelab-talos-run-'),
        ),
      };
    }

    const firstNode = (root: string, cluster: string) => {
      const material = readCluster(root, cluster);
      const node = material.nodePatchFiles[0];
      if (node === undefined) expect.fail(`${cluster} has no node patch`);
      return join(root, node);
    };

    it('fails when a node patch sets something Talos refuses (a CNI Talos does not know), in Talos’ words', () => {
      const { run } = broken((root, cluster) => {
        editV1alpha1(firstNode(root, cluster), (document) => {
          setPath(document, ['cluster', 'network', 'cni', 'name'], 'calico');
        });
      });
      const problems = runProblems(run);
      console.log(`talos suite: broken on purpose: ${problems[0]}`);
      expect(problems.join('\n')).toContain('cni name should be one of');
      expect(problems.some((problem) => /validate/.test(problem))).toBe(true);
    });

    /** New authorities, as `talosctl rotate-ca` makes them: those of another bundle. */
    function newAuthorities(): Record<'os' | 'k8s', { crt: string; key: string }> {
      if (target === undefined) expect.fail('no cluster with a talos-machinery build');
      const file = join(scratch('homelab-talos-ca-'), 'secrets.yaml');
      const made = spawnSync((target.tool as TalosMachinery).path, ['gen', 'secrets', '-o', file], {
        encoding: 'utf8',
      });
      expect(made.stderr).toBe('');
      return (
        parse(readFileSync(file, 'utf8')) as {
          certs: Record<'os' | 'k8s', { crt: string; key: string }>;
        }
      ).certs;
    }

    /** A running config whose two authorities the rotation replaced. */
    const rotated =
      (certs: Record<'os' | 'k8s', { crt: string; key: string }>) => (config: string) =>
        configDocuments(config)
          .map((document) => {
            if (document.kind !== undefined || !('machine' in document)) return stringify(document);
            setPath(document, ['machine', 'ca'], { ...certs.os });
            setPath(document, ['cluster', 'ca'], { ...certs.k8s });
            return stringify(document);
          })
          .join('---\n');

    /** The target's runbook under `root`, run after a rotation gave the nodes `certs`. */
    function rotatedRun(root: string, certs: Record<'os' | 'k8s', { crt: string; key: string }>) {
      if (target === undefined) expect.fail('no cluster with a talos-machinery build');
      return runRunbook(
        root,
        readCluster(root, target.cluster),
        target.tool as TalosMachinery,
        scratch('homelab-talos-run-'),
        undefined,
        { runningConfig: rotated(certs) },
      );
    }

    it('carries the authorities a rotation gave the running config through secrets.yaml into every node’s dry run', () => {
      if (target === undefined) expect.fail('no cluster with a talos-machinery build');
      const certs = newAuthorities();
      const run = rotatedRun(REPO, certs);
      expect(runProblems(run)).toEqual([]);
      const bundle = parse(run.rebuilds[0]?.bundle ?? '') as { certs: typeof certs };
      expect([bundle.certs.os, bundle.certs.k8s]).toEqual([certs.os, certs.k8s]);
      // Every config made after the rebuild (its dry runs, and the later sections' applies)
      // carries the new authorities; the nodes' earlier configs had the old ones, so each of
      // those is a change the consistency check sees.
      const rebuildLine = run.material.commands.find((command) =>
        command.text.includes('--from-controlplane-config'),
      )?.line;
      if (rebuildLine === undefined) expect.fail('no rebuild of secrets.yaml in the runbook');
      const after = run.applied.filter((entry) => entry.command.line > rebuildLine);
      expect(after.filter((entry) => entry.dryRun).length).toBeGreaterThan(0);
      for (const entry of after) {
        expect([entry.command.line, entry.node, authorities(entry.config ?? '')]).toEqual([
          entry.command.line,
          entry.node,
          { machine: certs.os.crt, cluster: certs.k8s.crt },
        ]);
      }
      expect(dryRunProblems(run)).toEqual([]);
      expect(consistencyProblems(run)).toHaveLength(after.length);
    });

    it('fails when secrets.yaml is not the one made from the running config after a rotation (broken on purpose)', () => {
      const certs = newAuthorities();
      if (target === undefined) expect.fail('no cluster with a talos-machinery build');
      const root = scratch('homelab-talos-broken-');
      cpSync(join(REPO, 'clusters', target.cluster), join(root, 'clusters', target.cluster), {
        recursive: true,
      });
      const file = join(root, 'clusters', target.cluster, 'RUNBOOK.md');
      const text = readFileSync(file, 'utf8');
      const line = '-o "$TALOS_DIR/secrets.yaml" --force\n';
      expect(text).toContain(
        `--from-controlplane-config "$TALOS_DIR/controlplane.running.yaml" ${line}`,
      );
      writeFileSync(file, text.replace(line, '-o "$TALOS_DIR/secrets.rotated.yaml"\n'));
      const run = rotatedRun(root, certs);
      const problems = dryRunProblems(run);
      console.log(`talos suite: broken on purpose: ${problems[0]}`);
      expect(problems.length).toBe(2 * run.applied.filter((entry) => entry.dryRun).length);
      expect(problems[0]).toMatch(
        /: \S+ would get another machine\.ca than the control plane runs with$/,
      );
    });

    it('fails when a runbook command has a flag talosctl does not have', () => {
      const { run } = broken((root, cluster) => {
        const file = join(root, 'clusters', cluster, 'RUNBOOK.md');
        writeFileSync(
          file,
          readFileSync(file, 'utf8').replace(
            /^talosctl gen config (\S+) (\S+) \\$/m,
            'talosctl gen config $1 $2 --with-bogus-flag \\',
          ),
        );
      });
      expect(runProblems(run).join('\n')).toContain('unknown flag: --with-bogus-flag');
    });

    it('fails when a node patch repeats an entry of a role patch list (the merge appends it twice)', () => {
      let path = '';
      const { root, run } = broken((root, cluster) => {
        const material = readCluster(root, cluster);
        const node = material.nodes.find((n) => material.nodePatchFiles.includes(n.patch));
        if (node === undefined) expect.fail('no node in the table');
        const role = configDocuments(
          readFileSync(join(root, 'clusters', cluster, 'talos', `${node.role}.yaml`), 'utf8'),
        );
        const found = firstList(v1alpha1(role)?.machine, ['machine']);
        if (found === undefined) expect.fail(`${node.role}.yaml has no list under machine`);
        path = found.path.join('.');
        editV1alpha1(join(root, node.patch), (document) =>
          setPath(document, found.path, [found.entry]),
        );
      });
      expect(root).not.toBe('');
      expect(mergeProblems(root, run).join('\n')).toContain(`.${path}: `);
      expect(mergeProblems(root, run).join('\n')).toMatch(/twice/);
    });
  });
});

// The harness's own rules, without a build.
describe('talos suite harness', () => {
  it("splits the runbook's command lines as sh does, with the suite's variables", () => {
    const env = { TALOS_DIR: '/s/t', NODE_A_DHCP: '192.0.2.1' };
    expect(
      shellWords(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, as the runbook writes it
        'talosctl apply-config --insecure -n "${NODE_A_DHCP:?set it}" -f "$TALOS_DIR"/controlplane.yaml --config-patch @clusters/x/talos/nodes/a.yaml',
        env,
      ),
    ).toEqual([
      'talosctl',
      'apply-config',
      '--insecure',
      '-n',
      '192.0.2.1',
      '-f',
      '/s/t/controlplane.yaml',
      '--config-patch',
      '@clusters/x/talos/nodes/a.yaml',
    ]);
    expect(() => shellWords('talosctl gen secrets -o "$OTHER/x"', env)).toThrow(
      /unknown variable \$OTHER/,
    );
    expect(() => shellWords('talosctl gen secrets | tee x', env)).toThrow(/not a simple command/);
  });

  it('joins continuation lines of sh blocks only', () => {
    const text =
      '```sh\ntalosctl gen config a https://h:6443 \\\n  --talos-version v1.13 \\\n  --output-dir x\n```\n\ntalosctl outside\n';
    expect(shellCommands(text)).toEqual([
      {
        line: 2,
        text: 'talosctl gen config a https://h:6443 --talos-version v1.13 --output-dir x',
      },
    ]);
  });

  it('finds a list entry twice, deep-equal, wherever it is', () => {
    expect(duplicateListEntries({ a: { b: ['x', 'y', 'x'] }, c: [{ d: 1 }, { d: 1 }] })).toEqual([
      '.a.b: "x" twice',
      '.c: {"d":1} twice',
    ]);
  });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The first list (depth first) under `value`, with its path and first entry. */
function firstList(value: unknown, path: string[]): { path: string[]; entry: Json } | undefined {
  if (Array.isArray(value)) return value.length > 0 ? { path, entry: value[0] as Json } : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [name, child] of Object.entries(value)) {
    const found = firstList(child, [...path, name]);
    if (found) return found;
  }
  return undefined;
}

function setPath(
  target: { [key: string]: unknown },
  path: readonly string[],
  value: unknown,
): void {
  let current = target;
  path.forEach((name, index) => {
    if (index === path.length - 1) current[name] = value;
    else {
      if (typeof current[name] !== 'object' || current[name] === null) current[name] = {};
      current = current[name] as { [key: string]: unknown };
    }
  });
}

/** Rewrites a patch file with `edit` applied to its v1alpha1 document (made when it has none). */
function editV1alpha1(file: string, edit: (document: { [key: string]: unknown }) => void): void {
  const documents = configDocuments(readFileSync(file, 'utf8'));
  let first = v1alpha1(documents);
  if (first === undefined) {
    first = {};
    documents.unshift(first);
  }
  edit(first as { [key: string]: unknown });
  writeFileSync(file, documents.map((document) => `---\n${stringify(document)}`).join(''));
}

type Loose = { [key: string]: Loose } & { crt?: unknown; key?: unknown };

/** The secrets of a control plane's config, named as a `gen secrets` bundle names them. */
function configSecrets(config: string) {
  const document = (v1alpha1(configDocuments(config)) ?? {}) as unknown as Loose;
  const { machine, cluster } = document;
  return {
    cluster: { id: cluster?.id, secret: cluster?.secret },
    secrets: {
      bootstraptoken: cluster?.token,
      secretboxencryptionsecret: cluster?.secretboxEncryptionSecret,
    },
    trustdinfo: { token: machine?.token },
    certs: {
      etcd: cluster?.etcd?.ca,
      k8s: cluster?.ca,
      k8saggregator: cluster?.aggregatorCA,
      k8sserviceaccount: { key: cluster?.serviceAccount?.key },
      os: machine?.ca,
    },
  };
}

/** The same secrets of a `gen secrets` bundle. */
function bundleSecrets(bundle: string) {
  const parsed = parse(bundle) as Loose;
  return {
    cluster: { id: parsed.cluster?.id, secret: parsed.cluster?.secret },
    secrets: {
      bootstraptoken: parsed.secrets?.bootstraptoken,
      secretboxencryptionsecret: parsed.secrets?.secretboxencryptionsecret,
    },
    trustdinfo: { token: parsed.trustdinfo?.token },
    certs: parsed.certs,
  };
}
