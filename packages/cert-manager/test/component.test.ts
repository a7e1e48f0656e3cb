// The cert-manager component on the contract: what it declares per cluster (Application, facts,
// Secrets, runbook steps), the chart it renders (layers, issuer objects) and its issues.
import { formatIssue } from '@homelab/core';
import { testDefinition, testReferenceClusters, testRun } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { hostPortPeer } from '../src/flows.js';
import { certManagerComponent } from '../src/index.js';
import {
  type AnyJson,
  acme,
  must,
  NETWORK,
  OPEN_NETWORK,
  runCertManager,
  SECRETS,
} from './helpers.js';

const PUBLIC = { name: 'homelab', domain: 'homelab.dev' };

function withIssuer(issuer: AnyJson, platform = PUBLIC): AnyJson {
  return testDefinition(testReferenceClusters(), {
    platform,
    components: { 'cert-manager': { issuer } },
  });
}

describe('the Application', () => {
  const { declared, issues } = runCertManager(testDefinition(testReferenceClusters()));

  test('runs in its own restricted namespace with server-side apply, installing the cert-manager kinds', () => {
    expect(issues).toEqual([]);
    const app = must(declared.dev?.application, 'dev application');
    expect(app).toMatchObject({
      chart: 'cert-manager',
      namespace: 'cert-manager',
      podSecurity: 'restricted',
      serverSideApply: true,
      critical: false,
    });
    expect(app.installs?.map((kind) => `${kind.group}/${kind.kind}`)).toEqual([
      'cert-manager.io/Certificate',
      'cert-manager.io/CertificateRequest',
      'cert-manager.io/ClusterIssuer',
      'cert-manager.io/Issuer',
      'acme.cert-manager.io/Challenge',
      'acme.cert-manager.io/Order',
    ]);
    expect(app.clusterResources.map((kind) => `${kind.group}/${kind.kind}`)).toEqual([
      'admissionregistration.k8s.io/MutatingWebhookConfiguration',
      'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
      'apiextensions.k8s.io/CustomResourceDefinition',
      'cert-manager.io/ClusterIssuer',
      'rbac.authorization.k8s.io/ClusterRole',
      'rbac.authorization.k8s.io/ClusterRoleBinding',
    ]);
  });
});

