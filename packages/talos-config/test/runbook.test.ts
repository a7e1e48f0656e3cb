// The runbook template: every value of a command line stays one shell word whatever it holds,
// the precompiled template renders what the compiler does, and the generated runbook keeps every
// step (with the cluster's own values in its commands).

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChartUninstall,
  parseBoundedWait,
  resolvePlatform,
  templateRenderer,
} from '@homelab/core';
import { precompiledTemplateModule } from '@homelab/core/scripts/standalone.mjs';
import {
  evaluateCommonJs,
  findOriginalAwk,
  originalAwkRuns,
  type PasteShell,
  pasteShells,
  testDefinition,
  testNode,
  testReferenceClusters,
  zshTestRuns,
} from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { mergeTalosRequirements } from '../src/requirements.js';
import {
  definitionText,
  type RunbookApplication,
  type RunbookInput,
  runbook,
  toolsText,
} from '../src/runbook.js';
import {
  runbookHelpers,
  runbookTemplateSource,
  shellVariable,
  shellWord,
} from '../src/runbook-template.js';
import { checkTalosVersion } from '../src/versions.js';
import { cilium, component, devCluster, file, haCluster, nodeNeeds, talos } from './helpers.js';

interface Word {
  readonly text: string;
  /** A `$(…)` or backquote the shell would run (outside single quotes). */
  readonly substitution: boolean;
}

/**
 * A small POSIX word splitter: the commands of a script (split at unquoted newlines, `;`, `|`,
 * `&`), each a list of words with quotes removed. `\`-newline joins lines; `${…}` is kept as
 * text; a `#` at the start of a word starts a comment.
 */
