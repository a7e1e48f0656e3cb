// Alerts against what the cluster scrapes: an alert that selects series of a scrape job (`job`
// label: `up{job="kube-scheduler"}`, `node_network_up{job="node-exporter"}`) or, for `up`, of a
// target's Service and namespace (`up{namespace="coredns", service="kube-dns"}`) must find at
// least one ServiceMonitor or PodMonitor target on the cluster that carries those labels. An
// alert on a job nothing scrapes is wrong both ways: `absent(up{job="x"})` fires for ever on a
// healthy cluster (kube-prometheus-stack's KubeSchedulerDown where Talos' scheduler is not
// scraped, KubeProxyDown where Cilium replaced kube-proxy), and `up{job="x"} == 0` never fires.
// Read from what Helm renders (the upstream charts' Services and monitors included), with the
// two Services the cluster makes itself (the API server's `kubernetes`, the operator's kubelet
// Service). Pure.
import { type KubeObject, labelSelectorMatches } from '@homelab/core';
import { parser } from '@prometheus-io/lezer-promql';
import { MONITORING_API } from './manifests.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];
type Table = { readonly [key: string]: unknown };

const isTable = (value: unknown): value is Table =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const table = (value: unknown): Table => (isTable(value) ? value : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;
const labelsOf = (value: unknown): { readonly [key: string]: string } =>
  Object.fromEntries(
    Object.entries(table(value)).filter((entry): entry is [string, string] => {
      return typeof entry[1] === 'string';
    }),
  );

/** One label matcher of a vector selector. */
export interface LabelMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** A vector selector of an expression: its metric name (if any) and its label matchers. */
export interface SeriesSelector {
  readonly metric: string | undefined;
  readonly matchers: readonly LabelMatcher[];
}

function unquote(literal: string): string {
  if (literal.startsWith('"')) {
    try {
      return JSON.parse(literal) as string;
    } catch {
      return literal.slice(1, -1);
    }
  }
  return literal.slice(1, -1);
}

/** Every vector selector of a PromQL expression (ranges and subqueries included). */
export function seriesSelectors(expr: string): SeriesSelector[] {
  const out: SeriesSelector[] = [];
  const slice = (node: SyntaxNode) => expr.slice(node.from, node.to);
  const visit = (node: SyntaxNode): void => {
    if (node.name === 'VectorSelector') {
      let metric: string | undefined;
      const matchers: LabelMatcher[] = [];
      for (let child = node.firstChild; child !== null; child = child.nextSibling) {
        if (child.name === 'Identifier') metric = slice(child);
        if (child.name !== 'LabelMatchers') continue;
        for (let matcher = child.firstChild; matcher !== null; matcher = matcher.nextSibling) {
          const name = matcher.getChild('LabelName') ?? matcher.getChild('QuotedLabelName');
          const op = matcher.getChild('MatchOp');
          const value = matcher.getChild('StringLiteral');
          if (name === null || op === null || value === null) {
            // `{"metric_name"}`: a quoted metric name alone.
            const only = matcher.name === 'QuotedLabelName' ? matcher : null;
            if (only !== null) metric = unquote(slice(only));
            continue;
          }
          const label = name.name === 'QuotedLabelName' ? unquote(slice(name)) : slice(name);
          matchers.push({
            label,
            op: slice(op) as LabelMatcher['op'],
            value: unquote(slice(value)),
          });
        }
      }
      out.push({ metric, matchers });
    }
    for (let child = node.firstChild; child !== null; child = child.nextSibling) visit(child);
  };
  visit(parser.parse(expr).topNode);
  return out;
}

/** A target Prometheus scrapes: the labels the operator gives its series. */
export interface ScrapeTarget {
  /** `job`: the Service name (or its `jobLabel` label), a PodMonitor's `<namespace>/<name>`. */
  readonly job: string;
  /** The target's namespace. */
  readonly namespace: string;
  /** The Service (ServiceMonitor targets only). */
  readonly service: string | undefined;
  /** The monitor that scrapes it, `<kind> <namespace>/<name>`. */
  readonly monitor: string;
  /** An endpoint relabels `job` itself: any job could be this one's. */
  readonly anyJob: boolean;
}

/**
 * Services the cluster makes itself, which no chart renders: the API server's `kubernetes`
 * Service in `default`, and the kubelet Service the Prometheus Operator keeps (its
 * `--kubelet-service=<namespace>/<name>` flag; labels and ports of prometheus-operator's
 * kubelet controller, `syncNodeEndpoints`).
 */
export function clusterMadeServices(objects: readonly KubeObject[]): KubeObject[] {
  const out: KubeObject[] = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: { ports: [{ name: 'https', port: 443 }] },
    } as KubeObject,
  ];
  for (const object of objects) {
    if (object.kind !== 'Deployment') continue;
    const containers = list(table(table(table(object.spec).template).spec).containers);
    for (const container of containers) {
      for (const arg of list(table(container).args)) {
        const match = /^--kubelet-service=([^/]+)\/(.+)$/.exec(String(arg));
        if (match === null) continue;
        out.push({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name: match[2] as string,
            namespace: match[1] as string,
            labels: {
              'k8s-app': 'kubelet',
              'app.kubernetes.io/name': 'kubelet',
              'app.kubernetes.io/managed-by': 'prometheus-operator',
            },
          },
          spec: {
            ports: [
              { name: 'https-metrics', port: 10250 },
              { name: 'http-metrics', port: 10255 },
              { name: 'cadvisor', port: 4194 },
            ],
          },
        } as KubeObject);
      }
    }
  }
  return out;
}

