import { createHash } from 'node:crypto';
import { formatIssue, formatPath, type Issue, type Values } from '@homelab/core';
import { testComponent } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import {
  authTokenCheck,
  authTokenNameCheck,
  entryValuesCheck,
  oidcClientSecretCheck,
  ownEntriesCheck,
  productionEntriesCheck,
  secretLabelsCheck,
  secretsMadeCheck,
} from '../src/checks.js';
import { BITWARDEN_SECRET_HEALTH_LUA } from '../src/health.js';
import { TOKEN_SECTION } from '../src/rotation.js';
import {
  consumer,
  ID_A,
  ID_B,
  ID_C,
  type Loose,
  network,
  ORG,
  oidcProvider,
  runBitwarden,
  systemInput,
} from './helpers.js';

const argocd = consumer('argocd', 'argocd', [
  {
    name: 'argocd-oidc',
    namespace: 'argocd',
    keys: ['client-secret'],
    labels: { 'app.kubernetes.io/part-of': 'argocd' },
  },
]);
const INVENTORY = { 'argocd/argocd-oidc': { 'client-secret': ID_A } };

function formatPathOf(issue: Issue): string {
  return formatPath(issue.path);
}

function errors(issues: readonly Issue[]): Issue[] {
  return issues.filter((issue) => issue.severity === 'error');
}

