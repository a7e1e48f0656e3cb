// The Grafana dashboard of backups: VolSync's schedule, the restore verifications, the etcd
// snapshots. Its queries use the alerts' own series and expressions, so the dashboard shows what
// the alerts judge. Pure.
import type { DashboardDeclaration, JsonValue } from '@homelab/core';

const DATASOURCE = { type: 'prometheus', uid: 'prometheus' } as const;

interface Panel {
  readonly title: string;
  readonly expr: string;
  readonly unit?: string;
}

function panel(
  id: number,
  kind: 'stat' | 'timeseries',
  spec: Panel,
  gridPos: { x: number; y: number; w: number; h: number },
): JsonValue {
  return {
    id,
    type: kind,
    title: spec.title,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults: { unit: spec.unit ?? 'none' }, overrides: [] },
    options:
      kind === 'stat'
        ? {
            reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
            colorMode: 'value',
            graphMode: 'none',
          }
        : {
            legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
            tooltip: { mode: 'multi', sort: 'desc' },
          },
    targets: [
      // Legends from the series' labels: a `{{label}}` format would be Go template text in a chart.
      { refId: 'A', datasource: DATASOURCE, expr: spec.expr, legendFormat: '__auto' },
    ],
  };
}

export interface BackupsDashboardInput {
  /** The restore verifications whose latest run failed (VolumeRestoreVerificationFailed's expression). */
  readonly failedVerifications: string;
  /** kube-state-metrics' last success of the restore-verification CronJobs. */
  readonly lastVerification: string;
  /** The etcd snapshot CronJob's last success, when the cluster takes etcd snapshots. */
  readonly lastEtcdSnapshot: string | undefined;
}

/**
 * Stats on top (one row of four, a fifth for etcd), series below. "Oldest" is the volume whose
 * last verification is the furthest back: the one VolumeRestoreVerificationMissing fires for first.
 */
export function backupsDashboard(input: BackupsDashboardInput): DashboardDeclaration {
  const stats: Panel[] = [
    {
      title: 'Backups out of schedule',
      expr: 'sum(volsync_volume_out_of_sync{role="source"}) or vector(0)',
    },
    {
      title: 'Volumes backed up',
      expr: 'count(volsync_volume_out_of_sync{role="source"}) or vector(0)',
    },
    {
      title: 'Restore verifications failing',
      expr: `count(${input.failedVerifications}) or vector(0)`,
    },
    {
      title: 'Oldest successful restore verification',
      expr: `time() - min(${input.lastVerification})`,
      unit: 's',
    },
    ...(input.lastEtcdSnapshot === undefined
      ? []
      : [
          {
            title: 'Last etcd snapshot',
            expr: `time() - max(${input.lastEtcdSnapshot})`,
            unit: 's',
          },
        ]),
  ];
  const series: Panel[] = [
    { title: 'Out of schedule per volume', expr: 'volsync_volume_out_of_sync{role="source"}' },
    {
      title: 'Missed backup intervals (1 day)',
      expr: 'increase(volsync_missed_intervals_total{role="source"}[1d])',
    },
    {
      title: 'Backup duration',
      expr: 'rate(volsync_sync_duration_seconds_sum{role="source"}[1h]) / rate(volsync_sync_duration_seconds_count{role="source"}[1h])',
      unit: 's',
    },
    {
      title: 'Time since the last successful restore verification, per volume',
      expr: `time() - ${input.lastVerification}`,
      unit: 's',
    },
  ];
  const width = 24 / stats.length;
  const panels = [
    ...stats.map((spec, i) => panel(i + 1, 'stat', spec, { x: i * width, y: 0, w: width, h: 4 })),
    ...series.map((spec, i) =>
      panel(stats.length + i + 1, 'timeseries', spec, {
        x: (i % 2) * 12,
        y: 4 + Math.floor(i / 2) * 8,
        w: 12,
        h: 8,
      }),
    ),
  ];
  return {
    name: 'backups',
    title: 'Backups and restore verification',
    json: {
      title: 'Backups and restore verification',
      uid: 'backups',
      tags: ['homelab', 'backup', 'volsync'],
      editable: false,
      graphTooltip: 1,
      schemaVersion: 39,
      version: 1,
      refresh: '1m',
      time: { from: 'now-6h', to: 'now' },
      timezone: 'utc',
      templating: { list: [] },
      annotations: { list: [] },
      panels,
    },
  };
}
