// The gateway component on the contract: its declaration (Application, facts, runbook step), the
// Gateway, certificate and redirect it renders, the routes it makes for its consumers, and its
// issues.
import type { Cluster } from '@homelab/core';
import {
  testCluster,
  testComponent,
  testDefinition,
  testNetwork,
  testReferenceClusters,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { dnsStep } from '../src/component.js';
import {
  type AnyJson,
  consumer,
  gatewayClass,
  issuer,
  objectsOf,
  route,
  runGateway,
} from './helpers.js';

const WEB = consumer('web', 'web', [route('web', 'web', { labels: { team: 'web' } })]);
const API = consumer('api', 'apis', [route('api', 'apis', { protocol: 'grpc', port: 9090 })]);
const PROVIDERS = [gatewayClass(), issuer()];

function definition(clusters: Cluster[] = testReferenceClusters(), components: AnyJson = {}) {
  return testDefinition(clusters as [Cluster, ...Cluster[]], { components });
}

describe('the declaration', () => {
  const { components } = runGateway(definition(), [...PROVIDERS, WEB]);
  const dev = components.clusters[0]?.contributions.get('gateway');

  test('is an Application in its own restricted namespace that creates nothing cluster-wide', () => {
    expect(components.issues).toEqual([]);
    expect(dev?.application).toEqual({
      chart: 'gateway',
      namespace: 'gateway',
      podSecurity: 'restricted',
      clusterResources: [],
      // No upstream chart: its project allows exactly what its manifests render.
      namespacedResources: [],
    });
  });

  test('declares no flows of its own (an empty list): the class proxy serves it, no pod runs in its namespace', () => {
    expect(dev?.flows).toEqual([]);
  });

  test('publishes the Gateway, its HTTPS listener and its pinned address', () => {
    expect(dev?.facts?.gateway).toEqual({
      name: 'platform',
      namespace: 'gateway',
      domain: 'dev.lab.example.com',
      httpsListener: 'https',
      listenerPorts: [80, 443],
      address: '192.168.1.254',
      forwardAuth: false,
    });
    expect(components.clusters[2]?.facts.gateway?.domain).toBe('lab.example.com');
  });

  test('has the runbook point the wildcard record at the address after the hand-over', () => {
    expect(dev?.bootstrap?.map((step) => [step.title, step.when])).toEqual([
      ['Point DNS at the Gateway', 'after-handover'],
    ]);
    expect(dev?.bootstrap?.[0]?.body).toContain('    *.dev.lab.example.com.  IN  A  192.168.1.254');
    // Right after the hand-over Argo CD has not created the Gateway yet: a plain
    // `wait --for=condition` would fail at once, so the step waits for it to be created.
    expect(dev?.bootstrap?.[0]?.commands.slice(0, 4)).toEqual([
      'kubectl wait --for=create crd/gateways.gateway.networking.k8s.io --timeout=30m',
      'kubectl wait --for=condition=Established crd/gateways.gateway.networking.k8s.io --timeout=5m',
      'kubectl -n gateway wait --for=create gateway/platform --timeout=30m',
      'kubectl -n gateway wait --for=condition=Programmed gateway/platform --timeout=10m',
    ]);
    // The check over plain HTTP ends the block; what it answers is said after it, not in a `#`
    // comment (zsh's prompt would hand `# 301 to https` to head as file names)
    expect(dev?.bootstrap?.[0]?.commands.at(-1)).toBe(
      'curl -sI --max-time 30 http://gateway-check.dev.lab.example.com/ | head -n 1',
    );
    expect(dev?.bootstrap?.[0]?.after?.join(' ')).toContain('`301 Moved Permanently`');
  });

  test('tells where DNS-rebind protection drops the record: a private or unpinned address, not a public one', () => {
    const text = (address: string | undefined) =>
      dnsStep('lab.example.com', address).body.join(' ');
    expect(dev?.bootstrap?.[0]?.body.join(' ')).toContain(
      'The address is a private one: where the record is in public DNS, a LAN resolver with DNS-rebind protection drops the answer',
    );
    expect(text('fd00::10')).toContain(
      "`--rebind-domain-ok=/lab.example.com/`, OpenWrt `list rebind_domain 'lab.example.com'`",
    );
    expect(text('172.20.0.5')).toContain('The address is a private one');
    expect(text(undefined)).toContain(
      'Where the address is a private one and the record is in public DNS',
    );
    for (const address of ['203.0.113.10', '172.32.0.1', '2001:db8::1']) {
      expect(text(address)).not.toContain('rebind');
    }
  });
});

describe('the Gateway of a cluster', () => {
  const { chart, charts, components } = runGateway(definition(), [...PROVIDERS, WEB, API]);
  const dev = objectsOf(chart, 'dev') as AnyJson;

  test('renders the certificate first, the Gateway and the redirect', () => {
    expect(components.issues).toEqual([]);
    expect(Object.keys(dev)).toEqual(['certificate', 'gateway', 'httproute-https-redirect']);
    expect(chart?.appVersion).toBe('v1.3.0');
  });

  test('listens on HTTPS for the cluster domain with the wildcard certificate, and on HTTP only for its own redirect', () => {
    expect(dev.gateway).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'platform', namespace: 'gateway' },
      spec: {
        gatewayClassName: 'cilium',
        addresses: [{ type: 'IPAddress', value: '192.168.1.254' }],
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: 80,
            hostname: '*.dev.lab.example.com',
            allowedRoutes: {
              namespaces: { from: 'Same' },
              // The group the CRD defaults, written out (Argo CD would see it as a difference).
              kinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
            },
          },
          {
            name: 'https',
            protocol: 'HTTPS',
            port: 443,
            hostname: '*.dev.lab.example.com',
            tls: {
              mode: 'Terminate',
              certificateRefs: [{ group: '', kind: 'Secret', name: 'platform-wildcard-tls' }],
            },
            allowedRoutes: {
              namespaces: {
                from: 'Selector',
                selector: {
                  matchExpressions: [
                    { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['apis', 'web'] },
                  ],
                },
              },
            },
          },
        ],
      },
    });
  });

  test('asks the certificates provider’s issuer for the wildcard, before the Gateway', () => {
    expect(dev.certificate).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: {
        name: 'platform-wildcard',
        namespace: 'gateway',
        annotations: { 'argocd.argoproj.io/sync-wave': '-1' },
      },
      spec: {
        secretName: 'platform-wildcard-tls',
        dnsNames: ['*.dev.lab.example.com'],
        // serverAuth: Apple's TLS clients refuse a server certificate without it, and a CA
        // issuer signs only the usages asked for.
        usages: ['digital signature', 'server auth'],
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'ca' },
      },
    });
  });

  test('redirects every plain HTTP request to HTTPS', () => {
    expect(dev['httproute-https-redirect'].spec).toEqual({
      parentRefs: [
        {
          group: 'gateway.networking.k8s.io',
          kind: 'Gateway',
          name: 'platform',
          sectionName: 'http',
        },
      ],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          filters: [
            { type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } },
          ],
        },
      ],
    });
  });

  test("turns each declared route into an HTTPRoute or GRPCRoute on the HTTPS listener, in the consumer's chart", () => {
    const web = objectsOf(charts.get('web'), 'prod') as AnyJson;
    expect(web['httproute-web']).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: {
        name: 'web',
        namespace: 'web',
        labels: { team: 'web' },
        // Pruned with its route even in a critical consumer's Application (Prune=false: Argo
        // CD's own route), the object's option winning (core places it, gitops-engine reads it).
        annotations: { 'argocd.argoproj.io/sync-options': 'Prune=true' },
      },
      spec: {
        parentRefs: [
          {
            group: 'gateway.networking.k8s.io',
            kind: 'Gateway',
            name: 'platform',
            namespace: 'gateway',
            sectionName: 'https',
          },
        ],
        hostnames: ['web.lab.example.com'],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            // With the defaults the API server would add: Argo CD compares the list whole.
            backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080, weight: 1 }],
          },
        ],
      },
    });
    const api = objectsOf(charts.get('api'), 'staging') as AnyJson;
    expect(api['grpcroute-api'].kind).toBe('GRPCRoute');
    expect(api['grpcroute-api'].spec.hostnames).toEqual(['api.staging.lab.example.com']);
    expect(api['grpcroute-api'].spec.rules).toEqual([
      { backendRefs: [{ group: '', kind: 'Service', name: 'api', port: 9090, weight: 1 }] },
    ]);
  });

  test('removes the request headers a route asks it to, on HTTP and gRPC routes alike', () => {
    const stripped = runGateway(definition(), [
      ...PROVIDERS,
      consumer('web', 'web', [route('web', 'web', { removeRequestHeaders: ['Authorization'] })]),
      consumer('api', 'apis', [
        route('api', 'apis', {
          protocol: 'grpc',
          removeRequestHeaders: ['Authorization', 'Cookie'],
        }),
      ]),
    ]);
    const web = objectsOf(stripped.charts.get('web'), 'prod') as AnyJson;
    expect(web['httproute-web'].spec.rules).toEqual([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        filters: [
          { type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['Authorization'] } },
        ],
        backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080, weight: 1 }],
      },
    ]);
    const api = objectsOf(stripped.charts.get('api'), 'prod') as AnyJson;
    expect(api['grpcroute-api'].spec.rules[0].filters).toEqual([
      {
        type: 'RequestHeaderModifier',
        requestHeaderModifier: { remove: ['Authorization', 'Cookie'] },
      },
    ]);
  });

  test("sends a route's gRPC and gRPC-web requests to its gRPC port, everything else to its port", () => {
    const both = runGateway(definition(), [
      ...PROVIDERS,
      consumer('web', 'web', [route('web', 'web', { grpcPort: 8443 })]),
    ]);
    const web = objectsOf(both.charts.get('web'), 'dev') as AnyJson;
    expect(web['httproute-web'].spec.rules).toEqual([
      {
        // Envoy picks the route on the client's Content-Type or on the one its grpc_web
        // filter rewrote: the pattern matches both
        matches: [
          {
            path: { type: 'PathPrefix', value: '/' },
            headers: [
              { type: 'RegularExpression', name: 'Content-Type', value: '^application/grpc.*$' },
            ],
          },
        ],
        backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 8443, weight: 1 }],
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080, weight: 1 }],
      },
    ]);
    const pattern = new RegExp(web['httproute-web'].spec.rules[0].matches[0].headers[0].value);
    expect(
      ['application/grpc', 'application/grpc-web+proto', 'application/grpc+proto', 'text/html'].map(
        (type) => pattern.test(type),
      ),
    ).toEqual([true, true, true, false]);
  });

  test('admits no other namespace when nobody declares a route', () => {
    const alone = runGateway(definition(), PROVIDERS);
    const https = (objectsOf(alone.chart, 'dev') as AnyJson).gateway.spec.listeners[1];
    expect(https.allowedRoutes).toEqual({ namespaces: { from: 'Same' } });
  });
});