describe('BitwardenSecrets for declared Secrets', () => {
  it("puts one BitwardenSecret per declared Secret in the consumer's chart, in its namespace, with only the mapped keys", () => {
    // Given Argo CD declaring argocd-oidc and the inventory mapping its key (upper-case id)
    const run = runBitwarden(
      { secrets: { 'argocd/argocd-oidc': { 'client-secret': ID_A.toUpperCase() } } },
      [argocd],
    );
    expect(errors(run.issues)).toEqual([]);
    // Then Argo CD's chart holds the BitwardenSecret on every cluster
    for (const cluster of ['dev', 'staging', 'prod']) {
      const secret = run.manifests('argocd', cluster)['bitwardensecret-argocd-oidc'] as Loose;
      expect(secret).toEqual({
        apiVersion: 'k8s.bitwarden.com/v1',
        kind: 'BitwardenSecret',
        metadata: {
          name: 'argocd-oidc',
          namespace: 'argocd',
          labels: { 'app.kubernetes.io/managed-by': 'bitwarden-sm' },
          // Placed in Argo CD's critical Application (Prune=false): pruned with SSO all the
          // same (the object's own option wins, gitops-engine isPruningDisabled), and with it
          // the Secret the operator made (its controller owner reference).
          annotations: { 'argocd.argoproj.io/sync-options': 'Prune=true' },
        },
        spec: {
          organizationId: ORG,
          secretName: 'argocd-oidc',
          // ids in lower case: the operator compares them with the API's ids as strings
          map: [{ bwSecretId: ID_A, secretKeyName: 'client-secret' }],
          authToken: { secretName: 'bw-auth-token', secretKey: 'token' },
          onlyMappedSecrets: true,
        },
      });
    }
  });

  it('also deploys the labelled Secret, empty, when the consumer needs labels (the operator copies none)', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const shell = run.manifests('argocd', 'dev')['secret-argocd-oidc'] as Loose;
    expect(shell.kind).toBe('Secret');
    expect(shell.metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'argocd' });
    expect(shell.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-options': 'Prune=true',
      'homelab.dev/filled-by': 'BitwardenSecret argocd/argocd-oidc',
    });
    expect(shell.data).toBeUndefined();
    expect(shell.stringData).toBeUndefined();
    // and no Secret object for a Secret whose consumer needs no labels
    const plain = consumer('web', 'web', [{ name: 'web-env', namespace: 'web', keys: ['a'] }]);
    const second = runBitwarden({ secrets: { 'web/web-env': { a: ID_B } } }, [plain]);
    expect(Object.keys(second.manifests('web', 'dev'))).toEqual(['bitwardensecret-web-env']);
  });

  it("makes a Secret of each of a component's namespaces, when two share a name (two applications' volume `data`)", () => {
    const apps = testComponent({
      name: 'applications',
      uses: ['secrets'],
      contribution: () => ({
        application: {
          namespace: 'paperless',
          additionalNamespaces: ['wiki'],
          podSecurity: 'restricted',
          clusterResources: [],
        },
        secrets: ['paperless', 'wiki'].map((namespace) => ({
          name: 'data-restic',
          namespace,
          keys: ['RESTIC_PASSWORD'],
        })),
      }),
    });
    const run = runBitwarden(
      {
        secrets: {
          'paperless/data-restic': { RESTIC_PASSWORD: ID_A },
          'wiki/data-restic': { RESTIC_PASSWORD: ID_B },
        },
      },
      [apps],
    );
    expect(run.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const made = Object.values(run.manifests('applications', 'dev')) as Loose[];
    expect(
      made.map((secret) => [
        secret.metadata.namespace,
        secret.metadata.name,
        secret.spec.map[0].bwSecretId,
      ]),
    ).toEqual([
      ['paperless', 'data-restic', ID_A],
      ['wiki', 'data-restic', ID_B],
    ]);
    // The system check: every mapped declared Secret has its BitwardenSecret. Broken on purpose:
    // wiki's dropped, as the one chart entry both once shared left it.
    const input = systemInput(run);
    expect(secretsMadeCheck.check(input)).toEqual([]);
    const broken = {
      ...input,
      clusters: input.clusters.map((cluster) => ({
        ...cluster,
        applications: cluster.applications.map((app) => ({
          ...app,
          objects: app.objects.filter(({ object }) => object.metadata.namespace !== 'wiki'),
        })),
      })),
    };
    expect(
      secretsMadeCheck.check(broken).map((issue) => [issue.path, issue.value, issue.message]),
    ).toEqual(
      ['dev', 'staging', 'prod'].map((cluster, index) => [
        ['clusters', index, 'components', 'applications'],
        'wiki/data-restic',
        `applications reads Secret wiki/data-restic on cluster "${cluster}", which the inventory maps, but no BitwardenSecret in wiki fills it: its pods would wait for it forever`,
      ]),
    );
  });

  it('refuses an unmapped key once, naming the component, the Secret, the key and the lines to add', () => {
    // Given a Secret with two keys, one of them mapped
    const app = consumer('grafana', 'monitoring', [
      { name: 'grafana-admin', namespace: 'monitoring', keys: ['user', 'password'] },
    ]);
    const run = runBitwarden({ secrets: { 'monitoring/grafana-admin': { user: ID_A } } }, [app]);
    const found = errors(run.issues);
    expect(found.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toEqual([
      [
        'bitwarden-unmapped',
        'clusters.0.components.bitwarden-sm.secrets.monitoring/grafana-admin.password',
        'monitoring/grafana-admin:password',
      ],
    ]);
    expect(found[0]?.message).toBe(
      'grafana declares Secret monitoring/grafana-admin with key "password" on clusters "dev", "staging" and "prod", but the inventory maps no Bitwarden secret to it: the Secret would be made without it',
    );
    expect(found[0]?.expected).toBe(
      "these lines under components.bitwarden-sm (or a cluster's own components.bitwarden-sm):\nsecrets:\n  monitoring/grafana-admin:\n    password: <id of the Bitwarden secret holding it>",
    );
  });

  it('asks whether a name is misspelt where the inventory maps the key under a near name nothing asks for', () => {
    // Given a component's secretName one letter off the inventory's Secret
    const app = consumer('monitoring', 'monitoring', [
      { name: 'alertmanager-slak', namespace: 'monitoring', keys: ['webhook-url'] },
    ]);
    const run = runBitwarden(
      {
        secrets: {
          'monitoring/alertmanager-slack': { 'webhook-url': ID_A },
          // another key, and another namespace, are no candidates
          'monitoring/alertmanager-slac': { url: ID_B },
          'other/alertmanager-slak': { 'webhook-url': ID_C },
        },
      },
      [app],
    );
    const found = errors(run.issues);
    expect(found.map((issue) => [issue.code, issue.message, issue.expected])).toEqual([
      [
        'bitwarden-unmapped',
        'monitoring declares Secret monitoring/alertmanager-slak with key "webhook-url" on clusters "dev", "staging" and "prod", but the inventory maps no Bitwarden secret to it: the Secret would be made without it; the inventory maps key "webhook-url" of Secret monitoring/alertmanager-slack, which no component asks for: is one of the two names misspelt?',
        "one name in both places: the Secret name monitoring's settings give (alertmanager-slak), or the inventory's monitoring/alertmanager-slack",
      ],
    ]);
    // At the inventory's mapping of the near name, the line the user wrote (the component's
    // secretName may be its default); that mapping gets no unused warning besides.
    expect(found[0]?.path).toEqual([
      'clusters',
      0,
      'components',
      'bitwarden-sm',
      'secrets',
      'monitoring/alertmanager-slack',
    ]);
    expect(found[0]?.value).toBe('monitoring/alertmanager-slak');
    const unusedKeys = run.issues
      .filter((issue) => issue.code === 'bitwarden-unused')
      .map((issue) => issue.path.slice(-2).join(':'));
    expect(unusedKeys).toEqual([
      'monitoring/alertmanager-slac:url',
      'other/alertmanager-slak:webhook-url',
    ]);
  });

  it('asks once for a Secret whose every key the inventory maps under a near name', () => {
    const app = consumer('monitoring', 'monitoring', [
      { name: 'grafana-admin', namespace: 'monitoring', keys: ['admin-user', 'admin-password'] },
    ]);
    const run = runBitwarden(
      {
        secrets: {
          'monitoring/grafana-admn': { 'admin-password': ID_A, 'admin-user': ID_B },
        },
      },
      [app],
    );
    expect(
      run.issues.map((issue) => [issue.severity, issue.code, issue.path.at(-1), issue.value]),
    ).toEqual([
      ['error', 'bitwarden-unmapped', 'monitoring/grafana-admn', 'monitoring/grafana-admin'],
    ]);
    expect(run.issues[0]?.message).toBe(
      'monitoring declares Secret monitoring/grafana-admin with keys "admin-password" and "admin-user" on clusters "dev", "staging" and "prod", but the inventory maps no Bitwarden secret to them: the Secret would be made without them; the inventory maps keys "admin-password" and "admin-user" of Secret monitoring/grafana-admn, which no component asks for: is one of the two names misspelt?',
    );
  });

  it('warns about a mapping nothing asks for', () => {
    const run = runBitwarden({ secrets: { ...INVENTORY, 'argocd/argocd-old': { token: ID_B } } }, [
      argocd,
    ]);
    expect(run.issues.filter((issue) => issue.severity === 'warning')).toMatchObject([
      {
        code: 'bitwarden-unused',
        path: [
          'clusters',
          0,
          'components',
          'bitwarden-sm',
          'secrets',
          'argocd/argocd-old',
          'token',
        ],
        message:
          'maps a Bitwarden secret to key "token" of Secret argocd/argocd-old, which no component asks for on any of the clusters it applies to (dev, staging, prod)',
      },
    ]);
  });

  it('lets a cluster override one mapping (prod reads its own Bitwarden secret)', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd], {
      prod: { secrets: { 'argocd/argocd-oidc': { 'client-secret': ID_C } } },
    });
    const id = (cluster: string) =>
      (run.manifests('argocd', cluster)['bitwardensecret-argocd-oidc'] as Loose).spec.map[0]
        .bwSecretId;
    expect([id('dev'), id('staging'), id('prod')]).toEqual([ID_A, ID_A, ID_C]);
  });

  it('refuses two components that declare one Secret with different keys, and merges identical ones', () => {
    const other = (keys: string[]) =>
      consumer('argocd-image-updater', 'argocd', [
        {
          name: 'argocd-oidc',
          namespace: 'argocd',
          keys,
          labels: { 'app.kubernetes.io/part-of': 'argocd' },
        },
      ]);
    const conflicting = runBitwarden({ secrets: INVENTORY }, [argocd, other(['client-id'])]);
    expect(errors(conflicting.issues).map((issue) => issue.message)).toContain(
      'argocd-image-updater declares Secret argocd/argocd-oidc on cluster "dev" with other keys than argocd; one Secret cannot be made two ways',
    );
    const agreeing = runBitwarden({ secrets: INVENTORY }, [argocd, other(['client-secret'])]);
    expect(errors(agreeing.issues)).toEqual([]);
    // made once, in the chart of the first declaring component
    expect(Object.keys(agreeing.manifests('argocd', 'dev'))).toContain(
      'bitwardensecret-argocd-oidc',
    );
    expect(agreeing.manifests('argocd-image-updater', 'dev')).toEqual({});
  });

  it('refuses a Secret outside the namespaces of its component Application', () => {
    const stray = consumer('web', 'web', [{ name: 'db', namespace: 'databases', keys: ['a'] }]);
    const run = runBitwarden({ secrets: { 'databases/db': { a: ID_A } } }, [stray]);
    expect(errors(run.issues).map((issue) => issue.code)).toEqual([
      'bitwarden-namespace',
      'bitwarden-namespace',
      'bitwarden-namespace',
    ]);
  });
});