describe('a private CA (the default issuer)', () => {
  const { declared, rendered, chart, issues } = runCertManager(
    testDefinition(testReferenceClusters()),
  );

  test('is the certificates provider: every cluster publishes the private-ca ClusterIssuer', () => {
    expect(issues).toEqual([]);
    for (const name of ['dev', 'staging', 'prod']) {
      expect(declared[name]?.facts?.certificates).toEqual({
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'private-ca' },
        privateCa: true,
      });
    }
  });

  test('is a self-signed root and a CA issuer over it, applied in that order after the CRDs', () => {
    const objects = must(rendered.staging, 'staging').objects;
    expect(objects.map((o) => [o.kind, o.metadata.name, o.metadata.annotations])).toEqual([
      [
        'Certificate',
        'private-root-ca',
        {
          'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
          'argocd.argoproj.io/sync-wave': '2',
        },
      ],
      [
        'ClusterIssuer',
        'private-ca',
        {
          'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
          'argocd.argoproj.io/sync-wave': '3',
        },
      ],
      [
        'ClusterIssuer',
        'selfsigned-bootstrap',
        {
          'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
          'argocd.argoproj.io/sync-wave': '1',
        },
      ],
    ]);
    const [root, ca, selfSigned] = objects as AnyJson[];
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    expect(root.metadata.namespace).toBe('cert-manager');
    expect(root.spec).toEqual({
      isCA: true,
      commonName: 'homelab staging root CA',
      subject: { organizations: ['homelab'] },
      secretName: 'private-root-ca',
      duration: '87600h',
      renewBefore: '2160h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'selfsigned-bootstrap' },
    });
    expect(ca.spec).toEqual({ ca: { secretName: 'private-root-ca' } });
    expect(chart.values['cert-manager']).toMatchObject({ crds: { enabled: true, keep: true } });
  });

  test('takes its organization and lifetime from the definition', () => {
    const { rendered: custom } = runCertManager(
      withIssuer({
        type: 'private-ca',
        privateCa: { organization: 'Lab Ops', validityHours: 43800 },
      }),
    );
    const root = must(custom.dev, 'dev').objects.find((o) => o.kind === 'Certificate') as AnyJson;
    expect(root.spec.subject).toEqual({ organizations: ['Lab Ops'] });
    expect(root.spec.duration).toBe('43800h');
    expect(root.spec.commonName).toBe('homelab dev root CA');
  });

  test('renews the root ahead of every leaf renewal, and below its lifetime at the shortest the schema allows', () => {
    // cert-manager writes a certificate's ca.crt only when it issues it; leaves of the CA renew
    // every 60 days with cert-manager's defaults (90 days, at two thirds): the root renews 90
    // days ahead so that each ca.crt copy (Argo CD's rootCA, Grafana's tls_client_ca) follows.
    const { rendered: shortest, issues: shortestIssues } = runCertManager(
      withIssuer({ type: 'private-ca', privateCa: { validityHours: 4320 } }),
    );
    expect(shortestIssues).toEqual([]);
    const root = must(shortest.dev, 'dev').objects.find((o) => o.kind === 'Certificate') as AnyJson;
    expect([root.spec.duration, root.spec.renewBefore]).toEqual(['4320h', '2160h']);
    const hours = (value: string): number => Number(value.replace(/h$/, ''));
    // cert-manager's webhook refuses renewBefore >= duration (validation/certificate.go).
    expect(hours(root.spec.renewBefore)).toBeLessThan(hours(root.spec.duration));
    expect(hours(root.spec.renewBefore)).toBeGreaterThan(2160 - 2160 / 3);
  });

  test('refuses a root lifetime the root could not renew within (720h was refused by the webhook)', () => {
    expect(() =>
      runCertManager(withIssuer({ type: 'private-ca', privateCa: { validityHours: 720 } })),
    ).toThrow(/validityHours.*4320/s);
  });

  test('keeps the root common name within the 64 characters cert-manager accepts', () => {
    const platform = {
      name: 'a-rather-long-platform-name-for-the-family-homelab',
      domain: 'x.dev',
    };
    const clusters = testReferenceClusters().map((cluster, index) =>
      index === 0
        ? { ...cluster, name: 'home-production-cluster-one-in-the-basement-rack-behind-the-tv' }
        : cluster,
    );
    const { rendered: long, issues: longIssues } = runCertManager(
      testDefinition(clusters, { platform }),
    );
    expect(longIssues).toEqual([]);
    const names = Object.values(long).map(
      (chart) => (chart.objects.find((o) => o.kind === 'Certificate') as AnyJson).spec.commonName,
    );
    // Too long with the platform's name (the organization names it): the cluster's alone.
    expect(names).toEqual([
      // A cluster name too long even alone is cut to fit.
      'home-production-cluster-one-in-the-basement-rack-behind root CA',
      'staging root CA',
      'a-rather-long-platform-name-for-the-family-homelab prod root CA',
    ]);
    const { rendered: short } = runCertManager(
      testDefinition(clusters, { platform: { name: 'home', domain: 'x.dev' } }),
    );
    expect(
      Object.values(short).map(
        (chart) => (chart.objects.find((o) => o.kind === 'Certificate') as AnyJson).spec.commonName,
      ),
    ).toEqual([
      'home-production-cluster-one-in-the-basement-rack-behind root CA',
      'home staging root CA',
      'home prod root CA',
    ]);
  });

  test('has the runbook extract and check the root after the hand-over, with the cluster in the file name', () => {
    const steps = must(declared.prod?.bootstrap, 'prod steps');
    expect(steps.map((step) => [step.title, step.when])).toEqual([
      ["Trust the cluster's private CA", 'after-handover'],
      ["trust the private CA's renewed root before the old one expires", 'later'],
    ]);
    // Right after the hand-over neither the CRD nor the Certificate exists: a plain
    // `wait --for=condition` would fail at once, so the step waits for both to be created.
    expect(steps[0]?.commands.slice(0, 6)).toEqual([
      'kubectl wait --for=create crd/certificates.cert-manager.io --timeout=30m',
      'kubectl wait --for=condition=Established crd/certificates.cert-manager.io --timeout=5m',
      'kubectl -n cert-manager wait --for=create certificate/private-root-ca --timeout=30m',
      'kubectl -n cert-manager wait --for=condition=Ready certificate/private-root-ca --timeout=10m',
      "kubectl -n cert-manager get secret private-root-ca -o jsonpath='{.data.ca\\.crt}' | base64 -d > homelab-prod-root-ca.crt",
      'openssl x509 -in homelab-prod-root-ca.crt -noout -subject -enddate -fingerprint -sha256',
    ]);
    expect(steps[0]?.body.join(' ')).toContain('`*.lab.example.com`');
    // The system store covers curl, the argocd CLI, Safari and Chrome on macOS, Edge and Chrome
    // on Windows; Firefox and Chrome on Linux keep their own.
    // After the block, as Markdown (no `#` comment in a block: zsh runs `#` as a command).
    expect(steps[0]?.commands).toHaveLength(6);
    expect(steps[0]?.after).toEqual([
      'Then trust it on every machine that opens the platform, e.g.:',
      '',
      '- Debian/Ubuntu: `sudo cp homelab-prod-root-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates`',
      '- macOS: `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain homelab-prod-root-ca.crt`',
      '- Windows (Edge and Chrome read this store), in a Command Prompt run as administrator: `certutil -addstore Root homelab-prod-root-ca.crt`',
      '- Firefox keeps its own store: Settings → Certificates → Import.',
      '- Chrome and Chromium on Linux read their NSS store, not the system one (`libnss3-tools`):',
      "  `certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n 'homelab prod root CA' -i homelab-prod-root-ca.crt`",
    ]);
  });

  test('tells the operators when the root renews and how to see it did, so that their machines trust the new one before the old one expires', () => {
    const renewal = must(declared.prod?.bootstrap?.[1], 'the renewal step');
    // When: cert-manager's renewal time and the root's end, as the cluster has them; whether:
    // the fingerprint of the root the operator trusts against the one in the cluster.
    expect(renewal.commands).toEqual([
      `kubectl -n cert-manager get certificate private-root-ca -o jsonpath='renews: {.status.renewalTime}{"\\n"}expires: {.status.notAfter}{"\\n"}'`,
      'openssl x509 -in homelab-prod-root-ca.crt -noout -enddate -fingerprint -sha256',
      "kubectl -n cert-manager get secret private-root-ca -o jsonpath='{.data.ca\\.crt}' | base64 -d | openssl x509 -noout -enddate -fingerprint -sha256",
      "kubectl -n cert-manager get secret private-root-ca -o jsonpath='{.data.ca\\.crt}' | base64 -d > homelab-prod-root-ca.crt",
      'openssl x509 -in homelab-prod-root-ca.crt -noout -subject -enddate -fingerprint -sha256',
    ]);
    const body = renewal.body.join(' ');
    // The root's own renewal settings, as the Certificate has them.
    const root = (must(rendered.prod, 'prod').objects as AnyJson[]).find(
      (object) => object.metadata.name === 'private-root-ca',
    );
    expect(root.spec.renewBefore).toBe('2160h');
    expect(root.spec.privateKey.rotationPolicy).toBe('Never');
    expect(body).toContain('renews it 90 days before it expires (`renewBefore: 2160h`)');
    expect(body).toContain('with the same key (`rotationPolicy: Never`)');
    expect(body).toContain('is valid 87600 hours');
  });

  test('needs no Secret', () => {
    expect(declared.dev?.secrets).toBeUndefined();
    expect(declared.dev?.bootstrapSecrets).toBeUndefined();
  });
});