/**
 * Whether a monitor's `spec.selector` (a `metav1.LabelSelector`, its `matchExpressions` too)
 * selects `labels`. prometheus-operator reads a missing selector as Go's zero value, which selects
 * everything.
 */
function selects(selector: unknown, labels: { readonly [key: string]: string }): boolean {
  return labelSelectorMatches(selector ?? {}, labels);
}

/** Namespaces a monitor selects targets in (`undefined`: any). */
function monitorNamespaces(monitor: KubeObject): readonly string[] | undefined {
  const selector = table(table(monitor.spec).namespaceSelector);
  if (selector.any === true) return undefined;
  const names = list(selector.matchNames).filter(
    (name): name is string => typeof name === 'string',
  );
  return names.length > 0 ? names : [String(monitor.metadata.namespace ?? '')];
}

function relabelsJob(endpoint: Table): boolean {
  return list(endpoint.relabelings).some((rule) => table(rule).targetLabel === 'job');
}

/**
 * Labels of the pods prometheus-operator makes from a Prometheus or Alertmanager resource (no
 * chart renders them; kube-prometheus-stack's Services select them by these).
 */
const OPERATOR_POD_LABELS: { readonly [kind: string]: (name: string) => Table } = {
  Prometheus: (name) => ({
    'app.kubernetes.io/name': 'prometheus',
    'app.kubernetes.io/instance': name,
    'operator.prometheus.io/name': name,
    prometheus: name,
  }),
  Alertmanager: (name) => ({
    'app.kubernetes.io/name': 'alertmanager',
    'app.kubernetes.io/instance': name,
    alertmanager: name,
  }),
};

/** Pod templates of the workloads among `objects`, with their namespace. */
function podTemplates(objects: readonly KubeObject[]): { namespace: string; template: Table }[] {
  const out: { namespace: string; template: Table }[] = [];
  for (const object of objects) {
    const spec = table(object.spec);
    const operatorLabels =
      object.apiVersion === MONITORING_API ? OPERATOR_POD_LABELS[object.kind] : undefined;
    if (operatorLabels !== undefined) {
      const labels = {
        ...table(table(spec.podMetadata).labels),
        ...operatorLabels(object.metadata.name),
      };
      out.push({
        namespace: String(object.metadata.namespace ?? ''),
        template: { metadata: { labels }, spec: { containers: [] } },
      });
      continue;
    }
    const template =
      object.kind === 'Pod'
        ? (object as unknown as Table)
        : object.kind === 'CronJob'
          ? table(table(table(spec.jobTemplate).spec).template)
          : ['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job'].includes(object.kind)
            ? table(spec.template)
            : undefined;
    if (template !== undefined) {
      out.push({ namespace: String(object.metadata.namespace ?? ''), template });
    }
  }
  return out;
}

