// Layer 5 (DESIGN.md, "Validation layers"): the real Authelia, v4.39.19 (what the authelia chart
// 0.11.5 deploys, ghcr.io/authelia/authelia:4.39.19), validates the configuration Helm renders for
// every cluster of the committed output that deploys charts/authelia.
// 1. `authelia validate-config` (the hidden legacy name of `authelia config validate`,
//    internal/commands/config.go at v4.39.19) on what the pod reads: the ConfigMap file the
//    Deployment mounts (configuration.yaml), with the container's environment (`X_AUTHELIA_CONFIG`,
//    `X_AUTHELIA_CONFIG_FILTERS: template`, the `AUTHELIA_*_FILE` secrets and any other variable).
//    It loads every source as the server does (HelperConfigLoadRunE: the files through the
//    `template` filter, whose `{{ secret "<file>" }}` reads the file; the `*_FILE` variables,
//    each file read), then runs validator.ValidateKeys and validator.ValidateConfiguration: every
//    semantic rule Authelia refuses to start on (cookie domains against authelia_url, OIDC clients,
//    keys, secrets, storage, session). It opens no storage, directory, mail server or session
//    backend. Asserted: exit 0, "Configuration parsed and loaded successfully" or only the
//    expected warnings (below, by value), and no other line saying error or warning.
// 2. Broken on purpose, on the first cluster's render: authelia_url outside the session cookie's
//    domain, a redirect URI without a scheme, a storage encryption key shorter than 20
//    characters, and a secret file the Secret does not hold; Authelia's own messages asserted.
//    Changed and still accepted: a confidential client sending its secret in the request body
//    (`client_secret_post`) and a redirect URI with a query, which an application route's `oidc`
//    may register (a bogus method fails the same run).
//
// The pod's files, and what is rewritten. The container reads files under its volumeMounts only:
// each mount is made under a scratch root (`<root>/<mountPath>`): a ConfigMap volume gets the
// rendered ConfigMap's keys (its `items`, a `subPath` mount that one file); a Secret volume the
// rendered Secret's keys when the output holds that Secret (e.g. authelia-certificates, public CA
// certificates), else stand-ins for exactly the keys of the BitwardenSecret that fills it
// (`spec.secretName`, its `map[].secretKeyName`: the secret values are in Bitwarden, never in the
// output); an emptyDir or claim an empty folder. A Secret key a volume's `items` lists but the
// Secret does not hold fails the test (the kubelet would not start the pod). Stand-ins have the
// shape Authelia checks, by file name: `*.pem` an RSA 2048 private key (PKCS#8, node:crypto;
// Authelia refuses an RSA key under 2048 bits), `*.yml` a users database (one user, a PBKDF2-SHA512
// digest in Authelia's crypt format), anything else 64 random alphanumeric characters (storage
// encryption key: at least 20; plaintext client secrets and passwords: not starting with `$`, as
// the platform's are). Then every absolute path under a mountPath is prefixed with the root, in the
// configuration file(s) and the environment values (`X_AUTHELIA_CONFIG`, `*_FILE`), and nothing
// else is: a path outside every mount (which the pod could not read either) stays as rendered,
// and the configuration is otherwise byte for byte the rendered one, so `--config` is the rewritten
// `X_AUTHELIA_CONFIG`. validate-config reads no other file (the users database, SQLite file and
// notification file are only opened by the providers the server starts, LoadProviders, which
// validate-config does not call). `certificates_directory` (`/certificates`, rendered with
// `caCertificates`) is the mount of the rendered Secret authelia-certificates, rewritten like the
// rest: validate-config checks that it is a directory (validator/configuration.go).
//
// Warnings expected by value: one for each confidential client, "option 'client_secret' is
// plaintext but …" (errFmtOIDCClientInvalidSecretPlainText, validator/const.go at v4.39.19): the
// platform's client secrets are plaintext, as the client needs the same value, and Authelia 4.39
// accepts a value not starting with `$` so, with this deprecation warning (packages/authelia
// README). Any other warning fails, as does any error.
//
// Needs authelia (`.ci/run` builds it with .ci/install-authelia and passes its folder in
// AUTHELIA_DIR; else it is looked for on PATH and in the tools cache). Without it the suite is
// skipped and says "authelia suite: not run: authelia not found"; with CI=true a missing authelia
// fails. The renders also need `helm`. Nothing here names a cluster: they come from the committed
// output.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type KubeObject, parseYaml } from '@homelab/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FoundTool, findTool, onHelmRenders, toolSuite } from './find-tool.js';
import {
  type ChartRender,
  discoverRenders,
  findHelm,
  REPO,
  renderedObjects,
} from './helm/harness.js';