function splitCommands(script: string): Word[][] {
  const commands: Word[][] = [];
  let words: Word[] = [];
  let text = '';
  let inWord = false;
  let substitution = false;
  const endWord = (): void => {
    if (inWord) words.push({ text, substitution });
    text = '';
    inWord = false;
    substitution = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i += 1) {
    const c = script[i] as string;
    if (c === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote at ${i}`);
      text += script.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i += 1; i < script.length && script[i] !== '"'; i += 1) {
        const d = script[i] as string;
        if (d === '\\' && i + 1 < script.length) {
          i += 1;
          text += script[i];
        } else {
          if (d === '`' || (d === '$' && script[i + 1] === '(')) substitution = true;
          text += d;
        }
      }
      if (i >= script.length) throw new Error('unterminated double quote');
    } else if (c === '\\') {
      if (script[i + 1] === '\n') i += 1;
      else {
        text += script[i + 1] ?? '';
        inWord = true;
        i += 1;
      }
    } else if (c === '#' && !inWord) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i += 1;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '&' && script[i - 1] === '>') {
      text += c; // a redirection (`2>&1`), not a list
      inWord = true;
    } else if (c === '\n' || c === ';' || c === '|' || c === '&') {
      endCommand();
    } else {
      if (c === '`' || (c === '$' && script[i + 1] === '(')) substitution = true;
      text += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** The text of every ```sh block of a Markdown document. */
/** The ```sh blocks of `markdown`, with the inline partials they call (`{{> name}}`) put in. */
function shellBlocks(markdown: string): string[] {
  const partials = new Map(
    [...markdown.matchAll(/\{\{#\*inline "([^"]+)"\}\}\n([\s\S]*?)\{\{\/inline\}\}/g)].map(
      (match) => [match[1] as string, match[2] as string],
    ),
  );
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) =>
    (match[1] as string).replace(/\{\{> ([\w-]+)\}\}\n?/g, (call, name: string) => {
      const body = partials.get(name);
      if (body === undefined) throw new Error(`no inline partial ${name} for ${call}`);
      return body;
    }),
  );
}

describe('shellWord', () => {
  it('leaves plainly safe values unquoted and single-quotes the rest', () => {
    expect(shellWord('prod')).toBe('prod');
    expect(shellWord('https://10.0.0.1:6443')).toBe('https://10.0.0.1:6443');
    expect(shellWord('@clusters/a_b/talos/x.yaml')).toBe('@clusters/a_b/talos/x.yaml');
    expect(shellWord(6443)).toBe('6443');
    expect(shellWord('')).toBe("''");
    expect(shellWord('a b')).toBe("'a b'");
    expect(shellWord('a;b')).toBe("'a;b'");
    expect(shellWord('$(reboot)')).toBe("'$(reboot)'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
    expect(shellWord('a\nb')).toBe("'a\nb'");
  });

  it('refuses what is not a string or a number, and variable names that are not names', () => {
    expect(() => shellWord(undefined)).toThrow('{{shell}} needs a string or a number');
    expect(() => shellWord({})).toThrow('{{shell}} needs a string or a number');
    expect(shellVariable('NODE_A_DHCP')).toBe('NODE_A_DHCP');
    expect(() => shellVariable('NODE_A;reboot')).toThrow('{{shellVar}} needs a variable name');
  });
});

describe('the runbook template', () => {
  it('puts every value of a command line through {{shell}} or {{shellVar}}', () => {
    const blocks = shellBlocks(runbookTemplateSource.template);
    expect(blocks.length).toBeGreaterThan(15);
    const raw: string[] = [];
    for (const block of blocks) {
      for (const match of block.matchAll(/\{\{(\{?)~?([^}]*?)~?\}?\}\}/g)) {
        const expression = (match[2] as string).trim();
        if (/^(shell|shellVar) /.test(expression)) continue;
        if (/^[#/]|^else$/.test(expression)) continue; // blocks: {{#each}}, {{/if}}, {{else}}
        raw.push(expression);
      }
    }
    // Only the lines components contribute (quoted by their authors, BootstrapStep.commands; in
    // the inline partial `step`, for numbered and login steps alike) and a CRD bundle's delete
    // lines (made from its install lines) go in as they are, and so do the commands of a
    // chart's pre-delete hook (ChartUninstall.prepare and .verify, quoted by the component), the
    // GitOps controller's stop commands (its facts', likewise), and what components wait for
    // after a node's reboot (NodeRebootWait.commands, likewise; in the rolling reboots and in
    // the upgrades).
    // ... and what components run when a node joins, is retired or is lost (NodeLifecycle,
    // likewise), and what they run when they are down (OutageProcedure, likewise), and what
    // they move off a node before its drain (beforeNodeDrain, likewise; reboots and upgrades),
    // and what shows that they hold a drain (drainHeld, likewise), and the commands that let an
    // older CRD bundle apply (CrdBundle.noDowngradeBelow.undo, likewise). A step's prompts
    // (`this` of its `reads`) and the bootstrap's and API server's waits are rendered by core's
    // readCommand and boundedWait from shell-quoted values, and the lines that take an
    // Application out of Argo CD's hands (the lift's, the removal's) by core's
    // pauseAutoSyncCommands, likewise; what a one-node cluster stops before its reboot
    // (beforeLoneNodeReboot, by their authors) and the uncordon after it (core's boundedWait),
    // and the waits for the user volumes (core's boundedWait, `this` of `userVolumes`); and the
    // build command and its `--config` option (runbook.ts `buildCommands`: a path of letters,
    // digits, `.`, `_`, `-` and `/` alone, definitionFile's).
    expect(raw.sort()).toEqual([
      '../afterReboot.commands',
      '../afterReboot.commands',
      '../loneReboot.commands',
      '../loneReboot.commands',
      '../loneReboot.uncordon',
      '../loneReboot.uncordon',
      // the etcd check that opens a control plane's retirement: its hostname quoted here, by
      // {{shell}}; the removed node's, the operator's NODE
      '> etcdRetireGate member=\'"$NODE"\' name="$NODE" peer=removedNode.peer',
      '> etcdRetireGate member=(shell hostname) name=hostname peer=peer',
      // the CA rotation's restarts: what components wait for after a node's reboot, as above
      'afterReboot.commands',
      'beforeDrain.commands',
      'beforeDrain.commands',
      'build',
      'build',
      'build',
      'build',
      // the wait for the kubelets' new serving certificates after a CA rotation (core's
      // boundedWait, fixed text)
      'caRotation.kubeletsServe',
      'commands',
      'commands',
      'configOption',
      'configOption',
      'configOption',
      'crds.deletes',
      'diagnose',
      'gitops.pauseRoot',
      'gitops.restartRoot',
      'gitops.stop',
      'joined.commands',
      'lift.commands',
      'lift.pause',
      'lift.verify',
      'lost.chainedAfter',
      'recover',
      'removedNode.defined',
      'removedNode.defined',
      'removedNode.retiring.commands',
      'removedNode.retiring.commands',
      'retiring.chained',
      'this',
      'this',
      'undo',
      'uninstall.prepare',
      'uninstall.verify',
      'waits.apiServer',
      'waits.bootstrap',
    ]);
  });

  it('renders byte-identical text precompiled and compiled', () => {
    const generated = evaluateCommonJs(
      precompiledTemplateModule(runbookTemplateSource.template, runbookTemplateSource.options),
      import.meta.url,
    );
    let calls = 0;
    const precompiled = templateRenderer(
      runbookTemplateSource,
      () => ({
        ...generated,
        render: (view: object, options: object) => {
          calls += 1;
          return (generated.render as (v: object, o: object) => string)(view, options);
        },
      }),
      runbookHelpers,
    );
    const compiled = templateRenderer(
      runbookTemplateSource,
      () => {
        throw new Error('not generated');
      },
      runbookHelpers,
    );
    const text = hostileRunbook(precompiled);
    expect(calls).toBe(1);
    expect(text).toBe(hostileRunbook(compiled));
    expect(text).toContain('## Removing a component on purpose');
  });
});

const HOSTILE = {
  name: "x'; reboot; echo '",
  endpoint: 'https://$(reboot):6443',
  address: '10.0.0.1`reboot`',
  namespace: 'argo"cd $(reboot)',
  root: "root'\n reboot #",
  image: 'factory.talos.dev/installer/x:v1; reboot',
  dir: 'clusters/x y/$HOME;reboot',
  // A git ref may hold all of these; `|`, `&` and `\` would also end or change a sed replacement.
  revision: 'v1\'$(reboot)|&;"x',
};

/** A runbook whose values try to break out of their quotes. */
function hostileRunbook(render?: (view: object) => string): string {
  const platform = resolvePlatform(testDefinition([devCluster()]));
  const base = platform.clusters[0];
  if (base === undefined) throw new Error('no cluster');
  const cluster = {
    ...base,
    name: HOSTILE.name,
    endpoint: HOSTILE.endpoint,
    kubernetesVersion: '1.34.2; reboot',
    controlPlanes: base.controlPlanes.map((node) => ({ ...node, address: HOSTILE.address })),
    nodes: base.nodes.map((node) => ({ ...node, address: HOSTILE.address })),
  };
  const version = checkTalosVersion('v1.12.11', []).version;
  if (version === undefined) throw new Error('no version');
  const input = {
    header: '<!-- test -->',
    cluster,
    version,
    requirements: mergeTalosRequirements(base, []).merged,
    patches: { vip: undefined } as never,
    schematicId: 'abc',
    installImage: HOSTILE.image,
    dir: HOSTILE.dir,
    steps: [],
    gitops: {
      namespace: HOSTILE.namespace,
      root: HOSTILE.root,
      revision: HOSTILE.revision,
      applications: [],
    },
  };
  if (render === undefined) return runbook(input);
  // Same view, another renderer: runbook() renders through the module's renderer, so compare
  // the module's output with `render` applied to the view runbook() builds.
  return runbook(input, render);
}

describe('values that try to leave their quotes', () => {
  // The removed node's blocks run their own command substitutions (the etcd checks); the
  // definition's values there are only the `case` patterns, each through shellWord.
  // A bounded wait (core boundedWait: its own clock reads, its message shell-quoted there) is
  // read as its condition, where the definition's values are.
  // The end of an Application's sync (core endSyncCommands) reads its phase in substitutions of
  // its own: read as the kubectl commands inside them (a quoted value there may span lines).
  // The restarts after a CA rotation loop over the cluster's namespaces and workloads with
  // substitutions of their own (fixed commands; the namespaces they name go through {{shell}}).
  const markdown = hostileRunbook()
    .replace(/### Retiring a node no longer in the definition[\s\S]*?(?=### Replacing)/, '')
    .replace(/Then restart the pods onto the new CA[\s\S]*?(?=Last, `secrets\.yaml`)/, '')
    .replace(
      /\( deadline=\$\(\(\$\(date \+%s\) \+ 300\)\); until phase=\$\((kubectl [\s\S]*?)\) && \[ "\$phase" != Running \] && \[ "\$phase" != Terminating \]; do if \[ "\$\(date \+%s\)" -ge "\$deadline" \]; then echo '(?:[^']|'\\'')*' >&2; exit 1; fi; sleep 5; done \)/g,
      '$1',
    )
    .replace(/\[ "\$\((kubectl [\s\S]*?)\)" != Running \] \|\| /g, '$1\n')
    .split('\n')
    .map((line) => parseBoundedWait(line)?.condition ?? line)
    .join('\n');
  const commands = shellBlocks(markdown).flatMap(splitCommands);

  it('never run a command substitution nor a command of their own', () => {
    expect(commands.length).toBeGreaterThan(20);
    expect(commands.flat().filter((word) => word.substitution)).toEqual([]);
    const programs = new Set(commands.map((words) => words[0]?.text));

    expect([...programs].sort()).toEqual(
      [
        // "When a drain gives up": `: "${NODE:?…}"`
        ':',
        // "renewing the client certificates": the kubeconfig's certificate read, the new
        // talosconfig made beside the old and moved over it
        'base64',
        'openssl',
        'rm',
        'mv',
        'chmod',
        'curl',
        // "rotating the cluster's certificate authorities": the copies kept, the output kept
        // (tee) and its progress shown, the new talosconfig answered
        'cp',
        'tee',
        'echo',
        // "Moving this cluster to another revision": the root compared, the revision's own applied
        'diff',
        'export',
        'git',
        'grep',
        'kubectl',
        'mkdir',
        'pnpm',
        'sed',
        'talosctl',
      ].sort(),
    );
  });

  it('each stay one word, exactly the value', () => {
    const words = commands.map((command) => command.map((word) => word.text));
    // The revision's own root file, and the sed that puts the revision in as a YAML string
    expect(words).toContainEqual([
      'git',
      'show',
      `${HOSTILE.revision}:clusters/${HOSTILE.name}/root-application.yaml`,
    ]);
    expect(words).toContainEqual([
      'sed',
      's|^    targetRevision: .*|    targetRevision: "v1\'$(reboot)\\|\\&;\\\\"x"|',
    ]);
    expect(words).toContainEqual([
      'talosctl',
      'gen',
      'config',
      HOSTILE.name,
      HOSTILE.endpoint,
      '--with-secrets',
      '$TALOS_DIR/secrets.yaml',
      '--talos-version',
      'v1.12',
      '--kubernetes-version',
      '1.34.2; reboot',
      '--config-patch-control-plane',
      `@${HOSTILE.dir}/controlplane.yaml`,
      '--config-patch-worker',
      `@${HOSTILE.dir}/worker.yaml`,
      '--output-dir',
      '$TALOS_DIR',
      '--force',
    ]);
    expect(words).toContainEqual([
      'talosctl',
      'bootstrap',
      '-n',
      HOSTILE.address,
      '2>$TALOS_DIR/bootstrap.err',
    ]);
    expect(words).toContainEqual([
      'talosctl',
      'upgrade',
      '-n',
      HOSTILE.address,
      '--image',
      HOSTILE.image,
    ]);
    expect(words).toContainEqual(['export', `TALOS_DIR=$HOME/.homelab/${HOSTILE.name}`]);
    expect(words).toContainEqual([
      'kubectl',
      '-n',
      HOSTILE.namespace,
      'wait',
      '--for=jsonpath={.status.sync.status}=Synced',
      'application',
      HOSTILE.root,
      '--timeout=30m',
    ]);
  });
});

describe('the reference runbook', () => {
  const { files } = talos([haCluster()], [cilium]);
  const markdown = file(files, 'clusters/prod/RUNBOOK.md');

  it("says which releases the Talos line's installer upgrades, as Talos itself checks them", () => {
    // siderolabs/talos v1.12.11 pkg/machinery/compatibility/talos112: MinimumHostUpgradeVersion
    // 1.10.0 (v1.13.9 talos113: 1.11.0); the upgrade docs: tested between adjacent minor
    // releases only, through the latest patch release of each
    const line = /--talos-version (v\d+\.\d+)/.exec(markdown)?.[1];
    const minimum = { 'v1.12': 'v1.10.0', 'v1.13': 'v1.11.0' }[line ?? ''];
    expect(minimum).toBeDefined();
    expect(markdown.replace(/\s+/g, ' ')).toContain(
      `tests its upgrades between adjacent minor releases only (its installer of ${line} refuses a node on a release older than ${minimum}, and so does the build): go through the latest patch release of every minor release in between.`,
    );
    expect(markdown).not.toContain('supports upgrades between adjacent minor releases only');
  });

  it('keeps every Talos step in order', () => {
    const headings = markdown.split('\n').filter((line) => /^## \d+\. /.test(line));
    expect(headings.slice(0, 7)).toEqual([
      '## 1. Generate the cluster secrets (once)',
      '## 2. Register the schematic with the Image Factory',
      '## 3. Generate the machine configs with the patches',
      "## 4. Find each node's DHCP address",
      '## 5. Apply the configs',
      '## 6. Bootstrap etcd (once, on one control plane)',
      '## 7. Fetch the kubeconfig',
    ]);
  });

  it('fetches the kubeconfig so that the step runs again without a prompt (talosctl merges and asks on a conflict)', () => {
    const step7 = markdown.slice(
      markdown.indexOf('## 7. Fetch the kubeconfig'),
      markdown.indexOf('## 8.'),
    );
    // talosctl v1.12.11 and v1.13.9 `kubeconfig` merge into an existing file (--merge defaults to
    // true) and, on a terminal, ask `(r)ename/(o)verwrite` for the cluster's context, whose
    // client certificate differs at every fetch: the answer would be the next pasted line.
    // --force overwrites on the merge conflict (extractAndMerge's ConflictHandler).
    expect(shellBlocks(step7)[0]?.split('\n')[0]).toBe(
      'talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n 192.168.30.11 --force',
    );
  });

  it('generates the configs so that the step runs again in a rebuild (talosctl refuses to overwrite without --force)', () => {
    const step3 = markdown.slice(
      markdown.indexOf('## 3. Generate the machine configs with the patches'),
      markdown.indexOf("## 4. Find each node's DHCP address"),
    );
    const command = shellBlocks(step3).join('\n').trimEnd();
    expect(command).toMatch(/^talosctl gen config prod /);
    // talosctl v1.11–v1.13 `gen config` refuses files a run before left (validateFileExists)
    // unless forced: a rebuild (disaster-recovery.md, steps 2 to 5) stopped here.
    expect(command.split('\n').at(-1)).toBe('  --output-dir "$TALOS_DIR" --force');
    // The secrets of step 1 are never generated again by the rebuild it points to.
    expect(markdown).not.toContain('steps 1–7');
  });

  it('finds each node at its DHCP address by the link its patch selects', () => {
    expect(markdown).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl -n "${NODE_PROD_CP_3_DHCP:?set it to the address the node got from DHCP}" get links --insecure -o yaml',
    );
    expect(markdown).toContain(
      '| prod-cp-3 | `NODE_PROD_CP_3_DHCP` | a link with `busPath: 0000:03:00.0` |',
    );
    expect(markdown).toContain('| prod-cp-2 | `NODE_PROD_CP_2_DHCP` | the link `id: enp1s0` |');
    expect(markdown).toContain('export NODE_PROD_W_2_DHCP=\n');
    // and says what to do where the machine differs, before step 5 installs it with no network
    const step4 = markdown.slice(
      markdown.indexOf("## 4. Find each node's DHCP address"),
      markdown.indexOf('## 5. Apply the configs'),
    );
    expect(step4.replace(/\s+/g, ' ')).toContain(
      'Where a machine has not the link or the disk its node names, change the node in `apps/homelab/platform.yaml` before step 5: its `link` (the name `get links` shows, or the link selected by `hardwareAddr` or `busPath`) and its `installDisk` (the `dev_path` `get disks` shows, or the disk selected by `serial`), run `pnpm build` and commit, then step 3 again.',
    );
  });

  it('checks in maintenance mode the disk each node installs to, which Talos wipes', () => {
    const cluster = haCluster();
    const nodes = cluster.nodes.map((node) => {
      if (node.hostname === 'prod-w-1') {
        return {
          ...node,
          disks: [
            {
              name: 'fast',
              selector: { serial: 'S6B0NL0W200001' },
              class: 'ssd' as const,
              tier: 'fast-storage',
            },
          ],
        };
      }
      if (node.hostname === 'prod-w-2')
        return { ...node, installDisk: { wwid: 'eui.0025385b71b0' } };
      return node;
    }) as typeof cluster.nodes;
    const text = file(talos([{ ...cluster, nodes }], [cilium]).files, 'clusters/prod/RUNBOOK.md');
    expect(text).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl -n "${NODE_PROD_W_1_DHCP:?set it to the address the node got from DHCP}" get disks --insecure -o yaml\n',
    );
    expect(text).toContain(
      '| prod-w-1 | `NODE_PROD_W_1_DHCP` | a link with `permanentAddr: 02:00:c0:a8:1e:15` | `dev_path: /dev/nvme0n1`, none of the data disks `fast` (serial `S6B0NL0W200001`) |',
    );
    expect(text).toContain(
      '| prod-w-2 | `NODE_PROD_W_2_DHCP` | a link with `permanentAddr: 02:00:c0:a8:1e:16` | the one disk with wwid `eui.0025385b71b0` |',
    );
    expect(text).toContain(
      '| prod-cp-2 | `NODE_PROD_CP_2_DHCP` | the link `id: enp1s0` | `dev_path: /dev/sda` |',
    );
  });

  it('upgrades Talos node by node, control planes first, and Kubernetes through one control plane', () => {
    const upgrades = [...markdown.matchAll(/^talosctl upgrade -n (\S+) /gm)].map((m) => m[1]);
    expect(upgrades).toEqual([
      '192.168.30.11',
      '192.168.30.12',
      '192.168.30.13',
      '192.168.30.21',
      '192.168.30.22',
      '192.168.30.23',
      '192.168.30.24',
    ]);
    expect(markdown).toContain('talosctl -n 192.168.30.11 upgrade-k8s --to 1.34.2 --dry-run');
    // A pin bump: build (the CLI reads the compiled pins), then vendor, then version and check.
    expect(markdown).toContain(
      [
        'pnpm build',
        'pnpm homelab vendor sync',
        'pnpm homelab vendor verify',
        'pnpm homelab changeset',
        'pnpm homelab check',
        // No GitOps controller in this fixture: nothing follows a push
        'git add packages charts clusters vendor .changeset && git commit',
      ].join('\n'),
    );
  });

  it('gives each node of a rolling upgrade or reboot its own block, to run once the one before it succeeded', () => {
    // A shell runs every pasted line whatever the line before did: in one block for all nodes a
    // failed upgrade or health check would go straight on to the next node.
    const section = (from: string, to: string) =>
      markdown.slice(markdown.indexOf(from), markdown.indexOf(to, markdown.indexOf(from)));
    for (const [text, command] of [
      [section('### Talos', '### Kubernetes'), 'talosctl upgrade -n'],
      [section('## Later: changing Talos settings', '## Upgrades'), 'talosctl reboot -n'],
    ] as const) {
      const blocks = [
        ...text.matchAll(/^\*\*(\S+)\*\* \((\w+), (\S+)\)(.*):\n\n```sh\n([^`]*)```/gm),
      ];
      expect(blocks.map((block) => [block[1], block[2], block[4]])).toEqual(
        ['prod-cp-1', 'prod-cp-2', 'prod-cp-3', 'prod-w-1', 'prod-w-2', 'prod-w-3', 'prod-w-4'].map(
          (hostname, index) => [
            hostname,
            hostname.includes('-cp-') ? 'controlplane' : 'worker',
            index === 0 ? '' : ', once the block above finished without an error',
          ],
        ),
      );
      // Each block acts on its own node only.
      for (const block of blocks) {
        const acted = [...(block[5] as string).matchAll(new RegExp(`^${command} (\\S+)`, 'gm'))];
        expect(acted.map((m) => m[1])).toEqual([block[3]]);
      }
      expect(text).toContain('never go on to the next');
    }
  });

  it('boots, installs and upgrades the SecureBoot images where the disk keys are sealed by the TPM', () => {
    // prod (production) seals STATE and EPHEMERAL to the TPM by default; Talos needs the signed
    // UKI's PCR key for that (v1.12 internal/pkg/secureboot/tpm2/seal.go).
    expect(file(files, 'clusters/prod/talos/controlplane.yaml')).toContain('tpm: {}');
    expect(markdown).toMatch(
      /`https:\/\/factory\.talos\.dev\/image\/[0-9a-f]{64}\/v1\.12\.11\/metal-amd64-secureboot\.iso`/,
    );
    expect(markdown).toMatch(
      /`factory\.talos\.dev\/installer-secureboot\/[0-9a-f]{64}:v1\.12\.11`/,
    );
    const upgrades = [...markdown.matchAll(/^talosctl upgrade -n \S+ --image (\S+) &&$/gm)].map(
      (m) => m[1],
    );
    expect(upgrades).toHaveLength(7);
    for (const image of upgrades)
      expect(image).toMatch(/^factory\.talos\.dev\/installer-secureboot\//);
    expect(markdown).not.toMatch(/factory\.talos\.dev\/installer\//);
    expect(markdown).toContain('put it into **setup mode**');
    expect(markdown).toContain('**Enroll Secure Boot keys: auto**');
    // The keys name no PCRs, so Talos seals them to PCR 7 too: a firmware update locks them
    expect(markdown.replace(/\s+/g, ' ')).toContain(
      "The keys are sealed to the Secure Boot state (PCR 7, Talos' default when a key names no PCRs)",
    );
    expect(markdown.replace(/\s+/g, ' ')).toContain(
      'Before such an update, treat the node as one to replace',
    );
  });

  it('keeps the plain images and no Secure Boot step where no key is sealed by the TPM', () => {
    const dev = talos([devCluster()], [cilium]);
    const text = file(dev.files, 'clusters/dev/RUNBOOK.md');
    expect(file(dev.files, 'clusters/dev/talos/controlplane.yaml')).toContain('nodeID: {}');
    expect(text).toMatch(/\/metal-amd64\.iso`/);
    expect(text).toMatch(/`factory\.talos\.dev\/installer\/[0-9a-f]{64}:v/);
    expect(text).not.toContain('secureboot');
    expect(text).not.toContain('setup mode');
    expect(text).not.toContain('PCR 7');
  });

  it('checks that every user volume is ready before the platform uses it, and says how to free a disk', () => {
    // Given prod-w-1 with two data disks (fast, bulk) and nodes without any
    const withDisks = talos([haCluster()], [cilium, nodeNeeds]);
    const text = file(withDisks.files, 'clusters/prod/RUNBOOK.md');
    const step7 = text.slice(
      text.indexOf('## 7. Fetch the kubeconfig'),
      text.indexOf('\n## ', text.indexOf('## 7. Fetch the kubeconfig') + 1),
    );
    // Then the kubeconfig step waits for each volume's status, by its id (u-<name>), on its
    // node, to be `ready`: Talos v1.12 provisions a user volume only on an empty disk or in GPT
    // free space (internal/app/machined/pkg/controllers/block/internal/volumes/disk.go), else
    // it stays `waiting`
    const waits = shellBlocks(step7)
      .flatMap((block) => block.split('\n'))
      .filter((line) => line.includes('volumestatus'))
      .map((line) => parseBoundedWait(line));
    expect(waits.map((wait) => [wait?.condition, wait?.seconds])).toEqual([
      [
        "talosctl -n 192.168.30.21 get volumestatus u-bulk -o yaml | grep -q '^ *phase: ready$'",
        600,
      ],
      [
        "talosctl -n 192.168.30.21 get volumestatus u-fast -o yaml | grep -q '^ *phase: ready$'",
        600,
      ],
    ]);
    expect(step7).toContain('wipe disk <device>');
    // And a cluster without user volumes gets no such check
    expect(markdown).not.toContain('get volumestatus u-');
  });

  it('names the definition key of the Kubernetes version', () => {
    const section = markdown.slice(markdown.indexOf('### Kubernetes'));
    expect(section).toContain(
      "Change the cluster's `kubernetes.version` (`clusters[].kubernetes.version`) in the definition",
    );
    expect(markdown).not.toContain('`kubernetesVersion`');
  });

  it('runs the Kubernetes dry run in a block of its own, before the upgrade, with the deprecated APIs', () => {
    // A pasted block runs every line: with the dry run and the upgrade in one, the upgrade starts
    // before anyone read the plan. go-kubernetes v0.2.38 `upgrade.Checks` fails on removed flags,
    // feature gates and API versions only; the API server's apiserver_requested_deprecated_apis
    // lists the deprecated versions clients still ask for
    const section = markdown.slice(
      markdown.indexOf('### Kubernetes'),
      markdown.indexOf('### Platform charts'),
    );
    const blocks = shellBlocks(section).map((block) =>
      splitCommands(block).map((command) => command.map((word) => word.text)),
    );
    const dryRun = blocks.findIndex((block) => block.some((words) => words.includes('--dry-run')));
    const real = blocks.findIndex((block) =>
      block.some((words) => words[3] === 'upgrade-k8s' && !words.includes('--dry-run')),
    );
    expect(dryRun).toBeGreaterThanOrEqual(0);
    expect(real).toBe(dryRun + 1);
    expect(blocks[dryRun]).toContainEqual(['kubectl', 'get', '--raw', '/metrics']);
    expect(section).not.toContain('lists the\ndeprecated APIs still in use');
    expect(section).toContain('It does not list the deprecated APIs');
  });

  it('regenerates only the machine configs when Talos settings change, keeping talosconfig', () => {
    const later = markdown.slice(
      markdown.indexOf('## Later: changing Talos settings'),
      markdown.indexOf('## Upgrades'),
    );
    const generate = shellBlocks(later)
      .flatMap((block) => splitCommands(block))
      .map((command) => command.map((word) => word.text))
      .filter((words) => words[0] === 'talosctl' && words[1] === 'gen');
    expect(generate).toHaveLength(1);
    const words = generate[0] as string[];
    // talosctl v1.12 cmd/talosctl/cmd/mgmt/gen/config.go: --output-types (-t), default
    // controlplane, worker, talosconfig; --force overwrites every file it writes.
    expect(words[words.indexOf('--output-types') + 1]).toBe('controlplane,worker');
    expect(words).toContain('--force');
    expect(words.slice(0, 5)).toEqual([
      'talosctl',
      'gen',
      'config',
      'prod',
      'https://192.168.30.10:6443',
    ]);
  });

  it('defragments etcd one control plane at a time, each with its own command, after the status of all', () => {
    const from = markdown.indexOf("## When etcd's database fills or fragments");
    const text = markdown.slice(from, markdown.indexOf('\n## ', from + 1));
    const [block] = shellBlocks(text);
    const words = splitCommands(block as string).map((command) => command.map((word) => word.text));
    // talosctl v1.12 etcd.go: defrag refuses several nodes (FailIfMultiNodes); status takes them.
    // Each member hands its leadership on before it defragments (talosctl v1.13.9 `etcd
    // forfeit-leadership`; Talos' ForfeitLeadership returns without a word on a member that does
    // not lead), the defragmentation chained to it.
    expect(words).toEqual([
      ['talosctl', '-n', '192.168.30.11,192.168.30.12,192.168.30.13', 'etcd', 'status'],
      ['talosctl', '-n', '192.168.30.11', 'etcd', 'forfeit-leadership'],
      ['talosctl', '-n', '192.168.30.11', 'etcd', 'defrag'],
      ['talosctl', '-n', '192.168.30.12', 'etcd', 'forfeit-leadership'],
      ['talosctl', '-n', '192.168.30.12', 'etcd', 'defrag'],
      ['talosctl', '-n', '192.168.30.13', 'etcd', 'forfeit-leadership'],
      ['talosctl', '-n', '192.168.30.13', 'etcd', 'defrag'],
      ['talosctl', '-n', '192.168.30.11', 'etcd', 'alarm', 'list'],
      ['talosctl', '-n', '192.168.30.11', 'etcd', 'alarm', 'disarm'],
    ]);
    expect(block).toContain(
      'talosctl -n 192.168.30.12 etcd forfeit-leadership && talosctl -n 192.168.30.12 etcd defrag\n',
    );
    expect(text).toContain('each handing its leadership on first');
    expect(text).not.toContain('the leader last');
    // One control plane: etcd's only member has no leadership to hand on (Talos refuses it:
    // "cannot forfeit leadership, only one member"), so it defragments alone
    const single = file(talos([devCluster()], [cilium]).files, 'clusters/dev/RUNBOOK.md');
    const at = single.indexOf("## When etcd's database fills or fragments");
    const alone = single.slice(at, single.indexOf('\n## ', at + 1));
    expect(alone).not.toContain('forfeit-leadership');
    expect(alone).toContain("etcd's only member\nhere: the API server waits while it runs");
    expect(alone).toMatch(/\ntalosctl -n \S+ etcd defrag\n/);
  });

  it('marks a node that is down out of service, and takes the mark off once it is back; a one-node cluster has no such section', () => {
    const from = markdown.indexOf('### A node that is down, until it is back or replaced');
    expect(from).toBeGreaterThan(markdown.indexOf('## Nodes: adding, retiring, replacing'));
    expect(from).toBeLessThan(markdown.indexOf('### Replacing a dead node'));
    const text = markdown.slice(from, markdown.indexOf('### Replacing a dead node'));
    const [mark, unmark] = shellBlocks(text).map((block) =>
      splitCommands(block).map((command) => command.map((word) => word.text)),
    );
    // Kubernetes' out-of-service taint (NodeOutOfServiceVolumeDetach, GA in 1.28): pods of a
    // node with it, and without a toleration, are deleted for good and their volumes detached.
    const taint = 'node.kubernetes.io/out-of-service=nodeshutdown:NoExecute';
    expect(mark?.[1]?.slice(0, 3)).toEqual(['kubectl', 'taint', 'nodes']);
    expect(mark?.[1]?.[4]).toBe(taint);
    expect(unmark?.[0]?.[4]).toBe(`${taint}-`);
    expect(text).toContain('sure the machine is off');
    const dev = file(talos([devCluster()], [cilium]).files, 'clusters/dev/RUNBOOK.md');
    expect(dev).not.toContain('out-of-service');
    expect(dev).toContain("etcd's only member\nhere: the API server waits while it runs");
  });

  it("renews the year-long client certificates with step 6's endpoints and step 7's kubeconfig, before or after they expire", () => {
    const section = (from: string) =>
      markdown.slice(markdown.indexOf(from), markdown.indexOf('\n## ', markdown.indexOf(from) + 1));
    const commands = (text: string) =>
      shellBlocks(text).map((block) =>
        splitCommands(block).map((command) => command.map((word) => word.text)),
      );
    const talosctl = (text: string, ...sub: string[]) =>
      commands(text)
        .flat()
        .filter((words) => words[0] === 'talosctl' && sub.every((word) => words.includes(word)));
    const step6 = section('## 6. Bootstrap etcd');
    const step7 = section('## 7. Fetch the kubeconfig');
    const setContext = [
      ...talosctl(step6, 'config', 'endpoint'),
      ...talosctl(step6, 'config', 'node'),
    ];
    expect(setContext).toHaveLength(2);
    const [kubeconfig] = talosctl(step7, 'kubeconfig');
    expect(kubeconfig).toEqual([
      'talosctl',
      'kubeconfig',
      '$TALOS_DIR/kubeconfig',
      '-n',
      '192.168.30.11',
      '--force',
    ]);
    const renewal = section('## Later: renewing the client certificates (every year)');
    // Talos v1.12 and v1.13 (pkg/machinery/constants): TalosAPIDefaultCertificateValidityDuration
    // and KubernetesAdminCertDefaultLifetime, 365 days.
    expect(renewal).toContain('365 days');
    const [check, before, after] = commands(renewal);
    expect(check?.map((words) => words.slice(0, 3))).toEqual([
      ['talosctl', 'config', 'info'],
      ['kubectl', 'config', 'view'],
      ['base64', '-d'],
      ['openssl', 'x509', '-noout'],
    ]);
    // Before: a new admin certificate from the node (talosctl config new refuses an existing
    // file), moved over the old only once made, then step 6's context and step 7's kubeconfig.
    expect(before).toEqual([
      ['rm', '-f', '$TALOS_DIR/talosconfig.new'],
      ['talosctl', '-n', '192.168.30.11', 'config', 'new', '$TALOS_DIR/talosconfig.new'],
      ['mv', '$TALOS_DIR/talosconfig.new', '$TALOS_DIR/talosconfig'],
      ...setContext,
      kubeconfig,
    ]);
    expect(shellBlocks(renewal)[1]).toContain('config new "$TALOS_DIR/talosconfig.new" && mv');
    // After: only talosconfig made again from step 1's secrets (step 3's command otherwise).
    const [generate, ...rest] = after ?? [];
    expect(generate).toEqual([
      'talosctl',
      'gen',
      'config',
      'prod',
      'https://192.168.30.10:6443',
      '--with-secrets',
      '$TALOS_DIR/secrets.yaml',
      '--output-types',
      'talosconfig',
      '--output-dir',
      '$TALOS_DIR',
      '--force',
    ]);
    expect(rest).toEqual([...setContext, kubeconfig]);
  });

  it("rotates the Talos API's and the Kubernetes CA on the cluster's own nodes, installs what talosctl wrote only once it finished, and makes secrets.yaml again from a control plane's running config", () => {
    const from = "## Later: rotating the cluster's certificate authorities (after a leak)";
    expect(markdown.indexOf(from)).toBeGreaterThan(
      markdown.indexOf('## Later: renewing the client certificates'),
    );
    const text = markdown.slice(
      markdown.indexOf(from),
      markdown.indexOf('\n## ', markdown.indexOf(from) + 1),
    );
    const blocks = shellBlocks(text).map((block) =>
      splitCommands(block).map((command) => command.map((word) => word.text)),
    );
    const [
      before,
      talosAuthority,
      kubernetesAuthority,
      restartFirst,
      restartRest,
      rebuild,
      check,
      cleanUp,
    ] = blocks;
    expect(blocks).toHaveLength(8);
    const cluster = talos([haCluster()], [cilium]).platform.clusters[0];
    const addresses = (role: 'controlplane' | 'worker') =>
      (cluster?.nodes ?? []).filter((node) => node.role === role).map((node) => node.address);
    expect(addresses('controlplane')).toEqual(['192.168.30.11', '192.168.30.12', '192.168.30.13']);
    expect(addresses('worker').length).toBeGreaterThan(1);
    const nodes = [
      '--control-plane-nodes',
      addresses('controlplane').join(','),
      '--worker-nodes',
      addresses('worker').join(','),
    ];
    // The nodes given (Talos' discovery may take the VIP for a control plane, siderolabs/talos#10357),
    // the running configs re-encoded without Talos' documentation, and no dry run (talosctl's
    // default); talosctl prints the keys on its standard output: kept in a file, its progress
    // lines shown. What the block installs waits for talosctl's last line (rotate-ca.go v1.12.11:
    // "> Writing new talosconfig to %q", once the rotation finished).
    const rotate = (part: '--talos' | '--kubernetes') => [
      'talosctl',
      '-n',
      '192.168.30.11',
      'rotate-ca',
      `--talos=${part === '--talos'}`,
      `--kubernetes=${part === '--kubernetes'}`,
      '--dry-run=false',
      '--with-docs=false',
      '--with-examples=false',
      ...nodes,
    ];
    expect(before).toEqual([
      ['talosctl', 'health', '-n', '192.168.30.11'],
      ['cp', '$TALOS_DIR/secrets.yaml', '$TALOS_DIR/secrets.yaml.before-rotation'],
      ['cp', '$TALOS_DIR/talosconfig', '$TALOS_DIR/talosconfig.before-rotation'],
      ['cp', '$TALOS_DIR/kubeconfig', '$TALOS_DIR/kubeconfig.before-rotation'],
    ]);
    expect(talosAuthority).toEqual([
      [...rotate('--talos'), '-o', '$TALOS_DIR/talosconfig.rotated'],
      ['tee', '$TALOS_DIR/rotate-ca-talos.log'],
      ['grep', '-E', '^(> |  ?- )'],
      ['grep', '-q', '^> Writing new talosconfig to ', '$TALOS_DIR/rotate-ca-talos.log'],
      ['mv', '$TALOS_DIR/talosconfig.rotated', '$TALOS_DIR/talosconfig'],
      ['talosctl', 'config', 'endpoint', '192.168.30.11', '192.168.30.12', '192.168.30.13'],
      ['talosctl', 'config', 'node', '192.168.30.11'],
      [
        'talosctl',
        '-n',
        [...addresses('controlplane'), ...addresses('worker')].join(','),
        'version',
        '>/dev/null',
      ],
      ['echo', 'every node answers to the new talosconfig'],
    ]);
    // rotate-ca.go v1.12.11: "> Kubernetes CA rotation done, new 'kubeconfig' can be fetched…"
    expect(kubernetesAuthority).toEqual([
      rotate('--kubernetes'),
      ['tee', '$TALOS_DIR/rotate-ca-kubernetes.log'],
      ['grep', '-E', '^(> |  ?- )'],
      ['grep', '-q', '^> Kubernetes CA rotation done', '$TALOS_DIR/rotate-ca-kubernetes.log'],
      ['talosctl', 'kubeconfig', '$TALOS_DIR/kubeconfig', '-n', '192.168.30.11', '--force'],
      ['kubectl', 'get', 'nodes'],
    ]);
    // kube-system and the approver first; without an Argo CD, every other namespace after them
    expect(restartFirst?.[0]).toEqual([
      'for',
      'ns',
      'in',
      'kube-system',
      'kubelet-serving-cert-approver',
    ]);
    expect(restartRest?.[0]?.slice(0, 3)).toEqual(['for', 'ns', 'in']);
    expect(restartRest?.[0]?.slice(3, 8)).toEqual(['$(kubectl', 'get', 'namespaces', '-o', 'name']);
    expect(restartRest?.flat()).toContain('-vxF');
    for (const restart of [restartFirst, restartRest]) {
      // `do kubectl …` after each `for workload in $(kubectl … get …)`
      const rollouts = restart?.filter((words) => words[0] === 'do' && words[1] === 'kubectl');
      expect(rollouts?.map((words) => words.slice(1))).toEqual([
        ['kubectl', '-n', '$ns', 'rollout', 'restart', '$workload'],
        ['kubectl', '-n', '$ns', 'rollout', 'status', '$workload', '--timeout=10m'],
      ]);
    }
    expect(rebuild).toEqual([
      [
        'talosctl',
        '-n',
        '192.168.30.11',
        'get',
        'machineconfig',
        'v1alpha1',
        '-o',
        'jsonpath={.spec}',
        '>$TALOS_DIR/controlplane.running.yaml',
      ],
      [
        'talosctl',
        'gen',
        'secrets',
        '--from-controlplane-config',
        '$TALOS_DIR/controlplane.running.yaml',
        '-o',
        '$TALOS_DIR/secrets.yaml',
        '--force',
      ],
      ['rm', '-f', '$TALOS_DIR/controlplane.running.yaml'],
    ]);
    // The configs made again from it (step 3's command) and a dry run on every node, its
    // difference (on talosctl's error output) without the lines of keys
    expect(check?.[0]?.slice(0, 5)).toEqual([
      'talosctl',
      'gen',
      'config',
      'prod',
      'https://192.168.30.10:6443',
    ]);
    const dryRuns = check?.filter((words) => words.includes('--dry-run')) ?? [];
    expect(dryRuns.map((words) => words[3])).toEqual([
      ...addresses('controlplane'),
      ...addresses('worker'),
    ]);
    expect(dryRuns.every((words) => words.at(-1) === '2>&1')).toBe(true);
    // Only a verdict or the names of the fields that differ: the difference's lines around
    // them hold tokens and keys
    expect(check?.filter((words) => words[0] === 'sed')).toEqual(
      dryRuns.map(() => [
        'sed',
        '-n',
        '-e',
        's/^No changes\\.$/  same/p',
        '-e',
        's/^\\([-+]\\) *\\([A-Za-z0-9_]*\\):.*/  \\1 \\2/p',
        '-e',
        '/rror/p',
      ]),
    );
    expect(check?.filter((words) => words[0] === 'echo').map((words) => words[1])).toEqual(
      cluster?.nodes
        .filter((node) => node.role === 'controlplane')
        .concat(cluster.nodes.filter((node) => node.role === 'worker'))
        .map((node) => `${node.hostname}:`),
    );
    expect(cleanUp?.[0]?.slice(0, 2)).toEqual(['rm', '-f']);
    expect(cleanUp?.[0]).toContain('$TALOS_DIR/rotate-ca-talos.log');
    expect(cleanUp?.[0]).toContain('$TALOS_DIR/secrets.yaml.before-rotation');
  });

  it('waits for the kubelets after a CA rotation until the API server lists the nodes and each serves again, failing closed', () => {
    const from = "## Later: rotating the cluster's certificate authorities (after a leak)";
    const text = markdown.slice(markdown.indexOf(from));
    const wait = text
      .split('\n')
      .map((line) => parseBoundedWait(line))
      .find((found) => found?.condition.includes('proxy/healthz'));
    if (wait === undefined) expect.fail('no wait for the kubelets');
    expect(wait.seconds).toBe(600);
    // kubectl stood in for: `get nodes -o name` as $NODES says (fails when unset), each node's
    // healthz failing when its name is in $DOWN
    const dir = mkdtempSync(join(tmpdir(), 'homelab-kubelets-'));
    writeFileSync(
      join(dir, 'kubectl'),
      '#!/bin/sh\nif [ "$1" = get ] && [ "$2" = nodes ]; then [ "${NODES+set}" = set ] || exit 1; [ -z "$NODES" ] || printf \'%s\\n\' $NODES; exit 0; fi\nfor node in $DOWN; do [ "$3" = "/api/v1/nodes/$node/proxy/healthz" ] && exit 1; done\nexit 0\n',
      { mode: 0o755 },
    );
    const holds = (env: Record<string, string>) =>
      spawnSync('sh', ['-c', wait.condition], {
        env: { PATH: `${dir}:${process.env.PATH ?? ''}`, ...env },
      }).status === 0;
    try {
      expect(holds({ NODES: 'node/a node/b' })).toBe(true);
      expect(holds({ NODES: 'node/a node/b', DOWN: 'b' })).toBe(false);
      expect(holds({})).toBe(false); // the API server does not answer
      expect(holds({ NODES: '' })).toBe(false); // no node listed
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("restarts the Applications' namespaces onto a rotated CA in their sync order, after kube-system and the approver, and every other namespace last", () => {
    const { input } = devRunbookInput();
    const app = (name: string, namespace: string, wave: number) => ({
      ...devApplication(name, { namespace, critical: false }),
      wave,
    });
    const text = runbook({
      ...input,
      gitops: {
        namespace: 'argocd',
        root: 'dev-platform',
        revision: 'main',
        applications: [
          app('apps', 'web', 10),
          app('storage', 'longhorn-system', 1),
          app('cni', 'kube-system', 0),
          app('gitops', 'argocd', 2),
          app('monitoring', 'monitoring', 3),
          app('alerts', 'monitoring', 3),
          app('cert-manager', 'cert-manager', 1),
        ],
      },
    });
    const from = "## Later: rotating the cluster's certificate authorities (after a leak)";
    const section = text.slice(text.indexOf(from), text.indexOf('\n## ', text.indexOf(from) + 1));
    const loops = shellBlocks(section)
      .map((block) => splitCommands(block).map((command) => command.map((word) => word.text)))
      .map((block) => block[0])
      .filter((words) => words?.[0] === 'for');
    const order = ['cert-manager', 'longhorn-system', 'argocd', 'monitoring', 'web'];
    expect(loops[1]?.slice(0, 3 + order.length)).toEqual(['for', 'ns', 'in', ...order]);
    const exclusions = section.slice(
      section.indexOf('grep -vxF'),
      section.indexOf('); do', section.indexOf('grep -vxF')),
    );
    expect(exclusions).toBe(
      `grep -vxF ${['kube-system', 'kubelet-serving-cert-approver', ...order].map((ns) => `-e ${ns}`).join(' ')}`,
    );
    // one node: no worker nodes to name
    expect(section).not.toContain('--worker-nodes');
    expect(section).toContain(`--control-plane-nodes ${input.cluster.controlPlanes[0]?.address} `);
  });

  it('never lets Talos reboot the nodes of a cluster together when its settings change', () => {
    const later = markdown.slice(
      markdown.indexOf('## Later: changing Talos settings'),
      markdown.indexOf('## Upgrades'),
    );
    const commands = shellBlocks(later)
      .flatMap((block) => splitCommands(block))
      .map((command) => command.map((word) => word.text))
      .filter((words) => words[0] === 'talosctl' && words[1] !== 'gen');
    const mode = (words: string[]) => words.find((word) => word.startsWith('--mode='));
    const applies = commands.filter((words) => words[1] === 'apply-config');
    // every apply says its mode: none may reboot on its own (auto, the default, would)
    expect(new Set(applies.map(mode))).toEqual(new Set(['--mode=no-reboot', '--mode=staged']));
    // a staged node is rebooted alone, and the cluster is healthy before the next one
    const staged = commands.slice(commands.findIndex((words) => mode(words) === '--mode=staged'));
    const nodes = staged.filter((words) => mode(words) === '--mode=staged').length;
    expect(nodes).toBeGreaterThan(1);
    // (a control plane's block checks the cluster's health before its drain, too: taken out
    // here, the test below reads it)
    expect(
      staged
        .filter(
          (words, index) => !(words[1] === 'health' && staged[index - 1]?.[1] === 'apply-config'),
        )
        .map((words) => words[1]),
    ).toEqual(Array.from({ length: nodes }, () => ['apply-config', 'reboot', 'health']).flat());
    // the control planes first: etcd keeps its quorum while one member reboots
    const rebooted = staged.filter((words) => words[1] === 'reboot').map((words) => words[3]);
    const controlPlanes = applies
      .filter(
        (words) =>
          words.includes('"$TALOS_DIR"/controlplane.yaml') ||
          words.some((w) => w.endsWith('/controlplane.yaml')),
      )
      .map((words) => words[3]);
    expect(new Set(controlPlanes).size).toBeGreaterThan(0);
    expect(rebooted.length).toBeGreaterThan(new Set(controlPlanes).size);
    expect(rebooted.slice(0, new Set(controlPlanes).size)).toEqual([...new Set(controlPlanes)]);
  });

  it('drains each node before its reboot and uncordons it once it is back', () => {
    // Talos v1.12.11 drains before an upgrade, a shutdown or a reset, never before a reboot
    // (v1alpha1_sequencer.go Reboot: StopAllPods; node_cordoned_spec.go cordons only while
    // shutting down, upgrading or resetting)
    const later = markdown.slice(
      markdown.indexOf('## Later: changing Talos settings'),
      markdown.indexOf('## Upgrades'),
    );
    const commands = shellBlocks(later)
      .flatMap((block) => splitCommands(block))
      .map((command) => command.map((word) => word.text));
    const staged = commands.slice(commands.findIndex((words) => words.includes('--mode=staged')));
    const hostnameOf = (words: string[]): string | undefined =>
      words.find((word) => word.includes('/nodes/'))?.replace(/^.*\/nodes\/(.*)\.yaml$/, '$1');
    const perNode = staged.flatMap((words, index) => {
      if (!words.includes('--mode=staged')) return [];
      // A control plane's block checks the cluster's health first (the test below)
      const from = staged[index + 1]?.slice(0, 2).join(' ') === 'talosctl health' ? 2 : 1;
      return [{ hostname: hostnameOf(words), next: staged.slice(index + from, index + from + 4) }];
    });
    expect(perNode.length).toBeGreaterThan(1);
    for (const { hostname, next } of perNode) {
      expect(hostname).toMatch(/^prod-/);
      // uncordoned before the health check: Talos' health waits for every node to be
      // schedulable (pkg/cluster/check K8sAllNodesSchedulableAssertion) and fails after five
      // minutes while one is cordoned, which would leave the node cordoned
      expect(next.map((words) => words.slice(0, 2).join(' '))).toEqual([
        'kubectl drain',
        'talosctl reboot',
        'kubectl uncordon',
        'talosctl health',
      ]);
      expect(next[0]).toEqual([
        'kubectl',
        'drain',
        hostname,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--timeout=5m',
      ]);
      expect(next[2]).toEqual(['kubectl', 'uncordon', hostname]);
    }
  });

  it('drains each node before its Talos upgrade, so that a held drain stops the block before it', () => {
    // Talos v1.12.11 / v1.13.9 drain before an upgrade (Upgrade sequence: CordonAndDrainNode,
    // then StopAllPods), but pkg/kubernetes Drain gives up after DrainTimeout (5 minutes), only
    // logs the pods it could not evict and returns nil: the upgrade goes on, stopping a pod a
    // PodDisruptionBudget protects (a Longhorn instance manager with a last healthy replica)
    const upgrade = markdown.slice(
      markdown.indexOf('### Talos'),
      markdown.indexOf('### Kubernetes'),
    );
    const commands = shellBlocks(upgrade)
      .flatMap((block) => splitCommands(block))
      .map((command) => command.map((word) => word.text));
    const perNode = commands.flatMap((words, index) => {
      if (words.slice(0, 2).join(' ') !== 'talosctl upgrade') return [];
      return [{ address: words[3], around: commands.slice(index - 1, index + 3) }];
    });
    expect(perNode).toHaveLength(7);
    for (const { address, around } of perNode) {
      const hostname = (around[0] as string[])[2];
      expect(around.map((words) => words.slice(0, 2).join(' '))).toEqual([
        'kubectl drain',
        'talosctl upgrade',
        'kubectl uncordon',
        'talosctl health',
      ]);
      expect(around[0]).toEqual([
        'kubectl',
        'drain',
        hostname,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--timeout=5m',
      ]);
      expect(around[1]?.[3]).toBe(address);
      expect(around[2]).toEqual(['kubectl', 'uncordon', hostname]);
    }
    expect(upgrade).toContain('its drain never fails');
  });

  it('runs no reboot, upgrade or reset after a drain that gave up, though the block is pasted whole', () => {
    // A pasted block runs every line whatever the one before did: the disruptive command must be
    // chained to the drain. Run each node block in sh with a kubectl whose drain fails (as after
    // --timeout=5m) and a talosctl that records what it was asked.
    const dir = mkdtempSync(join(tmpdir(), 'drain-gave-up-'));
    try {
      const log = join(dir, 'calls');
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/bin/sh\necho "kubectl $*" >> "${log}"\n[ "$1" = drain ] && exit 1\n${GONE_NODE_KUBECTL}exit 0\n`,
        { mode: 0o755 },
      );
      writeFileSync(
        join(dir, 'talosctl'),
        // every control plane a member that answers, the defined ones by their hostnames: the etcd
        // check that opens a control plane's retirement passes, and the drain is reached
        `#!/bin/sh\necho "talosctl $*" >> "${log}"\n${etcdStub(
          ['192.168.30.11', '192.168.30.12', '192.168.30.13'],
          undefined,
          false,
          { names: ['prod-cp-1', 'prod-cp-2', 'prod-cp-3'] },
        )}`,
        { mode: 0o755 },
      );
      const sections = [
        ['## Later: changing Talos settings', 'talosctl reboot'],
        ['### Talos', 'talosctl upgrade'],
        ['### Retiring a node', 'talosctl reset'],
        ['### Retiring a node no longer in the definition', 'talosctl reset'],
      ] as const;
      const ran: string[] = [];
      for (const [heading, act] of sections) {
        const start = markdown.indexOf(`\n${heading}\n`);
        const section = markdown.slice(
          start,
          markdown.indexOf('\n## ', start + heading.length + 2),
        );
        const blocks = shellBlocks(section).filter((block) => block.includes(act));
        expect(blocks.length, heading).toBeGreaterThan(1);
        for (const block of blocks) {
          // In sh and, where found, zsh: the same calls.
          const callsIn = (shell: PasteShell) => {
            writeFileSync(log, '');
            const result = spawnSync(shell.command, [...shell.args, fillGoneNode(block)], {
              env: { PATH: `${dir}:/usr/bin:/bin`, TALOS_DIR: dir },
              encoding: 'utf8',
            });
            expect(result.error).toBeUndefined();
            return readFileSync(log, 'utf8').split('\n');
          };
          const [first, ...others] = pasteShells();
          const calls = callsIn(first as PasteShell);
          for (const shell of others) expect(callsIn(shell), shell.name).toEqual(calls);
          expect(calls.some((call) => call.startsWith('kubectl drain '))).toBe(true);
          ran.push(
            ...calls.filter(
              (call) =>
                call.startsWith(act) ||
                call.startsWith('kubectl uncordon') ||
                call.startsWith('kubectl delete node') ||
                call.startsWith('talosctl config endpoint'),
            ),
          );
        }
      }
      expect(ran).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uncordons each node before its health check, which fails while a node is cordoned', () => {
    // Talos v1.12.11 / v1.13.9 `talosctl health` waits for "all k8s nodes to report schedulable"
    // (pkg/cluster/check K8sAllNodesSchedulableAssertion) and fails after five minutes while one
    // is cordoned: chained before the uncordon, it left the node cordoned for good. Run each node
    // block with a kubectl that keeps the cordons and a talosctl whose health fails while any
    // node is cordoned.
    const dir = mkdtempSync(join(tmpdir(), 'health-cordoned-'));
    try {
      const log = join(dir, 'calls');
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/bin/sh\necho "kubectl $*" >> "${log}"\ncase "$1" in cordon|drain) touch "${dir}/cordoned-$2" ;; uncordon) rm -f "${dir}/cordoned-$2" ;; esac\nexit 0\n`,
        { mode: 0o755 },
      );
      writeFileSync(
        join(dir, 'talosctl'),
        `#!/bin/sh\necho "talosctl $*" >> "${log}"\nfor arg in "$@"; do [ "$arg" = health ] && ls "${dir}" | grep -q '^cordoned-' && exit 1; done\nexit 0\n`,
        { mode: 0o755 },
      );
      let blocks = 0;
      for (const [heading, act] of [
        ['## Later: changing Talos settings', 'talosctl reboot'],
        ['### Talos', 'talosctl upgrade'],
      ] as const) {
        const start = markdown.indexOf(`\n${heading}\n`);
        const section = markdown.slice(
          start,
          markdown.indexOf('\n## ', start + heading.length + 2),
        );
        for (const block of shellBlocks(section).filter((b) => b.includes(act))) {
          blocks++;
          writeFileSync(log, '');
          const result = spawnSync('sh', ['-c', block], {
            env: { PATH: `${dir}:/usr/bin:/bin`, TALOS_DIR: dir },
            encoding: 'utf8',
          });
          expect(result.error).toBeUndefined();
          const calls = readFileSync(log, 'utf8').split('\n');
          // drained, acted on, uncordoned, then a health check that passes: nothing left cordoned
          expect(calls.some((call) => call.startsWith('kubectl drain '))).toBe(true);
          expect(calls.some((call) => call.startsWith('talosctl health '))).toBe(true);
          expect(readdirSync(dir).filter((name) => name.startsWith('cordoned-'))).toEqual([]);
          expect(result.status, block).toBe(0);
        }
      }
      expect(blocks).toBeGreaterThan(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what to do when a drain gives up', () => {
    const section = markdown.slice(
      markdown.indexOf('## When a drain gives up'),
      markdown.indexOf('## Nodes: adding, retiring, replacing'),
    );
    expect(section).toContain('the block again from its `kubectl drain` line');
    expect(shellBlocks(section)[0]).toBe(
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
        ': "${NODE:?set it to the hostname of the node whose drain gave up}" &&',
        'kubectl get pods -A --field-selector spec.nodeName="$NODE" -o wide',
        'kubectl get pdb -A',
        '',
      ].join('\n'),
    );
    expect(section).toContain('Never force a drain');
    // The reboots point at it
    expect(markdown).toContain(
      'the reboot is chained to it with `&&`,\nso a drain that gives up stops it: then see "When a drain gives up" below',
    );
  });
});

/** The node "Retiring a node no longer in the definition" retires in the tests (not defined). */
const GONE = { hostname: 'prod-old-1', address: '192.168.30.31' };

/** Its blocks with NODE and NODE_ADDRESS set, as the operator sets them at the top. */
function fillGoneNode(block: string, gone = GONE): string {
  return block
    .replace(/^NODE=$/m, `NODE=${gone.hostname}`)
    .replace(/^NODE_ADDRESS=$/m, `NODE_ADDRESS=${gone.address}`);
}

/**
 * A node retired in the tests whose name reads as a number (10, as a member 1e1 reads too): not a
 * name the definition gives (a hostname starts with a letter), one a member added by hand may have.
 */
const NUMERIC = { hostname: '10', address: '192.168.30.31' };
/** A hostname the definition may give that BusyBox's awk reads as a number (NaN, unequal to itself). */
const NAN = { hostname: 'nan', address: '192.168.30.31' };

/**
 * A kubectl stub's lines: the gone node's Node has its address (and no control-plane label), as
 * have NUMERIC's and NAN's.
 */
const GONE_NODE_KUBECTL = [GONE, NUMERIC, NAN]
  .map(
    (gone) => `[ "$1 $2" = "get node" ] && [ "$3" = ${gone.hostname} ] && echo ${gone.address}\n`,
  )
  .join('');

/**
 * A talosctl stub's lines: `etcd members` (through -n, so with the NODE column, as Talos
 * v1.11–v1.13 print it) lists the gone node and `others`, the last row as `learner`; `etcd
 * status` answers for the addresses of `up` (all of `others` unless given). The gone node and
 * the others' hostnames can be given.
 */
function etcdStub(
  others: string[],
  up = others,
  learner = false,
  { gone = GONE, names = others.map((_, index) => `prod-cp-${index + 2}`) } = {},
): string {
  const rows = [
    'NODE          ID                 HOSTNAME     PEER URLS                   CLIENT URLS                 LEARNER',
    `192.168.30.11   1a2b3c4d5e6f7081   ${gone.hostname}   https://${gone.address}:2380   https://${gone.address}:2379   false`,
    ...others.map(
      (address, index) =>
        `192.168.30.11   ${index}a2b3c4d5e6f7081   ${names[index]}    https://${address}:2380   https://${address}:2379   ${learner && index === others.length - 1}`,
    ),
  ];
  return [
    `[ "$3 $4" = "etcd members" ] && printf '%s\\n' ${rows.map((row) => `'${row}'`).join(' ')} && exit 0`,
    `[ "$3 $4" = "etcd status" ] && case " ${up.join(' ')} " in *" $2 "*) printf '%s\\n' 'NODE MEMBER' "$2 1" && exit 0 ;; *) exit 1 ;; esac`,
    'exit 0',
    '',
  ].join('\n');
}

describe('retiring a node no longer in the definition', () => {
  const { files } = talos([haCluster()], [cilium]);
  const markdown = file(files, 'clusters/prod/RUNBOOK.md');
  const start = markdown.indexOf('\n### Retiring a node no longer in the definition\n');
  const section = markdown.slice(start, markdown.indexOf('\n### Replacing a dead node\n'));
  const [worker, controlPlane] = shellBlocks(section);

  /** Runs a block in `shell` with stubs; returns the calls made, in order. */
  function runIn(
    shell: PasteShell,
    block: string,
    talosctl: string,
    gone: typeof GONE,
    awk?: string,
  ): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'gone-node-'));
    try {
      if (awk !== undefined) symlinkSync(awk, join(dir, 'awk'));
      const log = join(dir, 'calls');
      writeFileSync(log, '');
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/bin/sh\necho "kubectl $*" >> "${log}"\n${GONE_NODE_KUBECTL}exit 0\n`,
        { mode: 0o755 },
      );
      writeFileSync(
        join(dir, 'talosctl'),
        `#!/bin/sh\necho "talosctl $*" >> "${log}"\n${talosctl}`,
        {
          mode: 0o755,
        },
      );
      const result = spawnSync(shell.command, [...shell.args, fillGoneNode(block, gone)], {
        env: { PATH: `${dir}:/usr/bin:/bin`, TALOS_DIR: dir },
        encoding: 'utf8',
      });
      expect(result.error).toBeUndefined();
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  /**
   * Runs a block with stubs in sh and, where zsh is found, in zsh (macOS' login shell, where
   * operators paste it; it does not split an unquoted `$var`): the same calls in both. Returns the
   * calls made, in order. `awk`: the awk to run it with, this machine's unless given.
   */
  function run(block: string, talosctl: string, gone = GONE, awk?: string): string[] {
    const [first, ...others] = pasteShells();
    const calls = runIn(first as PasteShell, block, talosctl, gone, awk);
    for (const shell of others) {
      expect(runIn(shell, block, talosctl, gone, awk), shell.name).toEqual(calls);
    }
    return calls;
  }
  const acted = (calls: string[]) =>
    calls.filter((call) => /^(kubectl (cordon|drain|delete node)|talosctl reset)/.test(call));

  (zshTestRuns('retiring a node') ? it : it.skip)('runs its blocks in zsh too', () => {
    expect(pasteShells().map((shell) => shell.name)).toEqual(['sh', 'zsh']);
  });

  it('holds no value of the removed node, and sets NODE and NODE_ADDRESS at the top of each block', () => {
    expect(markdown).not.toContain('git log -p');
    for (const block of [worker, controlPlane]) {
      expect(block?.split('\n').slice(0, 2)).toEqual(['NODE=', 'NODE_ADDRESS=']);
    }
    expect(controlPlane).toContain('etcd members');
    expect(worker).not.toContain('etcd members');
  });

  it("retires a worker or a control plane with the components' steps between the cordon and the drain", () => {
    for (const block of [worker, controlPlane] as string[]) {
      const calls = run(block, etcdStub(['192.168.30.12', '192.168.30.13']));
      const index = (prefix: string) => calls.findIndex((call) => call.startsWith(prefix));
      expect(acted(calls)).toEqual([
        `kubectl cordon ${GONE.hostname}`,
        `kubectl drain ${GONE.hostname} --ignore-daemonsets --delete-emptydir-data --timeout=5m`,
        `talosctl reset -n ${GONE.address} --graceful=true`,
        `kubectl delete node ${GONE.hostname} --timeout=2m`,
      ]);
      expect(index('kubectl drain')).toBeGreaterThan(index('kubectl cordon'));
    }
    const calls = run(controlPlane as string, etcdStub(['192.168.30.12', '192.168.30.13']));
    expect(calls.some((call) => call.startsWith('talosctl config endpoint 192.168.30.11'))).toBe(
      true,
    );
  });

  it('refuses a control plane whose removal would leave etcd without quorum, before anything changed', () => {
    const cp = controlPlane as string;
    // 3 members: 2 remain and need both; one does not answer
    expect(acted(run(cp, etcdStub(['192.168.30.12', '192.168.30.13'], ['192.168.30.12'])))).toEqual(
      [],
    );
    // the only member
    expect(acted(run(cp, etcdStub([])))).toEqual([]);
    // a learner among the members
    expect(acted(run(cp, etcdStub(['192.168.30.12', '192.168.30.13'], undefined, true)))).toEqual(
      [],
    );
    // not a member (a typo, or a worker)
    expect(
      acted(
        run(cp, etcdStub(['192.168.30.12']), { hostname: 'prod-olt-1', address: GONE.address }),
      ),
    ).toEqual([]);
    // 2 members: the one left is its own quorum, and answers
    expect(acted(run(cp, etcdStub(['192.168.30.12'])))).toHaveLength(4);
    // names that read as numbers (a member added by hand; the definition's hostnames start with a
    // letter): awk once compared `10` and `1e1` as numbers, took the member 1e1 for the node
    // retired and never asked it, and went on with 1 of 3 members answering
    const numeric = NUMERIC;
    const members = ['192.168.30.12', '192.168.30.13'];
    const named = { gone: numeric, names: ['1e1', 'prod-cp-3'] };
    expect(acted(run(cp, etcdStub(members, ['192.168.30.13'], false, named), numeric))).toEqual([]);
    expect(acted(run(cp, etcdStub(members, members, false, named), numeric))).toEqual([
      'kubectl cordon 10',
      'kubectl drain 10 --ignore-daemonsets --delete-emptydir-data --timeout=5m',
      `talosctl reset -n ${NUMERIC.address} --graceful=true`,
      'kubectl delete node 10 --timeout=2m',
    ]);
    // 4 members: 3 remain and need 2
    expect(
      acted(
        run(
          cp,
          etcdStub(
            ['192.168.30.12', '192.168.30.13', '192.168.30.14'],
            ['192.168.30.12', '192.168.30.14'],
          ),
        ),
      ),
    ).toHaveLength(4);
  });

  // BusyBox's awk, as on an Alpine workstation (BUSYBOX_DIR, .ci/install-busybox; required in CI)
  const busyboxAwk = ((dir) =>
    dir !== undefined && existsSync(join(dir, 'awk')) ? join(dir, 'awk') : undefined)(
    process.env.BUSYBOX_DIR,
  );
  const inCi = process.env.CI === 'true' || process.env.CI === '1';
  it.runIf(busyboxAwk !== undefined || inCi)(
    "with BusyBox's awk, retires a node named nan, a hostname BusyBox reads as a number",
    () => {
      // BusyBox's awk 1.35 reads nan (and inf) as a number, NaN, unequal to itself: compared as
      // it was (`$(2 + o) == node`), the node was never found among the members and the block
      // refused it as no member.
      expect(busyboxAwk).toBeDefined();
      const members = ['192.168.30.12', '192.168.30.13'];
      const talosctl = etcdStub(members, members, false, { gone: NAN });
      expect(acted(run(controlPlane as string, talosctl, NAN, busyboxAwk))).toEqual([
        'kubectl cordon nan',
        'kubectl drain nan --ignore-daemonsets --delete-emptydir-data --timeout=5m',
        `talosctl reset -n ${NAN.address} --graceful=true`,
        'kubectl delete node nan --timeout=2m',
      ]);
    },
  );

  const originalAwk = findOriginalAwk();
  it.runIf(originalAwkRuns('retiring a node'))(
    "with the One True AWK, macOS' awk, reads the members as this machine's awk does",
    () => {
      // The block runs on the operator's workstation: on macOS its awk program runs with
      // Kernighan's awk (its `[][]` bracket, its `$(2 + o)` fields), not mawk
      expect(originalAwk).toBeDefined();
      const awk = join(originalAwk as string, 'awk');
      const cp = controlPlane as string;
      const members = ['192.168.30.12', '192.168.30.13'];
      expect(acted(run(cp, etcdStub(members), GONE, awk))).toEqual(
        acted(run(cp, etcdStub(members))),
      );
      expect(acted(run(cp, etcdStub(members), GONE, awk))).toHaveLength(4);
      expect(acted(run(cp, etcdStub(members, ['192.168.30.12']), GONE, awk))).toEqual([]);
      expect(acted(run(cp, etcdStub(members, members, true), GONE, awk))).toEqual([]);
      const named = { gone: NUMERIC, names: ['1e1', 'prod-cp-3'] };
      expect(
        acted(run(cp, etcdStub(members, ['192.168.30.13'], false, named), NUMERIC, awk)),
      ).toEqual([]);
    },
  );

  it("refuses a node of the definition, the API endpoint, and an address that is not the Node's", () => {
    for (const block of [worker, controlPlane] as string[]) {
      const talosctl = etcdStub(['192.168.30.12', '192.168.30.13']);
      for (const gone of [
        { hostname: 'prod-w-1', address: GONE.address },
        { hostname: GONE.hostname, address: '192.168.30.21' },
        { hostname: GONE.hostname, address: '192.168.30.10' },
        { hostname: GONE.hostname, address: '192.168.30.32' },
      ]) {
        expect(acted(run(block, talosctl, gone)), `${gone.hostname} ${gone.address}`).toEqual([]);
      }
    }
  });
});

/** A one-node dev cluster's runbook input at Talos v1.12.11, with no steps: what a test varies. */
function devRunbookInput() {
  const platform = resolvePlatform(testDefinition([devCluster()]));
  const cluster = platform.clusters[0];
  const version = checkTalosVersion('v1.12.11', []).version;
  if (cluster === undefined || version === undefined) throw new Error('no cluster');
  const input: RunbookInput = {
    header: '<!-- test -->',
    cluster,
    version,
    requirements: mergeTalosRequirements(cluster, []).merged,
    patches: { vip: undefined } as never,
    schematicId: 'abc',
    installImage: 'factory.talos.dev/installer/abc:v1.12.11',
    dir: 'clusters/dev/talos',
    steps: [],
  };
  return { cluster, input };
}

/** An Application of the dev cluster's app-of-apps (wave 3, its chart at charts/<name>). */
function devApplication(
  name: string,
  options: { namespace: string; critical: boolean; uninstall?: ChartUninstall | undefined },
): RunbookApplication {
  return {
    name,
    component: name,
    wave: 3,
    namespace: options.namespace,
    critical: options.critical,
    bundle: undefined,
    application: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: `dev-${name}`, namespace: 'argocd' },
      spec: {
        source: {
          path: `charts/${name}`,
          helm: {
            releaseName: name,
            valueFiles: ['env/development.yaml', 'clusters/dev.yaml'],
          },
        },
      },
    },
    ...(options.uninstall === undefined ? {} : { uninstall: options.uninstall }),
  };
}

describe("a step's prose after its commands", () => {
  it("renders a step's `after` below its block, in every section a step goes to", () => {
    // Given a step before the hand-over and a later one, each with text after its commands
    const { input } = devRunbookInput();
    const step = (title: string, when?: 'later') => ({
      title,
      ...(when === undefined ? {} : { when }),
      body: [`Before ${title}:`],
      commands: [`kubectl get ${title}`],
      after: [`After ${title}: the commands printed it.`],
    });
    const markdown = runbook({ ...input, steps: [step('nodes')], later: [step('pods', 'later')] });
    // Then each comes right after its block, as prose, with no comment in the block
    for (const title of ['nodes', 'pods']) {
      expect(markdown).toContain(
        `Before ${title}:\n\n\`\`\`sh\nkubectl get ${title}\n\`\`\`\n\nAfter ${title}: the commands printed it.\n`,
      );
    }
    // And a step without it has nothing after its block
    const plain = runbook({
      ...input,
      steps: [{ title: 'x', body: ['B'], commands: ['kubectl get x'] }],
    });
    expect(plain).toMatch(/kubectl get x\n```\n\n## /);
  });
});

describe('upgrading and rebooting a cluster of one etcd member', () => {
  const section = (markdown: string, from: string, to: string): string =>
    markdown.slice(markdown.indexOf(from), markdown.indexOf(to));
  const upgrade = (markdown: string) => section(markdown, '### Talos', '### Kubernetes');
  const later = (markdown: string) =>
    section(markdown, '## Later: changing Talos settings', '## Upgrades');
  const rendered = (definition: ReturnType<typeof devCluster>): string => {
    const { input } = devRunbookInput();
    const cluster = resolvePlatform(testDefinition([definition])).clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    return runbook({ ...input, cluster, requirements: mergeTalosRequirements(cluster, []).merged });
  };

  it('tells the operator of one node that nothing stays up and nothing moves, with no quorum', () => {
    // Given a cluster of one node, control plane and worker at once
    const { input } = devRunbookInput();
    expect(input.cluster.nodes).toHaveLength(1);
    const markdown = runbook(input);
    // Then the upgrade promises no quorum (one etcd member: Talos v1.12 ValidateForUpgrade passes
    // it, and the API is down while it reboots) and says the drain can only wait (Talos'
    // DrainTimeout, 5 minutes, then it upgrades anyway)
    expect(upgrade(markdown)).not.toContain('keeps its quorum');
    expect(upgrade(markdown)).toContain('The cluster has one node, its only etcd member');
    expect(upgrade(markdown)).toContain('the Kubernetes API and every workload are down');
    expect(upgrade(markdown)).toContain('until Talos stops waiting, after 5 minutes');
    // and the reboot after a settings change speaks of no other node
    expect(later(markdown)).not.toContain('Never let Talos reboot the nodes together');
    expect(later(markdown)).toContain('If the node refused, it needs a reboot for its change');
    // nothing to drain to: no other node takes the pods, Talos stops them in place
    expect(later(markdown)).not.toContain('kubectl drain');
    expect(later(markdown)).not.toContain('kubectl uncordon');
  });

  it('upgrades one node on Talos 1.13 without a drain that can only fail, and stops visibly when talosctl fails', () => {
    // Given the same node on Talos v1.13.9: talosctl 1.13 upgrades through the LifecycleService
    // (upgradeViaLifecycleService): install, then nodedrain.CordonAndDrain (5 minutes), which on
    // one node fails while a PodDisruptionBudget protects a pod: an error, no reboot, the node
    // left cordoned (the uncordon is deferred only after a drain that succeeded)
    const { input } = devRunbookInput();
    const version = checkTalosVersion('v1.13.9', []).version;
    if (version === undefined) throw new Error('no version');
    const markdown = runbook({
      ...input,
      version,
      installImage: 'factory.talos.dev/installer/abc:v1.13.9',
    });
    const text = upgrade(markdown);
    // Then the prose no longer promises that Talos upgrades anyway after its drain
    expect(text).not.toContain('until Talos stops waiting, after 5 minutes');
    expect(text).toContain('through the LifecycleService');
    expect(text.replace(/\s+/g, ' ')).toContain(
      'A node still on Talos 1.12 (the upgrade to v1.13) is upgraded the old way',
    );

    // and the block upgrades without talosctl's drain, uncordons and stops before the health
    // check when talosctl fails (a pasted block runs every line: the && keeps the rest from it)
    const block = shellBlocks(text).join('\n');
    expect(block).toContain(
      [
        'talosctl upgrade -n 192.168.10.11 --image factory.talos.dev/installer/abc:v1.13.9 --drain=false ||',
        "  { kubectl uncordon dev-cp-1; echo 'talosctl upgrade failed: read its error above, then run this block again' >&2; false; } &&",
        'talosctl health -n 192.168.10.11',
      ].join('\n'),
    );
  });

  it('keeps the Talos 1.12 upgrade of one node as it was: Talos drains, then upgrades anyway', () => {
    const { input } = devRunbookInput();
    const block = shellBlocks(upgrade(runbook(input))).join('\n');
    expect(block).toContain(
      'talosctl upgrade -n 192.168.10.11 --image factory.talos.dev/installer/abc:v1.12.11\ntalosctl health',
    );
    expect(block).not.toContain('--drain=false');
    expect(upgrade(runbook(input))).toContain('Talos uncordons the node once it booted.');
  });

  it('says the block, not Talos, uncordons a lone node it cordoned itself on Talos 1.12', () => {
    // Talos v1.12.11 uncordons only a node it cordoned (node_apply.go: "not cordoned by Talos,
    // skip"); the block cordons first when a component stops something before the reboot
    const { input } = devRunbookInput();
    const markdown = runbook({
      ...input,
      beforeLoneNodeReboot: [
        { component: 'storage', reason: 'Storage: its volumes detached', commands: ['stop-a'] },
      ],
    });
    const block = shellBlocks(upgrade(markdown)).join('\n');
    expect(block).toContain('kubectl cordon dev-cp-1 &&');
    expect(block).toMatch(/until kubectl uncordon dev-cp-1/);
    expect(upgrade(markdown).replace(/\s+/g, ' ')).toContain(
      'Talos uncordons the node once it booted only when it cordoned it itself: here the block cordoned it first, and uncordons it itself.',
    );
  });

  it("stops what a one-node cluster's reboot must not kill first: cordon, the components' commands, the reboot or upgrade chained, the uncordon before the health check", () => {
    // Given one node and a component that stops its volumes before a reboot (Longhorn)
    const { input } = devRunbookInput();
    const version = checkTalosVersion('v1.13.9', []).version;
    if (version === undefined) throw new Error('no version');
    const markdown = runbook({
      ...input,
      version,
      installImage: 'factory.talos.dev/installer/abc:v1.13.9',
      beforeLoneNodeReboot: [
        {
          component: 'storage',
          reason: 'Storage: its volumes detached',
          commands: ['stop-a', 'wait-b'],
        },
      ],
    });
    const uncordonLoop = (block: string) =>
      /^\( deadline=.*until kubectl uncordon dev-cp-1 --request-timeout=10s; .*\) &&$/m.test(block);
    // Then the settings change's reboot block runs them, each chained to the next and to the
    // reboot, uncordons the node if anything before the reboot failed, and after it, once the
    // API server answers, before talosctl health (which fails while a node is cordoned)
    const reboot = shellBlocks(later(markdown)).join('\n');
    expect(reboot).toContain(
      [
        'kubectl cordon dev-cp-1 &&',
        'stop-a &&',
        'wait-b &&',
        'talosctl reboot -n 192.168.10.11 ||',
        "  { kubectl uncordon dev-cp-1; echo 'no reboot: read the error above, then run this block again' >&2; false; } &&",
      ].join('\n'),
    );
    expect(uncordonLoop(reboot)).toBe(true);
    expect(reboot.indexOf('until kubectl uncordon')).toBeLessThan(
      reboot.indexOf('talosctl health'),
    );
    expect(later(markdown)).toContain('- Storage: its volumes detached');
    // and so does the upgrade, still without talosctl's drain
    const upgraded = shellBlocks(upgrade(markdown)).join('\n');
    expect(upgraded).toContain(
      [
        'kubectl cordon dev-cp-1 &&',
        'stop-a &&',
        'wait-b &&',
        'talosctl upgrade -n 192.168.10.11 --image factory.talos.dev/installer/abc:v1.13.9 --drain=false ||',
        "  { kubectl uncordon dev-cp-1; echo 'no upgrade: read the error above, then run this block again' >&2; false; } &&",
      ].join('\n'),
    );
    expect(uncordonLoop(upgraded)).toBe(true);
    expect(upgrade(markdown)).toContain('- Storage: its volumes detached');
    // and the same hooks on a cluster of two nodes are not run (it drains instead)
    const twoNodes = resolvePlatform(
      testDefinition([
        devCluster({
          nodes: [
            testNode({ hostname: 'dev-cp-1', address: '192.168.10.11' }),
            testNode({ hostname: 'dev-w-1', role: 'worker', address: '192.168.10.21' }),
          ],
        }),
      ]),
    ).clusters[0];
    if (twoNodes === undefined) throw new Error('no cluster');
    const two = runbook({
      ...input,
      cluster: twoNodes,
      requirements: mergeTalosRequirements(twoNodes, []).merged,
      beforeLoneNodeReboot: [
        { component: 'storage', reason: 'Storage: its volumes detached', commands: ['stop-a'] },
      ],
    });
    expect(two).not.toContain('stop-a');
    expect(shellBlocks(upgrade(two)).join('\n')).toContain('kubectl drain dev-w-1');
  });

  it('keeps the one control plane first, without a quorum, when workers follow', () => {
    // Given one control plane and a worker
    const markdown = rendered(
      devCluster({
        nodes: [
          testNode({ hostname: 'dev-cp-1', address: '192.168.10.11' }),
          testNode({ hostname: 'dev-w-1', role: 'worker', address: '192.168.10.21' }),
        ],
      }),
    );
    expect(upgrade(markdown)).toContain(
      'the control plane first (its etcd has one member: the Kubernetes API\nis down while it reboots, and there is no quorum to keep)',
    );
    expect(upgrade(markdown)).not.toContain('keeps its quorum');
    expect(later(markdown)).toContain('Never let Talos reboot the nodes together');
  });

  it('uncordons a rebooted node before waiting for what rebuilds on it', () => {
    // Longhorn v1.8.1 schedules no replica on a cordoned node (disable-scheduling-on-cordoned-node,
    // default true): the wait after a reboot comes after the uncordon
    const { input } = devRunbookInput();
    const cluster = resolvePlatform(testDefinition([haCluster()])).clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    const markdown = runbook({
      ...input,
      cluster,
      requirements: mergeTalosRequirements(cluster, []).merged,
      afterNodeReboot: [
        { component: 'longhorn', reason: 'volumes healthy', commands: ['wait-for-volumes'] },
      ],
    });
    const lines = later(markdown)
      .split('\n')
      .filter((line) => /^(kubectl (drain|uncordon)|talosctl reboot|wait-for-volumes)/.test(line))
      .map((line) => line.split(' ').slice(0, 2).join(' '));
    expect(lines.length).toBe(cluster.nodes.length * 4);
    expect(lines.slice(0, 4)).toEqual([
      'kubectl drain',
      'talosctl reboot',
      'kubectl uncordon',
      'wait-for-volumes',
    ]);
  });

  it('upgrades a two-member etcd with --force after its own health check, promising no quorum', () => {
    // Talos v1.12 `ValidateForUpgrade` (internal/pkg/etcd/etcd.go) refuses a control plane of a
    // two-member etcd: "etcd member count(2) is insufficient to maintain quorum if upgrade
    // commences", unless the request says force; a quorum of two needs both members
    const markdown = rendered(
      devCluster({
        nodes: [
          testNode({ hostname: 'dev-cp-1', address: '192.168.10.11' }),
          testNode({ hostname: 'dev-cp-2', address: '192.168.10.12' }),
          testNode({ hostname: 'dev-w-1', role: 'worker', address: '192.168.10.21' }),
        ],
      }),
    );
    const text = upgrade(markdown);
    expect(text).not.toContain('keeps its quorum');
    expect(text).toContain('etcd has two members\nand a quorum needs both');
    const lines = text.split('\n');
    const upgrades = lines.filter((line) => line.startsWith('talosctl upgrade'));
    expect(upgrades).toEqual([
      expect.stringMatching(/^talosctl upgrade -n 192\.168\.10\.11 --image \S+ --force &&$/),
      expect.stringMatching(/^talosctl upgrade -n 192\.168\.10\.12 --image \S+ --force &&$/),
      expect.stringMatching(/^talosctl upgrade -n 192\.168\.10\.21 --image \S+ &&$/),
    ]);
    // each forced upgrade right after a health check and the drain, chained; the health check
    // after the upgrade comes once the node is uncordoned
    for (const address of ['192.168.10.11', '192.168.10.12']) {
      const at = lines.findIndex((line) => line.startsWith(`talosctl upgrade -n ${address}`));
      expect(lines[at - 2]).toBe('talosctl health -n 192.168.10.11 &&');
      expect(lines[at - 1]).toMatch(/^kubectl drain dev-cp-\d .* &&$/);
      expect(lines[at + 1]).toMatch(/^kubectl uncordon dev-cp-\d &&$/);
      expect(lines[at + 2]).toBe('talosctl health -n 192.168.10.11');
    }
  });

  it('keeps the quorum of three control planes', () => {
    const markdown = rendered(haCluster());
    expect(upgrade(markdown)).toContain(
      'the control planes first (etcd keeps its quorum while one member\nreboots)',
    );
    expect(upgrade(markdown)).not.toContain('The cluster has one node');
    expect(upgrade(markdown)).not.toContain('--force');
  });

  it("checks the cluster's health right before a control plane's drain for a settings reboot too", () => {
    // Talos (v1.12.11, v1.13.9) runs no etcd check before `talosctl reboot`
    const { input } = devRunbookInput();
    const cluster = resolvePlatform(testDefinition([haCluster()])).clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    const text = later(
      runbook({ ...input, cluster, requirements: mergeTalosRequirements(cluster, []).merged }),
    );
    expect(text).toContain("A control plane's block checks the cluster's health again");
    const lines = text.split('\n');
    const first = cluster.nodes.find((node) => node.role === 'controlplane')?.address;
    for (const node of cluster.nodes) {
      const at = lines.findIndex((line) => line.startsWith(`kubectl drain ${node.hostname} `));
      expect(at).toBeGreaterThan(0);
      expect(lines[at - 1]).toEqual(
        node.role === 'controlplane'
          ? `talosctl health -n ${first} &&`
          : expect.stringMatching(/^talosctl apply-config .* --mode=staged$/),
      );
    }
  });

  it("checks the cluster's health right before each control plane's drain, never a worker's", () => {
    // Talos v1.13.9 upgrades a node on 1.13 through the LifecycleService
    // (internal/app/lifecycle/lifecycle.go `Upgrade`: the installer, no `ValidateForUpgrade`);
    // the block's own `talosctl health` (etcd's members among its checks) is then the only check
    // that another member is healthy before this one reboots
    const { input } = devRunbookInput();
    const cluster = resolvePlatform(testDefinition([haCluster()])).clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    for (const tag of ['v1.12.11', 'v1.13.9']) {
      const version = checkTalosVersion(tag, []).version;
      if (version === undefined) throw new Error('no version');
      const text = upgrade(
        runbook({
          ...input,
          cluster,
          version,
          installImage: `factory.talos.dev/installer/abc:${tag}`,
          requirements: mergeTalosRequirements(cluster, []).merged,
        }),
      );
      const lines = text.split('\n');
      const first = cluster.nodes.find((node) => node.role === 'controlplane')?.address;
      const drains = lines.flatMap((line, at) =>
        line.startsWith('kubectl drain ') ? [{ line, at }] : [],
      );
      expect(drains.length).toBe(cluster.nodes.length);
      for (const node of cluster.nodes) {
        const drain = drains.find(({ line }) => line.startsWith(`kubectl drain ${node.hostname} `));
        if (drain === undefined) throw new Error(`no drain of ${node.hostname}`);
        if (node.role === 'controlplane') {
          expect(lines[drain.at - 1]).toBe(`talosctl health -n ${first} &&`);
        } else {
          expect(lines[drain.at - 1]).toBe('```sh');
        }
      }
      expect(text.includes("an upgrade through Talos 1.13's LifecycleService")).toBe(
        tag === 'v1.13.9',
      );
      // A failed drain of talosctl 1.13 leaves the new release installed (the LifecycleService
      // installs before the drain; sd-boot's default entry is the new UKI): the next reboot boots it
      expect(
        text
          .replace(/\s+/g, ' ')
          .includes(
            "but the new release is installed already and boots at the node's next reboot, whatever causes it: finish the upgrade (run its block again once the drain can succeed) or `talosctl rollback` before anything reboots the node",
          ),
      ).toBe(tag === 'v1.13.9');
    }
  });
});

