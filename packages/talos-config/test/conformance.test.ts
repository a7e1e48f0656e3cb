// Conformance with upstream: every generated Talos patch validates against the machine-config
// JSON Schema of the cluster's Talos version, read from vendor/upstream/talos.
//
// Approach: a patch is a multi-document YAML file. A document with `kind` is a whole typed
// document (HostnameConfig, LinkConfig, ...) and validates, unchanged, against the `$defs` entry
// whose `kind` enum names it. A document without `kind` is a strategic-merge patch of the
// v1alpha1 document: it validates against `$defs["v1alpha1.Config"]` with every `required` list
// of the `v1alpha1.*` definitions removed (a patch carries only the fields it changes), while
// `additionalProperties: false` stays, so a misspelled or version-foreign field still fails.
import { readUpstream } from '@homelab/core/testing';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { renderTalos } from '../src/index.js';
import {
  asks,
  cilium,
  type Doc,
  devCluster,
  docs,
  haCluster,
  longhorn,
  nodeNeeds,
  talos,
  talosUnvalidated,
} from './helpers.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const VERSIONS = ['v1.11.6', 'v1.12.11', 'v1.13.9'] as const;

type Schema = {
  $id: string;
  $defs: Record<string, Record<string, unknown>>;
  oneOf: { $ref: string }[];
};

interface TalosSchema {
  /** Validates one document of a patch; returns the error texts (empty when valid). */
  check(document: Doc): string[];
  kinds: ReadonlySet<string>;
}

function loadSchema(version: string): Schema {
  return JSON.parse(readUpstream('talos', version, 'config.schema.json')) as Schema;
}