/**
 * Every target the cluster's ServiceMonitors and PodMonitors find among `objects` (what Helm
 * renders on the cluster) and `clusterMade` (`clusterMadeServices`): a Service with endpoints
 * (`hasEndpoints`) in a selected namespace with the selected labels and a port an endpoint
 * names, or a pod template with the selected labels and a container port an endpoint names. `job` as the Prometheus Operator sets it: the Service's
 * name, or the value of its `jobLabel` label where it has one; a PodMonitor's
 * `<namespace>/<name>`, or its pods' `jobLabel` label.
 */
export function scrapeTargets(
  objects: readonly KubeObject[],
  clusterMade: readonly KubeObject[] = [],
): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  const pods = podTemplates(objects);
  const services = [
    ...clusterMade,
    ...objects.filter(
      (object) =>
        object.apiVersion === 'v1' &&
        object.kind === 'Service' &&
        hasEndpoints(object, objects, pods),
    ),
  ];
  for (const monitor of objects) {
    if (monitor.apiVersion !== MONITORING_API) continue;
    if (monitor.kind !== 'ServiceMonitor' && monitor.kind !== 'PodMonitor') continue;
    const spec = table(monitor.spec);
    const namespaces = monitorNamespaces(monitor);
    const jobLabel = text(spec.jobLabel);
    const name = `${monitor.kind} ${String(monitor.metadata.namespace ?? '')}/${monitor.metadata.name}`;
    if (monitor.kind === 'ServiceMonitor') {
      const endpoints = list(spec.endpoints).map(table);
      for (const service of services) {
        const namespace = String(service.metadata.namespace ?? '');
        if (namespaces !== undefined && !namespaces.includes(namespace)) continue;
        const labels = labelsOf(service.metadata.labels);
        if (!selects(spec.selector, labels)) continue;
        const ports = list(table(service.spec).ports).map((port) => text(table(port).name));
        const scraped = endpoints.filter(
          (endpoint) => endpoint.targetPort !== undefined || ports.includes(text(endpoint.port)),
        );
        if (scraped.length === 0) continue;
        out.push({
          job: (jobLabel === undefined ? undefined : labels[jobLabel]) || service.metadata.name,
          namespace,
          service: service.metadata.name,
          monitor: name,
          anyJob: scraped.some(relabelsJob),
        });
      }
    } else {
      const endpoints = list(spec.podMetricsEndpoints).map(table);
      for (const { namespace, template } of pods) {
        if (namespaces !== undefined && !namespaces.includes(namespace)) continue;
        const labels = labelsOf(table(template.metadata).labels);
        if (!selects(spec.selector, labels)) continue;
        const ports = list(table(template.spec).containers).flatMap((container) =>
          list(table(container).ports).map((port) => text(table(port).name)),
        );
        const scraped = endpoints.filter(
          (endpoint) => endpoint.portNumber !== undefined || ports.includes(text(endpoint.port)),
        );
        if (scraped.length === 0) continue;
        out.push({
          job:
            (jobLabel === undefined ? undefined : labels[jobLabel]) ||
            `${String(monitor.metadata.namespace ?? '')}/${monitor.metadata.name}`,
          namespace,
          service: undefined,
          monitor: name,
          anyJob: scraped.some(relabelsJob),
        });
      }
    }
  }
  return out;
}

/**
 * Whether a Service has endpoints on the cluster: its selector selects pods of a workload among
 * `objects` in its namespace, or, without a selector, an Endpoints or EndpointSlice object
 * among `objects` gives it addresses (kube-prometheus-stack's control-plane Services with
 * `endpoints`). A Service that selects pods nothing deploys (kube-proxy's where the CNI
 * replaced it, kubeadm's `component: kube-scheduler` on Talos) has no target.
 */