describe('removing or adding a component re-applies the root Application', () => {
  // The root's Helm parameters name every Application of the platform repository
  // (`manifests.<key>.spec.source.targetRevision`); only `kubectl apply` changes the root. A live
  // root still naming a removed Application makes Helm 3.19 refuse charts/platform ("at
  // '/manifests/<key>': missing properties 'apiVersion', 'kind', 'metadata'"): the root stops
  // rendering and never deletes the Application the commit removed.
  const { input } = devRunbookInput();
  const gitops = (critical: boolean) => ({
    namespace: 'argocd',
    root: 'dev-platform',
    revision: 'main',
    applications: [
      devApplication('storage', { namespace: 'storage-system', critical }),
      devApplication('gitops', { namespace: 'argocd', critical: true }),
    ],
  });
  const removal = (markdown: string): string[][] =>
    shellBlocks(markdown.slice(markdown.indexOf('## Removing a component on purpose'))).map(
      (block) => splitCommands(block).map((command) => command.map((word) => word.text).join(' ')),
    );

  it('pushes the commit that removes a critical Application, then applies the root again', () => {
    const markdown = runbook({ ...input, gitops: gitops(true) });
    const blocks = removal(markdown);
    const at = blocks.findIndex((block) => block.includes('pnpm homelab check'));
    // git commit opens the editor and git push may prompt: one `&&` line ends the block (a failed
    // check stops the commit), the apply comes in the next
    expect(blocks.slice(at, at + 2)).toEqual([
      [
        'pnpm build',
        'pnpm homelab check',
        'git add apps/homelab/platform.yaml charts clusters',
        'git commit',
        'git push',
      ],
      ['kubectl apply -f clusters/dev/root-application.yaml'],
    ]);
    expect(markdown).toContain(
      '\n```sh\npnpm build &&\npnpm homelab check &&\ngit add apps/homelab/platform.yaml charts clusters &&\ngit commit &&\ngit push\n```\n',
    );
  });

  it('commits the definition it asks to edit with what it generates, where the runbook can name it', () => {
    // Given the move to another revision (the definition's targetRevision edited) and a removal
    const moving = (markdown: string): string[] =>
      shellBlocks(markdown.slice(markdown.indexOf('### Moving this cluster to another revision')))
        .flatMap((block) => splitCommands(block))
        .map((command) => command.map((word) => word.text).join(' '))
        .filter((command) => command.startsWith('git add'));
    // Then `git add` names it (left out, the next build from the repository undoes the change)
    expect(moving(runbook({ ...input, gitops: gitops(true) }))[0]).toBe(
      'git add apps/homelab/platform.yaml charts clusters',
    );
    expect(
      moving(runbook({ ...input, definition: 'examples/my lab.yaml', gitops: gitops(true) }))[0],
    ).toBe('git add charts clusters');
  });

  it('does the same where every Application carries the resources finalizer', () => {
    const markdown = runbook({ ...input, gitops: gitops(false) });
    expect(markdown).toContain('Every Application on this cluster carries the resources finalizer');
    expect(removal(markdown).slice(0, 2)).toEqual([
      [
        'pnpm build',
        'git add apps/homelab/platform.yaml charts clusters',
        'git commit',
        'git push',
      ],
      ['kubectl apply -f clusters/dev/root-application.yaml'],
    ]);
  });

  it('tells the chart upgrades that enabling or disabling a component needs the root applied', () => {
    const markdown = runbook({ ...input, gitops: gitops(false) });
    const upgrades = markdown.slice(
      markdown.indexOf('### Platform charts'),
      markdown.indexOf('### Moving this cluster to another revision'),
    );
    expect(upgrades).toContain('A commit that enables or disables a component');
    expect(upgrades).toContain(
      'apply the root again (`kubectl apply -f clusters/dev/root-application.yaml`)',
    );
  });
});

