// The two runbooks of a cluster, through the whole pipeline on the reference platform: what one
// package's runbook says about another package's output must hold in that output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parseBoundedWait, parseYaml, type SystemInput } from '@homelab/core';
import { pasteShells, repoRoot, zshTestRuns } from '@homelab/core/testing';
import { kubectlRange } from '@homelab/talos-config';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

function file(files: readonly { path: string; content: string }[], path: string): string {
  const found = files.find((candidate) => candidate.path === path);
  if (found === undefined) throw new Error(`${path} was not generated`);
  return found.content;
}

describe('the disaster-recovery runbook', () => {
  const built = generate({ text: reference, file: 'platform.yaml', chartVersions: {} });

  it('pauses and resumes the root Application that root-application.yaml declares', async () => {
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const objects = parseAllDocuments(
        file(files, `clusters/${cluster}/root-application.yaml`),
      ) as {
        kind: string;
        metadata: { name: string };
      }[];
      const root = objects.find((o) => o.kind === 'Application')?.metadata.name;
      expect(root).toBe(`${cluster}-platform`);
      const recovery = file(files, `clusters/${cluster}/disaster-recovery.md`);
      expect(recovery).toContain(
        `kubectl -n argocd patch application ${root} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`,
      );
    }
  });

  it("waits for every Application's health but the one whose routes lead to the user's own workloads", async () => {
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const layer = parseYaml(file(files, `charts/platform/clusters/${cluster}.yaml`)) as {
        manifests: { [key: string]: { kind: string; metadata: { name: string } } };
      };
      const declared = Object.values(layer.manifests)
        .filter((o) => o.kind === 'Application')
        .map((o) => o.metadata.name);
      const runbook = file(files, `clusters/${cluster}/RUNBOOK.md`);
      const wait = runbook
        .split('\n')
        .find((line) => line.includes("wait --for=jsonpath='{.status.health.status}'=Healthy"));
      const waited = (wait ?? '')
        .replace(/^.*=Healthy application /, '')
        .replace(/ --timeout=\S+$/, '')
        .split(' ');
      // paperless' route has no Service until the user deploys the app: that Application (and
      // the root, worst of its children) reads Degraded until then
      expect(new Set(waited)).toEqual(
        new Set(declared.filter((name) => name !== `${cluster}-applications`)),
      );
      expect(runbook).toContain(`\`${cluster}-applications\` holds routes (\`paperless\`)`);
    }
  });

  it('patches only Applications the app-of-apps declares', async () => {
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const root = (
        parseAllDocuments(file(files, `clusters/${cluster}/root-application.yaml`)) as {
          kind: string;
          metadata: { name: string };
        }[]
      ).find((o) => o.kind === 'Application')?.metadata.name;
      const layer = parseYaml(file(files, `charts/platform/clusters/${cluster}.yaml`)) as {
        manifests: { [key: string]: { kind: string; metadata: { name: string } } };
      };
      const declared = new Set([
        root,
        ...Object.values(layer.manifests)
          .filter((o) => o.kind === 'Application')
          .map((o) => o.metadata.name),
      ]);
      const recovery = file(files, `clusters/${cluster}/disaster-recovery.md`);
      const patched = [...recovery.matchAll(/kubectl -n argocd patch application (\S+) /g)].map(
        (match) => match[1],
      );
      expect(new Set(patched)).toEqual(new Set([root, `${cluster}-applications`]));
      for (const name of patched)
        expect([cluster, name, declared.has(name)]).toEqual([cluster, name, true]);
    }
  });

  it("reads Longhorn's volumes where Longhorn stores them, from the namespace its Application deploys", async () => {
    // The runbook finds faulted claims (and each protected volume's state) in Longhorn's own
    // Volume objects, only when the storage provider's CSI driver is Longhorn's.
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const layer = parseYaml(file(files, `charts/platform/clusters/${cluster}.yaml`)) as {
        manifests: {
          [key: string]: {
            kind: string;
            metadata: { name: string };
            spec?: { destination?: { namespace?: string } };
          };
        };
      };
      const longhorn = Object.values(layer.manifests).find(
        (o) => o.kind === 'Application' && o.metadata.name === `${cluster}-longhorn`,
      );
      const namespace = longhorn?.spec?.destination?.namespace;
      expect(namespace).toBe('longhorn-system');
      const lines = file(files, `clusters/${cluster}/disaster-recovery.md`).split('\n');
      expect(lines).toContain(
        `kubectl -n ${namespace} get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.robustness=="faulted")]}{.status.kubernetesStatus.namespace}{"/"}{.status.kubernetesStatus.pvcName}{"\\n"}{end}'`,
      );
      expect(lines).toContain(
        `kubectl -n ${namespace} rollout status daemonset/longhorn-manager --timeout=15m`,
      );
    }
  });

  it('refers to the Talos runbook steps by the numbers they have there', async () => {
    const { files } = await built;
    const runbook = file(files, 'clusters/prod/RUNBOOK.md');
    const recovery = file(files, 'clusters/prod/disaster-recovery.md');
    const heading = (step: number) =>
      runbook.split('\n').find((line) => line.startsWith(`## ${step}. `));
    expect(recovery).toContain('step 1 of `clusters/prod/RUNBOOK.md`');
    expect(heading(1)).toBe('## 1. Generate the cluster secrets (once)');
    expect(recovery).toContain('steps 2 to 5 of `clusters/prod/RUNBOOK.md`');
    expect(heading(5)).toBe('## 5. Apply the configs');
    expect(recovery).toContain('step 6 (`talosctl bootstrap`)');
    expect(heading(6)).toBe('## 6. Bootstrap etcd (once, on one control plane)');
    expect(recovery).toContain('step 7 of `clusters/prod/RUNBOOK.md`');
    expect(heading(7)).toBe('## 7. Fetch the kubeconfig');
  });

  it("refers to the Talos runbook's Longhorn disk section by its heading, whose step 3 has the user-volume waits and a block per storage node", async () => {
    // Step 3 of the recovery has the operator run these blocks before and after it takes the
    // disks whose identity changed out of their nodes: a renamed section or step would leave it
    // pointing nowhere.
    const { files } = await built;
    const runbook = file(files, 'clusters/prod/RUNBOOK.md');
    const recovery = file(files, 'clusters/prod/disaster-recovery.md').replace(/\s+/g, ' ');
    expect(recovery).toContain(
      '"Later: changing a storage node\'s disks" (step 3) of `clusters/prod/RUNBOOK.md`',
    );
    const lines = runbook.split('\n');
    const start = lines.indexOf("## Later: changing a storage node's disks");
    const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
    const section = lines.slice(start, end);
    expect(start).toBeGreaterThan(0);
    expect(section.some((line) => line.startsWith('3. Run the block of each node'))).toBe(true);
    for (const node of ['prod-worker-1', 'prod-worker-2', 'prod-worker-3']) {
      const block = section.indexOf(`**${node}** (\`system\`, \`fast\`, \`bulk\`):`);
      expect({ node, block: block > 0 }).toEqual({ node, block: true });
      expect(section[block + 3]).toContain(' get volumestatus u-fast ');
    }
  });
});

