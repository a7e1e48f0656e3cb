// The values layers of charts/monitoring. Everything for the upstream chart sits under the
// `kube-prometheus-stack` key (Helm's subchart rule); Grafana, kube-state-metrics and
// node-exporter values under their subchart keys inside it. Pure.
import {
  type EnvironmentName,
  type EnvironmentProfile,
  type HaPlan,
  haPlan,
  type Issue,
  type PathSegment,
  type ResolvedCluster,
  type Values,
} from '@homelab/core';
import { GRAFANA_ADMIN_SECRET, GRAFANA_SERVICE } from './grafana.js';
import {
  MONITORING_NAMESPACE,
  NODE_EXPORTER_NAMESPACE,
  type ResolvedMonitoringSettings,
} from './settings.js';

/** The key the upstream chart's values live under. */
export const KPS_VALUES_KEY = 'kube-prometheus-stack';

/** Resource names: `monitoring-prometheus`, `monitoring-alertmanager`, `monitoring-operator`. */
export const FULLNAME = 'monitoring';
export const PROMETHEUS_NAME = `${FULLNAME}-prometheus`;
export const ALERTMANAGER_NAME = `${FULLNAME}-alertmanager`;

/** Pod labels the operator gives Prometheus and Alertmanager pods (for anti-affinity). */
const PROMETHEUS_SELECTOR = {
  'app.kubernetes.io/name': 'prometheus',
  'app.kubernetes.io/instance': PROMETHEUS_NAME,
};
const ALERTMANAGER_SELECTOR = {
  'app.kubernetes.io/name': 'alertmanager',
  alertmanager: ALERTMANAGER_NAME,
};

/**
 * Rules of kube-prometheus-stack replaced by the platform's own (src/catalogue.ts): KubeNodeNotReady
 * by NodeNotReady, whose `for` varies by environment; KubeJobFailed by JobFailed, which a CronJob's
 * later successful run resolves (the chart's fires while any failed Job is kept in the history).
 */
export const REPLACED_DEFAULT_RULES = ['KubeNodeNotReady', 'KubeJobFailed'] as const;

/**
 * Rules of kube-prometheus-stack that read a metric nothing on these clusters exports, so they can
 * never fire (and would read as coverage that is not there), each with that metric:
 * - etcdGRPCRequestsSlow: `grpc_server_handling_seconds_bucket`, which etcd exports only with
 *   `--metrics=extensive` (etcd `server/embed/etcd.go`, `serveMetrics`); Talos v1.12 runs etcd
 *   without it (`internal/app/machined/pkg/system/services/etcd.go`) and the platform adds only
 *   `listen-metrics-urls`;
 * - NodeSystemdServiceFailed, NodeSystemdServiceCrashlooping: `node_systemd_unit_state` and
 *   `node_systemd_service_restart_total`, from node-exporter's systemd collector, off by default
 *   and not turned on by the chart; Talos has neither systemd nor D-Bus.
 */
export const UNFED_DEFAULT_RULES: { readonly [alert: string]: string } = {
  etcdGRPCRequestsSlow: 'grpc_server_handling_seconds_bucket',
  NodeSystemdServiceFailed: 'node_systemd_unit_state',
  NodeSystemdServiceCrashlooping: 'node_systemd_service_restart_total',
};

/** The default rules the platform turns off: those it replaces, and those nothing feeds. */
export const DISABLED_DEFAULT_RULES: readonly string[] = [
  ...REPLACED_DEFAULT_RULES,
  ...Object.keys(UNFED_DEFAULT_RULES),
];