describe('the pinned address', () => {
  const dev = (network: AnyJson, components: AnyJson = {}) =>
    definition(
      [testCluster('dev', 'development', 1, { network: testNetwork(1, network) })],
      components,
    );

  test('is the address the definition gives, when it lies inside a pool', () => {
    const { chart, components } = runGateway(
      dev({}, { gateway: { address: '192.168.1.240' } }),
      PROVIDERS,
    );
    expect(components.issues).toEqual([]);
    expect((objectsOf(chart, 'dev') as AnyJson).gateway.spec.addresses).toEqual([
      { type: 'IPAddress', value: '192.168.1.240' },
    ]);
  });

  test('carries the labels a pool asks of its Services, so that the Gateway’s Service gets its address', () => {
    const { chart } = runGateway(
      dev({
        loadBalancerPools: [
          {
            name: 'edge',
            cidr: '192.168.1.224/28',
            serviceSelector: { 'homelab.dev/pool': 'edge' },
          },
        ],
      }),
      PROVIDERS,
    );
    const spec = (objectsOf(chart, 'dev') as AnyJson).gateway.spec;
    expect(spec.addresses).toEqual([{ type: 'IPAddress', value: '192.168.1.238' }]);
    expect(spec.infrastructure).toEqual({ labels: { 'homelab.dev/pool': 'edge' } });
  });

  test.each([
    [
      '192.168.9.10',
      'lies in none of the LoadBalancer pools of cluster "dev" (default 192.168.1.224/27): LB IPAM would never give it to the Gateway',
    ],
    [
      '192.168.1.224',
      'is the first address of pool default (192.168.1.224/27), which the pool keeps (allowFirstLastIPs: "No": LB IPAM never hands it out)',
    ],
    [
      '192.168.1.255',
      'is the last address of pool default (192.168.1.224/27), which the pool keeps (allowFirstLastIPs: "No": LB IPAM never hands it out)',
    ],
  ])('%s is refused where it is written', (address, message) => {
    const { components } = runGateway(dev({}, { gateway: { address } }), PROVIDERS);
    expect(components.issues.map((i) => [i.severity, i.code, i.path, i.message])).toEqual([
      ['error', 'gateway-address', ['clusters', 0, 'components', 'gateway', 'address'], message],
    ]);
  });

  test('is left to the class when it cannot pin one: a warning, no addresses, none in the facts', () => {
    const { chart, components } = runGateway(dev({}), [
      gatewayClass({ staticAddresses: false }),
      issuer(),
    ]);
    expect(components.issues.map((i) => [i.severity, i.code])).toEqual([
      ['warning', 'gateway-address'],
    ]);
    expect((objectsOf(chart, 'dev') as AnyJson).gateway.spec.addresses).toBeUndefined();
    expect(components.clusters[0]?.facts.gateway?.address).toBeUndefined();
  });

  test('asked of a class that cannot pin it is an error', () => {
    const { components } = runGateway(dev({}, { gateway: { address: '192.168.1.240' } }), [
      gatewayClass({ staticAddresses: false }),
      issuer(),
    ]);
    expect(components.issues.map((i) => [i.severity, i.message])).toEqual([
      ['error', 'cannot be pinned: gateway class "cilium" does not honour spec.addresses'],
    ]);
  });
});

