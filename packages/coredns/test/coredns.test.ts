// CoreDNS on the contract: the Corefile from the definition (checked by a Corefile parser), the
// objects (checked against the Kubernetes schemas), HA per profile, the Service address kubelets
// use, Talos' CoreDNS disabled, the dns facts and flows, and clear errors for bad addresses.
import {
  type Cluster,
  type KubeObject,
  loadModelValidators,
  mergeValues,
  type Values,
  validateObjects,
} from '@homelab/core';
import {
  testComponent,
  testDefinition,
  testGateway,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { corednsComponent } from '../src/index.js';
import { parseCorefile } from './corefile-parser.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const cni = testComponent({ name: 'net', provides: ['cni'] });

const SETTINGS = {
  forwarders: ['1.1.1.1', '2606:4700:4700::1111'],
  cache: { ttl: 60, successSize: 20000 },
  zones: [
    {
      name: 'lab.example.com',
      records: [
        { name: 'nas', address: '10.0.0.5' },
        { name: '@', address: '10.0.0.1' },
      ],
    },
  ],
  stubDomains: [{ domain: 'corp.example', servers: ['10.8.0.53', '10.8.0.54'] }],
};

function run(settings: Values = SETTINGS, clusters: Cluster[] = testReferenceClusters()) {
  const { platform, components } = testRun(
    testDefinition(clusters, { components: { coredns: settings } }),
    [cni, corednsComponent],
  );
  const chart = components.components.find((c) => c.component.name === 'coredns')?.output.chart;
  const objects = (cluster: string): { [key: string]: AnyJson } => {
    const resolved = platform.clusters.find((c) => c.name === cluster);
    if (chart === undefined || resolved === undefined) throw new Error('no chart');
    return mergeValues(
      chart.values,
      chart.environments[resolved.environment] ?? {},
      chart.clusters[cluster] ?? {},
    ).manifests as { [key: string]: AnyJson };
  };
  return { platform, components, objects, issues: components.issues };
}

const reference = run();
const corefileOf = (cluster: string): string =>
  reference.objects(cluster)['configmap-coredns'].data.Corefile;

describe('the Corefile', () => {
  test('parses, with no problem, on every cluster', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect(parseCorefile(corefileOf(cluster)).problems).toEqual([]);
    }
  });

  test('serves the cluster zone from the API, forwards the rest, and caches with the given sizes', () => {
    const { blocks } = parseCorefile(corefileOf('prod'));
    const root = blocks.find((block) => block.keys[0]?.zone === '.');
    const directive = (name: string) => root?.directives.find((d) => d.name === name);
    expect(directive('kubernetes')?.args).toEqual(['cluster.local', 'in-addr.arpa', 'ip6.arpa']);
    expect(directive('forward')?.args).toEqual(['.', '1.1.1.1', '2606:4700:4700::1111']);
    expect(directive('cache')?.args).toEqual(['60']);
    expect(directive('cache')?.block?.map((d) => [d.name, d.args])).toEqual([
      ['success', ['20000']],
      ['denial', ['9984']],
    ]);
  });

  test('answers the split-horizon zone from its records, falling through to the forwarders', () => {
    const { blocks } = parseCorefile(corefileOf('dev'));
    const zone = blocks.find((block) => block.keys[0]?.zone === 'lab.example.com');
    const hosts = zone?.directives.find((d) => d.name === 'hosts');
    expect(hosts?.block?.map((d) => [d.name, ...d.args])).toEqual([
      ['10.0.0.5', 'nas.lab.example.com'],
      ['10.0.0.1', 'lab.example.com'],
      ['ttl', '60'],
      ['fallthrough'],
    ]);
    expect(zone?.directives.find((d) => d.name === 'forward')?.args).toEqual([
      '.',
      '1.1.1.1',
      '2606:4700:4700::1111',
    ]);
  });

  test('sends a stub domain to its own servers', () => {
    const { blocks } = parseCorefile(corefileOf('dev'));
    const stub = blocks.find((block) => block.keys[0]?.zone === 'corp.example');
    expect(stub?.directives.find((d) => d.name === 'forward')?.args).toEqual([
      '.',
      '10.8.0.53',
      '10.8.0.54',
    ]);
  });

  test('every server block feeds the metrics: the prometheus plugin on the one listener in each', () => {
    // CoreDNS counts a query only in a server block that has the plugin: without it a stub
    // domain's servers could answer nothing but SERVFAIL and CoreDNSServfailRatioHigh would
    // never see one of those answers.
    const { blocks } = parseCorefile(corefileOf('dev'));
    expect(
      blocks.map((block) => [
        block.keys[0]?.zone,
        block.directives.find((d) => d.name === 'prometheus')?.args,
      ]),
    ).toEqual([
      ['.', [':9153']],
      ['lab.example.com', [':9153']],
      ['corp.example', [':9153']],
    ]);
  });

  test('forwards to the cluster nameservers when the definition names no forwarder', () => {
    const plain = run({});
    const text = plain.objects('dev')['configmap-coredns'].data.Corefile as string;
    expect(parseCorefile(text).problems).toEqual([]);
    expect(text).toContain('forward . 192.168.1.1 {');
  });

  test('the parser rejects what CoreDNS would refuse', () => {
    expect(parseCorefile('.:53 {\n    forward . dns.google\n}\n').problems).toEqual([
      'line 2: forward upstream dns.google is not an address',
    ]);
    expect(parseCorefile('.:53 {\n    errors\n    cahce 30\n').problems).toEqual([
      'end of file: 1 unclosed block(s)',
      'line 3: unknown plugin "cahce"',
    ]);
    expect(
      parseCorefile('.:53 {\n    errors\n    errors\n}\nexample..com {\n}\n').problems,
    ).toEqual([
      'line 5: "example..com" is not a server key',
      'line 3: plugin "errors" appears twice in a server block',
    ]);
  });
});

