import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AnyComponent,
  CapabilityFacts,
  ClusterContribution,
  ComponentOutput,
  ComponentsResult,
  PlatformDefinition,
  ResolvedPlatform,
  Values,
} from '@homelab/core';
import {
  chartFiles,
  INITIAL_CHART_VERSION,
  parseBoundedWait,
  parseYaml,
  renderChart,
  terminalReader,
  toYaml,
} from '@homelab/core';
import {
  readVendoredChartFile,
  readVendoredSubchartFile,
  testCertificates,
  testComponent,
  testDefinition,
  testNodes,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import {
  excludedKindsCheck,
  localAdminCheck,
  oidcPkceCheck,
  oidcRefreshCheck,
  oidcScopesCheck,
  oidcTrustCheck,
  parseGoDuration,
} from './checks.js';
import { argocdComponent } from './component.js';
import { CHART_RESOURCE_EXCLUSIONS, type FilteredResource, isExcludedKind } from './exclusions.js';
import { APPLICATION_HEALTH_KEY } from './health.js';
import { argocdOidcClients } from './oidc.js';
import { type ArgocdSettings, resolveArgocdSettings } from './settings.js';
import { ARGOCD_CHART } from './versions.js';

const OIDC: ArgocdSettings = {
  adminGroups: ['platform-admins'],
  readonlyGroups: ['developers'],
  oidc: { clientId: 'argocd', clientSecret: { secretName: 'argocd-oidc', key: 'client-secret' } },
};

/** The same, with the browser's session renewed by the refresh token of its login. */
const RENEWING: ArgocdSettings = {
  ...OIDC,
  oidc: { ...(OIDC.oidc as NonNullable<ArgocdSettings['oidc']>), renewSessions: true },
};

const CNI: CapabilityFacts['cni'] = {
  kubeProxyReplacement: true,
  networkPolicy: true,
  namespace: 'kube-system',
};

/** Stands in for the CNI Argo CD needs; with `gateway`, also for the platform Gateway. */
function network(gateway: boolean): AnyComponent {
  return testComponent({
    name: 'network',
    provides: gateway ? ['cni', 'gateway'] : ['cni'],
    contribution: (cluster) => ({
      facts: {
        cni: CNI,
        ...(gateway
          ? {
              gateway: {
                name: 'platform',
                namespace: 'kube-system',
                domain: `${cluster}.example`,
                httpsListener: 'https',
                listenerPorts: [80, 443],
                address: undefined,
                forwardAuth: false,
              },
            }
          : {}),
      },
    }),
  });
}

interface Run {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  /** Argo CD's output (undefined when no cluster enables it). */
  readonly output: ComponentOutput | undefined;
  /** What Argo CD declared, per cluster. */
  readonly declared: { readonly [cluster: string]: ClusterContribution };
  /** The values `helm template` sees for a cluster (base + env + cluster layers). */
  readonly values: (cluster: string) => Loose;
}

/** Argo CD on the reference clusters, with `settings` for every cluster and `others` registered. */
function run(
  settings: ArgocdSettings | undefined,
  others: readonly AnyComponent[] = [network(true)],
  clusters = testReferenceClusters(),
  overrides: Pick<PlatformDefinition, 'environments'> = {},
): Run {
  const definition = testDefinition(clusters, {
    ...overrides,
    ...(settings === undefined ? {} : { components: { argocd: settings as Values } }),
  });
  const { platform, components } = testRun(definition, [argocdComponent, ...others]);
  const output = components.components.find((entry) => entry.component.name === 'argocd')?.output;
  const declared: { [cluster: string]: ClusterContribution } = {};
  for (const cluster of components.clusters) {
    const own = cluster.contributions.get('argocd');
    if (own !== undefined) declared[cluster.cluster.name] = own;
  }
  const values = (cluster: string): Loose => {
    if (output?.chart === undefined) throw new Error('no chart');
    const env = platform.clusters.find((candidate) => candidate.name === cluster)?.environment;
    const { files } = chartFiles(output.chart, INITIAL_CHART_VERSION);
    return renderChart(files, [`env/${env}.yaml`, `clusters/${cluster}.yaml`]).values[
      'argo-cd'
    ] as Loose;
  };
  return { platform, components, output, declared, values };
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into the chart values.
type Loose = Record<string, any>;

describe('charts/argo-cd', () => {
  it('restores the Application health check on every cluster', () => {
    const { values } = run(OIDC);
    for (const cluster of ['dev', 'staging', 'prod']) {
      const cm = values(cluster).configs.cm;
      expect(cm[APPLICATION_HEALTH_KEY]).toContain('hs.status = obj.status.health.status');
      expect(cm[APPLICATION_HEALTH_KEY]).toMatch(/return hs\n$/);
    }
  });

  it('runs single replicas in development and the HA recipe with Redis HA in production', () => {
    const { values } = run(OIDC);
    const dev = values('dev');
    const prod = values('prod');
    expect(dev['redis-ha'].enabled).toBe(false);
    expect([dev.server.replicas, dev.repoServer.replicas, dev.applicationSet.replicas]).toEqual([
      1, 1, 1,
    ]);
    expect(dev.server.pdb).toBeUndefined();
    expect(prod['redis-ha'].enabled).toBe(true);
    expect([prod.server.replicas, prod.repoServer.replicas, prod.applicationSet.replicas]).toEqual([
      3, 3, 3,
    ]);
    expect(prod.controller.replicas).toBe(1);
    expect(prod.server.pdb).toMatchObject({ enabled: true, maxUnavailable: 1 });
    expect(prod.server.deploymentStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    // Three workers for three replicas leave no node for the surge pod: anti-affinity is preferred.
    expect(Object.keys(prod.server.affinity.podAntiAffinity)).toEqual([
      'preferredDuringSchedulingIgnoredDuringExecution',
    ]);
  });

  it('requires one replica per node in production when a node is free for the surge pod', () => {
    const [dev, staging, prod] = testReferenceClusters();
    if (staging === undefined || prod === undefined) throw new Error('no reference clusters');
    const larger = {
      ...prod,
      nodes: [...testNodes('prod', 3, 3), ...testNodes('prod', 3, 4, 'worker', 21)],
    } as typeof prod;
    const server = run(OIDC, [network(true)], [dev, staging, larger]).values('prod').server;
    expect(server.affinity.podAntiAffinity).toEqual({
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'argocd-server' } },
        },
      ],
    });
    expect(server.topologySpreadConstraints[0].whenUnsatisfiable).toBe('DoNotSchedule');
  });

  it("replaces Redis HA's HAProxy one at a time where each of its replicas already has a node of its own", () => {
    // redis-ha 4.38.0: three HAProxy pods with required anti-affinity and the chart's rollout,
    // RollingUpdate at 25%: a surge of 1 and none unavailable for 3 replicas. On prod's three
    // workers the surge pod finds no node and every rollout of HAProxy stalls.
    const oneAtATime = {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
    };
    expect(run(OIDC).values('prod')['redis-ha'].haproxy.deploymentStrategy).toEqual(oneAtATime);
    // a fourth worker takes the surge pod: the chart's rollout stays
    const [dev, staging, prod] = testReferenceClusters();
    if (staging === undefined || prod === undefined) throw new Error('no reference clusters');
    const larger = {
      ...prod,
      nodes: [...testNodes('prod', 3, 3), ...testNodes('prod', 3, 4, 'worker', 21)],
    } as typeof prod;
    const values = run(OIDC, [network(true)], [dev, staging, larger]).values('prod');
    expect(values['redis-ha'].haproxy?.deploymentStrategy).toBeUndefined();
  });

  it.each([1, 2])(
    'runs the single Redis, not Redis HA, on a production cluster of %i schedulable node(s), and its flows follow',
    (count) => {
      const [dev, staging, prod] = testReferenceClusters();
      if (staging === undefined || prod === undefined) throw new Error('no reference clusters');
      // prod's workers, the control planes keep their taint: `count` schedulable nodes
      const small = {
        ...prod,
        nodes: [
          ...prod.nodes.filter((node) => node.role === 'controlplane'),
          ...prod.nodes.filter((node) => node.role === 'worker').slice(0, count),
        ],
      };
      const { values, components, declared } = run(
        OIDC,
        [network(true)],
        [dev, staging, small as typeof prod],
        { environments: { production: { replicas: count } } },
      );
      const prodValues = values('prod');
      // redis-ha 4.38.0 runs 3 Redis + 3 HAProxy whatever the node count: no availability on 1
      // or 2 nodes (two sentinels of three share a node), three times the pods.
      expect(prodValues['redis-ha'].enabled).toBe(false);
      expect(prodValues.redis.resources).toEqual({
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { memory: '256Mi' },
      });
      expect(values('staging')['redis-ha'].enabled).toBe(false);
      expect(components.issues.filter((issue) => issue.code === 'ha-downgrade')).toEqual([]);
      const redisFlows = (declared.prod?.flows ?? [])
        .filter((flow) => flow.name.includes('redis') && !flow.name.startsWith('redis-secret-init'))
        .map((flow) => `${flow.name} ${JSON.stringify(flow.peer)}`);
      expect(redisFlows).toEqual(
        ['server', 'controller', 'repo-server'].map(
          (name) =>
            `${name}-redis {"kind":"self","selector":{"app.kubernetes.io/name":"argocd-redis"}}`,
        ),
      );
    },
  );

  it('keeps Redis HA on a production cluster of three schedulable nodes', () => {
    const { values, declared } = run(OIDC);
    expect(values('prod')['redis-ha'].enabled).toBe(true);
    expect((declared.prod?.flows ?? []).map((flow) => flow.name)).toContain('redis-ha-replication');
  });

  it("requests CPU and memory for every workload and leaves network policy to Cilium's zero trust", () => {
    const values = run(OIDC).values('prod');
    for (const key of [
      'controller',
      'server',
      'repoServer',
      'applicationSet',
      'notifications',
      'redisSecretInit',
    ]) {
      expect(Object.keys(values[key].resources.requests).sort(), key).toEqual(['cpu', 'memory']);
    }
    expect(values['redis-ha'].extraLabels).toEqual({ 'app.kubernetes.io/part-of': 'argocd' });
    expect(values.global.networkPolicy).toEqual({ create: false });
  });

  it('gives no role by default and maps the definition groups to roles', () => {
    const rbac = run(OIDC).values('prod').configs.rbac;
    // Upstream's default: a user in no listed group gets nothing, so readonlyGroups means something.
    expect(rbac['policy.default']).toBe('');
    expect(rbac['policy.csv']).toBe(
      'g, platform-admins, role:admin\ng, developers, role:readonly\n',
    );
  });

  it('serves plain HTTP behind the Gateway, at argocd.<cluster domain>', () => {
    const { values } = run(OIDC);
    expect(values('prod').configs.params['server.insecure']).toBe('true');
    expect(values('prod').global.domain).toBe('argocd.lab.example.com');
    expect(values('dev').global.domain).toBe('argocd.dev.lab.example.com');
  });

  it('turns kind-wide ignoreDifferences of other components into argocd-cm customizations', () => {
    const application = {
      namespace: 'x',
      podSecurity: 'privileged' as const,
      clusterResources: [],
    };
    const cilium = testComponent({
      name: 'cilium',
      contribution: () => ({
        application: {
          ...application,
          ignoreDifferences: [
            { group: '', kind: 'Secret', name: 'hubble-server-certs', jsonPointers: ['/data'] },
          ],
        },
      }),
    });
    const longhorn = testComponent({
      name: 'longhorn',
      contribution: () => ({
        application: {
          ...application,
          ignoreDifferences: [
            {
              group: 'admissionregistration.k8s.io',
              kind: 'MutatingWebhookConfiguration',
              jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
            },
          ],
        },
      }),
    });
    const cm = run(OIDC, [network(true), cilium, longhorn]).values('dev').configs.cm;
    const keys = Object.keys(cm).filter((key) =>
      key.startsWith('resource.customizations.ignoreDifferences'),
    );
    // Cilium's entry names its Secret: it stays on Cilium's Application.
    expect(keys).toEqual([
      'resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration',
    ]);
    expect(parseYaml(cm[keys[0] as string])).toEqual({
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
    });
  });

  it("installs the health checks other components declare, each kind's once, and refuses two scripts for one kind", () => {
    const application = {
      namespace: 'x',
      podSecurity: 'restricted' as const,
      clusterResources: [],
    };
    const check = (lua: string) => ({
      group: 'templates.gatekeeper.sh',
      kind: 'ConstraintTemplate',
      lua,
      reason: 'r',
    });
    const declaring = (name: string, healthChecks: readonly ReturnType<typeof check>[]) =>
      testComponent({
        name,
        contribution: () => ({ application: { ...application, healthChecks } }),
      });
    const key = 'resource.customizations.health.templates.gatekeeper.sh_ConstraintTemplate';
    const one = run(OIDC, [network(true), declaring('policy', [check('return {}')])]);
    expect(one.values('dev').configs.cm[key]).toBe('return {}');
    expect(one.values('prod').configs.cm[key]).toBe('return {}');
    expect(one.values('prod').configs.cm[APPLICATION_HEALTH_KEY]).toContain('obj.status.health');
    expect(
      (one.output?.issues ?? []).filter((issue) => issue.code === 'argocd-resource-health'),
    ).toEqual([]);

    const two = run(OIDC, [
      network(true),
      declaring('policy', [check('return {}')]),
      declaring('other', [check('return nil')]),
    ]);
    expect(two.values('dev').configs.cm[key]).toBeUndefined();
    const issues = (two.output?.issues ?? []).filter(
      (issue) => issue.code === 'argocd-resource-health',
    );
    expect(issues?.map((issue) => issue.message)).toEqual(
      ['dev', 'staging', 'prod'].map(
        (cluster) =>
          `components other, policy declare different Argo CD health checks for templates.gatekeeper.sh_ConstraintTemplate on cluster "${cluster}"; Argo CD takes one script per kind`,
      ),
    );

    // Argo CD's own check of Applications, which the app-of-apps' waves rely on, stays its own.
    const application_ = run(OIDC, [
      network(true),
      declaring('policy', [{ ...check('return {}'), group: 'argoproj.io', kind: 'Application' }]),
    ]);
    expect(application_.values('dev').configs.cm[APPLICATION_HEALTH_KEY]).toContain(
      'obj.status.health',
    );
    expect(
      (application_.output?.issues ?? []).filter(
        (issue) => issue.code === 'argocd-resource-health',
      ),
    ).toHaveLength(3);
  });

  it('leaves clusters that disable Argo CD out, and renders nothing when none enables it', () => {
    const [dev, ...rest] = testReferenceClusters();
    const some = run(
      undefined,
      [network(true)],
      [{ ...dev, components: { argocd: { enabled: false } } }, ...rest],
    );
    expect(Object.keys(some.declared).sort()).toEqual(['prod', 'staging']);
    expect(Object.keys(some.output?.chart?.clusters ?? {}).sort()).toEqual(['prod', 'staging']);
    expect(Object.keys(some.output?.chart?.environments ?? {}).sort()).toEqual([
      'production',
      'staging',
    ]);
    const none = run({ enabled: false } as ArgocdSettings);
    expect(none.output).toBeUndefined();
    expect(none.declared).toEqual({});
  });
});