function hasEndpoints(
  service: KubeObject,
  objects: readonly KubeObject[],
  pods: readonly { namespace: string; template: Table }[],
): boolean {
  const namespace = String(service.metadata.namespace ?? '');
  const selector = labelsOf(table(service.spec).selector);
  if (Object.keys(selector).length > 0) {
    return pods.some(
      (pod) =>
        pod.namespace === namespace &&
        selects({ matchLabels: selector }, labelsOf(table(pod.template.metadata).labels)),
    );
  }
  return objects.some((object) => {
    if (String(object.metadata.namespace ?? '') !== namespace) return false;
    if (object.apiVersion === 'v1' && object.kind === 'Endpoints') {
      return (
        object.metadata.name === service.metadata.name &&
        list((object as unknown as Table).subsets).some(
          (subset) => list(table(subset).addresses).length > 0,
        )
      );
    }
    if (object.kind === 'EndpointSlice') {
      return (
        labelsOf(object.metadata.labels)['kubernetes.io/service-name'] === service.metadata.name &&
        list((object as unknown as Table).endpoints).length > 0
      );
    }
    return false;
  });
}

function matches(matcher: LabelMatcher, value: string | undefined): boolean {
  const actual = value ?? '';
  switch (matcher.op) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(actual);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(actual);
  }
}

/** The labels of a selector that name scrape targets: `job`, and for `up` `service`, `namespace`. */
function targetMatchers(selector: SeriesSelector): LabelMatcher[] {
  const labels = selector.metric === 'up' ? ['job', 'service', 'namespace'] : ['job'];
  return selector.matchers.filter(
    (matcher) => labels.includes(matcher.label) && (matcher.op === '=' || matcher.op === '=~'),
  );
}

/**
 * The exporters of the metric families the platform's alerts read, by metric-name prefix, and
 * the scrape targets that are theirs (by `job`, or by Service name where the job is the
 * Service's): read at the pinned releases (kube-state-metrics 2.20.0, node-exporter, the API
 * server, Argo CD v3.4.4's application controller, cert-manager v1.21.1's controller,
 * longhorn-manager v1.8.1 behind `longhorn-backend`, VolSync 0.16.0's `volsync-metrics`,
 * Gatekeeper 3.23.0's pods, Authelia v4.39.19, Cilium's agent and operator, CoreDNS behind
 * `kube-dns`). A selector that names its job is the job check's; one that does not (most of the
 * components' alerts: `longhorn_volume_robustness == 3`) still reads only what its exporter's
 * target gives, and is silent for ever where nothing scrapes it.
 */
export const METRIC_EXPORTERS: readonly {
  readonly prefix: string;
  readonly exporter: string;
  readonly target: (target: ScrapeTarget) => boolean;
}[] = [
  {
    prefix: 'kube_',
    exporter: 'kube-state-metrics',
    target: (t) => t.job === 'kube-state-metrics',
  },
  { prefix: 'node_', exporter: 'node-exporter', target: (t) => t.job === 'node-exporter' },
  { prefix: 'apiserver_', exporter: 'the API server', target: (t) => t.job === 'apiserver' },
  {
    prefix: 'argocd_app_',
    exporter: "Argo CD's application controller",
    target: (t) => t.service === 'argocd-application-controller-metrics',
  },
  {
    prefix: 'certmanager_',
    exporter: "cert-manager's controller",
    target: (t) => t.job === 'cert-manager',
  },
  {
    prefix: 'longhorn_',
    exporter: 'longhorn-manager',
    target: (t) => t.service === 'longhorn-backend',
  },
  {
    prefix: 'volsync_',
    exporter: 'the VolSync controller',
    target: (t) => t.service === 'volsync-metrics',
  },
  {
    prefix: 'gatekeeper_',
    exporter: "Gatekeeper's pods",
    target: (t) => t.namespace === 'gatekeeper-system',
  },
  { prefix: 'authelia_', exporter: 'Authelia', target: (t) => t.service === 'authelia' },
  {
    prefix: 'cilium_',
    exporter: "Cilium's agent or operator",
    target: (t) => t.job === 'cilium-agent' || t.job === 'cilium-operator',
  },
  { prefix: 'coredns_', exporter: 'CoreDNS', target: (t) => t.service === 'kube-dns' },
];