describe('an ACME issuer', () => {
  test("talks to Let's Encrypt staging by default, through the cloudflare solver, with a declared Secret", () => {
    const { declared, rendered, issues } = runCertManager(withIssuer(acme('cloudflare')), [
      SECRETS,
    ]);
    // Without recursive nameservers the self-check asks the zone's authoritative nameservers,
    // Cloudflare's, which no flow names: one error per cluster (the CNI stand-in enforces
    // network policies)
    expect(issues.map((issue) => [issue.severity, issue.code, issue.path])).toEqual(
      [0, 1, 2].map((index) => [
        'error',
        'cert-manager-self-check',
        ['clusters', index, 'components', 'cert-manager', 'issuer', 'acme'],
      ]),
    );
    expect(issues[0]?.message).toContain(
      "(the nameservers of a Cloudflare zone are the provider's)",
    );
    // It is about a missing key: no value in front of the message (the ACME server was shown)
    expect(issues[0] && formatIssue(issues[0])).toMatch(
      /^clusters\[0\]\.components\.cert-manager\.issuer\.acme: the DNS-01 self-check asks/,
    );
    expect(declared.dev?.facts?.certificates?.issuerRef.name).toBe('letsencrypt-staging');
    expect(declared.dev?.facts?.certificates?.privateCa).toBe(false);
    // no trust store holds the staging root: its consumers cannot log in through it
    expect(declared.dev?.facts?.certificates?.untrusted).toBe(true);
    expect(declared.dev?.secrets).toEqual([
      {
        name: 'cloudflare',
        namespace: 'cert-manager',
        keys: ['api-token'],
        // A token with DNS:Edit alone cannot look the zone up by name (GET /zones?name=).
        description:
          'credentials of the cloudflare DNS-01 solver (ACME DNS-01 challenges): a Cloudflare API token with the permissions Zone:DNS:Edit and Zone:Zone:Read on all zones (cert-manager looks the zone up by name)',
        // The controller reads it at each challenge: a new token needs no restart.
        readers: [
          {
            kind: 'Deployment',
            name: 'cert-manager',
            reads: 'use',
            how: 'the issuer\u2019s credential Secret, which the controller reads at each ACME challenge',
          },
        ],
      },
    ]);
    expect(declared.dev?.bootstrapSecrets).toBeUndefined();
    expect(must(rendered.dev, 'dev').objects).toEqual([
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'ClusterIssuer',
        metadata: {
          name: 'letsencrypt-staging',
          annotations: {
            'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
            'argocd.argoproj.io/sync-wave': '1',
          },
        },
        spec: {
          acme: {
            server: 'https://acme-staging-v02.api.letsencrypt.org/directory',
            email: 'ops@homelab.dev',
            privateKeySecretRef: { name: 'letsencrypt-staging-account-key' },
            solvers: [
              {
                dns01: {
                  cloudflare: { apiTokenSecretRef: { name: 'cloudflare', key: 'api-token' } },
                },
              },
            ],
          },
        },
      },
    ]);
    expect(declared.dev?.bootstrap?.map((step) => [step.title, step.when])).toEqual([
      ['Check the ACME issuer', 'after-handover'],
    ]);
    // The ClusterIssuer and its CRD arrive with cert-manager's sync, after the hand-over.
    expect(declared.dev?.bootstrap?.[0]?.commands.slice(0, 4)).toEqual([
      'kubectl wait --for=create crd/clusterissuers.cert-manager.io --timeout=30m',
      'kubectl wait --for=condition=Established crd/clusterissuers.cert-manager.io --timeout=5m',
      'kubectl wait --for=create clusterissuer/letsencrypt-staging --timeout=30m',
      'kubectl wait --for=condition=Ready clusterissuer/letsencrypt-staging --timeout=10m',
    ]);
  });

  test("warns in the runbook of Let's Encrypt's production limits, which a rebuilt cluster meets, and not on staging", () => {
    const production = runCertManager(withIssuer(acme('route53', 'production'))).declared.prod;
    const body = must(production?.bootstrap?.[0], 'step').body.join(' ');
    expect(body).toContain('at most 5 certificates for the same set of names per 7 days');
    expect(body).toContain('5 failed validations per name per hour');
    expect(body).toContain('`issuer.acme.server: staging` first');
    const staging = runCertManager(withIssuer(acme('route53', 'staging'))).declared.prod;
    const stagingBody = must(staging?.bootstrap?.[0], 'step').body.join(' ');
    expect(stagingBody).not.toContain('per 7 days');
    expect(stagingBody).toContain("Let's Encrypt's staging directory");
  });

  test('has the runbook make the Secret by hand when no secrets provider runs, reading values from the terminal', () => {
    const { declared } = runCertManager(withIssuer(acme('route53', 'production')));
    // the production directory's certificates chain to a public root
    expect(declared.prod?.facts?.certificates?.untrusted).toBeUndefined();
    expect(declared.prod?.secrets).toBeUndefined();
    expect(declared.prod?.bootstrapSecrets).toEqual([
      {
        name: 'aws',
        namespace: 'cert-manager',
        keys: ['access-key-id', 'secret-access-key'],
        description:
          'credentials of the route53 DNS-01 solver (ACME DNS-01 challenges): the access key of an IAM user allowed route53:GetChange, route53:ChangeResourceRecordSets, route53:ListResourceRecordSets and route53:ListHostedZonesByName',
        // each value a prompt of its own (the runbook gives each a block, before the commands)
        reads: [
          { variable: 'AWS_ACCESS_KEY_ID', prompt: 'aws/access-key-id' },
          { variable: 'AWS_SECRET_ACCESS_KEY', prompt: 'aws/secret-access-key' },
        ],
        commands: [
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
          ': "${AWS_ACCESS_KEY_ID:?empty: read it again}" &&',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
          ': "${AWS_SECRET_ACCESS_KEY:?empty: read it again}" &&',
          'kubectl -n cert-manager create secret generic aws \\',
          // the values reach kubectl through pipes, never as its arguments (`ps` shows those)
          `  --from-file=access-key-id=<(printf '%s' "$AWS_ACCESS_KEY_ID") \\`,
          `  --from-file=secret-access-key=<(printf '%s' "$AWS_SECRET_ACCESS_KEY") \\`,
          '  --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f -',
        ],
      },
    ]);
  });

  test('configures route53 and rfc2136 solvers and the production directory', () => {
    const route53 = runCertManager(withIssuer(acme('route53', 'production')));
    const issuer = must(route53.rendered.dev, 'dev').objects[0] as AnyJson;
    expect(issuer.metadata.name).toBe('letsencrypt-production');
    expect(issuer.spec.acme.server).toBe('https://acme-v02.api.letsencrypt.org/directory');
    expect(issuer.spec.acme.solvers).toEqual([
      {
        dns01: {
          route53: {
            region: 'eu-west-1',
            hostedZoneID: 'Z0123456789ABC',
            accessKeyIDSecretRef: { name: 'aws', key: 'access-key-id' },
            secretAccessKeySecretRef: { name: 'aws', key: 'secret-access-key' },
          },
        },
      },
    ]);
    const rfc2136 = runCertManager(withIssuer(acme('rfc2136')));
    expect((must(rfc2136.rendered.dev, 'dev').objects[0] as AnyJson).spec.acme.solvers).toEqual([
      {
        dns01: {
          rfc2136: {
            nameserver: '10.0.0.53:53',
            tsigKeyName: 'homelab-acme',
            tsigAlgorithm: 'HMACSHA512',
            tsigSecretSecretRef: { name: 'tsig', key: 'secret' },
          },
        },
      },
    ]);
  });

  test("refuses a Cloudflare or Route 53 issuer without recursiveNameservers under default deny, warns for RFC 2136 (its server may be the zone's), says nothing without default deny", () => {
    const severities = (issuer: AnyJson, network = NETWORK) =>
      runCertManager(withIssuer(issuer), [SECRETS], network)
        .issues.filter((issue) => issue.code === 'cert-manager-self-check')
        .map((issue) => issue.severity);
    expect(severities(acme('cloudflare'))).toEqual(['error', 'error', 'error']);
    expect(severities(acme('route53'))).toEqual(['error', 'error', 'error']);
    expect(severities(acme('rfc2136'))).toEqual(['warning', 'warning', 'warning']);
    expect(severities(acme('cloudflare', undefined, ['1.1.1.1:53']))).toEqual([]);
    expect(severities(acme('cloudflare'), OPEN_NETWORK)).toEqual([]);
  });

  test('checks the challenge through the DNS servers the definition names', () => {
    const issuer = acme('cloudflare');
    issuer.acme.recursiveNameservers = ['1.1.1.1:53', '9.9.9.9:53'];
    const { rendered } = runCertManager(withIssuer(issuer), [SECRETS]);
    expect(must(rendered.dev, 'dev').values['cert-manager']).toMatchObject({
      dns01RecursiveNameservers: '1.1.1.1:53,9.9.9.9:53',
      dns01RecursiveNameserversOnly: true,
    });
  });
});