describe('OIDC login', () => {
  it('trusts https://auth.<cluster domain> when no OIDC provider runs, with the secret only as a reference', () => {
    const cm = run(OIDC).values('staging').configs.cm;
    expect(parseYaml(cm['oidc.config'])).toEqual({
      name: 'Authelia',
      issuer: 'https://auth.staging.lab.example.com',
      clientID: 'argocd',
      clientSecret: '$argocd-oidc:client-secret',
      // `argocd login --sso` uses the public client
      cliClientID: 'argocd-cli',
      // No offline_access and no threshold by default: the session ends with the ID token
      requestedScopes: ['openid', 'profile', 'email', 'groups'],
      // The web login with PKCE (v3.4.4 util/oidc/oidc.go: an S256 challenge, the verifier at
      // the code exchange), which the web client's registration requires
      enablePKCEAuthentication: true,
    });
    // renewSessions: offline_access, for the refresh token the server renews the browser's
    // session with, and half of Authelia's default hour, assumed until a provider states its
    // lifespans.
    expect(parseYaml(run(RENEWING).values('staging').configs.cm['oidc.config'])).toMatchObject({
      requestedScopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
      refreshTokenThreshold: '30m',
    });
  });

  it("renews the browser's session within half the ID token lifespan the provider states", () => {
    // Given a provider whose ID tokens live 20 minutes and a half
    const provider = testComponent({
      name: 'sso',
      provides: ['oidc-provider'],
      contribution: (cluster) => ({
        facts: {
          'oidc-provider': {
            issuer: `https://auth.${cluster}.example.org`,
            userinfoPath: '/api/oidc/userinfo',
            groups: [],
            tokenLifespans: { idToken: 1230, accessToken: 1230, refreshToken: 5400 },
          },
        },
      }),
    });
    const config = parseYaml(
      run(RENEWING, [network(true), provider]).values('prod').configs.cm['oidc.config'],
    ) as Loose;
    // Then the threshold is half of it, in Go's duration syntax, which reads it back as 615s
    expect(config.refreshTokenThreshold).toBe('10m15s');
    expect(parseGoDuration(config.refreshTokenThreshold)).toBe(615);
    expect(config.requestedScopes).toContain('offline_access');
  });

  it('trusts the issuer the oidc-provider says, and reads the groups from the ID token', () => {
    const provider = testComponent({
      name: 'sso',
      provides: ['oidc-provider'],
      contribution: (cluster) => ({
        facts: {
          'oidc-provider': {
            issuer: `https://login.${cluster}.example.org`,
            userinfoPath: '/oauth2/userinfo',
            groups: ['platform-admins'],
          },
        },
      }),
    });
    const { values, components } = run(OIDC, [network(true), provider]);
    const config = parseYaml(values('prod').configs.cm['oidc.config']) as Loose;
    expect(config.issuer).toBe('https://login.prod.example.org');
    // Never from userinfo: Argo CD reads it with an access token only a web login cached, so
    // every CLI session would be refused (util/oidc/oidc.go GetUserInfo, v3.4.4).
    expect(config).not.toHaveProperty('enableUserInfoGroups');
    expect(config).not.toHaveProperty('userInfoPath');
    // Argo CD uses the provider: it comes after it.
    expect(components.clusters[2]?.order).toEqual(['network', 'sso', 'argocd']);
  });

  function chartOf(output: ComponentOutput | undefined): NonNullable<ComponentOutput['chart']> {
    if (output?.chart === undefined) throw new Error('no chart');
    return output.chart;
  }

  it("trusts the certificates provider's private CA through a labelled Certificate's ca.crt", () => {
    const { values, output, declared } = run(OIDC, [
      network(true),
      testCertificates({ privateCa: true }),
    ]);
    const config = parseYaml(values('prod').configs.cm['oidc.config']) as Loose;
    expect(config.rootCA).toBe('$argocd-oidc-ca:ca.crt');
    const { files } = chartFiles(chartOf(output), INITIAL_CHART_VERSION);
    const manifests = renderChart(files, ['env/production.yaml', 'clusters/prod.yaml']).values
      .manifests as Loose;
    expect(manifests['certificate-argocd-oidc-ca']).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: {
        name: 'argocd-oidc-ca',
        namespace: 'argocd',
        labels: { 'app.kubernetes.io/part-of': 'argocd' },
        // Pruned once SSO or the private CA goes, although Argo CD's Application is critical
        // and syncs with Prune=false: the object's own option wins (isPruningDisabled).
        annotations: { 'argocd.argoproj.io/sync-options': 'Prune=true' },
      },
      spec: {
        secretName: 'argocd-oidc-ca',
        // Argo CD resolves `$argocd-oidc-ca:ca.crt` only from Secrets with this label.
        secretTemplate: { labels: { 'app.kubernetes.io/part-of': 'argocd' } },
        commonName: 'argocd-oidc-ca',
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'private-ca' },
      },
    });
    expect(declared.prod?.bootstrap?.[0]?.body.join(' ')).toContain(
      'Likewise for the Certificate `argocd-oidc-ca`',
    );
  });

  it('adds no CA where the issuer is publicly trusted or there is no OIDC login', () => {
    const publicCa = run(OIDC, [network(true), testCertificates({ privateCa: false })]);
    expect(parseYaml(publicCa.values('prod').configs.cm['oidc.config'])).not.toHaveProperty(
      'rootCA',
    );
    const noOidc = run({ localAdmin: true }, [
      network(true),
      testCertificates({ privateCa: true }),
    ]);
    expect(noOidc.values('prod').configs.cm['oidc.config']).toBeUndefined();
    for (const { output } of [publicCa, noOidc]) {
      const { files } = chartFiles(chartOf(output), INITIAL_CHART_VERSION);
      const rendered = renderChart(files, ['env/production.yaml', 'clusters/prod.yaml']).values;
      expect(Object.keys((rendered.manifests ?? {}) as Loose)).not.toContain(
        'certificate-argocd-oidc-ca',
      );
    }
  });

  it('declares its OIDC client and the Secret of its client secret only with OIDC settings', () => {
    const { declared } = run(OIDC);
    const groupOrigins = [
      ['clusters', 2, 'components', 'argocd', 'readonlyGroups', 0],
      ['clusters', 2, 'components', 'argocd', 'adminGroups', 0],
    ];
    expect(declared.prod?.oidcClients).toEqual([
      {
        id: 'argocd',
        name: 'Argo CD',
        redirectUris: ['https://argocd.lab.example.com/auth/callback'],
        // No offline_access by default (renewSessions off): no refresh token, no consent screen
        scopes: ['openid', 'profile', 'email', 'groups'],
        // The RBAC reads the groups from the ID token, the CLI's included.
        idTokenClaims: ['email', 'groups'],
        // the provider requires PKCE of it: oidc.config's enablePKCEAuthentication sends it
        pkce: true,
        public: false,
        secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
        policy: 'one_factor',
        groups: ['developers', 'platform-admins'],
        issuer: 'https://auth.lab.example.com',
        origins: {
          client: ['clusters', 2, 'components', 'argocd', 'oidc'],
          redirectUris: [['clusters', 2, 'components', 'argocd', 'oidc']],
          groups: groupOrigins,
        },
      },
      {
        // `argocd login --sso`: a public client with PKCE and the CLI's loopback redirect
        id: 'argocd-cli',
        name: 'Argo CD CLI',
        redirectUris: ['http://localhost:8085/auth/callback'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        idTokenClaims: ['email', 'groups'],
        pkce: true,
        public: true,
        policy: 'one_factor',
        groups: ['developers', 'platform-admins'],
        issuer: 'https://auth.lab.example.com',
        origins: {
          client: ['clusters', 2, 'components', 'argocd', 'oidc'],
          redirectUris: [['clusters', 2, 'components', 'argocd', 'oidc', 'cli']],
          groups: groupOrigins,
        },
      },
    ]);
    expect(declared.prod?.secrets).toEqual([
      {
        name: 'argocd-oidc',
        namespace: 'argocd',
        keys: ['client-secret'],
        labels: { 'app.kubernetes.io/part-of': 'argocd' },
        description:
          'the OIDC client secret Argo CD presents to the OIDC provider: 40 or more random letters and digits (the provider reads the same entry into its configuration, where a quote breaks it)',
        // The server re-reads `$argocd-oidc:client-secret` when the Secret changes: no restart.
        readers: [
          {
            kind: 'Deployment',
            name: 'argocd-server',
            reads: 'use',
            how: '`$argocd-oidc:client-secret` of `oidc.config`, which the server re-reads when the Secret changes (it restarts its SSO by itself)',
          },
        ],
      },
    ]);
    const plain = run({ adminGroups: ['platform-admins'] });
    expect([plain.declared.prod?.oidcClients, plain.declared.prod?.secrets]).toEqual([
      undefined,
      undefined,
    ]);
    expect(plain.values('prod').configs.cm['oidc.config']).toBeUndefined();
  });

  it('reads `$<secret>:<key>` references as well', () => {
    const { declared } = run({ oidc: { clientId: 'argocd', clientSecret: '$argocd-oidc:secret' } });
    expect(declared.dev?.secrets?.map((secret) => [secret.name, secret.keys])).toEqual([
      ['argocd-oidc', ['secret']],
    ]);
  });

  it('refuses the Secret the argo-cd chart manages itself', () => {
    const { components, output } = run({
      oidc: { clientId: 'argocd', clientSecret: '$argocd-secret:oidc' },
    });
    const refused = components.issues.filter((issue) => issue.code === 'secret-reference');
    expect(refused.map((issue) => [issue.path, issue.value])).toEqual(
      [0, 1, 2].map((index) => [
        ['clusters', index, 'components', 'argocd', 'oidc', 'clientSecret'],
        'argocd-secret',
      ]),
    );
    expect(JSON.stringify(output?.chart?.clusters)).not.toContain('oidc.config');
  });

  it('never takes a plain secret: the definition refuses it, and so does the component, without echoing it', () => {
    const leaked = 'hunter2-very-secret';
    expect(() => run({ oidc: { clientId: 'argocd', clientSecret: leaked } })).toThrow(
      /components\.argocd\.oidc\.clientSecret: .* does not have the expected form/,
    );
    // Should a definition get past the schema, the component refuses it too.
    const { settings, issues } = resolveArgocdSettings(
      { oidc: { clientId: 'argocd', clientSecret: leaked } },
      (...segments) => ['components', 'argocd', ...segments],
    );
    expect(settings.oidc).toBeUndefined();
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'secret-reference',
        path: ['components', 'argocd', 'oidc', 'clientSecret'],
        message: 'is not a Secret reference',
        expected: '{ secretName, key } or "$<secret>:<key>"',
      },
    ]);
  });

  it('warns when the local admin is disabled without OIDC', () => {
    const logins = (settings: ArgocdSettings) =>
      run(settings)
        .components.issues.filter((issue) => issue.code === 'argocd-login')
        .map((issue) => [issue.severity, issue.path]);
    expect(logins({ localAdmin: false })).toEqual(
      [0, 1, 2].map((index) => [
        'warning',
        ['clusters', index, 'components', 'argocd', 'localAdmin'],
      ]),
    );
    expect(logins({ localAdmin: false, ...OIDC })).toEqual([]);
  });

  it('warns that its OIDC client and Secret go unfulfilled when no provider takes them', () => {
    const unfulfilled = run(OIDC)
      .components.issues.filter((issue) => issue.path[1] === 0)
      .map((issue) => [issue.severity, issue.code, issue.value]);
    expect(unfulfilled).toEqual([
      ['warning', 'request-unfulfilled', ['argocd', 'argocd-cli']],
      ['warning', 'request-unfulfilled', ['argocd-oidc']],
    ]);
  });
});

