// Zero trust on Cilium: policies generated from declared flows, mutual authentication per
// environment, the definition's extra flows, and the reachability check reading them back.
import type {
  AnyComponent,
  ClusterContribution,
  ComponentsResult,
  DeployedCluster,
  FlowDeclaration,
  KubeObject,
  ResolvedPlatform,
  SystemInput,
} from '@homelab/core';
import { formatPath, urlFlowPeer } from '@homelab/core';
import { readWaits, testComponent, testDefinition } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { platformNamespacesDefaultDeny } from '../src/default-deny.js';
import { CILIUM_MAX_PORTS_PER_RULE, DEFAULT_DENY_POLICY } from '../src/policies.js';
import { PolicySet, reachabilityCheck } from '../src/reachability.js';
import { SPIRE_RECOVERY_COMMANDS, SPIRE_TRUST_DOMAIN } from '../src/zero-trust.js';
import { type AnyJson, type CiliumRun, referenceClusters, runCilium } from './helpers.js';

const API = [{ port: 6443, protocol: 'TCP' as const }];

/** A provider of `oidc-provider` that accepts consumers on 9091 and a consumer that needs it. */
function identityPair(
  consumerPorts: readonly number[] = [9091],
  providerPorts: readonly number[] = [9091],
): AnyComponent[] {
  const provider = testComponent({
    name: 'idp',
    provides: ['oidc-provider'],
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'idp', podSecurity: 'restricted', clusterResources: [] },
      facts: { 'oidc-provider': { issuer: 'https://auth', userinfoPath: '/u', groups: [] } },
      flows: [
        {
          name: 'consumers',
          direction: 'ingress',
          namespace: 'idp',
          selector: { app: 'idp' },
          peer: { kind: 'consumers', capability: 'oidc-provider' },
          ports: providerPorts.map((port) => ({ port, protocol: 'TCP' as const })),
        },
        {
          name: 'gateway',
          direction: 'ingress',
          namespace: 'idp',
          selector: { app: 'idp' },
          peer: { kind: 'gateway' },
          ports: [{ port: 9091, protocol: 'TCP' }],
        },
      ],
    }),
  });
  const consumer = testComponent({
    name: 'web',
    needs: ['cni'],
    uses: ['oidc-provider'],
    contribution: () => ({
      application: { namespace: 'web', podSecurity: 'restricted', clusterResources: [] },
      flows: [
        {
          name: 'login',
          direction: 'egress',
          namespace: 'web',
          selector: { app: 'web' },
          peer: { kind: 'capability', capability: 'oidc-provider' },
          ports: consumerPorts.map((port) => ({ port, protocol: 'TCP' as const })),
          reason: 'web checks tokens at the identity provider',
        },
        {
          name: 'api',
          direction: 'egress',
          namespace: 'web',
          selector: { app: 'web' },
          peer: { kind: 'kube-apiserver' },
          ports: API,
        },
        {
          name: 'updates',
          direction: 'egress',
          namespace: 'web',
          selector: { app: 'web' },
          peer: { kind: 'fqdn', name: '*.updates.example.org' },
          ports: [{ port: 443, protocol: 'TCP' }],
        },
      ],
    }),
  });
  return [provider, consumer];
}

function policies(run: CiliumRun, cluster: string): AnyJson[] {
  return (run.rendered[cluster]?.objects ?? []).filter((object) =>
    ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'].includes(object.kind),
  ) as AnyJson[];
}

function policy(run: CiliumRun, cluster: string, name: string): AnyJson {
  const found = policies(run, cluster).find((object) => object.metadata.name === name);
  if (found === undefined) throw new Error(`no policy ${name} on ${cluster}`);
  return found;
}

/** Layer 4's view of a run: each cluster's Cilium Application applying `objects(cluster)`. */
function systemInput(
  platform: ResolvedPlatform,
  components: ComponentsResult,
  objects: (cluster: string) => readonly KubeObject[],
): SystemInput {
  const clusters: DeployedCluster[] = components.clusters.map((run) => ({
    cluster: run.cluster,
    run,
    applications: [
      {
        name: 'cilium',
        component: 'cilium',
        bundle: undefined,
        wave: 1,
        namespace: 'kube-system',
        application: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: 'cilium' },
        },
        objects: objects(run.cluster.name).map((object) => ({ object, source: 'test' })),
        installs: [],
        critical: true,
        origin: [],
      },
    ],
  }));
  return { platform, clusters, files: [] };
}

describe('the default deny', () => {
  const run = runCilium(testDefinition(referenceClusters()), identityPair());

  test('covers exactly the namespaces the components run in, in every direction, with DNS allowed', () => {
    const deny = policy(run, 'dev', 'homelab-default-deny');
    expect(deny.kind).toBe('CiliumClusterwideNetworkPolicy');
    expect(deny.spec.endpointSelector.matchExpressions).toEqual([
      {
        key: 'k8s:io.kubernetes.pod.namespace',
        operator: 'In',
        values: ['cilium-secrets', 'idp', 'kube-system', 'web'],
      },
    ]);
    expect(deny.spec.enableDefaultDeny).toEqual({ ingress: true, egress: true });
    expect(deny.spec.egress).toEqual([
      {
        toEndpoints: [
          {
            matchLabels: {
              'k8s-app': 'kube-dns',
              'k8s:io.kubernetes.pod.namespace': 'kube-system',
            },
          },
        ],
        toPorts: [
          {
            ports: [
              { port: '53', protocol: 'UDP' },
              { port: '53', protocol: 'TCP' },
            ],
            rules: { dns: [{ matchPattern: '*' }] },
          },
        ],
      },
    ]);
  });

  test('never allows the world: every rule names pods, an entity other than world, an FQDN or a CIDR', () => {
    const text = JSON.stringify(['dev', 'staging', 'prod'].map((name) => policies(run, name)));
    expect(text).not.toContain('"world"');
    expect(text).not.toContain('0.0.0.0/0');
    for (const object of policies(run, 'prod')) {
      for (const rule of [...(object.spec.ingress ?? []), ...(object.spec.egress ?? [])]) {
        const peers = Object.keys(rule).filter((key) =>
          /^(to|from)(Endpoints|Entities|FQDNs|CIDR)$/.test(key),
        );
        expect(peers.length, `${object.metadata.name} has a rule without a peer`).toBe(1);
      }
    }
  });

  test('is off, with no policy at all, when the definition says so', () => {
    const off = runCilium(
      testDefinition(referenceClusters(), {
        components: { cilium: { networkPolicy: { defaultDeny: false } } },
      }),
      identityPair(),
    );
    expect(policies(off, 'dev')).toEqual([]);
    expect(off.issues).toEqual([]);
  });
});

describe('policies from declared flows', () => {
  const run = runCilium(testDefinition(referenceClusters()), identityPair());

  test('a consumer reaches its provider: egress at the consumer, ingress at the provider, on the declared port', () => {
    const egress = policy(run, 'dev', 'web-login-egress');
    expect(egress.metadata.namespace).toBe('web');
    expect(egress.spec.endpointSelector).toEqual({ matchLabels: { app: 'web' } });
    expect(egress.spec.egress).toEqual([
      {
        toEndpoints: [{ matchLabels: { app: 'idp', 'k8s:io.kubernetes.pod.namespace': 'idp' } }],
        toPorts: [{ ports: [{ port: '9091', protocol: 'TCP' }] }],
      },
    ]);
    const ingress = policy(run, 'dev', 'web-login-ingress');
    expect(ingress.metadata.namespace).toBe('idp');
    expect(ingress.spec.ingress).toEqual([
      {
        fromEndpoints: [{ matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'web' } }],
        toPorts: [{ ports: [{ port: '9091', protocol: 'TCP' }] }],
      },
    ]);
  });

  test('more ports than Cilium takes in one port rule: split into port rules of at most 40, in order, allowing the same', () => {
    // Cilium's agent refuses a whole policy whose port rule lists more than 40 ports (the
    // Helm suite asks Cilium's own parser, tools/cilium-machinery).
    const ports = Array.from({ length: 45 }, (_, index) => 10000 + index);
    const many = runCilium(testDefinition(referenceClusters()), identityPair(ports, ports));
    const rules = policy(many, 'dev', 'web-login-egress').spec.egress[0].toPorts as {
      ports: { port: string; protocol: string }[];
    }[];
    expect(CILIUM_MAX_PORTS_PER_RULE).toBe(40);
    expect(rules.map((rule) => rule.ports.length)).toEqual([40, 5]);
    expect(rules.flatMap((rule) => rule.ports)).toEqual(
      ports.map((port) => ({ port: String(port), protocol: 'TCP' })),
    );
    // The provider's ingress is split the same way, and the flows still resolve.
    const ingress = policy(many, 'dev', 'web-login-ingress').spec.ingress[0].toPorts as {
      ports: unknown[];
    }[];
    expect(ingress.map((rule) => rule.ports.length)).toEqual([40, 5]);
    expect(many.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    // Exactly 40: one rule.
    const forty = runCilium(
      testDefinition(referenceClusters()),
      identityPair(ports.slice(0, 40), ports.slice(0, 40)),
    );
    expect(
      (policy(forty, 'dev', 'web-login-egress').spec.egress[0].toPorts as unknown[]).length,
    ).toBe(1);
  });

  test('the Gateway, the API server and external hosts are entities and FQDNs, not pods', () => {
    expect(policy(run, 'dev', 'idp-gateway-ingress').spec.ingress[0].fromEntities).toEqual([
      'ingress',
    ]);
    expect(policy(run, 'dev', 'web-api-egress').spec.egress[0]).toEqual({
      toEntities: ['kube-apiserver'],
      toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }],
    });
    expect(policy(run, 'dev', 'web-updates-egress').spec.egress[0].toFQDNs).toEqual([
      { matchPattern: '*.updates.example.org' },
    ]);
  });

  test('a webhook admits the API server on its own node and, through the overlay, on the others', () => {
    const webhook = testComponent({
      name: 'hooks',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'hooks', podSecurity: 'restricted', clusterResources: [] },
        flows: [
          {
            name: 'admission',
            direction: 'ingress',
            namespace: 'hooks',
            selector: { app: 'hooks' },
            peer: { kind: 'kube-apiserver' },
            ports: [{ port: 9443, protocol: 'TCP' }],
          },
        ],
      }),
    });
    const hooks = runCilium(testDefinition(referenceClusters()), [webhook]);
    // In tunnel mode a call from an API server on another node carries that node's identity,
    // remote-node (cilium/cilium#18049, #27967): kube-apiserver alone would drop it
    expect(policy(hooks, 'prod', 'hooks-admission-ingress').spec.ingress).toEqual([
      {
        fromEntities: ['kube-apiserver', 'remote-node'],
        toPorts: [{ ports: [{ port: '9443', protocol: 'TCP' }] }],
      },
    ]);
  });

  test('mutual authentication is required between platform pods from staging on, never in development', () => {
    expect(policy(run, 'dev', 'web-login-ingress').spec.ingress[0].authentication).toBeUndefined();
    expect(policy(run, 'staging', 'web-login-ingress').spec.ingress[0].authentication).toEqual({
      mode: 'required',
    });
    // Not on rules from an entity: the Gateway's proxy has no SPIFFE identity.
    expect(
      policy(run, 'prod', 'idp-gateway-ingress').spec.ingress[0].authentication,
    ).toBeUndefined();
    const spire = (name: string): AnyJson =>
      ((run.rendered[name]?.values.cilium ?? {}) as AnyJson).authentication.mutual.spire;
    expect(spire('dev')).toEqual({ enabled: false });
    expect(spire('prod')).toMatchObject({
      enabled: true,
      install: { enabled: true, server: { dataStorage: { enabled: false } } },
    });
    expect(spire('prod').install.agent.resources.requests).toEqual({ cpu: '10m', memory: '32Mi' });
    // The agent processes authentication where rules require it (the chart 1.19 defaults it off
    // and refuses SPIRE without it).
    const enabled = (name: string): unknown =>
      ((run.rendered[name]?.values.cilium ?? {}) as AnyJson).authentication.enabled;
    expect([enabled('dev'), enabled('staging'), enabled('prod')]).toEqual([undefined, true, true]);
    // Our SPIRE namespace, privileged, instead of the chart's unlabelled one.
    expect(spire('prod').install.existingNamespace).toBe(true);
    const spireNamespace = (name: string) =>
      (run.rendered[name]?.objects ?? []).find(
        (object) => object.kind === 'Namespace' && object.metadata.name === 'cilium-spire',
      );
    expect(spireNamespace('prod')?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe(
      'privileged',
    );
    expect(spireNamespace('dev')).toBeUndefined();
  });

  test('the SPIRE server never waits for the storage provider, which comes after the CNI', () => {
    const storage = testComponent({
      name: 'blocks',
      provides: ['storage'],
      needs: ['cni'],
      contribution: () => ({
        facts: { storage: { classes: [{ name: 'fast', tier: 'fast', default: true }] } },
      }),
    });
    const withStorage = runCilium(testDefinition(referenceClusters()), [storage]);
    // A claim of class `fast` would stay Pending until `blocks` runs, a wave after Cilium.
    expect(
      ((withStorage.rendered.prod?.values.cilium ?? {}) as AnyJson).authentication.mutual.spire
        .install.server.dataStorage,
    ).toEqual({ enabled: false });
  });
});