/** The Authelia the authelia chart 0.11.5 runs (its appVersion, image tag 4.39.19). */
const AUTHELIA_VERSION = '4.39.19';
/** The upstream chart whose Deployment and ConfigMap the suite reads. */
const AUTHELIA_CHART = 'authelia';
const INSTALL = 'build it: .ci/install-authelia, and put its folder in AUTHELIA_DIR or on PATH';

function findAuthelia(): FoundTool | undefined {
  return findTool(
    'authelia',
    'AUTHELIA_DIR',
    `authelia-v${AUTHELIA_VERSION}`,
    /^authelia version v(\S+)/,
  );
}

type Table = { [key: string]: unknown };
const isTable = (value: unknown): value is Table =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const tables = (value: unknown): Table[] => (Array.isArray(value) ? value.filter(isTable) : []);

// ---------------------------------------------------------------------------------------------
// The pod: its mounts, their files, its environment

interface Mount {
  readonly mountPath: string;
  /** The files of the mount: relative path (empty for a subPath file mount) to content. */
  readonly files: ReadonlyMap<string, string>;
  /** A single file (subPath), not a folder. */
  readonly file: boolean;
}

export interface PodFiles {
  readonly cluster: string;
  readonly mounts: readonly Mount[];
  /** The container's environment, as rendered. */
  readonly env: ReadonlyMap<string, string>;
  /** Which stand-in each BitwardenSecret-filled key got, `<secret>/<key>: <kind>`. */
  readonly standIns: readonly string[];
}

/** A stand-in of the shape Authelia checks for a secret file named `key` (see the header). */
function standIn(key: string): { kind: string; content: string } {
  if (key.endsWith('.pem')) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      kind: 'RSA 2048 private key',
      content: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }
  if (key.endsWith('.yml') || key.endsWith('.yaml')) {
    // go-crypt's PBKDF2 digest: $pbkdf2-sha512$<iterations>$<salt>$<key>, "adapted" base64
    // (`.` for `+`, no padding), as `authelia crypto hash generate pbkdf2` writes it.
    const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
    const salt = randomBytes(16);
    const digest = pbkdf2Sync(randomChars(32), salt, 310000, 64, 'sha512');
    const text = [
      'users:',
      '  standin:',
      '    disabled: false',
      "    displayname: 'Stand-in'",
      `    password: '$pbkdf2-sha512$310000$${ab64(salt)}$${ab64(digest)}'`,
      "    email: 'standin@example.com'",
      '    groups: []',
      '',
    ].join('\n');
    return { kind: 'users database', content: text };
  }
  return { kind: '64 random characters', content: randomChars(64) };
}