describe('a LAN resolver among the recursive nameservers', () => {
  const lan = (issuer: AnyJson) =>
    runCertManager(withIssuer(issuer), [SECRETS])
      .issues.filter((issue) => issue.code === 'cert-manager-lan-resolver')
      .map((issue) => [issue.severity, issue.path.slice(0, 2), issue.path.slice(3), issue.value]);

  test('warns at each private address outside the cluster, on every cluster', () => {
    // The tenth address of dev's service network (CoreDNS's Service: the self-check's concern)
    const services = runCertManager(withIssuer(acme('cloudflare')), [SECRETS]).components
      .clusters[0]?.cluster.network.serviceCidr as string;
    const coredns = services.replace(/\.0\/\d+$/, '.10');
    // A router, a public resolver, CoreDNS, a ULA resolver
    const issuer = acme('cloudflare', undefined, [
      '192.168.1.1:53',
      '1.1.1.1:53',
      `${coredns}:53`,
      '[fd00::53]:53',
    ]);
    const found = lan(issuer);
    const dev = found.filter(([, at]) => (at as unknown[])[1] === 0);
    expect(dev).toEqual([
      [
        'warning',
        ['clusters', 0],
        ['cert-manager', 'issuer', 'acme', 'recursiveNameservers', 0],
        '192.168.1.1:53',
      ],
      [
        'warning',
        ['clusters', 0],
        ['cert-manager', 'issuer', 'acme', 'recursiveNameservers', 3],
        '[fd00::53]:53',
      ],
    ]);
    // the others' service networks are their own: CoreDNS's address of dev is a LAN one there
    expect(found.length).toBeGreaterThanOrEqual(6);
    const [first] = runCertManager(withIssuer(issuer), [SECRETS]).issues.filter(
      (issue) => issue.code === 'cert-manager-lan-resolver',
    );
    expect(first?.message).toMatch(
      /^is a private address, a resolver of your network: cert-manager asks only the recursive nameservers .* answers the TXT query empty without forwarding it/,
    );
  });

  test('leaves alone the RFC 2136 server the records are written to, and public resolvers', () => {
    expect(lan(acme('rfc2136', undefined, ['10.0.0.53:53']))).toEqual([]);
    // The same server spelt otherwise (IPv6), or named: no warning either
    const v6 = acme('rfc2136', undefined, ['[fd00:0::53]:53']);
    v6.acme.dns01.rfc2136.nameserver = '[fd00::53]:53';
    expect(lan(v6)).toEqual([]);
    const named = acme('rfc2136', undefined, ['10.0.0.53:53']);
    named.acme.dns01.rfc2136.nameserver = 'ns.lab.example.com:53';
    expect(lan(named)).toEqual([]);
    expect(lan(acme('cloudflare', undefined, ['1.1.1.1:53', '[2606:4700:4700::1111]:53']))).toEqual(
      [],
    );
  });
});