describe('routes it refuses', () => {
  test('forward auth, which the class cannot do: an error at the consumer, and no route made', () => {
    const guarded = consumer('admin', 'admin', [
      route('admin', 'admin', { auth: { kind: 'forward-auth', policy: 'two_factor' } }),
    ]);
    const { components, charts } = runGateway(definition(), [...PROVIDERS, guarded]);
    const issue = components.issues.find((i) => i.code === 'gateway-route');
    expect(issue).toMatchObject({
      severity: 'error',
      path: ['clusters', 0, 'components', 'admin'],
      value: 'admin',
      message:
        'declares route "admin" with forward auth, which the gateway class of cluster "dev" cannot do (no external authorizer)',
    });
    expect(objectsOf(charts.get('admin'), 'dev')).toEqual({});
  });

  test('a host another route already has (components in name order claim hosts), and a host that is not a DNS label', () => {
    const twice = consumer('blog', 'blog', [
      route('blog', 'blog', { host: 'web' }),
      route('bad', 'blog', { host: 'Bad_Host' }),
    ]);
    const { components } = runGateway(definition(), [...PROVIDERS, WEB, twice]);
    expect(
      components.issues.filter((i) => i.path[1] === 0).map((i) => [i.code, i.path[3], i.message]),
    ).toEqual([
      [
        'gateway-route',
        'blog',
        'declares route "bad" with host "Bad_Host", which is not a DNS label',
      ],
      [
        'gateway-route',
        'web',
        'declares route "web" for web.<cluster domain>, which blog (route "blog") already routes on cluster "dev"',
      ],
    ]);
  });
});