describe('SPIRE without persistent data: the runbook recovers it', () => {
  const run = runCilium(testDefinition(referenceClusters()), identityPair());
  const spire = (name: string): AnyJson =>
    ((run.rendered[name]?.values.cilium ?? {}) as AnyJson).authentication.mutual.spire;

  test('the trust domain the recovery names is the one SPIRE is installed with', () => {
    expect(spire('prod').trustDomain).toBe(SPIRE_TRUST_DOMAIN);
    expect(SPIRE_TRUST_DOMAIN).toBe('spiffe.cilium');
  });

  test('after every node reboot: the server awaited, the agents then the operator restarted where identities are unregistered, then a wait until all are', () => {
    const wait = run.declared.prod?.afterNodeReboot;
    expect(wait?.commands.map(readWaits)).toEqual([
      'kubectl -n cilium-spire rollout status statefulset spire-server --timeout=10m',
      "registered=$(kubectl -n cilium-spire exec spire-server-0 -c spire-server -- /opt/spire/bin/spire-server entry show -parentID spiffe://spiffe.cilium/cilium-operator | sed -n 's/^Found \\([0-9]*\\) entr.*/\\1/p')",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      'if [ "${registered:-0}" -lt "$(kubectl get ciliumidentities.cilium.io -o name | wc -l)" ]; then kubectl -n cilium-spire rollout restart daemonset spire-agent && kubectl -n cilium-spire rollout status daemonset spire-agent --timeout=10m && kubectl -n kube-system rollout restart deployment cilium-operator && kubectl -n kube-system rollout status deployment cilium-operator --timeout=10m; fi',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      'wait 600s every 10s until registered=$(kubectl -n cilium-spire exec spire-server-0 -c spire-server -- /opt/spire/bin/spire-server entry show -parentID spiffe://spiffe.cilium/cilium-operator | sed -n \'s/^Found \\([0-9]*\\) entr.*/\\1/p\') && [ "${registered:-0}" -ge "$(kubectl get ciliumidentities.cilium.io -o name | wc -l)" ]',
    ]);
    expect(run.declared.staging?.afterNodeReboot?.commands).toEqual(SPIRE_RECOVERY_COMMANDS);
    // No SPIRE in development: nothing to recover.
    expect(run.declared.dev?.afterNodeReboot).toBeUndefined();
    expect(run.declared.dev?.nodeLifecycle).toBeUndefined();
  });

  test('when the server restarted on its own, "When a component is down" gives the same recovery, and nothing to lift', () => {
    const down = run.declared.prod?.whenDown;
    expect(down?.recover).toEqual(SPIRE_RECOVERY_COMMANDS);
    expect(down?.diagnose).toContain('kubectl get ciliumidentities.cilium.io -o name | wc -l');
    expect(down?.lift).toEqual([]);
    expect(run.declared.dev?.whenDown).toBeUndefined();
  });

  test('retiring a node that may run the server moves it off after the cordon and recovers; a lost one recovers', () => {
    const cluster = run.components.clusters.find((entry) => entry.cluster.name === 'prod')?.cluster;
    const hosts = (cluster?.schedulableNodes ?? []).map((node) => node.hostname);
    expect(hosts.length).toBeGreaterThan(0);
    const lifecycle = run.declared.prod?.nodeLifecycle;
    expect(Object.keys(lifecycle?.retiring ?? {})).toEqual(hosts);
    expect(Object.keys(lifecycle?.lost ?? {})).toEqual(hosts);
    for (const host of hosts) {
      expect(lifecycle?.retiring?.[host]?.commands).toEqual([
        `kubectl -n cilium-spire delete pod -l app=spire-server --field-selector spec.nodeName=${host} --timeout=2m`,
        ...SPIRE_RECOVERY_COMMANDS,
      ]);
      expect(lifecycle?.lost?.[host]?.commands).toEqual(SPIRE_RECOVERY_COMMANDS);
      // Before a reboot's or an upgrade's drain: moved off and recovered while the node's other
      // pods still run (their volumes detach through longhorn-manager, under mutual auth).
      expect(run.declared.prod?.beforeNodeDrain?.[host]?.commands).toEqual([
        `kubectl -n cilium-spire delete pod -l app=spire-server --field-selector spec.nodeName=${host} --timeout=2m`,
        ...SPIRE_RECOVERY_COMMANDS,
      ]);
    }
    expect(Object.keys(run.declared.prod?.beforeNodeDrain ?? {})).toEqual(hosts);
    expect(run.declared.dev?.beforeNodeDrain).toBeUndefined();
  });
});

describe('flows that cannot be resolved', () => {
  test('a port the provider does not serve is an error naming both ends', () => {
    const run = runCilium(testDefinition(referenceClusters()), identityPair([443]));
    const messages = run.issues.filter((issue) => issue.code === 'flow-unresolved');
    expect(messages.map((issue) => [issue.path, issue.message])).toContainEqual([
      ['clusters', 0, 'components', 'web'],
      'web flow "login" on cluster "dev": needs idp ("oidc-provider") on 443/TCP, but idp accepts its consumers on 9091/TCP (flow "consumers")',
    ]);
  });

  test('a capability nobody provides is an error, and no policy is generated for it', () => {
    const [, consumer] = identityPair();
    const run = runCilium(testDefinition(referenceClusters()), [consumer as AnyComponent]);
    expect(run.issues.map((issue) => issue.message)).toContain(
      'web flow "login" on cluster "dev": needs "oidc-provider" on 9091/TCP, which no component enabled on the cluster provides',
    );
    expect(policies(run, 'dev').map((object) => object.metadata.name)).not.toContain(
      'web-login-egress',
    );
  });
});

describe("a setting naming the API server's Service (kubernetes.default.svc)", () => {
  /** `watcher` dialling what its setting names, as core's urlFlowPeer resolves it. */
  function watcher(peer: FlowDeclaration['peer'], ports: FlowDeclaration['ports']): AnyComponent {
    return testComponent({
      name: 'watcher',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'watcher', podSecurity: 'restricted', clusterResources: [] },
        flows: [
          {
            name: 'api',
            direction: 'egress',
            namespace: 'watcher',
            selector: { app: 'watcher' },
            peer,
            ports,
            reason: 'watcher reads the API at its setting',
          },
        ],
      }),
    });
  }

  test('is the API server on 6443: the kube-apiserver entity, and the reachability check passes', () => {
    const target = urlFlowPeer('https://kubernetes.default.svc.cluster.local', undefined);
    expect(target).toEqual({ peer: { kind: 'kube-apiserver' }, ports: API });
    const run = runCilium(testDefinition(referenceClusters()), [
      watcher(target?.peer ?? { kind: 'host' }, target?.ports ?? []),
    ]);
    expect(run.issues.filter((issue) => issue.code.startsWith('flow'))).toEqual([]);
    expect(policy(run, 'dev', 'watcher-api-egress').spec.egress).toEqual([
      {
        toEntities: ['kube-apiserver'],
        toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }],
      },
    ]);
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input)).toEqual([]);
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  watcher/watcher → kube-apiserver 6443/TCP  [watcher.api]',
    );
  });

  test('as a service or fqdn peer it is an error naming the API server peer, never a dead policy', () => {
    const service = runCilium(testDefinition(referenceClusters()), [
      watcher({ kind: 'service', service: 'kubernetes', namespace: 'default' }, [
        { port: 443, protocol: 'TCP' },
      ]),
    ]);
    // One per cluster, and no flow-service warning
    expect(
      new Set(
        service.issues.filter((issue) => issue.code.startsWith('flow')).map((issue) => issue.code),
      ),
    ).toEqual(new Set(['flow-unresolved']));
    expect(service.issues.find((i) => i.code === 'flow-unresolved')?.expected).toBe(
      "peer { kind: kube-apiserver } on port 6443 (core's hostFlowPeer and flowPeerPorts)",
    );
    const fqdn = runCilium(testDefinition(referenceClusters()), [
      watcher({ kind: 'fqdn', name: 'kubernetes.default.svc' }, [{ port: 443, protocol: 'TCP' }]),
    ]);
    expect(fqdn.issues.find((i) => i.code === 'flow-unresolved')?.message).toContain(
      "is the API server's Service",
    );
    expect(policies(fqdn, 'dev').map((object) => object.metadata.name)).not.toContain(
      'watcher-api-egress',
    );
  });

  test("an extra flow of the definition to it allows the kube-apiserver entity on the API server's port", () => {
    const run = runCilium(
      testDefinition(referenceClusters(), {
        components: {
          cilium: {
            networkPolicy: {
              flows: [
                {
                  name: 'web-api',
                  from: { component: 'web' },
                  to: { fqdn: 'kubernetes.default.svc' },
                  ports: [{ port: 443 }],
                  reason: 'web lists its pods',
                },
              ],
            },
          },
        },
      }),
      identityPair(),
    );
    expect(run.issues).toEqual([]);
    expect(policy(run, 'dev', 'definition-web-api-egress').spec.egress).toEqual([
      {
        toEntities: ['kube-apiserver'],
        toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }],
      },
    ]);
  });
});