function talosSchema(version: string): TalosSchema {
  const schema = loadSchema(version);
  for (const [name, def] of Object.entries(schema.$defs)) {
    if (name.startsWith('v1alpha1.')) delete def.required;
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(schema);
  const byKind = new Map<string, ValidateFunction>();
  for (const [name, def] of Object.entries(schema.$defs)) {
    const kinds = ((def.properties as Record<string, { enum?: string[] }> | undefined)?.kind
      ?.enum ?? []) as string[];
    for (const kind of kinds)
      byKind.set(kind, ajv.compile({ $ref: `${schema.$id}#/$defs/${name}` }));
  }
  const v1alpha1 = ajv.compile({ $ref: `${schema.$id}#/$defs/v1alpha1.Config` });
  return {
    kinds: new Set(byKind.keys()),
    check(document) {
      const validate = document.kind === undefined ? v1alpha1 : byKind.get(document.kind);
      if (validate === undefined)
        return [`kind ${document.kind} is not in the Talos ${version} schema`];
      if (validate(document)) return [];
      return (validate.errors ?? []).map(
        (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
      );
    },
  };
}

/** Every document of every patch file (not schematic.yaml, not README.md). */
function patchDocuments(
  files: ReturnType<typeof renderTalos>['files'],
): { path: string; document: Doc }[] {
  return files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('/schematic.yaml'))
    .flatMap((f) => docs(files, f.path).map((document) => ({ path: f.path, document })));
}

describe.each(VERSIONS)('Talos %s', (version) => {
  const schema = talosSchema(version);
  const defs = loadSchema(version).$defs;
  // prod gets Cilium, Longhorn and one more sysctl; dev only Cilium.
  // prod-w-2 selects its install disk (machine.install.diskSelector), the others name it.
  const prod = haCluster({ talos: { version } });
  const clusters = [
    {
      ...prod,
      nodes: prod.nodes.map((node) =>
        node.hostname === 'prod-w-2'
          ? { ...node, installDisk: { serial: 'S6B0NL0W100002', model: 'Samsung SSD 980 PRO 1TB' } }
          : node,
      ) as typeof prod.nodes,
    },
    devCluster({
      talos: { version },
      components: {
        longhorn: { enabled: false },
        extra: { enabled: false },
        disks: { enabled: false },
      },
    }),
  ];
  const extra = asks('extra', { sysctls: { 'net.core.somaxconn': '4096' } });
  const { files, issues } = talos(clusters, [cilium, longhorn, extra, nodeNeeds]);
  const documents = patchDocuments(files);

  it('renders both clusters without issues', () => {
    expect(issues).toEqual([]);
    expect(files.filter((f) => f.path.includes('/nodes/'))).toHaveLength(8);
  });

  it('every document of every patch validates against the schema', () => {
    expect(documents.length).toBeGreaterThanOrEqual(10);
    const failures = documents.flatMap(({ path, document }) =>
      schema
        .check(document)
        .map((message) => `${path} (${document.kind ?? 'v1alpha1'}): ${message}`),
    );
    expect(failures).toEqual([]);
  });

  it('writes user volumes, node annotations and Talos API access this release accepts', () => {
    const worker = docs(files, 'clusters/prod/talos/nodes/prod-w-1.yaml');
    expect(worker.filter((d) => d.kind === 'UserVolumeConfig')).toEqual([
      {
        apiVersion: 'v1alpha1',
        kind: 'UserVolumeConfig',
        name: 'bulk',
        provisioning: {
          diskSelector: { match: 'disk.model == "WDC WD40EFRX" && !system_disk' },
          minSize: '1TiB',
          maxSize: '3TiB',
        },
      },
      {
        apiVersion: 'v1alpha1',
        kind: 'UserVolumeConfig',
        name: 'fast',
        provisioning: {
          diskSelector: {
            match: 'disk.serial == "S5XYZ" && disk.transport == "nvme" && !system_disk',
          },
          minSize: '100GiB',
          grow: true,
        },
      },
    ]);
    const machine = worker.find((d) => d.kind === undefined).machine;
    expect(machine.nodeLabels['storage.homelab.dev/disks']).toBe('fast');
    expect(machine.nodeLabels['topology.kubernetes.io/zone']).toBe('rack-a');
    expect(Object.keys(machine.nodeAnnotations)).toEqual(['node.longhorn.io/default-disks-config']);
    const cp = docs(files, 'clusters/prod/talos/controlplane.yaml')[0];
    expect(cp.machine.features.kubernetesTalosAPIAccess).toEqual({
      enabled: true,
      allowedRoles: ['os:etcd:backup'],
      allowedKubernetesNamespaces: ['talos-backup'],
    });
    expect(docs(files, 'clusters/prod/talos/worker.yaml')[0].machine.features).toEqual({
      kubePrism: { enabled: true, port: 7445 },
    });
  });

  it("every LinkConfig route passes Talos' own validation: a destination, if any, is a prefix whose address is specified", () => {
    // pkg/machinery/config/types/network/link.go (v1.12.11, v1.13.9) refuses 0.0.0.0/0 and ::/0
    // ("route 0 destination must be a valid IP prefix"); the schema's pattern lets them through.
    // A route without destination is the default route of its gateway's family.
    const routes = documents.flatMap(({ path, document }) =>
      document.kind === 'LinkConfig'
        ? (document.routes as { destination?: string; gateway?: string }[]).map((route) => ({
            path,
            route,
          }))
        : [],
    );
    if (version === 'v1.11.6') {
      expect(routes).toEqual([]);
      return;
    }
    expect(routes.length).toBeGreaterThanOrEqual(4);
    const unspecified = routes.filter(({ route }) =>
      /^(0\.0\.0\.0|::|0:0:0:0:0:0:0:0)\//.test(route.destination ?? ''),
    );
    expect(unspecified).toEqual([]);
    expect(routes.every(({ route }) => route.gateway !== undefined)).toBe(true);
  });

  it('fails validation on a misspelled user volume field (provisioning.minsize)', () => {
    const errors = schema.check({
      apiVersion: 'v1alpha1',
      kind: 'UserVolumeConfig',
      name: 'fast',
      provisioning: { diskSelector: { match: '!system_disk' }, minsize: '1GiB' },
    });
    expect(errors.some((e) => e.includes('"additionalProperty":"minsize"'))).toBe(true);
  });

  it('uses the network documents exactly where the version has them', () => {
    const kinds = new Set(
      documents
        .map(({ document }) => document.kind)
        .filter(
          (kind) => kind !== undefined && kind !== 'UserVolumeConfig' && kind !== 'VolumeConfig',
        ),
    );
    // The firewall's documents exist on every supported line (Talos >= 1.6).
    for (const kind of ['NetworkDefaultActionConfig', 'NetworkRuleConfig']) {
      expect(kinds.has(kind)).toBe(true);
      expect(schema.kinds.has(kind)).toBe(true);
      kinds.delete(kind);
    }
    if (version === 'v1.11.6') {
      expect(kinds).toEqual(new Set());
      expect(defs['network.HostnameConfigV1Alpha1']).toBeUndefined();
    } else {
      expect(kinds).toEqual(
        new Set([
          'HostnameConfig',
          'LinkAliasConfig',
          'LinkConfig',
          'Layer2VIPConfig',
          'ResolverConfig',
        ]),
      );
      for (const kind of kinds) expect(schema.kinds.has(kind)).toBe(true);
    }
  });

  it('fails validation on a misspelled field (machine.kubelett)', () => {
    const first = documents.find(({ path }) => path.endsWith('/controlplane.yaml'))?.document;
    expect(first).toBeDefined();
    const broken = { ...first, machine: { ...first.machine, kubelett: first.machine.kubelet } };
    const errors = schema.check(broken);
    expect(errors.some((e) => e.includes('"additionalProperty":"kubelett"'))).toBe(true);
  });

  it('fails validation on a wrong type (KubePrism port as text)', () => {
    const first = documents.find(({ path }) => path.endsWith('/worker.yaml'))?.document;
    const broken = {
      ...first,
      machine: { ...first.machine, features: { kubePrism: { enabled: true, port: '7445' } } },
    };
    expect(
      schema
        .check(broken)
        .some((e) => e.startsWith('/machine/features/kubePrism/port must be integer')),
    ).toBe(true);
  });
});

describe('version-specific fields', () => {
  it('the v1.11 machine.network block is refused by the v1.13 schema (why 1.12+ use documents)', () => {
    const v111 = talos([devCluster({ talos: { version: 'v1.11.6' } })]);
    const node = docs(v111.files, 'clusters/dev/talos/nodes/dev-cp-1.yaml')[0];
    expect(talosSchema('v1.11.6').check(node)).toEqual([]);
    expect(
      talosSchema('v1.13.9')
        .check(node)
        .some((e) => e.includes('"additionalProperty":"network"')),
    ).toBe(true);
  });

  it('a misspelled field of a typed document fails (HostnameConfig.hostnam)', () => {
    const schema = talosSchema('v1.12.11');
    expect(schema.check({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostnam: 'x' })).toEqual([
      '/ must NOT have additional properties {"additionalProperty":"hostnam"}',
    ]);
  });

  it('Talos 1.14 moves kubelet, install and cluster networking out of v1alpha1, and the generator refuses it', () => {
    const v113 = talos([devCluster({ talos: { version: 'v1.13.9' } })], [cilium]);
    const patch = docs(v113.files, 'clusters/dev/talos/controlplane.yaml')[0];
    expect(talosSchema('v1.13.9').check(patch)).toEqual([]);
    const errors = talosSchema('v1.14.0-rc.1').check(patch);
    for (const field of ['kubelet', 'install', 'network', 'proxy']) {
      expect(errors.some((e) => e.includes(`"additionalProperty":"${field}"`))).toBe(true);
    }
    expect(() => talos([devCluster({ talos: { version: 'v1.14.0' } })], [cilium])).toThrow(
      'clusters[0].talos.version: "v1.14.0" is refused',
    );
    const { files, issues } = talosUnvalidated(
      [devCluster({ talos: { version: 'v1.14.0' } })],
      [cilium],
    );
    expect(files).toEqual([]);
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      [['clusters', 0, 'talos', 'version'], 'talos-version-unsupported'],
    ]);
  });
});