describe("removing the critical component that turned Talos' CoreDNS off", () => {
  const { cluster, input } = devRunbookInput();
  const gitops = {
    namespace: 'argocd',
    root: 'dev-platform',
    revision: 'main',
    applications: [
      devApplication('dns', { namespace: 'dns', critical: true }),
      devApplication('storage', { namespace: 'storage-system', critical: true }),
      devApplication('gitops', { namespace: 'argocd', critical: true }),
    ],
  };
  const stepFive = (markdown: string): string =>
    markdown.slice(
      markdown.indexOf('5. Delete what it deployed'),
      markdown.indexOf('```sh', markdown.indexOf('5. Delete what it deployed')),
    );

  it('applies the rebuilt patches, which turn it on again, before its saved manifests are deleted', () => {
    const requirements = mergeTalosRequirements(cluster, [
      { source: 'dns', disableCoreDns: true },
    ]).merged;
    const text = stepFive(runbook({ ...input, requirements, gitops }));
    expect(text).toContain(
      "`dns` turned Talos' own CoreDNS off in the patches. Before deleting\n   `removed-dev-dns.yaml`, apply the rebuilt patches",
    );
    expect(text).not.toContain('removed-dev-storage.yaml');
  });

  it('says nothing of it where no critical component turned it off', () => {
    const text = stepFive(runbook({ ...input, gitops }));
    expect(text.length).toBeGreaterThan(50);
    expect(text).not.toContain("Talos' own CoreDNS");
  });
});