describe('calls to a Service of the cluster by name (a webhook of an application)', () => {
  /** `hook` calling ntfy.<namespace>.svc on 8080, and `notify` running there (under default deny with `flows`). */
  function serviceCall(
    namespace: string,
    notifyFlows: FlowDeclaration[] | undefined,
  ): AnyComponent[] {
    const hook = testComponent({
      name: 'hook',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'hook', podSecurity: 'restricted', clusterResources: [] },
        flows: [
          {
            name: 'ntfy',
            direction: 'egress',
            namespace: 'hook',
            selector: { app: 'hook' },
            peer: { kind: 'service', service: 'ntfy', namespace },
            ports: [{ port: 8080, protocol: 'TCP' }],
            reason: 'hook notifies ntfy',
          },
        ],
      }),
    });
    const notify = testComponent({
      name: 'notify',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'notify', podSecurity: 'restricted', clusterResources: [] },
        ...(notifyFlows === undefined ? {} : { flows: notifyFlows }),
      }),
    });
    return [hook, notify];
  }

  test('the caller reaches the pods of the namespace, and those pods under default deny accept it on that port, never through toFQDNs', () => {
    const run = runCilium(testDefinition(referenceClusters()), serviceCall('notify', []));
    // No component renders ntfy: its port is taken as the pods', and the caller is told so.
    expect(
      run.issues
        .filter((issue) => issue.code.startsWith('flow') && issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.code, issue.message, issue.expected]),
    ).toEqual([
      [
        'warning',
        'flow-service-port',
        'hook flow "ntfy" on cluster "dev" calls Service ntfy.notify.svc on 8080/TCP, which no component of the platform renders: the policy allows every pod of namespace "notify" on that port, taken as the port the pods listen on; Cilium translates the Service\'s port to its targetPort before the policy applies, so if the Service maps it to another port every connection is dropped under default deny',
        'a Service ntfy whose targetPort is its port (8080/TCP): no setting of hook states another port for the pods',
      ],
    ]);
    expect(policy(run, 'dev', 'hook-ntfy-egress').spec.egress).toEqual([
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'notify' } }],
        toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
      },
    ]);
    const ingress = policy(run, 'dev', 'hook-ntfy-ingress');
    expect(ingress.metadata.namespace).toBe('notify');
    expect(ingress.spec.endpointSelector).toEqual({ matchLabels: {} });
    expect(ingress.spec.ingress).toEqual([
      {
        fromEndpoints: [
          { matchLabels: { app: 'hook', 'k8s:io.kubernetes.pod.namespace': 'hook' } },
        ],
        toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
      },
    ]);
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input)).toEqual([]);
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  hook/hook → notify/* 8080/TCP  [hook.ntfy]',
    );
  });

  test("without the ingress at the Service's pods under default deny, the reachability check fails naming both ends", () => {
    const run = runCilium(testDefinition(referenceClusters()), serviceCall('notify', []));
    const input = systemInput(run.platform, run.components, (cluster) =>
      (run.rendered[cluster]?.objects ?? []).filter(
        (object) => object.metadata.name !== 'hook-ntfy-ingress',
      ),
    );
    expect(reachabilityCheck.check(input).map((issue) => issue.message)).toContain(
      'hook needs hook/hook → notify/* 8080/TCP (hook notifies ntfy) on cluster "dev", but no generated policy allows it',
    );
  });

  test("a flow to every pod of the namespace declares each of them: the sample does not count the Service's own pods as undeclared", () => {
    // notify's own pods, under default deny, serving 8080 (to the Gateway): a pod endpoint of
    // the namespace the sample probes on that port, which hook's rule allows.
    const own: FlowDeclaration = {
      name: 'web',
      direction: 'ingress',
      namespace: 'notify',
      selector: { app: 'notify' },
      peer: { kind: 'gateway' },
      ports: [{ port: 8080, protocol: 'TCP' }],
    };
    const run = runCilium(testDefinition(referenceClusters()), serviceCall('notify', [own]));
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input)).toEqual([]);
    // Broken on purpose: the relaxation covers hook → the pods of notify only; notify's pods
    // reaching hook through hand-widened policies is still an undeclared pair allowed: an error.
    const widened = (namespace: string, rules: object): KubeObject => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'too-wide', namespace },
      spec: { endpointSelector: {}, ...rules },
    });
    const broken = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
      widened('notify', { egress: [{ toEntities: ['cluster'] }] }),
      widened('hook', { ingress: [{ fromEntities: ['cluster'] }] }),
    ]);
    expect(reachabilityCheck.check(broken).map((issue) => issue.message)).toContain(
      'notify/notify → hook/hook 80/TCP is allowed on cluster "dev" although no flow declares it',
    );
  });

  test('the flow to every pod of the namespace declares its ports only: the caller reaching those pods on another port is still an undeclared pair', () => {
    // notify's own pods serve 9090 (to the Gateway); hook declares only 8080 to the namespace.
    const own: FlowDeclaration = {
      name: 'web',
      direction: 'ingress',
      namespace: 'notify',
      selector: { app: 'notify' },
      peer: { kind: 'gateway' },
      ports: [{ port: 9090, protocol: 'TCP' }],
    };
    const run = runCilium(testDefinition(referenceClusters()), serviceCall('notify', [own]));
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input)).toEqual([]);
    // Broken on purpose: policies widened by hand let hook reach notify's pods on every port;
    // 9090 was never declared, so the sample must report it (the relaxation covers 8080 only).
    const widened = (namespace: string, rules: object): KubeObject => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'too-wide', namespace },
      spec: { endpointSelector: {}, ...rules },
    });
    const broken = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
      widened('hook', { egress: [{ toEntities: ['cluster'] }] }),
      widened('notify', { ingress: [{ fromEntities: ['cluster'] }] }),
    ]);
    expect(reachabilityCheck.check(broken).map((issue) => issue.message)).toContain(
      'hook/hook → notify/notify 9090/TCP is allowed on cluster "dev" although no flow declares it',
    );
  });

  test('a namespace outside default deny (its component declares no flows) needs only the egress', () => {
    const run = runCilium(testDefinition(referenceClusters()), serviceCall('notify', undefined));
    const names = policies(run, 'dev').map((object) => object.metadata.name);
    expect(names).toContain('hook-ntfy-egress');
    expect(names).not.toContain('hook-ntfy-ingress');
  });

  test('an fqdn peer naming a Service of the cluster is an error: toFQDNs never matches it', () => {
    const caller = testComponent({
      name: 'hook',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'hook', podSecurity: 'restricted', clusterResources: [] },
        flows: [
          {
            name: 'ntfy',
            direction: 'egress',
            namespace: 'hook',
            selector: { app: 'hook' },
            peer: { kind: 'fqdn', name: 'ntfy.notify.svc.cluster.local' },
            ports: [{ port: 80, protocol: 'TCP' }],
          },
        ],
      }),
    });
    const run = runCilium(testDefinition(referenceClusters()), [caller]);
    expect(
      run.issues
        .filter((issue) => issue.code === 'flow-unresolved' && issue.path[1] === 0)
        .map((issue) => [issue.message, issue.expected]),
    ).toEqual([
      [
        'hook flow "ntfy" on cluster "dev": "ntfy.notify.svc.cluster.local" is a Service of the cluster: a toFQDNs rule allows the ClusterIP it resolves to, which Cilium translates to a pod before the egress policy applies, so it never matches',
        'peer { kind: service, service: ntfy, namespace: notify }',
      ],
    ]);
    expect(policies(run, 'dev').map((object) => object.metadata.name)).not.toContain(
      'hook-ntfy-egress',
    );
  });

  test("an fqdn peer <service>.<namespace> with a namespace the definition deploys is a warning: the pods' search path makes it that Service", () => {
    const caller = (name: string) =>
      testComponent({
        name: 'hook',
        needs: ['cni'],
        contribution: () => ({
          application: { namespace: 'hook', podSecurity: 'restricted', clusterResources: [] },
          flows: [
            {
              name: 'ntfy',
              direction: 'egress',
              namespace: 'hook',
              selector: { app: 'hook' },
              peer: { kind: 'fqdn', name },
              ports: [{ port: 80, protocol: 'TCP' }],
            },
          ],
        }),
      });
    const notify = testComponent({
      name: 'notify',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'notify', podSecurity: 'restricted', clusterResources: [] },
      }),
    });
    const warnings = (name: string) =>
      runCilium(testDefinition(referenceClusters()), [caller(name), notify])
        .issues.filter((issue) => issue.code === 'flow-fqdn-service' && issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.path, issue.message, issue.expected]);
    expect(warnings('ntfy.notify')).toEqual([
      [
        'warning',
        ['clusters', 0, 'components', 'hook'],
        'hook flow "ntfy" on cluster "dev" names "ntfy.notify", which a pod\'s DNS search path resolves as ntfy.notify.svc.cluster.local, Service ntfy of namespace "notify" (deployed by the definition): Cilium translates its ClusterIP to a pod before the policy applies and its DNS proxy sees the expanded name, so the toFQDNs rule for "ntfy.notify" never matches and under default deny every connection is dropped',
        "the Service's full name, ntfy.notify.svc (its pods are then the peer), or a name outside the cluster",
      ],
    ]);
    // A public name whose last label is no namespace of the cluster, a longer public name, a
    // wildcard: no warning.
    expect(warnings('example.com')).toEqual([]);
    expect(warnings('ntfy.notify.example.com')).toEqual([]);
    expect(warnings('*.notify')).toEqual([]);
  });

  test('a namespace nothing of the definition deploys: a warning at the caller, and no policy', () => {
    const run = runCilium(testDefinition(referenceClusters()), serviceCall('elsewhere', []));
    expect(
      run.issues
        .filter((issue) => issue.code === 'flow-service' && issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.path, issue.message]),
    ).toEqual([
      [
        'warning',
        ['clusters', 0, 'components', 'hook'],
        'hook flow "ntfy" on cluster "dev" calls Service ntfy.elsewhere.svc, but nothing the definition deploys runs in namespace "elsewhere": the build knows neither the pods behind it nor their labels, so no policy can be generated for it and under default deny every connection to it is dropped (a DNS rule cannot stand in: the name resolves to the ClusterIP, which Cilium translates to a pod before the policy applies)',
      ],
    ]);
    expect(policies(run, 'dev').map((object) => object.metadata.name)).not.toContain(
      'hook-ntfy-egress',
    );
  });
});

describe("calls to a Service the platform renders: its selector's pods, on its targetPort", () => {
  // The platform renders MinIO in `storage` (Service minio: port 80 → the pods' 9000, as the
  // upstream chart's console/API Services map them); the backup mover dials
  // http://minio.storage.svc (port 80), as core's urlFlowPeer resolves its S3 endpoint.
  const MINIO = { 'app.kubernetes.io/name': 'minio' };
  function minio(declares: boolean, targetPort: number | string = 9000): AnyComponent {
    return testComponent({
      name: 'minio',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'storage', podSecurity: 'restricted', clusterResources: [] },
        flows: [
          {
            name: 'console',
            direction: 'ingress',
            namespace: 'storage',
            selector: { ...MINIO },
            peer: { kind: 'gateway' },
            ports: [{ port: 9001, protocol: 'TCP' }],
          },
        ],
        ...(declares
          ? {
              services: [
                {
                  name: 'minio',
                  namespace: 'storage',
                  selector: { ...MINIO },
                  ports: [
                    {
                      port: 80,
                      targetPort: typeof targetPort === 'number' ? targetPort : 9000,
                      protocol: 'TCP' as const,
                    },
                  ],
                },
              ],
            }
          : {}),
      }),
    });
  }
  function mover(ports: readonly number[] = [80], portsOf?: 'pods'): AnyComponent {
    const target = urlFlowPeer('http://minio.storage.svc.cluster.local', undefined);
    return testComponent({
      name: 'mover',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'mover', podSecurity: 'restricted', clusterResources: [] },
        flows: [
          {
            name: 's3',
            direction: 'egress',
            namespace: 'mover',
            selector: { app: 'mover' },
            peer:
              target?.peer.kind === 'service'
                ? { ...target.peer, ...(portsOf === undefined ? {} : { portsOf }) }
                : { kind: 'host' },
            ports: ports.map((port) => ({ port, protocol: 'TCP' as const })),
            reason: 'the mover writes the backup to MinIO',
          },
        ],
      }),
    });
  }
  /** The Service and (with `pods`) the Deployment the platform's MinIO chart renders. */
  function rendered(targetPort: number | string, pods = true): KubeObject[] {
    return [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'minio', namespace: 'storage' },
        spec: { selector: { ...MINIO }, ports: [{ name: 'http', port: 80, targetPort }] },
      },
      ...(pods
        ? [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'minio', namespace: 'storage' },
              spec: {
                selector: { matchLabels: { ...MINIO } },
                template: {
                  metadata: { labels: { ...MINIO, extra: 'yes' } },
                  spec: {
                    containers: [
                      {
                        name: 'minio',
                        ports: [
                          { name: 'api', containerPort: 9000 },
                          { name: 'console', containerPort: 9001 },
                        ],
                      },
                    ],
                  },
                },
              },
            } as KubeObject,
          ]
        : []),
    ];
  }
  const input = (run: CiliumRun, extra: readonly KubeObject[]) =>
    systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
      ...extra,
    ]);

  test("the egress names the Service's pods on the targetPort, and they admit the caller there", () => {
    const run = runCilium(testDefinition(referenceClusters()), [mover(), minio(true)]);
    expect(run.issues.filter((issue) => issue.code.startsWith('flow'))).toEqual([]);
    expect(policy(run, 'dev', 'mover-s3-egress').spec.egress).toEqual([
      {
        toEndpoints: [
          {
            matchLabels: {
              'app.kubernetes.io/name': 'minio',
              'k8s:io.kubernetes.pod.namespace': 'storage',
            },
          },
        ],
        toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }],
      },
    ]);
    const ingress = policy(run, 'dev', 'mover-s3-ingress');
    expect(ingress.metadata.namespace).toBe('storage');
    expect(ingress.spec.endpointSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'minio' },
    });
    expect(ingress.spec.ingress).toEqual([
      {
        fromEndpoints: [
          { matchLabels: { app: 'mover', 'k8s:io.kubernetes.pod.namespace': 'mover' } },
        ],
        toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }],
      },
    ]);
    // The Service rendered as declared, numeric or named through the pods' container ports.
    expect(reachabilityCheck.check(input(run, rendered(9000)))).toEqual([]);
    expect(reachabilityCheck.check(input(run, rendered('api')))).toEqual([]);
    expect(reachabilityCheck.report?.(input(run, rendered(9000))) ?? []).toContain(
      '    allowed  mover/mover → storage/minio 9000/TCP  [mover.s3]',
    );
  });

  test("the old way (every pod of the namespace on the Service's port) fails the reachability check against the rendered Service", () => {
    // minio without its declaration: the policy allows port 80, where no pod listens.
    const run = runCilium(testDefinition(referenceClusters()), [mover(), minio(false)]);
    expect(policy(run, 'dev', 'mover-s3-egress').spec.egress[0].toPorts).toEqual([
      { ports: [{ port: '80', protocol: 'TCP' }] },
    ]);
    expect(reachabilityCheck.check(input(run, rendered(9000))).map((i) => i.message)).toContain(
      'mover needs mover/mover → storage/minio 9000/TCP (the mover writes the backup to MinIO) on cluster "dev", but no generated policy allows it',
    );
    // A Service whose targetPort is its port: the old rule was right, and still passes.
    expect(reachabilityCheck.check(input(run, rendered(80)))).toEqual([]);
  });

  test('a named targetPort no rendered pod declares is a warning, and the Service port is kept', () => {
    const run = runCilium(testDefinition(referenceClusters()), [mover(), minio(false)]);
    expect(
      reachabilityCheck
        .check(input(run, rendered('api', false)))
        .filter((issue) => issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.message]),
    ).toEqual([
      [
        'warning',
        'mover calls Service minio.storage.svc on cluster "dev", whose targetPort "api" names no container port of the pods it selects among the rendered objects: the Service\'s port is taken as the pods\' port',
      ],
    ]);
  });

  test('a port the declared Service does not serve is an error, and no policy is generated', () => {
    const run = runCilium(testDefinition(referenceClusters()), [mover([443]), minio(true)]);
    expect(
      run.issues
        .filter((issue) => issue.code === 'flow-service' && issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.message, issue.expected]),
    ).toEqual([
      [
        'error',
        'mover flow "s3" on cluster "dev" calls Service minio.storage.svc on 443/TCP, but the Service minio renders has no such port (it has 80→9000/TCP): nothing answers there',
        'a port of the Service: 80→9000/TCP',
      ],
    ]);
    expect(policies(run, 'dev').map((object) => object.metadata.name)).not.toContain(
      'mover-s3-egress',
    );
  });

  test("ports stated as the pods' (a setting's targetPort) are kept, on the Service's pods", () => {
    const run = runCilium(testDefinition(referenceClusters()), [
      mover([9000], 'pods'),
      minio(true),
    ]);
    expect(run.issues.filter((issue) => issue.code.startsWith('flow'))).toEqual([]);
    expect(policy(run, 'dev', 'mover-s3-egress').spec.egress[0].toPorts).toEqual([
      { ports: [{ port: '9000', protocol: 'TCP' }] },
    ]);
    expect(reachabilityCheck.check(input(run, rendered(9000)))).toEqual([]);
  });
});