describe('declarations', () => {
  it('declares its route on the platform Gateway only when a gateway is provided', () => {
    expect(run(OIDC).declared.dev?.routes).toEqual([
      {
        name: 'argocd-server',
        host: 'argocd',
        namespace: 'argocd',
        service: 'argocd-server',
        port: 80,
        // the CLI's gRPC and gRPC-web to the Service port that speaks h2c (Cilium's Gateway
        // turns gRPC-web into gRPC and speaks HTTP/1.1 to any other port)
        grpcPort: 443,
        labels: { 'app.kubernetes.io/part-of': 'argocd' },
        auth: { kind: 'app', oidcClient: 'argocd' },
      },
    ]);
    // that port speaks HTTP/2 in clear text on every cluster (the chart's servicePortHttps, 443)
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect(run(OIDC).values(cluster).server.service).toEqual({
        servicePortHttpsAppProtocol: 'kubernetes.io/h2c',
      });
    }
    expect(run(undefined).declared.dev?.routes?.[0]?.auth).toEqual({ kind: 'app' });
    const { declared, components } = run(OIDC, [network(false)]);
    expect(declared.dev?.routes).toBeUndefined();
    expect(components.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  });

  it('needs a CNI: a cluster without one is refused, naming both ends', () => {
    const { components } = run(OIDC, []);
    expect(
      components.issues.map((issue) => [issue.code, issue.path, issue.value]).slice(0, 1),
    ).toEqual([['capability-unprovided', ['clusters', 0, 'components', 'argocd'], 'cni']]);
  });

  it('declares the application controller, server and repo server by their metrics Services', () => {
    const monitors = run(OIDC).declared.prod?.monitors ?? [];
    expect(monitors.map((m) => [m.name, m.namespace, m.target?.selector, m.target?.port])).toEqual([
      [
        'application-controller',
        'argocd',
        {
          'app.kubernetes.io/name': 'argocd-metrics',
          'app.kubernetes.io/component': 'application-controller',
        },
        'http-metrics',
      ],
      [
        'server',
        'argocd',
        {
          'app.kubernetes.io/name': 'argocd-server-metrics',
          'app.kubernetes.io/component': 'server',
        },
        'http-metrics',
      ],
      [
        'repo-server',
        'argocd',
        {
          'app.kubernetes.io/name': 'argocd-repo-server-metrics',
          'app.kubernetes.io/component': 'repo-server',
        },
        'http-metrics',
      ],
    ]);
    const rules = monitors.flatMap((m) => m.rules ?? []);
    expect(rules.map((r) => [r.alert, r.severity, r.for])).toEqual([
      [
        'ArgoCDApplicationOutOfSync',
        'warning',
        { development: '2h', staging: '1h', production: '30m' },
      ],
      [
        'ArgoCDApplicationComparisonFailed',
        'warning',
        { development: '1h', staging: '30m', production: '15m' },
      ],
      [
        'ArgoCDApplicationDegraded',
        'critical',
        { development: '1h', staging: '30m', production: '15m' },
      ],
    ]);
    expect(monitors.flatMap((m) => m.dashboards ?? []).map((d) => d.name)).toEqual(['argocd']);
  });

  it('alerts on an Application Argo CD cannot compare (sync status Unknown), which OutOfSync misses', () => {
    // Argo CD v3.4.4 controller/state.go: manifests that fail to load (repository unreachable,
    // a render error) make the sync status Unknown; argocd_app_info carries it as sync_status.
    const rules = (run(OIDC).declared.prod?.monitors ?? []).flatMap((m) => m.rules ?? []);
    const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr;
    expect(expr('ArgoCDApplicationOutOfSync')).toBe(
      'argocd_app_info{sync_status="OutOfSync"} == 1',
    );
    expect(expr('ArgoCDApplicationComparisonFailed')).toBe(
      'argocd_app_info{sync_status="Unknown"} == 1',
    );
  });

  it('switches on the metrics Services of the controller, server and repo server', () => {
    const values = run(OIDC).values('dev');
    expect([
      values.controller.metrics.enabled,
      values.server.metrics.enabled,
      values.repoServer.metrics.enabled,
    ]).toEqual([true, true, true]);
    // Argo CD comes before the Prometheus Operator CRDs: no ServiceMonitor of the chart's own.
    expect(values.controller.metrics.serviceMonitor).toBeUndefined();
  });

  it('provides gitops: its namespace, release, and how to stop its application controller', () => {
    expect(run(OIDC).declared.staging?.facts).toEqual({
      gitops: {
        namespace: 'argocd',
        version: 'v3.4.4',
        // The StatefulSet the chart renders with fullnameOverride argocd, and its pods' label.
        stop: [
          'kubectl -n argocd scale statefulset argocd-application-controller --replicas=0',
          expect.stringContaining('argocd-application-controller -o name'),
        ],
      },
    });
    // The wait for its pods to go is bounded: 5 minutes, a look every 5 seconds
    const stop = run(OIDC).declared.staging?.facts?.gitops?.stop ?? [];
    expect(parseBoundedWait(stop[1] ?? '')).toEqual({
      condition:
        '[ -z "$(kubectl -n argocd get pods -l app.kubernetes.io/name=argocd-application-controller -o name)" ]',
      seconds: 300,
      interval: 5,
    });
  });

  it('runs HAProxy only where it runs Redis HA (the image repositories it declares)', () => {
    expect(run(OIDC).declared.dev?.application?.imageRepositories).toEqual({
      argocd: ['quay.io/argoproj/argocd', 'ecr-public.aws.com/docker/library/redis'],
    });
  });

  it('deploys into argocd, restricted, server-side, critical, with exactly the cluster-scoped kinds its chart creates', () => {
    expect(run(OIDC).declared.prod?.application).toEqual({
      chart: 'argo-cd',
      namespace: 'argocd',
      // Redis HA on prod: HAProxy in front of it.
      imageRepositories: {
        argocd: [
          'quay.io/argoproj/argocd',
          'ecr-public.aws.com/docker/library/redis',
          'ecr-public.aws.com/docker/library/haproxy',
        ],
      },
      critical: true,
      installs: [
        { group: 'argoproj.io', kind: 'Application' },
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'ApplicationSet' },
      ],
      podSecurity: 'restricted',
      project: 'gitops',
      // What the upstream chart renders besides our manifests (PDBs from staging on).
      namespacedResources: [
        { group: '', kind: 'ConfigMap' },
        { group: '', kind: 'Secret' },
        { group: '', kind: 'Service' },
        { group: '', kind: 'ServiceAccount' },
        { group: 'apps', kind: 'Deployment' },
        { group: 'apps', kind: 'StatefulSet' },
        { group: 'batch', kind: 'Job' },
        { group: 'rbac.authorization.k8s.io', kind: 'Role' },
        { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
        { group: 'policy', kind: 'PodDisruptionBudget' },
      ],
      serverSideApply: true,
      clusterResources: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
      // Filled by core from the chart pin: the repo-server fetches the upstream chart's index
      // there, and its archive from GitHub Releases, which redirects to release-assets.
      upstreamRepositories: [
        'https://argoproj.github.io/argo-helm',
        'https://github.com',
        'https://release-assets.githubusercontent.com',
      ],
    });
  });

  it('declares its flows: the Gateway to the server, the API server, the repo-server and Redis (HAProxy in production)', () => {
    const flows = (cluster: string) =>
      (run(OIDC).declared[cluster]?.flows ?? []).map(
        (flow) =>
          `${flow.name} ${flow.direction} ${JSON.stringify(flow.peer)} ${flow.ports.map((p) => p.port).join(',')}`,
      );
    expect(flows('prod')).toContain('server-gateway ingress {"kind":"gateway"} 8080');
    expect(flows('prod')).toContain('server-apiserver egress {"kind":"kube-apiserver"} 6443');
    expect(flows('prod')).toContain('repo-server-sources egress {"kind":"deployment-sources"} ');
    expect(flows('prod')).toContain(
      'server-redis egress {"kind":"self","selector":{"app.kubernetes.io/name":"argocd-redis-ha-haproxy"}} 6379',
    );
    expect(flows('dev')).toContain(
      'server-redis egress {"kind":"self","selector":{"app.kubernetes.io/name":"argocd-redis"}} 6379',
    );
    expect(flows('dev').some((flow) => flow.startsWith('redis-ha-replication'))).toBe(false);
    // Prometheus to the containers' metrics ports (chart 10.1.1: --metrics-port 8082/8083/8084).
    expect(flows('prod').filter((flow) => flow.includes('"capability":"metrics"'))).toEqual([
      'controller-metrics ingress {"kind":"capability","capability":"metrics"} 8082',
      'server-metrics ingress {"kind":"capability","capability":"metrics"} 8083',
      'repo-server-metrics ingress {"kind":"capability","capability":"metrics"} 8084',
    ]);
  });

  it('with an OIDC login the server calls the issuer: through the Gateway where the issuer is a routed host, else by name', () => {
    const issuerFlow = (result: Run, cluster: string) =>
      result.declared[cluster]?.flows?.find((flow) => flow.name === 'server-oidc-issuer');
    const idp = testComponent({
      name: 'idp',
      provides: ['oidc-provider'],
      contribution: (cluster) => ({
        facts: {
          'oidc-provider': {
            issuer: `https://auth.${cluster}.example`,
            userinfoPath: '/u',
            groups: [],
          },
        },
      }),
    });
    const routed = issuerFlow(run(OIDC, [network(true), idp]), 'staging');
    expect(routed).toEqual({
      name: 'server-oidc-issuer',
      direction: 'egress',
      namespace: 'argocd',
      selector: { 'app.kubernetes.io/name': 'argocd-server' },
      peer: { kind: 'gateway', host: 'auth' },
      ports: [{ port: 443, protocol: 'TCP' }],
      reason:
        "the server fetches the OIDC issuer's discovery document, tokens and keys (https://auth.staging.example)",
    });
    // Without a Gateway the issuer is an outside host.
    expect(issuerFlow(run(OIDC, [network(false), idp]), 'staging')?.peer).toEqual({
      kind: 'fqdn',
      name: 'auth.staging.example',
    });
    // Without an OIDC provider on the cluster the (default) issuer is an outside host too, even
    // under the Gateway's zone: no route of the cluster serves it.
    expect(issuerFlow(run(OIDC, [network(true)]), 'staging')?.peer).toMatchObject({
      kind: 'fqdn',
    });
    // No OIDC login: no call to an issuer.
    const local = run({ adminGroups: ['platform-admins'] } as ArgocdSettings, [network(true), idp]);
    expect(issuerFlow(local, 'staging')).toBeUndefined();
    expect((local.declared.staging?.flows ?? []).length).toBeGreaterThan(5);
  });

  it('contributes the runbook step that installs it from its chart with the cluster layers', () => {
    const steps = run(OIDC).declared.staging?.bootstrap ?? [];
    expect(steps.map((step) => [step.title, step.when])).toEqual([
      ['Install Argo CD from the generated chart', undefined],
      ['Argo CD', 'login'],
    ]);
    expect(steps[0]?.commands).toEqual([
      'kubectl get namespace argocd >/dev/null 2>&1 || kubectl create namespace argocd',
      'helm dependency update charts/argo-cd',
      'helm template argocd charts/argo-cd --namespace argocd --kube-version 1.34.2 --skip-tests \\',
      '  -f charts/argo-cd/env/staging.yaml -f charts/argo-cd/clusters/staging.yaml \\',
      '  | kubectl apply --server-side --field-manager=argocd-controller -f -',
      'kubectl -n argocd wait --for=condition=Available deployment --all --timeout=10m',
    ]);
  });

  it('leaves the chart test hooks out of what the install step applies', () => {
    // The vendored argo-cd 10.1.1 chart's redis-ha 4.38.0 subchart has two test Pods
    // (templates/tests/*, `helm.sh/hook: test-success`); `helm template` prints them unless
    // --skip-tests, and `kubectl apply` would create them as plain Pods.
    for (const test of ['test-redis-ha-pod.yaml', 'test-redis-ha-configmap.yaml']) {
      const pod = readVendoredSubchartFile(
        ARGOCD_CHART.name,
        ARGOCD_CHART.version,
        'redis-ha',
        '4.38.0',
        `templates/tests/${test}`,
      );
      expect(pod).toContain('kind: Pod');
      expect(pod).toContain('"helm.sh/hook": test-success');
    }
    const install = (run(OIDC).declared.staging?.bootstrap ?? [])[0]?.commands ?? [];
    const template = install.find((line) => line.startsWith('helm template '));
    expect(template?.split(' ')).toContain('--skip-tests');
  });

  it('tells the runbook how to log in: the URL, SSO and whether the local admin is enabled', () => {
    const login = (localAdmin: boolean) =>
      run({ ...OIDC, localAdmin }).declared.staging?.bootstrap?.find((s) => s.when === 'login');
    const enabled = login(true);
    expect(enabled?.body.join(' ')).toContain('The local `admin` account is **enabled**');
    // How long a browser's session lasts, and what renewing it means to whoever logs in
    expect(enabled?.body).toContain(
      "The browser's session ends with the provider's ID token (an hour with Authelia); `oidc.renewSessions` renews it while the UI is in use.",
    );
    expect(
      run(RENEWING).declared.staging?.bootstrap?.find((s) => s.when === 'login')?.body,
    ).toContain(
      "The browser's session renews itself while the UI is in use (a refresh token, `offline_access`: Authelia may ask for consent to it at each login), keeping the groups of its login; a browser closed for longer than the ID token logs in again.",
    );
    // The new password is prompted in its own block; no command of the step prompts on the
    // terminal (argocd login without --password, update-password without both passwords would)
    expect(enabled?.reads).toEqual([
      {
        variable: 'ARGOCD_ADMIN_PASSWORD',
        prompt: 'new password for the Argo CD admin account (8 to 32 characters)',
      },
    ]);
    expect(enabled?.commands).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      ': "${ARGOCD_ADMIN_PASSWORD:?empty: read it again}" &&',
      'ARGOCD_INITIAL_PASSWORD="$(argocd admin initial-password -n argocd | head -n 1)" &&',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      ': "${ARGOCD_INITIAL_PASSWORD:?not found: argocd-initial-admin-secret is deleted once the password is changed}" &&',
      'argocd login argocd.staging.lab.example.com --grpc-web --username admin --password "$ARGOCD_INITIAL_PASSWORD" &&',
      'argocd account update-password --current-password "$ARGOCD_INITIAL_PASSWORD" --new-password "$ARGOCD_ADMIN_PASSWORD" &&',
      'kubectl -n argocd delete secret argocd-initial-admin-secret --timeout=1m',
      'argocd login argocd.staging.lab.example.com --grpc-web --sso',
    ]);
    expect(enabled?.commands.map(terminalReader).filter(Boolean)).toEqual([]);
    const disabled = login(false);
    expect(disabled?.body.join(' ')).toContain('The local `admin` account is **disabled**');
    expect(disabled?.commands.some((line) => line.includes('initial-password'))).toBe(false);
    expect(disabled?.commands[0]).toMatch(/^argocd login argocd\.\S+ --grpc-web --sso$/);
    // Where SSO is the only login, the way in without it: core mode, through the kubeconfig
    expect(disabled?.after).toEqual([
      "Without Authelia (it is down, or its login chain broke) the CLI still reaches Argo CD in core mode, through the Kubernetes API with your kubeconfig: `kubectl config set-context --current --namespace=argocd`, then `argocd login --core` (no password: the kubeconfig's rights are its rights) and any `argocd` command (`argocd app list`); the login above switches back.",
    ]);
    expect(enabled?.after).toBeUndefined();
  });

  it('sets the admin password as pasted: logs in with the initial one, deletes it only once changed', () => {
    // Given the step's block run by sh against an argocd and a kubectl that log their arguments;
    // argocd prints the initial password as v3 does (the password, a blank line, a warning) and
    // refuses a login with another password or none
    const step = run({ ...OIDC, localAdmin: true }).declared.staging?.bootstrap?.find(
      (s) => s.when === 'login',
    );
    const dir = mkdtempSync(join(tmpdir(), 'argocd-login-'));
    try {
      writeFileSync(
        join(dir, 'argocd'),
        [
          '#!/bin/sh',
          'echo "argocd $*" >> "$LOG"',
          'case "$1 $2" in',
          '  "admin initial-password") [ -z "$GONE" ] || { echo "secret not found" >&2; exit 20; }; printf "%s\\n\\n %s\\n" "init-Pw_1" "This password must be only used for first time login." ;;',
          '  "login "*) case " $* " in *" --sso "*|*" --password init-Pw_1 "*) ;; *) echo "Invalid username or password" >&2; exit 20 ;; esac ;;',
          'esac',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      writeFileSync(join(dir, 'kubectl'), '#!/bin/sh\necho "kubectl $*" >> "$LOG"\n', {
        mode: 0o755,
      });
      const paste = (env: { [name: string]: string }) => {
        const log = join(dir, `log-${Object.keys(env).join('-')}`);
        writeFileSync(log, '');
        const result = spawnSync('sh', ['-c', (step?.commands ?? []).join('\n')], {
          env: { PATH: `${dir}:${process.env.PATH}`, LOG: log, ...env },
          encoding: 'utf8',
        });
        const calls = readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line !== '');
        return { calls, stderr: result.stderr };
      };
      const sso = 'argocd login argocd.staging.lab.example.com --grpc-web --sso';
      // Then with a new password: login with the initial one, the change, the Secret deleted
      expect(paste({ ARGOCD_ADMIN_PASSWORD: 'n3w-Secret!' }).calls).toEqual([
        'argocd admin initial-password -n argocd',
        'argocd login argocd.staging.lab.example.com --grpc-web --username admin --password init-Pw_1',
        'argocd account update-password --current-password init-Pw_1 --new-password n3w-Secret!',
        'kubectl -n argocd delete secret argocd-initial-admin-secret --timeout=1m',
        sso,
      ]);
      // Without one (the prompt skipped), nothing is changed: update-password would prompt (sh -c
      // stops at the failed check; an interactive shell drops that command and reads the next)
      const empty = paste({ ARGOCD_ADMIN_PASSWORD: '' });
      expect(empty.calls).toEqual([]);
      expect(empty.stderr).toContain('empty: read it again');
      // With the Secret gone (the block run twice), no login without a password, which prompts
      const gone = paste({ ARGOCD_ADMIN_PASSWORD: 'n3w-Secret!', GONE: '1' });
      expect(gone.calls).toEqual(['argocd admin initial-password -n argocd']);
      expect(gone.stderr).toContain(
        'argocd-initial-admin-secret is deleted once the password is changed',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says who else gets in: refused by the provider that registers the client for the groups', () => {
    // The clients ask the provider to let in only the admin and read-only groups
    // (OidcClientRequest.groups): Authelia denies anyone else (default_policy: deny).
    const provider = testComponent({
      name: 'sso',
      provides: ['oidc-provider'],
      contribution: (cluster) => ({
        facts: {
          'oidc-provider': {
            issuer: `https://auth.${cluster}.example.org`,
            userinfoPath: '/oauth2/userinfo',
            groups: ['platform-admins', 'platform-viewers'],
          },
        },
      }),
    });
    const body = (settings: ArgocdSettings, others: AnyComponent[]) =>
      run(settings, others)
        .declared.prod?.bootstrap?.find((s) => s.when === 'login')
        ?.body.join(' ') ?? '';
    expect(body(OIDC, [network(true), provider])).toContain(
      'anyone else is refused by Authelia (the client lets in only these groups).',
    );
    expect(body(OIDC, [network(true), provider])).not.toContain('let in with no rights');
    // no provider on the cluster (an issuer it cannot speak for): Argo CD's own behaviour
    expect(body(OIDC, [network(true)])).toContain(
      'anyone else is let in with no rights (there is no default role).',
    );
  });
});

describe('argocdOidcClients', () => {
  const path = (...segments: (string | number)[]) => segments;

  it('declares no client when Argo CD logs in without OIDC', () => {
    const { platform } = run(undefined);
    const dev = platform.clusters[0];
    if (dev === undefined) throw new Error('no dev');
    const { settings } = resolveArgocdSettings({}, path);
    expect(argocdOidcClients(dev, settings, 'https://auth.example', path)).toEqual([]);
  });

  it('adds a redirect URI per additional URL, and no CLI client when it is switched off', () => {
    const { platform } = run(undefined);
    const dev = platform.clusters[0];
    if (dev === undefined) throw new Error('no dev');
    const { settings } = resolveArgocdSettings(
      {
        additionalUrls: ['https://cd.dev.lab.example.com'],
        oidc: { ...OIDC.oidc, cli: false } as ArgocdSettings['oidc'],
      } as ArgocdSettings,
      path,
    );
    const clients = argocdOidcClients(dev, settings, 'https://auth.example', path);
    expect(
      clients.map((client) => [client.id, client.redirectUris, client.origins?.redirectUris]),
    ).toEqual([
      [
        'argocd',
        [
          'https://argocd.dev.lab.example.com/auth/callback',
          'https://cd.dev.lab.example.com/auth/callback',
        ],
        [['oidc'], ['additionalUrls', 0]],
      ],
    ]);
  });

  it('refuses a CLI client id equal to the web client id', () => {
    const { issues } = resolveArgocdSettings(
      { oidc: { ...OIDC.oidc, cliClientId: 'argocd' } } as ArgocdSettings,
      path,
    );
    expect(issues.map((issue) => [issue.code, issue.path])).toEqual([
      ['argocd-oidc', ['oidc', 'cliClientId']],
    ]);
  });
});

type Input = Parameters<typeof localAdminCheck.check>[0];
/** The deployed argocd Application of each cluster, reading the chart files of `r`. */
function input(r: ReturnType<typeof run>): Input {
  const chart = r.output?.chart;
  if (chart === undefined) throw new Error('no chart');
  const files = chartFiles(chart, INITIAL_CHART_VERSION).files;
  return {
    platform: r.platform,
    files,
    clusters: r.components.clusters.map((clusterRun) => ({
      cluster: clusterRun.cluster,
      run: clusterRun,
      applications: [
        {
          name: 'argocd',
          component: 'argocd',
          bundle: undefined,
          wave: 1,
          namespace: 'argocd',
          application: {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Application',
            metadata: { name: `${clusterRun.cluster.name}-argocd` },
            spec: {
              source: {
                path: 'charts/argo-cd',
                helm: {
                  valueFiles: [
                    `env/${clusterRun.cluster.environment}.yaml`,
                    `clusters/${clusterRun.cluster.name}.yaml`,
                  ],
                },
              },
            },
          },
          objects: [],
          installs: [],
          critical: true,
          origin: ['clusters', clusterRun.cluster.index, 'components', 'argocd'],
        },
      ],
    })),
  };
}

describe('argocd-local-admin', () => {
  it('refuses to disable the local admin where no OIDC provider or secrets provider runs', () => {
    // Given Argo CD with OIDC and its local admin kept: nothing to check
    expect(localAdminCheck.check(input(run(OIDC, [network(true)])))).toEqual([]);
    // When the local admin is switched off while nothing provides oidc-provider or secrets
    const issues = localAdminCheck.check(
      input(run({ ...OIDC, localAdmin: false }, [network(true)])),
    );
    // Then every cluster gets the error, at its localAdmin
    expect(issues.map((issue) => issue.path.join('.'))).toEqual([
      'clusters.0.components.argocd.localAdmin',
      'clusters.1.components.argocd.localAdmin',
      'clusters.2.components.argocd.localAdmin',
    ]);
    expect(issues[0]?.message).toBe(
      'disables Argo CD\'s local admin on cluster "dev" while the OIDC login is incomplete (missing: an "oidc-provider" provider, a "secrets" provider): nobody could log in',
    );
  });

  it("counts certificates from Let's Encrypt's staging directory as a missing link", () => {
    const missing = (untrusted: boolean) =>
      localAdminCheck
        .check(
          input(
            run({ ...OIDC, localAdmin: false }, [
              network(true),
              testCertificates({ privateCa: false, untrusted }),
            ]),
          ),
        )
        .map((issue) => /\(missing: (.*)\): nobody/.exec(issue.message)?.[1]);
    // Given the same chain, once with publicly trusted certificates and once with staging ones
    expect(missing(false)).toEqual(
      Array(3).fill('an "oidc-provider" provider, a "secrets" provider'),
    );
    // Then the staging issuer is named on every cluster: Argo CD's server could not reach the
    // OIDC issuer over TLS, and with the local admin off nobody could log in
    expect(missing(true)).toEqual(
      Array(3).fill(
        'an "oidc-provider" provider, a "secrets" provider, certificates its server trusts (the cluster\'s issuer is Let\'s Encrypt\'s staging directory)',
      ),
    );
  });
});

describe('argocd-oidc-trust', () => {
  /** Stands in for cert-manager with a private CA. */
  const privateCa = testCertificates({ privateCa: true });

  /** The deployed Application of each cluster with the objects of its chart's manifests. */
  function deployed(r: ReturnType<typeof run>, edit: (objects: Loose) => void = () => {}): Input {
    const base = input(r);
    const chart = r.output?.chart;
    if (chart === undefined) throw new Error('no chart');
    const { files } = chartFiles(chart, INITIAL_CHART_VERSION);
    return {
      ...base,
      clusters: base.clusters.map((cluster) => {
        const layers = [
          `env/${cluster.cluster.environment}.yaml`,
          `clusters/${cluster.cluster.name}.yaml`,
        ];
        const manifests = structuredClone(
          renderChart(files, layers).values.manifests ?? {},
        ) as Loose;
        edit(manifests);
        return {
          ...cluster,
          applications: cluster.applications.map((app) => ({
            ...app,
            objects: Object.values(manifests).map((object) => ({
              object,
              source: `charts/argo-cd#${object.metadata.name}`,
            })),
          })),
        };
      }),
    } as Input;
  }

  it("finds the private CA trusted on every cluster: rootCA is a labelled Certificate's ca.crt", () => {
    expect(oidcTrustCheck.check(deployed(run(OIDC, [network(true), privateCa])))).toEqual([]);
  });

  it('reports a Secret no Certificate makes, or one Argo CD cannot read', () => {
    const r = run(OIDC, [network(true), privateCa]);
    // Given the Certificate gone (or its Secret without the label Argo CD reads secrets by)
    const gone = oidcTrustCheck.check(
      deployed(r, (manifests) => delete manifests['certificate-argocd-oidc-ca']),
    );
    const unlabelled = oidcTrustCheck.check(
      deployed(
        r,
        (manifests) => delete manifests['certificate-argocd-oidc-ca'].spec.secretTemplate,
      ),
    );
    // Then every cluster gets the error, at its oidc settings
    for (const issues of [gone, unlabelled]) {
      expect(issues.map((issue) => [issue.code, issue.path.join('.')])).toEqual([
        ['argocd-oidc-trust', 'clusters.0.components.argocd.oidc'],
        ['argocd-oidc-trust', 'clusters.1.components.argocd.oidc'],
        ['argocd-oidc-trust', 'clusters.2.components.argocd.oidc'],
      ]);
    }
    expect(gone[2]?.message).toBe(
      'Argo CD on cluster "prod" does not trust the private CA of its certificates (ClusterIssuer private-ca): rootCA $argocd-oidc-ca:ca.crt is not the ca.crt of a Secret labelled app.kubernetes.io/part-of: argocd that a Certificate of that issuer makes in argocd; every SSO login would fail with "certificate signed by unknown authority"',
    );
  });
});

/** `oidc.config` of every cluster's layer edited. */
function editConfig(base: Input, edit: (config: Loose) => void): Input {
  return {
    ...base,
    files: base.files.map((file) => {
      if (!/^charts\/argo-cd\/clusters\/[^/]+\.yaml$/.test(file.path)) return file;
      const values = parseYaml(file.content) as Loose;
      const cm = values['argo-cd']?.configs?.cm;
      if (typeof cm?.['oidc.config'] !== 'string') return file;
      const config = parseYaml(cm['oidc.config']) as Loose;
      edit(config);
      cm['oidc.config'] = toYaml(config);
      return { ...file, content: toYaml(values) };
    }),
  } as Input;
}

/** Argo CD's declared OIDC clients of every cluster mapped. */
function withClients(base: Input, map: (client: Loose) => Loose): Input {
  return {
    ...base,
    clusters: base.clusters.map((cluster) => {
      const contributions = new Map(cluster.run.contributions);
      const own = contributions.get('argocd') as Loose;
      contributions.set('argocd', { ...own, oidcClients: own.oidcClients.map(map) });
      return { ...cluster, run: { ...cluster.run, contributions } };
    }),
  } as Input;
}

/** Every cluster's `oidc-provider` fact stating `tokenLifespans`. */
function withLifespans(
  base: Input,
  tokenLifespans: { idToken: number; accessToken: number; refreshToken: number },
): Input {
  return {
    ...base,
    clusters: base.clusters.map((cluster) => {
      const facts = {
        ...cluster.run.facts,
        'oidc-provider': {
          issuer: 'https://auth.example.org',
          userinfoPath: '/api/oidc/userinfo',
          groups: [],
          tokenLifespans,
        },
      };
      return { ...cluster, run: { ...cluster.run, facts } };
    }),
  } as Input;
}

const without = (list: readonly string[], item: string): string[] =>
  list.filter((entry) => entry !== item);

describe('argocd-oidc-scopes', () => {
  it('finds what the web login and `argocd login --sso` request declared by their clients', () => {
    const r = run(OIDC, [network(true)]);
    // The CLI's client carries offline_access (`argocd login --sso` adds it: Authelia advertises
    // it); the web client only with renewSessions, whose refreshTokenThreshold renews the
    // browser's session with the refresh token
    expect(r.declared.prod?.oidcClients?.map((client) => [client.id, client.scopes])).toEqual([
      ['argocd', ['openid', 'profile', 'email', 'groups']],
      ['argocd-cli', ['openid', 'profile', 'email', 'groups', 'offline_access']],
    ]);
    expect(oidcScopesCheck.check(input(r))).toEqual([]);
    const renewing = run(RENEWING, [network(true)]);
    expect(
      renewing.declared.prod?.oidcClients?.map((client) => [client.id, client.scopes]),
    ).toEqual([
      ['argocd', ['openid', 'profile', 'email', 'groups', 'offline_access']],
      ['argocd-cli', ['openid', 'profile', 'email', 'groups', 'offline_access']],
    ]);
    expect(oidcScopesCheck.check(input(renewing))).toEqual([]);
  });

  it('reports a scope in requestedScopes that the web client does not declare', () => {
    // Given requestedScopes with address, which neither client declares
    const issues = oidcScopesCheck.check(
      editConfig(input(run(RENEWING, [network(true)])), (config) =>
        config.requestedScopes.push('address'),
      ),
    );
    // Then the web login and the CLI's are reported on every cluster
    expect(issues.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      ['argocd-oidc-scopes', 'clusters.0.components.argocd.oidc', ['address']],
      ['argocd-oidc-scopes', 'clusters.0.components.argocd.oidc', ['address']],
      ['argocd-oidc-scopes', 'clusters.1.components.argocd.oidc', ['address']],
      ['argocd-oidc-scopes', 'clusters.1.components.argocd.oidc', ['address']],
      ['argocd-oidc-scopes', 'clusters.2.components.argocd.oidc', ['address']],
      ['argocd-oidc-scopes', 'clusters.2.components.argocd.oidc', ['address']],
    ]);
    expect(issues[4]?.message).toBe(
      'the web login of Argo CD on cluster "prod" requests scope(s) address with OIDC client "argocd", which declares only openid, profile, email, groups, offline_access: the provider answers invalid_scope and nobody logs in that way',
    );
  });

  it('reports a web client declared without offline_access, which requestedScopes asks for', () => {
    const issues = oidcScopesCheck.check(
      withClients(input(run(RENEWING, [network(true)])), (client) =>
        client.public ? client : { ...client, scopes: without(client.scopes, 'offline_access') },
      ),
    );
    expect(issues.map((issue) => issue.value)).toEqual([
      ['offline_access'],
      ['offline_access'],
      ['offline_access'],
    ]);
    expect(issues[0]?.message).toContain('the web login of Argo CD on cluster "dev"');
  });

  it('reports a CLI client without offline_access, which `argocd login --sso` always requests', () => {
    // Given requestedScopes without offline_access (the default), and the CLI's client declared
    // without it
    const declared = withClients(input(run(OIDC, [network(true)])), (client) =>
      client.public ? { ...client, scopes: without(client.scopes, 'offline_access') } : client,
    );
    const issues = oidcScopesCheck.check(
      editConfig(declared, (config) => {
        config.requestedScopes = without(config.requestedScopes, 'offline_access');
      }),
    );
    // Then only the CLI's login is reported: `argocd login --sso` adds offline_access
    expect(issues.map((issue) => issue.value)).toEqual([
      ['offline_access'],
      ['offline_access'],
      ['offline_access'],
    ]);
    expect(issues[0]?.message).toContain('`argocd login --sso` of Argo CD on cluster "dev"');
  });
});