/**
 * kube-state-metrics 2.20.0's collectors (`internal/store/builder.go`, `availableStores`; one
 * store file each), by the kind of their metric families (`kube_<kind>` and `kube_<kind>_…`):
 * the `--resources` name that switches the collector on and the API group it lists and watches
 * (the clients of `internal/store/*.go`: `CoordinationV1().Leases`, `DiscoveryV1`,
 * `NetworkingV1`, …). A family of a collector left out of `--resources`, or whose resource its
 * ServiceAccount may not list and watch, is never exported (the collector is off, or its
 * reflector keeps failing with `forbidden`), though kube-state-metrics itself is scraped.
 */
export const KSM_COLLECTORS: { readonly [kind: string]: { resource: string; group: string } } = {
  certificatesigningrequest: {
    resource: 'certificatesigningrequests',
    group: 'certificates.k8s.io',
  },
  clusterrole: { resource: 'clusterroles', group: 'rbac.authorization.k8s.io' },
  clusterrolebinding: { resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' },
  configmap: { resource: 'configmaps', group: '' },
  cronjob: { resource: 'cronjobs', group: 'batch' },
  daemonset: { resource: 'daemonsets', group: 'apps' },
  deployment: { resource: 'deployments', group: 'apps' },
  endpoint: { resource: 'endpoints', group: '' },
  endpointslice: { resource: 'endpointslices', group: 'discovery.k8s.io' },
  horizontalpodautoscaler: { resource: 'horizontalpodautoscalers', group: 'autoscaling' },
  ingress: { resource: 'ingresses', group: 'networking.k8s.io' },
  ingressclass: { resource: 'ingressclasses', group: 'networking.k8s.io' },
  job: { resource: 'jobs', group: 'batch' },
  lease: { resource: 'leases', group: 'coordination.k8s.io' },
  limitrange: { resource: 'limitranges', group: '' },
  mutatingadmissionpolicy: {
    resource: 'mutatingadmissionpolicies',
    group: 'admissionregistration.k8s.io',
  },
  mutatingadmissionpolicybinding: {
    resource: 'mutatingadmissionpolicybindings',
    group: 'admissionregistration.k8s.io',
  },
  mutatingwebhookconfiguration: {
    resource: 'mutatingwebhookconfigurations',
    group: 'admissionregistration.k8s.io',
  },
  namespace: { resource: 'namespaces', group: '' },
  networkpolicy: { resource: 'networkpolicies', group: 'networking.k8s.io' },
  node: { resource: 'nodes', group: '' },
  persistentvolume: { resource: 'persistentvolumes', group: '' },
  persistentvolumeclaim: { resource: 'persistentvolumeclaims', group: '' },
  pod: { resource: 'pods', group: '' },
  poddisruptionbudget: { resource: 'poddisruptionbudgets', group: 'policy' },
  replicaset: { resource: 'replicasets', group: 'apps' },
  replicationcontroller: { resource: 'replicationcontrollers', group: '' },
  resourcequota: { resource: 'resourcequotas', group: '' },
  role: { resource: 'roles', group: 'rbac.authorization.k8s.io' },
  rolebinding: { resource: 'rolebindings', group: 'rbac.authorization.k8s.io' },
  secret: { resource: 'secrets', group: '' },
  service: { resource: 'services', group: '' },
  serviceaccount: { resource: 'serviceaccounts', group: '' },
  statefulset: { resource: 'statefulsets', group: 'apps' },
  storageclass: { resource: 'storageclasses', group: 'storage.k8s.io' },
  validatingadmissionpolicy: {
    resource: 'validatingadmissionpolicies',
    group: 'admissionregistration.k8s.io',
  },
  validatingadmissionpolicybinding: {
    resource: 'validatingadmissionpolicybindings',
    group: 'admissionregistration.k8s.io',
  },
  validatingwebhookconfiguration: {
    resource: 'validatingwebhookconfigurations',
    group: 'admissionregistration.k8s.io',
  },
  volumeattachment: { resource: 'volumeattachments', group: 'storage.k8s.io' },
};

/**
 * kube-state-metrics 2.20.0's collectors without `--resources` (`pkg/options/resource.go`,
 * `DefaultResources`).
 */
const KSM_DEFAULT_RESOURCES = [
  'certificatesigningrequests',
  'configmaps',
  'cronjobs',
  'daemonsets',
  'deployments',
  'endpointslices',
  'horizontalpodautoscalers',
  'ingresses',
  'jobs',
  'leases',
  'limitranges',
  'mutatingadmissionpolicies',
  'mutatingadmissionpolicybindings',
  'mutatingwebhookconfigurations',
  'namespaces',
  'networkpolicies',
  'nodes',
  'persistentvolumes',
  'persistentvolumeclaims',
  'poddisruptionbudgets',
  'pods',
  'replicasets',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'services',
  'statefulsets',
  'storageclasses',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'validatingwebhookconfigurations',
  'volumeattachments',
];

/** A kube-state-metrics workload among the rendered objects: its collectors and its ServiceAccount. */
interface KsmWorkload {
  readonly name: string;
  readonly namespace: string;
  readonly resources: readonly string[];
  readonly serviceAccount: string;
}

/** The kube-state-metrics workloads (by their container image) among `objects`. */
function ksmWorkloads(objects: readonly KubeObject[]): KsmWorkload[] {
  const out: KsmWorkload[] = [];
  for (const object of objects) {
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(object.kind)) continue;
    const pod = table(table(table(object.spec).template).spec);
    for (const container of list(pod.containers).map(table)) {
      if (!/(^|\/)kube-state-metrics(:|@|$)/.test(text(container.image) ?? '')) continue;
      const args = [...list(container.command), ...list(container.args)].map(String);
      const flag = args
        .map((arg) => /^--resources=(.*)$/.exec(arg)?.[1])
        .find((value) => value !== undefined);
      out.push({
        name: `${object.kind} ${String(object.metadata.namespace ?? '')}/${object.metadata.name}`,
        namespace: String(object.metadata.namespace ?? ''),
        resources:
          flag === undefined
            ? KSM_DEFAULT_RESOURCES
            : flag
                .split(',')
                .map((name) => name.trim())
                .filter((name) => name !== ''),
        serviceAccount: text(pod.serviceAccountName) ?? 'default',
      });
    }
  }
  return out;
}

