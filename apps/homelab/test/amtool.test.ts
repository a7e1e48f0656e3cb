// Layer 5 (DESIGN.md, "Validation layers"): the real amtool, of the Alertmanager that
// kube-prometheus-stack 88.5.3 deploys (v0.34.0), on the Alertmanager configuration of the
// committed output.
// 1. `amtool check-config` on the configuration Helm renders for every cluster that deploys
//    kube-prometheus-stack: the Secret the Prometheus Operator reads for the cluster's
//    Alertmanager (`spec.configSecret`, else `alertmanager-<name>`), key `alertmanager.yaml`.
//    That is the definition's `alertmanager.config` after Helm merged it over the chart's
//    default (maps merge, lists replace), which no unit test sees.
// 2. `amtool config routes test`: for label sets that reach every sub-route (Watchdog, each
//    severity, each alert a sub-route names, an alert no sub-route names), the receivers amtool
//    answers are the ones the definition promises (Watchdog only to the heartbeat receiver, or
//    to `null` without a heartbeat; a `continue` sub-route's alerts on to the later ones and
//    then to the default receiver), and the ones receiversFor (packages/monitoring
//    src/route-match.ts, the simulator the unit tests use) answers on the same routing tree.
// 3. Broken on purpose: a `continue: true` sub-route left last (amtool sends its critical alerts
//    to that receiver only, not on to the default one the definition promises), and a route to a
//    receiver the configuration does not define (check-config fails).
//
// Receivers read their credentials from files (`url_file`, `api_url_file`, `auth_password_file`
// under /etc/alertmanager/secrets/, where the operator mounts the Secrets). amtool v0.34.0 does
// not read them: check-config runs config.LoadFile, which reads the configuration file only and
// keeps the `*_file` fields as paths (config/config.go `LoadFile`, `resolveFilepaths` only makes
// relative paths absolute); the notifiers read them when they send (notify/webhook/webhook.go,
// notify/slack/slack.go, notify/email/email.go `os.ReadFile` in Notify). So the configuration is
// checked as rendered, with no stand-in files and no path rewritten. The `templates` glob
// (/etc/alertmanager/config/*.tmpl) matches nothing here; check-config takes a glob matching
// nothing as no templates (cli/check_config.go), as Alertmanager does.
//
// Needs amtool (`.ci/run` builds it with .ci/install-amtool and passes its folder in AMTOOL_DIR;
// else it is looked for on PATH and in the tools cache). Without it the suite is skipped and says
// "amtool suite: not run: amtool not found" (a skipped test is not a passed one); with CI=true a
// missing amtool fails. The renders also need `helm` (without it the tests on them say "not run",
// and fail in CI). Nothing here names a cluster or a receiver: the clusters come from the
// committed output, the promises from apps/homelab/platform.yaml.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY } from '@homelab/cli';
import {
  componentSettings,
  composeDefinitionSchema,
  definitionValidator,
  formatIssue,
  type KubeObject,
  loadDefinition,
  parseYaml,
  resolvePlatform,
} from '@homelab/core';
import { type MonitoringSettings, type RouteNode, receiversFor } from '@homelab/monitoring';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FoundTool, findTool, onHelmRenders, toolSuite } from './find-tool.js';
import {
  type ChartRender,
  discoverRenders,
  findHelm,
  REPO,
  renderedObjects,
} from './helm/harness.js';

/** The Alertmanager kube-prometheus-stack 88.5.3 runs (values.yaml alertmanagerSpec.image.tag). */
const ALERTMANAGER_VERSION = '0.34.0';
/** The upstream chart whose Alertmanager configuration Secret the suite checks. */
const KUBE_PROMETHEUS_STACK = 'kube-prometheus-stack';
const INSTALL = 'build it: .ci/install-amtool, and put its folder in AMTOOL_DIR or on PATH';

type Amtool = FoundTool;

/** amtool from AMTOOL_DIR, else PATH, else the tools cache .ci/install-amtool fills. */
function findAmtool(): Amtool | undefined {
  return findTool(
    'amtool',
    'AMTOOL_DIR',
    `amtool-v${ALERTMANAGER_VERSION}`,
    /^amtool, version (\S+)/,
  );
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly output: string;
}