/**
 * Grafana 13.2 (the image of the grafana 12.11.1 subchart) installs a list of plugins from
 * grafana.com at every start, in the background (`[plugins] preinstall`, `preinstall_async`;
 * pkg/setting/setting_plugins.go `defaultPreinstallPlugins`: the drilldown apps, the advisor, and
 * the data sources moved out of Grafana's core, Prometheus among them since 13.2, grafana/grafana
 * #129332), and with `preinstall_auto_update` (on by default) replaces a bundled plugin in place
 * (/usr/share/grafana/data/plugins-bundled) whenever the catalogue has a newer minor release. The
 * image bundles the data sources the platform provisions (Prometheus; Alertmanager is core) and
 * the sidecar's dashboards use core panels only. Under default deny Grafana reaches no catalogue:
 * every start logs one timed-out download per app; where egress is open, the Prometheus data
 * source would be an unpinned download that an update can leave unregistered (grafana/grafana
 * #132528). So the platform turns the list and the updates off, and the plugin update check: the
 * plugins are the pinned image's. Two more calls to grafana.com go with them:
 * - the plugin-signing keys, fetched at start, again a minute later and every ten days
 *   (`public_key_retrieval_disabled`; pkg/services/pluginsintegration/keyretriever/dynamic):
 *   each attempt times out after 10 s under default deny and logs an error. Without it Grafana
 *   verifies with the key it has built in, and the bundled plugins carry no signature to check;
 * - the plugin catalogue (`plugin_admin_enabled`): its pages ask grafana.com through Grafana's
 *   `/api/gnet` proxy, which waits up to 30 s, and offer installs that cannot work offline and
 *   would not survive the pod.
 */
export const GRAFANA_PLUGINS = {
  preinstall_disabled: true,
  preinstall_auto_update: false,
  public_key_retrieval_disabled: true,
  plugin_admin_enabled: false,
} as const;

/**
 * The base layer, the same for every cluster:
 * - every ServiceMonitor, PodMonitor and PrometheusRule of any namespace selected (the ones
 *   monitoring renders carry no Helm release label);
 * - the operator's admission webhooks off: their certificates come from Helm hook Jobs, which
 *   Argo CD runs as sync hooks and then reports drift on the patched caBundle; every rule this
 *   platform renders is checked before Git instead (schema, PromQL parser);
 * - Grafana's admin from the grafana-admin Secret (never a password in values, never one the
 *   chart generates on every render), no chart test pod, no phoning home, no plugin downloaded
 *   or updated at start, no signing keys, avatars or snapshots from the internet (GRAFANA_PLUGINS);
 * - the kubelets scraped with their serving certificates verified against the cluster CA (the
 *   chart's default skips it): the Talos baseline of every cluster has the kubelets request them
 *   from the cluster CA (`rotate-server-certificates`, approved by the Kubelet Serving Certificate
 *   Approver), with the node addresses the operator's kubelet Endpoints list (InternalIP);
 * - etcd scraped without Prometheus' service-account token: Talos' etcd metrics listener
 *   (`listen-metrics-urls: http://0.0.0.0:2381`) is plain HTTP and checks no token, and the chart's
 *   default `bearerTokenFile` would send it in clear across the node network at every scrape;
 * - short resource names.
 */
