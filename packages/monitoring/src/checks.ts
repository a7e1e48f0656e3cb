// Layer 4 checks of the facts monitoring relies on at run time. Pure.
import {
  type DeployedCluster,
  deployedValues,
  error,
  fileDocuments,
  generatedFile,
  type Issue,
  mergeValues,
  parseIp,
  type SystemCheck,
  type SystemInput,
  settingsPath,
  type Values,
  valuesSource,
  warning,
} from '@homelab/core';
import type { MonitoringSettings } from './generated/settings.js';
import { MONITORING_API } from './manifests.js';
import { MONITORING_NAMESPACE } from './settings.js';
import { KPS_VALUES_KEY } from './values.js';

/** Namespaces Talos itself runs workloads in (CoreDNS, the control plane's static pods). */
const TALOS_NAMESPACES = new Set(['kube-system']);

/**
 * A ServiceMonitor or PodMonitor selects targets in namespaces something deploys: a monitor
 * whose namespace no Application on the cluster deploys into matches nothing, and its alerts
 * (`up == 0`, absent()) would fire for a component that is simply not there, or stay silent for
 * one that moved.
 */
export const monitorsHaveTargets: SystemCheck = {
  name: 'monitors-have-targets',
  description:
    'Every ServiceMonitor and PodMonitor selects a namespace that an Application on the same cluster deploys into (or kube-system, where Talos runs the control plane and CoreDNS).',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const namespaces = new Set(TALOS_NAMESPACES);
      for (const contribution of deployed.run.contributions.values()) {
        const app = contribution.application;
        if (app === undefined) continue;
        namespaces.add(app.namespace);
        for (const namespace of app.additionalNamespaces ?? []) namespaces.add(namespace);
      }
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (object.apiVersion !== MONITORING_API) continue;
          if (object.kind !== 'ServiceMonitor' && object.kind !== 'PodMonitor') continue;
          const spec = object.spec as { namespaceSelector?: { matchNames?: string[] } } | undefined;
          for (const namespace of spec?.namespaceSelector?.matchNames ?? []) {
            if (namespaces.has(namespace)) continue;
            issues.push(
              error({
                code: 'monitors-have-targets',
                path: app.origin,
                output: source,
                value: namespace,
                message: `${object.kind} ${object.metadata.name} on cluster "${deployed.cluster.name}" selects namespace "${namespace}", which no Application there deploys into: it would scrape nothing`,
                expected: `a namespace of an Application on cluster "${deployed.cluster.name}"`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

type Table = { [key: string]: unknown };
const table = (value: unknown): Values =>
  (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Values;

/** Monitoring's settings on a deployed cluster: the top level, then the cluster's own. */
function monitoringSettings(
  deployed: DeployedCluster,
  definition: { readonly components?: unknown },
): MonitoringSettings {
  return mergeValues(
    table((definition.components as Table | undefined)?.monitoring),
    table((deployed.cluster.definition.components as Table | undefined)?.monitoring),
  ) as MonitoringSettings;
}

/**
 * Where the heartbeat of a cluster pings: the Bitwarden secret that fills the key of its
 * receiver's URL (from the BitwardenSecret the secrets provider deploys), or the URL itself.
 * Undefined without a heartbeat, or when the URL comes from a Secret made by hand.
 */
function heartbeatTarget(
  deployed: DeployedCluster,
  settings: MonitoringSettings,
): { what: string; describe: string } | undefined {
  const name = settings.alertmanager?.heartbeat?.receiver;
  const receiver = settings.alertmanager?.receivers?.find((item) => item.name === name);
  if (receiver?.webhook === undefined) return undefined;
  if (receiver.webhook.url !== undefined) {
    // A check-in service's ping URL carries its token in the path (that is why the URL belongs in
    // a Secret): the message names the host only.
    let host = 'an inline URL';
    try {
      host = `an inline URL at ${new URL(receiver.webhook.url).host}`;
    } catch {
      // Not a URL: the definition's own checks report it.
    }
    return { what: `url:${receiver.webhook.url}`, describe: host };
  }
  const credentials = receiver.credentials;
  if (credentials === undefined) return undefined;
  for (const app of deployed.applications) {
    for (const { object } of app.objects) {
      if (object.kind !== 'BitwardenSecret') continue;
      if (object.metadata.name !== credentials.secretName) continue;
      if ((object.metadata.namespace ?? app.namespace) !== MONITORING_NAMESPACE) continue;
      const map = (object.spec as { map?: { bwSecretId?: unknown; secretKeyName?: unknown }[] })
        ?.map;
      const id = map?.find((entry) => entry.secretKeyName === credentials.key)?.bwSecretId;
      if (typeof id === 'string')
        return {
          what: `bitwarden:${id}`,
          describe: `Bitwarden secret ${id} (${MONITORING_NAMESPACE}/${credentials.secretName}: ${credentials.key})`,
        };
    }
  }
  return undefined;
}

/**
 * Every cluster's heartbeat pings a check of its own. A check-in service alerts when its check
 * gets no ping for a period; two clusters pinging one check keep it green while either is up,
 * so the switch never trips when one of them goes down. Compared: the Bitwarden secret that
 * fills the ping URL's Secret key (bitwarden-sm's BitwardenSecret), or a URL in the definition.
 */
export const heartbeatPerCluster: SystemCheck = {
  name: 'heartbeat-per-cluster',
  description:
    "Every cluster's heartbeat (alertmanager.heartbeat) pings its own check: no two clusters read the ping URL from the same Bitwarden secret, or name the same URL (a warning).",
  check(input) {
    const issues: Issue[] = [];
    const first = new Map<string, string>();
    for (const deployed of input.clusters) {
      if (!deployed.run.contributions.has('monitoring')) continue;
      const settings = monitoringSettings(deployed, input.platform.definition);
      const target = heartbeatTarget(deployed, settings);
      if (target === undefined) continue;
      const other = first.get(target.what);
      if (other === undefined) {
        first.set(target.what, deployed.cluster.name);
        continue;
      }
      // A warning: the platform runs, only the switch misses one cluster's outage (a cluster
      // copied from another inherits its mappings; the build says what to map).
      issues.push(
        warning({
          code: 'heartbeat-per-cluster',
          path: settingsPath(deployed.cluster, 'monitoring', 'alertmanager', 'heartbeat'),
          value: settings.alertmanager?.heartbeat?.receiver,
          message: `cluster "${deployed.cluster.name}" pings the same heartbeat check as cluster "${other}" (${target.describe}): the check stays green while either cluster pings it, so one of them going down is never noticed`,
          expected: `a check of its own for cluster "${deployed.cluster.name}": its ping URL in another Bitwarden secret, mapped under the cluster's bitwarden-sm.secrets`,
        }),
      );
    }
    return issues;
  },
};

/** The documents of a generated file, or undefined when the build did not write it. */
function generated(input: SystemInput, path: string): readonly Values[] | undefined {
  const found = generatedFile(input, path);
  return found === undefined ? undefined : (fileDocuments(found) as Values[]).map(table);
}

/** Whether a listen address (a bind address or a URL's host) is the loopback only. */
function loopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  const ip = parseIp(bare);
  return ip !== undefined && (ip.version === 4 ? ip.text.startsWith('127.') : ip.text === '::1');
}

/** The control-plane components the chart scrapes at the nodes, and their Talos config keys. */
const CONTROL_PLANE_SCRAPES = [
  {
    values: 'kubeControllerManager',
    talos: 'controllerManager',
    alert: 'KubeControllerManagerDown',
  },
  { values: 'kubeScheduler', talos: 'scheduler', alert: 'KubeSchedulerDown' },
] as const;

/**
 * What kube-prometheus-stack scrapes on Talos' nodes holds there, read from the generated
 * Talos patches (`clusters/<cluster>/talos/{controlplane,worker}.yaml`) and the monitoring
 * chart's values as Argo CD merges them:
 * - kube-controller-manager and kube-scheduler, scraped at the control planes, are bound beyond
 *   the loopback (Talos v1.11-v1.13 pass `--bind-address=127.0.0.1` unless
 *   `cluster.<component>.extraArgs` says otherwise,
 *   `internal/app/machined/pkg/controllers/k8s/control_plane_static_pod.go`), at exactly the
 *   control planes' addresses when the chart's `endpoints` name them;
 * - etcd, a Talos service and no pod, serves metrics on a listener beyond the loopback on the
 *   chart's `kubeEtcd.service.targetPort` with the ServiceMonitor's scheme
 *   (`cluster.etcd.extraArgs.listen-metrics-urls`; without it etcd serves metrics only on its
 *   client port, behind client certificates);
 * - where the kubelets are scraped with their serving certificates verified
 *   (`kubelet.serviceMonitor.insecureSkipVerify: false`), every kubelet gets one signed by the
 *   cluster CA: `rotate-server-certificates` in both role patches, and the Kubelet Serving
 *   Certificate Approver among the control planes' `extraManifests` (nothing else approves the
 *   kubelets' serving CSRs). Without it a kubelet serves a self-signed certificate and every
 *   kubelet and cAdvisor scrape fails verification.
 */
export const talosScrapeTargets: SystemCheck = {
  name: 'talos-scrape-targets',
  description:
    "What kube-prometheus-stack scrapes on the Talos nodes listens there: kube-controller-manager and kube-scheduler bound beyond 127.0.0.1 at the control planes' addresses, etcd's metrics on the scraped port and scheme, and, where the kubelets' certificates are verified, kubelet serving certificates signed by the cluster CA (rotate-server-certificates and the approver).",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster } = deployed;
      const app = deployed.applications.find((candidate) => candidate.component === 'monitoring');
      if (app === undefined) continue;
      const dir = `clusters/${cluster.name}/talos`;
      const controlPlane = generated(input, `${dir}/controlplane.yaml`);
      const worker = generated(input, `${dir}/worker.yaml`);
      if (controlPlane === undefined) continue;
      const values = table(table(deployedValues(input, app))[KPS_VALUES_KEY]);
      if (table(values.kubernetesServiceMonitors).enabled === false) continue;
      const at = settingsPath(cluster, 'monitoring');
      const problem = (output: string, message: string, expected: string) =>
        issues.push(error({ code: 'talos-scrape-targets', path: at, output, message, expected }));
      const v1alpha1 = (documents: readonly Values[] | undefined) =>
        documents?.find((doc) => doc.kind === undefined) ?? {};
      const clusterPart = table(v1alpha1(controlPlane).cluster);
      const addresses = cluster.controlPlanes.map(
        (node) => parseIp(node.address)?.text ?? node.address,
      );
      const scraped = (key: string) => {
        const component = table(values[key]);
        return component.enabled !== false && table(component.serviceMonitor).enabled !== false;
      };
      const endpointsMatch = (key: string, what: string) => {
        const endpoints = table(values[key]).endpoints;
        if (!Array.isArray(endpoints) || endpoints.length === 0) return;
        const listed = endpoints.map(
          (address) => parseIp(String(address))?.text ?? String(address),
        );
        const same =
          listed.length === addresses.length &&
          addresses.every((address) => listed.includes(address));
        if (same) return;
        problem(
          `charts/monitoring/clusters/${cluster.name}.yaml`,
          `Prometheus scrapes ${what} of cluster "${cluster.name}" at ${listed.join(', ')}, which are not its control planes' addresses (${addresses.join(', ')}): a control plane is missed or an address answers nothing`,
          `kube-prometheus-stack.${key}.endpoints: the control planes' addresses`,
        );
      };
      for (const scrape of CONTROL_PLANE_SCRAPES) {
        if (!scraped(scrape.values)) continue;
        const bind = table(table(clusterPart[scrape.talos]).extraArgs)['bind-address'];
        if (typeof bind !== 'string' || loopback(bind)) {
          problem(
            `${dir}/controlplane.yaml`,
            `Prometheus scrapes ${scrape.values} at the control planes of cluster "${cluster.name}", but the Talos control-plane patch leaves it bound to ${typeof bind === 'string' ? bind : "127.0.0.1 (Talos' default)"}: every scrape is refused and ${scrape.alert} fires for ever`,
            `cluster.${scrape.talos}.extraArgs.bind-address: 0.0.0.0`,
          );
        }
        endpointsMatch(scrape.values, scrape.values);
      }
      if (scraped('kubeEtcd')) {
        const etcd = table(values.kubeEtcd);
        const port = Number(table(etcd.service).targetPort ?? table(etcd.service).port ?? 2381);
        const scheme = String(table(etcd.serviceMonitor).scheme ?? 'http');
        const urls = String(table(table(clusterPart.etcd).extraArgs)['listen-metrics-urls'] ?? '')
          .split(',')
          .map((url) => url.trim())
          .filter((url) => url !== '');
        const serves = urls.some((url) => {
          try {
            const parsed = new URL(url);
            return (
              parsed.protocol === `${scheme}:` &&
              Number(parsed.port) === port &&
              !loopback(parsed.hostname)
            );
          } catch {
            return false;
          }
        });
        if (!serves) {
          problem(
            `${dir}/controlplane.yaml`,
            `Prometheus scrapes etcd of cluster "${cluster.name}" at ${scheme}://<control plane>:${port}, but the Talos control-plane patch serves etcd's metrics ${urls.length === 0 ? 'on no such listener (etcd serves them only on its client port, behind client certificates)' : `on ${urls.join(', ')}`}: the etcd alerts see no member`,
            `cluster.etcd.extraArgs.listen-metrics-urls: ${scheme}://0.0.0.0:${port}`,
          );
        }
        endpointsMatch('kubeEtcd', 'etcd');
      }
      const kubelet = table(values.kubelet);
      const monitor = table(kubelet.serviceMonitor);
      if (
        kubelet.enabled !== false &&
        monitor.enabled !== false &&
        monitor.https !== false &&
        monitor.insecureSkipVerify === false
      ) {
        for (const [role, documents] of [
          ['controlplane', controlPlane],
          ['worker', worker],
        ] as const) {
          if (documents === undefined) continue;
          const rotate = table(table(table(v1alpha1(documents).machine).kubelet).extraArgs)[
            'rotate-server-certificates'
          ];
          if (rotate === true || rotate === 'true') continue;
          problem(
            `${dir}/${role}.yaml`,
            `Prometheus verifies the kubelets' serving certificates on cluster "${cluster.name}" (kubelet.serviceMonitor.insecureSkipVerify: false), but the Talos ${role} patch does not have the kubelet request one from the cluster CA: it serves a self-signed certificate, and every kubelet and cAdvisor scrape fails (KubeletDown)`,
            'machine.kubelet.extraArgs.rotate-server-certificates: "true"',
          );
        }
        const manifests = clusterPart.extraManifests;
        const approver =
          Array.isArray(manifests) &&
          manifests.some((url) => String(url).includes('kubelet-serving-cert-approver'));
        if (!approver) {
          problem(
            `${dir}/controlplane.yaml`,
            `Prometheus verifies the kubelets' serving certificates on cluster "${cluster.name}", but the Talos control-plane patch installs no Kubelet Serving Certificate Approver: the kubelets' serving certificate requests stay pending, and every kubelet scrape fails`,
            "the approver's manifest in cluster.extraManifests",
          );
        }
      }
    }
    return issues;
  },
};

/** The operator's values that say where it brings up instances, and what they would be. */
const INSTANCE_NAMESPACES = [
  ['prometheusInstanceNamespaces', 'Prometheus (and PrometheusAgent)'],
  ['alertmanagerInstanceNamespaces', 'Alertmanager'],
  ['thanosRulerInstanceNamespaces', 'ThanosRuler'],
] as const;

/**
 * The Prometheus Operator brings up Prometheus, Alertmanager and Thanos Ruler in the monitoring
 * namespace only (`prometheusOperator.<kind>InstanceNamespaces`, which the chart passes as the
 * operator's `--<kind>-instance-namespaces`). The operator's ClusterRole reads every Secret: a
 * Prometheus or Alertmanager made in an application's namespace would have it copy that
 * namespace's Secrets into the configuration it generates there (an Alertmanager's
 * `configSecret`, whole), the secrets provider's token among them, and select monitors of every
 * namespace. The policy component relies on it: `monitor-files` leaves the monitoring namespace
 * out as the only one whose pods' files monitors may name, and `provider-token` covers the
 * objects these instances select, not instances of an application's own.
 */
export const operatorInstanceNamespaces: SystemCheck = {
  name: 'operator-instance-namespaces',
  description:
    "The Prometheus Operator brings up Prometheus, Alertmanager and Thanos Ruler only in the monitoring Application's namespace (prometheusOperator.*InstanceNamespaces): the namespace whose pods' files the policies allow monitors to name.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const app = deployed.applications.find((candidate) => candidate.component === 'monitoring');
      if (app === undefined) continue;
      const operator = table(
        table(table(deployedValues(input, app))[KPS_VALUES_KEY]).prometheusOperator,
      );
      if (operator.enabled === false) continue;
      for (const [key, kind] of INSTANCE_NAMESPACES) {
        const value = operator[key];
        const namespaces = Array.isArray(value) ? value.map(String) : [];
        if (namespaces.length === 1 && namespaces[0] === app.namespace) continue;
        issues.push(
          error({
            code: 'operator-instance-namespaces',
            path: settingsPath(deployed.cluster, 'monitoring'),
            output:
              valuesSource(input, app, [KPS_VALUES_KEY, 'prometheusOperator', key]) ??
              `charts/monitoring/values.yaml#${KPS_VALUES_KEY}.prometheusOperator.${key}`,
            ...(value === undefined ? {} : { value }),
            message: `the Prometheus Operator on cluster "${deployed.cluster.name}" would bring up ${kind} instances ${namespaces.length === 0 ? 'in every namespace' : `in ${namespaces.join(', ')}`}: one made in an application's namespace gets that namespace's Secrets, the secrets provider's token among them, copied into its configuration, and the admission policies leave only "${app.namespace}" out as the platform's own`,
            expected: `${KPS_VALUES_KEY}.prometheusOperator.${key}: [${app.namespace}]`,
          }),
        );
      }
    }
    return issues;
  },
};

export const MONITORING_CHECKS: readonly SystemCheck[] = [
  monitorsHaveTargets,
  heartbeatPerCluster,
  talosScrapeTargets,
  operatorInstanceNamespaces,
];
