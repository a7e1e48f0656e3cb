// The gateway's system checks (layer 4) on the platform as Argo CD deploys it: they pass on what
// the component makes, and each fact broken on purpose fails with the place named.
import type { Issue, SystemInput } from '@homelab/core';
import { runSystemChecks } from '@homelab/core';
import { testDefinition, testReferenceClusters } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { certificateCovers } from '../src/checks.js';
import { gatewayCertificate, routesAuthenticated, routesOverTls } from '../src/index.js';
import {
  type AnyJson,
  consumer,
  deployed,
  gatewayClass,
  issuer,
  route,
  runGateway,
} from './helpers.js';

const WEB = consumer('web', 'web', [route('web', 'web')]);

function platform(others = [WEB], providers = [gatewayClass(), issuer()]): SystemInput {
  return deployed(runGateway(testDefinition(testReferenceClusters()), [...providers, ...others]));
}

/** The first cluster's deployed object under `key` of `app`'s chart, to break in place. */
function objectOf(input: SystemInput, app: string, key: string): AnyJson {
  const found = input.clusters[0]?.applications
    .find((a) => a.name === app)
    ?.objects.find((o) => o.source.endsWith(`#manifests.${key}`));
  if (found === undefined) throw new Error(`no ${app} ${key}`);
  return found.object;
}

function removeObject(input: SystemInput, app: string, key: string): void {
  const application = input.clusters[0]?.applications.find((a) => a.name === app) as AnyJson;
  application.objects = application.objects.filter(
    (o: AnyJson) => !o.source.endsWith(`#manifests.${key}`),
  );
}

function summary(issues: readonly Issue[]): [string, string | undefined, string][] {
  return issues.map((issue) => [issue.code, issue.output, issue.message]);
}

describe('on what the component makes', () => {
  test('every check passes', () => {
    const input = platform();
    expect(
      runSystemChecks(input, [routesOverTls, routesAuthenticated, gatewayCertificate]),
    ).toEqual([]);
    // The platform has what the checks look at.
    expect(objectOf(input, 'web', 'httproute-web').kind).toBe('HTTPRoute');
    expect(objectOf(input, 'gateway', 'gateway').kind).toBe('Gateway');
  });
});

describe('routes-over-tls', () => {
  test('a route on the plain HTTP listener fails, naming the route and its chart', () => {
    const input = platform();
    objectOf(input, 'web', 'httproute-web').spec.parentRefs[0].sectionName = 'http';
    // The HTTP listener admits its own namespace only: make it admit web, to see the TLS fact.
    objectOf(input, 'gateway', 'gateway').spec.listeners[0].allowedRoutes = {
      namespaces: { from: 'All' },
    };
    expect(summary(routesOverTls.check(input))).toEqual([
      [
        'routes-over-tls',
        'charts/web/clusters/dev.yaml#manifests.httproute-web',
        'HTTPRoute web/web on cluster "dev" attaches to listener "http" of Gateway gateway/platform (HTTP): it would be served without TLS',
      ],
    ]);
  });

  test('a route without a sectionName attaches to every listener, the HTTP one too', () => {
    const input = platform();
    delete objectOf(input, 'web', 'httproute-web').spec.parentRefs[0].sectionName;
    const issues = routesOverTls.check(input);
    expect(issues.map((i) => i.message)).toEqual([
      'HTTPRoute web/web on cluster "dev" attaches to listener "http" of Gateway gateway/platform, which admits routes of namespace "gateway" only: the route is never served',
    ]);
    objectOf(input, 'gateway', 'gateway').spec.listeners[0].allowedRoutes = {
      namespaces: { from: 'All' },
    };
    expect(routesOverTls.check(input).map((i) => i.expected)).toEqual([
      'a sectionName naming the HTTPS listener (without one the route attaches to every listener)',
    ]);
  });

  test('an HTTPS listener without a certificate does not count as TLS', () => {
    const input = platform();
    objectOf(input, 'gateway', 'gateway').spec.listeners[1].tls.certificateRefs = [];
    expect(routesOverTls.check(input).map((i) => i.message)).toEqual([
      'HTTPRoute web/web on cluster "dev" attaches to listener "https" of Gateway gateway/platform (HTTPS without a certificate): it would be served without TLS',
    ]);
  });

  test('a namespace the HTTPS listener does not select is never served', () => {
    const input = platform();
    objectOf(
      input,
      'gateway',
      'gateway',
    ).spec.listeners[1].allowedRoutes.namespaces.selector.matchExpressions[0].values = ['other'];
    expect(routesOverTls.check(input).map((i) => i.message)).toEqual([
      'HTTPRoute web/web on cluster "dev" attaches to listener "https" of Gateway gateway/platform, which does not select namespace "web": the route is never served',
    ]);
  });

  test('a route to a Gateway nobody deploys, or to a listener it does not have', () => {
    const input = platform();
    const ref = objectOf(input, 'web', 'httproute-web').spec.parentRefs[0];
    ref.sectionName = 'web-tls';
    expect(routesOverTls.check(input).map((i) => i.message)).toEqual([
      'HTTPRoute web/web on cluster "dev" names listener "web-tls" of Gateway gateway/platform, which has no such listener',
    ]);
    ref.name = 'public';
    expect(routesOverTls.check(input).map((i) => i.message)).toEqual([
      'HTTPRoute web/web on cluster "dev" attaches to Gateway gateway/public, which no Application on the cluster deploys',
    ]);
  });

  test('the HTTP listener may serve a redirect to https, nothing else', () => {
    const input = platform();
    const redirect = objectOf(input, 'gateway', 'httproute-https-redirect');
    redirect.spec.rules[0].filters[0].requestRedirect.scheme = 'http';
    expect(routesOverTls.check(input).map((i) => i.output)).toEqual([
      'charts/gateway/clusters/dev.yaml#manifests.httproute-https-redirect',
    ]);
  });
});