describe('the Talos runbook', () => {
  const built = generate({ text: reference, file: 'platform.yaml', chartVersions: {} });

  it('names the kubectl its waits need (--for=create came with kubectl 1.31) within the skew Kubernetes supports', async () => {
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const runbook = file(files, `clusters/${cluster}/RUNBOOK.md`);
      expect(runbook).toMatch(/kubectl (-n \S+ )?wait --for=create /);
      const version = /Kubernetes \*\*1\.(\d+)\.\d+\*\*/.exec(runbook)?.[1];
      expect(version, cluster).toBeDefined();
      const minor = Number(version);
      expect(runbook.replace(/\s+/g, ' ')).toContain(
        `\`kubectl\` 1.${Math.max(minor - 1, 31)} to 1.${minor + 1} (within one minor release of the API server, as Kubernetes' version skew policy supports; the waits use \`--for=create\`, from 1.31)`,
      );
    }
    expect(kubectlRange('1.34.4')).toBe('1.33 to 1.35');
    expect(kubectlRange('v1.31.0')).toBe('1.31 to 1.32');
    expect(kubectlRange('1.29.1')).toBe('1.31 to 1.31');
  });

  it('lists the services outside the cluster each component calls, before the secrets and the hand-over', async () => {
    const { files } = await built;
    const runbook = file(files, 'clusters/prod/RUNBOOK.md');
    const headings = [...runbook.matchAll(/^## \d+\. (.+)$/gm)].map((match) => match[1]);
    const at = (title: string) => headings.indexOf(title);
    expect(at('Check the services outside the cluster')).toBeGreaterThan(0);
    expect(at('Check the services outside the cluster')).toBeLessThan(
      at("Put the platform's secrets into Bitwarden Secrets Manager"),
    );
    expect(at('Check the services outside the cluster')).toBeLessThan(
      at('Hand the cluster to Argo CD'),
    );
    const start = runbook.search(/^## \d+\. Check the services outside the cluster$/m);
    const section = runbook.slice(start, runbook.indexOf('\n## ', start + 1));
    const table = section.split('\n').filter((line) => /^\| `[^`]+` \| \d/.test(line));
    const rows = table.map((line) => line.split(' | ').slice(0, 2).join(' | '));
    // From the reference's definition: its directory, database, cache and mail for Authelia, the
    // S3 endpoint for the backups, upstream DNS
    expect(rows).toEqual(
      expect.arrayContaining([
        '| `ldap.lab.example.com` | 636/TCP',
        '| `postgres.lab.example.com` | 5432/TCP',
        '| `redis.lab.example.com` | 6379/TCP',
        '| `s3.lab.example.com` | 443/TCP',
        '| `1.1.1.1` | 53/UDP, 53/TCP',
      ]),
    );
    const s3 = table.find((line) => line.startsWith('| `s3.lab.example.com` |'));
    expect(s3).toContain('backups: talos-backup writes the encrypted snapshot');
    expect(s3).toContain('longhorn: ');
    // Nothing of the cluster's own
    expect(rows.filter((row) => /\.svc|cluster\.local/.test(row))).toEqual([]);
    // Every caller says why (a flow's reason): Alertmanager's receivers among them
    const callers = table.map((line) => line.split(' | ')[2] ?? '');
    expect(callers.filter((text) => !text.includes(': '))).toEqual([]);
    expect(table).toContain(
      '| `hooks.slack.com` | 443/TCP | monitoring: Alertmanager notifies receiver ops-chat (slack) |',
    );
    // The GitOps controller's repositories: the platform's and paperless' (github.com), the
    // upstream charts'
    const fetches =
      'argocd: the repo-server fetches the platform repository, the upstream charts and the CRD bundles';
    expect(table).toContain(`| \`github.com\` | 443/TCP | ${fetches} |`);
    expect(table).toContain(`| \`charts.longhorn.io\` | 443/TCP | ${fetches} |`);
  });

  it("lists a workload project's repositories outside the cluster, not one served inside it", async () => {
    const text = reference.replace(
      'repositories: [https://github.com/example/paperless-deploy.git]',
      'repositories: [https://gitlab.com/me/paperless.git, "ssh://git@git.lab.example.com:2222/me/x.git", http://gitea.gitea.svc.cluster.local:3000/me/x.git, https://paperless.lab.example.com/me/routed.git]',
    );
    expect(text).not.toBe(reference);
    const { files, issues } = await generate({ text, file: 'platform.yaml', chartVersions: {} });
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const runbook = file(files, 'clusters/prod/RUNBOOK.md');
    const start = runbook.search(/^## \d+\. Check the services outside the cluster$/m);
    const section = runbook.slice(start, runbook.indexOf('\n## ', start + 1));
    const hosts = section
      .split('\n')
      .filter((line) => line.includes('the repo-server fetches'))
      .map((line) => line.split(' | ').slice(0, 2).join(' | '));
    expect(hosts).toEqual(
      expect.arrayContaining(['| `gitlab.com` | 443/TCP', '| `git.lab.example.com` | 2222/TCP']),
    );
    expect(section).not.toContain('gitea');
    // A repository behind prod's own Gateway (paperless' route) is inside the cluster: not
    // listed, and the repo-server reaches it through the Gateway, not by a toFQDNs rule
    // (Cilium's Envoy takes the connection first, cilium/cilium#47768)
    expect(section).not.toContain('paperless.lab.example.com');
    const cilium = file(files, 'charts/cilium/clusters/prod.yaml');
    expect(cilium).toContain('matchName: gitlab.com');
    expect(cilium).not.toContain('matchName: paperless.lab.example.com');
  });

  it('never re-applies a namespace the namespaces step made, which would strip its labels', async () => {
    // Step "Create the platform's namespaces" applies them client-side with their Pod Security
    // labels and Argo CD annotations; a later `create namespace --dry-run=client | apply -f -`
    // three-way-merges a bare manifest against that last-applied copy and deletes them all.
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const lines = file(files, `clusters/${cluster}/RUNBOOK.md`).split('\n');
      const namespaces = lines.indexOf(`kubectl apply -f clusters/${cluster}/namespaces.yaml`);
      expect(namespaces).toBeGreaterThan(0);
      const reapplied = lines.filter(
        (line) => /kubectl create namespace /.test(line) && /\| kubectl apply /.test(line),
      );
      expect(reapplied).toEqual([]);
      expect(lines).toContain(
        'kubectl get namespace argocd >/dev/null 2>&1 || kubectl create namespace argocd',
      );
    }
  });

  it("turns off the root Application's auto-sync before taking the finalizers off, to remove Argo CD", async () => {
    const { files } = await built;
    const lines = file(files, 'clusters/prod/RUNBOOK.md').split('\n');
    // The section's own commands (an outage section earlier turns the root's auto-sync off too)
    const section = lines.findIndex((line) => line.startsWith('Removing the GitOps controller'));
    expect(section).toBeGreaterThan(0);
    const rootOff = lines.indexOf(
      `kubectl -n argocd patch application prod-platform --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`,
      section,
    );
    const finalizers = lines.findIndex(
      (line, index) => index > section && line.endsWith(`-p '{"metadata":{"finalizers":null}}'`),
    );
    const deleteAll = lines.indexOf(
      'kubectl -n argocd delete applications --all --timeout=15m',
      section,
    );
    expect(rootOff).toBeGreaterThan(section);
    expect(finalizers).toBeGreaterThan(rootOff);
    expect(deleteAll).toBeGreaterThan(finalizers);
  });

  it('runs again without prompts or silent hangs: kubeconfig forced, heartbeat after its pod, waits bounded', async () => {
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const runbook = file(files, `clusters/${cluster}/RUNBOOK.md`);
      const lines = runbook.split('\n');
      // talosctl kubeconfig merges into the existing file and asks on a conflict without --force
      // (step 7, the yearly renewal's two blocks, and the one after a rotation of the CAs)
      const kubeconfig = lines.filter((line) => line.startsWith('talosctl kubeconfig '));
      expect(kubeconfig).toHaveLength(4);
      for (const line of kubeconfig) {
        expect(line).toMatch(
          /^talosctl kubeconfig "\$TALOS_DIR\/kubeconfig" -n \S+ --force( &&)?$/,
        );
      }
      // the heartbeat check waits for monitoring's Alertmanager pod before it execs into it
      const exec = lines.findIndex((line) =>
        line.includes('exec alertmanager-monitoring-alertmanager-0'),
      );
      const ready = lines.indexOf(
        'kubectl -n monitoring wait --for=condition=Ready pod/alertmanager-monitoring-alertmanager-0 --timeout=10m',
      );
      expect(ready).toBeGreaterThan(0);
      expect(ready).toBeLessThan(exec);
      // no wait for a BitwardenSecret sync or a BGP session spins forever: each is a bounded
      // wait (5 and 10 minutes) that fails with its message
      for (const name of ['RUNBOOK.md', 'rotating-secrets.md']) {
        for (const line of file(files, `clusters/${cluster}/${name}`).split('\n')) {
          if (line.includes('lastSuccessfulSyncTime}\')" ]') || line.includes("peeringState}')")) {
            const wait = parseBoundedWait(line);
            expect(wait?.seconds).toBe(line.includes('peeringState') ? 600 : 300);
            expect(line).toMatch(
              /then echo 'timed out after \d+ minutes: .*; exit 1; fi; sleep \d+; done \)$/,
            );
          }
        }
      }
    }
    // dev: one node on Talos v1.13.9, upgraded without talosctl's drain, stopping visibly
    const dev = file(files, 'clusters/dev/RUNBOOK.md');
    expect(dev).toMatch(
      /^talosctl upgrade -n 10\.10\.10\.11 --image \S+:v1\.13\.9 --drain=false \|\|$/m,
    );
    expect(dev).not.toContain('until Talos stops waiting, after 5 minutes');
  });

  it('applies every hand-made Secret of every document server-side: no copy of a token in the last-applied annotation', async () => {
    const { files, issues } = await built;
    expect(issues.filter((issue) => issue.code === 'hand-made-secret-apply')).toEqual([]);
    for (const cluster of ['dev', 'staging', 'prod']) {
      for (const name of ['RUNBOOK.md', 'rotating-secrets.md', 'disaster-recovery.md']) {
        const text = file(files, `clusters/${cluster}/${name}`);
        const secrets = text
          .split('\n')
          .filter((line) => /create secret .*\| kubectl apply/.test(line));
        for (const line of secrets) {
          expect(line).toMatch(/\| kubectl apply --server-side --force-conflicts -f -$/);
        }
      }
      // the token's rotation also drops the copy an earlier client-side apply left
      expect(file(files, `clusters/${cluster}/rotating-secrets.md`)).toContain(
        'kubectl -n argocd annotate secret bw-auth-token kubectl.kubernetes.io/last-applied-configuration-',
      );
    }
  });

  it('applies what Argo CD adopts as its field manager, and still deletes each CRD bundle by its URL', async () => {
    const { files, issues } = await built;
    expect(issues.filter((issue) => issue.code === 'hand-over-field-manager')).toEqual([]);
    const lines = file(files, 'clusters/prod/RUNBOOK.md').split('\n');
    // The hand-made Secrets apply server-side under kubectl's own manager: Argo CD never adopts
    // them (hand-made-secret-apply keeps their values out of the last-applied annotation)
    const applies = lines.filter(
      (line) => /kubectl apply --server-side/.test(line) && !/\bcreate secret\b/.test(line),
    );
    // The Gateway API bundles, Cilium, CoreDNS, the snapshot CRDs, Argo CD.
    expect(applies.length).toBeGreaterThanOrEqual(5);
    for (const line of applies) expect(line).toContain('--field-manager=argocd-controller');
    // The removal section reverses each bundle's install (talos-config reads the apply back).
    const gatewayApi =
      'https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.4.1/standard-install.yaml';
    expect(lines).toContain(
      `kubectl apply --server-side --field-manager=argocd-controller -f ${gatewayApi}`,
    );
    expect(lines).toContain(`kubectl delete --ignore-not-found --timeout=10m -f ${gatewayApi}`);
  });
});

