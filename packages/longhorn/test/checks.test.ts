// The layer-4 checks Longhorn brings, each passing on the reference shape and broken on purpose.
import {
  chartFiles,
  formatPath,
  type GeneratedFile,
  INITIAL_CHART_VERSION,
  parseBoundedWait,
  toYamlDocuments,
} from '@homelab/core';
import { describe, expect, test } from 'vitest';
import {
  backupCredentials,
  claimRecurringJobs,
  diskChanges,
  nodeLifecycle,
  replicasPerTier,
  talosPrerequisites,
  tierUsedWithoutDisks,
  upgradeDrain,
} from '../src/checks.js';
import {
  type AnyJson,
  consumer,
  definition,
  deployed,
  runLonghorn,
  storageClusters,
} from './helpers.js';

const platformOf = (run: ReturnType<typeof runLonghorn>) => run.platform;

describe('longhorn-replicas-per-tier', () => {
  test('passes when every tier has as many storage nodes with its disks as replicas', () => {
    const run = runLonghorn();
    expect(
      replicasPerTier.check({ platform: platformOf(run), clusters: deployed(run), files: [] }),
    ).toEqual([]);
  });

  test('fails when a tier asks for more replicas than nodes with a disk of it, naming them', () => {
    const clusters = storageClusters();
    // Only two prod workers keep their HDD: archive has 3 replicas on 2 nodes.
    const worker = clusters[2]?.nodes[5] as AnyJson;
    worker.disks = [worker.disks[0]];
    const run = runLonghorn(definition(clusters));
    const issues = replicasPerTier.check({
      platform: platformOf(run),
      clusters: deployed(run),
      files: [],
    });
    expect(issues.map((i) => [formatPath(i.path), i.message])).toEqual([
      [
        'clusters[2].components.longhorn.tiers.archive.replicas.production',
        'tier "archive" asks for 3 replicas on cluster "prod", but only 2 storage node(s) have a disk of that tier (prod-w1, prod-w2); its volumes would stay degraded',
      ],
    ]);
  });

  test('fails when the tier replicas are set above the nodes', () => {
    const run = runLonghorn(
      definition(storageClusters(), { tiers: { 'fast-storage': { replicas: { staging: 4 } } } }),
    );
    const issues = replicasPerTier.check({
      platform: platformOf(run),
      clusters: deployed(run),
      files: [],
    });
    expect(issues.map((i) => [i.code, i.value])).toEqual([['longhorn-replicas-per-tier', 4]]);
  });
});

describe('storage-tier-without-disks', () => {
  test('passes for volumes on tiers with disks', () => {
    const run = runLonghorn(definition(), [
      consumer('app', [{ name: 'data', namespace: 'apps', size: '1Gi', tier: 'fast-storage' }]),
    ]);
    expect(
      tierUsedWithoutDisks.check({ platform: platformOf(run), clusters: deployed(run), files: [] }),
    ).toEqual([]);
  });

  test('fails for a volume on a tier no storage node of the cluster has a disk of', () => {
    const run = runLonghorn(definition(), [
      consumer('app', [{ name: 'cold', namespace: 'apps', size: '1Ti', tier: 'archive' }]),
    ]);
    const issues = tierUsedWithoutDisks.check({
      platform: platformOf(run),
      clusters: deployed(run),
      files: [],
    });
    // dev and staging have no HDD; prod has.
    expect(issues.map((i) => [formatPath(i.path), i.value])).toEqual([
      ['clusters[0].components.app', 'archive'],
      ['clusters[1].components.app', 'archive'],
    ]);
    expect(issues[0]?.message).toBe(
      'app declares volume apps/cold on tier "archive", but no storage node of cluster "dev" has a disk of that tier, so there is no StorageClass for it',
    );
  });

  test("fails for a volume on a tier's scratch class, which keeps one replica and no backups", () => {
    const run = runLonghorn(definition(), [
      consumer('app', [
        { name: 'db', namespace: 'apps', size: '1Gi', tier: 'fast-storage-scratch' },
      ]),
    ]);
    const issues = tierUsedWithoutDisks.check({
      platform: platformOf(run),
      clusters: deployed(run),
      files: [],
    });
    expect(issues.map((i) => [formatPath(i.path), i.value])).toEqual([
      ['clusters[0].components.app', 'fast-storage-scratch'],
      ['clusters[1].components.app', 'fast-storage-scratch'],
      ['clusters[2].components.app', 'fast-storage-scratch'],
    ]);
  });
});