describe("the platform Gateway's routed hosts", () => {
  // A `gateway` provider as the gateway component declares it (its zone is the cluster's domain,
  // its address the one the runbook's DNS record points at), and consumers that declare routes.
  const GATEWAY_ADDRESSES: { [cluster: string]: string } = {
    dev: '10.10.10.254',
    staging: '10.20.10.254',
    prod: '10.30.20.30',
  };
  const gatewayProvider = testGateway((cluster) => ({ address: GATEWAY_ADDRESSES[cluster] }));
  const route = (host: string) => ({
    name: host,
    host,
    namespace: host,
    service: host,
    port: 80,
    auth: { kind: 'none' as const, reason: 'test' },
  });
  const identity = testComponent({
    name: 'idp',
    uses: ['gateway'],
    contribution: () => ({ routes: [route('auth')] }),
  });
  const gitops = testComponent({
    name: 'ops',
    uses: ['gateway'],
    contribution: () => ({ routes: [route('argocd'), route('auth')] }),
  });
  function runWithGateway(settings: Values = SETTINGS, withRoutes = true) {
    const { platform, components } = testRun(
      testDefinition(testReferenceClusters(), { components: { coredns: settings } }),
      [cni, gatewayProvider, ...(withRoutes ? [identity, gitops] : []), corednsComponent],
    );
    const chart = components.components.find((c) => c.component.name === 'coredns')?.output.chart;
    const corefileText = (cluster: string): string => {
      const resolved = platform.clusters.find((c) => c.name === cluster);
      if (chart === undefined || resolved === undefined) throw new Error('no chart');
      const manifests = mergeValues(
        chart.values,
        chart.environments[resolved.environment] ?? {},
        chart.clusters[cluster] ?? {},
      ).manifests as { [key: string]: AnyJson };
      return manifests['configmap-coredns'].data.Corefile;
    };
    return { corefileText, issues: components.issues };
  }
  const blockOf = (text: string, zone: string) =>
    parseCorefile(text).blocks.find((block) => block.keys[0]?.zone === zone);
  const entries = (block: ReturnType<typeof blockOf>) =>
    block?.directives.find((d) => d.name === 'hosts')?.block?.map((d) => [d.name, ...d.args]);

  test("answers every routed host with the Gateway's address, whatever the forwarders know", () => {
    // Given dev's Gateway at 10.10.10.254 for *.dev.lab.example.com, routes to auth and argocd,
    // and a split-horizon zone lab.example.com whose other names go to public forwarders
    const { corefileText, issues } = runWithGateway();
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const text = corefileText('dev');
    expect(parseCorefile(text).problems).toEqual([]);
    // When CoreDNS picks the most specific server block for auth.dev.lab.example.com, then it
    // answers it and argocd with the Gateway's address, and forwards any other name
    const zone = blockOf(text, 'dev.lab.example.com');
    expect(entries(zone)).toEqual([
      ['10.10.10.254', 'argocd.dev.lab.example.com', 'auth.dev.lab.example.com'],
      ['ttl', '60'],
      ['fallthrough'],
    ]);
    expect(zone?.directives.find((d) => d.name === 'forward')?.args).toEqual([
      '.',
      '1.1.1.1',
      '2606:4700:4700::1111',
    ]);
    // Its queries are counted too (the OIDC issuer's name resolves here).
    expect(zone?.directives.find((d) => d.name === 'prometheus')?.args).toEqual([':9153']);
  });

  test("a split-horizon zone that is the Gateway's zone is merged into it, its records first", () => {
    // Given prod's domain being the home zone itself, with records for nas and auth
    const { corefileText, issues } = runWithGateway({
      ...SETTINGS,
      zones: [
        {
          name: 'prod.lab.example.com',
          records: [
            { name: 'nas', address: '10.0.0.5' },
            { name: 'auth', address: '10.0.0.9' },
          ],
        },
      ],
    });
    // A record of a routed host is an error where it is written: the network policies take a call
    // to auth.prod.lab.example.com through the Gateway, the record sends it to 10.0.0.9
    expect(
      issues
        .filter((issue) => issue.code === 'coredns-record-routed')
        .map((issue) => [issue.severity, issue.path, issue.value, issue.message]),
    ).toEqual([
      [
        'error',
        ['clusters', 2, 'components', 'coredns', 'zones', 0, 'records', 1, 'name'],
        'auth',
        'names auth.prod.lab.example.com, which the route "auth" of idp serves through the platform Gateway on cluster "prod": the network policies send every call to auth.prod.lab.example.com through the Gateway, while this record answers 10.0.0.9, so each is dropped (a component reaching its server at auth.prod.lab.example.com loses it)',
      ],
    ]);
    const text = corefileText('prod');
    expect(parseCorefile(text).problems).toEqual([]);
    // Then one server block serves the zone: the definition's records win over a routed host
    expect(
      parseCorefile(text).blocks.filter((b) => b.keys[0]?.zone === 'prod.lab.example.com'),
    ).toHaveLength(1);
    expect(entries(blockOf(text, 'prod.lab.example.com'))).toEqual([
      ['10.0.0.5', 'nas.prod.lab.example.com'],
      ['10.0.0.9', 'auth.prod.lab.example.com'],
      ['10.30.20.30', 'argocd.prod.lab.example.com'],
      ['ttl', '60'],
      ['fallthrough'],
    ]);
  });

  test("a record of a zone above the Gateway's is no routed host there: no error on dev, where the route is auth.dev.lab.example.com", () => {
    const { issues } = runWithGateway({
      ...SETTINGS,
      zones: [{ name: 'lab.example.com', records: [{ name: 'auth', address: '10.0.0.9' }] }],
    });
    expect(issues.filter((issue) => issue.code === 'coredns-record-routed')).toEqual([]);
  });

  test("a stub domain that is a Gateway's zone is an error where it is written", () => {
    const { issues } = runWithGateway({
      ...SETTINGS,
      stubDomains: [{ domain: 'prod.lab.example.com', servers: ['10.8.0.53'] }],
    });
    expect(
      issues
        .filter((issue) => issue.code === 'coredns-zone')
        .map((issue) => [issue.path, issue.value]),
    ).toEqual([
      [
        ['clusters', 2, 'components', 'coredns', 'stubDomains', 0, 'domain'],
        'prod.lab.example.com',
      ],
    ]);
  });

  test('without routes, or without a gateway provider, there is no block for the domain', () => {
    expect(
      blockOf(runWithGateway(SETTINGS, false).corefileText('dev'), 'dev.lab.example.com'),
    ).toBeUndefined();
    expect(blockOf(corefileOf('dev'), 'dev.lab.example.com')).toBeUndefined();
  });
});

