// @homelab/monitoring: the monitoring component. Provides `metrics`: renders charts/monitoring
// (kube-prometheus-stack: Prometheus, Alertmanager, Grafana, node-exporter, kube-state-metrics)
// and turns what every component on a cluster declares (`monitors`: scrape targets, alert rules,
// dashboards) into ServiceMonitors/PodMonitors, PrometheusRules and dashboard ConfigMaps in its
// own chart. Declares Grafana's route and OIDC client, the Secrets it reads, its flows, and the
// Talos flags that expose the control-plane metrics. Pure.
import {
  type ApplicationDescriptor,
  type BootstrapSecret,
  type BootstrapStep,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  type Declaration,
  type DeclareInput,
  type EnvironmentName,
  error,
  type GroupKind,
  type Issue,
  type KubeObject,
  type MonitorDeclaration,
  type PathSegment,
  type RenderCluster,
  type RenderInput,
  type ResolvedCluster,
  requireVariable,
  SECRET_APPLY,
  type SecretReader,
  type SecretRequirement,
  secretFromVariable,
  settingsPath,
  shellQuote,
  type TalosNeeds,
  type Values,
  warning,
} from '@homelab/core';
import { type AlertmanagerPlan, alertmanagerPlan, NULL_RECEIVER } from './alertmanager.js';
import { FALLBACK_MONITORS, platformMonitors } from './catalogue.js';
import { MONITORING_CHANGES } from './changes.js';
import { MONITORING_CHECKS } from './checks.js';
import { DEFAULT_RULES_CHART, renderedDefaultAlerts } from './default-rules.js';
import { CONTROL_PLANE_METRICS, grafanaOidcFlows, monitoringFlows } from './flows.js';
import {
  GRAFANA_ADMIN_SECRET,
  GRAFANA_OIDC_CA,
  GRAFANA_PORT,
  GRAFANA_SERVICE,
  grafanaClusterValues,
  grafanaOidcCaCertificate,
  grafanaOidcClient,
} from './grafana.js';
import { dashboardObject, monitorObject, ruleObject } from './manifests.js';
import { type ResolvedRule, resolveRule } from './rules.js';
import {
  MONITORING_NAMESPACE,
  type MonitoringSettings,
  monitoringSettingsSpec,
  NODE_EXPORTER_NAMESPACE,
  type ResolvedMonitoringSettings,
  resolveMonitoringSettings,
} from './settings.js';
import { monitoringValidators } from './validators.js';
import {
  ALERTMANAGER_NAME,
  baseValues,
  clusterValues,
  environmentValues,
  KPS_VALUES_KEY,
  UI_PORT_FORWARDS,
} from './values.js';
import {
  KUBE_PROMETHEUS_STACK_CHART,
  MONITORING_IMAGE_REPOSITORIES,
  MONITORING_UPSTREAM,
  NODE_EXPORTER_IMAGE_REPOSITORY,
  PROMETHEUS_OPERATOR_VERSION,
} from './versions.js';

export const MONITORING_CHART_NAME = 'monitoring';

/**
 * The PrometheusRule of the definition's own rules (`components.monitoring.rules`): they may
 * select what the user's applications' own ServiceMonitors scrape, which the platform never sees.
 */
export const DEFINITION_RULES = 'definition';

/**
 * Talos binds kube-controller-manager and kube-scheduler to 127.0.0.1 and serves etcd metrics on
 * localhost only; Prometheus scrapes them at the control-plane addresses, so they listen on every
 * interface (the Talos "etcd metrics" guide; controller-manager and scheduler keep TLS and check
 * Prometheus' token, etcd's metrics listener is plain HTTP on the node network).
 */
export const MONITORING_TALOS_NEEDS: TalosNeeds = {
  controlPlaneArgs: {
    controllerManager: { 'bind-address': '0.0.0.0' },
    scheduler: { 'bind-address': '0.0.0.0' },
    etcd: { 'listen-metrics-urls': `http://0.0.0.0:${CONTROL_PLANE_METRICS.etcd}` },
  },
};

const MONITORING_KINDS = [
  'Alertmanager',
  'AlertmanagerConfig',
  'PodMonitor',
  'Probe',
  'Prometheus',
  'PrometheusAgent',
  'PrometheusRule',
  'ScrapeConfig',
  'ServiceMonitor',
  'ThanosRuler',
] as const;

/** Cluster-scoped kinds the chart creates. */
const CLUSTER_RESOURCES: readonly GroupKind[] = [
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
];