describe('a route the definition declares (its origin)', () => {
  // An application's route, named `zzz` so that it would claim its host after `web` anyway, and
  // one named `aaa`, which would claim it first in component name order.
  const origin = ['clusters', 0, 'components', 'applications', 'apps', 'site', 'routes', 0];
  const declaredBy = (component: string) =>
    consumer(component, 'site', [route('site', 'site', { host: 'web', origin })]);

  test('yields a platform host to the component that routes it, refused at its own setting', () => {
    for (const component of ['aaa', 'zzz']) {
      const { components, charts } = runGateway(definition(), [
        ...PROVIDERS,
        WEB,
        declaredBy(component),
      ]);
      const refused = components.issues.filter(
        (i) => i.code === 'gateway-route' && i.message.endsWith('cluster "dev"'),
      );
      expect(refused.map((i) => [i.path, i.message, i.expected])).toEqual([
        [
          [...origin, 'host'],
          `declares route "site" for web.<cluster domain>, which web (route "web") already routes on cluster "dev"`,
          'another host: one route per host',
        ],
      ]);
      // The platform's route stands; the declared one is not made.
      expect(Object.keys(objectsOf(charts.get('web'), 'dev'))).toEqual(['httproute-web']);
      expect(objectsOf(charts.get(component), 'dev')).toEqual({});
    }
  });

  test('forward auth the class cannot do: the error is at its auth', () => {
    const guarded = consumer('aaa', 'site', [
      route('site', 'site', {
        origin,
        auth: { kind: 'forward-auth', policy: 'two_factor' },
      }),
    ]);
    const { components } = runGateway(definition(), [...PROVIDERS, guarded]);
    expect(components.issues.find((i) => i.code === 'gateway-route')?.path).toEqual([
      ...origin,
      'auth',
    ]);
  });
});