describe('a deployment source or an address inside the cluster', () => {
  /** `deployer` fetching the deployment sources, `gitea` running in namespace `git`. */
  const deployer = testComponent({
    name: 'deployer',
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'deployer', podSecurity: 'restricted', clusterResources: [] },
      flows: [
        {
          name: 'sources',
          direction: 'egress',
          namespace: 'deployer',
          selector: { app: 'repo-server' },
          peer: { kind: 'deployment-sources' },
          ports: [],
          reason: 'fetches the platform',
        },
      ],
    }),
  });
  const gitea = testComponent({
    name: 'gitea',
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'git', podSecurity: 'restricted', clusterResources: [] },
      flows: [],
    }),
  });

  test('a platform repository at an address (no name): a CIDR rule, never a toFQDNs naming the address (git dials it without a DNS query)', () => {
    const cases: [string, string][] = [
      ['https://192.168.1.20/homelab/platform.git', '192.168.1.20/32'],
      ['git@10.0.0.6:homelab/platform.git', '10.0.0.6/32'],
      ['https://[fd00::20]/homelab/platform.git', 'fd00::20/128'],
    ];
    for (const [url, cidr] of cases) {
      const run = runCilium(
        testDefinition(referenceClusters(), { repository: { url } } as AnyJson),
        [deployer],
      );
      const egress = policies(run, 'dev')
        .filter((object) => object.metadata.namespace === 'deployer')
        .flatMap((object) => object.spec.egress ?? []);
      expect(
        egress.filter((rule) => rule.toCIDR !== undefined),
        url,
      ).toEqual([
        {
          toCIDR: [cidr],
          toPorts: [{ ports: [{ port: url.startsWith('git@') ? '22' : '443', protocol: 'TCP' }] }],
        },
      ]);
      // The other sources (CRD bundles, charts) keep their names
      const names = egress.flatMap((rule) =>
        (rule.toFQDNs ?? []).map((fqdn: { matchName: string }) => fqdn.matchName),
      );
      expect(names, url).toContain('github.com');
      expect(names, url).not.toContain(cidr.split('/')[0]);
    }
  });

  test('a platform repository served by a Service of the cluster: its pods, admitted there, never toFQDNs', () => {
    const run = runCilium(
      testDefinition(referenceClusters(), {
        repository: { url: 'https://gitea.git.svc.cluster.local/homelab/platform.git' },
      } as AnyJson),
      [deployer, gitea],
    );
    // gitea renders no Service the build knows: its port is taken as the pods', with a warning.
    expect(
      run.issues
        .filter((issue) => issue.code.startsWith('flow'))
        .map((issue) => [issue.code, issue.path[1]]),
    ).toEqual([
      ['flow-service-port', 0],
      ['flow-service-port', 1],
      ['flow-service-port', 2],
    ]);
    const egress = policies(run, 'dev').filter(
      (object) =>
        object.metadata.namespace === 'deployer' &&
        JSON.stringify(object.spec.egress ?? []).includes('"git"'),
    );
    expect(egress.map((object) => object.spec.egress)).toEqual([
      [
        {
          toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'git' } }],
          toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
        },
      ],
    ]);
    expect(JSON.stringify(policies(run, 'dev'))).not.toContain('gitea.git.svc');
    const ingress = policies(run, 'dev').filter(
      (object) => object.metadata.namespace === 'git' && object.spec.ingress !== undefined,
    );
    expect(ingress.map((object) => object.spec.ingress)).toEqual([
      [
        {
          fromEndpoints: [
            {
              matchLabels: {
                app: 'repo-server',
                'k8s:io.kubernetes.pod.namespace': 'deployer',
              },
            },
          ],
          toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
        },
      ],
    ]);
  });

  test("a CIDR peer inside the cluster's pod or Service network is a warning (CIDR rules never match pods)", () => {
    const caller = (cidr: string) =>
      testComponent({
        name: 'caller',
        needs: ['cni'],
        contribution: () => ({
          application: { namespace: 'caller', podSecurity: 'restricted', clusterResources: [] },
          flows: [
            {
              name: 'db',
              direction: 'egress',
              namespace: 'caller',
              selector: { app: 'caller' },
              peer: { kind: 'cidr', cidr },
              ports: [{ port: 5432, protocol: 'TCP' }],
            },
          ],
        }),
      });
    const warnings = (cidr: string) =>
      runCilium(testDefinition(referenceClusters()), [caller(cidr)])
        .issues.filter((issue) => issue.code === 'flow-cidr-cluster' && issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.path, issue.message]);
    expect(warnings('10.101.3.7/32')).toEqual([
      [
        'warning',
        ['clusters', 0, 'components', 'caller'],
        'caller flow "db" on cluster "dev" names 10.101.3.7/32, inside the cluster\'s pod network 10.101.0.0/16: Cilium\'s CIDR rules never match the cluster\'s pods (and it translates a ClusterIP to a pod before the policy applies), so under default deny every connection to it is dropped',
      ],
    ]);
    expect(warnings('10.201.0.10/32').map((warning) => warning[2])).toEqual([
      expect.stringContaining("inside the cluster's Service network 10.201.0.0/16"),
    ]);
    expect(warnings('192.168.1.10/32')).toEqual([]);
    expect(warnings('10.0.0.0/8')).toEqual([]);
  });

  test("a CIDR peer inside one of the cluster's LoadBalancer pools is a warning (Cilium translates the address to a pod at connect)", () => {
    const caller = (cidr: string, direction: 'egress' | 'ingress') =>
      testComponent({
        name: 'caller',
        needs: ['cni'],
        contribution: () => ({
          application: { namespace: 'caller', podSecurity: 'restricted', clusterResources: [] },
          flows: [
            {
              name: 'db',
              direction,
              namespace: 'caller',
              selector: { app: 'caller' },
              peer: { kind: 'cidr', cidr },
              ports: [{ port: 5432, protocol: 'TCP' }],
            },
          ],
        }),
      });
    const warnings = (cidr: string, direction: 'egress' | 'ingress' = 'egress') =>
      runCilium(testDefinition(referenceClusters()), [caller(cidr, direction)])
        .issues.filter((issue) => issue.code === 'flow-cidr-cluster' && issue.path[1] === 0)
        .map((issue) => [issue.severity, issue.path, issue.message]);
    // dev's pool is 192.168.1.224/27 (its LAN 192.168.1.0/24, nodes in 192.168.1.0/25).
    expect(warnings('192.168.1.230/32')).toEqual([
      [
        'warning',
        ['clusters', 0, 'components', 'caller'],
        'caller flow "db" on cluster "dev" names 192.168.1.230/32, inside the cluster\'s LoadBalancer pool "default" (192.168.1.224/27): Cilium translates a LoadBalancer address to a backend pod when a pod connects, before the policy applies, and CIDR rules never match the cluster\'s pods, so under default deny every connection to it is dropped',
      ],
    ]);
    // A LAN host outside the pool, a range only overlapping it, an ingress from the pool's
    // addresses: no warning.
    expect(warnings('192.168.1.200/32')).toEqual([]);
    expect(warnings('192.168.1.0/24')).toEqual([]);
    expect(warnings('192.168.1.230/32', 'ingress')).toEqual([]);
  });

  test("a CIDR peer that is one node's address is a warning (CIDR rules do not select the cluster's nodes)", () => {
    const caller = (cidr: string, direction: 'egress' | 'ingress') =>
      testComponent({
        name: 'caller',
        needs: ['cni'],
        contribution: () => ({
          application: { namespace: 'caller', podSecurity: 'restricted', clusterResources: [] },
          flows: [
            {
              name: 'nodeport',
              direction,
              namespace: 'caller',
              selector: { app: 'caller' },
              peer: { kind: 'cidr', cidr },
              ports: [{ port: 30900, protocol: 'TCP' }],
            },
          ],
        }),
      });
    const warnings = (cidr: string, direction: 'egress' | 'ingress' = 'egress') =>
      runCilium(testDefinition(referenceClusters()), [caller(cidr, direction)])
        .issues.filter((issue) => issue.code === 'flow-cidr-cluster' && issue.path[1] === 0)
        .map((issue) => issue.message);
    const dev = referenceClusters()[0];
    const node = dev.nodes[0];
    expect(warnings(`${node.address}/32`)).toEqual([
      `caller flow "nodeport" on cluster "dev" names ${node.address}/32, the address of node ${node.hostname}: Cilium's CIDR rules do not select the cluster's nodes (they carry the host or remote-node identity, and the platform keeps Cilium's default policy-cidr-match-mode), so under default deny every connection to it is dropped`,
    ]);
    expect(warnings(`${node.address}/32`, 'ingress')).toEqual([
      expect.stringContaining('so under default deny every connection from it is dropped'),
    ]);
    // A LAN host beside the nodes, the node network as a whole: no warning.
    expect(warnings('192.168.1.100/32')).toEqual([]);
    expect(warnings('192.168.1.0/25')).toEqual([]);
  });
});

