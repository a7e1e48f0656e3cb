// The settings of `components.monitoring`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it), defaults, and the settings of a cluster resolved with the
// environment's defaults. Pure.
import {
  type EnvironmentName,
  error,
  type Issue,
  type JsonSchema,
  type PathSegment,
  type ResolvedCluster,
  type SettingsSpec,
  warning,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type {
  MonitoringAlertOverride,
  MonitoringReceiver,
  MonitoringRoute,
  MonitoringRule,
  MonitoringSettings,
} from './generated/settings.js';
import { grafanaIniProblem } from './grafana-ini.js';
import { formatPrometheusBytes, kubernetesBytes, prometheusBytes } from './quantity.js';

export type { MonitoringSettings };

/** The namespace the monitoring stack runs in (and where its monitors and rules live). */
export const MONITORING_NAMESPACE = 'monitoring';

/**
 * The namespace node-exporter runs in: it reads the host (host network, host PID, host paths), so
 * its namespace is privileged, and only it; the rest of the stack stays under `restricted`.
 */
export const NODE_EXPORTER_NAMESPACE = 'node-exporter';

export const monitoringSettingsSpec: SettingsSpec<MonitoringSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  defaults: {},
};

/** What each environment gets when the definition says nothing. */
export const ENVIRONMENT_DEFAULTS: {
  readonly [E in EnvironmentName]: {
    readonly prometheusReplicas: number;
    readonly retention: string;
    readonly storageSize: string;
  };
} = {
  development: { prometheusReplicas: 1, retention: '3d', storageSize: '10Gi' },
  staging: { prometheusReplicas: 2, retention: '7d', storageSize: '20Gi' },
  production: { prometheusReplicas: 2, retention: '15d', storageSize: '50Gi' },
};

/** Default share of the volume Prometheus may fill with samples (the docs advise 80–85%). */
export const DEFAULT_RETENTION_SHARE = 0.8;
/** Largest share: the write-ahead log, the head block and compactions need the rest. */
export const MAX_RETENTION_SHARE = 0.9;

const MIB = 2 ** 20;

/**
 * The most `retentionSize` may be, in bytes, for a volume of `volume` bytes before
 * kube-prometheus-stack's KubePersistentVolumeFillingUp fires on Prometheus' own volume: its
 * warning fires for less than 15% of the volume available (an hour, with the space predicted to
 * run out within four days, which at the size limit it is for hours at a time; Prometheus 3.14
 * counts the WAL and head chunks into the limit, tsdb/db.go `BeyondSizeRetention`). The volume is
 * Longhorn's ext4, formatted with `-m0` (k8s.io/mount-utils): the kubelet's capacity is the volume
 * less ext4's metadata (2.2 to 2.6% from 50Gi down to 10Gi, more on smaller ones) and 16MiB the
 * kernel keeps back. 82% less 64MiB leaves at least 16% available from 1Gi to 50Gi, and room
 * for a compaction's output beside the retained blocks.
 */
export function fillAlertCeiling(volume: number): number {
  return Math.floor((volume * 0.82 - 64 * MIB) / MIB) * MIB;
}

export interface ResolvedMonitoringSettings {
  readonly prometheus: {
    readonly replicas: number;
    readonly retention: string;
    readonly retentionSize: string;
    readonly scrapeInterval: string;
    readonly storage: {
      readonly size: string;
      readonly tier: string;
      readonly storageClassName: string | undefined;
    };
  };
  readonly alertmanager: {
    readonly replicas: number;
    readonly receivers: readonly MonitoringReceiver[];
    readonly route: MonitoringRoute | undefined;
    /** The dead man's switch: Watchdog to `receiver` every `interval`; absent: Watchdog dropped. */
    readonly heartbeat: { readonly receiver: string; readonly interval: string } | undefined;
  };
  readonly grafana: {
    readonly oidc:
      | {
          readonly clientId: string;
          readonly clientSecret: { readonly secretName: string; readonly key: string };
          readonly name: string;
          readonly policy: 'one_factor' | 'two_factor';
        }
      | undefined;
    readonly adminGroups: readonly string[];
    readonly editorGroups: readonly string[];
    readonly viewerGroups: readonly string[];
    readonly localLogin: boolean;
  };
  readonly alerts: { readonly [alert: string]: MonitoringAlertOverride };
  readonly rules: readonly MonitoringRule[];
  /** A CronJob of the user's that snapshots etcd; absent: no EtcdSnapshotTooOld from monitoring. */
  readonly etcdSnapshot: { readonly cronJob: string; readonly namespace: string } | undefined;
}

type Path = (...segments: PathSegment[]) => PathSegment[];