describe('OIDC client secrets', () => {
  const client = consumer(
    'argocd',
    'argocd',
    [{ name: 'argocd-oidc', namespace: 'argocd', keys: ['client-secret'] }],
    [
      {
        id: 'argocd',
        name: 'Argo CD',
        redirectUris: ['https://argocd.dev.example/auth/callback'],
        scopes: ['openid', 'groups'],
        pkce: false,
        public: false,
        secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
        policy: 'one_factor',
      },
    ],
  );

  it("fills the OIDC provider's client-secret Secret from the same Bitwarden secret as the client's own", () => {
    const run = runBitwarden({ secrets: { ...INVENTORY, 'sso/sso': { hmac: ID_B } } }, [
      client,
      oidcProvider,
    ]);
    expect(errors(run.issues)).toEqual([]);
    const provider = run.manifests('sso', 'dev')['bitwardensecret-sso-clients'] as Loose;
    expect(provider.metadata.namespace).toBe('sso');
    expect(provider.spec.map).toEqual([{ bwSecretId: ID_A, secretKeyName: 'argocd' }]);
    expect(oidcClientSecretCheck.check(systemInput(run))).toEqual([]);
  });

  it("leaves the provider's copy of a client secret out of bitwarden-production-entries' lines: the inventory refuses a mapping of it", () => {
    // prod inherits every top-level mapping dev maps too: the client's key, and the provider's
    // copy of it (sso/sso-clients:argocd), which takes its id from the client's mapping
    const run = runBitwarden({ secrets: { ...INVENTORY, 'sso/sso': { hmac: ID_B } } }, [
      client,
      oidcProvider,
    ]);
    const [issue] = productionEntriesCheck.check(systemInput(run));
    expect(issue?.message).toContain('fills 3 Secret keys');
    expect(issue?.expected).toContain(
      "which overrides the top-level mapping key by key (1 more follows these: the OIDC provider's copy of a client secret takes its client's entry):",
    );
    expect(issue?.expected?.split('\n').slice(1)).toEqual([
      'secrets:',
      '  argocd/argocd-oidc:',
      "    client-secret: <id of prod's entry>",
      '  sso/sso:',
      "    hmac: <id of prod's entry>",
    ]);
  });

  it("refuses a mapping of the provider's key to another Bitwarden secret", () => {
    const run = runBitwarden(
      {
        secrets: { ...INVENTORY, 'sso/sso': { hmac: ID_B }, 'sso/sso-clients': { argocd: ID_C } },
      },
      [client, oidcProvider],
    );
    expect(errors(run.issues).map((issue) => issue.code)).toEqual([
      'bitwarden-divergent',
      'bitwarden-divergent',
      'bitwarden-divergent',
    ]);
  });

  it("refuses two OIDC clients sharing one Bitwarden secret: the provider's Secret would get one of the two keys (sm-operator writes each id into its first key)", () => {
    const grafana = consumer(
      'grafana',
      'monitoring',
      [{ name: 'grafana-oidc', namespace: 'monitoring', keys: ['client-secret'] }],
      [
        {
          id: 'grafana',
          name: 'Grafana',
          redirectUris: ['https://grafana.dev.example/login/generic_oauth'],
          scopes: ['openid', 'groups'],
          pkce: false,
          public: false,
          secret: { namespace: 'monitoring', name: 'grafana-oidc', key: 'client-secret' },
          policy: 'one_factor',
        },
      ],
    );
    const shared = (grafanaId: string) =>
      runBitwarden(
        {
          secrets: {
            ...INVENTORY,
            'monitoring/grafana-oidc': { 'client-secret': grafanaId },
            'sso/sso': { hmac: ID_B },
          },
        },
        [client, grafana, oidcProvider],
      );
    expect(errors(shared(ID_C).issues)).toEqual([]);
    const issues = errors(shared(ID_A).issues);
    expect(issues.map((issue) => [issue.code, formatPathOf(issue), issue.value])).toEqual(
      [0, 1, 2].map((index) => [
        'bitwarden-shared-entry',
        `clusters[${index}].components.bitwarden-sm.secrets["monitoring/grafana-oidc"].client-secret`,
        ID_A,
      ]),
    );
    expect(issues[0]?.message).toBe(
      'maps key "grafana" of Secret sso/sso-clients on cluster "dev" (through key "client-secret" of Secret monitoring/grafana-oidc) to the Bitwarden secret key "argocd" reads too: the operator writes each Bitwarden secret into one key of a Secret, the first its map names, so "grafana" would stay empty while the BitwardenSecret reports a successful sync',
    );
    expect(issues[0]?.expected).toBe(
      'a Bitwarden secret of its own for "grafana" (each OIDC client its own client secret)',
    );
  });

  it('refuses two keys of one Secret mapped to one Bitwarden secret', () => {
    const admin = consumer('grafana', 'monitoring', [
      { name: 'grafana-admin', namespace: 'monitoring', keys: ['admin-password', 'admin-user'] },
    ]);
    const run = runBitwarden(
      {
        secrets: {
          'monitoring/grafana-admin': { 'admin-user': ID_A, 'admin-password': ID_A.toUpperCase() },
        },
      },
      [admin],
    );
    expect(
      errors(run.issues).map((issue) => [issue.code, formatPathOf(issue), issue.message]),
    ).toEqual(
      ['dev', 'staging', 'prod'].map((cluster, index) => [
        'bitwarden-shared-entry',
        `clusters[${index}].components.bitwarden-sm.secrets["monitoring/grafana-admin"].admin-user`,
        `maps key "admin-user" of Secret monitoring/grafana-admin on cluster "${cluster}" to the Bitwarden secret key "admin-password" reads too: the operator writes each Bitwarden secret into one key of a Secret, the first its map names, so "admin-user" would stay empty while the BitwardenSecret reports a successful sync`,
      ]),
    );
  });

  it('reports the check broken when the two sides read different Bitwarden secrets', () => {
    const run = runBitwarden({ secrets: { ...INVENTORY, 'sso/sso': { hmac: ID_B } } }, [
      client,
      oidcProvider,
    ]);
    const input = systemInput(run);
    // Break it: the provider's BitwardenSecret on dev now reads another entry
    const dev = input.clusters[0];
    const app = dev?.applications.find((candidate) => candidate.name === 'sso');
    const object = app?.objects.find(
      ({ object }) => object.kind === 'BitwardenSecret' && object.metadata.name === 'sso-clients',
    )?.object as Loose;
    object.spec.map[0].bwSecretId = ID_C;
    const issues = oidcClientSecretCheck.check(input);
    expect(issues.map((issue) => issue.message)).toEqual([
      `OIDC client "argocd" of argocd on cluster "dev" reads Bitwarden secret ${ID_A}, the OIDC provider ${ID_C}: the two sides would not agree`,
    ]);
  });
});