describe('removing a critical chart whose chart has a pre-delete hook', () => {
  const { input } = devRunbookInput();
  const application = (
    name: string,
    namespace: string,
    uninstall?: ChartUninstall,
  ): RunbookApplication => devApplication(name, { namespace, critical: true, uninstall });
  const STOP = ['kubectl -n argocd scale statefulset controller --replicas=0', 'wait-for-it'];
  const text = (uninstall?: ChartUninstall): string =>
    runbook({
      ...input,
      gitops: {
        namespace: 'argocd',
        root: 'dev-platform',
        revision: 'main',
        stop: STOP,
        // The storage chart, and the GitOps controller's own (it deploys into its namespace).
        applications: [
          application('storage', 'storage-system', uninstall),
          application('gitops', 'argocd'),
        ],
      },
    });
  const hook: ChartUninstall = {
    reason: 'its uninstall Job deletes every volume',
    prepare: [
      'kubectl -n storage-system patch settings.example.io confirm --type=merge -p \'{"value":"true"}\'',
    ],
    verify: ['kubectl get validatingwebhookconfiguration storage-webhook --ignore-not-found'],
  };
  const lines = (markdown: string) => markdown.split('\n');

  it('lets the hook succeed before the commit, and checks what it removed once the Application went', () => {
    // Given a critical chart with a pre-delete hook (Argo CD v3.4 runs it on the deletion)
    const markdown = lines(text(hook));
    // Then the hook is allowed to run before step 3 commits the removal
    const prepare = markdown.indexOf(hook.prepare[0] as string);
    expect(prepare).toBeGreaterThan(0);
    expect(prepare).toBeLessThan(
      markdown.indexOf(
        '3. Build, check, commit and push, then apply the root Application again once the commit is on',
      ),
    );
    expect(markdown).toContain('   - `dev-storage`: its uninstall Job deletes every volume.');
    // And step 4 deletes the Application (waiting for the hook), then checks what it removed
    const remove = markdown.indexOf(
      'kubectl -n argocd delete application dev-storage --ignore-not-found --timeout=15m',
    );
    expect(markdown[remove + 1]).toBe(hook.verify[0]);
    expect(text(hook)).toContain('pre-delete` hook (`dev-storage`)');
  });

  it('stops the GitOps controller before taking the finalizers off, those it adds itself included', () => {
    // Given the hook's Application carries no finalizer in Git (Argo CD adds its pre-delete one)
    const markdown = lines(text(hook));
    const patch = markdown.indexOf(
      `kubectl -n argocd patch application dev-storage --type=merge -p '{"metadata":{"finalizers":null}}'`,
    );
    // Then its finalizers are taken off too, once the controller stopped
    expect(patch).toBeGreaterThan(0);
    expect(markdown.slice(patch - 2, patch)).toEqual(STOP);
    expect(
      markdown.indexOf('kubectl -n argocd delete applications --all --timeout=15m'),
    ).toBeGreaterThan(patch);
  });

  it('lists, after a chart upgrade, what a critical Application kept but no longer renders', () => {
    // Given a critical Application (Prune=false: Argo CD v3.4 marks such objects requiresPruning)
    const markdown = text();
    // Then the chart upgrade section lists them per critical Application
    expect(markdown).toContain(
      `kubectl -n argocd get application dev-storage -o jsonpath='{range .status.resources[*]}{.requiresPruning}{" "}{.kind}/{.namespace}/{.name}{"\\n"}{end}' | grep '^true '\n`,
    );
    expect(markdown).toContain('the Application stays `OutOfSync`');
  });

  it('says nothing of hooks for a chart without one', () => {
    const markdown = text();
    expect(markdown).not.toContain('Argo CD itself puts its pre-delete finalizer');
    expect(markdown).not.toContain('Then let the pre-delete hook succeed');
    expect(markdown).not.toContain('storage-webhook');
    expect(markdown).not.toContain('patch application dev-storage');
    expect(markdown).toContain(
      'kubectl delete --ignore-not-found --timeout=10m -f "$TALOS_DIR"/removed-dev-storage.yaml',
    );
  });
});

