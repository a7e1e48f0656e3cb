// The flows the backups component's own pods need (zero trust), from VolSync's chart 0.16.0 and
// the etcd backup CronJob (manifests.ts):
// - the VolSync controller watches and writes its resources, movers and snapshots (API server)
//   and serves its metrics on 8443 (`--metrics-bind-address=:8443`, behind the volsync-metrics
//   Service; the metrics provider scrapes it; the controller checks the scraper's token at the
//   API server);
// - talos-backup (when etcd snapshots are on) asks the Talos API of the control planes for a
//   snapshot (apid, 50000 on the nodes: Talos' `talos.default` Service points at them) and
//   writes it to the S3 endpoint; it never calls the Kubernetes API.
// The movers and restore verifications run in the protected volumes' namespaces (the
// applications'), not here: the `backup` fact carries what they need there (`podFlows`: egress
// to the S3 endpoint of the restic repositories), and the volume's owner declares it in each of
// its namespaces under default deny (core's `backupFlows`). Pure.
import { type BackupPodFlow, type FlowDeclaration, urlFlowPeer } from '@homelab/core';
import { ROLE_LABEL } from './manifests.js';
import {
  ETCD_BACKUP_NAMESPACE,
  type ResolvedBackupsSettings,
  VOLSYNC_NAMESPACE,
} from './settings.js';

/** Labels of the VolSync controller's pods (the chart's selector). */
export const VOLSYNC_POD_SELECTOR = {
  'app.kubernetes.io/instance': 'backups',
  'app.kubernetes.io/name': 'volsync',
} as const;

/** The controller's metrics listener (the chart's `--metrics-bind-address`). */
export const VOLSYNC_METRICS_PORT = 8443;

/** talos-backup's pods (manifests.ts). */
const TALOS_BACKUP_SELECTOR = { 'app.kubernetes.io/name': 'talos-backup' };

/** The Talos API (apid) on the nodes. */
export const TALOS_API_PORT = 50000;

/** VolSync's mover Jobs label their pods so (utils.SetOwnedByVolSync on the pod template). */
export const MOVER_SELECTOR = { 'app.kubernetes.io/created-by': 'volsync' } as const;
/** The restore verification CronJob's pods (manifests.ts). */
const VERIFICATION_SELECTOR = {
  'app.kubernetes.io/part-of': 'backups',
  [ROLE_LABEL]: 'verification',
} as const;

/** The S3 peer of an endpoint (virtual-hosted addressing dials `<bucket>.<host>`). */
function s3Peer(
  s3: NonNullable<ResolvedBackupsSettings['s3']>,
  gatewayDomain: string | undefined,
): ReturnType<typeof urlFlowPeer> {
  const target = urlFlowPeer(s3.endpoint, gatewayDomain);
  if (target === undefined) return undefined;
  return !s3.pathStyle && target.peer.kind === 'fqdn'
    ? { peer: { kind: 'fqdn', name: `${s3.bucket}.${target.peer.name}` }, ports: target.ports }
    : target;
}

/**
 * What the restic movers (backup, restore) and the restore verification need in a protected
 * volume's namespace: the restic repositories' S3 endpoint. Empty without S3.
 */
export function backupPodFlows(
  settings: ResolvedBackupsSettings,
  gatewayDomain: string | undefined,
): BackupPodFlow[] {
  const s3 = settings.s3;
  if (s3 === undefined) return [];
  const target = s3Peer(s3, gatewayDomain);
  if (target === undefined) return [];
  return [
    {
      name: 'movers-s3',
      selector: { ...MOVER_SELECTOR },
      peer: target.peer,
      ports: target.ports,
      reason: `VolSync's restic movers back up and restore the volume at the S3 endpoint (${s3.endpoint})`,
    },
    {
      name: 'verification-s3',
      selector: { ...VERIFICATION_SELECTOR },
      peer: target.peer,
      ports: target.ports,
      reason: `the restore verification reads the latest backup from the S3 endpoint (${s3.endpoint})`,
    },
  ];
}

/** Every connection the backups component's pods open or accept on a cluster. */
export function backupsFlows(
  settings: ResolvedBackupsSettings,
  gatewayDomain: string | undefined,
): FlowDeclaration[] {
  const flows: FlowDeclaration[] = [
    {
      name: 'volsync-apiserver',
      direction: 'egress',
      namespace: VOLSYNC_NAMESPACE,
      selector: { ...VOLSYNC_POD_SELECTOR },
      peer: { kind: 'kube-apiserver' },
      ports: [{ port: 6443, protocol: 'TCP' }],
      reason: 'the VolSync controller reconciles its resources, movers and snapshots',
    },
    {
      name: 'volsync-metrics',
      direction: 'ingress',
      namespace: VOLSYNC_NAMESPACE,
      selector: { ...VOLSYNC_POD_SELECTOR },
      peer: { kind: 'capability', capability: 'metrics' },
      ports: [{ port: VOLSYNC_METRICS_PORT, protocol: 'TCP' }],
      reason: "the metrics provider scrapes the VolSync controller's metrics",
    },
  ];
  const s3 = settings.s3;
  if (settings.etcd === undefined || s3 === undefined) return flows;
  flows.push({
    name: 'talos-backup-talos-api',
    direction: 'egress',
    namespace: ETCD_BACKUP_NAMESPACE,
    selector: { ...TALOS_BACKUP_SELECTOR },
    peer: { kind: 'host' },
    ports: [{ port: TALOS_API_PORT, protocol: 'TCP' }],
    reason: "talos-backup takes the etcd snapshot through the control planes' Talos API",
  });
  // The schema allows only http(s) URLs, so the endpoint always has a peer.
  const target = s3Peer(s3, gatewayDomain);
  if (target !== undefined) {
    const peer = target.peer;
    flows.push({
      name: 'talos-backup-s3',
      direction: 'egress',
      namespace: ETCD_BACKUP_NAMESPACE,
      selector: { ...TALOS_BACKUP_SELECTOR },
      peer,
      ports: target.ports,
      reason: `talos-backup writes the encrypted snapshot to the S3 endpoint (${s3.endpoint})`,
    });
  }
  return flows;
}