const grants = (values: unknown, wanted: string): boolean =>
  list(values).some((value) => value === wanted || value === '*');

/**
 * Whether a ClusterRole or Role bound to the ServiceAccount `namespace/name` lets it list and
 * watch `resource` of `group` (a RoleBinding grants in its own namespace only; kube-state-metrics
 * lists cluster-wide, so a Role counts as a grant only there: good enough for a "none at all").
 */
function mayListAndWatch(
  objects: readonly KubeObject[],
  namespace: string,
  name: string,
  resource: string,
  group: string,
): boolean {
  const rbac = 'rbac.authorization.k8s.io/v1';
  return objects.some((binding) => {
    if (binding.apiVersion !== rbac) return false;
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') return false;
    const bound = list((binding as unknown as Table).subjects)
      .map(table)
      .some(
        (subject) =>
          subject.kind === 'ServiceAccount' &&
          subject.name === name &&
          (subject.namespace ?? binding.metadata.namespace) === namespace,
      );
    if (!bound) return false;
    const ref = table((binding as unknown as Table).roleRef);
    return objects.some(
      (role) =>
        role.apiVersion === rbac &&
        role.kind === ref.kind &&
        role.metadata.name === ref.name &&
        (role.kind === 'ClusterRole' || role.metadata.namespace === binding.metadata.namespace) &&
        list((role as unknown as Table).rules)
          .map(table)
          .some(
            (rule) =>
              grants(rule.apiGroups, group) &&
              grants(rule.resources, resource) &&
              grants(rule.verbs, 'list') &&
              grants(rule.verbs, 'watch'),
          ),
    );
  });
}

/**
 * What keeps the kube-state-metrics workloads among `objects` from exporting `metric`: its
 * collector left out of `--resources`, or its resource not listable and watchable by the
 * workload's ServiceAccount. Nothing when `objects` hold no kube-state-metrics workload (the
 * scrape check speaks then) or the metric is no collector's.
 */
