// The one test factory of the repository (`@homelab/core/testing`): typed builders of definitions
// that go through the real validator (schema composed from the given components, semantic checks,
// merged settings) and throw, listing every issue, when the definition is invalid; and small
// components built from a spec, for tests of the pipeline and the assemblers.
import {
  type ComponentsResult,
  componentSettings,
  isEnabled,
  type Registry,
  runComponents,
  type SettingsValidator,
  settingsPath,
} from './components.js';
import type {
  AnyComponent,
  Capability,
  CapabilityFacts,
  ClusterContribution,
  ComponentOutput,
  JsonSchema,
  RenderInput,
} from './contract.js';
import { composeDefinitionSchema, settingsSchema } from './definition-schema.js';
import type { Cluster, EnvironmentName, Node, PlatformDefinition } from './generated/platform.js';
import { formatIssue, hasErrors, type Issue } from './issues.js';
import { type DefinitionValidator, definitionValidator, validateDefinition } from './load.js';
import { resolvePlatform } from './resolve.js';
import { createSchemaValidator } from './schema-validate.js';
import type { ChartSpec, ResolvedPlatform, Values } from './types.js';

type Network = Cluster['network'];

/** A node; role control plane and install disk /dev/sda unless overridden. */
export function testNode(overrides: Partial<Node> & Pick<Node, 'hostname' | 'address'>): Node {
  return {
    role: 'controlplane',
    link: { hardwareAddr: testMac(overrides.address) },
    installDisk: '/dev/sda',
    ...overrides,
  };
}

/**
 * A locally administered MAC address derived from an IPv4 address (02:00:<the four octets>), so
 * that every test node has its own network card.
 */