/** Runs amtool in `cwd`, with `cwd` as HOME (no ~/.config/amtool/config.yml of the user's). */
function runAmtool(tool: Amtool, args: readonly string[], cwd: string): Run {
  const result = spawnSync(tool.path, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: cwd },
  });
  if (result.error) throw result.error;
  return {
    status: result.status ?? 1,
    stdout: result.stdout,
    output: `${result.stdout}${result.stderr}`,
  };
}

// ---------------------------------------------------------------------------------------------
// The definition: what each cluster's routing promises

type Table = { [key: string]: unknown };
type AlertmanagerSettings = NonNullable<MonitoringSettings['alertmanager']>;
type Labels = Readonly<Record<string, string>>;

const DEFINITION_FILE = join(REPO, 'apps', 'homelab', 'platform.yaml');
const SEVERITIES = ['critical', 'warning', 'info', 'none'] as const;
/** An alert name no sub-route of any definition names. */
const UNNAMED_ALERT = 'AmtoolSuiteProbe';

/** `components.monitoring.alertmanager` of every cluster that enables monitoring. */
function definitionSettings(): Map<string, AlertmanagerSettings> {
  const loaded = loadDefinition(
    readFileSync(DEFINITION_FILE, 'utf8'),
    DEFINITION_FILE,
    definitionValidator(composeDefinitionSchema(REGISTRY)),
  );
  if (loaded.definition === undefined) {
    throw new Error(`${DEFINITION_FILE}: ${loaded.issues.map(formatIssue).join('; ')}`);
  }
  const platform = resolvePlatform(loaded.definition);
  const monitoring = REGISTRY.find((component) => component.name === 'monitoring');
  if (monitoring === undefined) throw new Error('no monitoring component in the registry');
  const out = new Map<string, AlertmanagerSettings>();
  for (const cluster of platform.clusters) {
    const settings = componentSettings(platform, monitoring, cluster);
    // `enabled` defaults to true (core components.ts isEnabled).
    if (settings.enabled === false) continue;
    out.set(cluster.name, (settings as MonitoringSettings).alertmanager ?? {});
  }
  return out;
}

/**
 * The receivers the definition promises an alert with `labels` (packages/monitoring README,
 * "Alertmanager"): Watchdog to the heartbeat receiver and nowhere else, or to `null` without a
 * heartbeat; any other alert to each sub-route that takes it (its severity among `severities`,
 * its name among `alerts`), in order, the first without `continue` ending the walk; an alert
 * that no sub-route ended with goes to the default receiver (`route.receiver`, else the first
 * receiver other than the heartbeat's, else `null`).
 */
function promised(am: AlertmanagerSettings, labels: Labels): string[] {
  if (labels.alertname === 'Watchdog') return [am.heartbeat?.receiver ?? 'null'];
  const human = (am.receivers ?? [])
    .map((receiver) => receiver.name)
    .filter((name) => name !== am.heartbeat?.receiver);
  const fallback = am.route?.receiver ?? human[0] ?? 'null';
  const out: string[] = [];
  for (const sub of am.route?.routes ?? []) {
    const severity =
      sub.severities === undefined || sub.severities.some((s) => s === labels.severity);
    const name = sub.alerts === undefined || sub.alerts.includes(labels.alertname ?? '');
    if (!severity || !name) continue;
    out.push(sub.receiver);
    if (sub.continue !== true) return out;
  }
  out.push(fallback);
  return out;
}

/** Label sets that reach every sub-route the definition can write: names × severities. */
function labelSets(am: AlertmanagerSettings): Labels[] {
  const names = new Set(['Watchdog', UNNAMED_ALERT]);
  for (const sub of am.route?.routes ?? []) for (const alert of sub.alerts ?? []) names.add(alert);
  const out: Labels[] = [];
  for (const alertname of names) {
    for (const severity of SEVERITIES) out.push({ alertname, severity, namespace: 'monitoring' });
  }
  out.push({ alertname: UNNAMED_ALERT, namespace: 'monitoring' });
  return out;
}

const labelArgs = (labels: Labels) => Object.entries(labels).map(([k, v]) => `${k}=${v}`);

// ---------------------------------------------------------------------------------------------
// The renders: the configuration Secret of every cluster's Alertmanager

interface RenderedConfig {
  readonly cluster: string;
  /** `<namespace>/<name>` of the Secret. */
  readonly secret: string;
  /** The Secret's `alertmanager.yaml`, as Alertmanager gets it. */
  readonly text: string;
  readonly config: Table;
}