describe('extra flows of the definition', () => {
  const extras = (flows: AnyJson[]): AnyJson =>
    testDefinition(referenceClusters(), {
      components: { cilium: { networkPolicy: { flows } } },
    });

  test('allow a component to reach another one, a host or a network, on the given ports', () => {
    const run = runCilium(
      extras([
        {
          name: 'web-to-idp-admin',
          from: { component: 'web' },
          to: { component: 'idp', selector: { app: 'idp' } },
          ports: [{ port: 9959 }],
          reason: 'admin API',
        },
        {
          name: 'web-to-nas',
          from: { component: 'web' },
          to: { cidr: '10.10.10.5/32' },
          ports: [{ port: 2049 }],
          reason: 'NFS share',
        },
      ]),
      identityPair(),
    );
    expect(run.issues).toEqual([]);
    expect(policy(run, 'dev', 'definition-web-to-idp-admin-ingress').spec.ingress[0]).toEqual({
      fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'web' } }],
      toPorts: [{ ports: [{ port: '9959', protocol: 'TCP' }] }],
    });
    expect(policy(run, 'dev', 'definition-web-to-nas-egress').spec.egress[0].toCIDR).toEqual([
      '10.10.10.5/32',
    ]);
  });

  test('a flow from every pod of a component declares each of its pods: the reachability check passes', () => {
    // `from: { component: web }` (no selector) is every pod of web, the ones its own flows
    // name (web/app=web) included: what the policy allows them is declared, not a leak.
    const run = runCilium(
      extras([
        {
          name: 'web-to-idp-metrics',
          from: { component: 'web' },
          to: { component: 'idp' },
          ports: [{ port: 9959 }],
          reason: 'web reads the identity provider metrics',
        },
      ]),
      identityPair(),
    );
    expect(run.issues).toEqual([]);
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input).map((issue) => issue.message)).toEqual([]);
    // The pairs the flow does not declare are still sampled, and caught when a policy leaks.
    const wide = (namespace: string): KubeObject => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'too-wide', namespace },
      spec: {
        endpointSelector: {},
        ingress: [{ fromEntities: ['cluster'] }],
        egress: [{ toEntities: ['cluster'] }],
      },
    });
    const leaky = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
      wide('idp'),
      wide('web'),
    ]);
    const leaks = reachabilityCheck.check(leaky).map((issue) => issue.message);
    expect(leaks).toContain(
      'idp/idp → web/web 80/TCP is allowed on cluster "dev" although no flow declares it',
    );
  });

  test('a host whose last label starts with a digit is a toFQDNs name (core isDnsName)', () => {
    // Given extra flows to names whose last label starts with a digit, which the FQDN rule of
    // this package refused before core's isDnsName became the one rule
    const run = runCilium(
      extras([
        {
          name: 'web-to-vendor',
          from: { component: 'web' },
          to: { fqdn: 'api.vendor.3com' },
          ports: [{ port: 443 }],
          reason: 'vendor API',
        },
        {
          name: 'web-to-mirrors',
          from: { component: 'web' },
          to: { fqdn: '*.mirror.1a' },
          ports: [{ port: 443 }],
          reason: 'package mirrors',
        },
      ]),
      identityPair(),
    );
    // Then they become toFQDNs rules, as Cilium's matchName and matchPattern accept them
    expect(run.issues).toEqual([]);
    expect(policy(run, 'dev', 'definition-web-to-vendor-egress').spec.egress[0].toFQDNs).toEqual([
      { matchName: 'api.vendor.3com' },
    ]);
    expect(policy(run, 'dev', 'definition-web-to-mirrors-egress').spec.egress[0].toFQDNs).toEqual([
      { matchPattern: '*.mirror.1a' },
    ]);
  });

  test.each([
    'exa mple..com',
    'Git.Example.com',
    'git.example.com.',
    'git',
    'git.example.123',
    '*.com',
    'api.*.example.com',
    '_sip._tcp.example.com',
    ['a', 'b', 'c']
      .map((c) => c.repeat(63))
      .concat('d'.repeat(62))
      .join('.'),
  ])('the FQDN %j of an extra flow is an error at the flow', (fqdn) => {
    const run = runCilium(
      extras([
        {
          name: 'bad-host',
          from: { component: 'web' },
          to: { fqdn },
          ports: [{ port: 443 }],
          reason: 'typo',
        },
      ]),
      identityPair(),
    );
    // (one issue per cluster the flows apply to; the first cluster's)
    const issues = run.issues.filter((issue) => issue.path[1] === 0);
    expect(issues.map((issue) => [issue.code, issue.path.slice(-4), issue.value])).toEqual([
      ['flow-fqdn', ['flows', 0, 'to', 'fqdn'], fqdn],
    ]);
  });

  test('a flow to a component that does not exist, or an invalid FQDN, is an error at the flow', () => {
    const run = runCilium(
      extras([
        {
          name: 'to-ghost',
          from: { component: 'web' },
          to: { component: 'ghost' },
          ports: [{ port: 80 }],
          reason: 'nobody',
        },
        {
          name: 'bad-host',
          from: { component: 'web' },
          to: { fqdn: 'exa mple..com' },
          ports: [{ port: 443 }],
          reason: 'typo',
        },
      ]),
      identityPair(),
    );
    const issues = run.issues.map((issue) => [issue.code, issue.path.slice(-4), issue.message]);
    expect(issues).toContainEqual([
      'flow-component',
      ['flows', 0, 'to', 'component'],
      'is not a component enabled on cluster "dev"',
    ]);
    expect(issues).toContainEqual([
      'flow-fqdn',
      ['flows', 1, 'to', 'fqdn'],
      'is not a DNS name or a pattern with one leading wildcard label',
    ]);
  });
});

describe('the reachability check', () => {
  const run = runCilium(testDefinition(referenceClusters()), identityPair());
  const rendered = (cluster: string): KubeObject[] => [...(run.rendered[cluster]?.objects ?? [])];

  test('passes on the generated policies and reports every needed flow allowed', () => {
    const input = systemInput(run.platform, run.components, rendered);
    expect(reachabilityCheck.check(input)).toEqual([]);
    const report = reachabilityCheck.report?.(input) ?? [];
    expect(report).toContain('    allowed  web/web → idp/idp 9091/TCP  [web.login]');
    expect(report.some((line) => /undeclared sample: (\d+) of \1 denied/.test(line))).toBe(true);
  });

  test('reads nothing back, and reports nothing, on a cluster where no GitOps controller deploys the charts', () => {
    const input = systemInput(run.platform, run.components, () => []);
    const withoutApplications = {
      ...input,
      clusters: input.clusters.map((cluster) => ({ ...cluster, applications: [] })),
    };
    expect(reachabilityCheck.check(withoutApplications)).toEqual([]);
    expect(reachabilityCheck.report?.(withoutApplications)).toEqual([]);
  });

  test('keeps a component that declares no flow outside default deny, with a warning', () => {
    const silent = testComponent({
      name: 'silent',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'silent', podSecurity: 'restricted', clusterResources: [] },
      }),
    });
    const quiet = runCilium(testDefinition(referenceClusters()), [...identityPair(), silent]);
    const input = systemInput(quiet.platform, quiet.components, (cluster) => [
      ...(quiet.rendered[cluster]?.objects ?? []),
    ]);
    const warnings = reachabilityCheck.check(input).filter((issue) => issue.severity === 'warning');
    // One warning for the component, naming every cluster, at its first cluster's settings.
    expect(
      warnings
        .filter((issue) => issue.message.startsWith('silent '))
        .map((issue) => [issue.path, issue.message]),
    ).toEqual([
      [
        ['clusters', 0, 'components', 'silent'],
        'silent declares no flows on clusters dev, staging, prod: its namespace silent stays outside default deny (zero trust does not cover it, nor any namespace it shares)',
      ],
    ]);
    const deny = (quiet.rendered.dev?.objects ?? []).find(
      (object) =>
        object.kind === 'CiliumClusterwideNetworkPolicy' &&
        object.metadata.name === DEFAULT_DENY_POLICY,
    ) as { spec: { endpointSelector: { matchExpressions: { values: string[] }[] } } } | undefined;
    const denied = deny?.spec.endpointSelector.matchExpressions[0]?.values ?? [];
    expect(denied.length).toBeGreaterThan(0);
    expect(denied).not.toContain('silent');
  });

  test('a needed flow whose ingress counterpart is missing is an error naming both ends', () => {
    const input = systemInput(run.platform, run.components, (cluster) =>
      rendered(cluster).filter((object) => object.metadata.name !== 'web-login-ingress'),
    );
    const issues = reachabilityCheck.check(input);
    expect(issues.map((issue) => issue.message)).toContain(
      'web needs web/web → idp/idp 9091/TCP (web checks tokens at the identity provider) on cluster "dev", but no generated policy allows it',
    );
    expect(issues[0]?.path).toEqual(['clusters', 0, 'components', 'web']);
  });

  test('a policy that allows more than declared makes an undeclared pair reachable: an error', () => {
    const wide = (namespace: string): KubeObject => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'too-wide', namespace },
      spec: {
        endpointSelector: {},
        ingress: [{ fromEntities: ['cluster'] }],
        egress: [{ toEntities: ['cluster'] }],
      },
    });
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...rendered(cluster),
      wide('idp'),
      wide('web'),
    ]);
    expect(reachabilityCheck.check(input).map((issue) => issue.message)).toContain(
      'idp/idp → web/web 80/TCP is allowed on cluster "dev" although no flow declares it',
    );
  });
});

describe('flow declarations', () => {
  test('a flow without a port is refused: no rule ever opens every port', () => {
    const portless: FlowDeclaration = {
      name: 'everything',
      direction: 'egress',
      namespace: 'web',
      selector: { app: 'web' },
      peer: { kind: 'kube-apiserver' },
      ports: [],
    };
    const component = testComponent({
      name: 'web',
      needs: ['cni'],
      contribution: (): ClusterContribution => ({
        application: { namespace: 'web', podSecurity: 'restricted', clusterResources: [] },
        flows: [portless],
      }),
    });
    const run = runCilium(testDefinition(referenceClusters()), [component]);
    expect(run.issues.map((issue) => issue.message)).toContain(
      'web flow "everything" on cluster "dev": lists no port',
    );
  });
});

/**
 * A Gateway (provides `gateway`, zone `lab.test`), an identity provider whose route `auth` the
 * Gateway serves, and an app that logs in with OIDC at https://auth.lab.test.
 */
/** The identity provider's one flow when it accepts nothing from the Gateway: to the API server. */
const IDP_API_ONLY: FlowDeclaration = {
  name: 'api',
  direction: 'egress',
  namespace: 'idp',
  selector: { app: 'idp' },
  peer: { kind: 'kube-apiserver' },
  ports: API,
};

function routedLogin(options: {
  /** The app's egress to the Gateway (default: on 443 to host `auth`). */
  readonly appFlow?: FlowDeclaration | null;
  /** The identity provider's flows (default: ingress from the Gateway on 9091; null: none declared). */
  readonly idpFlows?: readonly FlowDeclaration[] | null;
  /**
   * The app's pods that log in are in a second namespace, `app2`, where the client's secret is:
   * under default deny (`deny`: a flow of the app there), or left out of it (`flowless`).
   */
  readonly secondNamespace?: 'deny' | 'flowless';
}): AnyComponent[] {
  const gateway = testComponent({
    name: 'gw',
    provides: ['gateway'],
    needs: ['cni'],
    contribution: () => ({
      facts: {
        gateway: {
          name: 'platform',
          namespace: 'gw',
          domain: 'lab.test',
          httpsListener: 'https',
          listenerPorts: [80, 443],
          address: undefined,
          forwardAuth: false,
        },
      },
    }),
  });
  const idpGateway: FlowDeclaration = {
    name: 'gateway',
    direction: 'ingress',
    namespace: 'idp',
    selector: { app: 'idp' },
    peer: { kind: 'gateway' },
    ports: [{ port: 9091, protocol: 'TCP' }],
  };
  const idp = testComponent({
    name: 'idp',
    provides: ['oidc-provider'],
    needs: ['cni', 'gateway'],
    contribution: () => ({
      application: { namespace: 'idp', podSecurity: 'restricted', clusterResources: [] },
      facts: {
        'oidc-provider': { issuer: 'https://auth.lab.test', userinfoPath: '/u', groups: [] },
      },
      routes: [
        {
          name: 'idp',
          host: 'auth',
          namespace: 'idp',
          service: 'idp',
          port: 80,
          auth: { kind: 'app' as const },
        },
      ],
      ...(options.idpFlows === null ? {} : { flows: [...(options.idpFlows ?? [idpGateway])] }),
    }),
  });
  const login: FlowDeclaration = {
    name: 'login',
    direction: 'egress',
    namespace: 'app',
    selector: { app: 'app' },
    peer: { kind: 'gateway', host: 'auth' },
    ports: [{ port: 443, protocol: 'TCP' }],
    reason: 'app fetches the issuer through the Gateway',
  };
  const app = testComponent({
    name: 'app',
    needs: ['cni'],
    uses: ['gateway', 'oidc-provider'],
    contribution: () => ({
      application: { namespace: 'app', podSecurity: 'restricted', clusterResources: [] },
      oidcClients: [
        {
          id: 'app',
          name: 'App',
          redirectUris: ['https://app.lab.test/callback'],
          scopes: ['openid'],
          pkce: true,
          public: false,
          policy: 'one_factor',
          ...(options.secondNamespace === undefined
            ? {}
            : { secret: { namespace: 'app2', name: 'app-oidc', key: 'client-secret' } }),
        },
      ],
      ...(options.secondNamespace === 'flowless' ? { flowlessNamespaces: ['app2'] } : {}),
      flows: [
        ...(options.appFlow === null ? [] : [options.appFlow ?? login]),
        ...(options.secondNamespace === 'deny'
          ? [
              {
                name: 'api2',
                direction: 'egress' as const,
                namespace: 'app2',
                selector: { app: 'app' },
                peer: { kind: 'kube-apiserver' as const },
                ports: API,
              },
            ]
          : []),
        {
          name: 'api',
          direction: 'egress',
          namespace: 'app',
          selector: { app: 'app' },
          peer: { kind: 'kube-apiserver' },
          ports: API,
        },
      ],
    }),
  });
  return [gateway, idp, app];
}