describe('argocd-oidc-pkce', () => {
  it('finds the web login sending PKCE, as its client is declared', () => {
    const r = run(OIDC, [network(true)]);
    expect(r.declared.prod?.oidcClients?.map((client) => [client.id, client.pkce])).toEqual([
      ['argocd', true],
      ['argocd-cli', true],
    ]);
    const configs = input(r)
      .files.filter((file) => /^charts\/argo-cd\/clusters\/[^/]+\.yaml$/.test(file.path))
      .map((file) => {
        const values = parseYaml(file.content) as Loose;
        return (parseYaml(values['argo-cd'].configs.cm['oidc.config']) as Loose)
          .enablePKCEAuthentication;
      });
    expect(configs).toEqual([true, true, true]);
    expect(oidcPkceCheck.check(input(r))).toEqual([]);
  });

  it.each([
    ['without enablePKCEAuthentication', undefined, 'not set'],
    ['with it false', false, 'false'],
    ['with it the string "true"', 'true', '"true"'],
  ])('reports a web login %s, whose client requires PKCE', (_, value, shown) => {
    const issues = oidcPkceCheck.check(
      editConfig(input(run(OIDC, [network(true)])), (config) => {
        if (value === undefined) delete config.enablePKCEAuthentication;
        else config.enablePKCEAuthentication = value;
      }),
    );
    expect(issues.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      ['argocd-oidc-pkce', 'clusters.0.components.argocd.oidc', value ?? null],
      ['argocd-oidc-pkce', 'clusters.1.components.argocd.oidc', value ?? null],
      ['argocd-oidc-pkce', 'clusters.2.components.argocd.oidc', value ?? null],
    ]);
    expect(issues[2]?.message).toBe(
      `the web login of Argo CD on cluster "prod" sends no PKCE challenge (oidc.config enablePKCEAuthentication is ${shown}), while its OIDC client "argocd" is declared with PKCE, which the provider then requires: every web login ends at the provider with invalid_request`,
    );
  });

  it('leaves a web login without PKCE alone when its client is declared without it', () => {
    const issues = oidcPkceCheck.check(
      withClients(
        editConfig(input(run(OIDC, [network(true)])), (config) => {
          delete config.enablePKCEAuthentication;
        }),
        (client) => (client.public ? client : { ...client, pkce: false }),
      ),
    );
    expect(issues).toEqual([]);
  });
});