const discovery = discoverRenders();
/** The renders of charts that depend on kube-prometheus-stack (its Alertmanager). */
const alertmanagerRenders = discovery.renders.filter((render) => {
  const chart = parseYaml(readFileSync(join(REPO, render.path, 'Chart.yaml'), 'utf8')) as Table;
  const dependencies = Array.isArray(chart.dependencies) ? (chart.dependencies as Table[]) : [];
  return dependencies.some((dependency) => dependency.name === KUBE_PROMETHEUS_STACK);
});
const definitions = definitionSettings();

/**
 * The configuration Secret of the Alertmanager in `objects`: the one the Prometheus Operator
 * v0.93 reads, `spec.configSecret` or else `alertmanager-<name>` (its pkg/alertmanager
 * `defaultConfigSecretName`), key `alertmanager.yaml`.
 */
function configOf(cluster: string, objects: readonly KubeObject[]): RenderedConfig {
  const managers = objects.filter(
    (object) => object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'Alertmanager',
  );
  if (managers.length !== 1) {
    throw new Error(`${cluster}: ${managers.length} Alertmanager objects rendered, expected 1`);
  }
  const manager = managers[0] as KubeObject & { spec?: { configSecret?: string } };
  const namespace = manager.metadata.namespace;
  const name = manager.spec?.configSecret || `alertmanager-${manager.metadata.name}`;
  const secret = objects.find(
    (object) =>
      object.apiVersion === 'v1' &&
      object.kind === 'Secret' &&
      object.metadata.name === name &&
      object.metadata.namespace === namespace,
  ) as (KubeObject & { data?: Record<string, string> }) | undefined;
  const data = secret?.data?.['alertmanager.yaml'];
  if (data === undefined) {
    throw new Error(`${cluster}: no Secret ${namespace}/${name} with alertmanager.yaml rendered`);
  }
  const text = Buffer.from(data, 'base64').toString('utf8');
  return { cluster, secret: `${namespace}/${name}`, text, config: parseYaml(text) as Table };
}

// ---------------------------------------------------------------------------------------------
// The suite

const amtool = findAmtool();
const helm = findHelm();
let scratch = '';
const rendered = new Map<string, RenderedConfig>();
const timings = { routeTests: 0 };
const start = Date.now();

/** Writes `config` (JSON is YAML) or `text` to a fresh folder and returns the folder. */
function writeConfig(content: Table | string): string {
  const dir = mkdtempSync(join(scratch, 'config-'));
  writeFileSync(
    join(dir, 'alertmanager.yaml'),
    typeof content === 'string' ? content : JSON.stringify(content, null, 1),
  );
  return dir;
}

/** The receivers amtool routes `labels` to on the configuration in `dir`. */
function amtoolReceivers(dir: string, labels: Labels): string[] {
  timings.routeTests++;
  const run = runAmtool(
    amtool as Amtool,
    ['config', 'routes', 'test', '--config.file=alertmanager.yaml', ...labelArgs(labels)],
    dir,
  );
  if (run.status !== 0) throw new Error(`amtool config routes test failed: ${run.output}`);
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  return line === '' ? [] : line.split(',');
}

function checkConfig(dir: string): Run {
  return runAmtool(amtool as Amtool, ['check-config', 'alertmanager.yaml'], dir);
}

/** Renders every Alertmanager chart with the real Helm, once. */
function renderAll(): void {
  if (rendered.size > 0 || alertmanagerRenders.length === 0) return;
  if (helm === undefined)
    expect.fail('helm not found on PATH (.ci/run installs it: .ci/install-helm)');
  for (const { render, objects } of renderedObjects(
    helm,
    alertmanagerRenders as readonly ChartRender[],
    scratch,
  )) {
    rendered.set(render.cluster, configOf(render.cluster, objects));
  }
}

function renderedConfig(cluster: string): RenderedConfig {
  renderAll();
  const config = rendered.get(cluster);
  if (config === undefined) throw new Error(`${cluster}: no Alertmanager configuration rendered`);
  return config;
}

const { suite, title } = toolSuite('amtool', amtool, INSTALL);
const onRenders = onHelmRenders('amtool', amtool, helm);