function descriptor(cluster: ResolvedCluster): ApplicationDescriptor {
  return {
    chart: MONITORING_CHART_NAME,
    namespace: MONITORING_NAMESPACE,
    imageRepositories: {
      [MONITORING_NAMESPACE]: MONITORING_IMAGE_REPOSITORIES.filter(
        (repository) => repository !== NODE_EXPORTER_IMAGE_REPOSITORY,
      ),
      [NODE_EXPORTER_NAMESPACE]: [NODE_EXPORTER_IMAGE_REPOSITORY],
    },
    // The scrape Services of the control plane, kubelet and CoreDNS live in kube-system (no
    // pods: restricted is all they need); node-exporter has a namespace of its own, the only
    // privileged one: it reads the host (host network, host PID, host paths).
    additionalNamespaces: ['kube-system', NODE_EXPORTER_NAMESPACE],
    additionalPodSecurity: { [NODE_EXPORTER_NAMESPACE]: 'privileged' },
    podSecurity: 'restricted',
    // node-exporter's read-only mounts of the host: its /proc, /sys and root filesystem.
    hostPaths: ['/', '/proc', '/sys'],
    // The Prometheus Operator CRDs exceed the annotation client-side apply stores.
    serverSideApply: true,
    clusterResources: CLUSTER_RESOURCES.map((kind) => ({ ...kind })),
    installs: MONITORING_KINDS.map((kind) => ({ group: 'monitoring.coreos.com', kind })),
    // What the upstream chart renders with our values (the project allows exactly these).
    namespacedResources: [
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Endpoints' },
      { group: '', kind: 'Secret' },
      { group: '', kind: 'Service' },
      { group: '', kind: 'ServiceAccount' },
      { group: 'apps', kind: 'DaemonSet' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'monitoring.coreos.com', kind: 'Alertmanager' },
      { group: 'monitoring.coreos.com', kind: 'Prometheus' },
      { group: 'monitoring.coreos.com', kind: 'PrometheusRule' },
      { group: 'monitoring.coreos.com', kind: 'ServiceMonitor' },
      ...(cluster.profile.podDisruptionBudget
        ? [{ group: 'policy', kind: 'PodDisruptionBudget' }]
        : []),
    ],
  };
}

/** Grafana's Deployment (the subchart's fullnameOverride): its env is read once, at start. */
const GRAFANA_ENV_READER = {
  kind: 'Deployment',
  name: GRAFANA_SERVICE,
  reads: 'start',
} as const;

/**
 * The Secrets monitoring reads: receiver credentials, Grafana's admin, its OIDC client secret;
 * with what reads each (the rotation guide).
 */
function secretRequirements(
  settings: ResolvedMonitoringSettings,
  receiverSecrets: readonly { readonly name: string; readonly keys: readonly string[] }[],
): SecretRequirement[] {
  const byName = new Map<
    string,
    { keys: Set<string>; uses: Set<string>; readers: SecretReader[]; rotation: Map<string, string> }
  >();
  const add = (
    name: string,
    keys: readonly string[],
    use: string,
    reader: SecretReader,
    rotation: { readonly [key: string]: string } = {},
  ): void => {
    const entry = byName.get(name) ?? {
      keys: new Set<string>(),
      uses: new Set<string>(),
      readers: [],
      rotation: new Map<string, string>(),
    };
    for (const key of keys) entry.keys.add(key);
    entry.uses.add(use);
    const known = entry.readers.find(
      (other) => other.kind === reader.kind && other.name === reader.name,
    );
    if (known === undefined) entry.readers.push(reader);
    else if (known.keys !== undefined && reader.keys !== undefined) {
      entry.readers[entry.readers.indexOf(known)] = {
        ...known,
        keys: [...new Set([...known.keys, ...reader.keys])].sort(compareStrings),
      };
    }
    for (const [key, note] of Object.entries(rotation)) entry.rotation.set(key, note);
    byName.set(name, entry);
  };
  add(GRAFANA_ADMIN_SECRET.name, GRAFANA_ADMIN_SECRET.keys, "Grafana's local admin", {
    ...GRAFANA_ENV_READER,
    keys: [...GRAFANA_ADMIN_SECRET.keys],
    how: '`GF_SECURITY_ADMIN_USER`/`GF_SECURITY_ADMIN_PASSWORD` (`admin.existingSecret`), which Grafana applies when it creates its database; the database lives in the pod, so a new pod has the new password',
  });
  const oidc = settings.grafana.oidc;
  if (oidc !== undefined) {
    add(
      oidc.clientSecret.secretName,
      [oidc.clientSecret.key],
      "Grafana's OIDC client secret: 40 or more random letters and digits (the provider reads the same entry into its configuration, where a quote breaks it)",
      {
        ...GRAFANA_ENV_READER,
        keys: [oidc.clientSecret.key],
        how: '`GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET` (`envValueFrom`), read at start',
      },
    );
  }
  const heartbeat = settings.alertmanager.receivers.find(
    (receiver) => receiver.name === settings.alertmanager.heartbeat?.receiver,
  )?.credentials?.secretName;
  for (const secret of receiverSecrets)
    add(
      secret.name,
      secret.keys,
      secret.name === heartbeat
        ? "the heartbeat's ping URL, token included: the URL of this cluster's own check in the check-in service (a check shared by two clusters stays green while one is down)"
        : 'Alertmanager receiver credentials',
      {
        kind: 'StatefulSet',
        // The Prometheus Operator's StatefulSet of the Alertmanager resource.
        name: `alertmanager-${ALERTMANAGER_NAME}`,
        reads: 'use',
        keys: [...secret.keys],
        how: 'a file of the Secret the operator mounts (`alertmanagerSpec.secrets`), which the kubelet updates and Alertmanager reads at each notification (`*_file`)',
      },
    );
  return [...byName.keys()].sort(compareStrings).map((name) => {
    const entry = byName.get(name) as {
      keys: Set<string>;
      uses: Set<string>;
      readers: SecretReader[];
      rotation: Map<string, string>;
    };
    return {
      name,
      namespace: MONITORING_NAMESPACE,
      keys: [...entry.keys].sort(compareStrings),
      description: [...entry.uses].sort(compareStrings).join('; '),
      readers: entry.readers,
      ...(entry.rotation.size === 0
        ? {}
        : {
            rotation: Object.fromEntries(
              [...entry.rotation].sort(([a], [b]) => compareStrings(a, b)),
            ),
          }),
    };
  });
}