describe('calls through the Gateway to a routed host', () => {
  const run = runCilium(testDefinition(referenceClusters()), routedLogin({}));
  const rendered = (cluster: string): KubeObject[] => [...(run.rendered[cluster]?.objects ?? [])];

  test("the source may reach the Gateway proxy (the ingress entity) on any port, and the route's backend pods on their port: Envoy checks its egress against them", () => {
    expect(run.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(policy(run, 'dev', 'app-login-egress').spec.egress).toEqual([
      { toEntities: ['ingress'] },
      {
        toEndpoints: [{ matchLabels: { app: 'idp', 'k8s:io.kubernetes.pod.namespace': 'idp' } }],
        toPorts: [{ ports: [{ port: '9091', protocol: 'TCP' }] }],
      },
    ]);
    // The backend's side is its own ingress flow from the Gateway, on its port.
    expect(policy(run, 'dev', 'idp-gateway-ingress').spec.ingress).toEqual([
      { fromEntities: ['ingress'], toPorts: [{ ports: [{ port: '9091', protocol: 'TCP' }] }] },
    ]);
    expect(
      policies(run, 'dev').some((object) => object.metadata.name === 'app-login-ingress'),
    ).toBe(false);
  });

  test('passes and reports the call allowed, with the host and the route owner', () => {
    const input = systemInput(run.platform, run.components, rendered);
    expect(reachabilityCheck.check(input)).toEqual([]);
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  app/app → gateway (auth.lab.test → idp) 443/TCP  [app.login]',
    );
  });

  test('an egress rule to the Gateway narrowed to 443 never matches: the check fails', () => {
    const narrowed = (cluster: string): KubeObject[] =>
      rendered(cluster).map((object) =>
        object.metadata.name === 'app-login-egress'
          ? ({
              ...object,
              spec: {
                ...(object.spec as object),
                egress: [
                  {
                    toEntities: ['ingress'],
                    toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
                  },
                ],
              },
            } as KubeObject)
          : object,
      );
    const messages = reachabilityCheck
      .check(systemInput(run.platform, run.components, narrowed))
      .map((issue) => issue.message);
    expect(messages).toContain(
      'app needs app/app → gateway (auth.lab.test → idp) 443/TCP (app fetches the issuer through the Gateway) on cluster "dev", but no generated policy allows it',
    );
  });

  test("the caller's egress to the Gateway without the backend pods: Envoy drops the call, the check fails", () => {
    // Cilium's Envoy checks the calling pod's egress policy against the backend's identity and
    // port (cilium/proxy enforceNetworkPolicy, "enforce pod policy first"): the ingress entity
    // alone, as generated before, let nothing through.
    const entityOnly = (cluster: string): KubeObject[] =>
      rendered(cluster).map((object) =>
        object.metadata.name === 'app-login-egress'
          ? ({
              ...object,
              spec: { ...(object.spec as object), egress: [{ toEntities: ['ingress'] }] },
            } as KubeObject)
          : object,
      );
    const issues = reachabilityCheck.check(systemInput(run.platform, run.components, entityOnly));
    expect(issues.map((issue) => [issue.message, issue.expected])).toContainEqual([
      'app needs app/app → gateway (auth.lab.test → idp) 443/TCP (app fetches the issuer through the Gateway) on cluster "dev", but no generated policy allows it',
      "a CiliumNetworkPolicy allowing egress at app/app to the ingress entity without ports and to idp's pods behind the route on their ports (Cilium's Envoy checks the caller's egress against the backend), and idp accepting ingress from the Gateway",
    ]);
  });

  test('the route owner no longer accepting the Gateway: the call is denied', () => {
    const input = systemInput(run.platform, run.components, (cluster) =>
      rendered(cluster).filter((object) => object.metadata.name !== 'idp-gateway-ingress'),
    );
    const messages = reachabilityCheck.check(input).map((issue) => issue.message);
    expect(messages).toContain(
      'app needs app/app → gateway (auth.lab.test → idp) 443/TCP (app fetches the issuer through the Gateway) on cluster "dev", but no generated policy allows it',
    );
  });

  test('a component that logs in at the routed issuer without the egress: an error naming it and the route owner', () => {
    const broken = runCilium(testDefinition(referenceClusters()), routedLogin({ appFlow: null }));
    const input = systemInput(broken.platform, broken.components, (cluster) => [
      ...(broken.rendered[cluster]?.objects ?? []),
    ]);
    const errors = reachabilityCheck.check(input).filter((issue) => issue.severity === 'error');
    expect(errors.map((issue) => [issue.path, issue.message, issue.expected])).toContainEqual([
      ['clusters', 0, 'components', 'app'],
      'app logs in with OIDC at https://auth.lab.test, which idp serves through the Gateway on cluster "dev", but no flow of app calls the Gateway: under default deny its pods cannot fetch the discovery document, the tokens or the keys, and the login fails',
      'an egress flow of app with peer { kind: gateway, host: auth } on 443/TCP from the pods that talk to the issuer',
    ]);
  });

  test("the call is needed from the pods of the client's secret's namespace, where they are under default deny", () => {
    // The app's login flow is from namespace app; its client's pods are in app2.
    const errorsOf = (secondNamespace: 'deny' | 'flowless') => {
      const built = runCilium(
        testDefinition(referenceClusters()),
        // app2 outside default deny: no login flow at all
        routedLogin({
          secondNamespace,
          ...(secondNamespace === 'flowless' ? { appFlow: null } : {}),
        }),
      );
      const input = systemInput(built.platform, built.components, (cluster) => [
        ...(built.rendered[cluster]?.objects ?? []),
      ]);
      return reachabilityCheck
        .check(input)
        .filter((issue) => issue.severity === 'error')
        .map((issue) => [formatPath(issue.path), issue.message]);
    };
    expect(errorsOf('deny')).toContainEqual([
      'clusters[0].components.app',
      'app logs in with OIDC at https://auth.lab.test, which idp serves through the Gateway on cluster "dev", but no flow of app from namespace app2 calls the Gateway: under default deny its pods cannot fetch the discovery document, the tokens or the keys, and the login fails',
    ]);
    // app2 outside default deny: its pods reach anything, nothing to declare, though the
    // component's first namespace, app, is under default deny without a call to the issuer (it
    // does not log in).
    expect(
      errorsOf('flowless').filter(([, message]) => String(message).includes('logs in with OIDC')),
    ).toEqual([]);
  });

  test('a route owner outside default deny (it declares no flows) is reached', () => {
    const open = runCilium(testDefinition(referenceClusters()), routedLogin({ idpFlows: null }));
    expect(open.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const input = systemInput(open.platform, open.components, (cluster) => [
      ...(open.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input).filter((issue) => issue.severity === 'error')).toEqual(
      [],
    );
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  app/app → gateway (auth.lab.test → idp) 443/TCP  [app.login]',
    );
  });

  test('a route owner under default deny that accepts no ingress from the Gateway: an error naming both', () => {
    const closed = runCilium(
      testDefinition(referenceClusters()),
      routedLogin({
        idpFlows: [IDP_API_ONLY],
      }),
    );
    expect(closed.issues.map((issue) => issue.message)).toContain(
      'app flow "login" on cluster "dev": calls auth.lab.test through the Gateway, but idp (whose route serves it) declares no ingress from the Gateway in idp: under default deny the Gateway cannot forward the request',
    );
  });

  test('every route reaches its pods from the Gateway, whether or not a pod of the cluster calls it (browsers do)', () => {
    const input = systemInput(run.platform, run.components, rendered);
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  gateway → auth.lab.test (idp) via idp/idp 9091/TCP',
    );
    // Broken on purpose: the owner's policy admitting the Gateway dropped. The error names the
    // route even where nothing in the cluster calls its host.
    const uncalled = runCilium(testDefinition(referenceClusters()), routedLogin({ appFlow: null }));
    const dropped = systemInput(uncalled.platform, uncalled.components, (cluster) =>
      (uncalled.rendered[cluster]?.objects ?? []).filter(
        (object) => object.metadata.name !== 'idp-gateway-ingress',
      ),
    );
    const routeErrors = reachabilityCheck
      .check(dropped)
      .filter((issue) => issue.value === 'gateway → auth.lab.test');
    expect(routeErrors.map((issue) => [issue.severity, issue.path, issue.message])).toEqual(
      ['dev', 'staging', 'prod'].map((cluster, index) => [
        'error',
        ['clusters', index, 'components', 'idp'],
        `idp routes auth.lab.test to idp, which is under default deny on cluster "${cluster}", but the Gateway's proxy (Cilium identity ingress) reaches none of its pods there (idp/idp 9091/TCP (not allowed by the policies)): every request to the host is dropped`,
      ]),
    );
  });

  test('a route owner under default deny with no ingress from the Gateway, and no caller: an error at the route', () => {
    const closed = runCilium(
      testDefinition(referenceClusters()),
      routedLogin({
        appFlow: null,
        idpFlows: [IDP_API_ONLY],
      }),
    );
    // Planning the flows finds nothing wrong: no flow calls the host.
    expect(closed.issues.filter((issue) => issue.code === 'flow-unresolved')).toEqual([]);
    const input = systemInput(closed.platform, closed.components, (cluster) => [
      ...(closed.rendered[cluster]?.objects ?? []),
    ]);
    const routeErrors = reachabilityCheck
      .check(input)
      .filter((issue) => String(issue.value).startsWith('gateway → '));
    expect(routeErrors.map((issue) => issue.message)).toContain(
      'idp routes auth.lab.test to idp, which is under default deny on cluster "prod", but the Gateway\'s proxy (Cilium identity ingress) reaches none of its pods there (no ingress flow from the Gateway): every request to the host is dropped',
    );
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    DENIED   gateway → auth.lab.test (idp) via no ingress flow from the Gateway',
    );
  });

  test('a routed host named as an fqdn peer goes through the Gateway on its listener port, and is an error on another port', () => {
    const fqdn = (port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
      runCilium(
        testDefinition(referenceClusters()),
        routedLogin({
          appFlow: {
            name: 'login',
            direction: 'egress',
            namespace: 'app',
            selector: { app: 'app' },
            peer: { kind: 'fqdn', name: 'auth.lab.test' },
            ports: [{ port, protocol }],
          },
        }),
      );
    // On 443: as the gateway peer (the Gateway's Envoy takes the connection)
    const https = fqdn(443);
    expect(https.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(policy(https, 'dev', 'app-login-egress').spec.egress[0]).toEqual({
      toEntities: ['ingress'],
    });
    // On 443/UDP (QUIC): the listeners take TCP only
    const quic = fqdn(443, 'UDP');
    expect(quic.issues.find((entry) => entry.code === 'flow-unresolved')?.message).toContain(
      'calls auth.lab.test on port 443/UDP, but auth.lab.test is the route "auth"',
    );
    // On 636 (LDAPS to a server of that name): nothing answers it at the Gateway
    const ldaps = fqdn(636);
    const issue = ldaps.issues.find((entry) => entry.code === 'flow-unresolved');
    expect([issue?.severity, issue?.message, issue?.expected]).toEqual([
      'error',
      'app flow "login" on cluster "dev": calls auth.lab.test on port 636, but auth.lab.test is the route "auth" of the platform Gateway, which listens only on 80, 443 (TCP): the connection reaches the Gateway\'s address, where nothing answers that port, never the server behind the route',
      'auth.lab.test on port 443 (through the Gateway), or, for a server outside the cluster, a name the Gateway does not route',
    ]);
  });

  test('a host no component routes, or no host at all: an error listing the routed hosts', () => {
    const unknown = runCilium(
      testDefinition(referenceClusters()),
      routedLogin({
        appFlow: {
          name: 'login',
          direction: 'egress',
          namespace: 'app',
          selector: { app: 'app' },
          peer: { kind: 'gateway', host: 'sso' },
          ports: [{ port: 443, protocol: 'TCP' }],
        },
      }),
    );
    const issue = unknown.issues.find((entry) => entry.code === 'flow-unresolved');
    expect([issue?.message, issue?.expected]).toEqual([
      'app flow "login" on cluster "dev": calls sso.lab.test through the Gateway, but no component routes that host on cluster "dev"',
      'the first label of a routed host: auth (idp)',
    ]);
    const hostless = runCilium(
      testDefinition(referenceClusters()),
      routedLogin({
        appFlow: {
          name: 'login',
          direction: 'egress',
          namespace: 'app',
          selector: { app: 'app' },
          peer: { kind: 'gateway' },
          ports: [{ port: 443, protocol: 'TCP' }],
        },
      }),
    );
    expect(hostless.issues.map((entry) => entry.message)).toContain(
      'app flow "login" on cluster "dev": is an egress to the Gateway without a host (which route does it call?)',
    );
  });
});

describe('coverage and scrapes', () => {
  const scraped = (flows: FlowDeclaration[] | undefined): AnyComponent =>
    testComponent({
      name: 'scraped',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'scraped', podSecurity: 'restricted', clusterResources: [] },
        ...(flows === undefined ? {} : { flows }),
      }),
    });
  const metricsIngress: FlowDeclaration = {
    name: 'metrics',
    direction: 'ingress',
    namespace: 'scraped',
    selector: { app: 'scraped' },
    peer: { kind: 'capability', capability: 'metrics' },
    ports: [{ port: 9402, protocol: 'TCP' }],
  };
  const denied = (result: CiliumRun): string[] => {
    const deny = policy(result, 'dev', 'homelab-default-deny');
    return deny.spec.endpointSelector.matchExpressions[0].values;
  };

  test('an empty list of flows is a declaration: its namespace is under default deny, with no warning', () => {
    const result = runCilium(testDefinition(referenceClusters()), [scraped([])]);
    expect(denied(result)).toContain('scraped');
    const input = systemInput(result.platform, result.components, (cluster) => [
      ...(result.rendered[cluster]?.objects ?? []),
    ]);
    expect(
      reachabilityCheck.check(input).filter((issue) => issue.message.startsWith('scraped ')),
    ).toEqual([]);
  });

  test('an ingress from the metrics provider where no component provides metrics allows nothing and is no error', () => {
    const result = runCilium(testDefinition(referenceClusters()), [scraped([metricsIngress])]);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(
      policies(result, 'dev').some((object) => object.metadata.name.startsWith('scraped-')),
    ).toBe(false);
  });

  test('with a metrics provider that reaches its consumers, Prometheus gets to the port at both ends', () => {
    const prometheus = testComponent({
      name: 'mon',
      provides: ['metrics'],
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'mon', podSecurity: 'restricted', clusterResources: [] },
        facts: { metrics: { namespace: 'mon' } },
        flows: [
          {
            name: 'scrape',
            direction: 'egress',
            namespace: 'mon',
            selector: { app: 'prometheus' },
            peer: { kind: 'consumers', capability: 'metrics' },
            ports: [],
          },
        ],
      }),
    });
    const result = runCilium(testDefinition(referenceClusters()), [
      prometheus,
      scraped([metricsIngress]),
    ]);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(policy(result, 'dev', 'scraped-metrics-egress').spec.egress).toEqual([
      {
        toEndpoints: [
          { matchLabels: { app: 'scraped', 'k8s:io.kubernetes.pod.namespace': 'scraped' } },
        ],
        toPorts: [{ ports: [{ port: '9402', protocol: 'TCP' }] }],
      },
    ]);
    const input = systemInput(result.platform, result.components, (cluster) => [
      ...(result.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  mon/prometheus → scraped/scraped 9402/TCP  [scraped.metrics]',
    );
  });

  test("with Talos' own CoreDNS (no component provides dns), Prometheus scrapes its metrics port at both ends", () => {
    // kube-prometheus-stack scrapes Talos' CoreDNS (its coreDns monitor, on unless a component
    // provides dns) at the kube-dns pods on 9153; they run in kube-system, under default deny.
    const prometheus = testComponent({
      name: 'mon',
      provides: ['metrics'],
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'mon', podSecurity: 'restricted', clusterResources: [] },
        facts: { metrics: { namespace: 'mon' } },
        flows: [
          {
            name: 'scrape',
            direction: 'egress',
            namespace: 'mon',
            selector: { app: 'prometheus' },
            peer: { kind: 'consumers', capability: 'metrics' },
            ports: [],
          },
        ],
      }),
    });
    const result = runCilium(testDefinition(referenceClusters()), [prometheus]);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(denied(result)).toEqual(expect.arrayContaining(['kube-system', 'mon']));
    const set = PolicySet.fromObjects(result.rendered.dev?.objects ?? []);
    const from = {
      kind: 'pods' as const,
      component: 'mon',
      namespace: 'mon',
      selector: { app: 'prometheus' },
    };
    const coredns = {
      kind: 'pods' as const,
      component: 'talos-coredns',
      namespace: 'kube-system',
      selector: { 'k8s-app': 'kube-dns' },
    };
    expect(set.allows(from, coredns, { port: 9153, protocol: 'TCP' })).toBe(true);
    // Only that port: the DNS port is every pod's already, any other stays closed.
    expect(set.allows(from, coredns, { port: 8080, protocol: 'TCP' })).toBe(false);
    // Its forward to Talos' host DNS (169.254.116.108 on the node's lo: a node address, the host
    // identity, which no CIDR rule selects) is allowed to the host entity, on 53 alone
    const forward = (result.rendered.dev?.objects ?? []).find((object) =>
      object.metadata.name.includes('talos-coredns-host-dns'),
    ) as { spec: { egress: unknown[] } } | undefined;
    expect(forward?.spec.egress).toEqual([
      {
        toEntities: ['host'],
        toPorts: [
          {
            ports: [
              { port: '53', protocol: 'UDP' },
              { port: '53', protocol: 'TCP' },
            ],
          },
        ],
      },
    ]);
    const host = { kind: 'entity' as const, entities: ['host' as const], label: 'host' };
    expect(set.allows(coredns, host, { port: 53, protocol: 'UDP' })).toBe(true);
    expect(set.allows(coredns, host, { port: 22, protocol: 'TCP' })).toBe(false);
    const input = systemInput(result.platform, result.components, (cluster) => [
      ...(result.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.report?.(input) ?? []).toContain(
      '    allowed  mon/prometheus → kube-system/kube-dns 9153/TCP  [mon.scrape.talos-coredns]',
    );
    expect(reachabilityCheck.check(input).filter((issue) => issue.severity === 'error')).toEqual(
      [],
    );
  });
});