describe('the machine-account token', () => {
  it('is a hand-made secret in every namespace the inventory names, made from the shell, never from Git', () => {
    const run = runBitwarden({ secrets: { ...INVENTORY, 'sso/sso': { hmac: ID_B } } }, [
      argocd,
      oidcProvider,
    ]);
    const secrets = run.declared('dev').bootstrapSecrets ?? [];
    expect(secrets.map((secret) => [secret.namespace, secret.name, secret.keys])).toEqual([
      ['argocd', 'bw-auth-token', ['token']],
      ['sso', 'bw-auth-token', ['token']],
    ]);
    expect(secrets[0]?.commands).toEqual([
      // the token reaches kubectl through a pipe, never as its argument (`ps` shows those), and
      // is applied server-side: a client-side apply copies it into the last-applied annotation
      `: "\${BWS_ACCESS_TOKEN:?read it first (see above)}" && kubectl -n argocd create secret generic bw-auth-token --from-file=token=<(printf '%s' "$BWS_ACCESS_TOKEN") --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f -`,
    ]);
    // The token is a prompt of the step (the runbook gives it a block of its own: pasted with
    // more lines, read would take the next one), which every namespace's Secret reads again
    expect(run.declared('dev').bootstrap?.[0]?.reads).toEqual([
      { variable: 'BWS_ACCESS_TOKEN', prompt: 'Bitwarden machine account access token' },
    ]);
    expect(run.declared('dev').bootstrap?.[0]?.commands).toEqual([]);
    expect(secrets.map((secret) => secret.reads)).toEqual([
      run.declared('dev').bootstrap?.[0]?.reads,
      run.declared('dev').bootstrap?.[0]?.reads,
    ]);
    expect(authTokenCheck.check(systemInput(run))).toEqual([]);
  });

  it('is made only in namespaces where a component enabled on the cluster declares a Secret', () => {
    // Given an inventory shared by every cluster that maps a Secret of a component that
    // declares it on prod only (disabled on dev and staging, as monitoring on a dev cluster)
    const metrics = testComponent({
      name: 'metrics',
      uses: ['secrets'],
      contribution: (cluster) =>
        cluster === 'prod'
          ? {
              application: {
                namespace: 'metrics',
                podSecurity: 'restricted',
                clusterResources: [],
              },
              secrets: [{ name: 'grafana', namespace: 'metrics', keys: ['admin-password'] }],
            }
          : {},
    });
    const run = runBitwarden(
      { secrets: { ...INVENTORY, 'metrics/grafana': { 'admin-password': ID_B } } },
      [argocd, metrics],
    );
    expect(errors(run.issues)).toEqual([]);
    // Then dev's runbook makes the token in argocd only, prod's in both namespaces
    const namespaces = (cluster: string) =>
      (run.declared(cluster).bootstrapSecrets ?? []).map((secret) => secret.namespace);
    expect(namespaces('dev')).toEqual(['argocd']);
    expect(namespaces('prod')).toEqual(['argocd', 'metrics']);
    // And dev's rotation guide renews it where it is, never in a namespace dev does not have
    const guide = (cluster: string) =>
      run.components.components
        .find((entry) => entry.component.name === 'bitwarden-sm')
        ?.output.files?.find((file) => file.path === `clusters/${cluster}/rotating-secrets.md`)
        ?.content ?? '';
    expect(guide('dev')).toContain('kubectl -n argocd create secret generic bw-auth-token');
    expect(guide('dev')).not.toContain('kubectl -n metrics ');
    expect(guide('prod')).toContain('kubectl -n metrics create secret generic bw-auth-token');
    expect(authTokenCheck.check(systemInput(run))).toEqual([]);
  });

  it('fails the check when a BitwardenSecret reads a token no runbook step makes', () => {
    const run = runBitwarden({ secrets: INVENTORY, authToken: { secretName: 'bw-token' } }, [
      argocd,
    ]);
    const input = systemInput(run);
    const object = input.clusters[0]?.applications
      .flatMap((app) => app.objects)
      .find(({ object }) => object.kind === 'BitwardenSecret')?.object as Loose;
    object.spec.authToken.secretName = 'another-token';
    expect(authTokenCheck.check(input).map((issue) => issue.value)).toEqual([
      'argocd/another-token:token',
    ]);
  });
});