/**
 * The Secrets as hand-made bootstrap secrets, for a cluster without a secrets provider. Each value
 * is read from the terminal (not echoed, not in the shell history), checked not empty, and handed
 * to kubectl as a file, never as an argument (`ps` shows arguments to every user); Grafana's
 * admin password is random, its user `admin`.
 */
function bootstrapSecrets(secrets: readonly SecretRequirement[]): BootstrapSecret[] {
  return secrets.map((secret) => {
    const variableOf = (key: string): string =>
      `${secret.name}_${key}`.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const grafanaAdmin = secret.name === GRAFANA_ADMIN_SECRET.name;
    const typed = secret.keys.filter(
      (key) => !(grafanaAdmin && (key === 'admin-password' || key === 'admin-user')),
    );
    const args = secret.keys.map((key) =>
      grafanaAdmin && key === 'admin-password'
        ? `--from-file=admin-password=<(openssl rand -base64 24 | tr -d '\\n')`
        : grafanaAdmin && key === 'admin-user'
          ? '--from-literal=admin-user=admin'
          : secretFromVariable(key, variableOf(key)),
    );
    return {
      name: secret.name,
      namespace: secret.namespace,
      keys: secret.keys,
      description: `${secret.description ?? secret.name} (no secrets provider on this cluster)`,
      reads: typed.map((key) => ({
        variable: variableOf(key),
        prompt: `${secret.namespace}/${secret.name} ${key}`,
      })),
      commands: [
        ...typed.map((key) => `${requireVariable(variableOf(key), 'empty: read it again')} &&`),
        // Grafana's admin password is random: a run again keeps the Secret (AlreadyExists before;
        // a new password would silently replace the one the operator knows). Typed values are
        // applied again, server-side (no copy in the last-applied annotation).
        `${grafanaAdmin ? `kubectl -n ${shellQuote(secret.namespace)} get secret ${shellQuote(secret.name)} >/dev/null 2>&1 || ` : ''}kubectl -n ${shellQuote(secret.namespace)} create secret generic ${shellQuote(secret.name)} \\`,
        ...args.map(
          (arg, i) => `  ${arg}${i < args.length - 1 ? ' \\' : grafanaAdmin ? '' : ' \\'}`,
        ),
        ...(grafanaAdmin ? [] : [`  --dry-run=client -o yaml | ${SECRET_APPLY}`]),
      ],
    };
  });
}

/** Alertmanager's repeat interval: how often a firing alert is sent again. */
const REPEAT_INTERVAL: { readonly [E in EnvironmentName]: string } = {
  development: '24h',
  staging: '12h',
  production: '4h',
};

/**
 * The runbook's check of the dead man's switch once Argo CD has synced monitoring: Watchdog
 * routes to the heartbeat receiver only (amtool, inside the Alertmanager pod, on the
 * configuration the operator made), and the check-in service sees the pings.
 */
function heartbeatStep(receiver: string, interval: string): BootstrapStep {
  const pod = `alertmanager-${ALERTMANAGER_NAME}-0`;
  return {
    title: "Check the heartbeat (dead man's switch)",
    when: 'after-handover',
    body: [
      `Alertmanager sends the always-firing Watchdog alert to receiver \`${receiver}\` every ${interval}, and to`,
      'nothing else. Argo CD deploys monitoring in a late sync wave: the first two commands wait',
      'for its Alertmanager pod to exist and be ready (up to 30 and 10 minutes). The next must',
      'print that receiver only; the last counts failed',
      'webhook sends, which stays at 0 once the Secret holds the ping URL and the egress policy allows',
      'its host. The check in your check-in service then turns green: give it a period of',
      `${interval} and a grace of a few periods, and point its alerts at you, outside this cluster.`,
    ],
    commands: [
      // kubectl 1.31 or newer (`--for=create`), within the range the runbook's prerequisites name.
      `kubectl -n ${MONITORING_NAMESPACE} wait --for=create pod/${pod} --timeout=30m`,
      `kubectl -n ${MONITORING_NAMESPACE} wait --for=condition=Ready pod/${pod} --timeout=10m`,
      `kubectl -n ${MONITORING_NAMESPACE} exec ${pod} -c alertmanager -- amtool config routes test --config.file=/etc/alertmanager/config_out/alertmanager.env.yaml alertname=Watchdog severity=none`,
      `kubectl -n ${MONITORING_NAMESPACE} exec ${pod} -c alertmanager -- wget -qO- http://localhost:9093/metrics | grep 'alertmanager_notifications_failed_total{.*integration="webhook"'`,
    ],
  };
}

