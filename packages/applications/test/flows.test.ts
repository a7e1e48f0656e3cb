// The applications' flows, resolved from the definition's entries (pure): which namespaces go
// under default deny, what the backups need there, and what cannot be a flow.
import type { BackupPodFlow, PathSegment } from '@homelab/core';
import { describe, expect, test } from 'vitest';
import { type AppFlowInput, applicationFlows } from '../src/flows.js';
import type { ApplicationFlow } from '../src/generated/settings.js';

const path = (...segments: PathSegment[]): PathSegment[] => [
  'components',
  'applications',
  ...segments,
];

const podFlows: BackupPodFlow[] = [
  {
    name: 'movers-s3',
    selector: { 'app.kubernetes.io/created-by': 'volsync' },
    peer: { kind: 'fqdn', name: 's3.example.com' },
    ports: [{ port: 443, protocol: 'TCP' }],
    reason: 'movers to S3',
  },
];

const web: ApplicationFlow = { name: 'web', gateway: true, ports: [{ port: 8000 }] };

describe("the applications' flows", () => {
  test('an application with flows is covered, one without leaves its namespace (and a shared one) out', () => {
    const apps: AppFlowInput[] = [
      { name: 'docs', namespace: 'docs', flows: [web], backedUp: true, verified: true },
      { name: 'quiet', namespace: 'quiet', flows: undefined, backedUp: true, verified: true },
      { name: 'empty', namespace: 'empty', flows: [], backedUp: false, verified: false },
      { name: 'shared-a', namespace: 'shared', flows: [web], backedUp: true, verified: true },
      { name: 'shared-b', namespace: 'shared', flows: undefined, backedUp: false, verified: false },
    ];
    const result = applicationFlows(apps, { backup: { verification: true, podFlows } }, path);
    expect(result.issues).toEqual([]);
    expect(result.flowless).toEqual(['quiet', 'shared']);
    expect(
      result.flows.map((flow) => [flow.name, flow.namespace, flow.direction, flow.peer]),
    ).toEqual([
      ['docs-web', 'docs', 'ingress', { kind: 'gateway' }],
      ['shared-a-web', 'shared', 'ingress', { kind: 'gateway' }],
      // The backups' movers only where a backed-up volume lies under default deny.
      ['backup-movers-s3-docs', 'docs', 'egress', { kind: 'fqdn', name: 's3.example.com' }],
    ]);
    expect(result.flows[0]?.selector).toEqual({ 'app.kubernetes.io/name': 'docs' });
  });

  test("the restore verification's flows only where a backed-up volume there is verified", () => {
    const withVerification: BackupPodFlow[] = [
      ...podFlows,
      {
        name: 'verification-s3',
        selector: { 'backup.homelab.dev/role': 'verification' },
        peer: { kind: 'fqdn', name: 's3.example.com' },
        ports: [{ port: 443, protocol: 'TCP' }],
        reason: 'verification to S3',
        verification: true,
      },
    ];
    const apps: AppFlowInput[] = [
      { name: 'docs', namespace: 'docs', flows: [web], backedUp: true, verified: true },
      { name: 'cloud', namespace: 'cloud', flows: [web], backedUp: true, verified: false },
    ];
    const result = applicationFlows(
      apps,
      { backup: { verification: true, podFlows: withVerification } },
      path,
    );
    expect(
      result.flows.filter((flow) => flow.name.startsWith('backup-')).map((f) => f.name),
    ).toEqual(['backup-movers-s3-cloud', 'backup-movers-s3-docs', 'backup-verification-s3-docs']);
  });

  test('an fqdn that is a Service of the cluster is the pods behind it (a DNS rule would never match)', () => {
    const apps: AppFlowInput[] = [
      {
        name: 'docs',
        namespace: 'docs',
        flows: [
          { name: 'db', fqdn: 'postgres.databases.svc.lab.internal', ports: [{ port: 5432 }] },
          { name: 'other', fqdn: 'postgres.databases.svc.cluster.local', ports: [{ port: 5432 }] },
        ],
        backedUp: false,
        verified: false,
      },
    ];
    const provided = {
      dns: { clusterDomain: 'lab.internal', namespace: 'kube-system', selector: {} },
    };
    const result = applicationFlows(apps, provided, path);
    expect(result.issues).toEqual([]);
    expect(result.flows.map((flow) => [flow.name, flow.peer])).toEqual([
      // An application's ports are the pods' (its schema says so): no Service mapping changes them.
      [
        'docs-db',
        { kind: 'service', service: 'postgres', namespace: 'databases', portsOf: 'pods' },
      ],
      // Another cluster domain than this cluster's: a name outside it.
      ['docs-other', { kind: 'fqdn', name: 'postgres.databases.svc.cluster.local' }],
    ]);
  });

  test("an fqdn naming the API server's Service is the API server on its own port (6443)", () => {
    const apps: AppFlowInput[] = [
      {
        name: 'docs',
        namespace: 'docs',
        flows: [{ name: 'api', fqdn: 'kubernetes.default.svc', ports: [{ port: 443 }] }],
        backedUp: false,
        verified: false,
      },
    ];
    const result = applicationFlows(apps, {}, path);
    expect(result.issues).toEqual([]);
    expect(result.flows.map((flow) => [flow.name, flow.peer, flow.ports])).toEqual([
      ['docs-api', { kind: 'kube-apiserver' }, [{ port: 6443, protocol: 'TCP' }]],
    ]);
  });

  test("a kubeApiserver flow on 443 (the Service's port) is refused at the port: Cilium sees 6443", () => {
    // Given flows to the API server on the Service's port, a range, UDP, and the right port
    const apps: AppFlowInput[] = [
      {
        name: 'docs',
        namespace: 'docs',
        flows: [
          { name: 'api', kubeApiserver: true, ports: [{ port: 443 }] },
          { name: 'range', kubeApiserver: true, ports: [{ port: 6443, endPort: 6444 }] },
          { name: 'udp', kubeApiserver: true, ports: [{ port: 6443, protocol: 'UDP' }] },
          { name: 'ok', kubeApiserver: true, ports: [{ port: 6443 }] },
        ],
        backedUp: false,
        verified: false,
      },
    ];
    const result = applicationFlows(apps, {}, path);
    // Then each wrong one is an error at its field, and only the right one is a flow
    expect(result.issues.map((issue) => [issue.path, issue.value])).toEqual([
      [path('apps', 'docs', 'flows', 0, 'ports', 0, 'port'), 443],
      [path('apps', 'docs', 'flows', 1, 'ports', 0, 'endPort'), 6444],
      [path('apps', 'docs', 'flows', 2, 'ports', 0, 'protocol'), 'UDP'],
    ]);
    expect(result.issues[0]?.message).toBe(
      "443 is not the API server's port: a pod calls the API server at kubernetes.default.svc:443, and Cilium translates that Service address and port to a control plane's address and port 6443 before the egress policy applies, so the policy must allow 6443; any other rule never matches and the application's API calls are dropped under default deny",
    );
    expect(result.issues.map((issue) => issue.message.split(':')[0])).toEqual([
      "443 is not the API server's port",
      '6444 makes a range where the API server has one port',
      '"UDP" is not the API server\'s protocol',
    ]);
    expect(result.issues[0]?.expected).toBe(
      'ports: [{ port: 6443 }] (TCP, where kube-apiserver listens on Talos, whatever port the application calls)',
    );
    expect(result.flows.map((flow) => [flow.name, flow.peer, flow.ports])).toEqual([
      ['docs-ok', { kind: 'kube-apiserver' }, [{ port: 6443, protocol: 'TCP' }]],
    ]);
  });

  test('a flow to another application reaches its pods in its namespace', () => {
    const apps: AppFlowInput[] = [
      {
        name: 'docs',
        namespace: 'docs',
        flows: [
          { name: 'db', application: 'db', ports: [{ port: 5432 }], selector: { tier: 'web' } },
        ],
        backedUp: false,
        verified: false,
      },
      { name: 'db', namespace: 'databases', flows: [], backedUp: false, verified: false },
    ];
    const result = applicationFlows(apps, {}, path);
    expect(result.flows).toEqual([
      {
        name: 'docs-db',
        direction: 'egress',
        namespace: 'docs',
        selector: { tier: 'web' },
        peer: {
          kind: 'self',
          namespace: 'databases',
          selector: { 'app.kubernetes.io/name': 'db' },
        },
        ports: [{ port: 5432, protocol: 'TCP' }],
        reason: 'docs: db',
        workloads: 'external',
      },
    ]);
  });

  test('two peers, a direction without a capability, a selector of a peer that is no application: errors at the flow', () => {
    const apps: AppFlowInput[] = [
      {
        name: 'docs',
        namespace: 'docs',
        flows: [
          { name: 'both', fqdn: 'a.example.com', cidr: '10.0.0.0/8', ports: [{ port: 1 }] },
          { name: 'dir', fqdn: 'a.example.com', direction: 'ingress', ports: [{ port: 1 }] },
          { name: 'sel', fqdn: 'a.example.com', peerSelector: { a: 'b' }, ports: [{ port: 1 }] },
          { name: 'net', cidr: '10.0.0.0/33', ports: [{ port: 1 }] },
          { name: 'net', kubeApiserver: true, ports: [{ port: 6443 }] },
        ],
        backedUp: false,
        verified: false,
      },
    ];
    const result = applicationFlows(apps, {}, path);
    expect(result.flows).toEqual([]);
    expect(result.issues.map((issue) => [issue.path, issue.message])).toEqual([
      [path('apps', 'docs', 'flows', 0), 'names 2 peers (fqdn, cidr)'],
      [
        path('apps', 'docs', 'flows', 1, 'direction'),
        'is only meaningful with capability (the gateway is always ingress, the other peers egress)',
      ],
      [path('apps', 'docs', 'flows', 2, 'peerSelector'), 'is only meaningful with application'],
      [path('apps', 'docs', 'flows', 3, 'cidr'), 'is not a CIDR'],
      [path('apps', 'docs', 'flows', 4, 'name'), 'is a second flow of docs with this name'],
    ]);
  });

  /** The flows of one app with one egress flow to `fqdn` on port 443. */
  const fqdnFlows = (fqdn: string) =>
    applicationFlows(
      [
        {
          name: 'docs',
          namespace: 'docs',
          flows: [{ name: 'out', fqdn, ports: [{ port: 443 }] }],
          backedUp: false,
          verified: false,
        },
      ],
      {},
      path,
    );

  test.each([
    ['api.example.com', { kind: 'fqdn', name: 'api.example.com' }],
    ['*.example.com', { kind: 'fqdn', name: '*.example.com' }],
    // A last label that starts with a digit, refused before core's isDnsName became the one rule
    ['api.vendor.3com', { kind: 'fqdn', name: 'api.vendor.3com' }],
    ['*.mirror.1a', { kind: 'fqdn', name: '*.mirror.1a' }],
  ])('the fqdn %j is an egress to that name', (fqdn, peer) => {
    const result = fqdnFlows(fqdn);
    expect(result.issues).toEqual([]);
    expect(result.flows.map((flow) => [flow.direction, flow.peer])).toEqual([['egress', peer]]);
  });

  test.each([
    'exa mple..com',
    'Api.Example.com',
    'api.example.com.',
    'api',
    'api.example.123',
    '*.com',
    'api.*.example.com',
    '_sip._tcp.example.com',
    ['a', 'b', 'c']
      .map((c) => c.repeat(63))
      .concat('d'.repeat(62))
      .join('.'),
  ])('the fqdn %j is an error at the flow', (fqdn) => {
    const result = fqdnFlows(fqdn);
    expect(result.flows).toEqual([]);
    expect(result.issues.map((issue) => [issue.path, issue.value, issue.message])).toEqual([
      [
        path('apps', 'docs', 'flows', 0, 'fqdn'),
        fqdn,
        'is not a DNS name or a pattern with one leading wildcard label',
      ],
    ]);
  });

  describe("a pattern over the hosts the cluster's Gateway routes", () => {
    const gateway = {
      name: 'platform',
      namespace: 'gateway',
      domain: 'lab.example.com',
      httpsListener: 'https',
      listenerPorts: [443],
      address: undefined,
      forwardAuth: true,
    };
    const withFlows = (flows: ApplicationFlow[]) =>
      applicationFlows(
        [{ name: 'docs', namespace: 'docs', flows, backedUp: false, verified: false }],
        { gateway },
        path,
      );
    const out = (name: string, fqdn: string): ApplicationFlow => ({
      name,
      fqdn,
      ports: [{ port: 443 }],
    });

    test('`*.<domain>` alone is a warning at the pattern: calls to a routed host time out', () => {
      const result = withFlows([out('mail', 'imap.example.com'), out('lab', '*.lab.example.com')]);
      expect(result.flows.map((flow) => flow.peer)).toEqual([
        { kind: 'fqdn', name: 'imap.example.com' },
        { kind: 'fqdn', name: '*.lab.example.com' },
      ]);
      expect(
        result.issues.map((issue) => [issue.severity, issue.code, issue.path, issue.value]),
      ).toEqual([
        [
          'warning',
          'applications-flow-routed-wildcard',
          path('apps', 'docs', 'flows', 1, 'fqdn'),
          '*.lab.example.com',
        ],
      ]);
      expect(result.issues[0]?.message).toContain("Cilium's Envoy");
      expect(result.issues[0]?.expected).toContain('fqdn: auth.lab.example.com');
    });

    test('with a host of the domain named too (the CNI provider makes a routed one a flow through the Gateway), the pattern is kept quietly', () => {
      const result = withFlows([
        out('sso', 'auth.lab.example.com'),
        out('lab', '*.lab.example.com'),
      ]);
      expect(result.issues).toEqual([]);
      expect(result.flows.map((flow) => flow.peer)).toEqual([
        { kind: 'fqdn', name: 'auth.lab.example.com' },
        { kind: 'fqdn', name: '*.lab.example.com' },
      ]);
    });

    test.each([
      // Cilium's `*` is one label: these cover no `<host>.lab.example.com`
      '*.example.com',
      '*.nas.lab.example.com',
      '*.other.example.com',
    ])('%j covers no routed host: no warning', (fqdn) => {
      expect(withFlows([out('lab', fqdn)]).issues).toEqual([]);
    });

    test('without a Gateway on the cluster there is nothing to warn about', () => {
      const result = applicationFlows(
        [
          {
            name: 'docs',
            namespace: 'docs',
            flows: [out('lab', '*.lab.example.com')],
            backedUp: false,
            verified: false,
          },
        ],
        {},
        path,
      );
      expect(result.issues).toEqual([]);
    });
  });
});
