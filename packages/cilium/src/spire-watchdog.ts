// The SPIRE watchdog: where the SPIRE server of Cilium's mutual authentication keeps its data in
// its container, a CronJob puts back what every new server container loses, without a human.
// Pure: the objects of a cluster's layer and the flow they need.
import type { FlowDeclaration, KubeObject } from '@homelab/core';
import { CILIUM_NAMESPACE, SPIRE_NAMESPACE } from './constants.js';
import { KUBE_APISERVER_PORTS } from './flows.js';
import type { ResolvedNetworkPolicy } from './settings.js';
import { KUBECTL_IMAGE } from './versions.js';

export const SPIRE_WATCHDOG_NAME = 'spire-watchdog';

/** Pod labels of the watchdog's Jobs (its flow selects these). */
export const SPIRE_WATCHDOG_SELECTOR = { 'app.kubernetes.io/name': SPIRE_WATCHDOG_NAME } as const;

/** Every two minutes. */
export const SPIRE_WATCHDOG_SCHEDULE = '*/2 * * * *';

/** How long one run waits for each rollout (the agents', then the operator's). */
const ROLLOUT_TIMEOUT = '4m';

/** A run never outlives both waits by much; the next one starts at most two minutes later. */
const ACTIVE_DEADLINE_SECONDS = 600;

/**
 * How many minutes after the SPIRE server is ready again the watchdog has acted, at most: the
 * next run (two minutes), the agents' rollout and the operator's (each waited for up to 4).
 */
export const SPIRE_WATCHDOG_MINUTES = 10;

/**
 * The chart's workloads the watchdog reads and restarts, as Helm renders them from chart 1.19.6
 * (and 1.18.12, 1.20.0): the SPIRE server StatefulSet (pods `app=spire-server`, containers
 * `cilium-init` and `spire-server`) and agent DaemonSet (pods `app=spire-agent`, container
 * `spire-agent`) in the SPIRE namespace, the cilium-operator Deployment (pods
 * `io.cilium/app=operator,name=cilium-operator`, container `cilium-operator`) in kube-system.
 */
const SERVER = { selector: 'app=spire-server', container: 'spire-server' } as const;
const AGENT = {
  selector: 'app=spire-agent',
  container: 'spire-agent',
  workload: 'daemonset/spire-agent',
  name: 'spire-agent',
} as const;
const OPERATOR = {
  selector: 'io.cilium/app=operator,name=cilium-operator',
  container: 'cilium-operator',
  workload: 'deployment/cilium-operator',
  name: 'cilium-operator',
} as const;

/** `True <startedAt>` (or `False …`) of one container in each pod a selector lists, one a line. */
function readyStarts(namespace: string, selector: string, container: string): string {
  return `kubectl -n ${namespace} get pods -l ${selector} -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[?(@.name=="${container}")].state.running.startedAt}{"\\n"}{end}'`;
}

/**
 * The watchdog's script (POSIX sh: Alpine's busybox ash in the image; the tests run it with
 * BusyBox where BUSYBOX_DIR names it, as CI does, else with this machine's sh). It
 * never execs into the server (its credential could then mint SVIDs): it compares start times.
 *
 * When the `spire-server` container of a ready server pod started after the container of a ready
 * cilium-operator or SPIRE agent pod, that pod has not seen this server: the operator registers
 * the existing identities only when it starts, an agent holds the old trust bundle. Then the
 * agents are restarted (new pods read the bundle the new server wrote), waited for, and the
 * operator restarted and waited for; afterwards every such pod started after the server, so the
 * condition is false and the next runs do nothing. Pods that are not ready (a crash loop, a
 * node that is down and whose pods keep their last status) are not compared.
 *
 * A restart already asked for since the server started (`kubectl.kubernetes.io/restartedAt` of
 * the pod template, the time `kubectl rollout restart` writes, in its local zone) is not asked
 * for again: a rollout that cannot finish (a node down under a DaemonSet) is waited for, and the
 * run fails, instead of restarting the workload every two minutes. A failed kubectl stops the
 * run with a non-zero status before anything is restarted.
 *
 * The restart's annotation does not fight Argo CD's self-heal on these two workloads of Cilium's
 * Application: it syncs with `ServerSideApply=true`, so Argo CD (v3.4.4, controller/state.go)
 * diffs with gitops-engine's `StructuredMergeDiff` (pkg/diff/diff.go), which applies the desired
 * manifest as `argocd-controller` onto the live object with its managed fields: a key another
 * manager owns (`kubectl-rollout`'s annotation) stays, no diff, nothing to heal, and no sync
 * removes it. Argo CD's own `restart` resource action sets the same annotation.
 *
 * The SPIRE server publishes its new bundle (the k8sbundle notifier's `spire-bundle` ConfigMap)
 * while it starts, before it serves and reports ready (spire v1.9.6 pkg/server/server.go: the CA
 * rotator's `Initialize`, `NotifyBundleLoaded`): the agents restarted after it read the new one.
 */