/** The name of the runbook's test alert (no rule fires it). */
export const TEST_ALERT_NAME = 'HomelabTestAlert';

/**
 * The runbook's test of alert delivery, where alerts reach a receiver at all: the receivers a
 * critical alert routes to (amtool on the configuration the operator made), a test alert posted
 * to Alertmanager's API as Prometheus posts one (amtool alert add: no end, so Alertmanager
 * resolves it after `resolve_timeout`), and the failed sends per integration. Waits for the pod
 * first where no heartbeat step did.
 */
function testAlertStep(waited: boolean): BootstrapStep {
  const pod = `alertmanager-${ALERTMANAGER_NAME}-0`;
  const exec = `kubectl -n ${MONITORING_NAMESPACE} exec ${pod} -c alertmanager --`;
  const labels = `alertname=${TEST_ALERT_NAME} severity=critical`;
  return {
    title: 'Send a test alert',
    when: 'after-handover',
    body: [
      'Whether alerts reach people shows only when one is sent: a receiver whose credentials, mail',
      'server or channel are wrong fails only then. The test alert is a critical one, routed as the',
      `platform's own are; \`amtool config routes test\` prints the receivers it goes to, and it must`,
      'arrive at each of them within a minute (the route waits 30s to group it). Nothing sends it',
      'again, so Alertmanager resolves it 5 minutes later. The last command counts failed sends per',
      'integration (`email`, `slack`, `webhook`…): a count that grows after the test names the one',
      "that failed (the Alertmanager pod's log says why).",
      "Links in notifications (the graph of an alert in Prometheus, Alertmanager's silence link)",
      `open on a machine that forwards the ports: ${UI_PORT_FORWARDS.map((ui) => `\`kubectl -n ${MONITORING_NAMESPACE} port-forward svc/${ui.service} ${ui.port}\` (${ui.name})`).join(', ')}.`,
    ],
    commands: [
      ...(waited
        ? []
        : [
            `kubectl -n ${MONITORING_NAMESPACE} wait --for=create pod/${pod} --timeout=30m`,
            `kubectl -n ${MONITORING_NAMESPACE} wait --for=condition=Ready pod/${pod} --timeout=10m`,
          ]),
      `${exec} amtool config routes test --config.file=/etc/alertmanager/config_out/alertmanager.env.yaml ${labels}`,
      `${exec} amtool alert add ${labels} --annotation=summary='A test alert from the runbook: nothing to do' --alertmanager.url=http://localhost:9093`,
      `${exec} wget -qO- http://localhost:9093/metrics | grep '^alertmanager_notifications_failed_total'`,
    ],
  };
}

/**
 * How to log in as Grafana's local admin where the runbook made its Secret by hand: the user
 * `admin` and the random password the hand-made secrets step generated, read from the Secret.
 */
function grafanaAdminLogin(): BootstrapStep {
  const secret = `${shellQuote(MONITORING_NAMESPACE)} get secret ${shellQuote(GRAFANA_ADMIN_SECRET.name)}`;
  return {
    title: 'Grafana',
    when: 'login',
    body: [
      `Grafana's local admin is \`admin\`; its password is the random one the hand-made secrets step`,
      `put into the Secret \`${MONITORING_NAMESPACE}/${GRAFANA_ADMIN_SECRET.name}\` (kept when the step runs again). Read it (it is printed on the`,
      'terminal: clear it after):',
    ],
    commands: [`kubectl -n ${secret} -o jsonpath='{.data.admin-password}' | base64 -d && echo`],
  };
}

/** Alertmanager's plan for `cluster`, at declare and at render alike. */
function clusterAlertmanagerPlan(
  settings: ResolvedMonitoringSettings,
  cluster: ResolvedCluster,
  provided: DeclareInput<MonitoringSettings>['provided'],
  path: (...segments: PathSegment[]) => PathSegment[],
): AlertmanagerPlan {
  return alertmanagerPlan(settings, REPEAT_INTERVAL[cluster.environment], path, {
    name: cluster.name,
    production: cluster.environment === 'production',
    enforcesPolicies: provided.cni?.networkPolicy === true,
    clusterDomain: provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    podCidr: cluster.network.podCidr,
    serviceCidr: cluster.network.serviceCidr,
  });
}

