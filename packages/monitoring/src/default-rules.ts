// The alerts of kube-prometheus-stack's default rules (the chart's templates/prometheus/rules-1.14,
// one PrometheusRule per group), for the pinned chart: an alert of the definition's own rules
// must not take one of their names. test/default-rules.test.ts reads the same from the vendored
// chart archive, so a chart upgrade that adds, drops or renames one fails until this list follows.
// Pure.
import { DISABLED_DEFAULT_RULES } from './values.js';
import { KUBE_PROMETHEUS_STACK_CHART } from './versions.js';

/** Alert names of the chart's default rules, by rule group (the template's file name). */
export const DEFAULT_RULE_ALERTS: { readonly [group: string]: readonly string[] } = {
  'alertmanager.rules': [
    'AlertmanagerFailedReload',
    'AlertmanagerMembersInconsistent',
    'AlertmanagerFailedToSendAlerts',
    'AlertmanagerClusterFailedToSendAlerts',
    'AlertmanagerConfigInconsistent',
    'AlertmanagerClusterDown',
    'AlertmanagerClusterCrashlooping',
    'AlertmanagerClusterFailedPeers',
  ],
  'config-reloaders': ['ConfigReloaderSidecarErrors'],
  etcd: [
    'etcdMembersDown',
    'etcdInsufficientMembers',
    'etcdNoLeader',
    'etcdHighNumberOfLeaderChanges',
    'etcdHighNumberOfFailedGRPCRequests',
    'etcdGRPCRequestsSlow',
    'etcdMemberCommunicationSlow',
    'etcdHighNumberOfFailedProposals',
    'etcdHighFsyncDurations',
    'etcdHighCommitDurations',
    'etcdDatabaseQuotaLowSpace',
    'etcdExcessiveDatabaseGrowth',
    'etcdDatabaseHighFragmentationRatio',
  ],
  'general.rules': ['TargetDown', 'Watchdog', 'InfoInhibitor'],
  'kube-apiserver-slos': ['KubeAPIErrorBudgetBurn'],
  'kube-state-metrics': [
    'KubeStateMetricsListErrors',
    'KubeStateMetricsWatchErrors',
    'KubeStateMetricsShardingMismatch',
    'KubeStateMetricsShardsMissing',
  ],
  'kubernetes-apps': [
    'KubePodCrashLooping',
    'KubePodNotReady',
    'KubeDeploymentGenerationMismatch',
    'KubeDeploymentReplicasMismatch',
    'KubeDeploymentRolloutStuck',
    'KubeStatefulSetReplicasMismatch',
    'KubeStatefulSetGenerationMismatch',
    'KubeStatefulSetUpdateNotRolledOut',
    'KubeDaemonSetRolloutStuck',
    'KubeContainerWaiting',
    'KubeDaemonSetNotScheduled',
    'KubeDaemonSetMisScheduled',
    'KubeJobNotCompleted',
    'KubeJobFailed',
    'KubeHpaReplicasMismatch',
    'KubeHpaMaxedOut',
    'KubePdbNotEnoughHealthyPods',
  ],
  'kubernetes-resources': [
    'KubeCPUOvercommit',
    'KubeMemoryOvercommit',
    'KubeCPUQuotaOvercommit',
    'KubeMemoryQuotaOvercommit',
    'KubeQuotaAlmostFull',
    'KubeQuotaFullyUsed',
    'KubeQuotaExceeded',
    'CPUThrottlingHigh',
  ],
  'kubernetes-storage': [
    'KubePersistentVolumeFillingUp',
    'KubePersistentVolumeInodesFillingUp',
    'KubePersistentVolumeErrors',
  ],
  'kubernetes-system-apiserver': [
    'KubeClientCertificateExpiration',
    'KubeAggregatedAPIErrors',
    'KubeAggregatedAPIDown',
    'KubeAPIDown',
    'KubeAPIInstanceUnreachable',
    'KubeAPITerminatedRequests',
  ],
  'kubernetes-system-controller-manager': [
    'KubeControllerManagerDown',
    'KubeControllerManagerInstanceUnreachable',
  ],
  'kubernetes-system-kube-proxy': ['KubeProxyDown', 'KubeProxyInstanceUnreachable'],
  'kubernetes-system-kubelet': [
    'KubeNodeNotReady',
    'KubeNodePressure',
    'KubeNodeUnreachable',
    'KubeletTooManyPods',
    'KubeNodeReadinessFlapping',
    'KubeNodeEviction',
    'KubeletPlegDurationHigh',
    'KubeletPodStartUpLatencyHigh',
    'KubeletClientCertificateExpiration',
    'KubeletServerCertificateExpiration',
    'KubeletClientCertificateRenewalErrors',
    'KubeletServerCertificateRenewalErrors',
    'KubeletInstanceUnreachable',
    'KubeletDown',
  ],
  'kubernetes-system-scheduler': ['KubeSchedulerDown', 'KubeSchedulerInstanceUnreachable'],
  'kubernetes-system': ['KubeVersionMismatch', 'KubeClientErrors'],
  'node-exporter': [
    'NodeFilesystemSpaceFillingUp',
    'NodeFilesystemAlmostOutOfSpace',
    'NodeFilesystemFilesFillingUp',
    'NodeFilesystemAlmostOutOfFiles',
    'NodeNetworkReceiveErrs',
    'NodeNetworkTransmitErrs',
    'NodeHighNumberConntrackEntriesUsed',
    'NodeTextFileCollectorScrapeError',
    'NodeClockSkewDetected',
    'NodeClockNotSynchronising',
    'NodeRAIDDegraded',
    'NodeRAIDDiskFailure',
    'NodeFileDescriptorLimit',
    'NodeCPUHighUsage',
    'NodeSystemSaturation',
    'NodeMemoryMajorPagesFaults',
    'NodeMemoryHighUtilization',
    'NodeDiskIOSaturation',
    'NodeSystemdServiceFailed',
    'NodeSystemdServiceCrashlooping',
    'NodeBondingDegraded',
  ],
  'node-network': ['NodeNetworkInterfaceFlapping'],
  'prometheus-operator': [
    'PrometheusOperatorListErrors',
    'PrometheusOperatorWatchErrors',
    'PrometheusOperatorSyncFailed',
    'PrometheusOperatorReconcileErrors',
    'PrometheusOperatorStatusUpdateErrors',
    'PrometheusOperatorNodeLookupErrors',
    'PrometheusOperatorNotReady',
    'PrometheusOperatorRejectedResources',
  ],
  prometheus: [
    'PrometheusBadConfig',
    'PrometheusSDRefreshFailure',
    'PrometheusKubernetesListWatchFailures',
    'PrometheusNotificationQueueRunningFull',
    'PrometheusErrorSendingAlertsToSomeAlertmanagers',
    'PrometheusNotConnectedToAlertmanagers',
    'PrometheusTSDBReloadsFailing',
    'PrometheusTSDBCompactionsFailing',
    'PrometheusNotIngestingSamples',
    'PrometheusDuplicateTimestamps',
    'PrometheusOutOfOrderTimestamps',
    'PrometheusRemoteStorageFailures',
    'PrometheusRemoteWriteBehind',
    'PrometheusRemoteWriteDesiredShards',
    'PrometheusRuleFailures',
    'PrometheusMissingRuleEvaluations',
    'PrometheusTargetLimitHit',
    'PrometheusLabelLimitHit',
    'PrometheusScrapeBodySizeLimitHit',
    'PrometheusScrapeSampleLimitHit',
    'PrometheusTargetSyncFailure',
    'PrometheusHighQueryLoad',
    'PrometheusErrorSendingAlertsToAnyAlertmanager',
  ],
};