describe('a cluster without a gateway class', () => {
  // Cilium with gatewayApi: false on dev: it still lists gateway-class, but publishes no facts there.
  const network = testComponent({
    name: 'network',
    provides: ['cni', 'gateway-class'],
    contribution: (cluster) => ({
      facts: {
        cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' },
        ...(cluster === 'dev'
          ? {}
          : {
              'gateway-class': {
                name: 'cilium',
                gatewayApiVersion: 'v1.3.0',
                staticAddresses: true,
                forwardAuth: false,
              },
            }),
      },
    }),
  });

  test('gets no Gateway, no Application and no facts there, with a warning', () => {
    const { chart, components } = runGateway(definition(), [network, issuer()]);
    const dev = components.clusters[0];
    expect(dev?.contributions.get('gateway')).toEqual({});
    expect(dev?.facts.gateway).toBeUndefined();
    expect(Object.keys(chart?.clusters ?? {})).toEqual(['staging', 'prod']);
    expect(components.issues.map((i) => [i.severity, i.code, i.path])).toEqual([
      ['warning', 'gateway-unavailable', ['clusters', 0, 'components', 'gateway']],
    ]);
  });

  test('refuses a route declared there anyway, never dropping it silently', () => {
    const { components } = runGateway(definition(), [network, issuer(), WEB]);
    expect(
      components.issues
        .filter((i) => i.severity === 'error')
        .map((i) => [i.path, i.value, i.message]),
    ).toEqual([
      [
        ['clusters', 0, 'components', 'web'],
        ['web'],
        'declares route(s) on cluster "dev", which has no platform Gateway to serve them',
      ],
    ]);
  });
});

describe('what it needs', () => {
  test('without a certificates provider the cluster cannot enable it', () => {
    const { components } = runGateway(definition(), [gatewayClass()]);
    expect(components.issues.map((i) => [i.code, i.value]).slice(0, 1)).toEqual([
      ['capability-unprovided', 'certificates'],
    ]);
  });
});
