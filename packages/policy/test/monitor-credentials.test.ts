// The credential paths `provider-token` reads in the Prometheus Operator's kinds are those of the
// CRDs the platform's monitoring chart ships (the vendored kube-prometheus-stack), and the CEL
// made of them finds a reference at any depth, through lists, without failing on a missing field.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type JsonValue, type KubeObject, parseYaml, untar } from '@homelab/core';
import { vendored } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { runValidations, templatesByKind } from '../src/evaluate.js';
import { MONITOR_CREDENTIALS, MONITOR_FILES } from '../src/generated/monitor-credentials.js';
import {
  type CredentialKind,
  credentialObject,
  credentialPaths,
  credentialReferenceExpression,
  filePaths,
  fileReferenceExpression,
  monitorCredentialsModule,
} from '../src/monitor-credentials.js';
import { REGISTRY, runPolicy } from './helpers.js';

const CHART = 'kube-prometheus-stack';

/** The CustomResourceDefinitions of the vendored chart, and which chart and version they are. */
function vendoredCrds(): { crds: unknown[]; source: string } {
  const lock = JSON.parse(readFileSync(vendored('lock.json'), 'utf8')) as {
    artifacts: { name: string; version: string; path: string }[];
  };
  const pins = lock.artifacts.filter((artifact) => artifact.name === CHART);
  expect(pins).toHaveLength(1);
  const pin = pins[0] as { version: string; path: string };
  const prefix = `${CHART}/charts/crds/crds/`;
  const crds = untar(gunzipSync(readFileSync(vendored(pin.path))))
    .filter((file) => file.path.startsWith(prefix) && file.path.endsWith('.yaml'))
    .map((file) => parseYaml(new TextDecoder().decode(file.data)));
  return { crds, source: `${CHART} ${pin.version}` };
}

function vendoredKinds(): { kinds: CredentialKind[]; files: CredentialKind[]; source: string } {
  const { crds, source } = vendoredCrds();
  return { kinds: crds.map(credentialPaths), files: crds.map(filePaths), source };
}