describe('issues', () => {
  const at = (...rest: (string | number)[]) => [
    'clusters',
    0,
    'components',
    'cert-manager',
    ...rest,
  ];

  test('a nameserver with a port outside 1–65535 or an address that is none is refused where it is written, and gets no flow', () => {
    // Given self-check resolvers and an RFC 2136 server the schema's patterns let through
    const issuer = acme('rfc2136', undefined, [
      '1.1.1.1:0',
      '999.1.1.1:53',
      '[1::2::3]:53',
      '9.9.9.9:53',
    ]);
    issuer.acme.dns01.rfc2136.nameserver = '10.0.0.53:70000';
    const definition = withIssuer(issuer);
    // Then each is an error at its own field, naming what is wrong in it
    const issues = issuesOf(definition).filter(
      (i) => i.code === 'cert-manager-nameserver' && i.path[1] === 0,
    );
    expect(issues.map((i) => [i.path, i.value, i.message, i.expected])).toEqual([
      [
        at('issuer', 'acme', 'dns01', 'rfc2136', 'nameserver'),
        '10.0.0.53:70000',
        'has port 70000, which is not a port number 1–65535',
        "a DNS server's port from 1 to 65535, usually 53, e.g. 1.1.1.1:53",
      ],
      [
        at('issuer', 'acme', 'recursiveNameservers', 0),
        '1.1.1.1:0',
        'has port 0, which is not a port number 1–65535',
        "a DNS server's port from 1 to 65535, usually 53, e.g. 1.1.1.1:53",
      ],
      [
        at('issuer', 'acme', 'recursiveNameservers', 1),
        '999.1.1.1:53',
        'has "999.1.1.1", which is not a valid IPv4 address',
        'an IPv4 address of four numbers 0–255, e.g. 1.1.1.1:53',
      ],
      [
        at('issuer', 'acme', 'recursiveNameservers', 2),
        '[1::2::3]:53',
        'has "1::2::3", which is not a valid IPv6 address',
        'an IPv6 address in brackets, e.g. [2606:4700:4700::1111]:53',
      ],
    ]);
    // And only the valid resolver has a flow (a refused one would repeat the error at the component)
    const { declared } = runCertManager(definition, [SECRETS]);
    const dns = (declared.dev?.flows ?? []).filter(
      (flow) => flow.name.startsWith('controller-self-check') || flow.name === 'controller-rfc2136',
    );
    expect(dns.map((flow) => [flow.name, flow.peer])).toEqual([
      ['controller-self-check-4', { kind: 'cidr', cidr: '9.9.9.9/32' }],
    ]);
  });

  test('an ACME issuer for a domain Let’s Encrypt never issues for is refused', () => {
    const issues = issuesOf(
      withIssuer(acme('cloudflare'), { name: 'homelab', domain: 'lab.example.com' }),
    );
    expect(issues.filter((i) => i.code === 'cert-manager-acme-domain')[0]).toMatchObject({
      severity: 'error',
      path: at('issuer', 'type'),
      value: 'dev.lab.example.com',
      message:
        "asks Let's Encrypt for *.dev.lab.example.com, which it never issues for (example.com is reserved for documentation (RFC 2606))",
    });
  });

  test.each([
    ['lab.home', '.home is not a public domain'],
    ['lab.corp', '.corp is not a public domain'],
    ['lab.localdomain', '.localdomain is not a public domain'],
    ['lab.home.arpa', '.home.arpa is not a public domain'],
  ])('an ACME issuer for %s, which ends in no ICANN public suffix, is refused', (domain, why) => {
    // Given a platform domain outside public DNS (Boulder wants an ICANN suffix of the PSL)
    const issues = issuesOf(withIssuer(acme('cloudflare'), { name: 'homelab', domain }));
    // Then each cluster's issuer is refused at its type, naming the suffix
    const refused = issues.filter((i) => i.code === 'cert-manager-acme-domain');
    expect(refused.map((i) => [i.path, i.value, i.message])).toEqual(
      // (production's cluster domain is the platform domain itself)
      [`dev.${domain}`, `staging.${domain}`, domain].map((name, index) => [
        ['clusters', index, 'components', 'cert-manager', 'issuer', 'type'],
        name,
        `asks Let's Encrypt for *.${name}, which it never issues for (${why})`,
      ]),
    );
  });

  test('an ACME issuer for a domain under a public suffix of more than one label is taken', () => {
    for (const domain of ['lab.mydomain.net', 'lab.mydomain.co.uk']) {
      const issues = issuesOf(withIssuer(acme('cloudflare'), { name: 'homelab', domain }));
      expect(issues.filter((i) => i.code === 'cert-manager-acme-domain')).toEqual([]);
    }
  });

  test.each([
    ['ops@nas.home', 'whose domain does not end in a public suffix (.home)'],
    ['ops@it.corp', 'whose domain does not end in a public suffix (.corp)'],
    ['ops@host.localdomain', 'whose domain does not end in a public suffix (.localdomain)'],
    ['ops@co.uk', 'whose domain is a public suffix itself (co.uk)'],
  ])('a contact address outside public DNS (%s) is an error at the email', (email, why) => {
    const issuer = acme('cloudflare');
    issuer.acme.email = email;
    const issues = issuesOf(withIssuer(issuer)).filter((i) => i.code === 'cert-manager-acme-email');
    expect(issues.map((i) => [i.path, i.value, i.message])).toEqual(
      [0, 1, 2].map((index) => [
        ['clusters', index, 'components', 'cert-manager', 'issuer', 'acme', 'email'],
        email,
        `is the ACME account's contact, and Let's Encrypt refuses a contact address ${why}: the account is never registered and cert-manager does not retry, so no certificate is issued`,
      ]),
    );
  });

  test.each([
    ['ops@example.org', 'at example.org ("contact email has forbidden domain")'],
    ['ops@EXAMPLE.com', 'at example.com ("contact email has forbidden domain")'],
    ['ops@nas.lan', 'whose domain does not end in a public suffix (.lan)'],
  ])('a contact address Let’s Encrypt refuses (%s) is an error at the email', (email, why) => {
    const issuer = acme('cloudflare');
    issuer.acme.email = email;
    const issues = issuesOf(withIssuer(issuer)).filter((i) => i.code === 'cert-manager-acme-email');
    // One per cluster (each resolves its own settings), at its place in the definition.
    expect(issues.map((i) => i.path[1])).toEqual([0, 1, 2]);
    expect(issues[0]).toEqual(
      expect.objectContaining({
        severity: 'error',
        path: at('issuer', 'acme', 'email'),
        value: email,
        message: `is the ACME account's contact, and Let's Encrypt refuses a contact address ${why}: the account is never registered and cert-manager does not retry, so no certificate is issued`,
      }),
    );
  });

  test.each([
    [
      'XQ\'$(id)`id`<>,"x@mydomain.net',
      'is not one email address: "(" at character 5 cannot be in one',
    ],
    ['Ops<ops>@mydomain.net', 'is not one email address: "<" at character 4 cannot be in one'],
    ['ops,evil@attacker.com', '"," at character 4'],
    ['"ops"@mydomain.net', 'has a quoted local part'],
  ])('a contact that is not one plain address (%s) is an error at the email', (email, why) => {
    const issuer = acme('cloudflare');
    issuer.acme.email = email;
    const issues = issuesOf(withIssuer(issuer)).filter((i) => i.code === 'cert-manager-acme-email');
    expect(issues.map((i) => i.path[1])).toEqual([0, 1, 2]);
    expect(issues[0]).toEqual(
      expect.objectContaining({
        severity: 'error',
        path: at('issuer', 'acme', 'email'),
        value: email,
        message: expect.stringContaining(why),
        expected:
          'one address, local-part@domain, without a display name or <angle brackets>, e.g. ops@mydomain.net',
      }),
    );
    expect(issues[0]?.message).toMatch(
      /: it is the ACME account's contact, which Let's Encrypt refuses unless it is one plain address, so the account is never registered and no certificate is issued$/,
    );
  });

  test('a contact address below example.com, or at the platform’s own domain, is taken', () => {
    for (const email of ['ops@mail.example.com', 'ops@homelab.dev', 'ops@lab.mydomain.co.uk']) {
      const issuer = acme('cloudflare');
      issuer.acme.email = email;
      expect(
        issuesOf(withIssuer(issuer)).filter((i) => i.code === 'cert-manager-acme-email'),
      ).toEqual([]);
    }
  });

  test.each([
    [
      'type acme without an acme section',
      { type: 'acme' },
      at('issuer'),
      'has type acme but no acme section',
    ],
    [
      'a provider without its section',
      { type: 'acme', acme: { email: 'a@homelab.dev', dns01: { provider: 'cloudflare' } } },
      at('issuer', 'acme', 'dns01'),
      'names provider cloudflare but has no cloudflare section',
    ],
    [
      'a section of another provider',
      {
        type: 'acme',
        acme: {
          email: 'a@homelab.dev',
          dns01: {
            provider: 'cloudflare',
            cloudflare: { apiToken: { secretName: 'cf', key: 'token' } },
            route53: acme('route53').acme.dns01.route53,
          },
        },
      },
      at('issuer', 'acme', 'dns01', 'route53'),
      'is set but the DNS provider is cloudflare',
    ],
    [
      'an acme section on a private CA',
      { type: 'private-ca', acme: acme('cloudflare').acme },
      at('issuer', 'acme'),
      'is set but the issuer type is private-ca',
    ],
    [
      'a privateCa section on an ACME issuer',
      { ...acme('cloudflare'), privateCa: { organization: 'x' } },
      at('issuer', 'privateCa'),
      'is set but the issuer type is acme',
    ],
  ])('%s is an error at the place it is written', (_, issuer, path, message) => {
    const found = issuesOf(withIssuer(issuer)).filter((i) => i.code === 'cert-manager-issuer');
    expect(found.map((i) => [i.severity, i.path, i.message])).toContainEqual([
      'error',
      path,
      message,
    ]);
  });
});