export function baseValues(): Values {
  return {
    [KPS_VALUES_KEY]: {
      fullnameOverride: FULLNAME,
      defaultRules: {
        rules: { windows: false },
        disabled: Object.fromEntries(DISABLED_DEFAULT_RULES.map((rule) => [rule, true])),
      },
      prometheusOperator: {
        admissionWebhooks: { enabled: false },
        tls: { enabled: false },
        // Only the platform's own Prometheus, Alertmanager and Thanos Ruler come to life. The
        // operator reads every Secret (its ClusterRole), so a Prometheus or Alertmanager made in
        // an application's namespace would have it copy Secrets of that namespace into the
        // generated Secret it makes there (an Alertmanager's `configSecret`, whole), and select
        // other namespaces' monitors, their credentials resolved into its configuration
        // (prometheus-operator v0.93 `--prometheus-instance-namespaces`, which covers
        // PrometheusAgent too, and the others'; monitors and AlertmanagerConfigs stay watched in
        // every namespace).
        prometheusInstanceNamespaces: [MONITORING_NAMESPACE],
        alertmanagerInstanceNamespaces: [MONITORING_NAMESPACE],
        thanosRulerInstanceNamespaces: [MONITORING_NAMESPACE],
      },
      kubelet: { serviceMonitor: { insecureSkipVerify: false } },
      // An empty value: the chart's template leaves `bearerTokenFile` out of the endpoint.
      kubeEtcd: { serviceMonitor: { bearerTokenFile: '' } },
      prometheus: {
        prometheusSpec: {
          serviceMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelectorNilUsesHelmValues: false,
          ruleSelectorNilUsesHelmValues: false,
          probeSelectorNilUsesHelmValues: false,
          scrapeConfigSelectorNilUsesHelmValues: false,
        },
      },
      grafana: {
        fullnameOverride: GRAFANA_SERVICE,
        // The Grafana subchart sets no part-of (the admission policy requires it on workloads);
        // extraLabels go on every object it renders, not on the selector.
        extraLabels: { 'app.kubernetes.io/part-of': 'monitoring' },
        testFramework: { enabled: false },
        admin: {
          existingSecret: GRAFANA_ADMIN_SECRET.name,
          userKey: 'admin-user',
          passwordKey: 'admin-password',
        },
        'grafana.ini': {
          analytics: {
            check_for_updates: false,
            check_for_plugin_updates: false,
            reporting_enabled: false,
          },
          // The plugins the image bundles, and no others: nothing downloaded at start (see
          // GRAFANA_PLUGINS above).
          plugins: { ...GRAFANA_PLUGINS },
          // Avatars from the profile's e-mail: Grafana's server fetches them from gravatar.com
          // (pkg/api/avatar, 2 to 3 s per uncached avatar under default deny, failures not
          // cached); with this, the bundled default picture. And no "Publish to
          // snapshots.raintank.io": it would post a dashboard's data to the internet, and fails
          // under default deny (local snapshots stay).
          security: { disable_gravatar: true },
          snapshots: { external_enabled: false },
          users: { allow_sign_up: false },
        },
      },
      'kube-state-metrics': { fullnameOverride: 'kube-state-metrics' },
      'prometheus-node-exporter': {
        fullnameOverride: 'node-exporter',
        namespaceOverride: NODE_EXPORTER_NAMESPACE,
      },
    },
  };
}

/** Requests and memory limit of one container (no CPU limit: throttling only adds latency). */
interface Resources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string };
}

/** The workloads whose containers the environment sizes. */
type Sized =
  | 'prometheus'
  | 'alertmanager'
  | 'operator'
  | 'configReloader'
  | 'grafana'
  | 'grafanaSidecar'
  | 'kubeStateMetrics'
  | 'nodeExporter';

const size = (cpu: string, memory: string, limit: string): Resources => ({
  requests: { cpu, memory },
  limits: { memory: limit },
});

/**
 * Requests and memory limits per environment: every container the chart renders, and the
 * Prometheus and Alertmanager the operator creates (admission checks those pods too), with the
 * config-reloader (sidecar and init container) the operator adds to both: the chart passes it
 * `--config-reloader-*-request=0` unless `prometheusOperator.prometheusConfigReloader.resources`
 * is set, and the operator then sets no request at all (prometheus-operator
 * `pkg/operator/config.go` `ResourceRequirements`), so `resource-requests` would refuse both
 * StatefulSets. Prometheus grows with series and retention; the others with the cluster's
 * objects or not at all.
 */