describe('argocd-oidc-refresh', () => {
  /** Authelia 4.39's lifespans (its chart's defaults): ID and access token 1h, refresh 90m. */
  const AUTHELIA = { idToken: 3600, accessToken: 3600, refreshToken: 5400 };

  it("finds the browser's session renewable on every cluster, with and without the provider's lifespans", () => {
    const base = input(run(RENEWING, [network(true)]));
    expect(oidcRefreshCheck.check(base)).toEqual([]);
    // Without renewSessions no threshold is set, and there is nothing to hold
    expect(
      oidcRefreshCheck.check(withLifespans(input(run(OIDC, [network(true)])), AUTHELIA)),
    ).toEqual([]);
    expect(oidcRefreshCheck.check(withLifespans(base, AUTHELIA))).toEqual([]);
  });

  it('reads thresholds the way Go does', () => {
    expect(
      ['30m', '1h30m', '1.5h', '90s', '300ms', '2h45m30.5s', '0', '-5m', '.5m', '1.m'].map(
        parseGoDuration,
      ),
    ).toEqual([1800, 5400, 5400, 90, 0.3, 9930.5, 0, -300, 30, 60]);
    // Microseconds in ASCII, with the micro sign, or with the Greek mu
    for (const text of ['2us', '2\u00b5s', '2\u03bcs']) {
      expect(parseGoDuration(text), text).toBeCloseTo(2e-6, 12);
    }
    for (const text of [
      '',
      '30',
      '30 m',
      '30min',
      '1d',
      'm',
      '.m',
      '1h-30m',
      '30M',
      '1e3s',
      '3000000h',
    ]) {
      expect(parseGoDuration(text), text).toBeUndefined();
    }
  });

  it('reports a threshold Go cannot read, or that is not positive', () => {
    const base = withLifespans(input(run(RENEWING, [network(true)])), AUTHELIA);
    const unreadable = oidcRefreshCheck.check(
      editConfig(base, (config) => {
        config.refreshTokenThreshold = '30 minutes';
      }),
    );
    expect(unreadable.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      ['argocd-oidc-refresh', 'clusters.0.components.argocd.oidc', '30 minutes'],
      ['argocd-oidc-refresh', 'clusters.1.components.argocd.oidc', '30 minutes'],
      ['argocd-oidc-refresh', 'clusters.2.components.argocd.oidc', '30 minutes'],
    ]);
    expect(unreadable[2]?.message).toBe(
      `Argo CD on cluster "prod" cannot renew a browser's session as refreshTokenThreshold means to ("30 minutes" is not a Go duration (Argo CD logs "Failed to parse 'oidc.config.refreshTokenThreshold' key", refreshes nothing, and the session ends with the ID token))`,
    );
    const zero = oidcRefreshCheck.check(
      editConfig(base, (config) => {
        config.refreshTokenThreshold = '0s';
      }),
    );
    expect(zero.map((issue) => issue.message)).toEqual(
      ['dev', 'staging', 'prod'].map(
        (cluster) =>
          `Argo CD on cluster "${cluster}" cannot renew a browser's session as refreshTokenThreshold means to ("0s" is not positive: no ID token ever has less left, and the session ends with it)`,
      ),
    );
  });

  it('reports requestedScopes without offline_access: no refresh token to renew with', () => {
    const issues = oidcRefreshCheck.check(
      editConfig(input(run(RENEWING, [network(true)])), (config) => {
        config.requestedScopes = without(config.requestedScopes, 'offline_access');
      }),
    );
    expect(issues.map((issue) => issue.value)).toEqual(['30m', '30m', '30m']);
    expect(issues[0]?.message).toContain(
      'requestedScopes lacks offline_access: the provider issues the web login no refresh token',
    );
    // Nor with requestedScopes left empty: Argo CD's default has no offline_access either
    const empty = oidcRefreshCheck.check(
      editConfig(input(run(RENEWING, [network(true)])), (config) => {
        delete config.requestedScopes;
      }),
    );
    expect(empty).toHaveLength(3);
  });

  it("reports a threshold not below the provider's ID token lifespan, and lifespans that defeat it", () => {
    const base = input(run(RENEWING, [network(true)]));
    // A threshold of an hour against Authelia's hour-long ID token: every request refreshes
    const long = oidcRefreshCheck.check(
      editConfig(withLifespans(base, AUTHELIA), (config) => {
        config.refreshTokenThreshold = '1h';
      }),
    );
    expect(long.map((issue) => issue.value)).toEqual(['1h', '1h', '1h']);
    expect(long[0]?.message).toContain(
      `"1h" is not below the provider's ID token lifespan (1h): every request would call the provider for new tokens`,
    );
    // An access token living 40 minutes longer than the ID token: the cached token never looks
    // due within the 30 minutes; a refresh token shorter than the ID token: renewals fail late
    const defeated = oidcRefreshCheck.check(
      withLifespans(base, { idToken: 3600, accessToken: 6000, refreshToken: 3000 }),
    );
    expect(defeated[1]?.message).toBe(
      `Argo CD on cluster "staging" cannot renew a browser's session as refreshTokenThreshold means to (the provider's access token (1h40m) outlives its ID token (1h) by the threshold or more: the cached token never looks due while the ID token does, nothing is renewed, and the session ends with the ID token; the provider's refresh token (50m) expires before its ID token (1h): a renewal late in the window fails, and the session ends with the ID token)`,
    );
  });

  it('says nothing where no threshold is set', () => {
    const issues = oidcRefreshCheck.check(
      editConfig(input(run(RENEWING, [network(true)])), (config) => {
        delete config.refreshTokenThreshold;
        config.requestedScopes = without(config.requestedScopes, 'offline_access');
      }),
    );
    expect(issues).toEqual([]);
  });
});