function declare(input: DeclareInput<MonitoringSettings>): Declaration {
  const { cluster } = input;
  const { settings, issues } = resolveMonitoringSettings(input.settings, cluster, input.path);
  const plan = clusterAlertmanagerPlan(settings, cluster, input.provided, input.path);
  issues.push(...plan.issues);
  if (!settings.grafana.localLogin && settings.grafana.oidc === undefined) {
    issues.push(
      warning({
        code: 'monitoring-grafana-login',
        path: input.path('grafana', 'localLogin'),
        value: false,
        message: 'turns off the login form while Grafana has no OIDC login; nobody can log in',
        expected: 'localLogin true, or a grafana.oidc section',
      }),
    );
  }
  // Let's Encrypt's staging root is in no trust store and Grafana is given none (it gets a
  // private CA through tls_client_ca): its server's calls to the OIDC issuer fail, so the SSO
  // login cannot work, and without the login form nobody can log in (as argocd-local-admin).
  if (
    !settings.grafana.localLogin &&
    settings.grafana.oidc !== undefined &&
    input.provided.certificates?.untrusted === true
  ) {
    issues.push(
      error({
        code: 'monitoring-grafana-login',
        path: input.path('grafana', 'localLogin'),
        value: false,
        message:
          "turns off Grafana's login form while its only login goes through the OIDC issuer over certificates its server does not trust (the cluster's issuer is Let's Encrypt's staging directory): nobody can log in",
        expected:
          'localLogin true until the cluster issues trusted certificates (acme.server: production, or a private CA)',
      }),
    );
  }
  const client = grafanaOidcClient(cluster, settings);
  const secrets = secretRequirements(settings, plan.secrets);
  // Prometheus reaches components under default deny through their ingress flows from
  // `metrics`, and namespaces outside it through its egress to its consumers (flows.ts).
  const flows = monitoringFlows({
    alertmanagerReplicas: settings.alertmanager.replicas,
    receiverFlows: plan.flows,
    oidcFlows: grafanaOidcFlows(
      client,
      input.provided['oidc-provider']?.issuer,
      input.provided.gateway,
      input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    ),
  });
  const hasSecretStore = input.provided.secrets !== undefined;
  const heartbeat = settings.alertmanager.heartbeat;
  const bootstrap: BootstrapStep[] = [
    ...(heartbeat === undefined ? [] : [heartbeatStep(heartbeat.receiver, heartbeat.interval)]),
    // Where alerts reach a receiver at all (the route's default is not the null receiver).
    ...((plan.config.route as { receiver?: string }).receiver === NULL_RECEIVER
      ? []
      : [testAlertStep(heartbeat !== undefined)]),
    // Without a secrets provider the admin's password is made at random by the runbook.
    ...(hasSecretStore || !settings.grafana.localLogin ? [] : [grafanaAdminLogin()]),
  ];
  return {
    application: descriptor(cluster),
    talos: MONITORING_TALOS_NEEDS,
    ...(bootstrap.length === 0 ? {} : { bootstrap }),
    ...(input.provided.gateway === undefined
      ? {}
      : {
          routes: [
            {
              name: GRAFANA_SERVICE,
              host: 'grafana',
              namespace: MONITORING_NAMESPACE,
              service: GRAFANA_SERVICE,
              port: GRAFANA_PORT,
              auth:
                client === undefined
                  ? { kind: 'app' as const }
                  : { kind: 'app' as const, oidcClient: client.id },
              // Without its login form Grafana is meant to be reached through SSO only, yet its
              // local admin still answers the API with basic auth (`auth.basic` stays on for the
              // sidecars' reloads, on localhost): the Gateway drops the header on the way in.
              ...(client !== undefined && !settings.grafana.localLogin
                ? { removeRequestHeaders: ['Authorization'] }
                : {}),
            },
          ],
        }),
    ...(client === undefined ? {} : { oidcClients: [client] }),
    ...(hasSecretStore ? { secrets } : { bootstrapSecrets: bootstrapSecrets(secrets) }),
    flows,
    monitors: platformMonitors(settings),
    facts: { metrics: { namespace: MONITORING_NAMESPACE } },
    issues,
  };
}

/** A monitor and who declares it, with where issues about it go. */
interface SourcedMonitor {
  readonly component: string;
  readonly monitor: MonitorDeclaration;
  readonly path: readonly PathSegment[];
  readonly by: string;
}

/** Every monitor on a cluster: monitoring's own, every component's, and the fallbacks. */
function monitorsOf(entry: RenderCluster<MonitoringSettings>): SourcedMonitor[] {
  const out: SourcedMonitor[] = [];
  const own = settingsPath(entry.cluster, 'monitoring');
  for (const monitor of entry.own.monitors ?? []) {
    out.push({ component: 'platform', monitor, path: own, by: 'monitoring' });
  }
  for (const peer of entry.others) {
    const path = settingsPath(entry.cluster, peer.component);
    const declared = peer.contribution.monitors ?? [];
    for (const monitor of declared)
      out.push({ component: peer.component, monitor, path, by: peer.component });
    const namespace = peer.contribution.application?.namespace;
    if (declared.length > 0 || namespace === undefined) continue;
    for (const fallback of FALLBACK_MONITORS) {
      if (!fallback.components.includes(peer.component)) continue;
      if (peer.contribution.facts?.[fallback.capability] === undefined) continue;
      for (const monitor of fallback.monitors(namespace, entry.cluster)) {
        out.push({
          component: peer.component,
          monitor,
          path,
          by: `${peer.component} (monitoring's fallback)`,
        });
      }
    }
  }
  return out;
}