suite(title, () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-amtool-'));
  });
  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    console.log(
      `amtool suite: ${rendered.size} configuration(s), ${timings.routeTests} amtool config routes test runs, ${((Date.now() - start) / 1000).toFixed(1)} s in all`,
    );
  });

  it(`is the amtool of Alertmanager ${ALERTMANAGER_VERSION}, which kube-prometheus-stack 88.5.3 deploys`, () => {
    if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
    expect(amtool.version).toBe(ALERTMANAGER_VERSION);
  });

  it('finds an Alertmanager configuration to check for every cluster whose definition enables monitoring', () => {
    expect(alertmanagerRenders.map((render) => render.cluster).sort()).toEqual(
      [...definitions.keys()].sort(),
    );
  });

  if (alertmanagerRenders.length === 0) {
    console.log('amtool suite: no cluster deploys kube-prometheus-stack (nothing to check)');
  }

  for (const render of alertmanagerRenders) {
    const { cluster } = render;

    onRenders(
      `${cluster}: amtool check-config accepts the Alertmanager configuration Helm renders`,
      () => {
        if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
        const { text, config, secret } = renderedConfig(cluster);
        const run = checkConfig(writeConfig(text));
        console.log(
          `amtool suite: ${cluster}: check-config of Secret ${secret}: ${run.stdout.trim().split('\n')[0]}`,
        );
        expect(run.status, run.output).toBe(0);
        expect(run.stdout).toMatch(/^Checking 'alertmanager\.yaml' {2}SUCCESS$/m);
        // Every receiver of the definition, and `null`, reached Alertmanager.
        const am = definitions.get(cluster) ?? {};
        const names = ((config.receivers ?? []) as Table[]).map((r) => String(r.name)).sort();
        expect(names).toEqual(['null', ...(am.receivers ?? []).map((r) => r.name)].sort());
        expect(run.stdout).toContain(` - ${names.length} receivers`);
      },
      10 * 60_000,
    );

    onRenders(
      `${cluster}: amtool config routes test sends every label set where the definition says, as receiversFor does`,
      () => {
        if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
        const { text, config } = renderedConfig(cluster);
        const am = definitions.get(cluster) ?? {};
        const route = config.route as RouteNode;
        const dir = writeConfig(text);
        const sets = labelSets(am);
        // The label sets reach every sub-route of the rendered tree.
        const unreached = (route.routes ?? []).filter(
          (sub) => !sets.some((labels) => receiversFor({ ...sub, routes: [] }, labels).length > 0),
        );
        expect(unreached).toEqual([]);
        const differences: string[] = [];
        for (const labels of sets) {
          const said = amtoolReceivers(dir, labels);
          const promise = promised(am, labels);
          const simulated = receiversFor(route, labels);
          if (said.join(',') !== promise.join(',') || said.join(',') !== simulated.join(',')) {
            differences.push(
              `${labelArgs(labels).join(' ')}: amtool ${said.join(',')}, definition ${promise.join(',')}, receiversFor ${simulated.join(',')}`,
            );
          }
        }
        expect(differences).toEqual([]);
        // Watchdog: only the heartbeat receiver when there is one, else null.
        expect(amtoolReceivers(dir, { alertname: 'Watchdog', severity: 'none' })).toEqual([
          am.heartbeat?.receiver ?? 'null',
        ]);
      },
      10 * 60_000,
    );
    onRenders(
      `${cluster}: the runbook's test alert reaches a person's receiver, as amtool routes it on the configuration Helm renders`,
      () => {
        if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
        const { text, config } = renderedConfig(cluster);
        const runbook = readFileSync(join(REPO, 'clusters', cluster, 'RUNBOOK.md'), 'utf8');
        const section = runbook.indexOf('. Send a test alert\n');
        const route = config.route as RouteNode;
        if (section < 0) {
          // No test where alerts reach nobody: everything goes to the null receiver.
          expect(route.receiver).toBe('null');
          return;
        }
        const block = runbook.slice(section, runbook.indexOf('\n## ', section));
        // The labels the runbook sends, and those it asks the route of: the same.
        const sent = /amtool alert add ((?:\S+=\S+ )+)--annotation/.exec(block)?.[1]?.trim();
        const asked = /amtool config routes test \S+ ((?:\S+=\S+ ?)+)$/m.exec(block)?.[1]?.trim();
        expect(sent).toBeDefined();
        expect(asked).toBe(sent);
        const labels = Object.fromEntries(
          (sent as string).split(' ').map((pair) => pair.split('=') as [string, string]),
        );
        const said = amtoolReceivers(writeConfig(text), labels);
        const heartbeat = definitions.get(cluster)?.heartbeat?.receiver;
        expect(said.length).toBeGreaterThan(0);
        expect(said.filter((name) => name === 'null' || name === heartbeat)).toEqual([]);
        expect(said).toEqual(receiversFor(route, labels));
      },
      10 * 60_000,
    );
  }

  // Broken on purpose, on the first cluster's rendered configuration.
  const first = alertmanagerRenders[0]?.cluster;
  const brokenRuns = first !== undefined ? onRenders : it.skip;

  brokenRuns(
    'routes critical alerts only to a `continue: true` sub-route left last, not on to the default receiver the definition promises (broken on purpose)',
    () => {
      if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
      const { config } = renderedConfig(first as string);
      const route = config.route as Table & { receiver: string; routes: Table[] };
      const watchdog = route.routes[0] as Table;
      const fallback = route.receiver;
      // A sub-route to another receiver for critical alerts, with continue: the definition's
      // "and go on" (to the default receiver).
      const other =
        ((config.receivers ?? []) as Table[])
          .map((receiver) => String(receiver.name))
          .find((name) => name !== 'null' && name !== watchdog.receiver && name !== fallback) ??
        fallback;
      const definition: AlertmanagerSettings = {
        ...(definitions.get(first as string) ?? {}),
        route: {
          receiver: fallback,
          routes: [{ receiver: other, severities: ['critical'], continue: true }],
        },
      };
      const sub = { receiver: other, matchers: ['severity =~ "critical"'], continue: true };
      const broken = { ...config, route: { ...route, routes: [watchdog, sub] } };
      const right = {
        ...config,
        route: { ...route, routes: [watchdog, sub, { receiver: fallback }] },
      };
      const labels = { alertname: UNNAMED_ALERT, severity: 'critical', namespace: 'monitoring' };
      const promise = promised(definition, labels);
      expect(promise).toEqual([other, fallback]);
      const rightDir = writeConfig(right);
      expect(checkConfig(rightDir).status).toBe(0);
      expect(amtoolReceivers(rightDir, labels)).toEqual(promise);
      const brokenDir = writeConfig(broken);
      expect(checkConfig(brokenDir).status).toBe(0);
      const said = amtoolReceivers(brokenDir, labels);
      expect(said).toEqual([other]);
      expect(said).not.toEqual(promise);
      // The simulator answers as amtool does.
      expect(receiversFor(broken.route as unknown as RouteNode, labels)).toEqual(said);
    },
    10 * 60_000,
  );

  brokenRuns(
    "accepts an email receiver's own CA as the monitoring package renders it (`tls_config.ca`, packages/monitoring test/component.test.ts), and refuses a misspelt key (broken on purpose)",
    () => {
      if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
      const { config } = renderedConfig(first as string);
      const ca = readFileSync(
        join(REPO, 'packages/monitoring/test/fixtures/private-ca.crt'),
        'utf8',
      );
      const withTls = (tls: Table) => ({
        ...config,
        receivers: [
          ...((config.receivers ?? []) as Table[]),
          {
            name: 'own-ca-mail',
            email_configs: [
              {
                to: 'ops@example.com',
                from: 'am@example.com',
                smarthost: 'smtp.example.com:587',
                require_tls: true,
                tls_config: tls,
                send_resolved: true,
              },
            ],
          },
        ],
      });
      const right = checkConfig(writeConfig(withTls({ ca })));
      expect(right.status, right.output).toBe(0);
      const broken = checkConfig(writeConfig(withTls({ ca_pem: ca })));
      expect(broken.status).not.toBe(0);
      expect(broken.stdout).toContain('field ca_pem not found');
    },
    10 * 60_000,
  );

  brokenRuns(
    'refuses a route to a receiver the configuration does not define (broken on purpose)',
    () => {
      if (amtool === undefined) expect.fail(`amtool not found (${INSTALL})`);
      const { config } = renderedConfig(first as string);
      const route = config.route as Table & { routes: Table[] };
      const broken = {
        ...config,
        route: {
          ...route,
          routes: [
            ...route.routes,
            { receiver: 'no-such-receiver', matchers: ['severity = "info"'] },
          ],
        },
      };
      const run = checkConfig(writeConfig(broken));
      expect(run.status).not.toBe(0);
      expect(run.stdout).toContain('FAILED: undefined receiver "no-such-receiver" used in route');
    },
    10 * 60_000,
  );
});