describe('the objects', () => {
  test('validate against the Kubernetes schemas on every cluster', async () => {
    const sourced = ['dev', 'staging', 'prod'].flatMap((cluster) =>
      Object.entries(reference.objects(cluster)).map(([key, object]) => ({
        source: `${cluster}#${key}`,
        object: object as KubeObject,
        origin: [],
      })),
    );
    expect(validateObjects(sourced, await loadModelValidators(sourced))).toEqual([]);
  });

  test('the Service keeps the address every kubelet sends DNS to: the 10th of the service network', () => {
    expect(reference.objects('dev')['service-kube-dns'].spec.clusterIP).toBe('10.201.0.10');
    expect(reference.objects('prod')['service-kube-dns'].spec.clusterIP).toBe('10.203.0.10');
  });

  test('scales per profile, with a disruption budget and anti-affinity from staging on', () => {
    const replicas = (cluster: string) =>
      reference.objects(cluster)['deployment-coredns'].spec.replicas;
    expect([replicas('dev'), replicas('staging'), replicas('prod')]).toEqual([1, 2, 3]);
    expect(reference.objects('dev')['poddisruptionbudget-coredns']).toBeUndefined();
    expect(reference.objects('prod')['poddisruptionbudget-coredns'].spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    });
    // Three workers for three replicas and a surge pod: the profile's required anti-affinity gives
    // way to a preferred one, and the hard spread keeps one replica per node (core's HA plan).
    const pod = reference.objects('prod')['deployment-coredns'].spec.template.spec;
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
    expect(pod.topologySpreadConstraints[0].whenUnsatisfiable).toBe('DoNotSchedule');
    expect(
      reference.objects('dev')['deployment-coredns'].spec.template.spec.affinity,
    ).toBeUndefined();
  });

  test('runs restricted: non-root by number, no escalation, only NET_BIND_SERVICE, RuntimeDefault seccomp', () => {
    const pod = reference.objects('prod')['deployment-coredns'].spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
    });
    expect(pod.containers[0].image).toMatch(/^registry\.k8s\.io\/coredns\/coredns:v\d+\.\d+\.\d+$/);
  });
});