function randomChars(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The keys and contents of Secret `name`: rendered, or stand-ins for its BitwardenSecret's keys. */
function secretFiles(
  cluster: string,
  objects: readonly KubeObject[],
  namespace: string,
  name: string,
  standIns: string[],
): Map<string, string> {
  const rendered = objects.find(
    (o) =>
      o.apiVersion === 'v1' &&
      o.kind === 'Secret' &&
      o.metadata.name === name &&
      o.metadata.namespace === namespace,
  ) as
    | (KubeObject & { data?: Record<string, string>; stringData?: Record<string, string> })
    | undefined;
  if (rendered !== undefined) {
    const out = new Map<string, string>();
    for (const [key, value] of Object.entries(rendered.data ?? {})) {
      out.set(key, Buffer.from(value, 'base64').toString('utf8'));
    }
    for (const [key, value] of Object.entries(rendered.stringData ?? {})) out.set(key, value);
    return out;
  }
  const bitwarden = objects.find(
    (o) =>
      o.kind === 'BitwardenSecret' &&
      o.metadata.namespace === namespace &&
      (o as Table & { spec?: Table }).spec?.secretName === name,
  ) as (KubeObject & { spec: Table }) | undefined;
  if (bitwarden === undefined) {
    throw new Error(
      `${cluster}: no Secret ${namespace}/${name} rendered, nor a BitwardenSecret filling it`,
    );
  }
  const out = new Map<string, string>();
  for (const entry of tables(bitwarden.spec.map)) {
    const key = String(entry.secretKeyName);
    const { kind, content } = standIn(key);
    out.set(key, content);
    standIns.push(`${name}/${key}: ${kind}`);
  }
  return out;
}

/** The Authelia container's mounts, their files and its environment, from a render. */
export function podFiles(cluster: string, objects: readonly KubeObject[]): PodFiles {
  const deployments = objects.filter(
    (o) =>
      o.kind === 'Deployment' &&
      tables(at(o, 'spec', 'template', 'spec', 'containers')).some((c) =>
        String(c.image ?? '').startsWith('ghcr.io/authelia/authelia:'),
      ),
  );
  if (deployments.length !== 1) {
    throw new Error(`${cluster}: ${deployments.length} Authelia Deployments rendered, expected 1`);
  }
  const deployment = deployments[0] as KubeObject;
  const namespace = deployment.metadata.namespace ?? '';
  const podSpec = at(deployment, 'spec', 'template', 'spec') as Table;
  const container = tables(podSpec.containers).find((c) =>
    String(c.image ?? '').startsWith('ghcr.io/authelia/authelia:'),
  ) as Table;
  const volumes = new Map(tables(podSpec.volumes).map((v) => [String(v.name), v]));
  const standIns: string[] = [];
  const mounts: Mount[] = [];
  for (const mount of tables(container.volumeMounts)) {
    const volume = volumes.get(String(mount.name));
    if (volume === undefined)
      throw new Error(`${cluster}: volumeMount ${String(mount.name)} has no volume`);
    let source: Map<string, string>;
    let items: Table[] | undefined;
    let what: string;
    if (isTable(volume.configMap)) {
      const name = String(volume.configMap.name);
      what = `ConfigMap ${namespace}/${name}`;
      const cm = objects.find(
        (o) =>
          o.kind === 'ConfigMap' && o.metadata.name === name && o.metadata.namespace === namespace,
      ) as (KubeObject & { data?: Record<string, string> }) | undefined;
      if (cm === undefined) throw new Error(`${cluster}: no ${what} rendered`);
      source = new Map(Object.entries(cm.data ?? {}));
      items = Array.isArray(volume.configMap.items) ? tables(volume.configMap.items) : undefined;
    } else if (isTable(volume.secret)) {
      const name = String(volume.secret.secretName);
      what = `Secret ${namespace}/${name}`;
      source = secretFiles(cluster, objects, namespace, name, standIns);
      items = Array.isArray(volume.secret.items) ? tables(volume.secret.items) : undefined;
    } else if (isTable(volume.emptyDir) || isTable(volume.persistentVolumeClaim)) {
      what = 'an empty folder';
      source = new Map();
    } else {
      throw new Error(
        `${cluster}: volume ${String(volume.name)} is of a kind the suite does not know`,
      );
    }
    // What the kubelet puts in the volume: the listed items (each must exist), else every key.
    const files = new Map<string, string>();
    for (const item of items ?? [...source.keys()].map((key) => ({ key, path: key }))) {
      const content = source.get(String(item.key));
      if (content === undefined) {
        throw new Error(
          `${cluster}: ${what} has no key ${String(item.key)}, which volume ${String(volume.name)} lists`,
        );
      }
      files.set(String(item.path), content);
    }
    if (typeof mount.subPath === 'string' && mount.subPath !== '') {
      const content = files.get(mount.subPath);
      if (content === undefined)
        throw new Error(`${cluster}: ${what} has no ${mount.subPath} to mount`);
      mounts.push({
        mountPath: String(mount.mountPath),
        files: new Map([['', content]]),
        file: true,
      });
    } else {
      mounts.push({ mountPath: String(mount.mountPath), files, file: false });
    }
  }
  const env = new Map<string, string>();
  for (const variable of tables(container.env)) {
    if (typeof variable.value !== 'string') {
      throw new Error(`${cluster}: env ${String(variable.name)} has no literal value`);
    }
    env.set(String(variable.name), variable.value);
  }
  return { cluster, mounts, env, standIns };
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isTable(current) ? current[key] : undefined;
  return current;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `text` with every absolute path under a mount prefixed with `root`: a mountPath that starts a
 * token (after the start, a space, a quote, `=`, `,` or `[`) and ends at `/` or the token's end.
 * Longest mountPath first, each occurrence once.
 */
export function rewritePaths(text: string, mountPaths: readonly string[], root: string): string {
  const sorted = [...mountPaths].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(
    `(^|[\\s"'=,\\[])(${sorted.map(escapeRegExp).join('|')})(?=$|[/\\s"',\\]])`,
    'gm',
  );
  return text.replace(pattern, (_, before: string, path: string) => `${before}${root}${path}`);
}

interface Prepared {
  readonly root: string;
  readonly configFiles: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Writes the pod's files under `<dir>/root` and returns the rewritten environment. */
function materialize(pod: PodFiles, dir: string): Prepared {
  const root = join(dir, 'root');
  const mountPaths = pod.mounts.map((m) => m.mountPath);
  for (const mount of pod.mounts) {
    const target = join(root, mount.mountPath);
    if (mount.file) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, rewritePaths(mount.files.get('') ?? '', mountPaths, root));
      continue;
    }
    mkdirSync(target, { recursive: true });
    for (const [path, content] of mount.files) {
      mkdirSync(dirname(join(target, path)), { recursive: true });
      writeFileSync(join(target, path), content);
    }
  }
  const env: Record<string, string> = {};
  for (const [name, value] of pod.env) env[name] = rewritePaths(value, mountPaths, root);
  const configFiles = (env.X_AUTHELIA_CONFIG ?? '').split(',').filter((p) => p !== '');
  return { root, configFiles, env };
}

interface Run {
  readonly status: number;
  readonly output: string;
}

function validate(tool: FoundTool, prepared: Prepared, cwd: string): Run {
  const result = spawnSync(
    tool.path,
    ['validate-config', '--config', prepared.configFiles.join(',')],
    {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: cwd, ...prepared.env },
    },
  );
  if (result.error) throw result.error;
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** The `\t - <message>` lines of validate-config's output. */
const messages = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('\t - '))
    .map((line) => line.slice(4));

