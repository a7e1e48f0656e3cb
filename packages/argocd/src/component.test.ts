import { PLATFORM_GATEWAY } from '@homelab/cilium';
import type { ComponentOutput, ResolvedPlatform, Values } from '@homelab/core';
import { chartFiles, parseYaml, renderChart } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { CILIUM, fakeOutput, LONGHORN, referencePlatform } from '../test/factory.js';
import { APPLICATION_HEALTH_KEY, renderArgocd } from './argocd.js';
import { argocdOidcClient } from './oidc.js';
import type { ArgocdSettings } from './settings.js';

const OIDC: ArgocdSettings = {
  adminGroups: ['platform-admins'],
  readonlyGroups: ['developers'],
  oidc: { clientId: 'argocd', clientSecret: { secretName: 'argocd-oidc', key: 'client-secret' } },
};

function platformWith(settings: ArgocdSettings | undefined): ResolvedPlatform {
  return referencePlatform((clusters) => {
    for (const cluster of clusters) if (settings) cluster.components = { argocd: settings };
  });
}

/** The values `helm template` sees for `cluster` (base + env + cluster layers). */
function valuesFor(output: ComponentOutput, platform: ResolvedPlatform, cluster: string): Values {
  if (output.chart === undefined) throw new Error('no chart');
  const env = platform.clusters.find((candidate) => candidate.name === cluster)?.environment;
  const { files } = chartFiles(output.chart, '0.1.0');
  return renderChart(files, [`env/${env}.yaml`, `clusters/${cluster}.yaml`]).values;
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into the chart values.
type Loose = Record<string, any>;

function argo(values: Values): Loose {
  return values['argo-cd'] as Loose;
}

describe('renderArgocd', () => {
  it('restores the Application health check on every cluster', () => {
    const platform = platformWith(OIDC);
    const output = renderArgocd(platform);
    for (const cluster of ['dev', 'staging', 'prod']) {
      const cm = argo(valuesFor(output, platform, cluster)).configs.cm;
      expect(cm[APPLICATION_HEALTH_KEY]).toContain('hs.status = obj.status.health.status');
      expect(cm[APPLICATION_HEALTH_KEY]).toMatch(/return hs\n$/);
    }
  });

  it('runs single replicas in development and the HA recipe with Redis HA in production', () => {
    const platform = platformWith(OIDC);
    const output = renderArgocd(platform);
    const dev = argo(valuesFor(output, platform, 'dev'));
    const prod = argo(valuesFor(output, platform, 'prod'));
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
    expect(
      prod.server.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
    ).toEqual([
      {
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'argocd-server' } },
      },
    ]);
  });

  it('relaxes Redis HA anti-affinity, with a warning, on a production cluster of two nodes', () => {
    const platform = referencePlatform((clusters) => {
      const prod = clusters[2];
      if (prod) prod.nodes = [prod.nodes[0], prod.nodes[1] ?? prod.nodes[0]] as typeof prod.nodes;
    });
    const output = renderArgocd(platform);
    expect(argo(valuesFor(output, platform, 'prod'))['redis-ha'].hardAntiAffinity).toBe(false);
    expect(
      output.issues.some(
        (issue) => issue.code === 'ha-downgrade' && issue.message.includes('Redis HA'),
      ),
    ).toBe(true);
  });

  it('logs in through Authelia with the client secret only as a reference', () => {
    const platform = platformWith(OIDC);
    const values = argo(valuesFor(renderArgocd(platform), platform, 'staging'));
    expect(parseYaml(values.configs.cm['oidc.config'])).toEqual({
      name: 'Authelia',
      issuer: 'https://auth.staging.lab.example.com',
      clientID: 'argocd',
      clientSecret: '$argocd-oidc:client-secret',
      requestedScopes: ['openid', 'profile', 'email', 'groups'],
      enableUserInfoGroups: true,
      userInfoPath: '/api/oidc/userinfo',
    });
  });

  it('declares the Secret the OIDC reference needs, in the argocd namespace', () => {
    const platform = platformWith({
      oidc: { clientId: 'argocd', clientSecret: '$argocd-oidc:secret' },
    });
    expect(renderArgocd(platform).clusters.prod?.secrets).toEqual([
      { name: 'argocd-oidc', namespace: 'argocd', keys: ['secret'] },
    ]);
  });

  it('never puts a plain secret into the values, and says why', () => {
    const leaked = 'hunter2-very-secret';
    const platform = platformWith({ oidc: { clientId: 'argocd', clientSecret: leaked } });
    const output = renderArgocd(platform);
    expect(output.issues.filter((issue) => issue.code === 'secret-reference')).toHaveLength(3);
    expect(JSON.stringify(output)).not.toContain(leaked);
    expect(JSON.stringify(output.chart?.clusters)).not.toContain('oidc.config');
  });

  it('makes everyone read-only by default and maps the definition groups to roles', () => {
    const platform = platformWith(OIDC);
    const rbac = argo(valuesFor(renderArgocd(platform), platform, 'prod')).configs.rbac;
    expect(rbac['policy.default']).toBe('role:readonly');
    expect(rbac['policy.csv']).toBe(
      'g, platform-admins, role:admin\ng, developers, role:readonly\n',
    );
  });

  it('exposes the server on the platform Gateway at argocd.<cluster domain>', () => {
    const platform = platformWith(OIDC);
    const output = renderArgocd(platform);
    const { files } = chartFiles(output.chart as NonNullable<typeof output.chart>, '0.1.0');
    const rendered = renderChart(files, ['env/production.yaml', 'clusters/prod.yaml']);
    const route = rendered.objects.find((object) => object.kind === 'HTTPRoute');
    expect(route?.spec).toEqual({
      parentRefs: [
        {
          group: 'gateway.networking.k8s.io',
          kind: 'Gateway',
          name: PLATFORM_GATEWAY.name,
          namespace: PLATFORM_GATEWAY.namespace,
        },
      ],
      hostnames: ['argocd.lab.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [{ name: 'argocd-server', port: 80 }],
        },
      ],
    });
    expect(argo(rendered.values).configs.params['server.insecure']).toBe('true');
  });

  it('turns kind-wide ignoreDifferences of other components into argocd-cm customizations', () => {
    const platform = platformWith(OIDC);
    const others = [fakeOutput(platform, CILIUM), fakeOutput(platform, LONGHORN)];
    const cm = argo(valuesFor(renderArgocd(platform, others), platform, 'dev')).configs.cm;
    const keys = Object.keys(cm).filter((key) =>
      key.startsWith('resource.customizations.ignoreDifferences'),
    );
    // Cilium's entries name their Secrets: they stay on Cilium's Application.
    expect(keys).toEqual([
      'resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration',
    ]);
    expect(parseYaml(cm[keys[0] as string])).toEqual({
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
    });
  });

  it('leaves clusters that disable Argo CD out, and emits no chart when none enables it', () => {
    const some = referencePlatform((clusters) => {
      const dev = clusters[0];
      if (dev) dev.components = { argocd: { enabled: false } };
    });
    const output = renderArgocd(some);
    expect(Object.keys(output.clusters).sort()).toEqual(['prod', 'staging']);
    expect(Object.keys(output.chart?.clusters ?? {}).sort()).toEqual(['prod', 'staging']);
    expect(renderArgocd(platformWith({ enabled: false })).chart).toBeUndefined();
  });

  it('warns when the local admin is disabled without OIDC', () => {
    const output = renderArgocd(platformWith({ localAdmin: false }));
    expect(output.issues.map((issue) => issue.code)).toContain('argocd-login');
  });
});

describe('argocdOidcClient', () => {
  it('declares the confidential client Authelia registers', () => {
    const platform = platformWith(OIDC);
    const dev = platform.clusters[0];
    if (dev === undefined) throw new Error('no dev');
    expect(argocdOidcClient(platform, dev)).toEqual({
      cluster: 'dev',
      clientId: 'argocd',
      clientName: 'Argo CD',
      issuer: 'https://auth.dev.lab.example.com',
      redirectUris: ['https://argocd.dev.lab.example.com/auth/callback'],
      scopes: ['openid', 'profile', 'email', 'groups'],
      grantTypes: ['authorization_code'],
      responseTypes: ['code'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      public: false,
      secret: { secretName: 'argocd-oidc', key: 'client-secret', namespace: 'argocd' },
    });
  });

  it('declares no client when Argo CD logs in without OIDC', () => {
    const platform = platformWith(undefined);
    const dev = platform.clusters[0];
    if (dev === undefined) throw new Error('no dev');
    expect(argocdOidcClient(platform, dev)).toBeUndefined();
  });
});