describe('what it declares', () => {
  const declared = reference.components.clusters[0]?.contributions.get('coredns');

  test('asks Talos to disable its own CoreDNS and publishes where the cluster DNS runs; its Application is critical', () => {
    expect(declared?.talos).toEqual({ disableCoreDns: true });
    expect(declared?.facts?.dns).toEqual({
      clusterDomain: 'cluster.local',
      namespace: 'coredns',
      selector: { 'k8s-app': 'kube-dns' },
    });
    expect(declared?.application).toMatchObject({
      namespace: 'coredns',
      podSecurity: 'restricted',
      project: 'network',
      // With Talos' CoreDNS off, a cascade delete on removal or rename leaves the cluster
      // without DNS: no finalizer, Prune=false, Delete=false.
      critical: true,
    });
    // So each object carries its own Prune=true: what the definition drops still goes.
    const objects = Object.values(reference.objects('dev'));
    expect(objects.length).toBeGreaterThan(5);
    expect(
      objects.map((object) => object.metadata.annotations?.['argocd.argoproj.io/sync-options']),
    ).toEqual(objects.map(() => 'Prune=true'));
  });

  test('declares the kube-dns Service it renders, as rendered: a call to it by name reaches its pods on their ports', () => {
    const service = reference.objects('dev')['service-kube-dns'];
    expect(declared?.services).toEqual([
      {
        name: service.metadata.name,
        namespace: 'coredns',
        selector: service.spec.selector,
        ports: service.spec.ports.map(
          ({
            port,
            targetPort,
            protocol,
          }: {
            port: number;
            targetPort: number;
            protocol: string;
          }) => ({
            port,
            targetPort,
            protocol,
          }),
        ),
      },
    ]);
    expect(declared?.services?.[0]?.selector).toEqual({ 'k8s-app': 'kube-dns' });
  });

  test('declares the API server, every upstream on port 53 and the scrape of its metrics as its flows, nothing else', () => {
    expect(declared?.flows?.map((flow) => [flow.name, flow.peer])).toEqual([
      ['apiserver', { kind: 'kube-apiserver' }],
      ['upstream-1-1-1-1', { kind: 'cidr', cidr: '1.1.1.1/32' }],
      ['upstream-10-8-0-53', { kind: 'cidr', cidr: '10.8.0.53/32' }],
      ['upstream-10-8-0-54', { kind: 'cidr', cidr: '10.8.0.54/32' }],
      ['upstream-2606-4700-4700-1111', { kind: 'cidr', cidr: '2606:4700:4700::1111/128' }],
      ['metrics', { kind: 'capability', capability: 'metrics' }],
    ]);
    expect(declared?.flows?.at(-1)?.ports).toEqual([{ port: 9153, protocol: 'TCP' }]);
  });

  test('declares its metrics endpoint and alerts for the metrics provider', () => {
    const monitor = declared?.monitors?.[0];
    expect(monitor?.target).toEqual({
      kind: 'service',
      selector: { 'k8s-app': 'kube-dns' },
      port: 'metrics',
    });
    expect(monitor?.rules?.map((rule) => [rule.alert, rule.severity])).toEqual([
      ['CoreDNSDown', 'critical'],
      ['CoreDNSServfailRatioHigh', 'warning'],
    ]);
  });

  test('CoreDNSDown fires when no CoreDNS target is up, also when there is no target at all', () => {
    // A Pending or deleted pod has no address: the Service selects no endpoint, Prometheus has
    // no target and no `up` series; `sum(up) < 1` over nothing is empty and would never fire.
    const down = declared?.monitors?.[0]?.rules?.find((rule) => rule.alert === 'CoreDNSDown');
    expect(down?.expr).toBe('absent(up{namespace="coredns", service="kube-dns"} == 1)');
  });

  test('installs itself before the GitOps controller in the runbook', () => {
    expect(declared?.bootstrap?.[0]?.title).toBe(
      'Install CoreDNS from the generated chart (by hand)',
    );
    expect(declared?.bootstrap?.[0]?.commands[0]).toBe(
      'helm template coredns charts/coredns --namespace coredns --kube-version 1.34.2 \\',
    );
    // As Argo CD's field manager: its Application then owns every field of the hand install.
    expect(declared?.bootstrap?.[0]?.commands[2]).toBe(
      '  | kubectl apply --server-side --field-manager=argocd-controller -f -',
    );
  });
});

