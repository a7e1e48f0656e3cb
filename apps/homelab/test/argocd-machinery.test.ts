// Layer 5 (DESIGN.md, "Validation layers"): Argo CD's own code reads what the platform gives each
// cluster's Argo CD. tools/argocd-machinery is Argo CD v3.4.4's settings manager, health
// assessment and RBAC enforcer (the appVersion of the argo-cd chart charts/argo-cd wraps) behind a
// small CLI. The suite hands it, per cluster of the committed output that deploys Argo CD, the
// ConfigMaps and Secrets Helm renders into Argo CD's namespace (`helm template` as Argo CD runs
// it), with the Secrets the cluster's controllers fill at run time standing in (see
// `filledByControllers`).
// 1. Argo CD reads its settings without an error: argocd-cm's `resource.customizations.*` become
//    the resource overrides of exactly the kinds their keys name, `resource.exclusions` the
//    filter the argocd component wrote.
// 2. The OIDC configuration resolves its `$<secret>:<key>` references from the Secrets the
//    Bitwarden operator and cert-manager fill (Argo CD reads only Secrets labelled
//    `app.kubernetes.io/part-of: argocd`: without the label the reference stays unresolved,
//    broken on purpose below), and keeps the issuer, client and scopes of the definition.
// 3. RBAC as the API server enforces it on an SSO user's groups claim: the definition's
//    adminGroups may sync and change clusters, its readonlyGroups may only read, any other group
//    nothing (policy.default ""). A policy.csv with a stray quote is refused by Argo CD's
//    ValidatePolicy (broken on purpose).
// 4. The kinds the platform declares health checks for have none of Argo CD's own (a key in
//    argocd-cm replaces Argo CD's check of that kind); cert-manager's Certificate is the control.
// The health checks of argocd-cm are run by Argo CD's code on objects of each state in the Helm
// suite (helm.test.ts), through the same tool.
//
// Needs argocd-machinery (`.ci/run` builds it with .ci/install-argocd-machinery and passes its
// folder in ARGOCD_MACHINERY_DIR; else PATH and the tools cache) and helm. Without them the suite
// says "not run" (a skipped test is not a passed one); with CI=true a missing tool fails.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARGOCD_APP_VERSION, healthKey } from '@homelab/argocd';
import { REGISTRY } from '@homelab/cli';
import {
  componentSettings,
  composeDefinitionSchema,
  definitionValidator,
  type KubeObject,
  loadDefinition,
  parseYaml,
  resolvePlatform,
} from '@homelab/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ARGOCD_MACHINERY_INSTALL,
  type ArgocdResponse,
  argocdCheck,
  clustersDeployingArgocd,
  findArgocdMachinery,
  overrideOf,
  type RbacRequest,
} from './argocd-machinery.js';
import { onHelmRenders, toolSuite } from './find-tool.js';
import { discoverRenders, findHelm, REPO, renderedObjects } from './helm/harness.js';

type Table = { [key: string]: unknown };

const tool = findArgocdMachinery();
const helm = findHelm();
const discovery = discoverRenders();
/** The renders of the argocd component's chart (its Deployment runs argocd-server). */
const argocdRenders = discovery.renders.filter((render) => render.path === 'charts/argo-cd');

/** The argocd component's settings on each cluster of the definition the output was built from. */
function argocdSettings(): Map<string, { adminGroups: string[]; readonlyGroups: string[] }> {
  const file = join(REPO, 'apps', 'homelab', 'platform.yaml');
  const loaded = loadDefinition(
    readFileSync(file, 'utf8'),
    file,
    definitionValidator(composeDefinitionSchema(REGISTRY)),
  );
  if (loaded.definition === undefined) throw new Error(`${file} does not load`);
  const platform = resolvePlatform(loaded.definition);
  const component = REGISTRY.find((candidate) => candidate.name === 'argocd');
  if (component === undefined) throw new Error('no argocd component in the registry');
  return new Map(
    platform.clusters.map((cluster) => {
      const settings = componentSettings(platform, component, cluster) as Table;
      const groups = (key: string) =>
        Array.isArray(settings[key]) ? (settings[key] as string[]) : [];
      return [
        cluster.name,
        { adminGroups: groups('adminGroups'), readonlyGroups: groups('readonlyGroups') },
      ];
    }),
  );
}