describe('the Prometheus Operator credential paths', () => {
  test('are those of the vendored chart CRDs (else: node scripts/monitor-credentials.mjs)', () => {
    const { kinds, files, source } = vendoredKinds();
    const committed = readFileSync(
      fileURLToPath(new URL('../src/generated/monitor-credentials.ts', import.meta.url)),
      'utf8',
    );
    expect(committed).toBe(monitorCredentialsModule(kinds, files, source));
    // The files of the kinds read from every namespace: a ServiceMonitor's (its bearer token and
    // TLS files) and an AlertmanagerConfig receiver's (Telegram, Pushover); Prometheus' own
    // kinds have more, but the operator brings up none outside the monitoring namespace
    expect(
      MONITOR_FILES.flatMap((kind) => kind.paths.map((path) => `${kind.kind} ${path.join('.')}`)),
    ).toEqual([
      'AlertmanagerConfig receivers.[].pushoverConfigs.[].tokenFile',
      'AlertmanagerConfig receivers.[].pushoverConfigs.[].userKeyFile',
      'AlertmanagerConfig receivers.[].telegramConfigs.[].botTokenFile',
      'ServiceMonitor endpoints.[].bearerTokenFile',
      'ServiceMonitor endpoints.[].tlsConfig.caFile',
      'ServiceMonitor endpoints.[].tlsConfig.certFile',
      'ServiceMonitor endpoints.[].tlsConfig.keyFile',
    ]);
    // PrometheusRule names no Secret: left out
    expect(kinds.find((kind) => kind.kind === 'PrometheusRule')?.paths).toEqual([]);
    expect(MONITOR_CREDENTIALS.map((kind) => kind.kind)).toEqual([
      'Alertmanager',
      'AlertmanagerConfig',
      'PodMonitor',
      'Probe',
      'Prometheus',
      'PrometheusAgent',
      'ScrapeConfig',
      'ServiceMonitor',
      'ThanosRuler',
    ]);
  });

  test('name each kind in the version its vendored CRD serves and stores', () => {
    const { crds } = vendoredCrds();
    const stored = new Map(
      crds.map((crd) => {
        const { spec } = crd as {
          spec: { names: { kind: string }; versions: { name: string; storage?: boolean }[] };
        };
        const versions = spec.versions.filter((version) => version.storage === true);
        return [spec.names.kind, versions.map((version) => version.name)];
      }),
    );
    for (const kind of [...MONITOR_CREDENTIALS, ...MONITOR_FILES]) {
      expect([kind.version], kind.kind).toEqual(stored.get(kind.kind));
    }
    expect(
      Object.fromEntries(MONITOR_CREDENTIALS.map((kind) => [kind.kind, kind.version])),
    ).toEqual({
      Alertmanager: 'v1',
      AlertmanagerConfig: 'v1alpha1',
      PodMonitor: 'v1',
      Probe: 'v1',
      Prometheus: 'v1',
      PrometheusAgent: 'v1alpha1',
      ScrapeConfig: 'v1alpha1',
      ServiceMonitor: 'v1',
      ThanosRuler: 'v1',
    });
  });

  test('are refused for a CRD that stores no version, or one it does not serve', () => {
    const crd = (versions: { name: string; served: boolean; storage: boolean }[]) => ({
      metadata: { name: 'examples.example.org' },
      spec: { group: 'example.org', names: { kind: 'Example' }, versions },
    });
    expect(credentialPaths(crd([{ name: 'v1', served: true, storage: true }]))).toEqual({
      group: 'example.org',
      version: 'v1',
      kind: 'Example',
      paths: [],
    });
    expect(() =>
      credentialPaths(
        crd([
          { name: 'v1beta1', served: true, storage: false },
          { name: 'v1', served: true, storage: false },
        ]),
      ),
    ).toThrow(
      'CustomResourceDefinition examples.example.org: expected one version with storage: true in spec.versions, found 0 (v1beta1 (storage: false), v1 (storage: false))',
    );
    expect(() => filePaths(crd([{ name: 'v1', served: false, storage: true }]))).toThrow(
      'CustomResourceDefinition examples.example.org: its storage version v1 is not served (served: false), so no object can be written in it',
    );
  });

  test('are where credentialObject puts a value: a list its second item, a map its Proxy-Authorization', () => {
    const serviceMonitor = MONITOR_CREDENTIALS.find((kind) => kind.kind === 'ServiceMonitor');
    if (serviceMonitor === undefined) throw new Error('no ServiceMonitor');
    const path = ['endpoints', '[]', 'proxyConnectHeader', '{}', '[]'];
    expect(serviceMonitor.paths).toContainEqual(path);
    const selector = { name: 'own-secret', key: 'token' };
    const object = credentialObject(serviceMonitor, path, selector, {
      name: 'example',
      namespace: 'apps',
    });
    expect(object.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(object.kind).toBe('ServiceMonitor');
    expect(object.metadata).toEqual({ name: 'example', namespace: 'apps' });
    expect(valueAt(object.spec, path)).toEqual(selector);
    expect(object.spec).toEqual({
      endpoints: [
        {},
        { proxyConnectHeader: { 'X-Other': [], 'Proxy-Authorization': [{}, selector] } },
      ],
    });
    // A kind the CRD serves in v1alpha1 only: its objects are written in it
    const agent = MONITOR_CREDENTIALS.find((kind) => kind.kind === 'PrometheusAgent');
    const [first] = agent?.paths ?? [];
    if (agent === undefined || first === undefined) throw new Error('no PrometheusAgent path');
    const written = credentialObject(agent, first, selector, { name: 'agent', namespace: 'apps' });
    expect(written.apiVersion).toBe('monitoring.coreos.com/v1alpha1');
    expect(valueAt(written.spec, first)).toEqual(selector);
  });

  test("find the selectors of Secrets, not ConfigMaps', at every depth and through lists", () => {
    const serviceMonitor = MONITOR_CREDENTIALS.find((kind) => kind.kind === 'ServiceMonitor');
    const paths = serviceMonitor?.paths.map((path) => path.join('.')) ?? [];
    expect(paths).toContain('endpoints.[].bearerTokenSecret');
    expect(paths).toContain('endpoints.[].basicAuth.password');
    expect(paths).toContain('endpoints.[].tlsConfig.ca.secret');
    expect(paths).toContain('endpoints.[].oauth2.clientSecret');
    // a map of header names to lists of selectors, sent to the proxy in its CONNECT request
    expect(paths).toContain('endpoints.[].proxyConnectHeader.{}.[]');
    expect(paths.filter((path) => /configMap/.test(path))).toEqual([]);
    const config = MONITOR_CREDENTIALS.find((kind) => kind.kind === 'AlertmanagerConfig');
    expect(config?.paths.map((path) => path.join('.'))).toContain(
      'receivers.[].webhookConfigs.[].httpConfig.authorization.credentials',
    );
  });

  test('make CEL that merges shared prefixes, walks lists and escapes reserved words', () => {
    const kind: CredentialKind = {
      group: 'example.org',
      version: 'v1',
      kind: 'Example',
      paths: [
        ['auth', 'password'],
        ['auth', 'username'],
        ['items', '[]', 'namespace', 'token'],
      ],
    };
    expect(credentialReferenceExpression({ ...kind, paths: [['headers', '{}', '[]']] })).toBe(
      '(has(variables.anyObject.spec.headers) && variables.anyObject.spec.headers.exists(k0, variables.anyObject.spec.headers[k0].exists(i1, (has(i1.name) && i1.name in variables.params.secrets))))',
    );
    expect(credentialReferenceExpression(kind)).toBe(
      "((has(variables.anyObject.spec.auth) && ((has(variables.anyObject.spec.auth.password) && (has(variables.anyObject.spec.auth.password.name) && variables.anyObject.spec.auth.password.name in variables.params.secrets)) || (has(variables.anyObject.spec.auth.username) && (has(variables.anyObject.spec.auth.username.name) && variables.anyObject.spec.auth.username.name in variables.params.secrets)))) || (has(variables.anyObject.spec.items) && variables.anyObject.spec.items.exists(i0, ('namespace' in i0 && (has(i0['namespace'].token) && (has(i0['namespace'].token.name) && i0['namespace'].token.name in variables.params.secrets))))))",
    );
    // CEL's default limit is 100,000 code points per expression (cel-go parser
    // ExpressionSizeCodePointLimit): each kind's is one validation of its own
    for (const each of MONITOR_CREDENTIALS) {
      expect(credentialReferenceExpression(each).length).toBeLessThan(60_000);
    }
  });

  test('deny a reference to the token in every kind, at every path, and nothing else', () => {
    const run = runPolicy({});
    const template = templatesByKind(run.templates('prod')).get('HomelabProviderToken');
    if (template === undefined) throw new Error('no provider-token template');
    const parameters = { secrets: ['bw-auth-token'] };
    let checked = 0;
    for (const kind of MONITOR_CREDENTIALS) {
      for (const path of kind.paths) {
        const object = objectWith(kind, path, 'bw-auth-token');
        const denied = runValidations(template, object, parameters);
        expect(denied, `${kind.kind} ${path.join('.')}`).toEqual([
          `${kind.kind} names the secrets provider token (bw-auth-token) as a credential: the Prometheus Operator would read it and Prometheus or Alertmanager send it out`,
        ]);
        expect(runValidations(template, objectWith(kind, path, 'own-secret'), parameters)).toEqual(
          [],
        );
        checked++;
      }
    }
    expect(checked).toBe(MONITOR_CREDENTIALS.reduce((sum, kind) => sum + kind.paths.length, 0));
    expect(checked).toBeGreaterThan(500);
  });
});

describe('the Prometheus Operator file paths', () => {
  test('make CEL that tests for the field itself', () => {
    expect(
      fileReferenceExpression({
        group: 'example.org',
        version: 'v1',
        kind: 'Example',
        paths: [
          ['endpoints', '[]', 'bearerTokenFile'],
          ['endpoints', '[]', 'tls', 'keyFile'],
        ],
      }),
    ).toBe(
      '(has(variables.anyObject.spec.endpoints) && variables.anyObject.spec.endpoints.exists(i0, ((has(i0.bearerTokenFile) && size(i0.bearerTokenFile) > 0) || (has(i0.tls) && (has(i0.tls.keyFile) && size(i0.tls.keyFile) > 0)))))',
    );
  });

  test('deny each file path of the kinds read from every namespace, outside the monitoring namespace only', () => {
    const run = runPolicy({});
    const template = templatesByKind(run.templates('prod')).get('HomelabMonitorFiles');
    if (template === undefined) throw new Error('no monitor-files template');
    let checked = 0;
    for (const kind of MONITOR_FILES) {
      for (const path of kind.paths) {
        const object = objectAt(kind, path, '/var/run/secrets/kubernetes.io/serviceaccount/token');
        expect(runValidations(template, object, {}), `${kind.kind} ${path.join('.')}`).toEqual([
          expect.stringMatching(
            new RegExp(
              `^${kind.kind} names a file of the (Prometheus|Alertmanager) pods as a credential \\(.*${path.at(-1)}.*\\), which would be sent out`,
            ),
          ),
        ]);
        // the same object without the file, or with an empty one (left out by the operator):
        // admitted
        expect(runValidations(template, objectAt(kind, path.slice(0, -1), {}), {})).toEqual([]);
        expect(runValidations(template, objectAt(kind, path, ''), {})).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBe(7);
    // The constraint leaves out the namespace of the metrics provider, whose own monitors scrape
    // the kubelets and the API server with Prometheus' token and the cluster CA as files
    const constraint = run.constraints('prod').find((c) => c.metadata.name === 'monitor-files') as
      | (KubeObject & { spec: { match: { excludedNamespaces: string[] } } })
      | undefined;
    expect(constraint?.spec.match.excludedNamespaces).toContain('monitoring');
    expect(constraint?.spec.match.excludedNamespaces).not.toContain('apps');
    expect(
      JSON.parse(constraint?.metadata.annotations?.['homelab.dev/exemptions'] ?? '[]'),
    ).toContainEqual({
      namespace: 'monitoring',
      reason:
        "the namespace of metrics's Prometheus and Alertmanager, whose own monitors read their pods' files",
    });
  });

  test('are no constraint where no component runs Prometheus and Alertmanager', () => {
    const without = runPolicy(
      {},
      REGISTRY.filter((component) => component.name !== 'metrics'),
    );
    expect(without.constraints('prod').map((c) => c.metadata.name)).not.toContain('monitor-files');
    expect(without.constraints('prod').map((c) => c.metadata.name)).toContain('provider-token');
  });
});

/** An object of `kind` whose only field is `value` at `path` (`[]`: a list, its second item). */
function objectAt(kind: CredentialKind, path: readonly string[], value: JsonValue): KubeObject {
  return credentialObject(kind, path, value, { name: 'example', namespace: 'apps' });
}

/** An object of `kind` whose only field is a selector of Secret `name` at `path`. */
function objectWith(kind: CredentialKind, path: readonly string[], name: string): KubeObject {
  return objectAt(kind, path, { name, key: 'token' });
}

/**
 * The value at `path` in `spec` as `credentialObject` builds it, failing unless every step is
 * what it makes: a key alone, a list of `{}` then the rest, a map of `X-Other` (empty) then
 * `Proxy-Authorization`.
 */
function valueAt(spec: unknown, path: readonly string[]): unknown {
  let node = spec;
  for (const segment of path) {
    if (segment === '[]') {
      expect(node).toEqual([{}, expect.anything()]);
      node = (node as unknown[])[1];
    } else if (segment === '{}') {
      const map = node as { [key: string]: unknown };
      expect(Object.keys(map)).toEqual(['X-Other', 'Proxy-Authorization']);
      expect(map['X-Other']).toEqual([]);
      node = map['Proxy-Authorization'];
    } else {
      const object = node as { [key: string]: unknown };
      expect(Object.keys(object)).toEqual([segment]);
      node = object[segment];
    }
  }
  return node;
}
