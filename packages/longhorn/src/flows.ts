// The connections Longhorn 1.8's pods open and accept (zero trust), from the vendored chart 1.8.1
// and the longhorn-manager / longhorn-instance-manager sources at v1.8.1:
// - longhorn-manager (DaemonSet `app: longhorn-manager`) serves the API on 9500 (`longhorn-backend`,
//   also its /metrics), the conversion webhook on 9501, the admission webhook on 9502 (both called
//   by the API server, and by every manager at start-up: `CheckWebhookServiceAvailability`), the NFS
//   recovery backend on 9503 (share-manager's NFS-Ganesha); managers forward API calls to the
//   manager of the node that owns a resource (types.DefaultAPIPort … DefaultRecoveryBackendServerPort).
// - instance-manager (`longhorn.io/component: instance-manager`) serves the process manager, proxy,
//   disk and instance gRPC services on 8500–8503 (engineapi.InstanceManager*DefaultPort; 8504 is
//   SPDK's, the v2 data engine, which the platform leaves off) and starts every engine and replica
//   process on ports of its range 10000–20000 (instance-manager `--port-range` default, which
//   longhorn-manager never overrides): engines dial the replicas of other instance managers,
//   replicas sync with each other while rebuilding, longhorn-manager runs the engine binary
//   against an engine's port (GetBinaryClientForEngine). The node's iSCSI initiator (host network
//   namespace) logs in to the engine's tgt target in its instance manager on 3260.
// - share-manager (`longhorn.io/component: share-manager`, RWX volumes) serves NFS on 2049, mounted
//   by the CSI plugin from the host's namespaces on any node; longhorn-manager calls its gRPC
//   server on 9600 (engineapi.ShareManagerDefaultPort); it renews its lease at the API server.
// - backing-image-manager and backing-image-data-source (`longhorn.io/component: …`) serve 8000
//   (gRPC / file server) and sync files on 8001 (engineapi.BackingImage*DefaultPort).
// - the CSI plugin (`app: longhorn-csi-plugin`), the driver deployer, the UI and the recurring
//   jobs call longhorn-backend on 9500; the CSI sidecars, the plugin, the driver deployer, the
//   recurring jobs and the post-upgrade hook talk to the API server.
// - support bundles (on demand): support-bundle-kit's manager and agents on 8080.
// - the backup target: longhorn-manager lists the backup store, the replicas (instance-manager)
//   write and read the backups.
// Pure.
import {
  DEFAULT_CLUSTER_DOMAIN,
  type FlowDeclaration,
  type FlowPort,
  type PodLabels,
  urlFlowPeer,
} from '@homelab/core';
import { LONGHORN_NAMESPACE, type ResolvedLonghornSettings } from './settings.js';

/** longhorn-manager's pods (the chart's DaemonSet). */
export const MANAGER_SELECTOR: PodLabels = { app: 'longhorn-manager' };
/** The instance managers longhorn-manager creates per node. */
export const INSTANCE_MANAGER_SELECTOR: PodLabels = {
  'longhorn.io/component': 'instance-manager',
};
const SHARE_MANAGER_SELECTOR: PodLabels = { 'longhorn.io/component': 'share-manager' };
const BACKING_IMAGE_MANAGER_SELECTOR: PodLabels = {
  'longhorn.io/component': 'backing-image-manager',
};
const BACKING_IMAGE_DATA_SOURCE_SELECTOR: PodLabels = {
  'longhorn.io/component': 'backing-image-data-source',
};
const UI_SELECTOR: PodLabels = { app: 'longhorn-ui' };
const CSI_PLUGIN_SELECTOR: PodLabels = { app: 'longhorn-csi-plugin' };
const DRIVER_DEPLOYER_SELECTOR: PodLabels = { app: 'longhorn-driver-deployer' };
/** The CSI sidecar Deployments longhorn-driver-deployer creates (csi/deployment.go). */
const CSI_SIDECARS = ['csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter'];
/** support-bundle-kit's manager and agents (its `app` labels). */
const SUPPORT_BUNDLE_MANAGER_SELECTOR: PodLabels = { app: 'support-bundle-manager' };
const SUPPORT_BUNDLE_AGENT_SELECTOR: PodLabels = { app: 'support-bundle-agent' };
/** The chart's post-upgrade hook Job (Argo CD runs it as a PostSync hook). */
const POST_UPGRADE_SELECTOR: PodLabels = { 'job-name': 'longhorn-post-upgrade' };
/** Label of a recurring job's pods (types.GetCronJobLabels). */
const RECURRING_JOB_LABEL = 'recurring-job.longhorn.io';

