// charts/monitoring against the pinned upstream (vendor/): every key set under
// kube-prometheus-stack exists in its values.yaml or in the values.yaml of the subchart it goes to
// (Grafana, kube-state-metrics, node-exporter); every ServiceMonitor, PodMonitor and
// PrometheusRule validates against the CRDs of the pinned chart and against the component's
// validators (@kubernetes-models/prometheus-operator); every dashboard query parses.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import {
  type ChartSpec,
  jsonSchemaValidator,
  type KubeObject,
  mergeValues,
  type ObjectValidator,
  parseYaml,
  readChartArchiveFile,
  untar,
  type Values,
  validateObjects,
} from '@homelab/core';
import { readVendoredChartFile, unknownValueKeys, vendored } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { monitoringComponent } from '../src/component.js';
import longhorn from '../src/dashboards/longhorn.json' with { type: 'json' };
import platform from '../src/dashboards/platform.json' with { type: 'json' };
import { promqlProblem } from '../src/promql.js';
import { KUBE_PROMETHEUS_STACK_CHART } from '../src/versions.js';
import { type Loose, PROVIDERS, runMonitoring, watched } from './helpers.js';

const CHART = KUBE_PROMETHEUS_STACK_CHART.name;
const VERSION = KUBE_PROMETHEUS_STACK_CHART.version;

/** A file of a subchart archive inside the vendored kube-prometheus-stack archive. */
function subchartFile(prefix: string, file: string): string {
  const outer = untar(
    gunzipSync(readFileSync(vendored('charts', CHART, VERSION, `${CHART}-${VERSION}.tgz`))),
  );
  const nested = outer.find(
    (file) => file.path.startsWith(`${CHART}/charts/${prefix}-`) && file.path.endsWith('.tgz'),
  );
  if (nested === undefined) throw new Error(`no ${prefix} subchart in ${CHART} ${VERSION}`);
  return readChartArchiveFile(nested.data, `${prefix}/${file}`);
}

function subchartValues(prefix: string): Values {
  return parseYaml(subchartFile(prefix, 'values.yaml')) as Values;
}

/**
 * Keys a subchart's templates read that its values.yaml does not list (checked below against
 * the template text).
 */
const TEMPLATE_ONLY_KEYS = { grafana: { fullnameOverride: '' } };

/** kube-prometheus-stack's values with each subchart's own values under its key. */
const upstream = mergeValues(
  TEMPLATE_ONLY_KEYS,
  {
    grafana: subchartValues('grafana'),
    'kube-state-metrics': subchartValues('kube-state-metrics'),
    'prometheus-node-exporter': subchartValues('prometheus-node-exporter'),
  },
  parseYaml(readVendoredChartFile(CHART, VERSION, 'values.yaml')) as Values,
);

/**
 * Maps the charts copy verbatim: Alertmanager's configuration file, grafana.ini (INI sections
 * are arbitrary), and the disruption budgets (`toYaml (omit … "enabled")` into the PDB spec).
 */
const PASS_THROUGH = new Set([
  'alertmanager.config',
  'grafana.grafana.ini',
  'alertmanager.podDisruptionBudget',
  'prometheus.podDisruptionBudget',
]);

const run = runMonitoring(
  {
    grafana: {
      oidc: {
        clientId: 'grafana',
        clientSecret: { secretName: 'grafana-oidc', key: 'client-secret' },
      },
      adminGroups: ['admins'],
    },
    alertmanager: {
      receivers: [
        { name: 'chat', slack: { channel: '#a' }, credentials: { secretName: 'chat', key: 'url' } },
      ],
    },
  },
  [
    ...PROVIDERS,
    watched('web', [
      {
        name: 'api',
        namespace: 'web',
        target: { kind: 'service', selector: { app: 'api' }, port: 'https', scheme: 'https' },
      },
      {
        name: 'web',
        namespace: 'web',
        target: { kind: 'pod', selector: { app: 'web' }, port: 'metrics', scheme: 'https' },
        rules: [
          {
            alert: 'WebDown',
            expr: 'up{job="web"} == 0',
            for: '5m',
            severity: 'critical',
            summary: 'Web is down.',
          },
        ],
      },
    ]),
  ],
);

