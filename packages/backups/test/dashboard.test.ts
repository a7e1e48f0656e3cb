// The backups dashboard: its stats use the alerts' own series and expressions, the etcd stat
// only where the cluster takes etcd snapshots, and the layout fills Grafana's 24 columns.

import { lastRunFailedExpr } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { backupsDashboard } from '../src/dashboard.js';

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly targets: { expr: string; legendFormat: string }[];
}

const failed = lastRunFailedExpr({ cronjob: '.+-restore-verify' });
const last = 'kube_cronjob_status_last_successful_time{cronjob=~".+-restore-verify"}';
const etcd =
  'kube_cronjob_status_last_successful_time{namespace="talos-backup",cronjob="talos-backup"}';

function panels(lastEtcdSnapshot: string | undefined): Panel[] {
  const dashboard = backupsDashboard({
    failedVerifications: failed,
    lastVerification: last,
    lastEtcdSnapshot,
  });
  expect([dashboard.name, dashboard.json.uid, dashboard.title]).toEqual([
    'backups',
    'backups',
    'Backups and restore verification',
  ]);
  return dashboard.json.panels as unknown as Panel[];
}

describe('the backups dashboard', () => {
  it("counts failing verifications with VolumeRestoreVerificationFailed's expression, and shows the oldest last success", () => {
    const byTitle = new Map(panels(undefined).map((panel) => [panel.title, panel]));
    expect(byTitle.get('Restore verifications failing')?.targets[0]?.expr).toBe(
      `count(${failed}) or vector(0)`,
    );
    expect(byTitle.get('Oldest successful restore verification')?.targets[0]?.expr).toBe(
      `time() - min(${last})`,
    );
    expect(byTitle.has('Last etcd snapshot')).toBe(false);
  });

  it('adds the etcd snapshot stat where the cluster takes etcd snapshots, and fills the 24 columns', () => {
    for (const [snapshot, stats] of [
      [undefined, 4],
      [etcd, 5],
    ] as const) {
      const all = panels(snapshot);
      const top = all.filter((panel) => panel.type === 'stat');
      expect(top).toHaveLength(stats);
      expect(top.reduce((sum, panel) => sum + panel.gridPos.w, 0)).toBe(24);
      expect(new Set(all.map((panel) => panel.id)).size).toBe(all.length);
      // No Go template text may reach a chart: legends come from the series' labels.
      expect(JSON.stringify(all)).not.toContain('{{');
    }
    expect(
      panels(etcd).find((panel) => panel.title === 'Last etcd snapshot')?.targets[0]?.expr,
    ).toBe(`time() - max(${etcd})`);
  });
});