/**
 * What goes wrong when an alert of the definition has the name of a default rule's alert. The
 * generated Alertmanager configuration matches two of them by name (alertmanager.ts): Watchdog
 * goes only to the heartbeat receiver (or is dropped), InfoInhibitor is always inhibited and
 * silences the info alerts of its namespace. Any other: Alertmanager groups, inhibits and silences
 * alerts by name, so the two are one alert to it and to whoever reads the notification.
 */
function defaultAlertClash(alert: string): string {
  if (alert === 'Watchdog') {
    return 'the generated Alertmanager routes send Watchdog only to the heartbeat receiver (or drop it without a heartbeat), so this alert would never reach the operators';
  }
  if (alert === 'InfoInhibitor') {
    return 'the generated inhibit rules always inhibit InfoInhibitor, and while it fires it silences every info alert of its namespace, so this alert would never reach the operators and would hide others';
  }
  return 'Alertmanager groups, inhibits and silences alerts by name, so the two would be one alert to it and to whoever reads the notification';
}

interface ClusterOutput {
  readonly manifests: { [key: string]: KubeObject };
  readonly alerts: ReadonlySet<string>;
}

/** The objects of one cluster: monitors, rules (with the definition's overrides and own rules), dashboards. */
function clusterManifests(
  entry: RenderCluster<MonitoringSettings>,
  settings: ResolvedMonitoringSettings,
  issues: Issue[],
): ClusterOutput {
  const { cluster } = entry;
  const manifests: { [key: string]: KubeObject } = {};
  const alerts = new Map<string, string>();
  const dashboards = new Map<string, string>();
  const rulesByComponent = new Map<string, { monitor: string; rules: ResolvedRule[] }[]>();
  const names = new Set<string>();

  const addRules = (
    component: string,
    group: string,
    list: readonly { rule: ResolvedRule | undefined; issues: Issue[] }[],
    by: string,
    path: readonly PathSegment[],
  ): void => {
    const rules: ResolvedRule[] = [];
    for (const result of list) {
      issues.push(...result.issues);
      const rule = result.rule;
      if (rule === undefined) continue;
      const first = alerts.get(rule.alert);
      if (first !== undefined) {
        issues.push(
          error({
            code: 'monitoring-rule',
            path,
            value: rule.alert,
            message: `alert ${rule.alert} is declared by ${first} and by ${by} on cluster "${cluster.name}"; overrides name alerts, so each name is declared once`,
            expected: 'unique alert names on a cluster',
          }),
        );
        continue;
      }
      alerts.set(rule.alert, by);
      rules.push(rule);
    }
    if (rules.length === 0) return;
    const groups = rulesByComponent.get(component) ?? [];
    groups.push({ monitor: group, rules });
    rulesByComponent.set(component, groups);
  };

  for (const { component, monitor, path, by } of monitorsOf(entry)) {
    const object = monitorObject(component, monitor);
    if (object !== undefined) {
      if (names.has(object.metadata.name)) {
        issues.push(
          error({
            code: 'monitoring-monitor',
            path,
            value: monitor.name,
            message: `${by} declares monitor "${monitor.name}" twice on cluster "${cluster.name}"`,
            expected: 'unique monitor names per component',
          }),
        );
      } else {
        names.add(object.metadata.name);
        manifests[`${object.kind.toLowerCase()}-${object.metadata.name}`] = object;
      }
    }
    addRules(
      component,
      monitor.name,
      (monitor.rules ?? []).map((rule) =>
        resolveRule(rule, cluster.environment, settings.alerts[rule.alert], { path, by }),
      ),
      by,
      path,
    );
    for (const dashboard of monitor.dashboards ?? []) {
      const first = dashboards.get(dashboard.name);
      if (first !== undefined) {
        issues.push(
          error({
            code: 'monitoring-dashboard',
            path,
            value: dashboard.name,
            message: `dashboard "${dashboard.name}" is declared by ${first} and by ${by} on cluster "${cluster.name}"`,
            expected: 'unique dashboard names on a cluster',
          }),
        );
        continue;
      }
      dashboards.set(dashboard.name, by);
      manifests[`dashboard-${dashboard.name}`] = dashboardObject(component, dashboard);
    }
  }

  // The definition's own rules, none named like an alert of the chart's default rules.
  const defaults = renderedDefaultAlerts({
    kubeProxyReplacement: entry.provided.cni?.kubeProxyReplacement ?? false,
  });
  const ownRules = settings.rules.flatMap((rule, index) => {
    const group = defaults.get(rule.alert);
    if (group === undefined) return [{ rule, index }];
    issues.push(
      error({
        code: 'monitoring-rule',
        path: entry.path('rules', index, 'alert'),
        value: rule.alert,
        message: `alert ${rule.alert} is also an alert of ${DEFAULT_RULES_CHART}'s default rules (group ${group}) on cluster "${cluster.name}": ${defaultAlertClash(rule.alert)}`,
        expected: `an alert name no default rule of ${DEFAULT_RULES_CHART} has, e.g. Lab${rule.alert}`,
      }),
    );
    return [];
  });
  addRules(
    DEFINITION_RULES,
    'rules',
    ownRules.map(({ rule, index }) =>
      resolveRule(
        { ...rule, severity: rule.severity },
        cluster.environment,
        settings.alerts[rule.alert],
        {
          path: entry.path('rules', index),
          exprPath: entry.path('rules', index, 'expr'),
          by: 'the definition',
        },
      ),
    ),
    'the definition',
    entry.path('rules'),
  );

  for (const component of [...rulesByComponent.keys()].sort(compareStrings)) {
    const object = ruleObject(component, rulesByComponent.get(component) ?? []);
    manifests[`prometheusrule-${component}`] = object;
  }
  const sorted: { [key: string]: KubeObject } = {};
  for (const key of Object.keys(manifests).sort(compareStrings))
    sorted[key] = manifests[key] as KubeObject;
  return { manifests: sorted, alerts: new Set(alerts.keys()) };
}