function layers(chart: ChartSpec): { name: string; values: Values }[] {
  return [
    { name: 'values.yaml', values: chart.values },
    ...Object.entries(chart.environments).map(([env, values]) => ({
      name: `env/${env}.yaml`,
      values: values ?? {},
    })),
    ...Object.entries(chart.clusters).map(([cluster, values]) => ({
      name: `clusters/${cluster}.yaml`,
      values,
    })),
  ];
}

describe(`${CHART} ${VERSION} values conformance`, () => {
  const chart = run.output?.chart;
  if (chart === undefined) throw new Error('no chart');
  const all = layers(chart);

  it('checks the base, every environment and every cluster layer', () => {
    expect(all.map((layer) => layer.name)).toEqual([
      'values.yaml',
      'env/development.yaml',
      'env/production.yaml',
      'env/staging.yaml',
      'clusters/dev.yaml',
      'clusters/staging.yaml',
      'clusters/prod.yaml',
    ]);
  });

  it.each(all.map((layer) => [layer.name, layer.values] as const))(
    'sets only upstream keys in %s',
    (_name, values) => {
      const ours = values[CHART] ?? {};
      expect(typeof ours).toBe('object');
      expect(
        unknownValueKeys(ours as Values, upstream, undefined, { freeFormPaths: PASS_THROUGH }),
      ).toEqual([]);
    },
  );

  it("gives Prometheus and Alertmanager external URLs a port forward of the chart's Services serves, and the runbook names that forward", () => {
    const chartValues = parseYaml(readVendoredChartFile(CHART, VERSION, 'values.yaml')) as Loose;
    const prod = chart.clusters.prod as Loose;
    const spec = (ui: 'prometheus' | 'alertmanager') => prod[CHART][ui][`${ui}Spec`];
    const ours = (chart.values as Loose)[CHART];
    for (const ui of ['prometheus', 'alertmanager'] as const) {
      // The Service: `<fullname>-<ui>` on `<ui>.service.port` (templates/<ui>/service.yaml)
      const template = readVendoredChartFile(CHART, VERSION, `templates/${ui}/service.yaml`);
      expect(template).toContain(`name: {{ template "kube-prometheus-stack.fullname" . }}-${ui}\n`);
      expect(template).toContain(`port: {{ .Values.${ui}.service.port }}`);
      const port = chartValues[ui].service.port as number;
      const service = `${ours.fullnameOverride}-${ui}`;
      expect(spec(ui).externalUrl).toBe(`http://localhost:${port}`);
      const step = run.declared.prod?.bootstrap?.find((s) => s.title === 'Send a test alert');
      expect(step?.body.join(' ')).toContain(
        `\`kubectl -n monitoring port-forward svc/${service} ${port}\``,
      );
    }
  });

  it("sets grafana.fullnameOverride, which Grafana's templates read though its values.yaml omits it", () => {
    expect(subchartFile('grafana', 'templates/_helpers.tpl')).toContain('.Values.fullnameOverride');
    expect(subchartValues('grafana').fullnameOverride).toBeUndefined();
  });

  it('fails on a misspelled key, also inside a subchart', () => {
    expect(
      unknownValueKeys(
        { prometheus: { prometheusSpec: { retentionSizes: '1GiB' } }, grafana: { adminUsr: 'x' } },
        upstream,
        undefined,
        { freeFormPaths: PASS_THROUGH },
      ),
    ).toEqual(['prometheus.prometheusSpec.retentionSizes', 'grafana.adminUsr']);
  });
});