describe('longhorn-claim-recurring-jobs', () => {
  const run = () =>
    runLonghorn(definition(), [
      consumer('app', [{ name: 'db', namespace: 'apps', size: '1Gi', tier: 'fast-storage' }]),
    ]);
  const check = (clusters: AnyJson[], r = run()) =>
    claimRecurringJobs.check({ platform: platformOf(r), clusters, files: [] });
  /** dev's Applications with the claim of `app` changed by `edit`. */
  const devWith = (edit: (claim: AnyJson, application: AnyJson) => void): AnyJson[] => {
    const dev = structuredClone(deployed(run())[0]) as AnyJson;
    const app = dev.applications.find((a: AnyJson) => a.component === 'app');
    const claim = app.objects.find((o: AnyJson) => o.object.kind === 'PersistentVolumeClaim');
    edit(claim.object, app.application);
    return [dev];
  };

  test("passes on the build's claims: the source label and the tier's group", () => {
    const r = run();
    expect(check(deployed(r), r)).toEqual([]);
  });

  test('fails for a claim without the source label or its class group', () => {
    const issues = check(
      devWith((claim) => {
        delete claim.metadata.labels['recurring-job.longhorn.io/source'];
        delete claim.metadata.labels['recurring-job-group.longhorn.io/fast-storage'];
      }),
    );
    expect(issues.map((i) => [i.code, formatPath(i.path), i.value])).toEqual([
      [
        'longhorn-claim-recurring-jobs',
        'clusters[0].components.app',
        ['recurring-job.longhorn.io/source', 'recurring-job-group.longhorn.io/fast-storage'],
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'claim apps/db of app on cluster "dev" is on Longhorn class "fast-storage" without `recurring-job.longhorn.io/source: enabled`, `recurring-job-group.longhorn.io/fast-storage: enabled`: once the class\'s last recurring job is deleted Longhorn strips the group from its volume for good, and snapshots and backups given back later never reach it',
    );
  });

  test("fails for a claim naming another group than its class's selector", () => {
    const issues = check(
      devWith((claim) => {
        delete claim.metadata.labels['recurring-job-group.longhorn.io/fast-storage'];
        claim.metadata.labels['recurring-job-group.longhorn.io/standard'] = 'enabled';
      }),
    );
    expect(issues.map((i) => i.value)).toEqual([['recurring-job-group.longhorn.io/fast-storage']]);
  });

  test('fails for a claim on the default class (no storageClassName) without the labels', () => {
    const issues = check(
      devWith((claim) => {
        delete claim.spec.storageClassName;
        claim.metadata.labels = { app: 'db' };
      }),
    );
    expect(issues.map((i) => i.value)).toEqual([
      ['recurring-job.longhorn.io/source', 'recurring-job-group.longhorn.io/standard'],
    ]);
  });

  test("fails when the claim's Application ignores differences in its labels", () => {
    const issues = check(
      devWith((_claim, application) => {
        application.spec.ignoreDifferences = [
          { group: '', kind: 'PersistentVolumeClaim', jsonPointers: ['/metadata/labels'] },
        ];
      }),
    );
    expect(issues.map((i) => [i.code, i.value])).toEqual([
      ['longhorn-claim-recurring-jobs', 'app'],
    ]);
  });

  test('leaves claims on a class without recurring jobs (scratch) and made by hand alone', () => {
    const issues = check(
      devWith((claim) => {
        claim.spec.storageClassName = 'fast-storage-scratch';
        claim.metadata.labels = {};
      }).concat(
        devWith((claim) => {
          claim.spec.storageClassName = '';
          claim.metadata.labels = {};
        }),
      ),
    );
    expect(issues).toEqual([]);
  });
});

describe('longhorn-talos-prerequisites', () => {
  const run = runLonghorn();
  const dev = run.platform.clusters[0] as AnyJson;

  /** The Talos files of dev as talos-config writes them for Longhorn's needs. */
  function devFiles(
    options: { extensions?: string[]; mount?: boolean; label?: boolean; volume?: boolean } = {},
  ): GeneratedFile[] {
    const {
      extensions = ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'],
      mount = true,
      label = true,
      volume = true,
    } = options;
    const role = {
      machine: {
        kubelet: mount
          ? {
              extraMounts: [
                {
                  destination: '/var/lib/longhorn',
                  type: 'bind',
                  source: '/var/lib/longhorn',
                  options: ['bind', 'rshared', 'rw'],
                },
              ],
            }
          : {},
      },
    };
    const needs = run.components.clusters[0]?.contributions.get('longhorn')?.talos?.nodes?.[
      'dev-cp1'
    ] as AnyJson;
    const node = [
      {
        machine: {
          nodeLabels: label ? needs.labels : {},
          nodeAnnotations: needs.annotations,
        },
      },
      ...(volume
        ? [{ apiVersion: 'v1alpha1', kind: 'UserVolumeConfig', name: 'fast', provisioning: {} }]
        : []),
    ];
    const yaml = (docs: unknown[]) => toYamlDocuments(docs);
    return [
      {
        path: 'clusters/dev/talos/schematic.yaml',
        content: yaml([
          { customization: { systemExtensions: { officialExtensions: extensions } } },
        ]),
      },
      { path: 'clusters/dev/talos/controlplane.yaml', content: yaml([role]) },
      { path: 'clusters/dev/talos/worker.yaml', content: yaml([role]) },
      { path: 'clusters/dev/talos/nodes/dev-cp1.yaml', content: yaml(node) },
    ];
  }
  const check = (files: GeneratedFile[]) =>
    talosPrerequisites
      .check({ platform: run.platform, clusters: deployed(run).slice(0, 1), files })
      .map((i) => i.message);

  test('passes when the Talos material has the extensions, the mount, the label and the volumes', () => {
    expect(dev.name).toBe('dev');
    expect(check(devFiles())).toEqual([]);
  });

  test('fails without the iSCSI extension', () => {
    expect(check(devFiles({ extensions: ['siderolabs/util-linux-tools'] }))).toEqual([
      'Longhorn runs on cluster "dev" but the Talos image lacks the siderolabs/iscsi-tools extension',
    ]);
  });

  test('fails without the propagated data path', () => {
    expect(check(devFiles({ mount: false }))).toEqual([
      'Longhorn runs on cluster "dev" but the controlplane patch does not mount /var/lib/longhorn into the kubelet with bind, rshared, rw',
      'Longhorn runs on cluster "dev" but the worker patch does not mount /var/lib/longhorn into the kubelet with bind, rshared, rw',
    ]);
  });

  test('fails without the disk label or a data disk user volume', () => {
    expect(check(devFiles({ label: false, volume: false }))).toEqual([
      'storage node "dev-cp1" lacks the label node.longhorn.io/create-default-disk: config; Longhorn would create no disk there',
      'data disk "fast" of storage node "dev-cp1" has no UserVolumeConfig: /var/mnt/fast would not exist',
    ]);
  });

  test('has nothing to check where no GitOps controller deploys Longhorn', () => {
    const clusters = deployed(run)
      .slice(0, 1)
      .map((cluster) => ({ ...cluster, applications: [] }));
    expect(talosPrerequisites.check({ platform: run.platform, clusters, files: [] })).toEqual([]);
  });

  test('fails when no Talos material was generated at all', () => {
    expect(check([]).length).toBe(7);
  });
});

describe('longhorn-backup-credentials', () => {
  const run = runLonghorn();
  const files = () => {
    const chart = run.output.chart;
    if (chart === undefined) throw new Error('no chart');
    const generated = chartFiles(chart, INITIAL_CHART_VERSION).files;
    expect(generated.map((file) => file.path)).toContain('charts/longhorn/clusters/dev.yaml');
    return generated;
  };

  test('passes when the backup target Secret is declared with the S3 keys', () => {
    expect(
      backupCredentials.check({ platform: run.platform, clusters: deployed(run), files: files() }),
    ).toEqual([]);
  });

  test('fails when the values name a Secret nobody declares', () => {
    const renamed = files().map((file) => ({
      ...file,
      content: file.content.replace(
        'backupTargetCredentialSecret: longhorn-backup-s3',
        'backupTargetCredentialSecret: hand-made-s3',
      ),
    }));
    const issues = backupCredentials.check({
      platform: run.platform,
      clusters: deployed(run),
      files: renamed,
    });
    expect(issues.map((i) => [formatPath(i.path), i.message])[0]).toEqual([
      'clusters[0].components.longhorn.backupTarget.credentialsSecret',
      'Longhorn\'s backup target on cluster "dev" reads its S3 credentials from the Secret longhorn-system/hand-made-s3, which no component declares, so the secrets provider never fills it',
    ]);
    expect(issues).toHaveLength(3);
  });

  test('reads the setting where Helm does: from the environment layer too', () => {
    // The shape a fleet's chart has once an environment's clusters share their values
    // (core layers.ts): the cluster layer is empty, everything is in env/development.yaml.
    const chart = run.output.chart;
    if (chart === undefined) throw new Error('no chart');
    const moved = {
      ...chart,
      environments: { ...chart.environments, development: chart.clusters.dev ?? {} },
      clusters: { ...chart.clusters, dev: {} },
    };
    const generated = chartFiles(moved, INITIAL_CHART_VERSION).files.map((file) => ({
      ...file,
      content: file.content.replace(
        'backupTargetCredentialSecret: longhorn-backup-s3',
        'backupTargetCredentialSecret: hand-made-s3',
      ),
    }));
    const layer = generated.find((file) => file.path === 'charts/longhorn/env/development.yaml');
    expect(layer?.content).toContain('backupTargetCredentialSecret: hand-made-s3');
    const issues = backupCredentials.check({
      platform: run.platform,
      clusters: deployed(run),
      files: generated,
    });
    expect(issues.map((i) => i.code)).toContain('longhorn-backup-credentials');
    expect(issues[0]?.message).toContain('longhorn-system/hand-made-s3');
    // The issue names the layer that sets it.
    expect(issues[0]?.output).toBe(
      'charts/longhorn/env/development.yaml#longhorn.defaultBackupStore.backupTargetCredentialSecret',
    );
  });
});

describe('longhorn-node-lifecycle', () => {
  const run = runLonghorn();
  const staging = run.components.clusters.find((c) => c.cluster.name === 'staging');
  const longhorn = staging?.contributions.get('longhorn') as AnyJson;
  const hosts = ['staging-cp1', 'staging-cp2', 'staging-cp3'];

  /**
   * staging's runbook node lifecycle as talos-config renders it (each node's paragraph and
   * block), with Longhorn's commands, and its node patches; `edit` changes a node's lines.
   */
  function stagingFiles(
    edit: (kind: 'join' | 'retire', hostname: string, lines: string[]) => string[] = (_k, _h, l) =>
      l,
    editRemoved: (role: 'worker' | 'control plane', lines: string[]) => string[] = (_r, l) => l,
  ): GeneratedFile[] {
    const paragraph = (hostname: string, lines: string[]) =>
      `\n**${hostname}** (controlplane, x):\n\n\`\`\`sh\n${lines.join('\n')}\n\`\`\`\n`;
    // A node's paragraph under "Adding a node" has two blocks: the machine's links and disks
    // read first, then its config applied and what the components wait for.
    const adding = hosts.map(
      (hostname) =>
        `\n**${hostname}** (controlplane, x): in \`get links\` look for …\n\n\`\`\`sh\ntalosctl -n "$NODE_DHCP" get links --insecure -o yaml\ntalosctl -n "$NODE_DHCP" get disks --insecure -o yaml\n\`\`\`\n\nOnly where both show that, apply its config:\n${paragraph(
          hostname,
          edit('join', hostname, [
            `kubectl wait --for=condition=Ready node/${hostname} --timeout=30m`,
            ...longhorn.nodeLifecycle.joined[hostname].commands,
          ]),
        )
          .split('\n')
          .slice(2)
          .join('\n')}`,
    );
    // Under "Retiring a node", one chain.
    const retiring = hosts.map((hostname) =>
      paragraph(
        hostname,
        edit('retire', hostname, [
          `kubectl cordon ${hostname} &&`,
          ...longhorn.nodeLifecycle.retiring[hostname].commands.map((line: string) => `${line} &&`),
          `kubectl drain ${hostname} --ignore-daemonsets --delete-emptydir-data --timeout=5m &&`,
          'talosctl reset -n 10.0.0.1 --graceful=true &&',
          `kubectl delete node ${hostname}`,
        ]),
      ),
    );
    const removed = (['worker', 'control plane'] as const).map(
      (role) =>
        `\nA ${role}:\n\n\`\`\`sh\n${editRemoved(role, [
          'NODE=',
          'NODE_ADDRESS=',
          ...(role === 'control plane' ? ['members=$(talosctl -n 10.0.0.1 etcd members) &&'] : []),
          'kubectl cordon "$NODE" &&',
          ...longhorn.nodeLifecycle.retiringRemoved.commands.map((line: string) => `${line} &&`),
          'kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m &&',
          'talosctl reset -n "$NODE_ADDRESS" --graceful=true &&',
          'kubectl delete node "$NODE"',
        ]).join('\n')}\n\`\`\`\n`,
    );
    const runbook = [
      '## Nodes: adding, retiring, replacing\n',
      '### Adding a node\n',
      ...adding,
      '\n### Retiring a node\n',
      ...retiring,
      '\n### Retiring a node no longer in the definition\n',
      ...removed,
      '\n### Replacing a dead node\n',
    ].join('');
    return [
      { path: 'clusters/staging/RUNBOOK.md', content: runbook },
      ...hosts.map((hostname) => ({
        path: `clusters/staging/talos/nodes/${hostname}.yaml`,
        content: toYamlDocuments([
          {
            machine: {
              nodeLabels: longhorn.talos.nodes[hostname].labels,
              nodeAnnotations: longhorn.talos.nodes[hostname].annotations,
            },
          },
        ]),
      })),
    ];
  }
  const check = (files: GeneratedFile[]) =>
    nodeLifecycle
      .check({ platform: platformOf(run), clusters: deployed(run), files })
      .map((issue) => issue.message);

  test("passes when each storage node's replicas leave before its drain and reset, and its disks are waited for", () => {
    expect(check(stagingFiles())).toEqual([]);
  });

  test('fails when a node is reset before its replicas left', () => {
    const issues = check(
      stagingFiles((kind, hostname, lines) => {
        if (kind !== 'retire' || hostname !== 'staging-cp2') return lines;
        // the reset moved before the eviction
        const reset = lines.splice(
          lines.findIndex((line) => line.startsWith('talosctl reset')),
          1,
        );
        return [lines[0] as string, ...reset, ...lines.slice(1)];
      }),
    );
    expect(issues).toEqual([
      'the runbook retires storage node "staging-cp2" without evicting its Longhorn replicas and waiting until none is left before its drain and reset: the reset wipes them',
    ]);
  });

  test('fails when the reset is not chained to the drain (a pasted block resets after a drain that gave up)', () => {
    const issues = check(
      stagingFiles((kind, hostname, lines) =>
        kind === 'retire' && hostname === 'staging-cp3'
          ? lines.map((line) => line.replace(/ &&$/, ''))
          : lines,
      ),
    );
    expect(issues).toEqual([
      'the runbook resets storage node "staging-cp3" on a line not chained to its kubectl drain: a pasted block runs talosctl reset (which wipes the node\'s replicas) even after the drain gave up on a PodDisruptionBudget that protects a volume\'s last healthy replica',
    ]);
  });

  test('fails when the eviction is not waited for', () => {
    const issues = check(
      stagingFiles((kind, hostname, lines) =>
        kind === 'retire' && hostname === 'staging-cp1'
          ? lines.filter((line) => !line.includes('get replicas.longhorn.io'))
          : lines,
      ),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain('"staging-cp1" without evicting');
  });

  describe('a node no longer in the definition ($NODE)', () => {
    const removed = (editRemoved: (role: string, lines: string[]) => string[]) =>
      check(stagingFiles(undefined, editRemoved));
    const order = (role: string) =>
      `the runbook's block for a ${role} no longer in the definition does not patch its Longhorn node (allowScheduling false, evictionRequested true) and wait until no replica names it after kubectl cordon and before kubectl drain: the reset wipes the replicas still on the node, a volume's last healthy one included`;
    const chain = (role: string) =>
      `the runbook's block for a ${role} no longer in the definition does not chain its steps from kubectl cordon to kubectl drain with &&, the drain on the line right before talosctl reset: a pasted block runs the reset (which wipes the node's replicas) after the eviction failed or the drain gave up`;
    const isWait = (line: string) =>
      parseBoundedWait(line)?.condition.includes('get replicas.longhorn.io') === true;

    test('fails without the wait for the replicas', () => {
      expect(
        removed((role, lines) => (role === 'worker' ? lines.filter((l) => !isWait(l)) : lines)),
      ).toEqual([order('worker')]);
    });

    test('takes only a bounded wait (core boundedWait) for the wait', () => {
      // Given the worker's wait as a bare until loop, which could wait for ever
      expect(
        removed((role, lines) =>
          role === 'worker'
            ? lines.map((l) => {
                const wait = parseBoundedWait(l);
                return wait === undefined ? l : `until ${wait.condition}; do sleep 10; done &&`;
              })
            : lines,
        ),
      ).toEqual([order('worker')]);
    });

    test('fails when the eviction comes after the drain, or before the cordon', () => {
      expect(
        removed((role, lines) => {
          if (role !== 'control plane') return lines;
          const evict = lines.filter((l) => l.includes('nodes.longhorn.io') || isWait(l));
          const rest = lines.filter((l) => !evict.includes(l));
          const drain = rest.findIndex((l) => l.startsWith('kubectl drain'));
          return [...rest.slice(0, drain + 1), ...evict, ...rest.slice(drain + 1)];
        }),
      ).toEqual([order('control plane')]);
      expect(
        removed((role, lines) => {
          if (role !== 'worker') return lines;
          const cordon = lines.findIndex((l) => l.startsWith('kubectl cordon'));
          const [line] = lines.splice(cordon, 1);
          const drain = lines.findIndex((l) => l.startsWith('kubectl drain'));
          lines.splice(drain, 0, line as string);
          return lines;
        }),
      ).toEqual([order('worker')]);
    });

    test('fails when the drain or the wait is not chained with &&', () => {
      expect(
        removed((role, lines) =>
          role === 'worker'
            ? lines.map((l) => (l.startsWith('kubectl drain') ? l.replace(/ &&$/, '') : l))
            : lines.map((l) => (isWait(l) ? l.replace(/ &&$/, '') : l)),
        ),
      ).toEqual([chain('worker'), chain('control plane')]);
    });

    test('fails when the runbook has no such section', () => {
      const files = stagingFiles();
      const runbook = files[0] as GeneratedFile;
      const content = String(runbook.content).replace(
        '### Retiring a node no longer in the definition',
        '### Retiring a node long gone',
      );
      expect(check([{ ...runbook, content }, ...files.slice(1)])).toEqual([
        'the runbook of cluster "staging" has no block under "Retiring a node no longer in the definition": a node removed from the definition would be retired without its Longhorn replicas evicted',
      ]);
    });
  });

  test('fails when the join waits for other disks than the patch annotates', () => {
    const issues = check(
      stagingFiles((kind, hostname, lines) =>
        kind === 'join' && hostname === 'staging-cp3'
          ? lines.map((line) => line.replace(/ \{\.status\.diskStatus\.fast[^}]*\}/, ''))
          : lines,
      ),
    );
    expect(issues).toEqual([
      'the runbook waits, after storage node "staging-cp3" joined, for the disks system, but its patch annotates system, fast',
    ]);
  });
});

describe('longhorn-upgrade-drain', () => {
  const run = runLonghorn();
  const hosts = ['staging-cp1', 'staging-cp2', 'staging-cp3'];
  /** staging's rolling reboot and Talos upgrade blocks as talos-config renders them. */
  function stagingRunbook(edit: (hostname: string, lines: string[]) => string[] = (_h, l) => l) {
    const paragraph = (hostname: string, lines: string[]) =>
      `\n**${hostname}** (controlplane, x):\n\n\`\`\`sh\n${edit(hostname, lines).join('\n')}\n\`\`\`\n`;
    const drain = (hostname: string) =>
      `kubectl drain ${hostname} --ignore-daemonsets --delete-emptydir-data --timeout=5m &&`;
    const content = [
      '# Cluster\n\n## Later: changing Talos settings\n',
      ...hosts.map((hostname) =>
        paragraph(hostname, [
          'talosctl apply-config -n 10.0.0.1 --mode=staged',
          drain(hostname),
          'talosctl reboot -n 10.0.0.1 &&',
          `kubectl uncordon ${hostname} &&`,
          'talosctl health -n 10.0.0.1',
        ]),
      ),
      '\n## Upgrades\n\n### Talos\n',
      ...hosts.map((hostname) =>
        paragraph(hostname, [
          drain(hostname),
          'talosctl upgrade -n 10.0.0.1 --image x &&',
          `kubectl uncordon ${hostname} &&`,
          'talosctl health -n 10.0.0.1',
        ]),
      ),
      '\n### Kubernetes\n',
    ].join('');
    return [{ path: 'clusters/staging/RUNBOOK.md', content }];
  }
  const check = (files: GeneratedFile[]) =>
    upgradeDrain
      .check({ platform: platformOf(run), clusters: deployed(run), files })
      .map((issue) => issue.message);

  const unchained = (command: string, hostname: string) =>
    `the runbook runs talosctl ${command} on storage node "${hostname}" without a kubectl drain it is chained to (\`kubectl drain … &&\` on the line before): Talos' own drain gives up after 5 minutes and goes on, stopping the Longhorn instance manager whose PodDisruptionBudget protects an attached volume or a volume's last healthy replica, and a pasted block runs talosctl ${command} even after kubectl drain gave up`;

  test('passes when each storage node is drained before its upgrade and its reboot', () => {
    expect(check(stagingRunbook())).toEqual([]);
  });

  test("fails when a storage node's upgrade or reboot is left to Talos' own drain", () => {
    // Given staging-cp2's blocks without their kubectl drain (Talos v1.12.11 Drain gives up
    // after DrainTimeout, 5 minutes, and the upgrade goes on)
    const issues = check(
      stagingRunbook((hostname, lines) =>
        hostname === 'staging-cp2'
          ? lines.filter((line) => !line.startsWith('kubectl drain'))
          : lines,
      ),
    );
    expect(issues).toEqual([
      unchained('upgrade', 'staging-cp2'),
      unchained('reboot', 'staging-cp2'),
    ]);
    // A drain after the upgrade does not count
    const late = check(
      stagingRunbook((hostname, lines) =>
        hostname === 'staging-cp1' && lines.some((line) => line.startsWith('talosctl upgrade'))
          ? [...lines.slice(1), lines[0] as string]
          : lines,
      ),
    );
    expect(late).toHaveLength(1);
    expect(late[0]).toContain('talosctl upgrade on storage node "staging-cp1"');
    // A drain on its own line: a pasted block upgrades even after the drain gave up
    const alone = check(
      stagingRunbook((hostname, lines) =>
        hostname === 'staging-cp3' ? lines.map((line) => line.replace(/ &&$/, '')) : lines,
      ),
    );
    expect(alone).toEqual([
      unchained('upgrade', 'staging-cp3'),
      unchained('reboot', 'staging-cp3'),
    ]);
  });
});

describe('longhorn-disk-changes', () => {
  // longhorn-manager v1.8.1 syncDefaultDisks reads the node annotation only while the Longhorn
  // node has no disk: the runbook's later section must give each node exactly the annotated disks.
  const run = runLonghorn();
  const files = (
    cluster: string,
    edit: (hostname: string, lines: string[]) => string[] = (_h, l) => l,
  ): GeneratedFile[] => {
    const entry = run.components.clusters.find((c) => c.cluster.name === cluster);
    const longhorn = entry?.contributions.get('longhorn') as AnyJson;
    const body: string = longhorn.bootstrap[0].body.join('\n');
    const nodes = Object.keys(longhorn.talos.nodes);
    // each node's block edited as lines
    let edited = body;
    for (const hostname of nodes) {
      const at = edited.indexOf(`**${hostname}**`);
      const start = edited.indexOf('```sh\n', at) + '```sh\n'.length;
      const end = edited.indexOf('\n```', start);
      edited =
        edited.slice(0, start) +
        edit(hostname, edited.slice(start, end).split('\n')).join('\n') +
        edited.slice(end);
    }
    return [
      {
        path: `clusters/${cluster}/RUNBOOK.md`,
        content: `# Runbook\n\n## Later: changing a storage node's disks\n\n${edited}\n\n## Later: changing Talos settings\n\nx\n`,
      },
      ...nodes.map((hostname) => ({
        path: `clusters/${cluster}/talos/nodes/${hostname}.yaml`,
        content: toYamlDocuments([
          {
            machine: {
              nodeLabels: longhorn.talos.nodes[hostname].labels,
              nodeAnnotations: longhorn.talos.nodes[hostname].annotations,
            },
          },
        ]),
      })),
    ];
  };
  const check = (given: GeneratedFile[]) =>
    diskChanges
      .check({ platform: platformOf(run), clusters: deployed(run), files: given })
      .filter((issue) => issue.output === given[0]?.path)
      .map((issue) => issue.message);

  test('passes on what the component writes, on every cluster', () => {
    for (const cluster of ['dev', 'staging', 'prod']) expect(check(files(cluster))).toEqual([]);
  });

  test('fails when a disk gets other tags than its annotation', () => {
    const issues = check(
      files('prod', (hostname, lines) =>
        hostname === 'prod-w2'
          ? lines.map((line) => line.replace('["hdd","archive"]', '["hdd","fast-storage"]'))
          : lines,
      ),
    );
    expect(issues).toEqual([
      'the runbook does not give disk "bulk" what its annotation says (path /var/mnt/bulk, tags hdd, archive, storageReserved 1, scheduling on) (storage node "prod-w2"): Longhorn reads the node\'s disk annotation only while its Longhorn node has no disk, so a disk added or re-tagged in the definition reaches Longhorn only through this block',
    ]);
  });

  test('fails when a disk is left out, or one the annotation does not list is patched', () => {
    const dropBulk = (line: string) => line.replace(/,"bulk":\{[^}]*\}/, '');
    expect(
      check(files('prod', (h, lines) => (h === 'prod-w1' ? lines.map(dropBulk) : lines)))[0],
    ).toContain('does not give disk "bulk"');
    expect(
      check(
        files('prod', (h, lines) =>
          h === 'prod-w3' ? lines.map((line) => line.replaceAll('"bulk":', '"old":')) : lines,
        ),
      )[0],
    ).toContain('patches disks its annotation does not list: old');
  });

  test('fails without the wait until the disks are schedulable, or without the block', () => {
    expect(
      check(
        files('staging', (h, lines) =>
          h === 'staging-cp1' ? lines.filter((line) => !line.includes('Schedulable')) : lines,
        ),
      ),
    ).toEqual([
      expect.stringContaining(
        'does not wait, after its patches, until every annotated disk is Schedulable (storage node "staging-cp1")',
      ),
    ]);
    const given = files('dev');
    const runbook = given[0] as GeneratedFile;
    const without = { ...runbook, content: runbook.content.replace('**dev-cp1**', '**other**') };
    expect(check([without, ...given.slice(1)])).toEqual([
      expect.stringContaining(
        `has no block for it under "Later: changing a storage node's disks" (storage node "dev-cp1")`,
      ),
    ]);
  });
});