/** The warnings the header explains, for the clients of a rendered configuration. */
function expectedWarnings(configText: string): string[] {
  // The confidential clients: the ones whose client_secret is read from a file.
  const ids = [
    ...configText.matchAll(
      /- client_id: '([^']+)'\n(?:\s+client_name: '[^']*'\n)?\s+client_secret: '\{\{ secret /g,
    ),
  ].map((match) => match[1] as string);
  const out = ids.map(
    (id) =>
      `identity_providers: oidc: clients: client '${id}': option 'client_secret' is plaintext but for clients not using any endpoint authentication method 'client_secret_jwt' it should be a hashed value as plaintext values are deprecated with the exception of 'client_secret_jwt' and will be removed in the near future`,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// The suite

const discovery = discoverRenders();
/** The renders of charts that depend on the upstream authelia chart. */
const autheliaRenders = discovery.renders.filter((render) => {
  const chart = parseYaml(readFileSync(join(REPO, render.path, 'Chart.yaml'), 'utf8')) as Table;
  return tables(chart.dependencies).some((dependency) => dependency.name === AUTHELIA_CHART);
});

const authelia = findAuthelia();
const helm = findHelm();
let scratch = '';
const rendered = new Map<string, PodFiles>();
const start = Date.now();
let runs = 0;

function renderAll(): void {
  if (rendered.size > 0 || autheliaRenders.length === 0) return;
  if (helm === undefined)
    expect.fail('helm not found on PATH (.ci/run installs it: .ci/install-helm)');
  for (const { render, objects } of renderedObjects(
    helm,
    autheliaRenders as readonly ChartRender[],
    scratch,
  )) {
    rendered.set(render.cluster, podFiles(render.cluster, objects));
  }
}

function pod(cluster: string): PodFiles {
  renderAll();
  const files = rendered.get(cluster);
  if (files === undefined) throw new Error(`${cluster}: no Authelia pod rendered`);
  return files;
}

/** The configuration file mounted at `path` (the first of X_AUTHELIA_CONFIG by default). */
function configMount(files: PodFiles, path = files.env.get('X_AUTHELIA_CONFIG')?.split(',')[0]) {
  const mount = files.mounts.find((m) => m.file && m.mountPath === path);
  if (mount === undefined)
    throw new Error(`${files.cluster}: no configuration file mounted at ${path}`);
  return mount;
}

/** `files` with the configuration file's text replaced by `edit(text)`. */
function withConfig(files: PodFiles, edit: (text: string) => string): PodFiles {
  const mount = configMount(files);
  const text = mount.files.get('') ?? '';
  const edited = edit(text);
  expect(edited).not.toBe(text);
  return {
    ...files,
    mounts: files.mounts.map((m) => (m === mount ? { ...m, files: new Map([['', edited]]) } : m)),
  };
}

/** validate-config on `files`, made under a fresh folder; `root` is the pod's `/` there. */
function runOn(files: PodFiles): Run & { root: string } {
  runs++;
  const dir = mkdtempSync(join(scratch, `${files.cluster}-`));
  const prepared = materialize(files, dir);
  return { ...validate(authelia as FoundTool, prepared, dir), root: prepared.root };
}

const { suite, title } = toolSuite('authelia', authelia, INSTALL);
const onRenders = onHelmRenders('authelia', authelia, helm);

suite(title, () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-authelia-'));
  });
  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    console.log(
      `authelia suite: ${rendered.size} configuration(s), ${runs} validate-config runs, ${((Date.now() - start) / 1000).toFixed(1)} s in all`,
    );
  });

  it(`is Authelia v${AUTHELIA_VERSION}, which the authelia chart 0.11.5 deploys`, () => {
    if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
    expect(authelia.version).toBe(AUTHELIA_VERSION);
  });

  if (autheliaRenders.length === 0) {
    console.log('authelia suite: no cluster deploys charts/authelia (nothing to check)');
  }

  for (const render of autheliaRenders) {
    const { cluster } = render;
    onRenders(
      `${cluster}: authelia validate-config accepts the configuration and environment Helm renders`,
      () => {
        if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
        const files = pod(cluster);
        // The pod reads its configuration through the template filter, from mounted files.
        expect(files.env.get('X_AUTHELIA_CONFIG_FILTERS')).toBe('template');
        const text = configMount(files).files.get('') ?? '';
        // Every file Authelia reads a secret from lies in a mount (else the rewrite would leave
        // it pointing into this machine): the `{{ secret "<file>" }}` of the configuration and
        // the `*_FILE` variables.
        const read = [
          ...[...text.matchAll(/\{\{\s*secret\s+"([^"]+)"/g)].map((match) => match[1] as string),
          ...[...files.env].filter(([name]) => name.endsWith('_FILE')).map(([, value]) => value),
        ];
        expect(read.length).toBeGreaterThan(0);
        expect(
          read.filter(
            (path) => !files.mounts.some((m) => !m.file && path.startsWith(`${m.mountPath}/`)),
          ),
        ).toEqual([]);
        const run = runOn(files);
        console.log(
          `authelia suite: ${cluster}: ${files.env.get('X_AUTHELIA_CONFIG')}, ${[...files.env.keys()].filter((k) => k.endsWith('_FILE')).length} *_FILE variables, stand-ins: ${files.standIns.join('; ')}`,
        );
        expect(run.status, run.output).toBe(0);
        const expected = expectedWarnings(text);
        if (expected.length === 0) {
          expect(run.output).toContain(
            'Configuration parsed and loaded successfully without errors.',
          );
        } else {
          expect(run.output).toContain('Configuration parsed and loaded with warnings:');
        }
        expect(run.output).not.toContain('with errors');
        expect(messages(run.output)).toEqual(expected);
        // No log line (stderr) or other line says error or warning.
        const others = run.output
          .split('\n')
          .filter((line) => !line.startsWith('\t - ') && /error|warn/i.test(line))
          .filter(
            (line) =>
              line !== 'Configuration parsed and loaded with warnings:' &&
              line !== 'Configuration parsed and loaded successfully without errors.',
          );
        expect(others).toEqual([]);
      },
      10 * 60_000,
    );
  }

  // Broken on purpose, on the first cluster's render.
  const first = autheliaRenders[0]?.cluster;
  const brokenRuns = first !== undefined ? onRenders : it.skip;

  brokenRuns(
    'refuses an authelia_url outside the session cookie domain (broken on purpose)',
    () => {
      if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
      const files = pod(first as string);
      const text = configMount(files).files.get('') ?? '';
      const cookie = /- domain: '([^']+)'\n\s+authelia_url: '([^']+)'/.exec(text);
      if (cookie === null) throw new Error('no session cookie with authelia_url rendered');
      const [line, domain, url] = cookie as unknown as [string, string, string];
      const elsewhere = 'https://auth.elsewhere.invalid';
      const run = runOn(withConfig(files, (t) => t.replace(line, line.replace(url, elsewhere))));
      expect(run.status).not.toBe(0);
      expect(messages(run.output)).toContain(
        `session: domain config #1 (domain '${domain}'): option 'authelia_url' does not share a cookie scope with domain '${domain}' with a value of '${elsewhere}'`,
      );
    },
    10 * 60_000,
  );

  brokenRuns(
    "accepts what an application route's oidc may register: a confidential client posting its secret in the body, a redirect URI with a query",
    () => {
      if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
      const files = pod(first as string);
      const text = configMount(files).files.get('') ?? '';
      const method = /token_endpoint_auth_method: '?client_secret_basic'?/.exec(text)?.[0];
      if (method === undefined) throw new Error('no confidential client rendered');
      const run = runOn(
        withConfig(files, (t) =>
          t
            .replace(method, method.replace('client_secret_basic', 'client_secret_post'))
            .replace(/(redirect_uris:\n\s+- 'https:\/\/[^']+)'/, "$1?next=%2F'"),
        ),
      );
      expect(run.status, run.output).toBe(0);
      // The same warnings as the render itself (the plaintext client secrets'), no other.
      expect(messages(run.output)).toEqual(expectedWarnings(text));
    },
    10 * 60_000,
  );

  brokenRuns(
    'refuses a confidential client redirect URI without a scheme (broken on purpose)',
    () => {
      if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
      const files = pod(first as string);
      const text = configMount(files).files.get('') ?? '';
      const client =
        /- client_id: '([^']+)'\n(?:(?!\s+- client_id)[\s\S])*?public: false\n\s+redirect_uris:\n\s+- '(https:\/\/[^']+)'/.exec(
          text,
        );
      if (client === null)
        throw new Error('no confidential client with an https redirect rendered');
      const [, id, uri] = client as unknown as [string, string, string];
      const relative = uri.replace(/^https:\/\/[^/]+/, '');
      const run = runOn(withConfig(files, (t) => t.replace(`- '${uri}'`, `- '${relative}'`)));
      expect(run.status).not.toBe(0);
      expect(messages(run.output)).toContain(
        `identity_providers: oidc: clients: client '${id}': option 'redirect_uris' has an invalid value: redirect uri '${relative}' must have a scheme but it's absent`,
      );
    },
    10 * 60_000,
  );

  brokenRuns(
    'refuses a storage encryption key shorter than 20 characters (broken on purpose)',
    () => {
      if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
      const files = pod(first as string);
      const variable = files.env.get('AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE');
      if (variable === undefined)
        throw new Error('no AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE rendered');
      const mount = files.mounts.find((m) => variable.startsWith(`${m.mountPath}/`)) as Mount;
      const key = variable.slice(mount.mountPath.length + 1);
      const short = {
        ...files,
        mounts: files.mounts.map((m) =>
          m === mount ? { ...m, files: new Map([...m.files, [key, randomChars(19)]]) } : m,
        ),
      };
      const run = runOn(short);
      expect(run.status).not.toBe(0);
      expect(messages(run.output)).toContain(
        "storage: option 'encryption_key' must be 20 characters or longer",
      );
    },
    10 * 60_000,
  );

  brokenRuns(
    'refuses to load when a secret file the configuration reads is missing (broken on purpose)',
    () => {
      if (authelia === undefined) expect.fail(`authelia not found (${INSTALL})`);
      const files = pod(first as string);
      const variable = files.env.get('AUTHELIA_SESSION_SECRET_FILE');
      if (variable === undefined) throw new Error('no AUTHELIA_SESSION_SECRET_FILE rendered');
      const mount = files.mounts.find((m) => variable.startsWith(`${m.mountPath}/`)) as Mount;
      const key = variable.slice(mount.mountPath.length + 1);
      const missing = {
        ...files,
        mounts: files.mounts.map((m) =>
          m === mount ? { ...m, files: new Map([...m.files].filter(([k]) => k !== key)) } : m,
        ),
      };
      const run = runOn(missing);
      expect(run.status).not.toBe(0);
      const path = `${run.root}${variable}`;
      expect(messages(run.output)).toContain(
        `secrets: error loading secret path ${path} into key 'session.secret': file does not exist error occurred: open ${path}: no such file or directory`,
      );
      expect(run.output).toContain('Error: configuration validation failed');
    },
    10 * 60_000,
  );
});
