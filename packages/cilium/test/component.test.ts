// What Cilium declares per cluster (its Application, the CRDs it needs first, its capabilities'
// facts, its runbook step), and its issues. Routes are the gateway component's, not Cilium's.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chartFiles,
  composeDefinitionSchema,
  definitionValidator,
  INITIAL_CHART_VERSION,
  type ResolvedCluster,
  validateDefinition,
} from '@homelab/core';
import {
  readWaits,
  testCluster,
  testComponent,
  testDefinition,
  testNetwork,
  testNode,
  testNodes,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { ciliumComponent } from '../src/index.js';
import { ciliumMonitors, l2AnnouncementLostExpr } from '../src/monitors.js';
import { type AnyJson, must, referenceClusters, runCilium } from './helpers.js';

const { declared, issues, output, platform, rendered } = runCilium(
  testDefinition(referenceClusters()),
);

describe('application descriptor', () => {
  test('Cilium deploys privileged into kube-system, server-side, with the secrets namespace its chart creates', () => {
    const app = declared.dev?.application;
    expect([
      app?.namespace,
      app?.additionalNamespaces,
      app?.podSecurity,
      app?.serverSideApply,
    ]).toEqual(['kube-system', ['cilium-secrets'], 'privileged', true]);
  });

  test('cluster-scoped kinds are exactly what the cluster gets, never a wildcard', () => {
    const list = (name: string): string[] =>
      (declared[name]?.application?.clusterResources ?? []).map((r) => `${r.group}/${r.kind}`);
    expect(list('prod')).toEqual([
      '/Namespace',
      'cilium.io/CiliumBGPAdvertisement',
      'cilium.io/CiliumBGPClusterConfig',
      'cilium.io/CiliumBGPPeerConfig',
      'cilium.io/CiliumLoadBalancerIPPool',
      'gateway.networking.k8s.io/GatewayClass',
      'rbac.authorization.k8s.io/ClusterRole',
      'rbac.authorization.k8s.io/ClusterRoleBinding',
    ]);
    expect(list('dev')).toContain('cilium.io/CiliumL2AnnouncementPolicy');
    expect(list('dev')).not.toContain('cilium.io/CiliumBGPClusterConfig');
  });

  test("from 1.20 the chart's gateway.cilium.io admission policy and binding, with the Gateway API only", () => {
    const vap = [
      'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
      'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
    ];
    const on120 = runCilium(
      testDefinition(referenceClusters(), {
        components: { cilium: { version: '1.20.0', gatewayApi: true } },
      }),
    ).declared;
    const kinds = (name: string, from: typeof declared) =>
      (from[name]?.application?.clusterResources ?? []).map((r) => `${r.group}/${r.kind}`);
    expect(kinds('prod', on120).filter((kind) => kind.startsWith('admission'))).toEqual(vap);
    expect(kinds('prod', declared).filter((kind) => kind.startsWith('admission'))).toEqual([]);
    const without = runCilium(
      testDefinition(referenceClusters(), {
        components: { cilium: { version: '1.20.0', gatewayApi: false } },
      }),
    ).declared;
    expect(kinds('prod', without).filter((kind) => kind.startsWith('admission'))).toEqual([]);
  });

  test('Argo CD ignores the data of the in-cluster generated TLS secrets', () => {
    expect(declared.dev?.application?.ignoreDifferences).toEqual(
      ['cilium-ca', 'hubble-relay-client-certs', 'hubble-server-certs'].map((name) => ({
        group: '',
        kind: 'Secret',
        name,
        namespace: 'kube-system',
        jsonPointers: ['/data'],
      })),
    );
  });
});

describe('capabilities', () => {
  test('the Gateway API CRDs of the release come first, as their own bundle, installed server-side', () => {
    expect(declared.staging?.crds).toEqual([
      {
        name: 'gateway-api-crds',
        description: 'Gateway API v1.4.1 CRDs (standard channel)',
        version: 'v1.4.1',
        source: {
          repoURL: 'https://github.com/kubernetes-sigs/gateway-api',
          path: 'config/crd/standard',
          targetRevision: 'v1.4.1',
          directory: { recurse: false },
        },
        kinds: [
          'GatewayClass',
          'Gateway',
          'GRPCRoute',
          'HTTPRoute',
          'ReferenceGrant',
          'BackendTLSPolicy',
        ].map((kind) => ({ group: 'gateway.networking.k8s.io', kind })),
        clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
        // A cluster that ran v1.5 or later refuses it (crd-bundle-downgrade).
        noDowngradeBelow: {
          version: 'v1.5.0',
          why: expect.stringContaining('stores TLSRoute as v1'),
          undo: [
            'kubectl delete validatingadmissionpolicybinding safe-upgrades.gateway.networking.k8s.io --timeout=2m',
            'kubectl delete validatingadmissionpolicy safe-upgrades.gateway.networking.k8s.io --timeout=2m',
            'kubectl delete customresourcedefinition tlsroutes.gateway.networking.k8s.io --timeout=10m',
          ],
        },
        install: [
          'kubectl apply --server-side --field-manager=argocd-controller -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.4.1/standard-install.yaml',
        ],
      },
      // The operator also looks for TLSRoute (experimental channel) when it starts.
      {
        name: 'gateway-api-tlsroute-crd',
        description: 'Gateway API v1.4.1 TLSRoute CRD (experimental channel)',
        version: 'v1.4.1',
        source: {
          repoURL: 'https://github.com/kubernetes-sigs/gateway-api',
          path: 'config/crd/experimental',
          targetRevision: 'v1.4.1',
          directory: { recurse: false, include: 'gateway.networking.k8s.io_tlsroutes.yaml' },
        },
        kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }],
        clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
        install: [
          'kubectl apply --server-side --field-manager=argocd-controller -f https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.4.1/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml',
        ],
      },
    ]);
  });

  test('Cilium 1.20 needs Gateway API v1.6.1, whose bundle also installs its admission policy', () => {
    const { declared: d } = runCilium(
      testDefinition(referenceClusters(), { components: { cilium: { version: '1.20.0' } } }),
    );
    const bundle = must(d.dev?.crds?.[0], 'the Gateway API bundle');
    expect([bundle.version, bundle.source.targetRevision]).toEqual(['v1.6.1', 'v1.6.1']);
    expect(bundle.clusterResources.map((r) => `${r.group}/${r.kind}`)).toEqual([
      'apiextensions.k8s.io/CustomResourceDefinition',
      'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
      'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
    ]);
  });

  test('from Gateway API v1.5 TLSRoute comes with the standard channel, never from the experimental one', () => {
    // Given Cilium 1.20, whose operator requires TLSRoute v1 (Gateway API v1.6.1), when it declares
    // its CRD bundles, then the standard channel is the only bundle and lists TLSRoute: v1.5.0 moved
    // TLSRoute to config/crd/standard, and the standard channel's safe-upgrades admission policy
    // refuses an experimental CRD applied over a standard one.
    const { declared: d } = runCilium(
      testDefinition(referenceClusters(), { components: { cilium: { version: '1.20.0' } } }),
    );
    const bundles = d.dev?.crds ?? [];
    expect(bundles.map((b) => [b.name, b.source.path])).toEqual([
      ['gateway-api-crds', 'config/crd/standard'],
    ]);
    expect(bundles[0]?.kinds.map((k) => k.kind)).toEqual([
      'GatewayClass',
      'Gateway',
      'GRPCRoute',
      'HTTPRoute',
      'ReferenceGrant',
      'BackendTLSPolicy',
      'TLSRoute',
      'ListenerSet',
      'TCPRoute',
      'UDPRoute',
    ]);
  });

  test('publishes the pod network and the GatewayClass of each cluster (the Gateway is not its own)', () => {
    expect(declared.dev?.facts).toEqual({
      cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' },
      'gateway-class': {
        name: 'cilium',
        gatewayApiVersion: 'v1.4.1',
        staticAddresses: true,
        forwardAuth: false,
      },
    });
    expect(ciliumComponent.provides).toEqual(['cni', 'gateway-class']);
  });

  test('without the Gateway API a cluster gets no CRD bundle and no gateway facts, only the pod network', () => {
    const [dev, ...rest] = referenceClusters();
    const { declared: d, components } = runCilium(
      testDefinition([{ ...dev, components: { cilium: { gatewayApi: false } } }, ...rest]),
    );
    expect(d.dev?.crds).toBeUndefined();
    expect(Object.keys(d.dev?.facts ?? {})).toEqual(['cni']);
    expect(d.staging?.crds?.map((bundle) => bundle.name)).toEqual([
      'gateway-api-crds',
      'gateway-api-tlsroute-crd',
    ]);
    expect(Object.keys(components.clusters[0]?.facts ?? {})).toEqual(['cni']);
    expect(Object.keys(components.clusters[1]?.facts ?? {}).sort()).toEqual([
      'cni',
      'gateway-class',
    ]);
  });

  test("asks Talos for no CNI, no kube-proxy, KubePrism on 7445 and its agents' node-to-node ports on every cluster", () => {
    for (const name of ['dev', 'staging', 'prod']) {
      expect(declared[name]?.talos).toEqual({
        cni: 'none',
        disableKubeProxy: true,
        kubePrism: { port: 7445 },
        nodePorts: [
          { port: 8472, protocol: 'UDP' },
          { port: 4240, protocol: 'TCP' },
          { port: 4244, protocol: 'TCP' },
          { port: 4250, protocol: 'TCP' },
        ],
      });
    }
  });

  test("after a release change: waits for the release's Gateway API CRDs and agents, restarts the operator, recovers SPIRE where it runs", () => {
    // The operator looks for the Gateway API CRDs only when it starts (cilium v1.20.0
    // operator/pkg/gateway-api/cell.go), and Argo CD syncs the CRD bundle and Cilium apart.
    const step = (cluster: string) =>
      must(
        declared[cluster]?.bootstrap?.find(
          (s) => s.title === 'after Cilium moved to another release',
        ),
        'the upgrade step',
      );
    for (const cluster of ['dev', 'prod']) {
      expect(step(cluster).when).toBe('later');
      expect(step(cluster).commands.slice(0, 5).map(readWaits)).toEqual([
        `wait 1800s every 15s until [ "$(kubectl get crd gateways.gateway.networking.k8s.io -o jsonpath='{.metadata.annotations.gateway\\.networking\\.k8s\\.io/bundle-version}')" = v1.4.1 ]`,
        "wait 1800s every 15s until kubectl -n kube-system get daemonset cilium -o jsonpath='{.spec.template.spec.containers[0].image}' | grep -q :v1.19.6",
        'kubectl -n kube-system rollout status daemonset/cilium --timeout=30m',
        'kubectl -n kube-system rollout restart deployment/cilium-operator',
        'kubectl -n kube-system rollout status deployment/cilium-operator --timeout=10m',
      ]);
    }
    // SPIRE (mutual authentication) runs on prod only: its recovery follows there.
    expect(step('prod').commands.slice(5).join('\n')).toContain(
      'kubectl -n cilium-spire rollout status statefulset spire-server --timeout=10m',
    );
    expect(step('dev').commands).toHaveLength(5);
    // The bundle the wait names is the one the cluster's CRD bundle Application installs.
    expect(declared.prod?.crds?.map((bundle) => bundle.version)).toContain('v1.4.1');
  });

  test("before a release change: the pre-flight renders the chart's pre-flight templates with the cluster's layers, waits for both workloads, and removes what it made whether they became ready or not", () => {
    const step = must(
      declared.dev?.bootstrap?.find(
        (s) => s.title === 'before Cilium moves to another release: its pre-flight check',
      ),
      'the pre-flight step',
    );
    expect(step.when).toBe('later');
    const render = [
      'helm template cilium charts/cilium --namespace kube-system --kube-version 1.34.2 \\',
      '  -f charts/cilium/env/development.yaml -f charts/cilium/clusters/dev.yaml \\',
      '  --set cilium.preflight.enabled=true --set cilium.agent=false --set cilium.operator.enabled=false \\',
      "  --show-only 'charts/cilium/templates/cilium-preflight/*.yaml' \\",
    ];
    expect(step.commands).toEqual([
      'helm dependency update charts/cilium',
      ...render,
      '  | kubectl create -f - &&',
      '  kubectl -n kube-system rollout status daemonset/cilium-pre-flight-check --timeout=30m &&',
      '  kubectl -n kube-system rollout status deployment/cilium-pre-flight-check --timeout=10m &&',
      "  echo 'pre-flight passed: every node has the new images, and the new release accepts every CiliumNetworkPolicy'",
      ...render,
      '  | kubectl delete --ignore-not-found --timeout=2m -f -',
    ]);
    // Run by sh against stand-ins that log: a rollout that fails says nothing passed, and the
    // delete runs either way
    const dir = mkdtempSync(join(tmpdir(), 'cilium-preflight-'));
    try {
      const run = (failing: string) => {
        writeFileSync(
          join(dir, 'helm'),
          `#!/bin/sh\necho "helm $*" >> ${dir}/log\necho rendered\n`,
          {
            mode: 0o755,
          },
        );
        writeFileSync(
          join(dir, 'kubectl'),
          `#!/bin/sh\ncat > /dev/null\necho "kubectl $*" >> ${dir}/log\ncase "$*" in *${failing}*) exit 1;; esac\n`,
          { mode: 0o755 },
        );
        rmSync(join(dir, 'log'), { force: true });
        const result = spawnSync('sh', ['-c', step.commands.join('\n')], {
          env: { PATH: `${dir}:/usr/bin:/bin` },
          encoding: 'utf8',
          input: '',
        });
        const log = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
        return {
          stdout: result.stdout,
          log: log.map((line) => line.split(' ').slice(0, 4).join(' ')),
        };
      };
      const passed = run('nothing-fails');
      expect(passed.stdout).toContain('pre-flight passed');
      expect(passed.log).toEqual([
        'helm dependency update charts/cilium',
        'helm template cilium charts/cilium',
        'kubectl create -f -',
        'kubectl -n kube-system rollout',
        'kubectl -n kube-system rollout',
        'helm template cilium charts/cilium',
        'kubectl delete --ignore-not-found --timeout=2m',
      ]);
      const failed = run('daemonset/cilium-pre-flight-check');
      expect(failed.stdout).not.toContain('pre-flight passed');
      expect(failed.log).toEqual([
        'helm dependency update charts/cilium',
        'helm template cilium charts/cilium',
        'kubectl create -f -',
        'kubectl -n kube-system rollout',
        'helm template cilium charts/cilium',
        'kubectl delete --ignore-not-found --timeout=2m',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('after a release change, the wait for the CRDs ends on the bundle this release needs and only then', () => {
    const wait = must(
      declared.prod?.bootstrap?.find((s) => s.title === 'after Cilium moved to another release'),
      'the upgrade step',
    ).commands[0] as string;
    const dir = mkdtempSync(join(tmpdir(), 'cilium-upgrade-'));
    try {
      const run = (bundle: string) => {
        writeFileSync(join(dir, 'kubectl'), `#!/bin/sh\nprintf '%s' '${bundle}'\n`, {
          mode: 0o755,
        });
        writeFileSync(join(dir, 'sleep'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
        writeFileSync(
          join(dir, 'date'),
          `#!/bin/sh\nn=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/n; echo $((n * 1000))\n`,
          { mode: 0o755 },
        );
        rmSync(join(dir, 'n'), { force: true });
        return spawnSync('sh', ['-c', wait], {
          env: { PATH: `${dir}:/usr/bin:/bin` },
          encoding: 'utf8',
        });
      };
      expect(run('v1.4.1').status).toBe(0);
      const old = run('v1.3.0');
      expect(old.status).toBe(1);
      expect(old.stderr).toContain('the Gateway API CRDs are not those of v1.4.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('contributes the runbook step that installs it from its chart with the cluster layers', () => {
    expect(declared.prod?.bootstrap?.map((step) => step.title)).toEqual([
      'Install Cilium from the generated chart (by hand)',
      'Peer the router with the nodes (BGP)',
      'before Cilium moves to another release: its pre-flight check',
      'after Cilium moved to another release',
      "renewing Hubble's certificate authority (every 3 years)",
    ]);
    // L2 announcements need nothing of the network: no peering step
    expect(declared.dev?.bootstrap?.map((step) => step.title)).toEqual([
      'Install Cilium from the generated chart (by hand)',
      'before Cilium moves to another release: its pre-flight check',
      'after Cilium moved to another release',
      "renewing Hubble's certificate authority (every 3 years)",
    ]);
    // The CA renewal: the end date, the Secret deleted, the CronJob run once and waited for
    // (the helm suite checks the names against what the vendored chart renders).
    const renewal = declared.prod?.bootstrap?.at(-1);
    expect(renewal?.when).toBe('later');
    expect(renewal?.commands.slice(1)).toEqual([
      'kubectl -n kube-system delete secret cilium-ca --timeout=2m',
      'kubectl -n kube-system delete job hubble-generate-certs-renew --ignore-not-found --timeout=2m',
      'kubectl -n kube-system create job hubble-generate-certs-renew --from=cronjob/hubble-generate-certs',
      'kubectl -n kube-system wait --for=condition=Complete job/hubble-generate-certs-renew --timeout=10m',
      "kubectl -n kube-system get secret cilium-ca -o jsonpath='{.data.ca\\.crt}' | base64 -d | openssl x509 -noout -enddate",
    ]);
    expect(declared.prod?.bootstrap?.[0]?.commands).toEqual([
      'helm dependency update charts/cilium',
      'helm template cilium charts/cilium --namespace kube-system --kube-version 1.34.2 \\',
      '  -f charts/cilium/env/production.yaml -f charts/cilium/clusters/prod.yaml \\',
      '  | kubectl apply --server-side --field-manager=argocd-controller -f -',
      'kubectl -n kube-system rollout status daemonset/cilium --timeout=10m',
      // again, until the operator has registered every Cilium CRD the chart uses
      'for attempt in $(seq 20); do',
      '  helm template cilium charts/cilium --namespace kube-system --kube-version 1.34.2 \\',
      '    -f charts/cilium/env/production.yaml -f charts/cilium/clusters/prod.yaml \\',
      '    | kubectl apply --server-side --field-manager=argocd-controller -f - && break',
      // the last failed try says so and fails: a loop that ran out in silence read as done
      `  if [ "$attempt" -eq 20 ]; then echo 'Cilium: the chart still does not apply after 20 tries (5 minutes): read the errors above' >&2; false; else sleep 15; fi`,
      'done',
      'talosctl health -n 192.168.3.11',
    ]);
  });

  test("with BGP, tells what the router must accept and waits for every node's sessions", () => {
    // Without the router's side the Gateway reads Programmed (LB IPAM assigns its address) but
    // nothing outside the cluster reaches it: the runbook must say so and wait for the sessions.
    const step = must(declared.prod?.bootstrap?.[1], 'the BGP step');
    const body = step.body.join('\n');
    expect(body).toContain('- `router`: `192.168.3.1`, AS 64512');
    expect(body).toContain('as AS 64513');
    for (const cidr of ['192.168.3.224/28', '192.168.3.240/28']) expect(body).toContain(cidr);
    // every node peers (the cluster config has no node selector), control planes included
    const config = (rendered.prod?.objects ?? []).find(
      (o: AnyJson) => o.kind === 'CiliumBGPClusterConfig',
    ) as AnyJson;
    expect(config.spec.nodeSelector).toBeUndefined();
    const instance = config.spec.bgpInstances[0].name;
    expect(instance).toBe('asn-64513');
    const cluster = must(
      platform.clusters.find((c) => c.name === 'prod'),
      'prod',
    );
    expect(cluster.nodes.map((node) => node.role)).toEqual([
      'controlplane',
      'controlplane',
      'controlplane',
      'worker',
      'worker',
      'worker',
    ]);
    const nodes = cluster.nodes.map((node) => node.hostname);
    for (const node of cluster.nodes) expect(body).toContain(`\`${node.address}\``);
    // bounded (10 minutes, a look every 10 seconds): on giving up it prints the states and fails
    expect(step.commands.slice(1).map(readWaits)).toEqual(
      nodes.map(
        (node) =>
          `wait 600s every 10s until out=$(kubectl get ciliumbgpnodeconfigs.cilium.io ${node} -o jsonpath='{.status.bgpInstances[?(@.name=="${instance}")].peers[*].peeringState}') && [ "$out" = 'established' ]`,
      ),
    );
    for (const command of step.commands.slice(1)) {
      expect(command).toContain('BGP sessions not all established');
      expect(command).toContain(`echo "$out" >&2; exit 1; fi;`);
    }
    expect(step.commands[0]).toBe(
      `kubectl get ciliumbgpnodeconfigs.cilium.io -o jsonpath='{range .items[*]}{.metadata.name}:{range .status.bgpInstances[*].peers[*]} {.name}={.peeringState}{end}{"\\n"}{end}'`,
    );
  });

  test('with BGP and two routers, each node waits for both sessions', () => {
    const [dev, staging, prod] = referenceClusters();
    const production = must(prod, 'prod');
    const bgp = must(production.network.bgp, 'bgp');
    const { declared: d } = runCilium(
      testDefinition([
        dev,
        must(staging, 'staging'),
        {
          ...production,
          network: {
            ...production.network,
            bgp: {
              ...bgp,
              peers: [...bgp.peers, { name: 'router-2', address: '192.168.3.2', asn: 64512 }],
            },
          },
        },
      ]),
    );
    const waits = must(d.prod?.bootstrap?.[1], 'the BGP step').commands.slice(1);
    expect(waits).toHaveLength(6);
    for (const wait of waits) expect(wait).toContain(`[ "$out" = 'established established' ]`);
  });
});

describe('routes of other components', () => {
  test('are not Cilium’s: with Cilium alone a declared route has no provider', () => {
    const app = testComponent({
      name: 'app',
      uses: ['gateway'],
      contribution: () => ({
        application: { namespace: 'app', podSecurity: 'restricted', clusterResources: [] },
        routes: [
          {
            name: 'web',
            host: 'app',
            namespace: 'app',
            service: 'app-web',
            port: 8080,
            auth: { kind: 'app' },
          },
        ],
      }),
    });
    const { components } = runCilium(testDefinition(referenceClusters()), [app]);
    expect(components.issues.map((issue) => [issue.code, issue.value])).toEqual([
      ['request-unfulfilled', ['web']],
      ['request-unfulfilled', ['web']],
      ['request-unfulfilled', ['web']],
    ]);
  });
});

describe('issues', () => {
  const found = (definition: unknown): [string, unknown][] =>
    runCilium(definition).issues.map((issue) => [issue.code, issue.path]);

  test('the reference fleet renders without issues', () => {
    expect(issues).toEqual([]);
  });

  test('a cluster cannot pick its own Cilium version: the definition refuses it where it is written', () => {
    const [dev, staging, prod] = referenceClusters() as AnyJson;
    const definition = testDefinition([
      dev,
      { ...staging, components: { cilium: { version: '1.20.0' } } },
      prod,
    ]);
    const { issues: refused } = validateDefinition(
      definition,
      definitionValidator(composeDefinitionSchema([ciliumComponent])),
    );
    expect(refused.map((issue) => [issue.code, issue.path, issue.message])).toEqual([
      ['schema', ['clusters', 1, 'components', 'cilium', 'version'], 'is not allowed here'],
    ]);
    const { output: out } = runCilium(
      testDefinition(referenceClusters(), { components: { cilium: { version: '1.20.0' } } }),
    );
    expect(out.chart?.dependency?.version).toBe('1.20.0');
  });

  test("an extra flow's pod selectors are Kubernetes labels: Cilium refuses a policy selecting by anything else", () => {
    const flow = (from: AnyJson, to: AnyJson) =>
      testDefinition(referenceClusters(), {
        components: {
          cilium: {
            networkPolicy: {
              flows: [
                { name: 'x', from, to, ports: [{ port: 443 }], reason: 'web calls the provider' },
              ],
            },
          },
        },
      });
    const refused = (definition: unknown) =>
      validateDefinition(
        definition,
        definitionValidator(composeDefinitionSchema([ciliumComponent])),
      ).issues.map((issue) => [issue.code, issue.path.join('.')]);
    const path = 'components.cilium.networkPolicy.flows.0';
    expect(
      refused(
        flow(
          { component: 'web', selector: { app: 'w'.repeat(64) } },
          { component: 'idp', selector: { 'bad key': 'x' } },
        ),
      ),
    ).toEqual([
      ['schema', `${path}.from.selector.app`],
      ['schema', `${path}.to.selector.bad key`],
    ]);
    expect(
      refused(
        flow(
          { component: 'web', selector: { app: 'w'.repeat(63) } },
          { component: 'idp', selector: { 'app.kubernetes.io/name': 'idp' } },
        ),
      ),
    ).toEqual([]);
  });

  test('a cluster name Cilium cannot use is refused', () => {
    const name = 'a-cluster-name-longer-than-thirty-two';
    expect(found(testDefinition([testCluster(name, 'development', 1)]))).toEqual([
      ['cilium-cluster-name', ['clusters', 0, 'name']],
    ]);
  });

  test('the Hubble UI without relay is refused at the setting', () => {
    const definition = testDefinition([
      testCluster('dev', 'development', 1, {
        components: { cilium: { hubble: { relay: false } } },
      }),
    ]);
    expect(found(definition)).toEqual([
      ['cilium-hubble', ['clusters', 0, 'components', 'cilium', 'hubble', 'ui']],
    ]);
  });

  test('production with no free node for the surge operator pod replaces one replica at a time, without a warning it could not act on', () => {
    // Given three schedulable control planes and no worker (a compact cluster): three replicas,
    // one per node (host ports), and no fourth node for a surge pod
    const definition = testDefinition([
      testCluster('prod', 'production', 3, { nodes: testNodes('prod', 3, 3) as AnyJson }),
    ]);
    const run = runCilium(definition);
    expect(run.issues.map((issue) => issue.code)).toEqual([]);
    const operator = (run.rendered.prod as AnyJson).values.cilium.operator;
    expect(operator.replicas).toBe(3);
    expect(operator.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
    });
  });

  test('more operator replicas than nodes it can run on is refused', () => {
    const definition = testDefinition([testCluster('edge', 'staging', 5)]);
    expect(found(definition)).toEqual([
      ['cilium-operator-nodes', ['clusters', 0, 'components', 'cilium', 'operator']],
    ]);
  });

  test('a node whose link name no declared L2 pattern matches is reported at its link', () => {
    const definition = testDefinition([
      testCluster('dev', 'development', 1, {
        nodes: [
          testNode({ hostname: 'dev-cp1', address: '192.168.1.11', link: { name: 'enp1s0' } }),
        ],
        network: testNetwork(1, { l2Announcements: { interfaces: ['^eth[0-9]+$'] } }),
      }),
    ]);
    const run = runCilium(definition);
    expect(run.issues.map((issue) => [issue.severity, issue.code, issue.path])).toEqual([
      ['warning', 'cilium-l2-interface', ['clusters', 0, 'nodes', 0, 'link', 'name']],
    ]);
    expect(run.issues[0]?.message).toContain('(^eth[0-9]+$)');
  });

  test('L2 interface patterns are Go regular expressions: JavaScript-only syntax is refused at the pattern', () => {
    const patterns = ['^enp3s0(?!XQ)', '(?<=e)np', '^(enp)\\1XQ', '^en++p', '^enp*+'];
    const definition = testDefinition([
      testCluster('dev', 'development', 1, {
        nodes: [
          testNode({ hostname: 'dev-cp1', address: '192.168.1.11', link: { name: 'enp3s0' } }),
        ],
        network: testNetwork(1, { l2Announcements: { interfaces: ['^enp3s0$', ...patterns] } }),
      }),
    ]);
    const refused = runCilium(definition).issues.filter((issue) => issue.code === 'regex');
    expect(refused.map((issue) => [issue.path, issue.value])).toEqual(
      patterns.map((pattern, i) => [
        ['clusters', 0, 'network', 'l2Announcements', 'interfaces', i + 1],
        pattern,
      ]),
    );
    expect(refused.map((issue) => issue.message)).toEqual([
      "is not a regular expression Cilium can compile (Go's regexp, RE2 syntax: invalid or unsupported Perl syntax: `(?!`); its L2 announcement policy would announce LoadBalancer addresses on no interface",
      "is not a regular expression Cilium can compile (Go's regexp, RE2 syntax: invalid named capture: `(?<=e)np`); its L2 announcement policy would announce LoadBalancer addresses on no interface",
      "is not a regular expression Cilium can compile (Go's regexp, RE2 syntax: invalid escape sequence: `\\1`); its L2 announcement policy would announce LoadBalancer addresses on no interface",
      "is not a regular expression Cilium can compile (Go's regexp, RE2 syntax: invalid nested repetition operator: `++`); its L2 announcement policy would announce LoadBalancer addresses on no interface",
      "is not a regular expression Cilium can compile (Go's regexp, RE2 syntax: invalid nested repetition operator: `*+`); its L2 announcement policy would announce LoadBalancer addresses on no interface",
    ]);
    expect(refused[0]?.expected).toContain('an RE2 regular expression');
  });

  test('L2 interface patterns only Go understands are accepted and matched as Go matches them', () => {
    const run = (interfaces: [string, ...string[]], link: string) =>
      runCilium(
        testDefinition([
          testCluster('dev', 'development', 1, {
            nodes: [
              testNode({ hostname: 'dev-cp1', address: '192.168.1.11', link: { name: link } }),
            ],
            network: testNetwork(1, { l2Announcements: { interfaces } }),
          }),
        ]),
      ).issues.map((issue) => [issue.code, issue.path]);
    expect(run(['^(enp|eth)[0-9]+$'], 'eth0')).toEqual([]);
    expect(run(['(?i)^LAN0$'], 'lan0')).toEqual([]);
    expect(run(['\\Aenp'], 'enp3s0')).toEqual([]);
    expect(run(['\\Aenp'], 'eth0')).toEqual([
      ['cilium-l2-interface', ['clusters', 0, 'nodes', 0, 'link', 'name']],
    ]);
  });

  test('declared L2 patterns with links selected by hardware: the unknowable match is reported', () => {
    const definition = testDefinition([
      testCluster('dev', 'development', 1, {
        network: testNetwork(1, { l2Announcements: { interfaces: ['^enp.*$'] } }),
      }),
    ]);
    const run = runCilium(definition);
    expect(run.issues.map((issue) => [issue.severity, issue.code, issue.path])).toEqual([
      ['warning', 'cilium-l2-interface', ['clusters', 0, 'nodes', 0, 'link']],
    ]);
  });

  test('links by name or by hardware and no declared patterns: nothing to report', () => {
    const named = testDefinition([
      testCluster('dev', 'development', 1, {
        nodes: [
          testNode({ hostname: 'dev-cp1', address: '192.168.1.11', link: { name: 'ens18' } }),
        ],
      }),
    ]);
    expect(runCilium(named).issues).toEqual([]);
    expect(runCilium(testDefinition([testCluster('dev', 'development', 1)])).issues).toEqual([]);
  });

  test('a cluster without an announcement method is refused', () => {
    const [, , prod] = referenceClusters();
    const { bgp: _bgp, ...network } = must(prod, 'prod').network;
    const definition = testDefinition([{ ...must(prod, 'prod'), network }]);
    expect(found(definition)).toEqual([['announcement', ['clusters', 0, 'network']]]);
  });

  test('rendering is deterministic', () => {
    const a = runCilium(testDefinition(referenceClusters())).output.chart as AnyJson;
    const b = runCilium(testDefinition(referenceClusters())).output.chart as AnyJson;
    expect(chartFiles(b, INITIAL_CHART_VERSION).files).toEqual(
      chartFiles(a, INITIAL_CHART_VERSION).files,
    );
    expect(output.chart?.name).toBe('cilium');
  });
});

describe('monitors', () => {
  test('declares the agent, the operator and Hubble on every cluster, by their metrics Services', () => {
    for (const name of ['dev', 'staging', 'prod']) {
      expect(
        (declared[name]?.monitors ?? []).map((m) => [
          m.name,
          m.namespace,
          m.target?.selector,
          m.target?.port,
        ]),
      ).toEqual([
        ['agent', 'kube-system', { 'app.kubernetes.io/name': 'cilium-agent' }, 'metrics'],
        ['operator', 'kube-system', { 'app.kubernetes.io/name': 'cilium-operator' }, 'metrics'],
        ['hubble', 'kube-system', { 'app.kubernetes.io/name': 'hubble' }, 'hubble-metrics'],
      ]);
    }
  });

  test('watches the BGP sessions only on clusters that peer with BGP', () => {
    const alerts = (name: string): string[] =>
      (declared[name]?.monitors ?? []).flatMap((m) => (m.rules ?? []).map((r) => r.alert));
    expect(alerts('prod')).toEqual([
      'CiliumAgentDown',
      'CiliumBGPSessionDown',
      'LoadBalancerServiceWithoutAddress',
      'CiliumOperatorDown',
    ]);
    expect(alerts('dev')).toEqual([
      'CiliumAgentDown',
      'CiliumL2AnnouncementLost',
      'LoadBalancerServiceWithoutAddress',
      'CiliumOperatorDown',
    ]);
  });

  test('watches the L2 announcement leases only where the addresses are announced by L2', () => {
    const alerts = (network: Partial<ResolvedCluster['network']>): string[] =>
      ciliumMonitors({ name: 'x', network } as unknown as ResolvedCluster).flatMap((m) =>
        (m.rules ?? []).map((r) => r.alert),
      );
    const bgp = { localAsn: 64513, peers: [{ name: 'r', address: '192.168.3.1', asn: 64512 }] };
    expect(alerts({ l2Announcements: {} })).toContain('CiliumL2AnnouncementLost');
    // BGP wins where both are set (only the BGP resources are rendered, l2announcements stays off).
    expect(alerts({ l2Announcements: {}, bgp } as never)).not.toContain('CiliumL2AnnouncementLost');
    expect(alerts({ bgp } as never)).not.toContain('CiliumL2AnnouncementLost');
    expect(alerts({})).not.toContain('CiliumL2AnnouncementLost');
    expect(alerts({})).not.toContain('CiliumBGPSessionDown');
  });

  test('alerts on a LoadBalancer address whose L2 lease is missing, held by nobody or not renewed', () => {
    // Cilium's agents elect the announcer of each Service with an address through the Lease
    // cilium-l2announce-<namespace>-<service> in their namespace (pkg/l2announcer); the holder
    // renews it every retry period (2s by default); kube-state-metrics 2.20.0 reports
    // kube_lease_owner{lease, namespace, lease_holder} and kube_lease_renew_time{lease, namespace}.
    const rule = (declared.dev?.monitors ?? [])
      .flatMap((m) => m.rules ?? [])
      .find((r) => r.alert === 'CiliumL2AnnouncementLost');
    expect([rule?.expr, rule?.severity, rule?.for]).toEqual([
      'label_replace(label_join(max by (namespace, service) (kube_service_status_load_balancer_ingress{ip!=""}), "lease", "-", "namespace", "service"), "lease", "cilium-l2announce-$1", "lease", "(.+)") unless on (lease) (kube_lease_owner{namespace="kube-system", lease=~"cilium-l2announce-.+", lease_holder!=""} and on (lease) (time() - kube_lease_renew_time{namespace="kube-system", lease=~"cilium-l2announce-.+"} < 120))',
      'critical',
      { development: '15m', staging: '5m', production: '2m' },
    ]);
    expect(l2AnnouncementLostExpr('cilium')).toContain(
      'kube_lease_owner{namespace="cilium", lease=~"cilium-l2announce-.+", lease_holder!=""}',
    );
  });

  test('alerts on a LoadBalancer Service LB IPAM left without an address', () => {
    // kube-state-metrics 2.20.0: kube_service_spec_type{type} for every Service, and one
    // kube_service_status_load_balancer_ingress per address (none while status.loadBalancer is empty).
    const rule = (declared.prod?.monitors ?? [])
      .flatMap((m) => m.rules ?? [])
      .find((r) => r.alert === 'LoadBalancerServiceWithoutAddress');
    expect([rule?.expr, rule?.severity, rule?.for]).toEqual([
      'kube_service_spec_type{type="LoadBalancer"} unless on (namespace, service) kube_service_status_load_balancer_ingress',
      'critical',
      { development: '30m', staging: '15m', production: '10m' },
    ]);
  });

  test('waits less before alerting the more production-like the environment', () => {
    const agent = declared.prod?.monitors?.[0]?.rules?.find((r) => r.alert === 'CiliumAgentDown');
    expect(agent?.for).toEqual({ development: '15m', staging: '10m', production: '5m' });
    expect(agent?.severity).toBe('critical');
  });

  test('ships the Cilium and Hubble dashboards, their queries on the Prometheus datasource', () => {
    const dashboards = (declared.dev?.monitors ?? []).flatMap((m) => m.dashboards ?? []);
    expect(dashboards.map((d) => [d.name, d.title])).toEqual([
      ['cilium', 'Cilium: agents, operator, BGP'],
      ['hubble', 'Hubble: flows, drops, DNS'],
    ]);
    for (const dashboard of dashboards) {
      const panels = dashboard.json.panels as { datasource: { uid: string } }[];
      expect(panels.length).toBeGreaterThan(3);
      expect(new Set(panels.map((p) => p.datasource.uid))).toEqual(new Set(['prometheus']));
    }
  });
});