/** The settings of `cluster`, with its environment's defaults; issues for values that cannot work. */
export function resolveMonitoringSettings(
  raw: MonitoringSettings,
  cluster: ResolvedCluster,
  path: Path,
): { settings: ResolvedMonitoringSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  const defaults = ENVIRONMENT_DEFAULTS[cluster.environment];
  const size = raw.prometheus?.storage?.size ?? defaults.storageSize;
  const volume = kubernetesBytes(size) ?? 0;
  const limit = Math.floor(volume * MAX_RETENTION_SHARE);
  const ceiling = fillAlertCeiling(volume);
  // 80% of the volume, or less on a small one (1Gi: 775MiB), where ext4's metadata weighs more
  let retentionSize = formatPrometheusBytes(
    Math.min(Math.floor((volume * DEFAULT_RETENTION_SHARE) / MIB) * MIB, Math.max(ceiling, MIB)),
  );
  const asked = raw.prometheus?.retentionSize;
  if (asked !== undefined) {
    const bytes = prometheusBytes(asked) ?? 0;
    if (bytes > limit) {
      issues.push(
        error({
          code: 'monitoring-retention-size',
          path: path('prometheus', 'retentionSize'),
          value: asked,
          message: `${bytes > volume ? 'is larger than' : 'leaves too little of'} the Prometheus volume (storage.size ${size}) on cluster "${cluster.name}": Prometheus needs room beyond its retained samples for the write-ahead log and compactions, and fills the disk before it deletes old blocks`,
          expected: `at most 90% of storage.size (${formatPrometheusBytes(Math.floor(limit / 2 ** 20) * 2 ** 20)}), or a larger storage.size`,
        }),
      );
    } else {
      retentionSize = asked;
      if (bytes > ceiling) {
        issues.push(
          warning({
            code: 'monitoring-retention-size',
            path: path('prometheus', 'retentionSize'),
            value: asked,
            message: `holds so much of the Prometheus volume (storage.size ${size}) on cluster "${cluster.name}" that, once Prometheus keeps that much, less than 15% of the volume is free: kube-prometheus-stack's KubePersistentVolumeFillingUp fires on Prometheus' own volume for hours at a time, and a compaction may find no room for its output`,
            expected: `at most ${formatPrometheusBytes(ceiling)} (82% of storage.size less 64MiB), or a larger storage.size`,
          }),
        );
      }
    }
  }
  const replicas = raw.alertmanager?.replicas ?? cluster.profile.replicas;
  const schedulable = cluster.schedulableNodes.length;
  if (replicas > schedulable) {
    issues.push(
      warning({
        code: 'monitoring-replicas',
        path: path('alertmanager', 'replicas'),
        value: replicas,
        message: `${replicas} Alertmanager replicas on cluster "${cluster.name}", which has ${schedulable} schedulable node(s): some replicas share a node`,
        expected: `at most ${schedulable} replicas`,
      }),
    );
  }
  const oidc = raw.grafana?.oidc;
  const buttonProblem = oidc?.name === undefined ? undefined : grafanaIniProblem(oidc.name);
  if (buttonProblem !== undefined) {
    issues.push(
      error({
        code: 'monitoring-grafana-ini',
        path: path('grafana', 'oidc', 'name'),
        value: oidc?.name,
        message: `${buttonProblem}; it is the label of Grafana's login button, written into grafana.ini and shown to anyone on the login page`,
        expected:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's expansion syntax, named
          'a plain label without $__name{…}, ${…}, "#" or ";", e.g. Authelia or Single sign-on',
      }),
    );
  }
  return {
    settings: {
      prometheus: {
        // Two replicas are HA only on two nodes: on fewer, the second shares the node (its own
        // volume, its own requests, the same scrapes) and survives nothing the first does not.
        replicas:
          raw.prometheus?.replicas ??
          Math.max(1, Math.min(defaults.prometheusReplicas, schedulable)),
        retention: raw.prometheus?.retention ?? defaults.retention,
        retentionSize,
        scrapeInterval: raw.prometheus?.scrapeInterval ?? '30s',
        storage: {
          size,
          tier: raw.prometheus?.storage?.tier ?? 'standard',
          storageClassName: raw.prometheus?.storage?.storageClassName,
        },
      },
      alertmanager: {
        replicas,
        receivers: [...(raw.alertmanager?.receivers ?? [])],
        route: raw.alertmanager?.route,
        heartbeat:
          raw.alertmanager?.heartbeat === undefined
            ? undefined
            : {
                receiver: raw.alertmanager.heartbeat.receiver,
                interval: raw.alertmanager.heartbeat.interval ?? '1m',
              },
      },
      grafana: {
        oidc:
          oidc === undefined
            ? undefined
            : {
                clientId: oidc.clientId,
                clientSecret: oidc.clientSecret,
                name: oidc.name ?? 'Authelia',
                policy: oidc.policy ?? 'one_factor',
              },
        adminGroups: [...(raw.grafana?.adminGroups ?? [])],
        editorGroups: [...(raw.grafana?.editorGroups ?? [])],
        viewerGroups: [...(raw.grafana?.viewerGroups ?? [])],
        localLogin: raw.grafana?.localLogin ?? true,
      },
      alerts: Object.fromEntries(
        Object.entries(raw.alerts ?? {}).flatMap(([name, override]) =>
          override === undefined ? [] : [[name, override]],
        ),
      ),
      rules: [...(raw.rules ?? [])],
      etcdSnapshot:
        raw.etcdSnapshot === undefined
          ? undefined
          : {
              cronJob: raw.etcdSnapshot.cronJob ?? 'etcd-snapshot',
              namespace: raw.etcdSnapshot.namespace ?? 'kube-system',
            },
    },
    issues,
  };
}