export const SPIRE_WATCHDOG_SCRIPT: string = [
  'set -eu',
  '# Seconds since 1970 of an RFC 3339 time (Z, or the +hh:mm/-hh:mm offset kubectl writes).',
  'epoch() {',
  "  f=$(printf '%s\\n' \"$1\" | sed -E -n 's/^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/\\1 \\2 \\3 \\4 \\5 \\6 \\8/p')",
  '  if [ -z "$f" ]; then echo "not an RFC 3339 time: $1" >&2; return 1; fi',
  '  set -- $f',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions
  '  y=$1; m=${2#0}; d=${3#0}; H=${4#0}; M=${5#0}; S=${6#0}; z=$7',
  '  if [ "$m" -gt 2 ]; then m=$((m - 3)); else m=$((m + 9)); y=$((y - 1)); fi',
  '  era=$((y / 400)); yoe=$((y - era * 400))',
  '  doe=$((yoe * 365 + yoe / 4 - yoe / 100 + (153 * m + 2) / 5 + d - 1))',
  '  s=$(((era * 146097 + doe - 719468) * 86400 + H * 3600 + M * 60 + S))',
  '  case $z in',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions
  '    +*|-*) h=${z#?}; mm=${h#*:}; h=${h%%:*}; o=$((${h#0} * 3600 + ${mm#0} * 60))',
  '      case $z in +*) s=$((s - o)) ;; *) s=$((s + o)) ;; esac ;;',
  '  esac',
  '  echo "$s"',
  '}',
  "# When the restart of a workload was last asked for (its pod template's restartedAt), or 0;",
  '# fails when kubectl does (busybox ash, unlike dash, does not keep `set -e` in a $(...)).',
  'asked() {',
  '  t=$(kubectl -n "$1" get "$2" -o jsonpath=\'{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}\') || return 1',
  '  if [ -z "$t" ]; then echo 0; else epoch "$t"; fi',
  '}',
  '# The start of the container of each ready pod, one a line.',
  "ready() { sed -n 's/^True \\(..*\\)$/\\1/p'; }",
  `server=$(${readyStarts(SPIRE_NAMESPACE, SERVER.selector, SERVER.container)})`,
  `operators=$(${readyStarts(CILIUM_NAMESPACE, OPERATOR.selector, OPERATOR.container)})`,
  `agents=$(${readyStarts(SPIRE_NAMESPACE, AGENT.selector, AGENT.container)})`,
  'started=$(printf \'%s\\n\' "$server" | ready | sort | tail -n 1)',
  'if [ -z "$started" ]; then echo "the SPIRE server is not ready: nothing to compare"; exit 0; fi',
  'oldest=$(printf \'%s\\n%s\\n\' "$operators" "$agents" | ready | sort | head -n 1)',
  'if [ -z "$oldest" ]; then echo "no ready cilium-operator or SPIRE agent pod: nothing to compare"; exit 0; fi',
  'since=$(epoch "$started")',
  'first=$(epoch "$oldest")',
  'if [ "$first" -ge "$since" ]; then echo "the SPIRE server started at $started, before every ready cilium-operator and SPIRE agent: nothing to do"; exit 0; fi',
  'echo "the SPIRE server started at $started, after a ready cilium-operator or SPIRE agent (at $oldest): it starts empty, so the agents are restarted onto its trust bundle, then cilium-operator, which registers every identity when it starts"',
  'status=0',
  `agents_asked=$(asked ${SPIRE_NAMESPACE} ${AGENT.workload}) || exit 1`,
  `if [ "$agents_asked" -lt "$since" ]; then kubectl -n ${SPIRE_NAMESPACE} rollout restart ${AGENT.workload}; else echo "the agents' restart was asked for after the server started: waiting for it"; fi`,
  `if ! kubectl -n ${SPIRE_NAMESPACE} rollout status ${AGENT.workload} --timeout=${ROLLOUT_TIMEOUT}; then echo "the SPIRE agents did not all roll out (a node down?): restarting cilium-operator all the same" >&2; status=1; fi`,
  `operator_asked=$(asked ${CILIUM_NAMESPACE} ${OPERATOR.workload}) || exit 1`,
  `if [ "$operator_asked" -lt "$since" ]; then kubectl -n ${CILIUM_NAMESPACE} rollout restart ${OPERATOR.workload}; else echo "cilium-operator's restart was asked for after the server started: waiting for it"; fi`,
  `if ! kubectl -n ${CILIUM_NAMESPACE} rollout status ${OPERATOR.workload} --timeout=${ROLLOUT_TIMEOUT}; then echo "cilium-operator did not roll out" >&2; status=1; fi`,
  'exit "$status"',
].join('\n');