/** The group of the kube-proxy rules, off where the CNI replaces kube-proxy (values.ts). */
const KUBE_PROXY_GROUP = 'kubernetes-system-kube-proxy';

/**
 * The alerts the default rules render on a cluster, each with its group: every group's but those
 * the platform turns off (`defaultRules.disabled`: the rules it replaces with its own and those
 * nothing on the cluster feeds; the kube-proxy group where the CNI replaces kube-proxy).
 */
export function renderedDefaultAlerts(options: {
  readonly kubeProxyReplacement: boolean;
}): ReadonlyMap<string, string> {
  const replaced: ReadonlySet<string> = new Set(DISABLED_DEFAULT_RULES);
  const alerts = new Map<string, string>();
  for (const [group, names] of Object.entries(DEFAULT_RULE_ALERTS)) {
    if (group === KUBE_PROXY_GROUP && options.kubeProxyReplacement) continue;
    for (const name of names) {
      if (!replaced.has(name) && !alerts.has(name)) alerts.set(name, group);
    }
  }
  return alerts;
}

/** The chart whose default rules these are, for messages: `kube-prometheus-stack 88.5.3`. */
export const DEFAULT_RULES_CHART = `${KUBE_PROMETHEUS_STACK_CHART.name} ${KUBE_PROMETHEUS_STACK_CHART.version}`;