describe('the helm template commands of the runbooks', () => {
  const built = generate({ text: reference, file: 'platform.yaml', chartVersions: {} });

  it("render for the cluster's Kubernetes version, as Argo CD does (--kube-version), never Helm's default", async () => {
    const { files } = await built;
    const clusters = (
      parseYaml(reference) as { clusters: { name: string; kubernetes: { version: string } }[] }
    ).clusters;
    expect(clusters.length).toBe(3);
    for (const cluster of clusters) {
      const renders = file(files, `clusters/${cluster.name}/RUNBOOK.md`)
        .split('\n')
        .filter((line) => /^\s*helm template /.test(line));
      // Cilium (the install, its retry, the pre-flight), CoreDNS, Argo CD, the removals
      expect(renders.length).toBeGreaterThanOrEqual(5);
      for (const line of renders) {
        // A Helm built without its version flags defaults to v1.20, below what the charts ask.
        expect(line.match(/ --kube-version (\S+)/)?.[1]).toBe(cluster.kubernetes.version);
      }
    }
  });
});

describe('the hand-made secrets', () => {
  // `kubectl create secret --from-literal=key="$VALUE"` expands the value into kubectl's
  // arguments, which every user of the workstation reads in `ps` and /proc/<pid>/cmdline while
  // kubectl runs: every value the runbooks hand kubectl comes through a file (a pipe) instead.
  // The reference (Bitwarden's token in every namespace) and the single-node example (Grafana's
  // admin password, with no secrets provider) each made one.
  const examples = ['reference', 'single-node'].map((name) => ({
    name,
    built: generate({
      text: readFileSync(join(repoRoot(), `examples/${name}/platform.yaml`), 'utf8'),
      file: 'platform.yaml',
      chartVersions: {},
    }),
  }));

  it("never put a value from the shell on kubectl's command line", async () => {
    for (const { name, built } of examples) {
      const { files } = await built;
      const documents = files.filter((f) => /^clusters\/[^/]+\/[^/]+\.md$/.test(f.path));
      expect(documents.length, name).toBeGreaterThan(0);
      const made = documents.flatMap((f) =>
        f.content.split('\n').filter((line) => line.includes('create secret generic')),
      );
      expect(made.length, name).toBeGreaterThan(0);
      const exposed = documents.flatMap((f) =>
        f.content
          .split('\n')
          .filter((line) => /--from-literal=[^\s=]+=\S*\$/.test(line))
          .map((line) => `${f.path}: ${line.trim()}`),
      );
      expect(exposed, name).toEqual([]);
    }
  });
});