/** Argo CD prunes what the definition drops, although Cilium's (critical) Application does not. */
const PRUNE = { 'argocd.argoproj.io/sync-options': 'Prune=true' } as const;

const LABELS = {
  ...SPIRE_WATCHDOG_SELECTOR,
  'app.kubernetes.io/component': 'spire-recovery',
  'app.kubernetes.io/part-of': 'cilium',
} as const;

/** Container requests and limit of the watchdog (kubectl, a few API calls a run). */
const RESOURCES = { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } };

/**
 * The rules of the watchdog's service account in one namespace: list the pods it compares, and
 * get, list and watch (what `kubectl rollout status` does, with a `metadata.name` field selector,
 * which RBAC authorises by name) and patch (`kubectl rollout restart`) only the one workload it
 * restarts there. No `pods/exec`: an exec into the server could mint SVIDs.
 */
function rules(
  workload: typeof AGENT | typeof OPERATOR,
): { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] {
  const resource = workload === AGENT ? 'daemonsets' : 'deployments';
  return [
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    {
      apiGroups: ['apps'],
      resources: [resource],
      resourceNames: [workload.name],
      verbs: ['get', 'list', 'watch', 'patch'],
    },
  ];
}

/**
 * The watchdog's objects where mutual authentication is on (the chart then runs the SPIRE server
 * without a datastore volume, `mutualAuthenticationValues`): its service account, a Role and
 * RoleBinding in each namespace it works in, and the CronJob. Each carries `Prune=true`.
 */
export function spireWatchdog(network: ResolvedNetworkPolicy): { [key: string]: KubeObject } {
  if (!network.mutualAuthentication) return {};
  const metadata = (namespace: string) => ({
    name: SPIRE_WATCHDOG_NAME,
    namespace,
    labels: { ...LABELS },
    annotations: { ...PRUNE },
  });
  const binding = (namespace: string): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(namespace),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SPIRE_WATCHDOG_NAME },
    subjects: [{ kind: 'ServiceAccount', name: SPIRE_WATCHDOG_NAME, namespace: SPIRE_NAMESPACE }],
  });
  return {
    'spire-watchdog-serviceaccount': {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(SPIRE_NAMESPACE),
    },
    'spire-watchdog-role': {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: metadata(SPIRE_NAMESPACE),
      rules: rules(AGENT),
    },
    'spire-watchdog-rolebinding': binding(SPIRE_NAMESPACE),
    'spire-watchdog-role-operator': {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: metadata(CILIUM_NAMESPACE),
      rules: rules(OPERATOR),
    },
    'spire-watchdog-rolebinding-operator': binding(CILIUM_NAMESPACE),
    'spire-watchdog-cronjob': {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: metadata(SPIRE_NAMESPACE),
      spec: {
        schedule: SPIRE_WATCHDOG_SCHEDULE,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        // After a power cut the controller finds many missed runs: only the last one counts.
        startingDeadlineSeconds: 60,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: { ...LABELS } },
          spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: ACTIVE_DEADLINE_SECONDS,
            template: {
              metadata: { labels: { ...LABELS } },
              spec: {
                serviceAccountName: SPIRE_WATCHDOG_NAME,
                automountServiceAccountToken: true,
                restartPolicy: 'Never',
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65534,
                  runAsGroup: 65534,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                containers: [
                  {
                    name: 'watchdog',
                    image: KUBECTL_IMAGE,
                    command: ['/bin/sh', '-c', SPIRE_WATCHDOG_SCRIPT],
                    // kubectl's discovery cache under $HOME, on the writable scratch volume.
                    env: [{ name: 'HOME', value: '/tmp' }],
                    terminationMessagePolicy: 'FallbackToLogsOnError',
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      capabilities: { drop: ['ALL'] },
                    },
                    resources: RESOURCES,
                    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                  },
                ],
                volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
              },
            },
          },
        },
      },
    },
  };
}

/** The watchdog's one flow: the API server (not pod-to-pod, so not under mutual authentication). */
export function spireWatchdogFlows(network: ResolvedNetworkPolicy): FlowDeclaration[] {
  if (!network.mutualAuthentication) return [];
  return [
    {
      name: 'spire-watchdog-apiserver',
      direction: 'egress',
      namespace: SPIRE_NAMESPACE,
      selector: { ...SPIRE_WATCHDOG_SELECTOR },
      peer: { kind: 'kube-apiserver' },
      ports: KUBE_APISERVER_PORTS,
      reason:
        'the SPIRE watchdog compares start times of the SPIRE and cilium-operator pods and restarts the agents and the operator after a new server',
    },
  ];
}