describe('routes-authenticated', () => {
  test('auth none without a reason fails at the component that declares it', () => {
    const open = consumer('status', 'status', [
      route('status', 'status', { auth: { kind: 'none', reason: ' ' } }),
    ]);
    const issues = routesAuthenticated.check(platform([open]));
    expect(issues.filter((i) => i.path[1] === 0).map((i) => [i.path, i.message])).toEqual([
      [
        ['clusters', 0, 'components', 'status'],
        'route "status" (status) of status on cluster "dev" has no authentication and gives no reason',
      ],
    ]);
    const reasoned = consumer('status', 'status', [
      route('status', 'status', { auth: { kind: 'none', reason: 'a public status page' } }),
    ]);
    expect(routesAuthenticated.check(platform([reasoned]))).toEqual([]);
  });

  test('an OIDC client the application does not declare fails; one it declares passes', () => {
    const client = {
      id: 'wiki',
      name: 'Wiki',
      redirectUris: ['https://wiki.dev.lab.example.com/callback'],
      scopes: ['openid'],
      pkce: true,
      public: false,
      policy: 'one_factor' as const,
    };
    const wikiRoute = route('wiki', 'wiki', { auth: { kind: 'app', oidcClient: 'wiki' } });
    const without = consumer('wiki', 'wiki', [wikiRoute]);
    expect(
      routesAuthenticated
        .check(platform([without]))
        .map((i) => i.message)
        .slice(0, 1),
    ).toEqual([
      'route "wiki" (wiki) of wiki on cluster "dev" logs users in through OIDC client "wiki", which wiki does not declare',
    ]);
    const declared = consumer('wiki', 'wiki', [wikiRoute], { oidcClients: [client] });
    expect(routesAuthenticated.check(platform([declared]))).toEqual([]);
  });

  test('forward auth at a Gateway that cannot do it fails', () => {
    const guarded = consumer('admin', 'admin', [
      route('admin', 'admin', { auth: { kind: 'forward-auth', policy: 'two_factor' } }),
    ]);
    expect(routesAuthenticated.check(platform([guarded])).map((i) => i.message)[0]).toBe(
      'route "admin" (admin) of admin on cluster "dev" asks for forward auth, which the platform Gateway of the cluster cannot do',
    );
  });

  test('a hand-made HTTPRoute that is no declared route fails', () => {
    const input = platform();
    objectOf(input, 'web', 'httproute-web').metadata.name = 'web-extra';
    expect(summary(routesAuthenticated.check(input))).toEqual([
      [
        'routes-authenticated',
        'charts/web/clusters/dev.yaml#manifests.httproute-web',
        'HTTPRoute web/web-extra on cluster "dev" is no declared route, so no authentication rule covers it',
      ],
    ]);
  });
});