const STAND_IN_PREFIX = 'stand-in:';
const standIn = (secret: string, key: string) => `${STAND_IN_PREFIX}${secret}/${key}`;
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function meta(object: KubeObject): Table {
  return object.metadata as unknown as Table;
}

/**
 * The Secrets of `namespace` as they are once the cluster's controllers filled them: each Secret
 * the Bitwarden operator fills in place (`homelab.dev/filled-by: BitwardenSecret <ns>/<name>`)
 * with the keys of that BitwardenSecret's map, and each Secret a cert-manager Certificate makes
 * (with its `secretTemplate` labels) with `tls.crt`, `tls.key` and `ca.crt`. The values are
 * stand-ins that name their Secret and key (no real secret exists here).
 */
function filledByControllers(objects: readonly KubeObject[], namespace: string): KubeObject[] {
  const inNamespace = objects.filter(
    (object) => (object.metadata.namespace ?? namespace) === namespace,
  );
  const bitwarden = new Map(
    inNamespace
      .filter((object) => object.kind === 'BitwardenSecret')
      .map((object) => [`${namespace}/${object.metadata.name}`, object]),
  );
  const out: KubeObject[] = [];
  for (const object of inNamespace) {
    if (object.apiVersion === 'v1' && object.kind === 'Secret') {
      const filledBy = object.metadata.annotations?.['homelab.dev/filled-by'];
      const source = filledBy?.startsWith('BitwardenSecret ')
        ? bitwarden.get(filledBy.slice('BitwardenSecret '.length))
        : undefined;
      if (object.metadata.name === 'argocd-secret' && source === undefined) {
        // argocd-server's first start writes its JWT signing key there (util/settings
        // InitializeSettings, server/server.go); until then Argo CD's settings are incomplete.
        const data = (object as unknown as { data?: Table }).data ?? {};
        out.push({
          ...object,
          data: {
            ...data,
            'server.secretkey': base64(standIn(object.metadata.name, 'server.secretkey')),
          },
        } as KubeObject);
        continue;
      }
      if (source === undefined) {
        out.push(object);
        continue;
      }
      const map = ((source as unknown as { spec?: { map?: { secretKeyName?: string }[] } }).spec
        ?.map ?? []) as { secretKeyName?: string }[];
      out.push({
        ...object,
        data: Object.fromEntries(
          map
            .filter((entry) => typeof entry.secretKeyName === 'string')
            .map((entry) => [
              entry.secretKeyName as string,
              base64(standIn(object.metadata.name, entry.secretKeyName as string)),
            ]),
        ),
      } as KubeObject);
    } else if (object.kind === 'Certificate' && object.apiVersion === 'cert-manager.io/v1') {
      const spec = (object as unknown as { spec: Table }).spec;
      const name = String(spec.secretName);
      const template = (spec.secretTemplate ?? {}) as Table;
      out.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace,
          labels: (template.labels ?? {}) as { [key: string]: string },
          annotations: (template.annotations ?? {}) as { [key: string]: string },
        },
        type: 'kubernetes.io/tls',
        data: Object.fromEntries(
          ['tls.crt', 'tls.key', 'ca.crt'].map((key) => [key, base64(standIn(name, key))]),
        ),
      } as unknown as KubeObject);
    } else if (object.kind === 'ConfigMap' && object.apiVersion === 'v1') {
      out.push(object);
    }
  }
  return out;
}

interface ClusterArgocd {
  readonly cluster: string;
  readonly namespace: string;
  /** The ConfigMaps and Secrets of Argo CD's namespace, filled as at run time. */
  readonly objects: readonly KubeObject[];
  readonly argocdCm: { readonly [key: string]: string };
  readonly response: ArgocdResponse;
}

const OTHER_GROUP = 'homelab-suite-no-such-group';

/** What an SSO user of `groups` asks the API server, as the suite checks it. */
function rbacRequests(groups: readonly string[]): RbacRequest[] {
  const claims = { sub: 'suite-user', iss: 'https://auth.example', groups: [...groups] };
  return [
    { claims, resource: 'applications', action: 'get', object: 'default/some-app' },
    { claims, resource: 'applications', action: 'sync', object: 'default/some-app' },
    { claims, resource: 'clusters', action: 'update', object: 'https://kubernetes.default.svc' },
  ];
}