export function testMac(address: string): string {
  const octets = address.split('.').map(Number);
  const bytes =
    octets.length === 4 && octets.every((o) => o >= 0 && o <= 255) ? octets : [0, 0, 0, 0];
  return ['02', '00', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** `count` nodes of `role` in 192.168.<index>.0/24, from .<first>. */
export function testNodes(
  cluster: string,
  index: number,
  count: number,
  role: Node['role'] = 'controlplane',
  first = 11,
): Node[] {
  return Array.from({ length: count }, (_, i) =>
    testNode({
      hostname: `${cluster}-${role === 'controlplane' ? 'cp' : 'w'}${i + 1}`,
      address: `192.168.${index}.${first + i}`,
      role,
    }),
  );
}

/**
 * The address plan of cluster `index`: the LAN 192.168.<index>.0/24, nodes in its lower half, one
 * LoadBalancer pool in its upper range (as the reference platform lays out a router's LAN), its
 * own pod and service networks, L2 announcements.
 */
export function testNetwork(index: number, overrides: Partial<Network> = {}): Network {
  return {
    lanCidr: `192.168.${index}.0/24`,
    nodeCidr: `192.168.${index}.0/25`,
    gateway: `192.168.${index}.1`,
    podCidr: `10.${100 + index}.0.0/16`,
    serviceCidr: `10.${200 + index}.0.0/16`,
    loadBalancerPools: [{ name: 'default', cidr: `192.168.${index}.224/27` }],
    l2Announcements: {},
    ...overrides,
  };
}

/**
 * A cluster on its own address plan (`index` 1–250) with `controlPlanes` control planes (default
 * 1) and `workers` workers (default 0), unless `nodes` is given.
 */
export function testCluster(
  name: string,
  environment: EnvironmentName,
  index: number,
  overrides: Partial<Cluster> & { readonly controlPlanes?: number; readonly workers?: number } = {},
): Cluster {
  const { controlPlanes = 1, workers = 0, ...rest } = overrides;
  return {
    name,
    environment,
    talos: { version: 'v1.12.11' },
    kubernetes: { version: '1.34.2' },
    endpoint: `https://192.168.${index}.10:6443`,
    network: testNetwork(index),
    nodes: [
      ...testNodes(name, index, controlPlanes),
      ...testNodes(name, index, workers, 'worker', 21),
    ] as [Node, ...Node[]],
    ...rest,
  };
}

/** dev (1 node, L2), staging (3 control planes, L2), prod (3 + 3 workers, BGP). */
export function testReferenceClusters(): [Cluster, ...Cluster[]] {
  // BGP: the pool is routed, off the nodes' LAN, which is then the node range (no lanCidr).
  const { l2Announcements: _l2, lanCidr: _lan, ...prodNetwork } = testNetwork(3);
  return [
    testCluster('dev', 'development', 1),
    testCluster('staging', 'staging', 2, {
      nodes: testNodes('staging', 2, 3) as [Node, ...Node[]],
    }),
    testCluster('prod', 'production', 3, {
      nodes: [...testNodes('prod', 3, 3), ...testNodes('prod', 3, 3, 'worker', 21)] as [
        Node,
        ...Node[],
      ],
      network: {
        ...prodNetwork,
        bgp: { localAsn: 64513, peers: [{ name: 'router', address: '192.168.3.1', asn: 64512 }] },
      },
    }),
  ];
}

/** A definition of `clusters` (plain data; pass it to `validDefinition` or `testRun`). */
export function testDefinition(
  clusters: readonly Cluster[],
  overrides: Partial<PlatformDefinition> & { readonly components?: Values } = {},
): PlatformDefinition {
  const [first, ...rest] = clusters;
  if (first === undefined) throw new Error('testDefinition needs at least one cluster');
  return {
    platform: { name: 'homelab', domain: 'lab.example.com' },
    repository: { url: 'https://git.example.com/homelab/platform.git' },
    clusters: [first, ...rest],
    ...overrides,
  } as PlatformDefinition;
}

// Compiling a schema costs far more than a test's render: the factory compiles each distinct
// schema once per test file (keyed by its text, so two test components of one name but
// different settings never share a validator).
const definitionValidators = new Map<string, DefinitionValidator>();
const settingsValidators = new Map<string, (data: unknown) => Issue[]>();

function cachedDefinitionValidator(registry: Registry): DefinitionValidator {
  const schema = composeDefinitionSchema(registry);
  const key = JSON.stringify(schema);
  let validator = definitionValidators.get(key);
  if (validator === undefined) {
    validator = definitionValidator(schema);
    definitionValidators.set(key, validator);
  }
  return validator;
}

/** The settings validator of the real pipeline, with each component's schema compiled once. */
const validateSettings: SettingsValidator = (component, settings) => {
  const schema = settingsSchema(component);
  const key = JSON.stringify(schema);
  let validate = settingsValidators.get(key);
  if (validate === undefined) {
    validate = createSchemaValidator(schema);
    settingsValidators.set(key, validate);
  }
  return validate(settings);
};

/**
 * `definition`, checked by the real validator of a platform made of `registry` (composed schema,
 * semantic checks, every component's merged settings on every cluster). Throws an Error listing
 * every error when it is invalid: a test never builds on an invalid definition by accident.
 */
export function validDefinition(definition: unknown, registry: Registry = []): PlatformDefinition {
  const loaded = validateDefinition(definition, cachedDefinitionValidator(registry));
  const issues: Issue[] = [...loaded.issues];
  if (loaded.definition !== undefined) {
    const platform = resolvePlatform(loaded.definition);
    for (const cluster of platform.clusters) {
      for (const component of registry) {
        const settings = componentSettings(platform, component, cluster);
        if (!isEnabled(settings)) continue;
        issues.push(
          ...validateSettings(component, settings).map((issue) => ({
            ...issue,
            path: settingsPath(cluster, component.name, ...issue.path),
          })),
        );
      }
    }
  }
  if (loaded.definition === undefined || hasErrors(issues)) {
    const errors = issues.filter((issue) => issue.severity === 'error').map(formatIssue);
    throw new Error(`invalid test definition:\n  ${errors.join('\n  ')}`);
  }
  return loaded.definition;
}

/** The platform of a valid definition, and what `registry`'s components make of it. */
export function testRun(
  definition: unknown,
  registry: Registry,
): { readonly platform: ResolvedPlatform; readonly components: ComponentsResult } {
  const platform = resolvePlatform(validDefinition(definition, registry));
  return { platform, components: runComponents(platform, registry, { validateSettings }) };
}

/** What a test component contributes on every cluster it is enabled on. */
export interface TestComponentSpec {
  readonly name: string;
  readonly provides?: readonly Capability[];
  readonly needs?: readonly Capability[];
  readonly uses?: readonly Capability[];
  /** Its contribution on each cluster (facts included). */
  readonly contribution?: (cluster: string) => ClusterContribution;
  /** Render a chart with an empty layer per cluster (default true when it declares an Application). */
  readonly chart?: boolean;
  /** Settings schema properties (default: none). */
  readonly settings?: { readonly [key: string]: JsonSchema };
  /** Default settings (e.g. `{ enabled: false }`). */
  readonly defaults?: Values;
  readonly render?: (input: RenderInput<Values>) => ComponentOutput;
}

function emptyChart(name: string, clusters: readonly string[]): ChartSpec {
  return {
    name,
    description: `${name} (test component)`,
    appVersion: '1.0.0',
    values: {},
    environments: {},
    clusters: Object.fromEntries(clusters.map((cluster) => [cluster, {}])),
    readme: { summary: `${name} for tests.` },
  };
}

/** A component built from a spec, going through the contract like any other. */
export function testComponent(spec: TestComponentSpec): AnyComponent {
  const contribution = spec.contribution ?? (() => ({}));
  return {
    name: spec.name,
    description: `${spec.name} (test component).`,
    settings: {
      schema: {
        type: 'object',
        additionalProperties: false,
        properties: { ...(spec.settings ?? {}) },
      },
      defaults: spec.defaults ?? {},
    },
    provides: spec.provides ?? [],
    needs: spec.needs ?? [],
    ...(spec.uses === undefined ? {} : { uses: spec.uses }),
    upstream: [],
    declare: (input) => contribution(input.cluster.name),
    render:
      spec.render ??
      ((input) => {
        const clusters = input.clusters.map((entry) => entry.cluster.name);
        const wantsChart =
          spec.chart ?? input.clusters.some((entry) => entry.own.application !== undefined);
        return wantsChart ? { chart: emptyChart(spec.name, clusters) } : {};
      }),
  };
}

/**
 * Stands in for the `gateway` provider: the platform Gateway `platform` in namespace `gateway`,
 * serving `<cluster>.lab.example.com` on its `https` listener, without a pinned address or
 * forward authentication unless `facts` says otherwise for a cluster.
 */
export function testGateway(
  facts: (cluster: string) => Partial<CapabilityFacts['gateway']> = () => ({}),
): AnyComponent {
  return testComponent({
    name: 'gw',
    provides: ['gateway'],
    contribution: (cluster) => ({
      facts: {
        gateway: {
          name: 'platform',
          namespace: 'gateway',
          domain: `${cluster}.lab.example.com`,
          httpsListener: 'https',
          listenerPorts: [80, 443],
          address: undefined,
          forwardAuth: false,
          ...facts(cluster),
        },
      },
    }),
  });
}

/**
 * Stands in for the `certificates` provider (cert-manager): a ClusterIssuer whose certificates
 * come from a private CA of the platform or not, and are trusted or not (Let's Encrypt's staging).
 */
export function testCertificates(
  options: { readonly privateCa: boolean; readonly untrusted?: boolean } = { privateCa: false },
): AnyComponent {
  return testComponent({
    name: 'certs',
    provides: ['certificates'],
    contribution: () => ({
      facts: {
        certificates: {
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'private-ca' },
          privateCa: options.privateCa,
          ...(options.untrusted === true ? { untrusted: true } : {}),
        },
      },
    }),
  });
}