describe('the prerequisites of the Talos runbook', () => {
  // Someone with a laptop and the listed tools runs the runbook from its first line: a command
  // that runs a tool the list leaves out (Grafana's password and the private CA's check use
  // openssl, the login the Argo CD CLI) stops them halfway.
  it("name every tool the commands run beyond the shell's own", async () => {
    for (const name of ['reference', 'single-node']) {
      const { files } = await generate({
        text: readFileSync(join(repoRoot(), `examples/${name}/platform.yaml`), 'utf8'),
        file: 'platform.yaml',
        chartVersions: {},
      });
      for (const f of files.filter((f) => /^clusters\/[^/]+\/RUNBOOK\.md$/.test(f.path))) {
        const prerequisites = f.content.slice(0, f.content.indexOf('on your workstation'));
        const commands = [...f.content.matchAll(/```sh\n([\s\S]*?)```/g)]
          .flatMap((block) => (block[1] ?? '').split('\n'))
          .filter((line) => !/^\s*#/.test(line));
        const run = [
          'openssl',
          'argocd',
          'aws',
          'restic',
          'jq',
          'talosctl',
          'kubectl',
          'helm',
          'curl',
        ].filter((tool) =>
          commands.some((line) => new RegExp(`(^|[|&;(])\\s*${tool}\\s`).test(line)),
        );
        expect(run, f.path).toEqual(
          expect.arrayContaining(['talosctl', 'kubectl', 'helm', 'curl']),
        );
        for (const tool of run)
          expect(prerequisites, `${f.path}: ${tool}`).toContain(`\`${tool}\``);
      }
    }
  });
});

describe('the syncs the documents start by hand', () => {
  const built = generate({ text: reference, file: 'platform.yaml', chartVersions: {} });

  it("carry the Authelia and policy Applications' own sync options and prune, on every cluster", async () => {
    const { files } = await built;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const layer = parseYaml(file(files, `charts/platform/clusters/${cluster}.yaml`)) as {
        manifests: {
          [key: string]: { spec: { syncPolicy: { syncOptions: string[]; automated: object } } };
        };
      };
      // What the Applications say, as charts/platform renders them
      expect(layer.manifests['application-policy']?.spec.syncPolicy.syncOptions).toEqual([
        'ServerSideApply=true',
      ]);
      expect(layer.manifests['application-authelia']?.spec.syncPolicy.syncOptions).toEqual([]);
      // The Gatekeeper lift's sync: server-side, as the Application (Argo CD syncs with the
      // operation's options only)
      expect(file(files, `clusters/${cluster}/RUNBOOK.md`)).toContain(
        `kubectl -n argocd patch application ${cluster}-policy --type merge -p '{"operation":{"initiatedBy":{"username":"runbook"},"sync":{"prune":true,"syncOptions":["ServerSideApply=true"]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
      );
      expect(file(files, `clusters/${cluster}/rotating-secrets.md`)).toContain(
        `kubectl -n argocd patch application ${cluster}-authelia --type merge -p '{"operation":{"initiatedBy":{"username":"rotating-secrets"},"sync":{"prune":true,"syncOptions":[]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
      );
      for (const path of [
        `clusters/${cluster}/RUNBOOK.md`,
        `clusters/${cluster}/rotating-secrets.md`,
        `clusters/${cluster}/disaster-recovery.md`,
      ]) {
        expect(file(files, path)).not.toContain('"sync":{}');
      }
    }
  });
});