describe('bad input', () => {
  test('a forwarder, a record or a stub server that is not an IP is an error where it is written', () => {
    const bad = run({
      forwarders: ['1.1.1.1', 'dns.google'],
      zones: [{ name: 'lab.example.com', records: [{ name: 'nas', address: 'nas.local' }] }],
      stubDomains: [{ domain: 'corp.example', servers: ['ns1.corp.example'] }],
    });
    const issues = bad.issues.filter(
      (issue) => issue.path[0] === 'clusters' && issue.path[1] === 0,
    );
    expect(issues.map((issue) => [issue.code, issue.path.slice(3), issue.value])).toEqual([
      ['coredns-address', ['coredns', 'forwarders', 1], 'dns.google'],
      ['coredns-address', ['coredns', 'zones', 0, 'records', 0, 'address'], 'nas.local'],
      ['coredns-address', ['coredns', 'stubDomains', 0, 'servers', 0], 'ns1.corp.example'],
    ]);
    expect(issues[0]?.message).toBe(
      'is not an IP address; a forwarder must be an address (CoreDNS forwards to addresses, it does not resolve names to find them)',
    );
  });

  test('a wildcard record is an error at its name: the hosts plugin has no wildcards', () => {
    // Given a record named "*" (or a label of it), which would land in the hosts plugin
    const bad = run({
      zones: [
        {
          name: 'lab.example.com',
          records: [
            { name: '*', address: '10.0.0.5' },
            { name: '*.apps', address: '10.0.0.6' },
            { name: 'nas', address: '10.0.0.7' },
          ],
        },
      ],
    });
    // Then each is an error at its name, and only nas reaches the Corefile
    const issues = bad.issues.filter((issue) => issue.path[1] === 0);
    expect(issues.map((issue) => [issue.code, issue.path.slice(3), issue.value])).toEqual([
      ['coredns-name', ['coredns', 'zones', 0, 'records', 0, 'name'], '*'],
      ['coredns-name', ['coredns', 'zones', 0, 'records', 1, 'name'], '*.apps'],
    ]);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      message:
        'is a wildcard, and the hosts plugin that answers the zone\'s records has no wildcards: it looks a query\'s name up exactly, so "*.lab.example.com" would answer only a query for that literal name, never another host of lab.example.com',
      expected:
        'one record per host name (nas, git, …); for every name below a domain, a stubDomains entry naming a DNS server that serves the wildcard',
    });
  });

  test.each([
    ['nas_1', 'has the label "nas_1", which is not a DNS label'],
    ['-nas', 'has the label "-nas", which is not a DNS label'],
    ['git..home', 'has an empty label (a dot at an end, or two in a row)'],
    [`${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(60), 'longer than the 253 characters'],
  ])('a record name that is not DNS labels (%#) is an error at its name', (name, why) => {
    const bad = run({
      zones: [{ name: 'lab.example.com', records: [{ name, address: '10.0.0.5' }] }],
    });
    const issues = bad.issues.filter((issue) => issue.path[1] === 0);
    expect(issues.map((issue) => [issue.code, issue.path.slice(3)])).toEqual([
      ['coredns-name', ['coredns', 'zones', 0, 'records', 0, 'name']],
    ]);
    expect(issues[0]?.message).toContain(why);
  });

  test.each([
    'lab.example.com',
    'lan',
    'home.arpa',
    // A last label that starts with a digit, refused before core's isDnsName became the one rule
    'lab.3com',
    '3lan',
  ])('the zone and the stub domain %j are DNS names CoreDNS serves', (zone) => {
    const result = run({
      zones: [{ name: zone, records: [{ name: 'nas', address: '10.0.0.5' }] }],
      stubDomains: [{ domain: `corp.${zone}`, servers: ['10.8.0.53'] }],
    });
    expect(result.issues.filter((issue) => issue.code === 'coredns-name')).toEqual([]);
    const corefile: string = result.objects('dev')['configmap-coredns'].data.Corefile;
    expect(corefile).toContain(`10.0.0.5 nas.${zone}`);
    expect(corefile).toContain(`corp.${zone}:53 {`);
  });

  test.each([
    'Lab.example.com',
    'lab.example.com.',
    'lab..example.com',
    '123',
    'lab.example.123',
    '*.lan',
    'corp_net.example',
    ['a', 'b', 'c']
      .map((c) => c.repeat(63))
      .concat('d'.repeat(62))
      .join('.'),
  ])('the zone and the stub domain %j are errors at their names', (zone) => {
    const result = run({
      zones: [{ name: zone, records: [{ name: 'nas', address: '10.0.0.5' }] }],
      stubDomains: [{ domain: zone, servers: ['10.8.0.53'] }],
    });
    expect(
      result.issues
        .filter((issue) => issue.path[1] === 0)
        .map((issue) => [issue.code, issue.path.slice(3), issue.value]),
    ).toEqual([
      ['coredns-name', ['coredns', 'zones', 0, 'name'], zone],
      ['coredns-name', ['coredns', 'stubDomains', 0, 'domain'], zone],
    ]);
  });

  test("a zone that is the cluster's own domain, or not a DNS name, is an error", () => {
    const bad = run({
      zones: [
        { name: 'cluster.local', records: [{ name: 'x', address: '10.0.0.1' }] },
        { name: 'Bad_Zone', records: [{ name: 'x', address: '10.0.0.1' }] },
      ],
    });
    expect(
      bad.issues
        .filter((issue) => issue.path[1] === 0)
        .map((issue) => [issue.code, issue.path.slice(-2)]),
    ).toEqual([
      ['coredns-zone', [0, 'name']],
      ['coredns-name', [1, 'name']],
    ]);
  });

  test('a name served twice among the zones and stub domains, or a stub domain in the cluster domain, is an error at the later one', () => {
    const record = [{ name: 'nas', address: '10.0.0.5' }];
    const result = run({
      zones: [
        { name: 'lab.example.com', records: record },
        { name: 'lab.example.com', records: record },
        { name: 'home.arpa', records: record },
      ],
      stubDomains: [
        { domain: 'home.arpa', servers: ['10.8.0.53'] },
        { domain: 'corp.example', servers: ['10.8.0.53'] },
        { domain: 'corp.example', servers: ['10.8.0.54'] },
        { domain: 'cluster.local', servers: ['10.8.0.53'] },
        { domain: 'svc.cluster.local', servers: ['10.8.0.53'] },
      ],
    });
    const zoneIssues = result.issues.filter(
      (issue) => issue.code === 'coredns-zone' && issue.path[1] === 0,
    );
    expect(zoneIssues.map((issue) => [issue.path.slice(4), issue.value])).toEqual([
      [['zones', 1, 'name'], 'lab.example.com'],
      [['stubDomains', 0, 'domain'], 'home.arpa'],
      [['stubDomains', 2, 'domain'], 'corp.example'],
      [['stubDomains', 3, 'domain'], 'cluster.local'],
      [['stubDomains', 4, 'domain'], 'svc.cluster.local'],
    ]);
    expect(zoneIssues.map((issue) => issue.severity)).toEqual(Array(5).fill('error'));
    expect(zoneIssues[0]?.message).toContain(
      'is already served as a split-horizon zone at clusters[0].components.coredns.zones[0].name',
    );
    expect(zoneIssues[1]?.message).toContain('already defined');
    expect(zoneIssues[3]?.message).toContain("the cluster's own domain (cluster.local)");
  });

  test('the Corefile of a valid definition has one server block per zone and port', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      const keys = parseCorefile(corefileOf(cluster)).blocks.flatMap((block) =>
        block.keys.map((key) => `${key.zone}:${key.port}`),
      );
      expect(keys.length).toBeGreaterThan(2);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });
});

// The dev cluster (testNetwork(1)): pods 10.101.0.0/16, Services 10.201.0.0/16, LoadBalancer
// pool "default" 192.168.1.224/27, node dev-cp1 at 192.168.1.11, the router at 192.168.1.1.
describe('servers inside the cluster', () => {
  const insideIssues = (result: ReturnType<typeof run>) =>
    result.issues.filter((issue) => issue.code === 'coredns-forwarder-cluster');
  const upstreams = (result: ReturnType<typeof run>, cluster = 0) =>
    result.components.clusters[cluster]?.contributions
      .get('coredns')
      ?.flows?.filter((flow) => flow.name.startsWith('upstream-'))
      .map((flow) => flow.peer);
  const POLICY =
    "CoreDNS v1.12.1's forward plugin walks a zone's upstreams in a fresh random order for each query (policy random, its default): " +
    'a query that draws an unreachable one first waits out its 2s read timeout before the next is tried, ' +
    'until health checks every 0.5s mark it down (after more than max_fails 2 failures)';

  test("forwards to Talos' host DNS resolver through the host entity: a node address to Cilium, which no CIDR rule selects", () => {
    const result = run({ forwarders: ['169.254.116.108', '1.1.1.1'] });
    expect(insideIssues(result)).toEqual([]);
    expect(upstreams(result)).toEqual([{ kind: 'cidr', cidr: '1.1.1.1/32' }, { kind: 'host' }]);
  });

  test('every root forwarder inside the cluster is an error at each: a bootstrap deadlock, and dropped under default deny', () => {
    const inside = run({ forwarders: ['192.168.1.230', '10.201.0.53', '10.101.0.9'] });
    expect(insideIssues(inside).map((issue) => [issue.severity, issue.path, issue.value])).toEqual([
      ['error', ['clusters', 0, 'components', 'coredns', 'forwarders', 0], '192.168.1.230'],
      ['error', ['clusters', 0, 'components', 'coredns', 'forwarders', 1], '10.201.0.53'],
      ['error', ['clusters', 0, 'components', 'coredns', 'forwarders', 2], '10.101.0.9'],
    ]);
    const [pool, service, pod] = insideIssues(inside);
    expect(pool?.message).toBe(
      'lies inside cluster "dev" (LoadBalancer pool "default" (192.168.1.224/27)), and so does every other forwarder of the root zone: ' +
        'no name outside the cluster resolves until a DNS server inside it answers, and that server is deployed by Argo CD, which needs DNS to reach the repository first, ' +
        'a deadlock at bootstrap and again after any outage that takes the server down; ' +
        "nor does CoreDNS reach it: Cilium's socket load balancer translates a LoadBalancer address to a backend pod when a pod connects, before the policy applies, " +
        "and its CIDR rules never select the cluster's pods, so under Cilium's default deny no CIDR rule can allow it and CoreDNS' queries to it are dropped",
    );
    expect(pool?.expected).toBe(
      'a resolver outside the cluster as a forwarder: the router (192.168.1.1) or a public resolver such as 1.1.1.1; ' +
        'a DNS server inside the cluster can answer its own domain as the server of a stubDomains entry',
    );
    expect(service?.message).toContain(
      '(the Service network 10.201.0.0/16), and so does every other forwarder of the root zone',
    );
    expect(service?.message).toContain('Cilium translates a ClusterIP to a backend pod');
    expect(pod?.message).toContain('(the pod network 10.101.0.0/16)');
    // No CIDR flow that could never match (Cilium would only warn about it).
    expect(upstreams(inside)).toEqual([]);
    // The other clusters' networks do not hold these addresses: nothing there.
    expect(upstreams(inside, 1)).toHaveLength(3);
  });

  test("a node's own address as the only root forwarder is an error too", () => {
    const node = run({ forwarders: ['192.168.1.11'] });
    expect(
      insideIssues(node).map((issue) => [issue.severity, issue.path.at(-1), issue.message]),
    ).toEqual([
      [
        'error',
        0,
        'lies inside cluster "dev" (the address of node dev-cp1), and so does every other forwarder of the root zone: ' +
          'no name outside the cluster resolves until a DNS server inside it answers, and that server is deployed by Argo CD, which needs DNS to reach the repository first, ' +
          'a deadlock at bootstrap and again after any outage that takes the server down; ' +
          "nor does CoreDNS reach it: the nodes carry Cilium's host / remote-node identities, which CIDR rules do not select under the default policy-cidr-match-mode the platform keeps, " +
          "so under Cilium's default deny no CIDR rule can allow it and CoreDNS' queries to it are dropped",
      ],
    ]);
  });

  test('the cluster nameservers CoreDNS falls back to are checked where they are written', () => {
    // Nameservers all inside the cluster are refused at the definition already (core's
    // `nameserver`: the nodes resolve through them from their first boot); one beside the
    // router is CoreDNS' warning here, at the nameserver.
    const [dev, ...rest] = testReferenceClusters();
    const clusters: Cluster[] = [
      { ...dev, network: { ...dev.network, nameservers: ['192.168.1.225', '192.168.1.1'] } },
      ...rest,
    ];
    const fallback = run({}, clusters);
    expect(
      insideIssues(fallback).map((issue) => [issue.severity, issue.path, issue.value]),
    ).toEqual([['warning', ['clusters', 0, 'network', 'nameservers', 0], '192.168.1.225']]);
  });

  test('a root forwarder inside beside one outside is a warning with what the forward plugin does', () => {
    const mixed = run({ forwarders: ['192.168.1.1', '192.168.1.230'] });
    expect(insideIssues(mixed).map((issue) => [issue.severity, issue.path, issue.value])).toEqual([
      ['warning', ['clusters', 0, 'components', 'coredns', 'forwarders', 1], '192.168.1.230'],
    ]);
    expect(insideIssues(mixed)[0]?.message).toBe(
      'lies inside cluster "dev" (LoadBalancer pool "default" (192.168.1.224/27)): ' +
        "Cilium's socket load balancer translates a LoadBalancer address to a backend pod when a pod connects, before the policy applies, " +
        "and its CIDR rules never select the cluster's pods, so under Cilium's default deny no CIDR rule can allow it and CoreDNS' queries to it are dropped, " +
        `and nothing answers there before Argo CD deploys the server; ${POLICY}; ` +
        'where it does answer (no default deny), it gets only part of the queries (a filtering server is bypassed for the rest)',
    );
    expect(insideIssues(mixed)[0]?.expected).toBe(
      'only resolvers outside the cluster as forwarders (the router (192.168.1.1) or a public resolver); ' +
        'a DNS server inside the cluster can answer its own domain as the server of a stubDomains entry',
    );
    expect(mixed.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(upstreams(mixed)).toEqual([{ kind: 'cidr', cidr: '192.168.1.1/32' }]);
  });

  test("a stub domain's server inside the cluster is a warning saying what to set instead", () => {
    const stubs = run({
      forwarders: ['1.1.1.1'],
      stubDomains: [
        { domain: 'ads.lab', servers: ['10.201.0.53'] },
        { domain: 'nodes.lab', servers: ['10.8.0.53', '192.168.1.11'] },
      ],
    });
    expect(insideIssues(stubs).map((issue) => [issue.severity, issue.path, issue.value])).toEqual([
      [
        'warning',
        ['clusters', 0, 'components', 'coredns', 'stubDomains', 0, 'servers', 0],
        '10.201.0.53',
      ],
      [
        'warning',
        ['clusters', 0, 'components', 'coredns', 'stubDomains', 1, 'servers', 1],
        '192.168.1.11',
      ],
    ]);
    const [service, node] = insideIssues(stubs);
    expect(service?.message).toBe(
      'lies inside cluster "dev" (the Service network 10.201.0.0/16): ' +
        "Cilium translates a ClusterIP to a backend pod before the policy applies, and its CIDR rules never select the cluster's pods, " +
        "so under Cilium's default deny no CIDR rule can allow it and CoreDNS' queries for ads.lab to it are dropped: no name of ads.lab resolves",
    );
    expect(service?.expected).toBe(
      'an extra flow in components.cilium.networkPolicy.flows from { component: coredns } to { component: <the component that runs the server>, selector: <its pods> } on port 53 UDP and TCP (Cilium then matches the pods the address leads to); ' +
        'a server that no component of the definition deploys cannot be allowed: serve the domain from outside the cluster',
    );
    expect(node?.message).toBe(
      'lies inside cluster "dev" (the address of node dev-cp1): ' +
        "the nodes carry Cilium's host / remote-node identities, which CIDR rules do not select under the default policy-cidr-match-mode the platform keeps, " +
        `so under Cilium's default deny no CIDR rule can allow it and CoreDNS' queries for nodes.lab to it are dropped; ${POLICY}`,
    );
    expect(node?.expected).toBe(
      "a server outside the cluster: nothing in the definition can allow this one (an extra flow of components.cilium.networkPolicy.flows names a component's pods, a host or a network, never the nodes' identities)",
    );
    expect(stubs.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(upstreams(stubs)).toEqual([
      { kind: 'cidr', cidr: '1.1.1.1/32' },
      { kind: 'cidr', cidr: '10.8.0.53/32' },
    ]);
    // The Corefile still forwards the stub domains to the servers as written.
    const text = stubs.objects('dev')['configmap-coredns'].data.Corefile as string;
    expect(text).toContain('forward . 10.8.0.53 192.168.1.11\n');
  });

  test('the reference forwarders and stub servers are all outside every cluster', () => {
    expect(insideIssues(reference)).toEqual([]);
  });
});

describe('names the platform dials in a split-horizon zone', () => {
  // A component that calls hosts outside the cluster by name (egress flows to fqdn peers).
  const caller = (names: readonly string[]) =>
    testComponent({
      name: 'caller',
      contribution: () => ({
        flows: names.map((name, index) => ({
          name: `out-${index}`,
          direction: 'egress' as const,
          namespace: 'caller',
          selector: { app: 'caller' },
          peer: { kind: 'fqdn' as const, name },
          ports: [{ port: 443, protocol: 'TCP' as const }],
        })),
      }),
    });
  const unanswered = (settings: Values, names: readonly string[]) => {
    const { components } = testRun(
      testDefinition(testReferenceClusters(), { components: { coredns: settings } }),
      [cni, caller(names), corednsComponent],
    );
    return components.issues.filter((issue) => issue.code === 'coredns-zone-unanswered');
  };

  test('warns of a dialled name of the zone without a record, once per cluster, naming what dials it', () => {
    const issues = unanswered(SETTINGS, [
      's3.lab.example.com',
      'nas.lab.example.com', // has a record
      'lab.example.com', // the record '@'
      'github.com', // not in the zone
      '*.lab.example.com', // a pattern: no single name to answer
      'db.corp.example', // a stub domain's
    ]);
    expect(issues.map((issue) => [issue.severity, issue.path, issue.value])).toEqual(
      [0, 1, 2].map((cluster) => [
        'warning',
        ['clusters', cluster, 'components', 'coredns', 'zones', 0],
        ['s3.lab.example.com'],
      ]),
    );
    expect(issues[0]?.message).toBe(
      'the platform on cluster "dev" dials s3.lab.example.com (caller) in the split-horizon zone lab.example.com, which has no record for it: CoreDNS asks the forwarders (1.1.1.1, 2606:4700:4700::1111), which answer only what public DNS holds, so where lab.example.com is not in public DNS every such call fails with NXDOMAIN',
    );
    expect(issues[0]?.expected).toBe(
      "a record per name under the zone's records ({ name: s3, address: <its LAN address> }), or a stubDomains entry naming the LAN's DNS server for the zone; nothing where public DNS answers these names",
    );
  });

  test('passes once the zone has the record, and without split-horizon zones', () => {
    const zone = SETTINGS.zones[0];
    expect(
      unanswered(
        {
          ...SETTINGS,
          zones: [
            { ...zone, records: [...(zone?.records ?? []), { name: 's3', address: '10.0.0.7' }] },
          ],
        },
        ['s3.lab.example.com'],
      ),
    ).toEqual([]);
    expect(unanswered({ ...SETTINGS, zones: [] }, ['s3.lab.example.com'])).toEqual([]);
  });
});