describe("the token Secret's name", () => {
  it('passes when no other Secret of the token namespaces has it', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    expect(authTokenNameCheck.check(systemInput(run))).toEqual([]);
  });

  it('refuses the name of a Secret a component declares and the operator fills there (its sync would erase the token)', () => {
    // Given the token named like the Secret argocd declares in its namespace, where the runbook
    // makes the token too
    const run = runBitwarden(
      { secrets: INVENTORY, authToken: { secretName: 'argocd-oidc', key: 'token' } },
      [argocd],
    );
    // Then every cluster reports it at the setting, naming the Secret and who makes it
    const issues = authTokenNameCheck.check(systemInput(run));
    expect(issues.map((issue) => [issue.code, formatPathOf(issue), issue.value])).toEqual(
      ['dev', 'staging', 'prod'].map((_, index) => [
        'bitwarden-auth-token-name',
        `clusters[${index}].components.bitwarden-sm.authToken.secretName`,
        'argocd-oidc',
      ]),
    );
    expect(issues[0]?.message).toBe(
      'names the access token\'s Secret argocd/argocd-oidc on cluster "dev", a Secret the platform already uses: argocd declares it; the operator fills it from Bitwarden (BitwardenSecret argocd/argocd-oidc of argocd); argocd\'s chart deploys it. The operator sets the data of a Secret it fills to the mapped keys alone, so the token would be erased at the first sync and every later sync would fail to log in',
    );
    expect(issues[0]?.expected).toBe(
      'a name no Secret of namespace "argocd" has (the default bw-auth-token, unless a Secret there has it)',
    );
  });

  it('puts the error at the component that declares a Secret of the default name, which the user never wrote', () => {
    // Given an application's Secret named bw-auth-token in a namespace where the token is made
    const app = consumer('web', 'web', [{ name: 'bw-auth-token', namespace: 'web', keys: ['a'] }]);
    const run = runBitwarden({ secrets: { ...INVENTORY, 'web/bw-auth-token': { a: ID_B } } }, [
      argocd,
      app,
    ]);
    const issues = authTokenNameCheck.check(systemInput(run));
    expect(issues.map((issue) => [formatPathOf(issue), issue.value])[0]).toEqual([
      'clusters[0].components.web',
      'bw-auth-token',
    ]);
  });

  it("refuses the name of another component's hand-made Secret in a token namespace", () => {
    const handMade = testComponent({
      name: 'git',
      contribution: () => ({
        application: { namespace: 'argocd', podSecurity: 'restricted', clusterResources: [] },
        bootstrapSecrets: [
          {
            name: 'bw-auth-token',
            namespace: 'argocd',
            keys: ['url'],
            description: 'x',
            commands: [],
          },
        ],
      }),
    });
    const run = runBitwarden({ secrets: INVENTORY }, [argocd, handMade]);
    const issues = authTokenNameCheck.check(systemInput(run));
    expect(issues.map((issue) => [formatPathOf(issue), issue.value])[0]).toEqual([
      'clusters[0].components.bitwarden-sm.authToken.secretName',
      'bw-auth-token',
    ]);
    expect(issues[0]?.message).toContain(
      'Secret argocd/bw-auth-token on cluster "dev", a Secret the platform already uses: git\'s runbook step makes it by hand.',
    );
    expect(issues[0]?.expected).toBe('a name no Secret of namespace "argocd" has');
  });
});

describe("production's entries, apart from the other environments'", () => {
  it('tells each cluster to make a machine account of its own, reading only its own project', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    for (const cluster of ['dev', 'prod']) {
      const body = (run.declared(cluster).bootstrap?.[0]?.body ?? []).join(' ');
      expect(body).toContain(`a machine account of cluster ${cluster} alone`);
      expect(body).toContain(`\`homelab-${cluster}\``);
      expect(body).toContain(
        'read access only to the project that holds the entries this cluster maps',
      );
      expect(body).toContain('Never give this cluster another cluster\u2019s account or token');
      // What it said before: one project of all the platform's secrets, for every cluster.
      expect(body).not.toContain("the project holding the platform's secrets");
    }
  });

  it('tells the clusters outside production that share entries to read them from a project in common', () => {
    // the top-level mapping: all three clusters map the entry
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const body = (cluster: string) => (run.declared(cluster).bootstrap?.[0]?.body ?? []).join('\n');
    expect(body('dev')).toContain(
      'This cluster maps entries that cluster "staging" maps too (the top-level `components.bitwarden-sm.secrets` a cluster does not override): an entry is in one project, so keep those in a project of their own that the machine accounts of exactly the clusters sharing them read',
    );
    expect(body('staging')).toContain('This cluster maps entries that cluster "dev" maps too');
    // production is never told to share (bitwarden-production-entries warns where it does)
    expect(body('prod')).not.toContain('This cluster maps entries');
    // staging on its own entry: nobody shares
    const own = runBitwarden({ secrets: INVENTORY }, [argocd], {
      staging: { secrets: { 'argocd/argocd-oidc': { 'client-secret': ID_C } } },
    });
    for (const cluster of ['dev', 'staging']) {
      expect((own.declared(cluster).bootstrap?.[0]?.body ?? []).join('\n')).not.toContain(
        'This cluster maps entries',
      );
    }
  });

  it('passes when production maps entries of its own', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd], {
      prod: { secrets: { 'argocd/argocd-oidc': { 'client-secret': ID_B } } },
      staging: { secrets: { 'argocd/argocd-oidc': { 'client-secret': ID_C } } },
    });
    expect(productionEntriesCheck.check(systemInput(run))).toEqual([]);
  });

  it("warns when production fills a Secret from an entry another environment's cluster maps too", () => {
    // staging has its own entry, prod inherits the top-level one dev maps.
    const run = runBitwarden({ secrets: INVENTORY }, [argocd], {
      staging: { secrets: { 'argocd/argocd-oidc': { 'client-secret': ID_C } } },
    });
    const issues = productionEntriesCheck.check(systemInput(run));
    expect(
      issues.map((issue) => [issue.code, issue.severity, formatPathOf(issue), issue.value]),
    ).toEqual([
      // no value: the message lists the keys, and the CLI would print the value before it too
      ['bitwarden-production-entries', 'warning', 'clusters[2].components.bitwarden-sm', undefined],
    ]);
    expect(issues[0]?.message).toBe(
      'production cluster "prod" fills 1 Secret key from the Bitwarden entries cluster "dev" maps too: Bitwarden grants a machine account whole projects and an entry is in one project, so the machine account of cluster "dev" reads these production values, and so does whoever reads its access token (a Secret on that cluster)',
    );
    // what to do, as a user with one Bitwarden project reads it: a project of production's own,
    // new values (the shared entry keeps the old one), and the lines to add, ready to fill in
    expect(issues[0]?.expected).toBe(
      [
        'entries of production\'s own, in a Bitwarden project that only prod\'s machine account reads (its runbook\'s step "Read the Bitwarden machine account token"): create one there per key, with a new value (the shared entries keep the old one, which cluster "dev" still reads; clusters/prod/rotating-secrets.md says what changing each takes), and map their ids under the components.bitwarden-sm of the cluster "prod", which overrides the top-level mapping key by key:',
        'secrets:',
        '  argocd/argocd-oidc:',
        "    client-secret: <id of prod's entry>",
      ].join('\n'),
    );
  });
});