/** The StorageClass of Prometheus' volume on a cluster, or `undefined` for none (with why). */
function storageClassOf(
  entry: RenderCluster<MonitoringSettings>,
  settings: ResolvedMonitoringSettings,
  issues: Issue[],
): string | undefined {
  const { storage } = settings.prometheus;
  if (storage.storageClassName !== undefined) return storage.storageClassName;
  const provided = entry.provided.storage;
  if (provided === undefined || provided.classes.length === 0) {
    issues.push(
      warning({
        code: 'monitoring-storage',
        path: entry.path('prometheus', 'storage'),
        message: `${provided === undefined ? 'no storage provider' : 'the storage provider has no StorageClass (no node holds storage)'} on cluster "${entry.cluster.name}": Prometheus keeps its samples in an emptyDir and loses them when its pod moves`,
        expected:
          'a component that provides "storage" (Longhorn), or prometheus.storage.storageClassName',
      }),
    );
    return undefined;
  }
  const found = provided.classes.find((item) => item.tier === storage.tier);
  if (found === undefined) {
    issues.push(
      error({
        code: 'monitoring-storage',
        path: entry.path('prometheus', 'storage', 'tier'),
        value: storage.tier,
        message: `is not a storage tier on cluster "${entry.cluster.name}"`,
        expected: `one of: ${provided.classes.map((item) => item.tier).join(', ')}`,
      }),
    );
    return undefined;
  }
  return found.name;
}

function readme(): ChartSpec['readme'] {
  return {
    summary:
      `kube-prometheus-stack ${KUBE_PROMETHEUS_STACK_CHART.version} (Prometheus Operator ` +
      `${PROMETHEUS_OPERATOR_VERSION}): Prometheus with a retention and a volume per environment, ` +
      'Alertmanager (replicated from staging on) with the receivers of the definition, Grafana at ' +
      '`grafana.<cluster domain>` with login through the OIDC provider and only the plugins its image bundles, node-exporter and ' +
      'kube-state-metrics; plus the monitors, alert rules and dashboards every component declares.',
    sections: [
      {
        heading: 'Monitors from declarations',
        body:
          'Every component declares what is worth watching (`monitors` on the component contract). ' +
          'This chart holds, per cluster, a ServiceMonitor or PodMonitor for each (in the `monitoring` ' +
          "namespace, selecting the target's namespace), one PrometheusRule per declaring component " +
          "with its thresholds for the environment, and a ConfigMap per dashboard for Grafana's " +
          'sidecar. The definition overrides alerts by name (`components.monitoring.alerts`) and adds ' +
          'rules of its own (`components.monitoring.rules`).',
      },
      {
        heading: 'Talos',
        body:
          'Talos runs kube-controller-manager, kube-scheduler and etcd with their metrics on ' +
          'localhost; the Talos patches of every cluster with monitoring bind them to every interface ' +
          `(ports ${CONTROL_PLANE_METRICS.controllerManager}, ${CONTROL_PLANE_METRICS.scheduler} and ` +
          `${CONTROL_PLANE_METRICS.etcd}), and this chart scrapes them at the control-plane addresses. ` +
          'kube-proxy is not scraped where Cilium replaces it. The kubelets are scraped with their ' +
          'serving certificates verified against the cluster CA (the Talos baseline has each kubelet ' +
          'request one, approved by the Kubelet Serving Certificate Approver); etcd, whose metrics ' +
          'listener is plain HTTP, is sent no service-account token.',
      },
      {
        heading: 'Secrets',
        body:
          "No credential is in the values: Grafana's admin is in the `grafana-admin` Secret, its OIDC " +
          'client secret reaches it as an environment variable from its Secret, and each Alertmanager ' +
          'receiver reads its credential from a file of a mounted Secret. The secrets provider fills ' +
          'them; without one the runbook creates them by hand.',
      },
    ],
  };
}