function ksmCollectorProblem(objects: readonly KubeObject[], metric: string): string | undefined {
  const kind = /^kube_([a-z]+)/.exec(metric)?.[1];
  const collector = kind === undefined ? undefined : KSM_COLLECTORS[kind];
  if (collector === undefined) return undefined;
  const workloads = ksmWorkloads(objects);
  if (workloads.length === 0) return undefined;
  const why: string[] = [];
  for (const workload of workloads) {
    if (!workload.resources.includes(collector.resource)) {
      why.push(
        `${workload.name} runs without its ${collector.resource} collector (--resources=${workload.resources.join(',')})`,
      );
    } else if (
      !mayListAndWatch(
        objects,
        workload.namespace,
        workload.serviceAccount,
        collector.resource,
        collector.group,
      )
    ) {
      const resource =
        collector.group === '' ? collector.resource : `${collector.resource}.${collector.group}`;
      why.push(
        `${workload.name}'s ServiceAccount ${workload.namespace}/${workload.serviceAccount} may not list and watch ${resource} (no ClusterRole or Role bound to it grants both)`,
      );
    } else {
      return undefined;
    }
  }
  return why.join('; ');
}

/**
 * One line per alert selector that names a scrape job (or, for `up`, a Service and namespace)
 * no target on the cluster has: `PrometheusRule <namespace>/<name>: alert <Alert> selects
 * <selector>, which no ServiceMonitor or PodMonitor on the cluster scrapes`; and per alert
 * selector of a metric family in `METRIC_EXPORTERS` whose exporter no target of the cluster is:
 * `… reads <metric>, which only <exporter> exports, and nothing on the cluster scrapes it`; and
 * per alert selector of a kube-state-metrics family whose collector the scraped kube-state-metrics
 * does not run, or may not list and watch: `… which kube-state-metrics never exports: <why>`.
 * Recording rules are left alone (an empty recording is no alert).
 */
export function alertTargetProblems(objects: readonly KubeObject[]): string[] {
  const targets = scrapeTargets(objects, clusterMadeServices(objects));
  const out: string[] = [];
  for (const rule of objects) {
    if (rule.apiVersion !== MONITORING_API || rule.kind !== 'PrometheusRule') continue;
    for (const group of list(table(rule.spec).groups)) {
      for (const entry of list(table(group).rules).map(table)) {
        const alert = text(entry.alert);
        const expr = text(entry.expr);
        if (alert === undefined || expr === undefined) continue;
        for (const selector of seriesSelectors(expr)) {
          // A recording rule's series (`level:metric:operations`) comes from Prometheus itself.
          const family = selector.metric?.includes(':')
            ? undefined
            : METRIC_EXPORTERS.find((entry) => selector.metric?.startsWith(entry.prefix) === true);
          if (family !== undefined && !targets.some(family.target)) {
            out.push(
              `PrometheusRule ${String(rule.metadata.namespace ?? '')}/${rule.metadata.name}: alert ${alert} reads ${selector.metric}, which only ${family.exporter} exports, and nothing on the cluster scrapes it`,
            );
          } else if (family?.prefix === 'kube_' && selector.metric !== undefined) {
            const why = ksmCollectorProblem(objects, selector.metric);
            if (why !== undefined) {
              out.push(
                `PrometheusRule ${String(rule.metadata.namespace ?? '')}/${rule.metadata.name}: alert ${alert} reads ${selector.metric}, which kube-state-metrics never exports: ${why}`,
              );
            }
          }
          const wanted = targetMatchers(selector);
          if (wanted.length === 0) continue;
          const found = targets.some((target) =>
            wanted.every((matcher) =>
              matcher.label === 'job'
                ? target.anyJob || matches(matcher, target.job)
                : matches(matcher, matcher.label === 'service' ? target.service : target.namespace),
            ),
          );
          if (found) continue;
          const shown = `${selector.metric ?? ''}{${wanted.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(',')}}`;
          out.push(
            `PrometheusRule ${String(rule.metadata.namespace ?? '')}/${rule.metadata.name}: alert ${alert} selects ${shown}, which no ServiceMonitor or PodMonitor on the cluster scrapes`,
          );
        }
      }
    }
  }
  return [...new Set(out)];
}