export const RESOURCES: { readonly [E in EnvironmentName]: { readonly [W in Sized]: Resources } } =
  {
    development: {
      prometheus: size('100m', '512Mi', '1Gi'),
      alertmanager: size('10m', '48Mi', '128Mi'),
      operator: size('10m', '64Mi', '128Mi'),
      configReloader: size('10m', '32Mi', '64Mi'),
      grafana: size('25m', '128Mi', '256Mi'),
      grafanaSidecar: size('10m', '64Mi', '128Mi'),
      kubeStateMetrics: size('10m', '64Mi', '128Mi'),
      nodeExporter: size('10m', '32Mi', '64Mi'),
    },
    staging: {
      prometheus: size('200m', '1Gi', '2Gi'),
      alertmanager: size('10m', '64Mi', '128Mi'),
      operator: size('25m', '96Mi', '192Mi'),
      configReloader: size('10m', '32Mi', '64Mi'),
      grafana: size('50m', '192Mi', '384Mi'),
      grafanaSidecar: size('10m', '64Mi', '128Mi'),
      kubeStateMetrics: size('25m', '96Mi', '192Mi'),
      nodeExporter: size('10m', '32Mi', '64Mi'),
    },
    production: {
      prometheus: size('500m', '2Gi', '4Gi'),
      alertmanager: size('25m', '96Mi', '192Mi'),
      operator: size('50m', '128Mi', '256Mi'),
      configReloader: size('10m', '48Mi', '96Mi'),
      grafana: size('100m', '256Mi', '512Mi'),
      grafanaSidecar: size('10m', '96Mi', '192Mi'),
      kubeStateMetrics: size('50m', '128Mi', '256Mi'),
      nodeExporter: size('20m', '48Mi', '96Mi'),
    },
  };

function resources(value: Resources): Values {
  return { requests: { ...value.requests }, limits: { ...value.limits } };
}

/**
 * The environment layer: requests and limits of the profile, and disruption budgets that never
 * block a drain (maxUnavailable 1).
 */
export function environmentValues(profile: EnvironmentProfile): Values {
  const sized = RESOURCES[profile.name];
  const values: Values = {
    prometheusOperator: {
      resources: resources(sized.operator),
      prometheusConfigReloader: { resources: resources(sized.configReloader) },
    },
    prometheus: { prometheusSpec: { resources: resources(sized.prometheus) } },
    alertmanager: { alertmanagerSpec: { resources: resources(sized.alertmanager) } },
    grafana: {
      resources: resources(sized.grafana),
      // The dashboard and datasource sidecars share one setting.
      sidecar: { resources: resources(sized.grafanaSidecar) },
    },
    'kube-state-metrics': { resources: resources(sized.kubeStateMetrics) },
    'prometheus-node-exporter': { resources: resources(sized.nodeExporter) },
  };
  if (profile.podDisruptionBudget) {
    // `minAvailable: null` deletes the chart's default minAvailable 1 (a -f value file: Helm
    // honours the null); the chart copies the rest of the map into the PodDisruptionBudget.
    const budget = { enabled: true, minAvailable: null, maxUnavailable: 1 };
    (values.prometheus as Values).podDisruptionBudget = budget;
    (values.alertmanager as Values).podDisruptionBudget = budget;
  }
  return { [KPS_VALUES_KEY]: values };
}

function placement(plan: HaPlan): Values {
  // The chart's own anti-affinity ("soft") is replaced by the profile's.
  const values: Values = { podAntiAffinity: '' };
  if (plan.affinity !== undefined) values.affinity = plan.affinity;
  if (plan.topologySpreadConstraints !== undefined) {
    values.topologySpreadConstraints = plan.topologySpreadConstraints;
  }
  return values;
}

/**
 * Prometheus' and Alertmanager's Services (kube-prometheus-stack 88.5.3 names them
 * `<fullname>-prometheus` and `<fullname>-alertmanager`, ports `prometheus.service.port` 9090 and
 * `alertmanager.service.port` 9093) and the external URL each is given: where `kubectl
 * port-forward` of that Service serves it. Every notification's links are made from the external
 * URLs (an alert's `generatorURL`, the graph of its expression in Prometheus; Alertmanager's
 * silence link); the chart's default names the in-cluster Service, which opens nowhere a reader
 * is. Neither UI has a login of its own and the Gateway does no forward authentication, so
 * neither is routed: a port forward is how they are reached.
 */