/** The CRD schema of a kind in the pinned chart, with Go-only regex syntax made JavaScript. */
function crdValidator(file: string, kind: string): ObjectValidator {
  const crd = parseYaml(readVendoredChartFile(CHART, VERSION, `charts/crds/crds/${file}`)) as Loose;
  const version = crd.spec.versions.find((v: Loose) => v.name === 'v1');
  // `(?i)` (RE2's case-insensitive flag) only appears in fields these objects never set.
  const schema = JSON.parse(JSON.stringify(version.schema.openAPIV3Schema).replaceAll('(?i)', ''));
  return jsonSchemaValidator('monitoring.coreos.com/v1', kind, schema);
}

const CRD_VALIDATORS = [
  crdValidator('crd-servicemonitors.yaml', 'ServiceMonitor'),
  crdValidator('crd-podmonitors.yaml', 'PodMonitor'),
  crdValidator('crd-prometheusrules.yaml', 'PrometheusRule'),
];

const objects = ['dev', 'staging', 'prod'].flatMap((cluster) =>
  Object.entries(run.manifests(cluster))
    .filter(([, object]) => object.apiVersion === 'monitoring.coreos.com/v1')
    .map(([key, object]) => ({ source: `${cluster}#${key}`, object })),
);

describe('Prometheus Operator objects', () => {
  it('covers every kind monitoring renders', () => {
    expect([...new Set(objects.map(({ object }) => object.kind))].sort()).toEqual([
      'PodMonitor',
      'PrometheusRule',
      'ServiceMonitor',
    ]);
  });

  it(`validate against the CRDs of ${CHART} ${VERSION}`, () => {
    expect(validateObjects(objects, CRD_VALIDATORS)).toEqual([]);
  });

  it("validate against the component's validators (@kubernetes-models/prometheus-operator)", () => {
    expect(validateObjects(objects, monitoringComponent.validators ?? [])).toEqual([]);
  });

  it('are refused, by both, with a field the API does not have or a wrong type', () => {
    const monitor = objects.find(({ object }) => object.kind === 'ServiceMonitor')
      ?.object as KubeObject;
    const broken = {
      source: 'broken',
      object: {
        ...monitor,
        spec: {
          ...(monitor.spec as Loose),
          endpoints: [{ port: 'metrics', interval: 30 }],
          endpoint: [],
        },
      } as KubeObject,
    };
    const paths = (validators: readonly ObjectValidator[]) =>
      validateObjects([broken], validators).map((issue) => issue.output);
    expect(paths(CRD_VALIDATORS)).toEqual([
      'broken.spec.endpoint',
      'broken.spec.endpoints[0].interval',
    ]);
    expect(paths(monitoringComponent.validators ?? [])).toContain(
      'broken.spec.endpoints[0].interval',
    );
  });
});

describe('dashboards', () => {
  const provisioned = Object.values(run.manifests('prod'))
    .filter((object) => object.kind === 'ConfigMap')
    .flatMap((object) => Object.values((object as Loose).data as { [file: string]: string }))
    .map((text) => JSON.parse(text) as Loose);

  it('are provisioned from the JSON the project writes', () => {
    expect(provisioned.map((dashboard) => dashboard.uid)).toEqual(['platform']);
    expect(provisioned[0]?.panels).toEqual(platform.panels);
  });

  it.each([
    ['platform', platform],
    ['longhorn', longhorn],
  ] as const)(
    '%s: panels on the Prometheus datasource, every query parsed by the PromQL grammar',
    (_name, json) => {
      for (const dashboard of [json as Loose]) {
        expect(dashboard.panels.length).toBeGreaterThan(3);
        expect(JSON.stringify(dashboard)).not.toContain('{{');
        const ids = dashboard.panels.map((panel: Loose) => panel.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const panel of dashboard.panels) {
          expect(panel.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
          for (const target of panel.targets) {
            expect([panel.title, promqlProblem(target.expr)]).toEqual([panel.title, undefined]);
          }
        }
      }
    },
  );
});