describe('waiting for the components after each node of a rolling reboot or upgrade', () => {
  const { cluster, input } = devRunbookInput();
  const text = (afterNodeReboot: RunbookInput['afterNodeReboot']): string =>
    runbook({
      ...input,
      ...(afterNodeReboot === undefined ? {} : { afterNodeReboot }),
    });
  const WAIT = 'until storage-healthy; do sleep 10; done';

  it("runs the components' waits after talosctl health, node by node, in reboots and upgrades", () => {
    // Given a component that must recover from each node's reboot
    const markdown = text([
      { component: 'storage', reason: 'storage: replicas rebuilt', commands: [WAIT] },
    ]);
    // Then each node's reboot and each node's upgrade is followed by the health check and the wait
    const first = cluster.controlPlanes[0]?.address;
    const nodes = [
      ...cluster.controlPlanes,
      ...cluster.nodes.filter((node) => node.role !== 'controlplane'),
    ];
    expect(nodes.length).toBeGreaterThan(0);
    for (const node of nodes) {
      expect(markdown).toContain(
        `talosctl reboot -n ${node.address}\ntalosctl health -n ${first}\n${WAIT}\n`,
      );
      expect(markdown).toContain(
        `talosctl upgrade -n ${node.address} --image factory.talos.dev/installer/abc:v1.12.11\ntalosctl health -n ${first}\n${WAIT}\n`,
      );
    }
    // … and once more after the restarts of a CA rotation, for the whole cluster
    expect(markdown.split(WAIT).length - 1).toBe(2 * nodes.length + 1);
    expect(markdown).toContain(
      `--timeout=10m || echo "$ns $workload did not roll out: see kubectl -n $ns describe $workload" >&2; done\n  done\ndone\n${WAIT}\n`,
    );
    expect(markdown).toContain('- storage: replicas rebuilt\n');
  });

  it('adds nothing when no component waits', () => {
    const markdown = text([]);
    expect(markdown).not.toContain('the runbook also waits for');
    expect(markdown).toMatch(/talosctl health -n \S+\n```/);
  });
});

describe('moving what a component keeps on a node before its drain', () => {
  const { input } = devRunbookInput();
  const cluster = resolvePlatform(testDefinition([haCluster()])).clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  const node = cluster.nodes.at(-1);
  if (node === undefined) throw new Error('no node');
  const first = cluster.controlPlanes[0]?.address;
  const hooks = {
    [node.hostname]: { reason: 'identity: its server moved off', commands: ['move-server'] },
  };
  const markdown = runbook({
    ...input,
    cluster,
    requirements: mergeTalosRequirements(cluster, []).merged,
    beforeNodeDrain: [{ component: 'identity', hooks }],
  });

  it('cordons the node and moves it before the drain of a reboot', () => {
    expect(markdown).toContain(
      `--mode=staged\nkubectl cordon ${node.hostname}\nmove-server\nkubectl drain ${node.hostname} `,
    );
    expect(markdown).toContain('- identity: its server moved off\n');
  });

  it('before a Talos upgrade too, and uncordons the node after it (Talos uncordons only a node it cordoned)', () => {
    expect(markdown).toContain(
      `kubectl cordon ${node.hostname}\nmove-server\nkubectl drain ${node.hostname} --ignore-daemonsets --delete-emptydir-data --timeout=5m &&\ntalosctl upgrade -n ${node.address} --image factory.talos.dev/installer/abc:v1.12.11 &&\nkubectl uncordon ${node.hostname} &&\ntalosctl health -n ${first}\n`,
    );
    // Only the node the component named.
    expect(markdown.split('move-server').length - 1).toBe(2);
  });

  it('on a control plane of a two-member etcd: health first, and the drain only on the node its cordon reached', () => {
    // The forced upgrade's own health check comes before the cordon (it fails while a node is
    // cordoned); the component's lines between the cordon and the drain are not chained, so the
    // drain checks that the cordon ran, which it does only after a passing health check
    const two = resolvePlatform(
      testDefinition([
        devCluster({
          nodes: [
            testNode({ hostname: 'dev-cp-1', address: '192.168.10.11' }),
            testNode({ hostname: 'dev-cp-2', address: '192.168.10.12' }),
            testNode({ hostname: 'dev-w-1', role: 'worker', address: '192.168.10.21' }),
          ],
        }),
      ]),
    ).clusters[0];
    if (two === undefined) throw new Error('no cluster');
    const text = runbook({
      ...input,
      cluster: two,
      requirements: mergeTalosRequirements(two, []).merged,
      beforeNodeDrain: [
        {
          component: 'identity',
          hooks: { 'dev-cp-2': { reason: 'moved', commands: ['move-server'] } },
        },
      ],
    });
    expect(text).toContain(
      [
        'talosctl health -n 192.168.10.11 &&',
        'kubectl cordon dev-cp-2 &&',
        'move-server',
        `[ "$(kubectl get node dev-cp-2 -o jsonpath='{.spec.unschedulable}')" = true ] &&`,
        'kubectl drain dev-cp-2 --ignore-daemonsets --delete-emptydir-data --timeout=5m &&',
        'talosctl upgrade -n 192.168.10.12 --image factory.talos.dev/installer/abc:v1.12.11 --force &&',
        'kubectl uncordon dev-cp-2 &&',
        'talosctl health -n 192.168.10.11',
      ].join('\n'),
    );
    // The node with no such lines keeps the plain chain
    expect(text).not.toContain("kubectl get node dev-cp-1 -o jsonpath='{.spec.unschedulable}'");
  });

  it("says, when a drain gives up, what the components' own budgets hold and what to do", () => {
    const held = runbook({
      ...input,
      cluster,
      requirements: mergeTalosRequirements(cluster, []).merged,
      drainHeld: [
        {
          component: 'storage',
          reason: 'Storage: its budget\n\n- wait',
          commands: ['show "$NODE"'],
        },
      ],
    });
    const section = held.slice(
      held.indexOf('## When a drain gives up'),
      held.indexOf('## Nodes: adding, retiring, replacing'),
    );
    expect(section).toContain('\nStorage: its budget\n\n- wait\n\n```sh\nshow "$NODE"\n```\n');
    // A one-node cluster drains only a node already removed from the definition (it shrank)
    const single = devRunbookInput();
    const text = runbook({
      ...single.input,
      drainHeld: [{ component: 'storage', reason: 'Storage: its budget', commands: ['show'] }],
    });
    expect(text).toContain('## When a drain gives up');
    expect(text).toContain('Storage: its budget');
    expect(text.match(/^kubectl drain .*$/gm)).toEqual([
      'kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m &&',
      'kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m &&',
    ]);
  });

  it('nothing on a one-node cluster, which is never drained', () => {
    const single = devRunbookInput();
    expect(single.cluster.nodes).toHaveLength(1);
    const host = single.cluster.nodes[0]?.hostname as string;
    const text = runbook({
      ...single.input,
      beforeNodeDrain: [
        { component: 'identity', hooks: { [host]: hooks[node.hostname] as never } },
      ],
    });
    expect(text).not.toContain('move-server');
    expect(text).not.toContain('identity: its server moved off');
  });
});

describe('the revision a cluster follows', () => {
  const { cluster, input } = devRunbookInput();
  const text = (revision: string | undefined): string =>
    runbook({
      ...input,
      ...(revision === undefined
        ? {}
        : { gitops: { namespace: 'argocd', root: 'dev-platform', revision, applications: [] } }),
    });

  it('says how to pin it: the definition, a build and the root Application applied again by hand', () => {
    // Given a cluster whose environment is pinned to a release tag
    const markdown = text('@homelab/chart-platform@1.2.0');
    // Then the runbook says the root follows the tag and every Application with it
    expect(markdown).toContain('### Moving this cluster to another revision');
    expect(markdown).toContain(
      'The root Application `dev-platform` renders `charts/platform` at `@homelab/chart-platform@1.2.0`',
    );
    expect(markdown).toContain(
      `\`repository.targetRevision.${cluster.environment}\` in the definition`,
    );
    // And how to move it: Git does not move the root, the operator applies it again
    const commands = shellBlocks(markdown)
      .flatMap(splitCommands)
      .map((words) => words.map((word) => word.text).join(' '));
    expect(commands).toContain(`kubectl apply -f clusters/${cluster.name}/root-application.yaml`);
    expect(commands).toContain(
      'kubectl -n argocd get application dev-platform -o jsonpath={.spec.source.targetRevision} {.status.sync.revision}{"\\n"}',
    );
    // And no longer claims that Argo CD syncs every change "from" the pinned revision
    expect(markdown).not.toContain('syncs the change from');
    expect(markdown).toContain(
      'Argo CD syncs the change once it is on `@homelab/chart-platform@1.2.0`, the revision the root',
    );
  });

  it('compares the root with the revision’s own before applying it, and says which tag to pick', () => {
    const markdown = text('@homelab/chart-platform@1.2.0');
    const commands = shellBlocks(markdown)
      .flatMap(splitCommands)
      .map((words) => words.map((word) => word.text));
    // The revision's own root file, and the sed that pins it to the revision (quoted for YAML)
    expect(commands).toContainEqual([
      'git',
      'show',
      '@homelab/chart-platform@1.2.0:clusters/dev/root-application.yaml',
    ]);
    expect(commands).toContainEqual([
      'sed',
      's|^    targetRevision: .*|    targetRevision: "@homelab/chart-platform@1.2.0"|',
    ]);
    // A release tags only the charts whose version moved
    expect(markdown).toContain('for each chart whose version moved, and only those');
    expect(markdown).not.toContain('a release tag such as `@homelab/chart-platform@1.2.0`');
  });

  it('builds, commits, pushes and fetches in one line that ends its block, then compares', () => {
    // Given the move to another revision
    const markdown = text('main');
    const moving = shellBlocks(
      markdown.slice(markdown.indexOf('### Moving this cluster to another revision')),
    ).map((block) => block.trimEnd().split('\n'));
    const at = moving.findIndex((block) => block.some((line) => line.includes('git commit')));
    // Then the commit, the push and the fetch (each may read the terminal) end their block, in
    // one list chained with && so that a failed build or an aborted commit stops what follows
    expect(moving[at]).toEqual([
      'pnpm build &&',
      'git add apps/homelab/platform.yaml charts clusters &&',
      'git commit &&',
      'git push &&',
      'git fetch origin --tags',
    ]);
    // And the comparison and the root's apply are the next block, the push no longer before them
    expect(moving[at + 1]?.[0]).toMatch(
      /^diff <\(git show main:clusters\/dev\/root-application\.yaml /,
    );
    expect(moving[at + 1]?.filter((line) => /\bgit (push|fetch)\b/.test(line))).toEqual([]);
    expect(moving.flat().filter((line) => /\bgit fetch\b/.test(line))).toHaveLength(1);
  });

  it('says the way back is Git: not argocd app rollback, which auto-sync refuses', () => {
    const markdown = text('main');
    const back = markdown.slice(markdown.indexOf('### Going back')).replace(/\s+/g, ' ');
    expect(back).toContain('revert the commit (`git revert <commit>`');
    expect(back).toContain('"rollback cannot be initiated when auto-sync is enabled"');
    expect(back).toContain('with self-heal Argo CD applies the revision');
    expect(text(undefined)).not.toContain('### Going back');
  });

  it('has no such section without a GitOps controller', () => {
    expect(text(undefined)).not.toContain('### Moving this cluster to another revision');
  });

  it('names a CRD bundle the cluster cannot take back, with the commands that let an older one apply, where it runs at or above its floor', () => {
    const withBundle = (version: string): string => {
      const application = devApplication('gateway-api-crds', {
        namespace: 'kube-system',
        critical: true,
      });
      const bundled: RunbookApplication = {
        ...application,
        bundle: {
          name: 'gateway-api-crds',
          description: `Gateway API ${version} CRDs (standard channel)`,
          version,
          source: {
            repoURL: 'https://example.org/gateway-api',
            path: 'crds',
            targetRevision: version,
          },
          kinds: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway' }],
          clusterResources: [],
          install: [],
          noDowngradeBelow: {
            version: 'v1.5.0',
            why: 'the older CRDs lack a version the newer stored',
            undo: ['kubectl delete customresourcedefinition tlsroutes.gateway.networking.k8s.io'],
          },
        },
      };
      return runbook({
        ...input,
        gitops: {
          namespace: 'argocd',
          root: 'dev-platform',
          revision: 'main',
          applications: [bundled],
        },
      });
    };
    const back = (markdown: string) =>
      markdown.slice(
        markdown.indexOf('### Going back'),
        markdown.indexOf('## When a drain gives up'),
      );
    // Given the bundle at its floor's side: the way back names it, why, and the commands
    const above = back(withBundle('v1.6.1'));
    expect(above.replace(/\s+/g, ' ')).toContain(
      'The Gateway API v1.6.1 CRDs (standard channel) (`dev-gateway-api-crds`) cannot go back below v1.5.0 on this cluster: the older CRDs lack a version the newer stored. `homelab build` refuses a revert that would take it there (`crd-bundle-downgrade`)',
    );
    expect(shellBlocks(above)).toEqual([
      'kubectl delete customresourcedefinition tlsroutes.gateway.networking.k8s.io\n',
    ]);
    // Below its floor there is nothing to keep: no such paragraph
    expect(back(withBundle('v1.4.1'))).not.toContain('cannot go back below');
  });
});

describe('the definition the runbook names', () => {
  it('is its path under the repository root, in a code span, or said in words', () => {
    expect(definitionText(undefined)).toBe('`apps/homelab/platform.yaml`');
    expect(definitionText('infra/homelab.yaml')).toBe('`infra/homelab.yaml`');
    // outside the repository, or a path Markdown would not keep as written
    expect(definitionText(null)).toBe('the platform definition');
    expect(definitionText('a`b/platform.yaml')).toBe('the platform definition');
    expect(definitionText('../platform.yaml')).toBe('the platform definition');
    expect(definitionText('my defs/platform.yaml')).toBe('the platform definition');
  });

  it('reads the same in every sentence of the runbook', () => {
    const { input } = devRunbookInput();
    const markdown = runbook({ ...input, definition: 'infra/homelab.yaml' });
    expect(markdown).toContain('is generated from `infra/homelab.yaml`;');
    expect(markdown).not.toContain('apps/homelab/platform.yaml');
  });

  it('is the one every build, check and changeset command of the runbook builds', () => {
    // `pnpm build` builds apps/homelab/platform.yaml whatever the runbook came from: the steps
    // of a runbook generated from another definition would build another platform and commit
    // the removal of this cluster's files.
    const { input } = devRunbookInput();
    const commands = (markdown: string): string[] =>
      shellBlocks(markdown)
        .flatMap((block) => splitCommands(block))
        .map((command) => command.map((word) => word.text).join(' '))
        .filter((command) => /^pnpm (build|homelab (build|check|changeset))\b/.test(command));
    const other = runbook({ ...input, definition: 'infra/homelab.yaml' });
    const built = commands(other);
    expect(built.length).toBeGreaterThanOrEqual(3);
    for (const command of built) expect(command).toMatch(/ --config infra\/homelab\.yaml$/);
    expect(built).toContain('pnpm homelab build --config infra/homelab.yaml');
    expect(built).toContain('pnpm homelab check --config infra/homelab.yaml');
    // and in prose
    expect(other.split('\n').slice(1).join('\n')).not.toContain('`pnpm build`');
    // The CLI compiled first, as `pnpm build` does before it builds (dist/ is not in Git)
    expect(other).toContain(
      'run `pnpm exec turbo run build --filter=@homelab/cli... && pnpm homelab build --config infra/homelab.yaml`',
    );
    // The workspace's own definition, or one the runbook cannot name: the workspace's script
    for (const definition of [undefined, 'apps/homelab/platform.yaml', null]) {
      const markdown = runbook(definition === undefined ? input : { ...input, definition });
      expect(commands(markdown), String(definition)).toContain('pnpm build');
      expect(commands(markdown).filter((command) => command.includes('--config'))).toEqual([]);
    }
  });
});

describe('adding, retiring and replacing nodes', () => {
  // A component that keeps something on prod-w-1 and on prod-cp-2 (storage nodes, say).
  const storage = component('storage', {
    nodeLifecycle: {
      joined: { 'prod-w-1': { reason: 'storage: disks up', commands: ['wait-disks prod-w-1'] } },
      retiring: {
        'prod-w-1': {
          reason: 'storage: replicas moved',
          commands: ['evict prod-w-1', 'wait-empty prod-w-1'],
        },
        'prod-cp-2': { reason: 'storage: replicas moved', commands: ['evict prod-cp-2'] },
      },
      lost: {
        'prod-cp-2': { reason: 'storage: node object gone', commands: ['wait-gone prod-cp-2'] },
      },
    },
  });
  const section = (markdown: string, from: string, to: string): string => {
    const start = markdown.indexOf(from);
    expect(start).toBeGreaterThanOrEqual(0);
    return markdown.slice(start, markdown.indexOf(to, start));
  };
  /** Each node's paragraph of a subsection: its commands, word by word. */
  const perNode = (text: string): Map<string, { text: string; commands: string[][] }> => {
    const out = new Map<string, { text: string; commands: string[][] }>();
    for (const part of text.split(/^\*\*/m).slice(1)) {
      const hostname = part.slice(0, part.indexOf('**'));
      const commands = shellBlocks(part)
        .flatMap((block) => splitCommands(block))
        .map((command) => command.map((word) => word.text));
      out.set(hostname, { text: part, commands });
    }
    return out;
  };
  const heads = (commands: string[][]): string[] =>
    commands.map((words) =>
      words.slice(0, words[0] === 'talosctl' && words[1] === '-n' ? 4 : 2).join(' '),
    );
  const nodes = (markdown: string) =>
    section(markdown, '## Nodes: adding, retiring, replacing', '## Removing');
  const adding = (markdown: string) =>
    perNode(section(nodes(markdown), '### Adding a node', '### Retiring'));
  const retiring = (markdown: string) =>
    perNode(section(nodes(markdown), '### Retiring a node', '### Retiring a node no longer'));
  const replacing = (markdown: string) =>
    perNode(`${section(nodes(markdown), '### Replacing a dead node', '## Removing')}`);
  const rendered = (cluster: ReturnType<typeof haCluster>, registry = [cilium, storage]) =>
    file(talos([cluster], registry).files, `clusters/${cluster.name}/RUNBOOK.md`);
  const ha = rendered(haCluster());

  it('adds a node from the ISO at its DHCP address, with its role config and patch, then waits for it', () => {
    const worker = adding(ha).get('prod-w-1');
    const words = worker?.commands ?? [];
    expect(words).toContainEqual([
      'talosctl',
      'apply-config',
      '--insecure',
      '-n',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      '${NODE_PROD_W_1_DHCP:?set it to the address the node got from DHCP}',
      '-f',
      '$TALOS_DIR/worker.yaml',
      '--config-patch',
      '@clusters/prod/talos/nodes/prod-w-1.yaml',
    ]);
    expect(heads(words)).toEqual([
      'export NODE_PROD_W_1_DHCP=',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl -n ${NODE_PROD_W_1_DHCP:?set it to the address the node got from DHCP} get',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl -n ${NODE_PROD_W_1_DHCP:?set it to the address the node got from DHCP} get',
      'talosctl apply-config',
      'kubectl wait',
      'kubectl wait',
      'talosctl health',
      'wait-disks prod-w-1',
    ]);
    // Talos wipes the disk its patch names (v1.12.11 install.go: FastWipe under WithForce): the
    // machine's links and disks are read first, in a block of their own, and what to look for is
    // said, as step 4 says it; the config is applied in the next block
    expect(words[1]?.slice(-5)).toEqual(['get', 'links', '--insecure', '-o', 'yaml']);
    expect(words[2]?.slice(-5)).toEqual(['get', 'disks', '--insecure', '-o', 'yaml']);
    const blocks = shellBlocks(worker?.text ?? '');
    expect(blocks).toHaveLength(2);
    expect(blocks[0]?.trimEnd().split('\n').at(-1)).toContain('get disks --insecure -o yaml');
    expect(blocks[1]?.split('\n')[0]).toMatch(/^talosctl apply-config /);
    expect(worker?.text).toContain('in `get links` look for ');
    expect(worker?.text).toContain('in\n`get disks` the install disk is ');
    expect(worker?.text).toContain('Only where both show that, apply its config:');
    const cp1 = adding(ha).get('prod-cp-1')?.text ?? '';
    expect(cp1).toMatch(/the install disk is `dev_path: [^`]+`/);
    expect(words[4]).toEqual(['kubectl', 'wait', '--for=create', 'node/prod-w-1', '--timeout=30m']);
    expect(words[5]).toEqual([
      'kubectl',
      'wait',
      '--for=condition=Ready',
      'node/prod-w-1',
      '--timeout=30m',
    ]);
    expect(worker?.text).toContain('- storage: disks up');
    // A control plane joins etcd by itself (Talos v1.12 etcd service: a learner, promoted once it
    // caught up): no bootstrap, its membership checked from another control plane, and the
    // endpoints of talosctl listing every control plane
    const cp = adding(ha).get('prod-cp-1')?.commands ?? [];
    expect(cp.map((words) => words.join(' '))).toEqual(
      expect.arrayContaining([
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
        'talosctl apply-config --insecure -n ${NODE_PROD_CP_1_DHCP:?set it to the address the node got from DHCP} -f $TALOS_DIR/controlplane.yaml --config-patch @clusters/prod/talos/nodes/prod-cp-1.yaml',
        'talosctl -n 192.168.30.12 etcd members',
        'talosctl config endpoint 192.168.30.11 192.168.30.12 192.168.30.13',
      ]),
    );
    expect(cp.some((words) => words.includes('bootstrap'))).toBe(false);
    // the machine configs come from the current patches, without overwriting talosconfig
    expect(section(nodes(ha), '### Adding a node', '**prod-cp-1**')).toContain(
      '  --output-types controlplane,worker \\\n  --output-dir "$TALOS_DIR" --force',
    );
  });

  it('retires a node: cordon, what the components move away, drain, reset, delete, in that order', () => {
    const worker = retiring(ha).get('prod-w-1');
    expect(worker?.commands).toEqual([
      ['kubectl', 'cordon', 'prod-w-1'],
      ['evict', 'prod-w-1'],
      ['wait-empty', 'prod-w-1'],
      [
        'kubectl',
        'drain',
        'prod-w-1',
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--timeout=5m',
      ],
      // --graceful (the default, said anyway): Talos v1.12.11 cordons, drains and leaves etcd
      ['talosctl', 'reset', '-n', '192.168.30.21', '--graceful=true'],
      ['kubectl', 'delete', 'node', 'prod-w-1', '--timeout=2m'],
      ['talosctl', 'health', '-n', '192.168.30.11'],
    ]);
    expect(worker?.text).toContain('- storage: replicas moved');
    // a worker nothing is kept on goes without the components' steps
    expect(heads(retiring(ha).get('prod-w-3')?.commands ?? [])).toEqual([
      'kubectl cordon',
      'kubectl drain',
      'talosctl reset',
      'kubectl delete',
      'talosctl health',
    ]);
    // a control plane: etcd checked from another one before and after it leaves, talosctl's
    // endpoints without it, its Node deleted once it is down
    const cp2 = retiring(ha)
      .get('prod-cp-2')
      ?.commands.map((words) => words.join(' '));
    // first the etcd check (run below), then the rest of the chain
    expect(cp2?.[0]).toBe('members=$(talosctl -n 192.168.30.11 etcd members)');
    expect(cp2?.slice(cp2.indexOf('kubectl cordon prod-cp-2'))).toEqual([
      'kubectl cordon prod-cp-2',
      'evict prod-cp-2',
      'kubectl drain prod-cp-2 --ignore-daemonsets --delete-emptydir-data --timeout=5m',
      'talosctl reset -n 192.168.30.12 --graceful=true',
      'talosctl -n 192.168.30.11 etcd members',
      'talosctl config endpoint 192.168.30.11 192.168.30.13',
      'kubectl delete node prod-cp-2 --timeout=2m',
      'talosctl health -n 192.168.30.11',
    ]);
    // the first control plane talks to another one
    expect(retiring(ha).get('prod-cp-1')?.commands[0]?.join(' ')).toBe(
      'members=$(talosctl -n 192.168.30.12 etcd members)',
    );
  });

  it('retires a defined node as one chain: a refused etcd check or a wait that gives up stops it before anything changed or the drain', () => {
    // A pasted block runs every line whatever the one before did: the control plane's etcd check
    // (as "Retiring a node no longer in the definition" has it) and the components' waits must be
    // chained to what follows. Talos v1.12.11's graceful reset drains (errors only logged), then
    // leaves etcd (LeaveCluster gives up after 5 minutes without quorum): unchecked, a member down
    // left the node drained and half reset; and a Longhorn eviction wait that gave up was followed
    // by the drain and the reset that wipe the replicas it waited for.
    const dir = mkdtempSync(join(tmpdir(), 'retire-chain-'));
    try {
      const log = join(dir, 'calls');
      const stub = (name: string, body: string) =>
        writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}`, {
          mode: 0o755,
        });
      stub('kubectl', 'exit 0\n');
      stub('evict', 'exit 0\n');
      // the components' wait gives up (as after its deadline)
      stub('wait-empty', 'exit 1\n');
      const run = (block: string, talosctl: string): string[] => {
        stub('talosctl', talosctl);
        const runs = pasteShells().map((shell) => {
          writeFileSync(log, '');
          const result = spawnSync(shell.command, [...shell.args, block], {
            env: { PATH: `${dir}:/usr/bin:/bin`, TALOS_DIR: dir },
            encoding: 'utf8',
          });
          expect(result.error).toBeUndefined();
          return readFileSync(log, 'utf8')
            .split('\n')
            .filter((call) =>
              /^(kubectl (cordon|drain|delete node)|talosctl (reset|config endpoint))/.test(call),
            );
        });
        for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
        return runs[0] ?? [];
      };
      const block = (hostname: string) =>
        shellBlocks(retiring(ha).get(hostname)?.text ?? '')[0] as string;
      const members = ['192.168.30.11', '192.168.30.12', '192.168.30.13'];
      const names = { names: ['prod-cp-1', 'prod-cp-2', 'prod-cp-3'] };
      // every other member answers: the chain runs to its end
      expect(run(block('prod-cp-2'), etcdStub(members, members, false, names))).toEqual([
        'kubectl cordon prod-cp-2',
        'kubectl drain prod-cp-2 --ignore-daemonsets --delete-emptydir-data --timeout=5m',
        'talosctl reset -n 192.168.30.12 --graceful=true',
        'talosctl config endpoint 192.168.30.11 192.168.30.13',
        'kubectl delete node prod-cp-2 --timeout=2m',
      ]);
      // too few of the members that would remain answer, or one is a learner: nothing changed
      expect(run(block('prod-cp-2'), etcdStub(members, ['192.168.30.11'], false, names))).toEqual(
        [],
      );
      expect(run(block('prod-cp-2'), etcdStub(members, members, true, names))).toEqual([]);
      // the node is no member (etcd lists others, every one answering)
      const without = ['192.168.30.11', '192.168.30.13'];
      expect(
        run(
          block('prod-cp-2'),
          etcdStub(without, without, false, { names: ['prod-cp-1', 'prod-cp-3'] }),
        ),
      ).toEqual([]);
      // a worker whose Longhorn wait gave up is cordoned, and neither drained nor reset
      expect(run(block('prod-w-1'), 'exit 0\n')).toEqual(['kubectl cordon prod-w-1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a dead node as one chain: a member removal etcd refuses leaves the Node, a Node not deleted leaves what the components recover', () => {
    // A pasted block runs every line whatever the one before did: a remove-member that etcd
    // refused (no quorum, a wrong ID) was followed by the Node's deletion, and a deletion that
    // failed by the components' recovery of a node still registered.
    const dir = mkdtempSync(join(tmpdir(), 'replace-chain-'));
    try {
      const log = join(dir, 'calls');
      const stub = (name: string, body: string) =>
        writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}`, {
          mode: 0o755,
        });
      stub('wait-gone', 'exit 0\n');
      const block = (shellBlocks(replacing(ha).get('prod-cp-2')?.text ?? '')[0] as string).replace(
        'export ETCD_MEMBER=\n',
        'export ETCD_MEMBER=8f2c\n',
      );
      const run = (
        text: string,
        removeMember: number,
        deleteNode: number,
        shells = pasteShells(),
      ): string[] => {
        stub('talosctl', `case "$*" in *remove-member*) exit ${removeMember};; esac\nexit 0\n`);
        stub('kubectl', `exit ${deleteNode}\n`);
        const runs = shells.map((shell) => {
          writeFileSync(log, '');
          const result = spawnSync(shell.command, [...shell.args, text], {
            env: { PATH: `${dir}:/usr/bin:/bin` },
            encoding: 'utf8',
          });
          expect(result.error).toBeUndefined();
          return readFileSync(log, 'utf8')
            .split('\n')
            .filter((call) => /^(talosctl .*remove-member|kubectl delete|wait-gone)/.test(call));
        });
        for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
        return runs[0] ?? [];
      };
      // every command passes: the member, the Node, then the components' recovery
      expect(run(block, 0, 0)).toEqual([
        'talosctl -n 192.168.30.11 etcd remove-member 8f2c',
        'kubectl delete node prod-cp-2 --ignore-not-found --timeout=2m',
        'wait-gone prod-cp-2',
      ]);
      // etcd refuses the removal: the Node stays, nothing is recovered
      expect(run(block, 1, 0)).toEqual(['talosctl -n 192.168.30.11 etcd remove-member 8f2c']);
      // the Node's deletion fails: the components' recovery does not run
      expect(run(block, 0, 1)).toEqual([
        'talosctl -n 192.168.30.11 etcd remove-member 8f2c',
        'kubectl delete node prod-cp-2 --ignore-not-found --timeout=2m',
      ]);
      // pasted as it is into an interactive shell, without the member's ID: a failed `:?` there
      // ends only the command it is in, and the next line runs (a script would stop): nothing
      // is removed or deleted
      const pasted = shellBlocks(replacing(ha).get('prod-cp-2')?.text ?? '')[0] as string;
      expect(run(pasted, 0, 0, pasteShells('bash', ['-i']))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps etcd's quorum of three control planes: one at a time, never the last", () => {
    const text = section(nodes(ha), '### Retiring a node', '**prod-cp-1**');
    expect(text).toContain(
      'etcd has 3 members and\nneeds 2 of them up; once one has left, 2 remain and need\n2: a quorum still, but one more failure stops',
    );
    expect(text).toContain('never two at once,\nand never the last');
    expect(text).toContain('add the new one first, then retire the old one');
  });

  it('replaces a dead control plane: its etcd member removed from another, its Node deleted, before the new one joins', () => {
    const cp = replacing(ha).get('prod-cp-2');
    expect(cp?.commands.map((words) => words.join(' '))).toEqual([
      'talosctl -n 192.168.30.11 etcd members',
      'export ETCD_MEMBER=',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, on purpose
      'talosctl -n 192.168.30.11 etcd remove-member ${ETCD_MEMBER:?set it to the ID etcd members lists for this node}',
      'talosctl -n 192.168.30.11 etcd members',
      'kubectl delete node prod-cp-2 --ignore-not-found --timeout=2m',
      'wait-gone prod-cp-2',
    ]);
    expect(cp?.text).toContain('- storage: node object gone');
    // nothing is reset: the machine is gone
    expect(cp?.commands.some((words) => words.includes('reset'))).toBe(false);
    expect(replacing(ha).get('prod-w-2')?.commands).toEqual([
      ['kubectl', 'delete', 'node', 'prod-w-2', '--ignore-not-found', '--timeout=2m'],
    ]);
    // the dead node's leftovers go before the new machine is added
    const text = nodes(ha);
    expect(text.indexOf('### Replacing a dead node')).toBeGreaterThan(
      text.indexOf('### Adding a node'),
    );
    expect(section(text, '### Replacing a dead node', '**prod-cp-1**')).toContain(
      'remove it, from a control plane that is up, before the new machine joins',
    );
    // etcd removes a member only with a quorum of the members (Talos v1.12.11 remove-member is
    // etcd's MemberRemove): a majority dead is a rebuild
    expect(section(text, '### Replacing a dead node', '**prod-cp-1**')).toContain(
      'with a majority of the control planes dead, nothing can be removed',
    );
  });

  it('never retires nor replaces the only control plane, and retires workers around it', () => {
    const markdown = rendered(
      devCluster({
        nodes: [
          testNode({ hostname: 'dev-cp-1', address: '192.168.10.11' }),
          testNode({ hostname: 'dev-w-1', role: 'worker', address: '192.168.10.21' }),
        ],
      }),
    );
    const retire = retiring(markdown);
    expect(retire.get('dev-cp-1')?.commands).toEqual([]);
    expect(retire.get('dev-cp-1')?.text).toContain('it is the only control plane');
    expect(retire.get('dev-cp-1')?.text).toContain('It cannot be retired this way');
    expect(retire.get('dev-w-1')?.commands.map((words) => words.join(' '))).toEqual([
      'kubectl cordon dev-w-1',
      'kubectl drain dev-w-1 --ignore-daemonsets --delete-emptydir-data --timeout=5m',
      'talosctl reset -n 192.168.10.21 --graceful=true',
      'kubectl delete node dev-w-1 --timeout=2m',
      'talosctl health -n 192.168.10.11',
    ]);
    expect(nodes(markdown)).toContain('The cluster has one control plane, its only etcd member');
    expect(replacing(markdown).get('dev-cp-1')?.commands).toEqual([]);
    expect(replacing(markdown).get('dev-cp-1')?.text).toContain('rebuild the cluster');
    // No backup provider: a new cluster from every bring-up step, no disaster-recovery.md
    expect(replacing(markdown).get('dev-cp-1')?.text).toContain(
      `then run steps 2 to 7: the bootstrap makes a new, empty etcd`,
    );
    expect(markdown).not.toContain('disaster-recovery.md');
    // its own join is the bootstrap of steps 5-6, not a join
    expect(adding(markdown).has('dev-cp-1')).toBe(false);
    expect(adding(markdown).has('dev-w-1')).toBe(true);
  });

  it('says a one-node cluster can only grow, and points at a rebuild from the backups', () => {
    // With a backup provider (it writes the cluster's disaster-recovery.md)
    const backup = component('backups', {}, { provides: ['backup'] });
    const markdown = rendered(devCluster(), [cilium, storage, backup]);
    // a node already removed from the definition may still run (the cluster shrank to one)
    const text = nodes(markdown).replace(
      /### Retiring a node no longer in the definition[\s\S]*?(?=### Replacing)/,
      '',
    );
    expect(text).toContain('its node can be neither retired nor replaced');
    expect(text).toContain(
      "When it dies, rebuild the cluster on the new machine with the same `secrets.yaml` as `disaster-recovery.md` next to this runbook says: the machine from steps 2 to 5 (not step 6's bootstrap), etcd from its latest snapshot, then the volumes from their backups.",
    );
    // no "steps 2–7" with a bootstrap before the restore: disaster-recovery.md skips step 6
    expect(text).not.toContain('steps 2–7');
    const commands = shellBlocks(text)
      .flatMap((block) => splitCommands(block))
      .map((words) => words.map((word) => word.text).join(' '));
    expect(commands.some((line) => /reset|remove-member|delete node|drain/.test(line))).toBe(false);
    expect(markdown).toContain('(a rebuild, `disaster-recovery.md`)');
  });

  it('without a backup provider, rebuilds one node as a new cluster from every bring-up step, and names no disaster-recovery.md', () => {
    // Two bring-up steps of a component after Talos' seven
    const steps = component('platform', {
      bootstrap: [
        { title: 'Install a thing', body: ['It runs.'], commands: ['kubectl apply -f thing.yaml'] },
        { title: 'Check the thing', body: ['It answers.'], commands: ['kubectl get thing'] },
      ],
    });
    const markdown = rendered(devCluster(), [cilium, storage, steps]);
    // No backup provider writes clusters/<cluster>/disaster-recovery.md: the runbook names none
    expect(markdown).not.toContain('disaster-recovery.md');
    const last = Math.max(
      ...[...markdown.matchAll(/^## (\d+)\. /gm)].map((match) => Number(match[1])),
    );
    expect(last).toBe(9);
    expect(markdown).toContain('## 9. Check the thing');
    const text = nodes(markdown);
    expect(text).toContain(
      `(the exports of step 1, not its \`gen secrets\`, which refuses to overwrite it), then run steps 2 to ${last}: the bootstrap makes a new, empty etcd, and the platform comes back from Git. No backup component runs on this cluster, so what only the cluster held is lost:`,
    );
    expect(markdown).toContain(
      'From the secrets of step 1, so this step can run again (a rebuild):',
    );
    // The drain section speaks of the blocks that drain here: the retirements only
    expect(markdown).toContain(
      "`kubectl drain` in a node's block (a retirement: the one node's reboot and Talos upgrade blocks drain nothing)",
    );
    // Several nodes: every block that drains, and a majority lost is a new cluster too
    const ha = rendered(haCluster());
    expect(ha).toContain(
      "`kubectl drain` in a node's block (a reboot, a Talos upgrade, a retirement)",
    );
    expect(ha).toContain('the way back is a rebuild (steps 2 to');
    expect(ha).not.toContain('disaster-recovery.md');
  });

  it('refuses to retire the control plane whose address is the endpoint, and reaches the API through another while it is dead', () => {
    // Given three control planes and the endpoint at the first one's address (no VIP)
    const markdown = rendered(haCluster({ endpoint: 'https://192.168.30.11:6443' }));
    const cp1 = retiring(markdown).get('prod-cp-1');
    expect(cp1?.commands).toEqual([]);
    expect(cp1?.text).toContain('its address is the API endpoint');
    expect(heads(retiring(markdown).get('prod-cp-2')?.commands ?? [])).toContain('talosctl reset');
    expect(replacing(markdown).get('prod-cp-1')?.commands).toContainEqual([
      'kubectl',
      '--server',
      'https://192.168.30.12:6443',
      'delete',
      'node',
      'prod-cp-1',
      '--ignore-not-found',
      '--timeout=2m',
    ]);
  });
});

describe('the convergence wait', () => {
  const application = (name: string): RunbookApplication =>
    devApplication(name, { namespace: name, critical: false });
  const gitops = {
    namespace: 'argocd',
    root: 'dev-platform',
    revision: 'main',
    applications: [application('cilium'), application('argocd'), application('applications')],
  };
  const healthWait = (markdown: string) =>
    markdown
      .split('\n')
      .find((line) => line.includes("wait --for=jsonpath='{.status.health.status}'=Healthy"));

  it('waits for every Application when none depends on workloads deployed elsewhere', () => {
    const { input } = devRunbookInput();
    expect(healthWait(runbook({ ...input, gitops }))).toBe(
      "kubectl -n argocd wait --for=jsonpath='{.status.health.status}'=Healthy application --all --timeout=30m",
    );
  });

  it("names every other Application where one holds routes to the user's own workloads", () => {
    const { input } = devRunbookInput();
    const markdown = runbook({
      ...input,
      gitops: {
        ...gitops,
        external: [{ application: 'dev-applications', hosts: ['paperless', 'wiki'] }],
      },
    });
    expect(healthWait(markdown)).toBe(
      "kubectl -n argocd wait --for=jsonpath='{.status.health.status}'=Healthy application dev-cilium dev-argocd --timeout=30m",
    );
    expect(markdown).toContain(
      '`dev-applications` holds routes (`paperless`, `wiki`) to workloads you deploy yourself',
    );
    expect(markdown).toContain('the root Application `dev-platform` `Degraded`');
  });

  it('ends a root sync that waits on an Application, then starts one from the latest commit', () => {
    const { input } = devRunbookInput();
    const lines = runbook({ ...input, gitops }).split('\n');
    const at = lines.findIndex((line) => line.startsWith('A sync of the root Application waits'));
    expect(at).toBeGreaterThan(
      lines.findIndex((line) => line === '## Watching the platform converge'),
    );
    const block = lines.slice(
      lines.indexOf('```sh', at) + 1,
      lines.indexOf('```', lines.indexOf('```sh', at) + 1),
    );
    // Its running sync ended behind a test of the phase, then waited for, then a sync by hand
    // with the root's own options (none), prune and retry: Argo CD's automated sync would never
    // sync the ended revision again
    expect(block).toHaveLength(3);
    expect(block[0]).toBe(
      `[ "$(kubectl -n argocd get application dev-platform -o jsonpath='{.status.operationState.phase}')" != Running ] || kubectl -n argocd patch application dev-platform --type json -p '[{"op":"test","path":"/status/operationState/phase","value":"Running"},{"op":"replace","path":"/status/operationState/phase","value":"Terminating"}]'`,
    );
    expect(parseBoundedWait(block[1] ?? '')?.condition).toBe(
      `phase=$(kubectl -n argocd get application dev-platform -o jsonpath='{.status.operationState.phase}') && [ "$phase" != Running ] && [ "$phase" != Terminating ]`,
    );
    expect(block[2]).toBe(
      `kubectl -n argocd patch application dev-platform --type merge -p '{"operation":{"initiatedBy":{"username":"runbook"},"sync":{"prune":true,"syncOptions":[]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}'`,
    );
  });
});

describe('when a component is down and that blocks the cluster', () => {
  const { cluster, input } = devRunbookInput();
  const procedure = {
    component: 'admission',
    symptom: 'Namespace updates are refused.',
    diagnose: ['kubectl label namespace default probe=1 --dry-run=server'],
    diagnosis: 'The probe is refused while it is.',
    recover: ['kubectl -n admission rollout restart deployment webhook'],
    lift: [
      'kubectl patch validatingwebhookconfiguration admission --type=json -p \'[{"op":"replace","path":"/webhooks/1/failurePolicy","value":"Ignore"}]\'',
    ],
    verify: ['kubectl get validatingwebhookconfiguration admission'],
  };
  const gitops = {
    namespace: 'argocd',
    root: 'dev-platform',
    revision: 'main',
    applications: [
      {
        name: 'admission',
        component: 'admission',
        wave: 2,
        namespace: 'admission',
        critical: false,
        bundle: undefined,
        application: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: `${cluster.name}-admission`, namespace: 'argocd' },
          spec: {
            syncPolicy: {
              automated: { prune: true, selfHeal: true },
              syncOptions: ['ServerSideApply=true', 'RespectIgnoreDifferences=true'],
              retry: { limit: -1, refresh: true, backoff: { duration: '10s', maxDuration: '5m' } },
            },
          },
        },
      },
    ],
  };
  const section = (markdown: string): string =>
    markdown.slice(
      markdown.indexOf('## When a component is down'),
      markdown.indexOf('## Removing a component on purpose'),
    );
  const commands = (markdown: string): string[][] =>
    shellBlocks(section(markdown)).map((block) =>
      splitCommands(block).map((command) => command.map((word) => word.text).join(' ')),
    );

  it('suspends the auto-sync of the root and of the Application before the lift, and restores both after the sync', () => {
    const markdown = runbook({ ...input, gitops, whenDown: [procedure] });
    expect(section(markdown)).toContain('Namespace updates are refused.');
    // The procedure's own reading of its diagnosis, not another component's.
    expect(section(markdown)).toContain('Is it the cause? (The probe is refused while it is.)');
    const [diagnose, recover, lift, restore] = commands(markdown);
    expect(diagnose).toEqual(['kubectl label namespace default probe=1 --dry-run=server']);
    expect(recover).toEqual(['kubectl -n admission rollout restart deployment webhook']);
    // Each Application's automated sync off and the sync it runs ended (Argo CD retries a failed
    // sync whatever the policy says), the root's first, then the lift
    const terminate =
      '[{"op":"test","path":"/status/operationState/phase","value":"Running"},{"op":"replace","path":"/status/operationState/phase","value":"Terminating"}]';
    expect(lift?.filter((command) => command.startsWith('kubectl'))).toEqual([
      'kubectl -n argocd patch application dev-platform --type merge -p {"spec":{"syncPolicy":{"automated":null}}}',
      `kubectl -n argocd patch application dev-platform --type json -p ${terminate}`,
      'kubectl -n argocd patch application dev-admission --type merge -p {"spec":{"syncPolicy":{"automated":null}}}',
      `kubectl -n argocd patch application dev-admission --type json -p ${terminate}`,
      'kubectl patch validatingwebhookconfiguration admission --type=json -p [{"op":"replace","path":"/webhooks/1/failurePolicy","value":"Ignore"}]',
    ]);
    const ended = (app: string) =>
      lift?.indexOf(
        `until phase=$(kubectl -n argocd get application ${app} -o jsonpath={.status.operationState.phase})`,
      ) ?? -1;
    const paused = (app: string) =>
      lift?.indexOf(
        `kubectl -n argocd patch application ${app} --type merge -p {"spec":{"syncPolicy":{"automated":null}}}`,
      ) ?? -1;
    expect(ended('dev-platform')).toBeGreaterThan(paused('dev-platform'));
    expect(paused('dev-admission')).toBeGreaterThan(ended('dev-platform'));
    expect(ended('dev-admission')).toBeGreaterThan(paused('dev-admission'));
    expect(restore).toEqual([
      // Its own sync options and prune: Argo CD syncs with the operation's options only, so a
      // bare sync would apply client-side what the Application applies server-side; and its own
      // retry: Argo CD retries an operation by its `operation.retry` only
      'kubectl -n argocd patch application dev-admission --type merge -p {"operation":{"initiatedBy":{"username":"runbook"},"sync":{"prune":true,"syncOptions":["ServerSideApply=true","RespectIgnoreDifferences=true"]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","maxDuration":"5m"}}}}',
      'kubectl -n argocd wait --for=jsonpath={.status.sync.status}=Synced application dev-admission --timeout=10m',
      'kubectl get validatingwebhookconfiguration admission',
      // The Application's own automated policy, as the root deploys it
      'kubectl -n argocd patch application dev-admission --type merge -p {"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}',
      'kubectl apply -f clusters/dev/root-application.yaml',
      // The root synced by hand: Argo CD never syncs again by itself a revision whose last sync
      // was ended
      'kubectl -n argocd patch application dev-platform --type merge -p {"operation":{"initiatedBy":{"username":"runbook"},"sync":{"prune":true,"syncOptions":[]},"retry":{"limit":-1,"refresh":true,"backoff":{"duration":"10s","factor":2,"maxDuration":"5m"}}}}',
      'kubectl -n argocd wait --for=jsonpath={.status.sync.status}=Synced application dev-platform --timeout=10m',
    ]);
  });

  it('gives no lift without a GitOps controller, and no section without a procedure', () => {
    const without = runbook({ ...input, whenDown: [procedure] });
    expect(commands(without)).toHaveLength(2);
    expect(without).not.toContain('patch validatingwebhookconfiguration');
    expect(runbook({ ...input, gitops })).not.toContain('## When a component is down');
  });
});