const tcp = (port: number, endPort?: number): FlowPort =>
  endPort === undefined ? { port, protocol: 'TCP' } : { port, endPort, protocol: 'TCP' };

/** longhorn-manager's API (longhorn-backend), also its metrics. */
export const MANAGER_API_PORT = 9500;
/** The webhooks longhorn-manager serves to the API server. */
export const WEBHOOK_PORTS: readonly FlowPort[] = [tcp(9501), tcp(9502)];
/** instance-manager's gRPC services (process manager, proxy, disk, instance). */
export const INSTANCE_MANAGER_SERVICE_PORTS: FlowPort = tcp(8500, 8503);
/** The range instance-manager starts engine and replica processes on (v1 data engine). */
export const INSTANCE_MANAGER_PROCESS_PORTS: FlowPort = tcp(10000, 20000);
const ISCSI_PORT = tcp(3260);
const NFS_PORT = tcp(2049);
const SHARE_MANAGER_GRPC_PORT = tcp(9600);
const RECOVERY_BACKEND_PORT = tcp(9503);
const BACKING_IMAGE_PORTS: readonly FlowPort[] = [tcp(8000), tcp(8001)];
const SUPPORT_BUNDLE_PORT = tcp(8080);
/** The UI's nginx (the chart's container port behind longhorn-frontend:80). */
export const UI_PORT = 8000;
const APISERVER: FlowPort[] = [tcp(6443)];

/** The backup target's S3 host: the endpoint's, or AWS S3 of the target's region. */
function backupTargetPeers(
  settings: ResolvedLonghornSettings,
  clusterDomain: string,
): { peer: FlowDeclaration['peer']; ports: FlowPort[]; host: string }[] {
  const target = settings.backupTarget;
  if (target === undefined) return [];
  if (target.endpoint !== undefined) {
    // Longhorn's backupstore addresses a custom endpoint path-style: the endpoint's host only. The
    // store should be off the cluster (backups must survive it): a name, never a route of the
    // Gateway; a Service of the cluster is the pods behind it (core's `urlFlowPeer`).
    // Never undefined for an endpoint the component accepts: it refuses, at the endpoint, every
    // one `urlFlowPeer` cannot resolve (core's `s3EndpointIssues`), and leaves its flows out then.
    const resolved = urlFlowPeer(target.endpoint, undefined, clusterDomain);
    return resolved === undefined ? [] : [{ ...resolved, host: target.endpoint }];
  }
  // s3://<bucket>@<region>/<path>: AWS S3, virtual-hosted and regional names.
  const match = /^s3:\/\/([^@]+)@([^/]+)\//.exec(target.url);
  if (match === null) return [];
  const [, bucket, region] = match;
  return [`${bucket}.s3.${region}.amazonaws.com`, `s3.${region}.amazonaws.com`].map((name) => ({
    peer: { kind: 'fqdn', name },
    ports: [tcp(443)],
    host: name,
  }));
}