describe('a provider that declares no flows', () => {
  const scraper = (flows: readonly FlowDeclaration[] = []) =>
    testComponent({
      name: 'scraper',
      provides: ['metrics'],
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'watch', podSecurity: 'baseline', clusterResources: [] },
        facts: { metrics: { namespace: 'watch' } },
        ...(flows.length === 0 ? {} : { flows }),
      }),
    });
  const scraped = testComponent({
    name: 'scraped',
    needs: ['cni'],
    uses: ['metrics'],
    contribution: () => ({
      application: { namespace: 'app', podSecurity: 'restricted', clusterResources: [] },
      flows: [
        {
          name: 'metrics',
          direction: 'ingress',
          namespace: 'app',
          selector: { app: 'exporter' },
          peer: { kind: 'capability', capability: 'metrics' },
          ports: [{ port: 9000, protocol: 'TCP' }],
          reason: 'the scraper reads the exporter',
        },
      ],
    }),
  });

  test('is the peer by its namespace, and no policy switches enforcement on for it', () => {
    const run = runCilium(testDefinition(referenceClusters()), [scraper(), scraped]);
    const input = systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []),
    ]);
    expect(
      reachabilityCheck
        .check(input)
        .filter((issue) => issue.severity === 'error')
        .map((issue) => issue.message),
    ).toEqual([]);
    const policies = (run.rendered.dev?.objects ?? []).filter(
      (object) => object.kind === 'CiliumNetworkPolicy',
    ) as AnyJson[];
    const admit = policies.find((policy) => policy.metadata.namespace === 'app');
    expect(admit?.spec.ingress).toEqual([
      {
        fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'watch' } }],
        toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }],
      },
    ]);
    // Additive rules: only the cluster-wide default deny enforces.
    expect(admit?.spec.enableDefaultDeny).toEqual({ ingress: false, egress: false });
    expect(policies.filter((policy) => policy.metadata.namespace === 'watch')).toEqual([]);
    const deny = (run.rendered.dev?.objects ?? []).find(
      (object) => object.metadata.name === DEFAULT_DENY_POLICY,
    ) as AnyJson;
    expect(deny.spec.endpointSelector.matchExpressions[0].values).not.toContain('watch');
  });

  test('once it declares flows, it must accept or reach its consumers itself', () => {
    const api: FlowDeclaration = {
      name: 'api',
      direction: 'egress',
      namespace: 'watch',
      selector: { app: 'scraper' },
      peer: { kind: 'kube-apiserver' },
      ports: API,
    };
    const run = runCilium(testDefinition(referenceClusters()), [scraper([api]), scraped]);
    expect(run.issues.map((issue) => issue.message)).toContain(
      'scraped flow "metrics" on cluster "dev": needs "metrics" on 9000/TCP, but scraper (its provider) declares no egress to its consumers: nothing allows the flow',
    );
  });
});

describe('monitor targets under default deny', () => {
  const mon = testComponent({
    name: 'mon',
    provides: ['metrics'],
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'mon', podSecurity: 'restricted', clusterResources: [] },
      facts: { metrics: { namespace: 'mon' } },
      flows: [
        {
          name: 'scrape',
          direction: 'egress',
          namespace: 'mon',
          selector: { app: 'prometheus' },
          peer: { kind: 'consumers', capability: 'metrics' },
          ports: [],
          reason: 'Prometheus scrapes the monitors',
        },
      ],
    }),
  });
  const scraped = (admits: boolean): AnyComponent =>
    testComponent({
      name: 'scraped',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'scraped', podSecurity: 'restricted', clusterResources: [] },
        flows: admits
          ? [
              {
                name: 'metrics',
                direction: 'ingress',
                namespace: 'scraped',
                selector: { app: 'exporter' },
                peer: { kind: 'capability', capability: 'metrics' },
                ports: [{ port: 9402, protocol: 'TCP' }],
              },
            ]
          : [],
      }),
    });
  // No flows: outside default deny.
  const open = testComponent({
    name: 'open',
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'open', podSecurity: 'restricted', clusterResources: [] },
    }),
  });
  // Its pods run on the host network (a port Cilium's own host-network monitors do not use).
  const agent = testComponent({
    name: 'agent',
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'agent', podSecurity: 'privileged', clusterResources: [] },
      flows: [],
      monitors: [
        {
          name: 'agent',
          namespace: 'agent',
          target: { kind: 'service', selector: { app: 'agent' }, port: 'metrics', hostPort: 9970 },
        },
      ],
    }),
  });
  const monitor = (component: string, namespace: string, app: string): KubeObject => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: {
      name: `${component}-${app}`,
      namespace: 'mon',
      labels: { 'homelab.dev/component': component },
    },
    spec: {
      selector: { matchLabels: { app } },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [{ port: 'metrics' }],
    },
  });
  const monitors = [
    monitor('scraped', 'scraped', 'exporter'),
    monitor('open', 'open', 'open'),
    monitor('agent', 'agent', 'agent'),
  ];
  const inputOf = (run: CiliumRun, drop: readonly string[] = []): SystemInput =>
    systemInput(run.platform, run.components, (cluster) => [
      ...(run.rendered[cluster]?.objects ?? []).filter(
        (object) => !drop.includes(object.metadata.name),
      ),
      ...monitors,
    ]);
  const errors = (input: SystemInput): string[] =>
    reachabilityCheck
      .check(input)
      .filter((issue) => issue.severity === 'error')
      .map((issue) => issue.message);
  const run = runCilium(testDefinition(referenceClusters()), [mon, scraped(true), open, agent]);

  test('the provider reaches each: by an ingress flow, on any port outside default deny, at the nodes for the host network', () => {
    expect(run.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const input = inputOf(run);
    expect(errors(input)).toEqual([]);
    // The egress to a namespace outside default deny has no ports (nothing there names them);
    // the one to the nodes is the monitor's host port.
    expect(policy(run, 'dev', 'mon-scrape-open-egress').spec.egress).toEqual([
      { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'open' } }] },
    ]);
    expect(policy(run, 'dev', 'mon-scrape-agent-agent-egress').spec.egress).toEqual([
      {
        toEntities: ['host', 'remote-node'],
        toPorts: [{ ports: [{ port: '9970', protocol: 'TCP' }] }],
      },
    ]);
    const report = reachabilityCheck.report?.(input) ?? [];
    expect(report).toContain('  monitor targets: 3 of 3 reachable by the metrics provider');
    expect(report).toContain(
      '    allowed  ServiceMonitor/open-open → open via any port (outside default deny)',
    );
    expect(report).toContain('    allowed  ServiceMonitor/agent-agent → agent via nodes 9970/TCP');
    expect(report).toContain(
      '    allowed  ServiceMonitor/scraped-exporter → scraped via 9402/TCP [scraped.metrics]',
    );
  });

  test('a target under default deny that admits no scrape is an error naming the monitor', () => {
    const closed = runCilium(testDefinition(referenceClusters()), [
      mon,
      scraped(false),
      open,
      agent,
    ]);
    expect(errors(inputOf(closed))).toContain(
      'the metrics provider cannot scrape ServiceMonitor/scraped-exporter (of scraped) in scraped on cluster "dev": scraped is under default deny and no flow there admits mon/prometheus',
    );
  });

  test('without the egress to a namespace outside default deny, or to the nodes, the target is unreachable', () => {
    const messages = errors(
      inputOf(run, ['mon-scrape-open-egress', 'mon-scrape-agent-agent-egress']),
    );
    expect(messages).toContain(
      'the metrics provider cannot scrape ServiceMonitor/open-open (of open) in open on cluster "dev": no policy lets mon/prometheus reach open, which is outside default deny (the egress to the metrics consumers resolves to it)',
    );
    expect(messages).toContain(
      'the metrics provider cannot scrape ServiceMonitor/agent-agent (of agent) in agent on cluster "dev": no policy lets mon/prometheus reach the nodes on 9970/TCP (the target runs on the host network)',
    );
  });

  test('a provider under default deny without an egress to its consumers reaches no target', () => {
    const silent = testComponent({
      name: 'mon',
      provides: ['metrics'],
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'mon', podSecurity: 'restricted', clusterResources: [] },
        facts: { metrics: { namespace: 'mon' } },
        flows: [],
      }),
    });
    const result = runCilium(testDefinition(referenceClusters()), [silent, open, agent]);
    expect(errors(inputOf(result))).toContain(
      'the metrics provider cannot scrape ServiceMonitor/open-open (of open) in open on cluster "dev": mon (the metrics provider) is under default deny but declares no egress flow with peer { kind: consumers, capability: metrics }',
    );
  });
});