/** charts/monitoring for every cluster that enables monitoring. */
function render(input: RenderInput<MonitoringSettings>): ComponentOutput {
  const issues: Issue[] = [];
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments = new Set<EnvironmentName>();
  const rendered = new Set<string>();
  const overrides: { name: string; path: PathSegment[] }[] = [];
  for (const entry of input.clusters) {
    const { cluster } = entry;
    const { settings } = resolveMonitoringSettings(entry.settings, cluster, entry.path);
    environments.add(cluster.environment);
    const plan = clusterAlertmanagerPlan(settings, cluster, entry.provided, entry.path);
    const own = clusterManifests(entry, settings, issues);
    for (const alert of own.alerts) rendered.add(alert);
    for (const name of Object.keys(settings.alerts))
      overrides.push({ name, path: entry.path('alerts', name) });
    const provider = entry.provided['oidc-provider'] ?? {
      issuer: `https://auth.${cluster.domain}`,
      userinfoPath: '/api/oidc/userinfo',
      groups: [],
    };
    const certificates = entry.provided.certificates;
    const privateCa = certificates?.privateCa === true && settings.grafana.oidc !== undefined;
    const values = clusterValues({
      cluster,
      settings,
      path: entry.path,
      storageClassName: storageClassOf(entry, settings, issues),
      kubeProxyReplacement: entry.provided.cni?.kubeProxyReplacement ?? false,
      clusterDnsProvided: entry.provided.dns !== undefined,
      alertmanagerConfig: plan.config,
      alertmanagerSecrets: plan.secrets.map((secret) => secret.name),
      grafana: grafanaClusterValues(cluster, settings, provider, privateCa),
    });
    issues.push(...values.issues);
    clusterLayers[cluster.name] = {
      ...values.values,
      manifests: {
        ...(own.manifests as unknown as Values),
        ...(privateCa && certificates !== undefined
          ? {
              [`certificate-${GRAFANA_OIDC_CA.secretName}`]: grafanaOidcCaCertificate(
                certificates.issuerRef,
              ),
            }
          : {}),
      },
    };
  }
  // An override of an alert no cluster renders is a typo, or a leftover of a component now
  // disabled: it does nothing. A warning (fatal with --strict), so disabling a component never
  // fails the build over its alerts' overrides.
  const reported = new Set<string>();
  for (const { name, path } of overrides) {
    if (rendered.has(name) || reported.has(name)) continue;
    reported.add(name);
    issues.push(
      warning({
        code: 'monitoring-alert-override',
        path,
        value: name,
        message: 'overrides an alert that no component declares on any cluster; it changes nothing',
        expected: `an alert name, one of: ${[...rendered].sort(compareStrings).join(', ')}`,
      }),
    );
  }
  const environmentLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of [...environments].sort(compareStrings)) {
    environmentLayers[name] = environmentValues(input.platform.environments[name]);
  }
  const chart: ChartSpec = {
    name: MONITORING_CHART_NAME,
    description:
      'Prometheus, Alertmanager and Grafana, with the monitors, alerts and dashboards the components declare',
    appVersion: PROMETHEUS_OPERATOR_VERSION,
    dependency: {
      name: KUBE_PROMETHEUS_STACK_CHART.name,
      version: KUBE_PROMETHEUS_STACK_CHART.version,
      repository: KUBE_PROMETHEUS_STACK_CHART.repository,
    },
    values: baseValues(),
    environments: environmentLayers,
    clusters: clusterLayers,
    readme: readme(),
  };
  return { chart, issues };
}

/** Monitoring as a platform component. */
export const monitoringComponent: Component<MonitoringSettings> = {
  name: 'monitoring',
  description:
    'Monitoring: Prometheus, Alertmanager, Grafana; monitors, alerts and dashboards from what every component declares.',
  settings: monitoringSettingsSpec,
  provides: ['metrics'],
  needs: ['cni'],
  // certificates: the private CA Grafana must trust to reach the OIDC issuer.
  uses: ['certificates', 'dns', 'gateway', 'secrets', 'storage'],
  // The issuer Grafana's login goes to: Grafana starts without it (it calls the issuer at a
  // login), so monitoring's sync does not wait for the provider's.
  reads: ['oidc-provider'],
  upstream: MONITORING_UPSTREAM,
  validators: monitoringValidators,
  checks: MONITORING_CHECKS,
  changes: MONITORING_CHANGES,
  declare,
  render,
};

export { CONTROL_PLANE_METRICS, KPS_VALUES_KEY };
