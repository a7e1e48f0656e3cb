// A route whose application logs its users in through the platform's OIDC provider (`oidc`): the
// client the provider registers, the Secret of the client secret, the flow to the issuer, the
// onboarding's text, and what is refused.
import { formatPath } from '@homelab/core';
import {
  testCertificates,
  testComponent,
  testDefinition,
  testGateway,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { applicationsComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const storage = testComponent({ name: 'storage', provides: ['storage'] });
const gateway = testGateway();
/** Authelia's stand-in: the issuer at auth.<cluster domain>, a routed host of the Gateway. */
const provider = testComponent({
  name: 'idp',
  provides: ['oidc-provider'],
  contribution: (cluster) => ({
    facts: {
      'oidc-provider': {
        issuer: `https://auth.${cluster}.lab.example.com`,
        userinfoPath: '/api/oidc/userinfo',
        groups: ['family', 'admins'],
      },
    },
  }),
});

function run(apps: AnyJson, others = [gateway, provider]) {
  return testRun(
    testDefinition(testReferenceClusters(), { components: { applications: { apps } } }),
    [storage, ...others, applicationsComponent],
  );
}

/** The applications chart the run renders. */
const chartOf = (result: ReturnType<typeof run>): AnyJson =>
  result.components.components.find((entry) => entry.component.name === 'applications')?.output
    .chart ?? {};
const declared = (result: ReturnType<typeof run>, cluster: number) =>
  result.components.clusters[cluster]?.contributions.get('applications') as AnyJson;
const errors = (result: ReturnType<typeof run>, cluster = 0) =>
  result.components.issues
    .filter((i) => i.severity === 'error' && formatPath(i.path).startsWith(`clusters[${cluster}]`))
    .map((i) => [i.code, formatPath(i.path), i.message]);

const WEB = { name: 'web', gateway: true, ports: [{ port: 8000 }] };
const route = (oidc: AnyJson, more: AnyJson = {}) => ({
  host: 'paperless',
  service: 'paperless',
  port: 8000,
  auth: 'app',
  oidc,
  ...more,
});
const CALLBACK = '/accounts/oidc/authelia/login/callback/';
const ROUTE = ['clusters', 1, 'components', 'applications', 'apps', 'paperless', 'routes', 0];

describe("OIDC logins of the applications' routes", () => {
  test('a route with oidc declares a client on its host, the Secret of its secret and the route logging in through it', () => {
    const result = run({
      paperless: { flows: [WEB], routes: [route({ redirectPaths: [CALLBACK] })] },
    });
    expect(errors(result, 1)).toEqual([]);
    const staging = declared(result, 1);
    expect(staging.oidcClients).toEqual([
      {
        id: 'paperless',
        name: 'paperless',
        redirectUris: [`https://paperless.staging.lab.example.com${CALLBACK}`],
        scopes: ['openid', 'profile', 'email', 'groups'],
        pkce: true,
        public: false,
        secret: { namespace: 'paperless', name: 'paperless-oidc', key: 'client-secret' },
        issuer: 'https://auth.staging.lab.example.com',
        origins: {
          client: [...ROUTE, 'oidc'],
          redirectUris: [[...ROUTE, 'oidc', 'redirectPaths', 0]],
          groups: [],
        },
        policy: 'one_factor',
      },
    ]);
    expect(staging.routes[0].auth).toEqual({ kind: 'app', oidcClient: 'paperless' });
    expect(staging.secrets).toEqual([
      {
        name: 'paperless-oidc',
        namespace: 'paperless',
        keys: ['client-secret'],
        description:
          'OIDC client secret of application paperless (client paperless): 40 or more random letters and digits (the OIDC provider reads the same entry into its configuration, where a quote breaks it)',
      },
    ]);
    // Under default deny, the pods the Gateway forwards to reach the issuer, a routed host: a
    // flow through the Gateway to auth.
    expect(staging.flows.filter((flow: AnyJson) => flow.name.includes('oidc'))).toEqual([
      {
        name: 'paperless-oidc-paperless',
        direction: 'egress',
        namespace: 'paperless',
        selector: { 'app.kubernetes.io/name': 'paperless' },
        peer: { kind: 'gateway', host: 'auth' },
        ports: [{ port: 443, protocol: 'TCP' }],
        reason:
          'paperless exchanges the login code for tokens and reads the user at the OIDC issuer (https://auth.staging.lab.example.com), client paperless',
        workloads: 'external',
      },
    ]);
  });

  test('settings: id, name, scopes, policy, groups, claims, a Secret the application declares itself, a public client; the flow per pods behind the Gateway', () => {
    const web = { ...WEB, selector: { 'app.kubernetes.io/component': 'web' } };
    const api = { name: 'api', gateway: true, ports: [{ port: 9000 }] };
    const result = run({
      paperless: {
        flows: [web, api],
        secrets: { 'paperless-env': { keys: ['PAPERLESS_SECRET_KEY', 'OIDC_SECRET'] } },
        routes: [
          route({
            clientId: 'docs',
            name: 'Paperless-ngx',
            redirectPaths: [CALLBACK, '/oidc/callback?next=%2F'],
            scopes: ['openid', 'groups', 'offline_access'],
            policy: 'two_factor',
            groups: ['family'],
            idTokenClaims: ['groups'],
            tokenEndpointAuthMethod: 'client_secret_post',
            clientSecret: { secretName: 'paperless-env', key: 'OIDC_SECRET' },
          }),
          route(
            { redirectPaths: ['/callback'], public: true },
            { host: 'paperless-mobile', service: 'mobile' },
          ),
        ],
      },
    });
    expect(errors(result)).toEqual([]);
    const dev = declared(result, 0);
    const [docs, mobile] = dev.oidcClients;
    expect(docs).toMatchObject({
      id: 'docs',
      name: 'Paperless-ngx',
      redirectUris: [
        `https://paperless.dev.lab.example.com${CALLBACK}`,
        'https://paperless.dev.lab.example.com/oidc/callback?next=%2F',
      ],
      scopes: ['openid', 'groups', 'offline_access'],
      policy: 'two_factor',
      groups: ['family'],
      idTokenClaims: ['groups'],
      tokenEndpointAuthMethod: 'client_secret_post',
      secret: { namespace: 'paperless', name: 'paperless-env', key: 'OIDC_SECRET' },
    });
    expect(docs.origins.groups).toEqual([
      [
        'clusters',
        0,
        'components',
        'applications',
        'apps',
        'paperless',
        'routes',
        0,
        'oidc',
        'groups',
        0,
      ],
    ]);
    expect(mobile).toMatchObject({ id: 'paperless-mobile', public: true, pkce: true });
    expect(mobile.secret).toBeUndefined();
    // The application's own Secret holds the client secret: no second declaration of it.
    expect(dev.secrets.map((secret: AnyJson) => [secret.name, secret.keys])).toEqual([
      ['paperless-env', ['PAPERLESS_SECRET_KEY', 'OIDC_SECRET']],
    ]);
    expect(
      dev.flows
        .filter((flow: AnyJson) => flow.name.includes('-oidc-'))
        .map((flow: AnyJson) => [flow.name, flow.selector]),
    ).toEqual([
      ['paperless-oidc-paperless', { 'app.kubernetes.io/component': 'web' }],
      ['paperless-oidc-paperless-2', { 'app.kubernetes.io/name': 'paperless' }],
      // the public client's tokens are the browser's: no flow of the pods
    ]);
  });

  test('outside default deny (no flows) no flow is added', () => {
    const dev = declared(run({ paperless: { routes: [route({ redirectPaths: [CALLBACK] })] } }), 0);
    expect(dev.oidcClients.map((client: AnyJson) => client.id)).toEqual(['paperless']);
    expect(dev.flows).toEqual([]);
  });

  test('the onboarding step tells what to configure in the application', () => {
    const dev = declared(
      run({ paperless: { flows: [WEB], routes: [route({ redirectPaths: [CALLBACK] })] } }),
      0,
    );
    // Under default deny, the login's own flow among the application's network lines
    expect(
      dev.bootstrap[0].body.filter((text: string) => text.includes('through the Gateway on')),
    ).toEqual([
      expect.stringMatching(
        /^ {4}- pods `app\.kubernetes\.io\/name: paperless` reach `auth\.<domain>` through the Gateway on 443\/TCP \(paperless exchanges the login code/,
      ),
    ]);
    const line = dev.bootstrap[0].body.find((text: string) => text.includes('route `https://'));
    expect(line).toBe(
      "  - route `https://paperless.dev.lab.example.com/`: the Gateway forwards to the Service `paperless` on port 8000, which you create (its pods as above); login: the application's own, through the platform's OIDC provider: configure the application with issuer `https://auth.dev.lab.example.com` (discovery `https://auth.dev.lab.example.com/.well-known/openid-configuration`); client id `paperless`; the client secret from key `client-secret` of the Secret `paperless-oidc` (filled from the secret store; the provider reads the same entry), sent with HTTP basic auth (`client_secret_basic`): the provider refuses the other method; redirect URI `https://paperless.dev.lab.example.com/accounts/oidc/authelia/login/callback/`; scopes `openid` `profile` `email` `groups`; PKCE with S256 (required); the provider asks for one factor; the user's claims (name, email, `groups`) are at the userinfo endpoint, not in the ID token (`idTokenClaims` puts them there).",
    );
  });

  test('refused at the route: another auth, no OIDC provider, a public client with a secret, an id twice, a Secret without the key or taken, a flow of the name', () => {
    const login = { redirectPaths: [CALLBACK] };
    const at = (app: string, index: number, ...rest: string[]) =>
      ['clusters[0].components.applications.apps', `${app}.routes[${index}]`, ...rest].join('.');
    expect(
      errors(
        run({
          a: {
            routes: [
              route(login, { host: 'a', auth: 'forward-auth' }),
              route({ ...login, public: true, clientSecret: { secretName: 'x' } }, { host: 'b' }),
              route({ ...login, clientId: 'shared' }, { host: 'c' }),
              route({ ...login, clientId: 'shared' }, { host: 'd' }),
            ],
          },
        }),
      ),
    ).toEqual([
      [
        'applications-route',
        at('a', 0, 'oidc'),
        "is only read with auth: app, the application logging its users in through the OIDC provider (this route's auth is forward-auth)",
      ],
      [
        'applications-route',
        at('a', 1, 'oidc', 'clientSecret'),
        'names a client secret for a public client, which has none (it proves itself with PKCE)',
      ],
      [
        'applications-route',
        at('a', 3, 'oidc', 'clientId'),
        "is the OIDC client id of a's route c too: Authelia refuses to start with two clients of one id",
      ],
    ]);
    expect(errors(run({ a: { routes: [route(login, { host: 'a' })] } }, [gateway]))).toEqual([
      [
        'applications-route',
        at('a', 0, 'oidc'),
        'asks the OIDC provider to register a client for a, but no component provides "oidc-provider" on cluster "dev": a\'s login would find no issuer',
      ],
    ]);
    expect(
      errors(
        run({
          a: {
            flows: [WEB, { name: 'oidc-b', fqdn: 'auth.example.com', ports: [{ port: 443 }] }],
            secrets: { 'a-oidc': { keys: ['other'] } },
            volumes: { data: { size: '1Gi', tier: 'standard', backup: {} } },
            routes: [
              route(login, { host: 'a' }),
              route({ ...login, clientSecret: { secretName: 'data-restic' } }, { host: 'b' }),
            ],
          },
        }),
      ),
    ).toEqual([
      [
        'applications-secret',
        at('a', 0, 'oidc'),
        "keeps OIDC client a's secret in key client-secret of the Secret a/a-oidc, which a's secrets declare without that key",
      ],
      [
        'applications-secret',
        at('a', 1, 'oidc', 'clientSecret'),
        "keeps OIDC client b's secret in the Secret a/data-restic, which the platform makes already (restic repository URL, repository password and S3 credentials of the backups of volume a/data): one would overwrite the other",
      ],
      [
        'applications-flow',
        'clusters[0].components.applications.apps.a.flows[1].name',
        'makes the flow a-oidc-b, the name of the one the platform adds for an OIDC login (a exchanges the login code for tokens and reads the user at the OIDC issuer (https://auth.dev.lab.example.com), client b)',
      ],
    ]);
    // The restic Secret of a backed-up volume is the platform's.
    expect(
      errors(
        run({
          a: {
            volumes: { data: { size: '1Gi', tier: 'standard', backup: {} } },
            routes: [
              route({ ...login, clientSecret: { secretName: 'data-restic' } }, { host: 'a' }),
            ],
          },
        }),
      ).map(([code, path]) => [code, path]),
    ).toEqual([['applications-secret', at('a', 0, 'oidc', 'clientSecret')]]);
  });

  test("the platform's private CA: a Certificate in the namespace, its Secret reserved and named in the onboarding; an untrusted issuer warned about", () => {
    const apps = {
      paperless: { flows: [WEB], routes: [route({ redirectPaths: [CALLBACK] })] },
      spa: {
        routes: [route({ redirectPaths: ['/'], public: true }, { host: 'spa', service: 'spa' })],
      },
    };
    const withCa = run(apps, [gateway, provider, testCertificates({ privateCa: true })]);
    expect(errors(withCa)).toEqual([]);
    const chart = chartOf(withCa);
    // The confidential client's namespace only: the public client's pods call nothing.
    expect(
      Object.entries(chart.clusters.dev.manifests).filter(
        ([, object]: AnyJson) => object.kind === 'Certificate',
      ),
    ).toEqual([
      [
        'certificate-paperless-platform-ca',
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: {
            name: 'platform-ca',
            namespace: 'paperless',
            labels: { 'app.kubernetes.io/part-of': 'applications' },
          },
          spec: {
            secretName: 'platform-ca',
            commonName: 'platform-ca',
            privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
            issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'private-ca' },
          },
        },
      ],
    ]);
    const body: string[] = declared(withCa, 0).bootstrap[0].body;
    expect(body.find((text) => text.includes('paperless.dev.lab.example.com/`'))).toContain(
      "; the issuer's certificate is signed by the platform's private CA: trust key `ca.crt` of the Secret `platform-ca` (cert-manager makes it in the namespace)",
    );
    expect(body.find((text) => text.includes('spa.dev.lab.example.com/`'))).not.toContain('ca.crt');
    // Without a private CA (public roots), no Certificate.
    const publicRoots = run(apps, [gateway, provider, testCertificates({ privateCa: false })]);
    expect(Object.values(chartOf(publicRoots).clusters.dev.manifests)).toEqual([]);
    // The CA's Secret name is the platform's in that namespace.
    expect(
      errors(
        run({ paperless: { ...apps.paperless, secrets: { 'platform-ca': { keys: ['x'] } } } }, [
          gateway,
          provider,
          testCertificates({ privateCa: true }),
        ]),
      ).map(([code, path]) => [code, path]),
    ).toEqual([
      [
        'applications-secret',
        'clusters[0].components.applications.apps.paperless.secrets.platform-ca',
      ],
    ]);
    // Let's Encrypt's staging: the pods' calls to the issuer fail, a warning at the login.
    const staging = run(apps, [
      gateway,
      provider,
      testCertificates({ privateCa: false, untrusted: true }),
    ]);
    expect(
      staging.components.issues
        .filter((issue) => issue.code === 'applications-oidc-untrusted')
        .map((issue) => [formatPath(issue.path), issue.message]),
    ).toEqual(
      [0, 1, 2].map((cluster) => [
        `clusters[${cluster}].components.applications.apps.paperless.routes[0].oidc`,
        `paperless calls the OIDC issuer https://auth.${['dev', 'staging', 'prod'][cluster]}.lab.example.com from its pods, but the issuer's certificate on cluster "${['dev', 'staging', 'prod'][cluster]}" chains to a root no trust store holds (Let's Encrypt's staging directory): the application refuses it, so its login fails`,
      ]),
    );
  });

  test('two logins of an application may keep their secrets in one Secret, under two keys; one key twice is refused', () => {
    const shared = (key: string) => ({ secretName: 'sso', key });
    const dev = declared(
      run({
        a: {
          routes: [
            route({ redirectPaths: ['/cb'], clientSecret: shared('web') }, { host: 'a' }),
            route({ redirectPaths: ['/cb'], clientSecret: shared('admin') }, { host: 'b' }),
          ],
        },
      }),
      0,
    );
    expect(dev.secrets.map((secret: AnyJson) => [secret.name, secret.keys])).toEqual([
      ['sso', ['web', 'admin']],
    ]);
    expect(
      errors(
        run({
          a: {
            routes: [
              route({ redirectPaths: ['/cb'], clientSecret: shared('web') }, { host: 'a' }),
              route({ redirectPaths: ['/cb'], clientSecret: shared('web') }, { host: 'b' }),
            ],
          },
        }),
      ),
    ).toEqual([
      [
        'applications-secret',
        'clusters[0].components.applications.apps.a.routes[1].oidc.clientSecret',
        "keeps OIDC client b's secret in key web of the Secret a/sso, where client a keeps its own",
      ],
    ]);
  });

  test('a public client names no token endpoint method', () => {
    expect(
      errors(
        run({
          a: {
            routes: [
              route(
                {
                  redirectPaths: ['/'],
                  public: true,
                  tokenEndpointAuthMethod: 'client_secret_post',
                },
                { host: 'a' },
              ),
            ],
          },
        }),
      ),
    ).toEqual([
      [
        'applications-route',
        'clusters[0].components.applications.apps.a.routes[0].oidc.tokenEndpointAuthMethod',
        'names how a public client sends its secret, but it has none (it proves itself with PKCE)',
      ],
    ]);
  });
});