describe('port ranges', () => {
  /** A storage engine whose engines dial replicas on a run-time port of 10000–20000. */
  const engine = (ports: FlowDeclaration['ports'], extra: Partial<ClusterContribution> = {}) =>
    testComponent({
      name: 'engine',
      needs: ['cni'],
      contribution: (): ClusterContribution => ({
        application: { namespace: 'engine', podSecurity: 'privileged', clusterResources: [] },
        flows: [
          {
            name: 'replicas',
            direction: 'egress',
            namespace: 'engine',
            selector: { role: 'instance' },
            peer: { kind: 'self', selector: { role: 'instance' } },
            ports,
            reason: 'engines write to replicas',
          },
        ],
        ...extra,
      }),
    });
  const range = [{ port: 10000, endPort: 20000, protocol: 'TCP' as const }];

  test('render as endPort at both ends, and the check proves the whole range allowed', () => {
    const result = runCilium(testDefinition(referenceClusters()), [engine(range)]);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const egress = policy(result, 'dev', 'engine-replicas-egress');
    const ingress = policy(result, 'dev', 'engine-replicas-ingress');
    expect(egress.spec.egress[0].toPorts).toEqual([
      { ports: [{ port: '10000', endPort: 20000, protocol: 'TCP' }] },
    ]);
    expect(ingress.spec.ingress[0].toPorts).toEqual([
      { ports: [{ port: '10000', endPort: 20000, protocol: 'TCP' }] },
    ]);
    const input = systemInput(result.platform, result.components, (cluster) => [
      ...(result.rendered[cluster]?.objects ?? []),
    ]);
    expect(reachabilityCheck.check(input)).toEqual([]);
    expect(reachabilityCheck.report?.(input)).toContain(
      '    allowed  engine/instance → engine/instance 10000-20000/TCP  [engine.replicas]',
    );
  });

  test('a rule covering only part of the range does not allow it: an error naming both ends', () => {
    const result = runCilium(testDefinition(referenceClusters()), [engine(range)]);
    const narrowed = (cluster: string): KubeObject[] =>
      (result.rendered[cluster]?.objects ?? []).map((object) => {
        if (object.metadata.name !== 'engine-replicas-ingress') return object;
        const copy = JSON.parse(JSON.stringify(object)) as AnyJson;
        copy.spec.ingress[0].toPorts[0].ports[0].endPort = 15000;
        return copy as KubeObject;
      });
    const issues = reachabilityCheck.check(
      systemInput(result.platform, result.components, narrowed),
    );
    expect(issues.map((issue) => issue.message)).toContain(
      'engine needs engine/instance → engine/instance 10000-20000/TCP (engines write to replicas) on cluster "dev", but no generated policy allows it',
    );
  });

  test('a range ending at or below its first port, or a port out of range, is refused', () => {
    const backwards = runCilium(testDefinition(referenceClusters()), [
      engine([{ port: 20000, endPort: 10000, protocol: 'TCP' }]),
    ]);
    expect(backwards.issues.map((issue) => issue.message)).toContain(
      'engine flow "replicas" on cluster "dev": range 20000-10000 does not end above its first port, at 65535 at most',
    );
    const zero = runCilium(testDefinition(referenceClusters()), [
      engine([{ port: 0, protocol: 'TCP' }]),
    ]);
    expect(zero.issues.map((issue) => issue.message)).toContain(
      'engine flow "replicas" on cluster "dev": port 0 is not a port number',
    );
  });

  test('namespaces a component leaves out of its flows stay outside default deny, with a warning', () => {
    const mixed = engine(range, {
      application: {
        namespace: 'engine',
        additionalNamespaces: ['loose'],
        podSecurity: 'privileged',
        clusterResources: [],
      },
      flowlessNamespaces: ['loose'],
    });
    const result = runCilium(testDefinition(referenceClusters()), [mixed]);
    const deny = policy(result, 'dev', DEFAULT_DENY_POLICY);
    const denied: string[] = deny.spec.endpointSelector.matchExpressions[0].values;
    expect(denied).toContain('engine');
    expect(denied).not.toContain('loose');
    const input = systemInput(result.platform, result.components, (cluster) => [
      ...(result.rendered[cluster]?.objects ?? []),
    ]);
    expect(
      reachabilityCheck
        .check(input)
        .filter((issue) => issue.message.startsWith('engine '))
        .map((issue) => [issue.severity, issue.message]),
    ).toEqual([
      [
        'warning',
        'engine declares no flows for loose on clusters dev, staging, prod: its namespace loose stays outside default deny (zero trust does not cover it, nor any namespace it shares)',
      ],
    ]);
  });
});

describe('PolicySet: Cilium semantics of the rules read back', () => {
  const pods = (namespace: string, app: string) =>
    ({ kind: 'pods', component: app, namespace, selector: { app } }) as const;
  const policy = (namespace: string | undefined, spec: Record<string, unknown>): KubeObject =>
    ({
      apiVersion: 'cilium.io/v2',
      kind: namespace === undefined ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy',
      metadata: { name: 'p', ...(namespace === undefined ? {} : { namespace }) },
      spec,
    }) as KubeObject;
  const web = pods('web', 'web');
  const db = pods('data', 'db');
  const otherDb = pods('web', 'db');

  test('a port matches only with its protocol, and a range only when it covers the whole range', () => {
    const set = PolicySet.fromObjects([
      policy('web', {
        endpointSelector: { matchLabels: { app: 'web' } },
        egress: [
          {
            toEntities: ['world'],
            toPorts: [
              { ports: [{ port: '53', protocol: 'UDP' }] },
              { ports: [{ port: '8000', endPort: 8010, protocol: 'TCP' }] },
            ],
          },
        ],
      }),
    ]);
    const world = { kind: 'cidr', cidr: '203.0.113.0/24' } as const;
    expect(set.allows(web, world, { port: 53, protocol: 'UDP' })).toBe(true);
    expect(set.allows(web, world, { port: 53, protocol: 'TCP' })).toBe(false);
    expect(set.allows(web, world, { port: 8002, endPort: 8010, protocol: 'TCP' })).toBe(true);
    expect(set.allows(web, world, { port: 8002, endPort: 8011, protocol: 'TCP' })).toBe(false);
  });

  test("a CiliumNetworkPolicy's endpoint selector without a namespace label selects its own namespace only", () => {
    const namespaced = PolicySet.fromObjects([
      policy('web', {
        endpointSelector: { matchLabels: { app: 'web' } },
        egress: [{ toEndpoints: [{ matchLabels: { app: 'db' } }] }],
      }),
    ]);
    expect(namespaced.allows(web, otherDb, { port: 5432, protocol: 'TCP' })).toBe(true);
    expect(namespaced.allows(web, db, { port: 5432, protocol: 'TCP' })).toBe(false);
    // A clusterwide policy's selector is not scoped.
    const clusterwide = PolicySet.fromObjects([
      policy(undefined, {
        endpointSelector: { matchLabels: { app: 'web' } },
        egress: [{ toEndpoints: [{ matchLabels: { app: 'db' } }] }],
      }),
    ]);
    expect(clusterwide.allows(web, db, { port: 5432, protocol: 'TCP' })).toBe(true);
  });

  test('ingress under default deny needs a rule from the source; a pod no policy selects is open', () => {
    const set = PolicySet.fromObjects([
      policy('data', {
        endpointSelector: { matchLabels: { app: 'db' } },
        ingress: [
          {
            fromEndpoints: [
              { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'web', app: 'web' } },
            ],
            toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
          },
        ],
      }),
    ]);
    expect(set.allows(web, db, { port: 5432, protocol: 'TCP' })).toBe(true);
    expect(set.allows(web, db, { port: 5433, protocol: 'TCP' })).toBe(false);
    expect(set.allows(otherDb, db, { port: 5432, protocol: 'TCP' })).toBe(false);
    expect(set.allows(db, web, { port: 80, protocol: 'TCP' })).toBe(true);
  });
});

describe('platform-namespaces-default-deny', () => {
  /** A platform component under zero trust in `monitoring`, and one more component. */
  function metrics(): AnyComponent {
    return testComponent({
      name: 'metrics',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'monitoring', podSecurity: 'privileged', clusterResources: [] },
        flows: [
          {
            name: 'api',
            direction: 'egress',
            namespace: 'monitoring',
            selector: { app: 'prometheus' },
            peer: { kind: 'kube-apiserver' },
            ports: API,
          },
        ],
      }),
    });
  }
  const inputOf = (result: CiliumRun, edit = (objects: KubeObject[]) => objects) =>
    systemInput(result.platform, result.components, (cluster) =>
      edit([...(result.rendered[cluster]?.objects ?? [])]),
    );

  test("holds on the generated policies: every component's namespace under its flows is denied", () => {
    const result = runCilium(testDefinition(referenceClusters()), [...identityPair(), metrics()]);
    expect(platformNamespacesDefaultDeny.check(inputOf(result))).toEqual([]);
  });

  test('a component leaving a platform namespace without flows (fed through the contributions) takes it out of default deny: an error naming both', () => {
    const loose = testComponent({
      name: 'apps',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'monitoring', podSecurity: 'privileged', clusterResources: [] },
        flows: [],
        flowlessNamespaces: ['monitoring'],
      }),
    });
    const result = runCilium(testDefinition(referenceClusters()), [metrics(), loose]);
    const deny = policy(result, 'dev', DEFAULT_DENY_POLICY);
    expect(deny.spec.endpointSelector.matchExpressions[0].values).not.toContain('monitoring');
    const issues = platformNamespacesDefaultDeny.check(inputOf(result));
    expect(issues.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      ['platform-namespaces-default-deny', 'clusters.0.components.apps', 'monitoring'],
      ['platform-namespaces-default-deny', 'clusters.1.components.apps', 'monitoring'],
      ['platform-namespaces-default-deny', 'clusters.2.components.apps', 'monitoring'],
    ]);
    expect(issues[0]?.message).toBe(
      'namespace "monitoring", where metrics declares its flows, is outside Cilium\'s default deny on cluster "dev" because apps leaves it without flows: metrics\'s pods there accept and send anything',
    );
    expect(issues[0]?.expected).toBe(
      'apps in a namespace of its own (an application: its own namespace), or flows for every pod it runs in "monitoring"',
    );
  });

  test('a component declaring no flows at all in a platform namespace takes it out too', () => {
    const silent = testComponent({
      name: 'silent',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'monitoring', podSecurity: 'privileged', clusterResources: [] },
      }),
    });
    const result = runCilium(testDefinition(referenceClusters()), [metrics(), silent]);
    expect(
      platformNamespacesDefaultDeny
        .check(inputOf(result))
        .map((issue) => [issue.path.join('.'), issue.message]),
    ).toContainEqual([
      'clusters.0.components.silent',
      'namespace "monitoring", where metrics declares its flows, is outside Cilium\'s default deny on cluster "dev" because silent leaves it without flows: metrics\'s pods there accept and send anything',
    ]);
  });

  test('the deployed policy missing a namespace (edited on purpose) is an error at Cilium', () => {
    const result = runCilium(testDefinition(referenceClusters()), [...identityPair(), metrics()]);
    const edited = inputOf(result, (objects) =>
      objects.map((object) => {
        if (object.metadata.name !== DEFAULT_DENY_POLICY) return object;
        const copy = JSON.parse(JSON.stringify(object)) as AnyJson;
        const values: string[] = copy.spec.endpointSelector.matchExpressions[0].values;
        copy.spec.endpointSelector.matchExpressions[0].values = values.filter(
          (name) => name !== 'monitoring',
        );
        return copy as KubeObject;
      }),
    );
    const issues = platformNamespacesDefaultDeny.check(edited);
    expect(issues.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      ['platform-namespaces-default-deny', 'clusters.0.components.cilium', 'monitoring'],
      ['platform-namespaces-default-deny', 'clusters.1.components.cilium', 'monitoring'],
      ['platform-namespaces-default-deny', 'clusters.2.components.cilium', 'monitoring'],
    ]);
    expect(issues[0]?.message).toBe(
      'namespace "monitoring", where metrics declares its flows, is not selected by homelab-default-deny on cluster "dev": metrics\'s pods there accept and send anything',
    );
  });

  test('nothing to check where default deny is off', () => {
    const loose = testComponent({
      name: 'apps',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'monitoring', podSecurity: 'privileged', clusterResources: [] },
        flows: [],
        flowlessNamespaces: ['monitoring'],
      }),
    });
    const off = runCilium(
      testDefinition(referenceClusters(), {
        components: { cilium: { networkPolicy: { defaultDeny: false } } },
      }),
      [metrics(), loose],
    );
    expect(platformNamespacesDefaultDeny.check(inputOf(off))).toEqual([]);
  });
});