/** The issues of a component run (the definition is valid; the component finds the problems). */
function issuesOf(definition: AnyJson) {
  return testRun(definition, [certManagerComponent, NETWORK, SECRETS]).components.issues;
}

describe('environment profiles', () => {
  const { chart, rendered } = runCertManager(testDefinition(testReferenceClusters()));

  test('scale replicas, disruption budgets, requests and memory limits per environment', () => {
    const env = (name: 'development' | 'staging' | 'production') =>
      (chart.environments[name] as AnyJson)['cert-manager'];
    expect(env('development')).toEqual({
      replicaCount: 1,
      resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      webhook: {
        replicaCount: 1,
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
      },
      cainjector: {
        replicaCount: 1,
        resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      },
    });
    for (const name of ['staging', 'production'] as const) {
      for (const workload of [env(name), env(name).webhook, env(name).cainjector]) {
        expect(workload.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
        expect(workload.resources.limits.memory).toMatch(/^\d+Mi$/);
      }
    }
    expect(env('production').replicaCount).toBe(3);
    expect(env('staging').webhook.replicaCount).toBe(2);
  });

  test('spread each workload over the nodes by its own pod labels, and leave development alone', () => {
    expect(chart.clusters.dev?.['cert-manager']).toBeUndefined();
    const staging = must(rendered.staging, 'staging').values['cert-manager'] as AnyJson;
    expect(staging.webhook.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        nodeTaintsPolicy: 'Honor',
        labelSelector: {
          matchLabels: {
            'app.kubernetes.io/component': 'webhook',
            'app.kubernetes.io/instance': 'cert-manager',
            'app.kubernetes.io/name': 'webhook',
          },
        },
      },
    ]);
    const prod = must(rendered.prod, 'prod').values['cert-manager'] as AnyJson;
    expect(prod.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect(prod.cainjector.topologySpreadConstraints[0].whenUnsatisfiable).toBe('DoNotSchedule');
  });
});