/** Every connection Longhorn's pods open or accept on a cluster. */
export function longhornFlows(
  settings: ResolvedLonghornSettings,
  options: {
    /** The UI is routed through the Gateway (`ui.route` with forward auth). */
    readonly routed: boolean;
    /** Names of the RecurringJobs the cluster renders (their CronJobs' pods). */
    readonly recurringJobs: readonly string[];
    /** The cluster's DNS domain (a backup target endpoint may be a Service of the cluster). */
    readonly clusterDomain?: string;
  },
): FlowDeclaration[] {
  const namespace = LONGHORN_NAMESPACE;
  const flow = (
    name: string,
    direction: 'ingress' | 'egress',
    selector: PodLabels,
    peer: FlowDeclaration['peer'],
    ports: readonly FlowPort[],
    reason: string,
  ): FlowDeclaration => ({
    name,
    direction,
    namespace,
    selector: { ...selector },
    peer,
    ports: ports.map((port) => ({ ...port })),
    reason,
  });
  const pods = (selector: PodLabels) => ({ kind: 'self' as const, selector: { ...selector } });
  const flows: FlowDeclaration[] = [
    flow(
      'manager-apiserver',
      'egress',
      MANAGER_SELECTOR,
      { kind: 'kube-apiserver' },
      APISERVER,
      'longhorn-manager reconciles volumes, engines, replicas, nodes and its workloads',
    ),
    flow(
      'manager-webhooks',
      'ingress',
      MANAGER_SELECTOR,
      { kind: 'kube-apiserver' },
      WEBHOOK_PORTS,
      "the API server calls longhorn-manager's conversion (9501) and admission (9502) webhooks",
    ),
    flow(
      'manager-peers',
      'egress',
      MANAGER_SELECTOR,
      pods(MANAGER_SELECTOR),
      [tcp(MANAGER_API_PORT), ...WEBHOOK_PORTS],
      "longhorn-manager forwards API calls to the owner node's manager and checks the webhook Services at start-up",
    ),
    flow(
      'manager-instance-managers',
      'egress',
      MANAGER_SELECTOR,
      pods(INSTANCE_MANAGER_SELECTOR),
      [INSTANCE_MANAGER_SERVICE_PORTS, INSTANCE_MANAGER_PROCESS_PORTS],
      "longhorn-manager drives the instance managers' gRPC services and runs the engine binary against engine ports",
    ),
    flow(
      'engine-replicas',
      'egress',
      INSTANCE_MANAGER_SELECTOR,
      pods(INSTANCE_MANAGER_SELECTOR),
      [INSTANCE_MANAGER_PROCESS_PORTS],
      'engines write to the replicas of other instance managers, replicas sync while rebuilding (the process port range)',
    ),
    flow(
      'iscsi',
      'ingress',
      INSTANCE_MANAGER_SELECTOR,
      { kind: 'host' },
      [ISCSI_PORT],
      "the node's iSCSI initiator logs in to the engine's target in the instance manager",
    ),
    flow(
      'manager-share-managers',
      'egress',
      MANAGER_SELECTOR,
      pods(SHARE_MANAGER_SELECTOR),
      [SHARE_MANAGER_GRPC_PORT],
      "longhorn-manager drives the share managers' gRPC server (RWX volumes)",
    ),
    flow(
      'nfs',
      'ingress',
      SHARE_MANAGER_SELECTOR,
      { kind: 'host' },
      [NFS_PORT],
      "the CSI plugin mounts an RWX volume's NFS export from the host's namespaces",
    ),
    flow(
      'share-manager-recovery-backend',
      'egress',
      SHARE_MANAGER_SELECTOR,
      pods(MANAGER_SELECTOR),
      [RECOVERY_BACKEND_PORT],
      "NFS-Ganesha keeps its client recovery records in longhorn-manager's recovery backend",
    ),
    flow(
      'share-manager-apiserver',
      'egress',
      SHARE_MANAGER_SELECTOR,
      { kind: 'kube-apiserver' },
      APISERVER,
      'the share manager renews its lease (RWX fast failover)',
    ),
    flow(
      'manager-backing-images',
      'egress',
      MANAGER_SELECTOR,
      pods(BACKING_IMAGE_MANAGER_SELECTOR),
      [tcp(8000)],
      "longhorn-manager drives the backing image managers' gRPC server",
    ),
    flow(
      'manager-backing-image-sources',
      'egress',
      MANAGER_SELECTOR,
      pods(BACKING_IMAGE_DATA_SOURCE_SELECTOR),
      [tcp(8000)],
      'longhorn-manager forwards backing image uploads to the data source pod',
    ),
    flow(
      'backing-image-sync',
      'egress',
      BACKING_IMAGE_MANAGER_SELECTOR,
      pods(BACKING_IMAGE_MANAGER_SELECTOR),
      BACKING_IMAGE_PORTS,
      'backing image managers copy backing images between disks',
    ),
    flow(
      'backing-image-fetch',
      'egress',
      BACKING_IMAGE_MANAGER_SELECTOR,
      pods(BACKING_IMAGE_DATA_SOURCE_SELECTOR),
      BACKING_IMAGE_PORTS,
      'backing image managers fetch a prepared backing image from its data source pod',
    ),
    flow(
      'ui-manager',
      'egress',
      UI_SELECTOR,
      pods(MANAGER_SELECTOR),
      [tcp(MANAGER_API_PORT)],
      "the UI's nginx proxies /v1 to longhorn-backend",
    ),
    flow(
      'csi-plugin-manager',
      'egress',
      CSI_PLUGIN_SELECTOR,
      pods(MANAGER_SELECTOR),
      [tcp(MANAGER_API_PORT)],
      'the CSI plugin attaches, mounts and snapshots volumes through longhorn-backend',
    ),
    flow(
      'csi-plugin-apiserver',
      'egress',
      CSI_PLUGIN_SELECTOR,
      { kind: 'kube-apiserver' },
      APISERVER,
      'the CSI plugin reads nodes, pods and volume attachments',
    ),
    flow(
      'driver-deployer-manager',
      'egress',
      DRIVER_DEPLOYER_SELECTOR,
      pods(MANAGER_SELECTOR),
      [tcp(MANAGER_API_PORT)],
      'the driver deployer waits for longhorn-backend before it deploys the CSI driver',
    ),
    flow(
      'driver-deployer-apiserver',
      'egress',
      DRIVER_DEPLOYER_SELECTOR,
      { kind: 'kube-apiserver' },
      APISERVER,
      'the driver deployer creates the CSI driver, plugin and sidecars',
    ),
    ...CSI_SIDECARS.map((app) =>
      flow(
        `${app}-apiserver`,
        'egress',
        { app },
        { kind: 'kube-apiserver' },
        APISERVER,
        `the CSI ${app.slice(4)} watches its Kubernetes objects`,
      ),
    ),
    flow(
      'post-upgrade-apiserver',
      'egress',
      POST_UPGRADE_SELECTOR,
      { kind: 'kube-apiserver' },
      APISERVER,
      "the chart's post-upgrade hook updates Longhorn's resources",
    ),
    // Support bundles (on demand): longhorn-manager starts support-bundle-kit's manager, which
    // collects the cluster's objects and starts an agent DaemonSet; the agents upload each node's
    // bundle to it and longhorn-manager polls and downloads the result, all on 8080
    // (types.SupportBundleURLPort; the kit's `app` labels).
    flow(
      'support-bundle-apiserver',
      'egress',
      SUPPORT_BUNDLE_MANAGER_SELECTOR,
      { kind: 'kube-apiserver' },
      APISERVER,
      "the support bundle manager collects the cluster's objects and starts its agents",
    ),
    flow(
      'support-bundle-agents',
      'egress',
      SUPPORT_BUNDLE_AGENT_SELECTOR,
      pods(SUPPORT_BUNDLE_MANAGER_SELECTOR),
      [SUPPORT_BUNDLE_PORT],
      "the support bundle agents upload each node's bundle",
    ),
    flow(
      'manager-support-bundle',
      'egress',
      MANAGER_SELECTOR,
      pods(SUPPORT_BUNDLE_MANAGER_SELECTOR),
      [SUPPORT_BUNDLE_PORT],
      'longhorn-manager polls the support bundle manager and downloads the bundle',
    ),
    flow(
      'metrics',
      'ingress',
      MANAGER_SELECTOR,
      { kind: 'capability', capability: 'metrics' },
      [tcp(MANAGER_API_PORT)],
      "the metrics provider scrapes longhorn-manager's /metrics (longhorn-backend, port manager)",
    ),
  ];
  for (const job of options.recurringJobs) {
    const selector = { [RECURRING_JOB_LABEL]: job };
    flows.push(
      flow(
        `recurring-${job}-manager`,
        'egress',
        selector,
        pods(MANAGER_SELECTOR),
        [tcp(MANAGER_API_PORT)],
        `recurring job ${job} snapshots or backs up its volumes through longhorn-backend`,
      ),
      flow(
        `recurring-${job}-apiserver`,
        'egress',
        selector,
        { kind: 'kube-apiserver' },
        APISERVER,
        `recurring job ${job} lists its volumes`,
      ),
    );
  }
  if (options.routed) {
    flows.push(
      flow(
        'ui-gateway',
        'ingress',
        UI_SELECTOR,
        { kind: 'gateway' },
        [tcp(UI_PORT)],
        'the Gateway forwards longhorn.<domain> (behind forward auth)',
      ),
    );
  }
  for (const target of backupTargetPeers(
    settings,
    options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
  )) {
    const suffix = target.peer.kind === 'fqdn' ? target.peer.name : 'endpoint';
    flows.push(
      flow(
        `manager-backup-target-${suffix}`,
        'egress',
        MANAGER_SELECTOR,
        target.peer,
        target.ports,
        `longhorn-manager reads the backup store (${target.host})`,
      ),
      flow(
        `replica-backup-target-${suffix}`,
        'egress',
        INSTANCE_MANAGER_SELECTOR,
        target.peer,
        target.ports,
        `replicas write and restore backups (${target.host})`,
      ),
    );
  }
  return flows;
}