describe('the sections after the bootstrap', () => {
  const { files } = talos([haCluster()], [cilium]);
  const markdown = file(files, 'clusters/prod/RUNBOOK.md');

  it('upgrades Kubernetes before any apply-config of the build, and replaces a machine with its disk selectors', () => {
    // `gen config --kubernetes-version` writes the new release's images (Talos v1.12.11
    // generate/init.go), which apply without a reboot: every node at once, without upgrade-k8s
    const kubernetes = markdown.slice(
      markdown.indexOf('### Kubernetes'),
      markdown.indexOf('### Platform charts'),
    );
    expect(kubernetes).toContain('Do this before any `apply-config` of that build');
    // A data disk selected by the dead machine's serial is never found on the new one
    const replacing = markdown.slice(markdown.indexOf('### Replacing a dead node'));
    expect(replacing).toContain(
      'change its `link`, `installDisk` and the\n`selector` of each of its `disks`',
    );
  });

  it("set step 1's and step 7's variables first, for a new shell, before any of them uses one", () => {
    const exports = [
      'export TALOS_DIR="$HOME"/.homelab/prod',
      'export TALOSCONFIG="$TALOS_DIR/talosconfig"',
      'export KUBECONFIG="$TALOS_DIR/kubeconfig"',
    ].join('\n');
    const lines = markdown.split('\n');
    const lastStep = lines.map((line) => /^## \d+\. /.test(line)).lastIndexOf(true);
    const after = lines.slice(lastStep + 1);
    const firstSection = after.findIndex(
      (line) => /^## /.test(line) && line !== '## Watching the platform converge',
    );
    const rest = after.slice(firstSection).join('\n');
    // the first block of the sections that may run in a new shell sets the three variables
    const firstBlock = /```sh\n([\s\S]*?)\n```/.exec(rest);
    expect(firstBlock?.[1]).toBe(exports);
    expect(rest.indexOf(exports)).toBeLessThan(rest.indexOf('## Logging in'));
    expect(rest.indexOf(exports)).toBeLessThan(rest.indexOf('## Later: changing Talos settings'));
    expect(rest.indexOf(exports)).toBeLessThan(rest.indexOf('## Upgrades'));
  });
});

describe('the prerequisites', () => {
  const step = (...commands: string[]) => ({ title: 't', body: [], commands });

  it('name every tool beyond talosctl, kubectl, helm and curl that a step runs', () => {
    expect(toolsText([])).toBe('`helm` 3 and `curl`');
    expect(
      toolsText([
        step(
          'kubectl -n monitoring create secret generic grafana-admin \\',
          "  --from-file=admin-password=<(openssl rand -base64 24 | tr -d '\\n') \\",
        ),
        step('argocd admin initial-password -n argocd'),
      ]),
    ).toBe('`helm` 3, `curl`, `openssl` and the Argo CD CLI (`argocd`)');
    // after a pipe, in a command substitution, on a line of its own
    expect(toolsText([step('kubectl get secret x | base64 -d | openssl x509 -noout')])).toBe(
      '`helm` 3, `curl` and `openssl`',
    );
    expect(toolsText([step('x=$(jq -r .a f)')])).toBe('`helm` 3, `curl` and `jq`');
  });

  it('leave out a tool only named: in a comment, an argument or a resource name', () => {
    expect(
      toolsText([
        step(
          '# then: openssl x509 -in ca.crt',
          'kubectl -n argocd get deployment argocd-server',
          'kubectl create namespace argocd',
        ),
      ]),
    ).toBe('`helm` 3 and `curl`');
  });
});

describe('changing Talos settings where a component reads a node setting only once', () => {
  // Longhorn builds a storage node's disks from its annotation only while it has none: its own
  // "Later" section says what to run before and after applying new configs, and this section,
  // where the operator applies them, must send them there.
  const { input } = devRunbookInput();
  const section = (markdown: string) =>
    markdown.slice(
      markdown.indexOf('## Later: changing Talos settings'),
      markdown.indexOf('## Upgrades'),
    );
  const pointer = 'says in its own "Later" section above what to run before these commands';

  it('points to the components\' "Later" sections when there are some', () => {
    const markdown = runbook({
      ...input,
      later: [
        { title: "changing a storage node's disks", body: ['Patch it.'], commands: ['true'] },
      ],
    });
    expect(section(markdown)).toContain(pointer);
    expect(markdown.indexOf("## Later: changing a storage node's disks")).toBeLessThan(
      markdown.indexOf('## Later: changing Talos settings'),
    );
  });

  it('says nothing of them when there is none', () => {
    expect(section(runbook(input))).not.toContain(pointer);
  });
});

describe('the LAN addresses the cluster answers for', () => {
  const reserved = (markdown: string): string =>
    markdown.slice(
      markdown.indexOf(
        "Addresses the LAN leaves to the cluster: keep them out of your DHCP server's range",
      ),
      markdown.indexOf('The security baseline'),
    );

  it('asks to keep the nodes and the L2-announced pool out of the DHCP range', () => {
    // Given a one-node cluster on 192.168.10.0/24 whose pool 192.168.10.224/27 is announced by L2
    // (the upper part of the /24, which a home router's DHCP range commonly covers)
    const { input } = devRunbookInput();
    expect(input.cluster.network.l2Announcements).toBeDefined();
    // When the runbook is rendered
    const section = reserved(runbook(input));
    // Then it names the node's address and every address of the pool, before the nodes boot
    expect(section).toContain("- the nodes' addresses: `192.168.10.11` (dev-cp-1)");
    expect(section).toContain(
      '- the LoadBalancer pool announced by ARP (`network.l2Announcements`): `192.168.10.224/27` (pool `default`)',
    );
    expect(section).not.toContain('VIP');
  });

  it("names the control planes' VIP, and no pool that BGP routes off the LAN", () => {
    // Given the reference's production cluster (a VIP endpoint, its pool announced by BGP)
    const platform = resolvePlatform(testDefinition(testReferenceClusters()));
    const cluster = platform.clusters.find(({ name }) => name === 'prod');
    if (cluster === undefined) throw new Error('no prod');
    const { input } = devRunbookInput();
    const markdown = runbook({
      ...input,
      cluster,
      requirements: mergeTalosRequirements(cluster, []).merged,
      patches: { vip: '192.168.3.10' } as never,
    });
    // Then the VIP and all six nodes are listed, the routed pool is not
    const section = reserved(markdown);
    expect(section).toContain("- the API endpoint's VIP `192.168.3.10`");
    expect(section.match(/`192\.168\.3\.\d+` \(prod-/g)).toHaveLength(6);
    expect(section).not.toContain('LoadBalancer pool');
  });
});