describe('flows (zero trust)', () => {
  const lines = (issuer: AnyJson | undefined): string[] => {
    const definition =
      issuer === undefined ? testDefinition(testReferenceClusters()) : withIssuer(issuer);
    const { declared } = runCertManager(definition, [SECRETS]);
    return (declared.prod?.flows ?? []).map(
      (flow) =>
        `${flow.name} ${flow.direction} ${flow.selector['app.kubernetes.io/name']} ${JSON.stringify(flow.peer)} ${flow.ports.map((port) => `${port.port}/${port.protocol}`).join(',')}`,
    );
  };

  test('a private CA: the workloads to the API server, the API server to the webhook, Prometheus to the controller', () => {
    // Ports and labels of the chart (v1.21.1): webhook --secure-port=10250, controller
    // http-metrics 9402; pods labelled app.kubernetes.io/name + app.kubernetes.io/component.
    expect(lines(undefined)).toEqual([
      'controller-apiserver egress cert-manager {"kind":"kube-apiserver"} 6443/TCP',
      'cainjector-apiserver egress cainjector {"kind":"kube-apiserver"} 6443/TCP',
      'webhook-apiserver egress webhook {"kind":"kube-apiserver"} 6443/TCP',
      'startupapicheck-apiserver egress startupapicheck {"kind":"kube-apiserver"} 6443/TCP',
      'webhook-admission ingress webhook {"kind":"kube-apiserver"} 10250/TCP',
      'controller-metrics ingress cert-manager {"kind":"capability","capability":"metrics"} 9402/TCP',
    ]);
  });

  test('ACME: the ACME server, the DNS-01 provider API or RFC 2136 server, the recursive nameservers', () => {
    const cloudflare = acme('cloudflare', 'production', ['1.1.1.1:53', '[2606:4700::1111]:53']);
    expect(lines(cloudflare).slice(6)).toEqual([
      'controller-acme egress cert-manager {"kind":"fqdn","name":"acme-v02.api.letsencrypt.org"} 443/TCP',
      'controller-dns01-api egress cert-manager {"kind":"fqdn","name":"api.cloudflare.com"} 443/TCP',
      'controller-self-check-1 egress cert-manager {"kind":"cidr","cidr":"1.1.1.1/32"} 53/UDP,53/TCP',
      'controller-self-check-2 egress cert-manager {"kind":"cidr","cidr":"2606:4700::1111/128"} 53/UDP,53/TCP',
    ]);
    expect(lines(acme('route53', undefined, ['9.9.9.9:53'])).slice(6, 8)).toEqual([
      'controller-acme egress cert-manager {"kind":"fqdn","name":"acme-staging-v02.api.letsencrypt.org"} 443/TCP',
      'controller-dns01-api egress cert-manager {"kind":"fqdn","name":"route53.amazonaws.com"} 443/TCP',
    ]);
    expect(lines(acme('rfc2136', undefined, ['10.0.0.53:53'])).slice(7)).toEqual([
      'controller-rfc2136 egress cert-manager {"kind":"cidr","cidr":"10.0.0.53/32"} 53/UDP,53/TCP',
      'controller-self-check-1 egress cert-manager {"kind":"cidr","cidr":"10.0.0.53/32"} 53/UDP,53/TCP',
    ]);
  });

  test('an RFC 2136 server that is a Service of the cluster is the pods behind it, never a DNS rule', () => {
    expect(hostPortPeer('bind.dns.svc.cluster.local:53')).toEqual({
      peer: { kind: 'service', service: 'bind', namespace: 'dns' },
      port: 53,
    });
    expect(hostPortPeer('bind.dns.svc.lab.internal:5353', 'lab.internal')).toEqual({
      peer: { kind: 'service', service: 'bind', namespace: 'dns' },
      port: 5353,
    });
    expect(hostPortPeer('ns1.example.com:53')).toEqual({
      peer: { kind: 'fqdn', name: 'ns1.example.com' },
      port: 53,
    });
  });
});