describe('one value per entry', () => {
  // A volume's backups: the repository URL names the cluster (as core's volumeBackupSecret says).
  const backedUp = testComponent({
    name: 'photos',
    uses: ['secrets'],
    contribution: (cluster) => ({
      application: { namespace: 'photos', podSecurity: 'restricted', clusterResources: [] },
      secrets: [
        {
          name: 'data-restic',
          namespace: 'photos',
          keys: ['RESTIC_PASSWORD', 'RESTIC_REPOSITORY'],
          values: {
            RESTIC_REPOSITORY: `s3:https://s3.example/backups/restic/${cluster}/photos/data`,
          },
        },
      ],
    }),
  });
  const shared = { 'photos/data-restic': { RESTIC_PASSWORD: ID_A, RESTIC_REPOSITORY: ID_B } };

  it('refuses one entry filling a key on clusters that need different values in it', () => {
    // staging and prod map their own repository entry; dev's is the top-level one, which
    // staging inherits for the password only (the same value on every cluster: allowed)
    const own = runBitwarden({ secrets: shared }, [backedUp], {
      staging: { secrets: { 'photos/data-restic': { RESTIC_REPOSITORY: ID_C } } },
      prod: { secrets: { 'photos/data-restic': { RESTIC_REPOSITORY: ID_A.replace('0b', '0c') } } },
    });
    expect(entryValuesCheck.check(systemInput(own))).toEqual([]);
    // prod inherits dev's repository entry
    const run = runBitwarden({ secrets: shared }, [backedUp], {
      staging: { secrets: { 'photos/data-restic': { RESTIC_REPOSITORY: ID_C } } },
    });
    const issues = entryValuesCheck.check(systemInput(run));
    expect(
      issues.map((issue) => [issue.code, issue.severity, formatPathOf(issue), issue.value]),
    ).toEqual([
      [
        'bitwarden-entry-values',
        'error',
        'clusters[2].components.bitwarden-sm.secrets["photos/data-restic"].RESTIC_REPOSITORY',
        ID_B,
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'fills key RESTIC_REPOSITORY of Secret photos/data-restic on cluster "prod", which needs s3:https://s3.example/backups/restic/prod/photos/data there, and on cluster "dev", which needs s3:https://s3.example/backups/restic/dev/photos/data: a Bitwarden entry holds one value and the operator copies it into both Secrets, so one of the clusters reads the other\'s',
    );
    expect(issues[0]?.expected).toBe(
      [
        'an entry of cluster "prod"\'s own holding s3:https://s3.example/backups/restic/prod/photos/data, its id mapped under the components.bitwarden-sm of the cluster "prod" (which overrides the top-level mapping key by key):',
        'secrets:',
        '  photos/data-restic:',
        "    RESTIC_REPOSITORY: <id of prod's entry>",
      ].join('\n'),
    );
    // all three on one entry: staging and prod each refused against dev
    const all = runBitwarden({ secrets: shared }, [backedUp]);
    expect(entryValuesCheck.check(systemInput(all)).map(formatPathOf)).toEqual([
      'clusters[1].components.bitwarden-sm.secrets["photos/data-restic"].RESTIC_REPOSITORY',
      'clusters[2].components.bitwarden-sm.secrets["photos/data-restic"].RESTIC_REPOSITORY',
    ]);
  });
});

describe('a key each cluster must hold its own (a signing key)', () => {
  // An OIDC provider's signing key: another cluster's readers of its entry sign what this one
  // accepts (SecretRequirement.ownPerCluster)
  const signer = testComponent({
    name: 'signer',
    uses: ['secrets'],
    contribution: () => ({
      application: { namespace: 'idp', podSecurity: 'restricted', clusterResources: [] },
      secrets: [
        {
          name: 'keys',
          namespace: 'idp',
          keys: ['signing.pem', 'theme'],
          ownPerCluster: { 'signing.pem': 'it signs the ID tokens the cluster accepts' },
        },
      ],
    }),
  });
  const top = { secrets: { 'idp/keys': { 'signing.pem': ID_A, theme: ID_B } } };

  it('warns on each non-production cluster that shares the entry, at its mapping, naming the others', () => {
    // prod maps its own; dev and staging share the top-level entry
    const run = runBitwarden(top, [signer], {
      prod: { secrets: { 'idp/keys': { 'signing.pem': ID_C } } },
    });
    const issues = ownEntriesCheck.check(systemInput(run));
    expect(issues.map((issue) => [issue.code, issue.severity, formatPathOf(issue)])).toEqual([
      [
        'bitwarden-own-entry',
        'warning',
        'clusters[0].components.bitwarden-sm.secrets["idp/keys"]["signing.pem"]',
      ],
      [
        'bitwarden-own-entry',
        'warning',
        'clusters[1].components.bitwarden-sm.secrets["idp/keys"]["signing.pem"]',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'fills key signing.pem of Secret idp/keys on cluster "dev" from a Bitwarden entry that cluster "staging" maps too: it signs the ID tokens the cluster accepts, so whoever reads that entry through that cluster (its machine account and the token it keeps, an admin there) signs what cluster "dev" accepts as its own',
    );
    expect(issues[0]?.expected).toContain("    signing.pem: <id of dev's entry>");
    // the key not declared the cluster's own (theme) is shared without a word
    expect(issues.some((issue) => issue.message.includes('theme'))).toBe(false);
  });

  it("leaves each cluster's own entry alone, and production's sharing to bitwarden-production-entries", () => {
    const own = runBitwarden(top, [signer], {
      staging: { secrets: { 'idp/keys': { 'signing.pem': ID_A.replace('0b', '0e') } } },
      prod: { secrets: { 'idp/keys': { 'signing.pem': ID_C } } },
    });
    expect(ownEntriesCheck.check(systemInput(own))).toEqual([]);
    // an entry another cluster maps for another key is shared all the same: staging's key read
    // from the entry of dev's theme
    const theme = runBitwarden(top, [signer], {
      staging: { secrets: { 'idp/keys': { 'signing.pem': ID_B } } },
      prod: { secrets: { 'idp/keys': { 'signing.pem': ID_C } } },
    });
    expect(ownEntriesCheck.check(systemInput(theme)).map(formatPathOf)).toEqual([
      'clusters[1].components.bitwarden-sm.secrets["idp/keys"]["signing.pem"]',
    ]);
    // all three on one entry: production's is the other check's; dev and staging still warned,
    // each naming the other alone
    const all = ownEntriesCheck.check(systemInput(runBitwarden(top, [signer])));
    expect(all.map(formatPathOf)).toEqual([
      'clusters[0].components.bitwarden-sm.secrets["idp/keys"]["signing.pem"]',
      'clusters[1].components.bitwarden-sm.secrets["idp/keys"]["signing.pem"]',
    ]);
    expect(all[1]?.message).toContain('from a Bitwarden entry that cluster "dev" maps too');
  });
});

describe('one value per entry, of several lines', () => {
  it("names a multi-line value (a CA's PEM) by its first line and digest, not its whole text", () => {
    const pem = (cluster: string) =>
      `-----BEGIN CERTIFICATE-----\n${cluster === 'prod' ? 'BBBB' : 'AAAA'}\n-----END CERTIFICATE-----`;
    const store = testComponent({
      name: 'store',
      uses: ['secrets'],
      contribution: (cluster) => ({
        application: { namespace: 'store', podSecurity: 'restricted', clusterResources: [] },
        secrets: [
          {
            name: 's3',
            namespace: 'store',
            keys: ['AWS_CERT'],
            values: { AWS_CERT: pem(cluster) },
          },
        ],
      }),
    });
    const run = runBitwarden({ secrets: { 'store/s3': { AWS_CERT: ID_A } } }, [store]);
    const issues = entryValuesCheck.check(systemInput(run));
    expect(issues.map(formatPathOf)).toEqual([
      'clusters[2].components.bitwarden-sm.secrets["store/s3"].AWS_CERT',
    ]);
    const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);
    expect(issues[0]?.message).toBe(
      `fills key AWS_CERT of Secret store/s3 on cluster "prod", which needs the 3-line text beginning "-----BEGIN CERTIFICATE-----" (sha256 ${digest(pem('prod'))}…) there, and on cluster "dev", which needs the 3-line text beginning "-----BEGIN CERTIFICATE-----" (sha256 ${digest(pem('dev'))}…): a Bitwarden entry holds one value and the operator copies it into both Secrets, so one of the clusters reads the other's`,
    );
    expect(issues[0]?.expected).not.toContain('AAAA');
    expect(issues[0]?.expected).not.toContain('BBBB');
  });
});

describe('the labels check', () => {
  it('fails when the labelled Secret is missing (the operator would create it without labels)', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const input = systemInput(run);
    expect(secretLabelsCheck.check(input)).toEqual([]);
    const app = input.clusters[1]?.applications.find((candidate) => candidate.name === 'argocd');
    const broken = {
      ...input,
      clusters: input.clusters.map((cluster, index) =>
        index !== 1
          ? cluster
          : {
              ...cluster,
              applications: cluster.applications.map((candidate) =>
                candidate !== app
                  ? candidate
                  : {
                      ...candidate,
                      objects: candidate.objects.filter(({ object }) => object.kind !== 'Secret'),
                    },
              ),
            },
      ),
    };
    expect(secretLabelsCheck.check(broken).map(formatIssue)).toEqual([
      'clusters[1].components.argocd: "argocd/argocd-oidc" argocd needs label(s) app.kubernetes.io/part-of: argocd on Secret argocd/argocd-oidc on cluster "staging", but no Secret object carries them (the operator creates its Secrets without labels) (expected the Secret deployed with those labels, for the operator to fill)',
    ]);
  });
});

describe('charts/sm-operator', () => {
  it('follows the profiles: 1, 2, 3 replicas electing a leader, a disruption budget from staging on', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const replicas = (cluster: string) =>
      run.values('sm-operator', cluster)['sm-operator'].settings.replicas;
    expect([replicas('dev'), replicas('staging'), replicas('prod')]).toEqual([1, 2, 3]);
    expect(
      run.values('sm-operator', 'dev')['sm-operator'].containers.manager.enableLeaderElection,
    ).toBe(true);
    expect(run.manifests('sm-operator', 'dev')).toEqual({});
    expect(run.manifests('sm-operator', 'prod')['pdb-sm-operator']).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: 'sm-operator-controller-manager',
        namespace: 'sm-operator-system',
        // The Application is critical (Prune=false); the budget goes with the profile's replicas.
        annotations: { 'argocd.argoproj.io/sync-options': 'Prune=true' },
      },
      spec: {
        maxUnavailable: 1,
        selector: {
          matchLabels: {
            'app.kubernetes.io/instance': 'sm-operator',
            'app.kubernetes.io/name': 'sm-operator',
            'control-plane': 'controller-manager',
          },
        },
      },
    });
  });

  it('rolls the operator out when its settings change: a pod-template label fingerprints what its ConfigMap holds', () => {
    // The operator reads the chart's ConfigMap (envFrom) once at start; the chart has no checksum.
    const label = (run: ReturnType<typeof runBitwarden>, cluster: string) =>
      run.values('sm-operator', cluster)['sm-operator'].commonLabels;
    const base = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const slower = runBitwarden({ secrets: INVENTORY }, [argocd], {
      prod: { refreshInterval: 600 },
    });
    const eu = runBitwarden({ secrets: INVENTORY, cloudRegion: 'EU' }, [argocd]);
    // FNV-1a of {"cloudRegion":"US","bwSecretsManagerRefreshInterval":300}
    expect(label(base, 'dev')).toEqual({ 'homelab.dev/operator-settings': 'c974461e' });
    expect(label(base, 'prod')).toEqual(label(base, 'dev'));
    expect(label(slower, 'dev')).toEqual(label(base, 'dev'));
    expect(label(slower, 'prod')).not.toEqual(label(base, 'prod'));
    expect(label(eu, 'dev')).not.toEqual(label(base, 'dev'));
  });

  it('talks to the cloud region, or to a self-hosted server, never both', () => {
    const eu = runBitwarden({ secrets: INVENTORY, cloudRegion: 'EU', refreshInterval: 600 }, [
      argocd,
    ]);
    expect(eu.values('sm-operator', 'dev')['sm-operator'].settings).toMatchObject({
      cloudRegion: 'EU',
      bwSecretsManagerRefreshInterval: 600,
    });
    const own = runBitwarden(
      {
        secrets: INVENTORY,
        selfHosted: {
          apiUrl: 'https://vault.example.com/api',
          identityUrl: 'https://vault.example.com/identity',
        },
      },
      [argocd],
    );
    expect(own.values('sm-operator', 'dev')['sm-operator'].settings).toMatchObject({
      bwApiUrlOverride: 'https://vault.example.com/api',
      bwIdentityUrlOverride: 'https://vault.example.com/identity',
    });
    const both = runBitwarden(
      {
        secrets: INVENTORY,
        cloudRegion: 'EU',
        selfHosted: {
          apiUrl: 'https://vault.example.com/api',
          identityUrl: 'https://vault.example.com/identity',
        },
      },
      [argocd],
    );
    expect(errors(both.issues).map((issue) => issue.code)).toContain('bitwarden-server');
  });

  it("reaches the server it is pointed at: the EU cloud's hosts, or a self-hosted server's", () => {
    const peers = (settings: Values) =>
      (runBitwarden({ secrets: INVENTORY, ...settings }, [argocd]).declared('dev').flows ?? [])
        .filter((flow) => flow.direction === 'egress')
        .map((flow) => `${flow.name} ${JSON.stringify(flow.peer)} ${flow.ports[0]?.port}`);
    expect(peers({ cloudRegion: 'EU' })).toEqual([
      'apiserver {"kind":"kube-apiserver"} 6443',
      'identity {"kind":"fqdn","name":"identity.bitwarden.eu"} 443',
      'api {"kind":"fqdn","name":"api.bitwarden.eu"} 443',
    ]);
    expect(
      peers({
        selfHosted: {
          apiUrl: 'https://vault.example.com:8443/api',
          identityUrl: 'https://vault.example.com:8443/identity',
        },
      }).slice(1),
    ).toEqual([
      'identity {"kind":"fqdn","name":"vault.example.com"} 8443',
      'api {"kind":"fqdn","name":"vault.example.com"} 8443',
    ]);
  });

  it('refuses a self-hosted URL no egress policy can name, at the URL (the flow would vanish)', () => {
    const run = runBitwarden(
      {
        secrets: INVENTORY,
        selfHosted: {
          apiUrl: 'https://vault.example.com:99999/api',
          identityUrl: 'https://vault.example.com:0/identity',
        },
      },
      [argocd],
    );
    expect(
      errors(run.issues)
        .filter((issue) => issue.code === 'bitwarden-server' && issue.path[1] === 0)
        .map((issue) => [issue.path.join('.'), issue.value]),
    ).toEqual([
      [
        'clusters.0.components.bitwarden-sm.selfHosted.apiUrl',
        'https://vault.example.com:99999/api',
      ],
      [
        'clusters.0.components.bitwarden-sm.selfHosted.identityUrl',
        'https://vault.example.com:0/identity',
      ],
    ]);
  });

  it('is a critical Application that installs the BitwardenSecret kind, restricted like its pods', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    expect(run.declared('dev').application).toMatchObject({
      chart: 'sm-operator',
      namespace: 'sm-operator-system',
      releaseName: 'sm-operator',
      critical: true,
      podSecurity: 'restricted',
      installs: [{ group: 'k8s.bitwarden.com', kind: 'BitwardenSecret' }],
    });
    expect(run.declared('dev').facts?.secrets?.producer).toEqual({
      group: 'k8s.bitwarden.com',
      kind: 'BitwardenSecret',
      secretName: ['spec', 'secretName'],
      keys: ['spec', 'map', 'secretKeyName'],
    });
    // The inventory, for the runbook's list of the entries to create in Bitwarden.
    expect(run.declared('dev').facts?.secrets?.entries).toEqual({
      'argocd/argocd-oidc': { 'client-secret': ID_A },
    });
  });

  it("tells the disaster recovery of its token: the Secret's name and the section of the cluster's own guide that replaces it", () => {
    const run = runBitwarden(
      { secrets: INVENTORY, authToken: { secretName: 'sm-token', key: 'token' } },
      [argocd],
    );
    const credential = run.declared('prod').facts?.secrets?.credential;
    expect(credential?.what).toContain('the hand-made Secret `sm-token` of each namespace');
    expect(credential?.replace).toBe(
      '"The machine account\u2019s access token" of `clusters/prod/rotating-secrets.md`: a new token into every namespace, one BitwardenSecret of each synced with it, then the old token revoked in Bitwarden',
    );
    // The section it names is in that guide, with the token's commands.
    const guide =
      run.components.components
        .find((entry) => entry.component.name === 'bitwarden-sm')
        ?.output.files?.find((file) => file.path === 'clusters/prod/rotating-secrets.md')
        ?.content ?? '';
    const lines = guide.split('\n');
    const section = lines.indexOf(`## ${TOKEN_SECTION}`);
    expect(section).toBeGreaterThan(0);
    expect(lines.slice(section).join('\n')).toContain(
      'kubectl -n argocd create secret generic sm-token',
    );
  });

  it('needs the CNI and comes before the components that use secrets', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const order = run.components.clusters[0]?.order ?? [];
    expect(order.indexOf('network')).toBeLessThan(order.indexOf('bitwarden-sm'));
    expect(order.indexOf('bitwarden-sm')).toBeLessThan(order.indexOf('argocd'));
    expect(network.provides).toEqual(['cni']);
  });
});

describe("Argo CD's view of a BitwardenSecret", () => {
  it('asks for a health check that waits for the operator to fill the Secret', () => {
    const run = runBitwarden({ secrets: INVENTORY }, [argocd]);
    const checks = run.declared('prod').application?.healthChecks ?? [];
    expect(checks.map(({ group, kind }) => `${group}/${kind}`)).toEqual([
      'k8s.bitwarden.com/BitwardenSecret',
    ]);
    expect(checks[0]?.lua).toBe(BITWARDEN_SECRET_HEALTH_LUA);
    // Healthy on the condition sm-operator v2 sets once it wrote the Secret, Degraded on the
    // one it sets when it failed (status False), Progressing before either
    expect(BITWARDEN_SECRET_HEALTH_LUA).toContain(
      'condition.type == "SuccessfulSync" and condition.status == "True"',
    );
    expect(BITWARDEN_SECRET_HEALTH_LUA).toContain('condition.type == "FailedSync"');
    expect(BITWARDEN_SECRET_HEALTH_LUA).toContain('hs.status = "Progressing"');
  });
});