export const UI_PORT_FORWARDS = [
  { name: 'Prometheus', service: `${FULLNAME}-prometheus`, port: 9090 },
  { name: 'Alertmanager', service: `${FULLNAME}-alertmanager`, port: 9093 },
] as const;

export interface ClusterValuesInput {
  readonly cluster: ResolvedCluster;
  readonly settings: ResolvedMonitoringSettings;
  readonly path: (...segments: PathSegment[]) => PathSegment[];
  /** The StorageClass of Prometheus' volume; `undefined`: no volume (emptyDir). */
  readonly storageClassName: string | undefined;
  /** Whether the CNI replaces kube-proxy (then there is no kube-proxy to scrape). */
  readonly kubeProxyReplacement: boolean;
  /**
   * Whether a component provides the cluster DNS (then Talos' CoreDNS in kube-system is off and
   * the provider declares its own monitor).
   */
  readonly clusterDnsProvided: boolean;
  readonly alertmanagerConfig: Values;
  readonly alertmanagerSecrets: readonly string[];
  readonly grafana: Values;
}

/**
 * The cluster layer: replicas, retention and volume, placement, the control-plane endpoints as
 * Talos runs them (controller-manager, scheduler and etcd are not pods Prometheus can discover
 * by the labels kubeadm gives them: they are scraped at the control-plane node addresses, on the
 * ports Talos binds for them), Alertmanager's configuration and Grafana's URL and login.
 */
export function clusterValues(input: ClusterValuesInput): { values: Values; issues: Issue[] } {
  const { cluster, settings } = input;
  const issues: Issue[] = [];
  const prometheusPlan = haPlan(cluster, {
    selector: PROMETHEUS_SELECTOR,
    replicas: settings.prometheus.replicas,
    kind: 'StatefulSet',
    path: input.path('prometheus', 'replicas'),
  });
  const alertmanagerPlan = haPlan(cluster, {
    selector: ALERTMANAGER_SELECTOR,
    replicas: settings.alertmanager.replicas,
    kind: 'StatefulSet',
    path: input.path('alertmanager', 'replicas'),
  });
  issues.push(...prometheusPlan.issues, ...alertmanagerPlan.issues);
  const controlPlanes = cluster.controlPlanes.map((node) => node.address);
  const prometheusSpec: Values = {
    replicas: settings.prometheus.replicas,
    retention: settings.prometheus.retention,
    retentionSize: settings.prometheus.retentionSize,
    scrapeInterval: settings.prometheus.scrapeInterval,
    evaluationInterval: settings.prometheus.scrapeInterval,
    externalLabels: { cluster: cluster.name },
    externalUrl: `http://localhost:${UI_PORT_FORWARDS[0].port}`,
    ...placement(prometheusPlan.plan),
  };
  if (input.storageClassName !== undefined) {
    prometheusSpec.storageSpec = {
      volumeClaimTemplate: {
        spec: {
          storageClassName: input.storageClassName,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: settings.prometheus.storage.size } },
        },
      },
    };
  }
  const values: Values = {
    kubeControllerManager: { endpoints: controlPlanes },
    kubeScheduler: { endpoints: controlPlanes },
    kubeEtcd: { endpoints: controlPlanes },
    prometheus: { prometheusSpec },
    alertmanager: {
      config: input.alertmanagerConfig,
      alertmanagerSpec: {
        replicas: settings.alertmanager.replicas,
        externalUrl: `http://localhost:${UI_PORT_FORWARDS[1].port}`,
        ...(input.alertmanagerSecrets.length > 0
          ? { secrets: [...input.alertmanagerSecrets] }
          : {}),
        ...placement(alertmanagerPlan.plan),
      },
    },
    grafana: input.grafana,
  };
  if (input.clusterDnsProvided) values.coreDns = { enabled: false };
  if (input.kubeProxyReplacement) {
    values.kubeProxy = { enabled: false };
    values.defaultRules = { rules: { kubeProxy: false } };
  }
  return { values: { [KPS_VALUES_KEY]: values }, issues };
}