describe('gateway-certificate', () => {
  test('a listener Secret no Certificate produces fails at the Gateway', () => {
    const input = platform();
    removeObject(input, 'gateway', 'certificate');
    expect(summary(gatewayCertificate.check(input))).toEqual([
      [
        'gateway-certificate',
        'charts/gateway/clusters/dev.yaml#manifests.gateway',
        'listener "https" of Gateway gateway/platform on cluster "dev" serves Secret gateway/platform-wildcard-tls, which no Certificate produces and nobody makes by hand: the listener would never be ready',
      ],
    ]);
  });

  test('a Certificate whose issuer no Application deploys fails', () => {
    const input = platform();
    objectOf(input, 'gateway', 'certificate').spec.issuerRef.name = 'letsencrypt-production';
    expect(summary(gatewayCertificate.check(input))).toEqual([
      [
        'gateway-certificate',
        'charts/gateway/clusters/dev.yaml#manifests.certificate',
        'Certificate gateway/platform-wildcard on cluster "dev" is issued by ClusterIssuer letsencrypt-production, which no Application on the cluster deploys',
      ],
    ]);
  });

  test('an issuer deployed after the certificate fails', () => {
    const input = platform();
    const apps = input.clusters[0]?.applications as AnyJson[];
    apps.find((a) => a.name === 'issuer').wave = 99;
    expect(gatewayCertificate.check(input).map((i) => i.message)[0]).toBe(
      'Certificate gateway/platform-wildcard on cluster "dev" is issued by ClusterIssuer ca, which issuer deploys in wave 99, after gateway (wave 1)',
    );
  });

  test('a certificate of a CA issuer without the "server auth" usage fails: Apple clients refuse it', () => {
    const input = platform();
    expect(objectOf(input, 'gateway', 'certificate').spec.usages).toEqual([
      'digital signature',
      'server auth',
    ]);
    // cert-manager's default when usages is not set: digital signature, key encipherment.
    delete objectOf(input, 'gateway', 'certificate').spec.usages;
    expect(summary(gatewayCertificate.check(input))).toEqual([
      [
        'gateway-certificate',
        'charts/gateway/clusters/dev.yaml#manifests.certificate',
        'Certificate gateway/platform-wildcard on cluster "dev", served by listener "https" of Gateway gateway/platform, does not ask for the "server auth" usage: ClusterIssuer ca signs the usages asked for (cert-manager\'s default: digital signature, key encipherment), and Apple\'s TLS clients (Safari; curl and the argocd CLI on macOS) refuse a server certificate without the serverAuth extended key usage',
      ],
    ]);
    objectOf(input, 'gateway', 'certificate').spec.usages = ['digital signature', 'client auth'];
    expect(gatewayCertificate.check(input).map((issue) => issue.value)).toEqual([
      ['digital signature', 'client auth'],
    ]);
  });

  test('an ACME issuer sets the server usage itself: no "server auth" needed in the Certificate', () => {
    const input = platform(
      [WEB],
      [
        gatewayClass(),
        issuer({
          'clusterissuer-ca': {
            apiVersion: 'cert-manager.io/v1',
            kind: 'ClusterIssuer',
            metadata: { name: 'ca' },
            spec: { acme: { server: 'https://acme-v02.api.letsencrypt.org/directory' } },
          },
        }),
      ],
    );
    delete objectOf(input, 'gateway', 'certificate').spec.usages;
    expect(gatewayCertificate.check(input)).toEqual([]);
  });

  test('a certificate name covers its host and, as a wildcard, exactly one label more', () => {
    const names = ['*.dev.lab.example.com', 'dev.lab.example.com'];
    expect(
      [
        'web.dev.lab.example.com',
        'dev.lab.example.com',
        '*.dev.lab.example.com',
        'a.web.dev.lab.example.com',
        'web.staging.lab.example.com',
        '*.lab.example.com',
      ].map((host) => certificateCovers(names, host)),
    ).toEqual([true, true, true, false, false, false]);
    expect(certificateCovers(['web.dev.lab.example.com'], '*.dev.lab.example.com')).toBe(false);
  });

  test('a certificate that does not name the listener’s hostname fails at the Certificate', () => {
    const input = platform();
    objectOf(input, 'gateway', 'certificate').spec.dnsNames = ['*.staging.lab.example.com'];
    expect(summary(gatewayCertificate.check(input))).toEqual([
      [
        'gateway-certificate',
        'charts/gateway/clusters/dev.yaml#manifests.certificate',
        'listener "https" of Gateway gateway/platform on cluster "dev" serves *.dev.lab.example.com with Certificate gateway/platform-wildcard, which covers *.staging.lab.example.com: browsers refuse the hosts it does not name',
      ],
    ]);
  });

  test('a route host two labels below the wildcard is served by the listener but not named by its certificate', () => {
    const input = platform();
    objectOf(input, 'web', 'httproute-web').spec.hostnames = ['app.web.dev.lab.example.com'];
    expect(summary(gatewayCertificate.check(input))).toEqual([
      [
        'gateway-certificate',
        'charts/web/clusters/dev.yaml#manifests.httproute-web',
        'HTTPRoute web/web on cluster "dev" is served for app.web.dev.lab.example.com by listener "https" of Gateway gateway/platform, whose Certificate gateway/platform-wildcard covers *.dev.lab.example.com: browsers refuse the connection',
      ],
    ]);
    // A host the listener does not serve at all is routes-over-tls' matter, not a certificate's.
    objectOf(input, 'web', 'httproute-web').spec.hostnames = ['web.example.org'];
    expect(gatewayCertificate.check(input)).toEqual([]);
  });

  test('a Secret of another namespace needs a ReferenceGrant there', () => {
    const input = platform();
    const ref = objectOf(input, 'gateway', 'gateway').spec.listeners[1].tls.certificateRefs[0];
    ref.namespace = 'issuer';
    ref.name = 'root';
    const refused =
      'listener "https" of Gateway gateway/platform on cluster "dev" serves Secret issuer/root of another namespace, which no ReferenceGrant in issuer permits: the reference is refused (ResolvedRefs false, RefNotPermitted) and the listener serves nothing';
    expect(gatewayCertificate.check(input).map((issue) => issue.message)).toEqual([refused]);
    const issuerApp = input.clusters[0]?.applications.find((a) => a.name === 'issuer') as AnyJson;
    issuerApp.objects.push({
      object: {
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        kind: 'ReferenceGrant',
        metadata: { name: 'gateway-secrets', namespace: 'issuer' },
        spec: {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'gateway' }],
          to: [{ group: '', kind: 'Secret', name: 'root' }],
        },
      },
      source: 'charts/issuer/clusters/dev.yaml#manifests.referencegrant',
    });
    expect(gatewayCertificate.check(input).map((issue) => issue.message)).not.toContain(refused);
  });

  test('a CA issuer whose Secret nothing produces fails, down the chain', () => {
    const input = platform();
    removeObject(input, 'issuer', 'certificate-root');
    expect(gatewayCertificate.check(input).map((i) => i.message)[0]).toBe(
      'Certificate gateway/platform-wildcard on cluster "dev" is issued by CA ClusterIssuer ca, whose Secret issuer/root no Certificate produces and nobody makes by hand',
    );
    const rootless = platform();
    objectOf(rootless, 'issuer', 'certificate-root').spec.issuerRef.name = 'missing';
    expect(gatewayCertificate.check(rootless).map((i) => i.message)[0]).toBe(
      'Certificate issuer/root on cluster "dev" is issued by ClusterIssuer missing, which no Application on the cluster deploys',
    );
  });
});
