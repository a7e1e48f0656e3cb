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
// its namespaces under default deny (core's `backupFlows`).
// An endpoint that is a Service of the cluster (MinIO at `http://minio.storage.svc:9000`) is the
// pods behind it, on the endpoint's port (core's `urlFlowPeer`): a DNS rule would allow the
// ClusterIP, never the pod the connection reaches. Pure.
import {
  type BackupPodFlow,
  DEFAULT_CLUSTER_DOMAIN,
  type FlowDeclaration,
  urlFlowPeer,
} from '@homelab/core';
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
/**
 * The restic pods of a volume's namespace that are no mover (manifests.ts): the restore
 * verification's, the hourly unlock's and the runbooks' one-shot pods.
 */
const VERIFICATION_SELECTOR = {
  'app.kubernetes.io/part-of': 'backups',
  [ROLE_LABEL]: 'verification',
} as const;

/** talos-backup's S3 peer (aws-sdk-go-v2 with `UsePathStyle`; virtual-hosted dials `<bucket>.<host>`). */
function s3Peer(
  s3: NonNullable<ResolvedBackupsSettings['s3']>,
  gatewayDomain: string | undefined,
  clusterDomain: string,
): ReturnType<typeof urlFlowPeer> {
  const target = urlFlowPeer(s3.endpoint, gatewayDomain, clusterDomain);
  if (target === undefined) return undefined;
  return !s3.pathStyle && target.peer.kind === 'fqdn'
    ? { peer: { kind: 'fqdn', name: `${s3.bucket}.${target.peer.name}` }, ports: target.ports }
    : target;
}

// minio-go v7.0.95 (`pkg/s3utils/utils.go`, the restic 0.18.1 of VolSync 0.16's mover and of the
// verification image): the region an AWS S3 host names. Its patterns, in its order (a `.` is any
// character, as in Go's regexp).
const AWS_REGION_PATTERNS: readonly RegExp[] = [
  /^s3-fips.dualstack.(.*?).amazonaws.com$/,
  /^s3-fips.(.*?).amazonaws.com$/,
  /^s3.dualstack.(.*?).amazonaws.com$/,
  /^s3-(.*?).amazonaws.com$/,
  /^s3.(cn.*?).amazonaws.com.cn$/,
  /^s3.dualstack.(cn.*?).amazonaws.com.cn$/,
  /^(?:bucket|accesspoint).vpce-.*?.s3.(.*?).vpce.amazonaws.com$/,
  /^s3.(.*?).amazonaws.com$/,
];

/** minio-go's `GetRegionFromURL`: the region of an AWS S3 host, '' when it names none. */
function awsRegionOf(host: string): string {
  if (host === 's3-external-1.amazonaws.com') return '';
  if (/elb(.*?).amazonaws.com(.cn)?$/.test(host)) return '';
  for (const pattern of AWS_REGION_PATTERNS) {
    const region = pattern.exec(host)?.[1];
    if (region !== undefined && region !== '') return region;
  }
  return '';
}

/**
 * The hosts restic dials for a repository `s3:<endpoint>/<bucket>/…`. restic leaves the bucket
 * lookup to minio-go (`s3.bucket-lookup` auto: VolSync passes no option, and the Secret has no
 * region), which ignores `pathStyle` (that is talos-backup's setting, manifests.ts):
 * - `isVirtualHostStyleRequest`/`IsVirtualHostSupported`: virtual-hosted (`<bucket>.<host>`) only
 *   at AWS, Google and Aliyun endpoints (never for a dotted bucket over https), path-style
 *   (the endpoint's host) everywhere else;
 * - `makeTargetURL`: at AWS (not FIPS, not PrivateLink) the host becomes the regional endpoint of
 *   the bucket's location, dual-stack by default (`New`: `s3DualstackEnabled = true`;
 *   `getS3Endpoint`), `s3.dualstack.<region>.amazonaws.com`;
 * - `getBucketLocation`: when the endpoint names no region, the location is asked first, at the
 *   endpoint's own host.
 */
function resticPeers(
  s3: NonNullable<ResolvedBackupsSettings['s3']>,
  gatewayDomain: string | undefined,
  clusterDomain: string,
): { peer: BackupPodFlow['peer']; ports: BackupPodFlow['ports'] }[] {
  // Never undefined for an endpoint the component accepts (see `backupsFlows`).
  const target = urlFlowPeer(s3.endpoint, gatewayDomain, clusterDomain);
  if (target === undefined) return [];
  if (target.peer.kind !== 'fqdn') return [target];
  const host = target.peer.name;
  const region = awsRegionOf(host);
  const aws =
    host === 's3.amazonaws.com' || host === 's3-external-1.amazonaws.com' || region !== '';
  const virtual =
    (aws || host === 'storage.googleapis.com' || host.endsWith('aliyuncs.com')) &&
    !(s3.endpoint.startsWith('https:') && s3.bucket.includes('.'));
  const dial = (name: string) => ({
    peer: { kind: 'fqdn' as const, name: virtual ? `${s3.bucket}.${name}` : name },
    ports: target.ports,
  });
  if (!aws) return [dial(host)];
  const fixed =
    (host.startsWith('s3-fips') && host.endsWith('.amazonaws.com')) ||
    /^(?:bucket|accesspoint).vpce-.*?.s3.(.*?).vpce.amazonaws.com$/.test(host);
  if (fixed) return [dial(host)];
  const location = region === '' ? s3.region : region;
  const regional = location.startsWith('cn-')
    ? `s3.dualstack.${location}.amazonaws.com.cn`
    : `s3.dualstack.${location}.amazonaws.com`;
  return region === '' ? [dial(host), dial(regional)] : [dial(regional)];
}

/**
 * What the restic movers (backup, restore) and the restore verification need in a protected
 * volume's namespace: the hosts restic dials for the repositories (`resticPeers`). Empty without
 * S3.
 */
export function backupPodFlows(
  settings: ResolvedBackupsSettings,
  gatewayDomain: string | undefined,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): BackupPodFlow[] {
  const s3 = settings.s3;
  if (s3 === undefined) return [];
  return resticPeers(s3, gatewayDomain, clusterDomain).flatMap((target, index) => {
    const suffix = index === 0 ? '' : `-${index + 1}`;
    return [
      {
        name: `movers-s3${suffix}`,
        selector: { ...MOVER_SELECTOR },
        peer: target.peer,
        ports: target.ports,
        reason: `VolSync's restic movers back up and restore the volume at the S3 endpoint (${s3.endpoint})`,
      },
      {
        name: `verification-s3${suffix}`,
        selector: { ...VERIFICATION_SELECTOR },
        peer: target.peer,
        ports: target.ports,
        // Not only where a volume is verified: the hourly unlock runs for every backed-up volume.
        reason: `the restore verification, the hourly restic unlock and the runbooks' restic pods reach the repository at the S3 endpoint (${s3.endpoint})`,
      },
    ];
  });
}

/** Every connection the backups component's pods open or accept on a cluster. */
export function backupsFlows(
  settings: ResolvedBackupsSettings,
  gatewayDomain: string | undefined,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
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
  // The component refuses, at the endpoint, every one `urlFlowPeer` cannot resolve (core's
  // `s3EndpointIssues`) and then leaves the S3 flows out: an accepted endpoint always has a peer.
  const target = s3Peer(s3, gatewayDomain, clusterDomain);
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