let scratch = '';
const clusters: ClusterArgocd[] = [];
const settingsByCluster = argocdSettings();

function request(cluster: ClusterArgocd['cluster'], namespace: string, objects: KubeObject[]) {
  const settings = settingsByCluster.get(cluster) ?? { adminGroups: [], readonlyGroups: [] };
  return {
    namespace,
    objects,
    rbac: [
      ...settings.adminGroups.flatMap((group) => rbacRequests([group])),
      ...settings.readonlyGroups.flatMap((group) => rbacRequests([group])),
      ...rbacRequests([OTHER_GROUP]),
    ],
  };
}

const { suite, title } = toolSuite('argocd-machinery', tool, ARGOCD_MACHINERY_INSTALL);
const onRenders = onHelmRenders('argocd-machinery', tool, helm);

suite(title, () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-argocd-'));
    if (tool === undefined || helm === undefined) return;
    for (const { render, objects } of renderedObjects(helm, argocdRenders, scratch)) {
      const namespace = render.namespace;
      const own = filledByControllers(objects, namespace);
      const cm = own.find(
        (object) => object.kind === 'ConfigMap' && object.metadata.name === 'argocd-cm',
      );
      clusters.push({
        cluster: render.cluster,
        namespace,
        objects: own,
        argocdCm: ((cm as unknown as { data?: Table } | undefined)?.data ?? {}) as {
          [key: string]: string;
        },
        response: argocdCheck(tool, request(render.cluster, namespace, own)),
      });
    }
  }, 10 * 60_000);
  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it(`is Argo CD ${ARGOCD_APP_VERSION}, the appVersion of the argo-cd chart the platform pins`, () => {
    if (tool === undefined) expect.fail(`argocd-machinery not found (${ARGOCD_MACHINERY_INSTALL})`);
    expect(tool.version).toBe(ARGOCD_APP_VERSION);
  });

  onRenders('checks the Argo CD of every cluster of the committed output that deploys one', () => {
    expect(clusters.map(({ cluster }) => cluster).sort()).toEqual(
      clustersDeployingArgocd(discovery),
    );
    for (const { cluster, response } of clusters) {
      expect(response.argocdVersion, cluster).toBe(ARGOCD_APP_VERSION);
    }
  });

  onRenders(
    "reads every cluster's Argo CD settings without an error, each argocd-cm health check as the override of the kind its key names, and the resource exclusions the argocd component wrote",
    () => {
      for (const { cluster, argocdCm, response } of clusters) {
        expect(response.settingsError, cluster).toBe('');
        expect(response.resourceOverridesError, cluster).toBe('');
        expect(response.resourcesFilterError, cluster).toBe('');
        const overrides = response.resourceOverrides ?? {};
        const scripts = Object.entries(argocdCm).filter(([key]) =>
          key.startsWith('resource.customizations.health.'),
        );
        expect(scripts.length, cluster).toBeGreaterThan(0);
        for (const [key, script] of scripts) {
          const { group, kind, overrideKey } = overrideOf(key, 'resource.customizations.health.');
          expect(healthKey(group, kind)).toBe(key);
          expect(overrides[overrideKey]?.healthLua, `${cluster}: ${overrideKey}`).toBe(script);
          expect(overrides[overrideKey]?.useOpenLibs, `${cluster}: ${overrideKey}`).toBe(false);
        }
        // Kind-wide ignoreDifferences the components declared (argocd-cm, written as YAML).
        const ignored = Object.entries(argocdCm).filter(([key]) =>
          key.startsWith('resource.customizations.ignoreDifferences.'),
        );
        for (const [key, text] of ignored) {
          const { overrideKey } = overrideOf(key, 'resource.customizations.ignoreDifferences.');
          const wrote = parseYaml(text) as Table;
          const read = (overrides[overrideKey]?.ignoreDifferences ?? {}) as Table;
          for (const field of ['jsonPointers', 'jqPathExpressions', 'managedFieldsManagers']) {
            expect(read[field] ?? null, `${cluster}: ${overrideKey} ${field}`).toEqual(
              wrote[field] ?? null,
            );
          }
        }
        console.log(
          `argocd-machinery suite: ${cluster}: ${Object.keys(overrides).length} resource overrides (${scripts.length} health checks and ${ignored.length} ignoreDifferences of the platform's among them), ${(response.resourceExclusions ?? []).length} exclusions`,
        );
        const written = parseYaml(argocdCm['resource.exclusions'] ?? '[]') as Table[];
        expect(written.length, cluster).toBeGreaterThan(0);
        expect(
          (response.resourceExclusions ?? []).map((entry) => {
            const { apiGroups, kinds } = entry as Table;
            return { apiGroups, kinds };
          }),
          cluster,
        ).toEqual(written.map(({ apiGroups, kinds }) => ({ apiGroups, kinds })));
      }
    },
  );

  onRenders(
    "resolves each cluster's OIDC client secret and CA from the Secrets the Bitwarden operator and cert-manager fill, as Argo CD reads them",
    () => {
      let withOidc = 0;
      for (const { cluster, argocdCm, response } of clusters) {
        if (argocdCm['oidc.config'] === undefined) {
          expect(response.oidc, cluster).toBeNull();
          continue;
        }
        withOidc++;
        const written = parseYaml(argocdCm['oidc.config']) as Table;
        const oidc = response.oidc;
        expect(oidc, cluster).not.toBeNull();
        if (oidc === null) continue;
        expect(oidc.issuer, cluster).toBe(written.issuer);
        expect(oidc.clientID, cluster).toBe(written.clientID);
        expect(oidc.requestedScopes, cluster).toEqual(written.requestedScopes);
        // A threshold Argo CD cannot parse as a Go duration is 0 without a word (settings.go
        // RefreshTokenThresholdWithConfig): sessions would never be renewed.
        if (written.refreshTokenThreshold !== undefined) {
          expect(oidc.refreshTokenThreshold, cluster).not.toBe('0s');
        }
        // `$<secret>:<key>` → the value the cluster's controllers put there.
        for (const field of ['clientSecret', 'rootCA'] as const) {
          const reference = written[field];
          if (typeof reference !== 'string') continue;
          const [, secret, key] = /^\$([^:]+):(.+)$/.exec(reference) ?? [];
          expect(secret, `${cluster}: ${field} ${reference} is a reference`).toBeDefined();
          expect(oidc[field], `${cluster}: ${field} ${reference}`).toBe(
            standIn(secret as string, key as string),
          );
        }
      }
      console.log(`argocd-machinery suite: ${clusters.length} cluster(s), ${withOidc} with OIDC`);
    },
  );

  onRenders(
    "grants each cluster's adminGroups admin, its readonlyGroups read only and any other SSO group nothing, as Argo CD's API server enforces the rendered argocd-rbac-cm",
    () => {
      for (const { cluster, response } of clusters) {
        const settings = settingsByCluster.get(cluster);
        expect(settings, cluster).toBeDefined();
        if (settings === undefined) continue;
        expect(response.rbacPolicyError, cluster).toBe('');
        const answers = (response.rbac ?? []).map(({ allowed }) => allowed);
        const expected = [
          ...settings.adminGroups.flatMap(() => [true, true, true]),
          // A group in both lists is an admin.
          ...settings.readonlyGroups.flatMap((group) =>
            settings.adminGroups.includes(group) ? [true, true, true] : [true, false, false],
          ),
          false,
          false,
          false,
        ];
        expect(answers, cluster).toEqual(expected);
        console.log(
          `argocd-machinery suite: ${cluster}: admin ${settings.adminGroups.join(', ') || '(none)'}, read-only ${settings.readonlyGroups.join(', ') || '(none)'}: ${answers.filter(Boolean).length} of ${answers.length} requests allowed`,
        );
      }
    },
  );

  onRenders(
    "declares health checks only for kinds Argo CD v3.4.4 has none of its own for (a declared one would replace Argo CD's)",
    () => {
      // The platform's health checks of every cluster, by Argo CD's group/kind.
      const declared = new Set<string>();
      for (const { argocdCm } of clusters) {
        for (const key of Object.keys(argocdCm)) {
          if (!key.startsWith('resource.customizations.health.')) continue;
          declared.add(overrideOf(key, 'resource.customizations.health.').overrideKey);
        }
      }
      const target = clusters[0];
      if (target === undefined) return;
      expect(declared.size).toBeGreaterThan(0);
      // The cluster's argocd-cm without the platform's health checks: Argo CD's own only.
      const bare = target.objects.map((object) =>
        object.kind === 'ConfigMap' && object.metadata.name === 'argocd-cm'
          ? ({
              ...object,
              data: Object.fromEntries(
                Object.entries((object as unknown as { data?: Table }).data ?? {}).filter(
                  ([key]) => !key.startsWith('resource.customizations.health.'),
                ),
              ),
            } as unknown as KubeObject)
          : object,
      );
      const kinds = [...declared].sort();
      const objectOf = (groupKind: string) => {
        const [group, kind] = groupKind.includes('/') ? groupKind.split('/') : ['', groupKind];
        return {
          apiVersion: group === '' ? 'v1' : `${group}/v1`,
          kind,
          metadata: { name: 'suite-object', namespace: target.namespace },
        };
      };
      // cert-manager's Certificate: a kind Argo CD v3.4.4 checks itself (resource_customizations),
      // so the tool's answer for the others is not merely "no check anywhere".
      const response = argocdCheck(tool as NonNullable<typeof tool>, {
        namespace: target.namespace,
        objects: bare,
        health: [...kinds.map(objectOf), objectOf('cert-manager.io/Certificate')],
      });
      const statuses = (response.health ?? []).map(({ status, error }) => `${status}${error}`);
      expect(Object.fromEntries(kinds.map((kind, i) => [kind, statuses[i]]))).toEqual(
        Object.fromEntries(kinds.map((kind) => [kind, ''])),
      );
      expect(statuses.at(-1)).not.toBe('');
      console.log(
        `argocd-machinery suite: Argo CD ${ARGOCD_APP_VERSION} has no health check of its own for ${kinds.join(', ')}; of cert-manager.io/Certificate it says ${statuses.at(-1)}`,
      );
    },
  );

  // Broken on purpose, on the first cluster with OIDC.
  onRenders(
    'broken on purpose: Argo CD does not read a referenced Secret without the part-of label, and refuses a policy.csv with a stray quote',
    () => {
      const first = clusters.find(({ argocdCm }) => argocdCm['oidc.config'] !== undefined);
      if (first === undefined) {
        console.log('argocd-machinery suite: no cluster with OIDC (the label case is not run)');
      } else {
        const written = parseYaml(first.argocdCm['oidc.config'] as string) as Table;
        const [, secret] = /^\$([^:]+):/.exec(String(written.clientSecret)) ?? [];
        const unlabelled = first.objects.map((object) => {
          if (object.kind !== 'Secret' || object.metadata.name !== secret) return object;
          const labels = { ...object.metadata.labels };
          delete labels['app.kubernetes.io/part-of'];
          return { ...object, metadata: { ...meta(object), labels } } as unknown as KubeObject;
        });
        const response = argocdCheck(tool as NonNullable<typeof tool>, {
          namespace: first.namespace,
          objects: unlabelled,
        });
        expect(response.oidc?.clientSecret).not.toBe(
          standIn(secret as string, String(written.clientSecret).split(':')[1] as string),
        );
        expect(response.oidc?.clientSecret).toBe(written.clientSecret);
      }
      const target = clusters[0];
      expect(target).toBeDefined();
      if (target === undefined) return;
      const broken = target.objects.map((object) =>
        object.kind === 'ConfigMap' && object.metadata.name === 'argocd-rbac-cm'
          ? ({
              ...object,
              data: {
                ...((object as unknown as { data?: Table }).data ?? {}),
                'policy.csv': 'g, "platform-admins, role:admin\n',
              },
            } as unknown as KubeObject)
          : object,
      );
      const refused = argocdCheck(tool as NonNullable<typeof tool>, {
        namespace: target.namespace,
        objects: broken,
        rbac: rbacRequests(['platform-admins']),
      });
      expect(refused.rbacPolicyError).not.toBe('');
    },
  );
});