describe('moving a cluster to another revision', () => {
  // prod pinned to a release tag. The root's parameters come from the definition being built;
  // the revision's charts/platform may hold other Applications (a pin moved back across the
  // commit that enabled a component): a parameter for a key the revision lacks makes the
  // chart's schema refuse the root's render. The runbook's diff must catch it and apply nothing,
  // and its fallback must apply the revision's own root with the revision put in.
  const TAG = '@homelab/chart-platform@1.2.0';
  const pinned = reference.replace('production: main', `production: "${TAG}"`);
  const built = generate({ text: pinned, file: 'platform.yaml', chartVersions: {} });
  const ROOT = 'clusters/prod/root-application.yaml';

  /**
   * Runs one runbook line in `cwd`, kubectl replaced by a recorder: with bash and, where found,
   * zsh (where operators paste on macOS), which must do the same.
   */
  function runLine(cwd: string, line: string): { status: number | null; kubectl: string } {
    const bin = join(cwd, '.bin');
    mkdirSync(bin, { recursive: true });
    const log = join(cwd, '.kubectl.log');
    writeFileSync(
      join(bin, 'kubectl'),
      `#!/bin/sh\necho "kubectl $*" >> '${log}'\nif [ "$3" = "-" ]; then cat >> '${log}'; fi\n`,
      { mode: 0o755 },
    );
    const runs = pasteShells('bash').map((shell) => {
      writeFileSync(log, '');
      const result = spawnSync(shell.command, [...shell.args, line], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      });
      return { status: result.status, kubectl: readFileSync(log, 'utf8') };
    });
    for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
    return runs[0] as { status: number | null; kubectl: string };
  }

  (zshTestRuns('moving a cluster to another revision') ? it : it.skip)(
    'runs its lines in zsh too',
    () => {
      expect(pasteShells('bash').map((shell) => shell.name)).toEqual(['bash', 'zsh']);
    },
  );

  it('applies the root only where the revision holds the same Applications, else the revision’s own', async () => {
    const { files } = await built;
    const runbook = file(files, 'clusters/prod/RUNBOOK.md');
    const section = runbook.slice(
      runbook.indexOf('### Moving this cluster to another revision'),
      runbook.indexOf('### Going back'),
    );
    const lines = section.split('\n');
    const compare = lines.find((line) => line.startsWith('diff <(git show '));
    const fallback = lines.find((line) => line.startsWith('git show '));
    expect(compare).toBeDefined();
    expect(fallback).toBeDefined();
    const current = file(files, ROOT);
    expect(current).toContain(`targetRevision: "${TAG}"`);
    // The revision's own root: the same build without monitoring on prod, made at a time when
    // production followed main.
    const parameter =
      '        - forceString: true\n          name: manifests.application-monitoring.spec.source.targetRevision\n          value: $ARGOCD_APP_SOURCE_TARGET_REVISION\n';
    expect(current).toContain(parameter);
    const old = current
      .replace(parameter, '')
      .replace(`targetRevision: "${TAG}"`, 'targetRevision: main');

    const repo = mkdtempSync(join(tmpdir(), 'homelab-move-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', args, { cwd: repo, env: { ...process.env, ...GIT_IDENTITY } });
      git('init', '-q');
      mkdirSync(join(repo, 'clusters/prod'), { recursive: true });
      writeFileSync(join(repo, ROOT), old);
      git('add', '.');
      git('commit', '-q', '-m', 'old');
      git('tag', TAG);

      // The definition's root names monitoring, the revision does not: nothing applied.
      writeFileSync(join(repo, ROOT), current);
      const refused = runLine(repo, compare ?? '');
      expect(refused.status).toBe(1);
      expect(refused.kubectl).toBe('');

      // The fallback applies the revision's own root, pinned to the revision.
      const applied = runLine(repo, fallback ?? '');
      expect(applied.status).toBe(0);
      const [command, ...yaml] = applied.kubectl.split('\n');
      expect(command).toBe('kubectl apply -f -');
      const objects = parseAllDocuments(yaml.join('\n')) as {
        kind: string;
        spec: { source?: { targetRevision: string; helm: { parameters: { name: string }[] } } };
      }[];
      expect(objects.map((o) => o.kind)).toEqual(['AppProject', 'Application']);
      const source = objects[1]?.spec.source;
      expect(source?.targetRevision).toBe(TAG);
      const names = source?.helm.parameters.map((p) => p.name) ?? [];
      expect(names).not.toContain('manifests.application-monitoring.spec.source.targetRevision');
      expect(names).toContain('manifests.application-cilium.spec.source.targetRevision');
      expect(yaml.join('\n')).toBe(old.replace('targetRevision: main', `targetRevision: "${TAG}"`));

      // Where they match, the compare applies the definition's root.
      writeFileSync(
        join(repo, ROOT),
        old.replace('targetRevision: main', `targetRevision: "${TAG}"`),
      );
      const same = runLine(repo, compare ?? '');
      expect(same.status).toBe(0);
      expect(same.kubectl).toBe(`kubectl apply -f ${ROOT}\n`);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('root-revision-move', () => {
  // The runbook's move commands against the root file argocd-apps writes, broken on purpose.
  const run = async (edit: (runbook: string) => string) => {
    const result = await generate(
      { text: reference, file: 'platform.yaml', chartVersions: {} },
      {
        beforeSystemChecks: (input: SystemInput): SystemInput => ({
          ...input,
          files: input.files.map((f) =>
            f.path === 'clusters/prod/RUNBOOK.md' ? { ...f, content: edit(f.content) } : f,
          ),
        }),
      },
    );
    return result.issues
      .filter((issue) => issue.code === 'root-revision-move')
      .map((issue) => [issue.output, issue.message]);
  };

  it('passes the reference, and fails a runbook whose move would not work', async () => {
    expect(await run((text) => text)).toEqual([]);
    // No comparison before the root is applied
    const noCompare = await run((text) =>
      text.replace(
        /^diff <\(git show .*$/m,
        'kubectl apply -f clusters/prod/root-application.yaml',
      ),
    );
    expect(noCompare).toEqual([
      [
        'clusters/prod/RUNBOOK.md',
        expect.stringContaining("has no comparison of the root's Helm parameters"),
      ],
    ]);
    // A grep that finds none of the parameters (no hyphen in a key): every move would pass it
    const blind = await run((text) =>
      text.replaceAll("'manifests\\.[a-z0-9-]*\\.spec", "'manifests\\.[a-z0-9]*\\.spec"),
    );
    expect(blind).toEqual([
      [
        expect.stringMatching(/^clusters\/prod\/RUNBOOK\.md:\d+$/),
        expect.stringContaining('the grep finds other names'),
      ],
    ]);
    // A sed that rewrites every indented line, and one that reads another cluster's root
    const wide = await run((text) =>
      text.replace("sed 's|^    targetRevision: .*|", "sed 's|^    .*|"),
    );
    expect(wide).toEqual([
      [expect.stringMatching(/:\d+$/), expect.stringMatching(/its sed changes \d+ lines/)],
    ]);
    const other = await run((text) =>
      text.replace(
        /^git show main:clusters\/prod\/root-application\.yaml \| sed/m,
        'git show main:clusters/dev/root-application.yaml | sed',
      ),
    );
    expect(other).toEqual([
      [expect.stringMatching(/:\d+$/), expect.stringContaining('through a sed substitution')],
    ]);
    // A sed whose replacement is not the revision (the root would move elsewhere)
    const elsewhere = await run((text) =>
      text.replace('|    targetRevision: "main"|\'', '|    targetRevision: "HEAD"|\''),
    );
    expect(elsewhere).toEqual([
      [
        expect.stringMatching(/:\d+$/),
        expect.stringContaining(
          'does not set exactly the root Application\'s spec.source.targetRevision to "main"',
        ),
      ],
    ]);
  });
});

describe("the runbook's login table", () => {
  const built = generate({ text: reference, file: 'platform.yaml', chartVersions: {} });

  it("names whose accounts log in at Authelia's portal: dev's users database (a key step 16 fills), LDAP elsewhere", async () => {
    const { files } = await built;
    const row = (cluster: string) =>
      file(files, `clusters/${cluster}/RUNBOOK.md`)
        .split('\n')
        .find((line) => line.startsWith('| https://auth.'));
    expect(row('dev')).toBe(
      '| https://auth.dev.lab.example.com/ | authelia | the users of the users database (key `users_database.yml` of Secret `authelia/authelia-files`, filled from Bitwarden) |',
    );
    // The key the row names is one the runbook's Bitwarden step lists for that Secret
    const dev = file(files, 'clusters/dev/RUNBOOK.md');
    const secrets = dev.slice(dev.indexOf('Put the platform'), dev.indexOf('Create the hand-made'));
    expect(secrets).toMatch(
      /- `authelia\/authelia-files` \(authelia\): [^\n]*\n(?: {2}- [^\n]*\n)*? {2}- `users_database\.yml`: entry /,
    );
    expect(row('prod')).toBe(
      '| https://auth.lab.example.com/ | authelia | the accounts of the LDAP directory ldaps://ldap.lab.example.com |',
    );
  }, 120_000);
});