describe('argocd-excluded-kinds', () => {
  /** The Application of monitoring on every cluster, rendering kube-prometheus-stack's Endpoints. */
  const ENDPOINTS = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'monitoring-kube-prometheus-kube-etcd', namespace: 'kube-system' },
    subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'http-metrics', port: 2381 }] }],
  };
  function withMonitoring(base: Input, cm?: (cm: Loose) => void): Input {
    const files = base.files.map((file) => {
      if (cm === undefined || file.path !== 'charts/argo-cd/values.yaml') return file;
      const values = parseYaml(file.content) as Loose;
      cm(values['argo-cd'].configs.cm);
      return { ...file, content: toYaml(values) };
    });
    return {
      ...base,
      files,
      clusters: base.clusters.map((cluster) => ({
        ...cluster,
        applications: [
          ...cluster.applications,
          {
            name: 'monitoring',
            component: 'monitoring',
            bundle: undefined,
            wave: 7,
            namespace: 'monitoring',
            application: {
              apiVersion: 'argoproj.io/v1alpha1',
              kind: 'Application',
              metadata: { name: `${cluster.cluster.name}-monitoring` },
            },
            objects: [{ object: ENDPOINTS, source: 'kube-prometheus-stack' }],
            installs: [],
            critical: false,
            origin: ['clusters', cluster.cluster.index, 'components', 'monitoring'],
          },
        ],
      })),
    } as Input;
  }

  it("keeps the chart's default exclusions but core Endpoints, which kube-prometheus-stack renders", () => {
    // The vendored argo-cd 10.1.1 chart's default, which the data here mirrors
    const chartValues = parseYaml(
      readVendoredChartFile('argo-cd', ARGOCD_CHART.version, 'values.yaml'),
    ) as Loose;
    expect(parseYaml(chartValues.configs.cm['resource.exclusions'])).toEqual(
      CHART_RESOURCE_EXCLUSIONS,
    );
    // What every cluster deploys: EndpointSlices still excluded, Endpoints no longer
    const deployed = parseYaml(
      run(OIDC).values('dev').configs.cm['resource.exclusions'],
    ) as FilteredResource[];
    expect(deployed).toEqual([
      { apiGroups: ['discovery.k8s.io'], kinds: ['EndpointSlice'] },
      ...CHART_RESOURCE_EXCLUSIONS.slice(1),
    ]);
    expect(isExcludedKind('', 'Endpoints', deployed)).toBe(false);
    expect(isExcludedKind('discovery.k8s.io', 'EndpointSlice', deployed)).toBe(true);
    expect(isExcludedKind('', 'Endpoints', CHART_RESOURCE_EXCLUSIONS)).toBe(true);
    // Argo CD's core exclusions hold whatever argocd-cm says
    expect(isExcludedKind('coordination.k8s.io', 'Lease', [])).toBe(true);
    expect(isExcludedKind('events.k8s.io', 'Event', [])).toBe(true);
    expect(isExcludedKind('', 'Service', [])).toBe(false);
    // resource.inclusions: only what it includes
    expect(isExcludedKind('', 'Service', [], [{ apiGroups: ['apps'], kinds: ['*'] }])).toBe(true);
    expect(isExcludedKind('apps', 'Deployment', [], [{ apiGroups: ['apps'], kinds: ['*'] }])).toBe(
      false,
    );
  });

  it('passes the Endpoints object with the platform values, refuses it with the chart default', () => {
    const base = input(run(OIDC));
    expect(excludedKindsCheck.check(withMonitoring(base))).toEqual([]);
    // Given the exclusions left at the chart's default (the override removed)
    const issues = excludedKindsCheck.check(
      withMonitoring(base, (cm) => delete cm['resource.exclusions']),
    );
    // Then the Endpoints Argo CD would never create is an error on every cluster
    expect(issues.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      ['argocd-excluded-kinds', 'clusters.0.components.monitoring', 'core/Endpoints'],
      ['argocd-excluded-kinds', 'clusters.1.components.monitoring', 'core/Endpoints'],
      ['argocd-excluded-kinds', 'clusters.2.components.monitoring', 'core/Endpoints'],
    ]);
    expect(issues[0]?.message).toBe(
      'Application dev-monitoring on cluster "dev" deploys core/Endpoints, a kind its Argo CD excludes (resource.exclusions): Argo CD v3.4.4 drops those objects with an ExcludedResourceWarning and never creates them',
    );
    // And an exclusion list of its own that names it again
    const again = excludedKindsCheck.check(
      withMonitoring(base, (cm) => {
        cm['resource.exclusions'] = toYaml([{ apiGroups: [''], kinds: ['Endpoints'] }]);
      }),
    );
    expect(again).toHaveLength(3);
  });
});
