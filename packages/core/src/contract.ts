// The component contract (DESIGN.md, "Components (the contract)"). A component package exports
// one `Component`; the registry lists them; core runs them without knowing any by name.
//
// Components never import each other. They meet through capabilities: a provider publishes
// facts about what it provides (the Gateway's name, the OIDC issuer), a consumer declares what it
// needs (a route, an OIDC client, a Secret, a volume, a flow, a monitor), and the provider turns
// those declarations into resources. Two pure steps per component:
//   declare(cluster)  → ClusterContribution  (per cluster, providers before consumers, so a
//                                              consumer sees its providers' facts)
//   render(clusters)  → ComponentOutput       (once, with every cluster's facts and every other
//                                              component's declarations)
import type { DiskSelector } from './generated/platform.js';
import type { Issue, PathSegment } from './issues.js';
import type { ObjectValidator } from './output-validate.js';
import type { ChangeCheck, SystemCheck } from './system.js';
import type {
  ChartSpec,
  EnvironmentName,
  GeneratedFile,
  JsonValue,
  KubeObject,
  PodSecurityLevel,
  ResolvedCluster,
  ResolvedPlatform,
  Values,
} from './types.js';
import type { UpstreamPin } from './upstream.js';

// ---------------------------------------------------------------------------------------------
// Capabilities

/**
 * What a component can provide to others. A need nothing provides, or a cycle of needs, is a
 * build error that names both ends. Adding a kind of cooperation = adding a capability here.
 */
export const CAPABILITIES = [
  /** The pod network (and kube-proxy replacement, LoadBalancer addresses). */
  'cni',
  /** A GatewayClass whose controller implements the Gateway API. */
  'gateway-class',
  /** The platform Gateway: HTTPS for the cluster domain; turns route requests into HTTPRoutes. */
  'gateway',
  /** An issuer of TLS certificates (cert-manager ClusterIssuer). */
  'certificates',
  /** Turns every declared Secret into one filled from the secret store (BitwardenSecret). */
  'secrets',
  /** The OIDC provider: registers every declared OIDC client, an access rule for every route. */
  'oidc-provider',
  /** Block storage: StorageClass tiers for declared volumes. */
  'storage',
  /** CSI volume snapshots (the snapshot controller and a VolumeSnapshotClass). */
  'volume-snapshots',
  /** Backups of declared volumes, with restore verification. */
  'backup',
  /** Scraping, alerting and dashboards for declared monitors. */
  'metrics',
  /** Admission policies evaluated on every object. */
  'admission-policy',
  /** Cluster DNS. */
  'dns',
  /** The GitOps controller that deploys the app-of-apps (Argo CD). */
  'gitops',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

/** A Kubernetes API kind. */
export interface GroupKind {
  /** API group, `''` for the core group. */
  readonly group: string;
  readonly kind: string;
}

/** A key of a Kubernetes Secret. */
export interface SecretKeyRef {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/**
 * A kind of object that makes a Kubernetes Secret (e.g. a BitwardenSecret): where its fields
 * name the Secret and its keys. A path walks object keys; a list on the way is walked item by item.
 */
export interface SecretProducer {
  readonly group: string;
  readonly kind: string;
  /** Path of the made Secret's name (in the producer's namespace), e.g. `['spec', 'secretName']`. */
  readonly secretName: readonly string[];
  /** Path of the made Secret's keys, e.g. `['spec', 'map', 'secretKeyName']`. */
  readonly keys: readonly string[];
}

/** Facts a provider publishes about each capability, per cluster. */
export interface CapabilityFacts {
  readonly cni: {
    /** Whether the CNI replaces kube-proxy. */
    readonly kubeProxyReplacement: boolean;
    /** Whether it enforces NetworkPolicies. */
    readonly networkPolicy: boolean;
    /** Namespace the CNI runs in (its pods are privileged). */
    readonly namespace: string;
  };
  readonly 'gateway-class': {
    /** GatewayClass name. */
    readonly name: string;
    /** Gateway API CRD bundle version the controller was started with. */
    readonly gatewayApiVersion: string;
    /** Whether a Gateway can ask for a fixed address (`spec.addresses`). */
    readonly staticAddresses: boolean;
    /** Whether the controller can call an external authorizer (forward auth) for a route. */
    readonly forwardAuth: boolean;
  };
  readonly gateway: {
    readonly name: string;
    readonly namespace: string;
    /** The DNS zone the Gateway serves: its listeners take `*.<domain>`. */
    readonly domain: string;
    /** `sectionName` of the HTTPS listener routes attach to. */
    readonly httpsListener: string;
    /**
     * The ports of the Gateway's listeners. Clients on the LAN connect to them on whichever node
     * holds the Gateway's address, so the nodes' ingress firewall opens them.
     */
    readonly listenerPorts: readonly number[];
    /** The Gateway's fixed address (what the DNS records point at), when pinned. */
    readonly address: string | undefined;
    /** Whether routes can be protected by forward auth at the Gateway. */
    readonly forwardAuth: boolean;
  };
  readonly certificates: {
    /** The issuer Certificates reference. */
    readonly issuerRef: { readonly group: string; readonly kind: string; readonly name: string };
    /**
     * The issuer is a CA of the platform's own (cert-manager's CA issuer), which no public trust
     * store holds: a client in the cluster that calls a platform URL over HTTPS (an OIDC issuer)
     * must be given it. Every Certificate of this issuer carries it in its Secret's `ca.crt`.
     */
    readonly privateCa?: boolean;
    /**
     * The issuer's certificates chain to a root no trust store holds and none is given to the
     * clients (Let's Encrypt's staging directory): a client in the cluster that calls a platform
     * URL over HTTPS (an OIDC issuer) refuses it, so a login through it cannot work.
     */
    readonly untrusted?: boolean;
  };
  readonly secrets: {
    /** What fills the declared Secrets, for messages (e.g. `Bitwarden Secrets Manager`). */
    readonly store: string;
    /**
     * The objects that make the Secrets (one per Secret, in the Secret's namespace), so that
     * layer 4 can tell which Secrets will exist without knowing the provider.
     */
    readonly producer?: SecretProducer;
    /**
     * Where each key of each Secret comes from in the store (`<namespace>/<name>` → key → the
     * store's id of that entry), for the runbook's list of what to put into the store.
     */
    readonly entries?: { readonly [secret: string]: { readonly [key: string]: string } };
    /**
     * The provider's own credential on the cluster (the store's access token in hand-made
     * Secrets), for the disaster recovery: an etcd restore brings back the value of the
     * snapshot's time, which may have been revoked since and which the lost machines' disks held.
     */
    readonly credential?: {
      /** What it is and where it is kept, for a sentence (Markdown). */
      readonly what: string;
      /** Where the guide to replace it is (Markdown: a file and its section). */
      readonly replace: string;
      /** What the provider does while its credential is refused. */
      readonly whenRefused: string;
    };
  };
  readonly 'oidc-provider': {
    /** Issuer URL, e.g. `https://auth.dev.lab.example.com`. */
    readonly issuer: string;
    /** Path of the userinfo endpoint (where the groups claim is). */
    readonly userinfoPath: string;
    /**
     * Paths of the authorization and token endpoints, for clients that cannot read the discovery
     * document (Grafana's generic OAuth); absent: Authelia's `/api/oidc/authorization` and
     * `/api/oidc/token`.
     */
    readonly authorizationPath?: string;
    readonly tokenPath?: string;
    /** Groups the provider knows (for checks of the groups consumers name). */
    readonly groups: readonly string[];
    /**
     * How long the tokens it issues to the clients are valid, in seconds (those of a refresh
     * grant too): what decides when a client must renew a session with its refresh token and
     * whether it still can. Absent: unknown to the consumers.
     */
    readonly tokenLifespans?: {
      readonly idToken: number;
      readonly accessToken: number;
      readonly refreshToken: number;
    };
    /**
     * The Secret the provider reads OIDC client secrets from, one key per client id. The
     * `secrets` provider fills each key from the same store entry as the client's own `secret`,
     * so both sides read one value.
     */
    readonly clientSecrets?: {
      readonly namespace: string;
      readonly name: string;
      /** What reads it (the rotation guide: the provider itself, restarted or not). */
      readonly readers?: readonly SecretReader[];
    };
  };
  readonly storage: {
    /** StorageClasses by tier. */
    readonly classes: readonly {
      readonly name: string;
      readonly tier: string;
      readonly default: boolean;
      /**
       * A class on the same disks for the copies the backups make of the tier's volumes (a
       * backup's snapshot clone and restic cache, a restore check's volume, the bootstrap's
       * restored volume new claims are cloned from): one replica, no recurring snapshots or
       * backups, volumes deleted with their claim. A claim deleted from a class that retains its
       * volumes leaves the volume behind (a copy made every run would fill the disks), and the
       * bootstrap's volume stays for good: on the tier's class it would carry the tier's
       * replicas and its snapshot and backup jobs. Absent where the provider has none; the
       * consumer then uses the tier's class.
       */
      readonly scratch?: string;
    }[];
    /** CSI driver of the volumes (what a VolumeSnapshotClass names), when known. */
    readonly csiDriver?: string;
    /**
     * Parameters of a VolumeSnapshotClass of that driver for in-cluster snapshots (Longhorn:
     * `type: snap`; without it Longhorn takes a backup to its backup target).
     */
    readonly snapshotParameters?: { readonly [key: string]: string };
  };
  readonly 'volume-snapshots': { readonly snapshotClass: string };
  readonly backup: {
    readonly verification: boolean;
    /**
     * What the backup's pods in a protected volume's namespace (the movers, the restore
     * verification) need there: its consumer declares these flows in each namespace of its that
     * is under default deny and holds a backed-up volume (`backupFlows` of core).
     */
    readonly podFlows?: readonly BackupPodFlow[];
    /**
     * The image repositories of the pods its controller creates in a protected volume's
     * namespace (the movers; `ApplicationDescriptor.imageRepositories`): its consumer declares
     * them for each namespace of its that holds a backed-up volume.
     */
    readonly podImages?: readonly string[];
    /**
     * The restic repositories' common prefix on this cluster, where the provider knows it (its
     * S3 bucket is in the definition): a volume's repository is
     * `<resticRepositoryPrefix>/<namespace>/<volume>` (`volumeResticRepository`), the value its
     * backup Secret's `RESTIC_REPOSITORY` must hold.
     */
    readonly resticRepositoryPrefix?: string;
    /**
     * Where the provider's runbook changes a volume's repository password (Markdown: a file and
     * its section), where it has such steps: a new `RESTIC_PASSWORD` alone locks every backup,
     * restore and verification out of the repository. The rotation guide's note on the key
     * points there (`volumeBackupSecret`).
     */
    readonly passwordChange?: string;
    /**
     * The volume populator of the provider, where it has one: a claim whose `spec.dataSourceRef`
     * names `<apiGroup>/<kind>` `volumePopulatorName(volume)` is filled from the volume's latest
     * backup before anything can mount it (a new claim only: a bound claim is left alone). The
     * consumer of a backed-up volume asks for it (`VolumeRequest.dataSourceRef`, with
     * `volumePopulatorSource`) and has its Application ignore the field on every claim it
     * makes (`volumePopulatorIgnore`): the field is immutable, so claims made before it stay
     * without, and a claim made with it keeps it when its backups are turned off later.
     */
    readonly populator?: { readonly apiGroup: string; readonly kind: string };
  };
  readonly metrics: { readonly namespace: string };
  readonly 'admission-policy': {
    readonly engine: string;
    /**
     * What happens on this cluster to a request the policies refuse: `deny` refuses it, `warn`
     * lets it through with a warning, `dryrun` lets it through and only the audit reports it.
     */
    readonly enforcement?: 'deny' | 'warn' | 'dryrun';
    /** What every workload of a namespace not exempted must do, a sentence each (onboarding text). */
    readonly rules?: readonly string[];
  };
  readonly dns: {
    readonly clusterDomain: string;
    /** Namespace of the DNS server pods (every pod's DNS queries go there). */
    readonly namespace: string;
    /** Labels of the DNS server pods. */
    readonly selector: { readonly [key: string]: string };
  };
  readonly gitops: {
    /** Namespace the GitOps controller and its Applications live in. */
    readonly namespace: string;
    /** Its release (the app-of-apps chart's appVersion). */
    readonly version: string;
    /**
     * Shell commands that stop the controller from reconciling Applications and return once it
     * stopped: with it stopped, nothing runs an Application's deletion hooks or puts back the
     * finalizers it adds itself (the runbook's removal of the controller).
     */
    readonly stop?: readonly string[];
  };
}

export type ProvidedFacts = { readonly [C in Capability]?: CapabilityFacts[C] };

// ---------------------------------------------------------------------------------------------
// Declarations (what a component contributes on a cluster)

/**
 * The app-of-apps' names, one convention for every package that names an Application in what it
 * writes (the runbooks' `kubectl patch application …`): a component's Application is
 * `<cluster>-<name>`, the root Application, which holds them all, `<cluster>-platform` (after the
 * umbrella chart `charts/platform`).
 */
export const PLATFORM_CHART = 'platform';

/** The Argo CD Application of `name` (an ApplicationDescriptor's name) on `cluster`. */
export function applicationName(cluster: { readonly name: string }, name: string): string {
  return `${cluster.name}-${name}`;
}

/** The root Application of `cluster`: the one the runbook applies, holding every other. */
export function rootApplicationName(cluster: { readonly name: string }): string {
  return applicationName(cluster, PLATFORM_CHART);
}

/**
 * The Pod Security level an Application declares in each namespace it deploys to: its own
 * namespace at `podSecurity`; each of `additionalNamespaces` at the level `additionalPodSecurity`
 * gives it (the applications' namespaces, each at its application's level), else at
 * `podSecurity` (a privileged component's system or chart-made namespaces: Cilium's
 * `cilium-spire`, monitoring's `kube-system`). What admission exempts or relaxes per namespace
 * (Talos' Pod Security exemptions, Gatekeeper's `pod-security`) reads this, never `podSecurity`
 * alone: one privileged application would otherwise take every other application's namespace out
 * of Pod Security.
 */
export function namespacePodSecurity(
  application: Pick<
    ApplicationDescriptor,
    'namespace' | 'additionalNamespaces' | 'additionalPodSecurity' | 'podSecurity'
  >,
): [namespace: string, level: PodSecurityLevel][] {
  return [
    [application.namespace, application.podSecurity],
    ...(application.additionalNamespaces ?? []).map((namespace): [string, PodSecurityLevel] => [
      namespace,
      application.additionalPodSecurity?.[namespace] ?? application.podSecurity,
    ]),
  ];
}

/** How the app-of-apps deploys a component on a cluster. */
export interface ApplicationDescriptor {
  /** Application name (argocd-apps prefixes it with the cluster). Default: the component name. */
  readonly name?: string;
  /** Chart folder under charts/. Default: the chart the component renders. */
  readonly chart?: string;
  /** Destination namespace. */
  readonly namespace: string;
  /** Helm release name (default: the Application name without the cluster prefix). */
  readonly releaseName?: string;
  /**
   * Other namespaces the chart deploys into (the AppProject permits them too). The root
   * Application creates them before the first sync wave, as it does every namespace of the
   * platform that no earlier Application creates: a chart renders no Namespace object for a
   * namespace another Application uses before it (layer 4, `namespaces-before-use`).
   */
  readonly additionalNamespaces?: readonly string[];
  /**
   * Namespaces the upstream chart renders a Namespace object for (Cilium's `cilium-secrets`):
   * the root Application leaves them to the chart (one owner per object). The Helm suite checks
   * the list against what the chart renders.
   */
  readonly chartNamespaces?: readonly string[];
  /** Pod Security level of each of `additionalNamespaces` (default `restricted`). */
  readonly additionalPodSecurity?: { readonly [namespace: string]: PodSecurityLevel };
  readonly podSecurity: PodSecurityLevel;
  readonly serverSideApply?: boolean;
  /**
   * The API versions Argo CD passes to Helm for this chart (`spec.source.helm.apiVersions`,
   * `[group/]version[/kind]`) instead of the live cluster's. Argo CD v3.4 renders a chart with
   * every API the destination cluster serves (`GetAPIVersionsOrDefault`, `--api-versions`), so a
   * chart that branches on `.Capabilities.APIVersions` for a CRD an earlier wave installs renders
   * more on the cluster than the build and the Helm suite see (VolSync 0.16.0: its own
   * ServiceMonitor once the Prometheus Operator's CRDs exist). A list pins what the chart sees:
   * Helm adds it to its built-in API versions.
   */
  readonly helmApiVersions?: readonly string[];
  /**
   * Sync only the objects that differ from Git (Argo CD `ApplyOutOfSyncOnly=true`). For an
   * Application with objects Argo CD replaces (`Replace=true,Force=true`: deletes and creates),
   * which a full sync, applying every object, would delete and create again on every sync.
   */
  readonly applyOutOfSyncOnly?: boolean;
  /** Cluster-scoped kinds the component creates (its AppProject allows exactly these). */
  readonly clusterResources: readonly GroupKind[];
  /** Argo CD `ignoreDifferences` entries for fields generated in-cluster. */
  readonly ignoreDifferences?: readonly Values[];
  /**
   * Argo CD health checks of kinds its chart renders that Argo CD has none built in for, where a
   * later sync wave of the same Application must wait until their controller acted on them
   * (Gatekeeper's ConstraintTemplate: the constraint kind exists only once Gatekeeper made its
   * CRD). Argo CD counts an object without a health check healthy as soon as it is applied, so
   * the next wave would start at once. The GitOps controller installs them (argocd-cm
   * `resource.customizations.health.<group>_<kind>`); layer 4 checks they are there.
   */
  readonly healthChecks?: readonly ResourceHealthCheck[];
  /**
   * The cluster cannot work without it (the CNI, CRDs, the GitOps controller): no cascade-delete
   * finalizer, and its resources are never pruned or deleted by Argo CD.
   */
  readonly critical?: boolean;
  /**
   * The chart renders a Helm `pre-delete` hook that uninstalls what its controller made at run
   * time (objects it keeps finalizers on, webhooks it registers). Argo CD v3.4 renders hooks and
   * runs a `pre-delete` one as a PreDelete hook: it puts `pre-delete-finalizer.argocd.argoproj.io`
   * on the Application and deletes the Application only once the hook succeeded (a failed hook
   * is retried). The runbook's removal lets the hook succeed first and checks what it removed.
   */
  readonly uninstall?: ChartUninstall;
  /**
   * Kinds whose CRDs the chart installs, or its controller registers when it starts (Cilium's
   * cilium.io kinds): Applications in later waves may use them (layer 4, kinds-before-use).
   */
  readonly installs?: readonly GroupKind[];
  /**
   * The AppProject the Application belongs to: one project per purpose (`network`, `gitops`,
   * `security`, …). Default: the component's name.
   */
  readonly project?: string;
  /**
   * Namespaced kinds the upstream chart renders (our manifests are computed): with them the
   * AppProject allows exactly the kinds the Application deploys; without them, any namespaced
   * kind but Argo CD's own.
   */
  readonly namespacedResources?: readonly GroupKind[];
  /**
   * Host paths its pods mount (the admission policy allows exactly these, in those of its
   * namespaces it declares privileged: Pod Security's baseline refuses hostPath volumes).
   */
  readonly hostPaths?: readonly string[];
  /**
   * The image repositories its pods run, by namespace: those of every container its chart renders
   * and of every pod its controllers create at run time (an operator's Prometheus, Longhorn's
   * instance managers, VolSync's movers in the namespaces of the volumes they back up). Each as
   * the container runtime resolves it, without tag or digest (`imageRepository`:
   * `docker.io/longhornio/longhorn-manager`). The admission policy's allowed registries must
   * admit every one outside the namespaces exempt from it; the Helm suite checks that every image
   * the chart renders or hands its controllers is declared.
   */
  readonly imageRepositories?: { readonly [namespace: string]: readonly string[] };
  /**
   * ClusterRoleBindings to `cluster-admin` its chart renders and offers no way to avoid, each
   * with the reason (the admission policy allows exactly these names, besides the definition's).
   */
  readonly clusterAdminBindings?: readonly { readonly name: string; readonly reason: string }[];
  /**
   * Admission policies (by name: `required-labels`, `resource-requests`, …) its chart cannot
   * satisfy, offering no value for it, each with the reason: the policy excludes the
   * Application's namespaces (or only `namespaces`, some of them) from that policy only, and
   * carries the reason.
   */
  readonly policyExemptions?: readonly {
    readonly policy: string;
    readonly reason: string;
    readonly namespaces?: readonly string[];
  }[];
  /**
   * Helm repositories the chart's upstream dependency is fetched from, and the hosts of its
   * archive where the index points elsewhere (GitHub Releases and their redirect: the pin's
   * `archives`). Core fills it from the component's `upstream` chart pins; the GitOps
   * controller must reach them.
   */
  readonly upstreamRepositories?: readonly string[];
}

/** An Argo CD health check in Lua (see `ApplicationDescriptor.healthChecks`). */
export interface ResourceHealthCheck {
  readonly group: string;
  readonly kind: string;
  /** The script, run as Argo CD runs it: the object as `obj`, returns `{ status, message }`. */
  readonly lua: string;
  /** Why the Application's sync needs it, one sentence. */
  readonly reason: string;
}

/** What the runbook runs after each node's reboot (see `afterNodeReboot`). */
export interface NodeRebootWait {
  /** What it waits for, one Markdown sentence for the runbook. */
  readonly reason: string;
  /** Shell commands that return once the component recovered; quoted by their author. */
  readonly commands: readonly string[];
}

/**
 * What the runbook's "When a component is down" gives for a component whose outage blocks more
 * than itself (see `whenDown`). Commands are quoted by their author.
 */
export interface OutageProcedure {
  /** What is refused while the component is down, and why: Markdown for the runbook. */
  readonly symptom: string;
  /** Commands that show the component's outage is the cause. */
  readonly diagnose: readonly string[];
  /** How their output tells it is (the runbook's parenthesis after "Is it the cause?"). */
  readonly diagnosis: string;
  /** Commands that bring the component back and wait for it. */
  readonly recover: readonly string[];
  /**
   * Commands that lift what blocks the cluster when the component cannot come back (what keeps
   * it down must be repaired first). The runbook runs them after suspending the auto-sync of the
   * root Application and of the component's Application, whose self-heal would undo them.
   */
  readonly lift: readonly string[];
  /**
   * Commands that show what `lift` removed is back, once the runbook restored the auto-sync and
   * synced the component's Application.
   */
  readonly verify: readonly string[];
}

/**
 * What the runbook's "Nodes: adding, retiring, replacing" runs for a component, per node of the
 * cluster (its hostname); a node the component has nothing to do on is left out.
 */
export interface NodeLifecycle {
  /**
   * After the node joined and is `Ready`: until the component uses it (Longhorn: the node's
   * disks schedulable).
   */
  readonly joined?: { readonly [hostname: string]: NodeRebootWait };
  /**
   * Once the node is cordoned, before its drain and its reset: move away what the component
   * keeps on it, and return only once nothing is left there (Longhorn: every replica evicted).
   */
  readonly retiring?: { readonly [hostname: string]: NodeRebootWait };
  /**
   * As `retiring`, for a node no longer in the definition (the runbook's "Retiring a node no
   * longer in the definition"): the commands read its hostname from the shell variable `NODE`,
   * work on any node (doing nothing where the component keeps nothing), and are chained with
   * `&&` by the runbook, so each must be one complete command that fails only when the
   * retirement must stop.
   */
  readonly retiringRemoved?: NodeRebootWait;
  /**
   * After a dead node's Kubernetes node was deleted (it could not be retired): what the
   * component does about it, and the commands that wait for it or do it by hand.
   */
  readonly lost?: { readonly [hostname: string]: NodeRebootWait };
}

/** A chart's `pre-delete` uninstall hook, which Argo CD runs (see `uninstall`). */
export interface ChartUninstall {
  /** What the hook removes and why it matters, one Markdown sentence for the runbook. */
  readonly reason: string;
  /** Commands that let the hook succeed (e.g. Longhorn's `deleting-confirmation-flag`). */
  readonly prepare: readonly string[];
  /** Commands that show what the hook should have removed (they print nothing once it did). */
  readonly verify: readonly string[];
}

/**
 * CustomResourceDefinitions a component needs installed before it starts (its controller
 * probes for them at start-up), delivered as their own Application before the component.
 */
export interface CrdBundle {
  /** Application name, e.g. `gateway-api-crds`. */
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** Where Argo CD reads the CRDs: a Git repository path at a pinned revision. */
  readonly source: {
    readonly repoURL: string;
    readonly path: string;
    readonly targetRevision: string;
    /** Argo CD `directory` options (e.g. `{ recurse: false }`, `{ include: '…' }`). */
    readonly directory?: Values;
  };
  /** Kinds the bundle's CRDs define. */
  readonly kinds: readonly GroupKind[];
  /** Cluster-scoped kinds the bundle creates (its AppProject allows exactly these). */
  readonly clusterResources: readonly GroupKind[];
  /** Shell commands that install the bundle by hand (the runbook, before the component). */
  readonly install: readonly string[];
  /**
   * A cluster that synced the bundle at `version` or later refuses it below `version` (a storage
   * version the older CRDs lack, an admission policy the newer bundle installed): a build that
   * moves a deployed bundle from there to below is refused (`crd-bundle-downgrade`, compared with
   * the charts the last build wrote), with `why` and the commands (`undo`) that let the older
   * bundle apply.
   */
  readonly noDowngradeBelow?: {
    readonly version: string;
    /** Why the cluster refuses it, one sentence. */
    readonly why: string;
    /**
     * Commands that let the older bundle apply, run once its Application has it: the build's
     * error names them, and the runbook's "Going back" of a cluster at or above `version` (its
     * lines go in as they are: quoted by the component).
     */
    readonly undo: readonly string[];
  };
}

/** How a route's users are authenticated. */
export type RouteAuth =
  /**
   * The application logs users in itself: through the OIDC client it declares (`oidcClient`),
   * and/or with accounts of its own until that login works.
   */
  | {
      readonly kind: 'app';
      readonly oidcClient?: string;
      /** Whose accounts log in there, for the runbook (default: the application's own). */
      readonly accounts?: string;
    }
  /** The Gateway asks the OIDC provider before forwarding (forward auth). */
  | {
      readonly kind: 'forward-auth';
      readonly policy: 'one_factor' | 'two_factor';
      readonly groups?: readonly string[];
    }
  /** No authentication at the edge; only where the definition says so, with its reason. */
  | { readonly kind: 'none'; readonly reason: string };

/**
 * A project for workloads the platform does not deploy (an application's own Deployments,
 * Services…), which the GitOps provider makes beside the platform's projects: its Applications
 * may deploy into `namespace` only, no cluster-scoped kind, no kind that decides what reaches
 * the pods (network policies, routes, Gateways, Ingresses), no Role or RoleBinding unless
 * `allowRoles`, and none of the other kinds the platform itself manages there (Secrets from the
 * secret store, backups: the definition declares those). Kinds, not names: Kubernetes' workload
 * kinds stay permitted, the platform's claims and CronJobs among them. Ignored on a cluster
 * without a GitOps controller.
 */
export interface WorkloadProject {
  /** The project's name, a Kubernetes object name, unique on the cluster among every project. */
  readonly name: string;
  /** The namespace its Applications deploy into, one the platform creates. */
  readonly namespace: string;
  /** What it is for, one sentence. */
  readonly description: string;
  /** Repositories its Applications may take their sources from (Argo CD patterns; `*`: any). */
  readonly sourceRepos: readonly string[];
  /**
   * Its Applications may make Roles and RoleBindings in the namespace (Argo CD applies them as
   * its controller, so a RoleBinding can grant anything there, network policies included).
   */
  readonly allowRoles?: boolean;
  /** Where the definition declares it, for issues. */
  readonly origin: readonly PathSegment[];
}

/** A consumer asks the `gateway` provider to route `host` to one of its Services. */
export interface RouteRequest {
  /** Stable name, unique per component and cluster (names the HTTPRoute). */
  readonly name: string;
  /** First label of the host: `argocd` → `argocd.<cluster domain>`. */
  readonly host: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
  /** Labels the consumer wants on the route objects. */
  readonly labels?: { readonly [key: string]: string };
  readonly auth: RouteAuth;
  /**
   * What the Service speaks behind the Gateway: `http` (default, an HTTPRoute) or `grpc` (a
   * GRPCRoute; the host must then be the route's own, an HTTPRoute and a GRPCRoute cannot
   * share a hostname on one listener).
   */
  readonly protocol?: 'http' | 'grpc';
  /**
   * An HTTP route's Service port for its gRPC requests (`Content-Type` `application/grpc…`, gRPC
   * and gRPC-web alike), which must speak HTTP/2 in clear text (`appProtocol: kubernetes.io/h2c`):
   * the route's first rule sends them there. Cilium's Gateway (v1.19) turns every gRPC-web
   * request into gRPC (its listeners' `grpc_web` filter) and speaks HTTP/1.1 to a port without
   * that protocol, where no gRPC server answers (an application whose CLI and web UI share one
   * host: Argo CD).
   */
  readonly grpcPort?: number;
  /**
   * Request headers the Gateway removes before the Service sees them (a `RequestHeaderModifier`
   * filter on the route's rule), e.g. `Authorization` for an application that must be reached
   * only through its SSO login: a header that would log in another way (basic auth as a local
   * user) never reaches it from outside, while the pod's own clients on localhost keep it.
   */
  readonly removeRequestHeaders?: readonly string[];
  /**
   * `external`: the Service and its pods are deployed outside the platform's charts (an
   * application's own workloads). Until they are, the Gateway reports the route's backend not
   * found (`ResolvedRefs` False) and Argo CD reads the route, and the Application that holds
   * it, `Degraded`: the runbook's convergence wait leaves that Application out.
   */
  readonly workloads?: 'external';
  /**
   * Where in the definition the route itself is declared (an application's `routes[i]`): the
   * gateway's issues about it point there, and such a route yields its host to the routes the
   * components make of their own (`auth`, `argocd`, …), which the user never wrote.
   */
  readonly origin?: readonly PathSegment[];
}

/** A consumer asks the `oidc-provider` to register an OIDC client. */
export interface OidcClientRequest {
  readonly id: string;
  /** Human-readable name shown on the consent page. */
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly scopes: readonly string[];
  readonly pkce: boolean;
  /** Public clients (CLIs) have no secret. */
  readonly public: boolean;
  /** Where both sides read the client secret (a declared Secret). */
  readonly secret?: SecretKeyRef;
  /**
   * How a confidential client sends its secret to the token endpoint: HTTP basic auth (the
   * default) or in the request body (`client_secret_post`). The provider registers the one
   * method and refuses the other (Authelia 4.39: "registration does not allow this method").
   */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** The issuer URL the consumer trusts (what it put in its own configuration). */
  readonly issuer?: string;
  /**
   * Claims the client reads from the ID token itself (not from the userinfo endpoint), e.g.
   * Argo CD's `groups`, which its RBAC reads from the token the CLI presents too. The provider
   * must put them there: Authelia 4.39 puts none of the profile, email or groups claims in by
   * default, only the protocol's (`sub`, `iss`, …).
   */
  readonly idTokenClaims?: readonly string[];
  /**
   * Where in the definition the settings behind the request are, so that the provider's issues
   * about them point there: the request as a whole, and each redirect URI and group (same order).
   */
  readonly origins?: {
    readonly client?: readonly PathSegment[];
    readonly redirectUris?: readonly (readonly PathSegment[] | undefined)[];
    readonly groups?: readonly (readonly PathSegment[] | undefined)[];
  };
  readonly policy: 'one_factor' | 'two_factor';
  /** Groups allowed to log in (empty: every authenticated user). */
  readonly groups?: readonly string[];
}

/** A Kubernetes Secret a component consumes, filled by the `secrets` provider. */
export interface SecretRequirement {
  readonly name: string;
  readonly namespace: string;
  readonly keys: readonly string[];
  /** Labels the consumer needs on the Secret (e.g. Argo CD's `app.kubernetes.io/part-of`). */
  readonly labels?: { readonly [key: string]: string };
  /** What it holds, for the runbook and messages. */
  readonly description?: string;
  /**
   * What reads it and how each reader takes in a new value, for the secrets provider's rotation
   * guide (`clusters/<cluster>/rotating-secrets.md`). Absent: nothing of the platform says.
   */
  readonly readers?: readonly SecretReader[];
  /**
   * Per key: what else must change with a new value, in one or two Markdown sentences (a restic
   * repository's key, a database encrypted with it, the S3 provider's old key revoked after).
   */
  readonly rotation?: { readonly [key: string]: string };
  /**
   * Per key: the procedure a new value needs when syncing it and restarting the readers is not
   * enough (a database encrypted with it must be re-encrypted while nothing runs with either
   * key). The rotation guide runs it in place of its sync-and-restart commands.
   */
  readonly procedures?: { readonly [key: string]: RotationProcedure };
  /**
   * Per key: the one value the platform needs it to hold on this cluster, where the definition
   * decides it (a volume's restic repository, a backup target's S3 endpoint). The secrets
   * provider refuses one secret-store entry filling the key on clusters that need different
   * values: an entry holds one value.
   */
  readonly values?: { readonly [key: string]: string };
  /**
   * Per key: why the value must be this cluster's alone, in a sentence (a signing key: whoever
   * holds it on another cluster signs what this cluster's readers accept). The secrets provider
   * warns where one secret-store entry fills such a key on more than one cluster.
   */
  readonly ownPerCluster?: { readonly [key: string]: string };
}

/**
 * How a key is changed when the declaring component's own commands must run around the change
 * of the value in the secret store. The secrets provider's rotation guide writes, in order: the
 * GitOps controller stops reconciling the declaring component's Application (the root
 * Application first, whose self-heal would put the child's sync policy back); `before` (the
 * store and the Secret still hold the old value: stop what must not start with the new one, keep
 * the old one in the cluster); the value changed in the store and synced into the Secret (the
 * provider's commands, waiting for the sync); `after` (the Secret holds the new value); the
 * controller syncs the Application (putting back whatever `before` changed in its objects) and
 * reconciles again; `done`. Commands are quoted by their author.
 */
export interface RotationProcedure {
  /** Markdown paragraphs (one string each): why the procedure, what goes wrong without it. */
  readonly why: readonly string[];
  readonly before: RotationStep;
  /** What the new value must be (a sentence, e.g. its minimum length). */
  readonly value: string;
  readonly after: RotationStep;
  readonly done: RotationStep;
}

/** One step of a `RotationProcedure`: a Markdown sentence or two, then shell commands. */
export interface RotationStep {
  readonly text: string;
  readonly commands: readonly string[];
}

/**
 * A workload that reads a Secret, in the Secret's namespace. `start`: it reads the value once, at
 * start (an environment variable, a file read when it starts): a new value takes a restart (the
 * rotation guide gives `kubectl rollout restart <kind>/<name>`). `use`: it reads the Secret again
 * at use (from the API, or a mounted file, which the kubelet updates within about a minute):
 * nothing to do. `run`: each run is a new pod (a CronJob, an operator's Job): the next run has it.
 */
export interface SecretReader {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job';
  /** The workload's name; for `run`, what makes the pods may be named instead (one line of text). */
  readonly name: string;
  readonly reads: 'start' | 'use' | 'run';
  /** The keys it reads; absent: every key of the Secret. */
  readonly keys?: readonly string[];
  /** How it reads them, a few words for the guide (`the *_FILE variables of its configuration`). */
  readonly how: string;
}

/**
 * A value the operator types into the shell, not echoed (a token, a key): the runbook gives each
 * its own ```sh block, the prompt its last line (core `readCommand`; `terminal-read-alone`).
 */
export interface ShellRead {
  /** The shell variable it is read into and exported (upper case, digits, `_`). */
  readonly variable: string;
  /** What to type, a few words without the colon (`S3 access key id`). */
  readonly prompt: string;
}

/** A Secret made by hand once per cluster (the runbook gives the command; layer 4 knows it). */
export interface BootstrapSecret {
  readonly name: string;
  readonly namespace: string;
  readonly keys: readonly string[];
  readonly description: string;
  /**
   * The values the commands read from the operator's shell that the runbook prompts for: each in
   * a block of its own before the commands (a variable read by an earlier step, the secrets
   * provider's token, is not read again here).
   */
  readonly reads?: readonly ShellRead[];
  /**
   * Shell commands that create it; values come from the operator's shell, never from Git, and
   * never from a `read` among them (a prompt is a `reads` entry).
   */
  readonly commands: readonly string[];
  /**
   * Made only where some component declares a Secret (`secrets`) in `namespace` on the cluster:
   * what the secrets provider reads there (its access token), which a namespace whose Secrets
   * all belong to components disabled on the cluster never needs. Core drops it elsewhere, so
   * the runbook neither creates that namespace by hand nor puts one more copy of the credential
   * into it.
   */
  readonly forDeclaredSecrets?: boolean;
}

/** A step of the bootstrap runbook a component contributes (e.g. "install Cilium"). */
export interface BootstrapStep {
  readonly title: string;
  /** Markdown paragraphs before the commands. */
  readonly body: readonly string[];
  /** Values the operator types in, each prompted in a block of its own before the commands. */
  readonly reads?: readonly ShellRead[];
  /**
   * Shell commands; every interpolated value is validated and shell-quoted. No `read` among
   * them: a prompt is a `reads` entry.
   */
  readonly commands: readonly string[];
  /**
   * Markdown paragraphs after the commands: what to do with what they printed, and commands the
   * operator runs elsewhere (on each machine that trusts a CA), as inline code. Never a `#`
   * comment among `commands`: zsh (macOS' login shell) does not read comments on its prompt
   * (INTERACTIVE_COMMENTS is off by default) and runs `#` as a command, with the rest of the line
   * as its arguments.
   */
  readonly after?: readonly string[];
  /**
   * `after-handover`: the step needs what the GitOps controller deploys (trust the private CA,
   * point DNS at the Gateway), so the runbook puts it after the hand-over. `login`: how users
   * log in to what the component serves; the runbook's "Logging in" section. `later`: what the
   * operator does long after the bootstrap (trust a renewed CA before the old one expires): a
   * "Later: <title>" section of the runbook. Default: before.
   */
  readonly when?: 'after-handover' | 'login' | 'later';
}

/** What a component needs from Talos on a cluster; talos-config merges these. */
export interface TalosNeeds {
  /** `none`: the component installs the CNI itself. */
  readonly cni?: 'none';
  readonly disableKubeProxy?: boolean;
  readonly kubePrism?: { readonly port: number };
  /** Image Factory system extensions, e.g. `siderolabs/iscsi-tools`. */
  readonly extensions?: readonly string[];
  readonly kubeletExtraMounts?: readonly {
    readonly destination: string;
    readonly type: string;
    readonly source: string;
    readonly options: readonly string[];
  }[];
  readonly kernelModules?: readonly string[];
  readonly sysctls?: { readonly [key: string]: string };
  /**
   * Extra arguments of the control-plane components Talos runs (control-plane nodes only), e.g.
   * `controllerManager: { 'bind-address': '0.0.0.0' }` so that their metrics can be scraped.
   */
  readonly controlPlaneArgs?: {
    readonly controllerManager?: { readonly [flag: string]: string };
    readonly scheduler?: { readonly [flag: string]: string };
    readonly etcd?: { readonly [flag: string]: string };
  };
  /**
   * Talos API access from Kubernetes (`machine.features.kubernetesTalosAPIAccess`, control
   * planes): the Talos roles pods may be granted, and only in these namespaces.
   */
  readonly kubernetesTalosAPIAccess?: {
    /** Talos roles, e.g. `os:etcd:backup`. */
    readonly roles: readonly string[];
    readonly namespaces: readonly string[];
  };
  /** What single nodes need, by hostname (their own patch, `nodes/<hostname>.yaml`). */
  readonly nodes?: { readonly [hostname: string]: TalosNodeNeeds };
  /** Talos' own CoreDNS off (`cluster.coreDNS.disabled`): the component deploys the cluster DNS. */
  readonly disableCoreDns?: boolean;
  /**
   * Ports the component's host-network agents open to the other nodes (a CNI's overlay, its
   * health and peer services): where the nodes' ingress firewall blocks by default, talos-config
   * allows them on every node from every node's address.
   */
  readonly nodePorts?: readonly FlowPort[];
}

/** What one node needs from Talos: user volumes on its data disks, node labels and annotations. */
export interface TalosNodeNeeds {
  readonly userVolumes?: readonly TalosUserVolume[];
  /** Kubernetes node labels (`machine.nodeLabels`), merged with the definition's. */
  readonly labels?: { readonly [key: string]: string };
  /** Kubernetes node annotations (`machine.nodeAnnotations`). */
  readonly annotations?: { readonly [key: string]: string };
}

/** A Talos user volume on a data disk: formatted, mounted at `/var/mnt/<name>`. */
export interface TalosUserVolume {
  /** Volume name (1–34 letters, digits, `-`); the mount point is `/var/mnt/<name>`. */
  readonly name: string;
  /** The disk it is provisioned on (talos-config turns this into the disk selector expression). */
  readonly disk: DiskSelector;
  /** Smallest size, e.g. `100GiB`. */
  readonly minSize?: string;
  /** Largest size, e.g. `900GiB` (default: grow to the whole disk). */
  readonly maxSize?: string;
  /** Filesystem (Talos' default: xfs). */
  readonly filesystem?: 'xfs' | 'ext4';
}

/** Pod labels: a label selector of the component's own pods (`matchLabels`). */
export type PodLabels = { readonly [key: string]: string };

/**
 * A port at the pod (after a Service's translation: the container port, never the Service port),
 * or with `endPort` the range `port`..`endPort` (both included): ports a process picks at run time
 * from a fixed range (Longhorn's engines and replicas), rendered as Cilium's `endPort`.
 */
export interface FlowPort {
  readonly port: number;
  /** Last port of a range (greater than `port`, at most 65535). */
  readonly endPort?: number;
  readonly protocol: 'TCP' | 'UDP';
}

/**
 * The other end of a declared flow. There is deliberately no "anywhere": a pod that talks to the
 * world names each host (`fqdn`) or network (`cidr`), and node-level needs are explicit (`host`).
 */
export type FlowPeer =
  /** Other pods of the same component (`namespace` defaults to the flow's). */
  | { readonly kind: 'self'; readonly selector: PodLabels; readonly namespace?: string }
  /**
   * (egress) The pods of the component that provides `capability` on the cluster, where that
   * provider accepts its consumers: its ingress flow with peer `consumers` of the capability.
   * (ingress) The provider's pods that reach their consumers (its egress flow with peer
   * `consumers`), e.g. Prometheus of `metrics` scraping the component's metrics port; nothing
   * when no component provides `capability` on the cluster.
   */
  | { readonly kind: 'capability'; readonly capability: Capability }
  /**
   * (ingress) Every component that declares an egress flow to `capability`, which this component
   * provides: where consumers reach the provider.
   */
  | { readonly kind: 'consumers'; readonly capability: Capability }
  /**
   * The platform Gateway's proxy (the `gateway` provider's; with Cilium, its Envoy, identity
   * `reserved:ingress`).
   * - ingress: the Gateway forwarding routed requests to the component's pods (`host` absent).
   * - egress: the component's pods calling a routed host of the cluster, `<host>.<gateway
   *   domain>`, which resolves to the Gateway's address (an OIDC client fetching the issuer's
   *   discovery document, token and keys from `auth.<domain>`). `host` is the route's first
   *   label, as the route's owner declares it (`RouteRequest.host`); the route's owner must
   *   accept the Gateway (its own ingress flow from the Gateway) unless zero trust does not cover
   *   it. `ports` are the ones the pods dial (443); the generated rule cannot be narrowed to them:
   *   the Gateway's proxy listens on a port allocated at run time.
   */
  | { readonly kind: 'gateway'; readonly host?: string }
  /** The Kubernetes API server: egress to it, or ingress from it (admission webhooks). */
  | { readonly kind: 'kube-apiserver' }
  /**
   * (egress) A host outside the cluster by DNS name (`github.com`) or pattern with one leading
   * wildcard label (`*.github.com`).
   */
  | { readonly kind: 'fqdn'; readonly name: string }
  /**
   * (egress) The hosts the GitOps controller fetches the platform from: the platform repository,
   * every Application's upstream chart repository, every CRD bundle's source. Ports come from
   * the URLs (443 for https, 22 for ssh), so `ports` may be empty.
   */
  | { readonly kind: 'deployment-sources' }
  /**
   * (egress) The pods behind a Service of the cluster that the component calls by the Service's
   * DNS name (`<service>.<namespace>.svc[.<cluster domain>]`: a webhook of an application). Not an
   * `fqdn`: the name resolves to the ClusterIP, which Cilium translates to a backend pod before
   * it applies the egress policy, so the address a DNS rule learned never matches (Cilium's
   * "DNS based" policy docs: DNS rules are for external peers, use endpoint rules inside the
   * cluster). Cilium's socket load balancer rewrites the connection to the backend's address and
   * port at connect() (`bpf/bpf_sock.c`, `__sock4_xlate_fwd`), so the rule must name the pods'
   * port (the Service's targetPort), not the Service's. The CNI provider resolves it against what
   * the definition deploys in `namespace`: a Service a component declares (`services`) is its
   * selector's pods, on the targetPort each Service port maps to; any other is every pod of the
   * namespace, on `ports` as they are (the Service's port taken as the pods', with a warning).
   */
  | {
      readonly kind: 'service';
      readonly service: string;
      readonly namespace: string;
      /**
       * Whose ports `ports` are: `service` (the default: the port the caller dials, e.g. a URL's)
       * or `pods` (stated as the port the pods listen on: a setting's `targetPort`, an
       * application's flow), which no Service mapping changes.
       */
      readonly portsOf?: 'service' | 'pods';
      /**
       * The setting where the user may state the pods' port instead (`alertmanager.receivers[0].
       * webhook.targetPort`), for the warning about a Service the build does not know.
       */
      readonly portSetting?: string;
    }
  /** Addresses outside the pod network (a router, an upstream resolver) in CIDR notation. */
  | { readonly kind: 'cidr'; readonly cidr: string }
  /**
   * The nodes (host-network agents, the kubelet): the local node and every other node. With
   * `nodes: 'control-planes'`, what listens only on the control planes (etcd's, the controller
   * manager's and the scheduler's metrics): the workers' firewall keeps those ports closed.
   */
  | { readonly kind: 'host'; readonly nodes?: 'control-planes' };

/**
 * A network flow a component needs on a cluster. Zero-trust policies are generated from these
 * declarations only (DESIGN.md, "Zero trust"): with the CNI's default deny, a flow nobody declares
 * is dropped. Declare each connection once, on the side that opens it (egress), or as an ingress
 * for peers outside the component's control (the Gateway, the API server, consumers of a
 * capability it provides); the generator allows both ends.
 */
export interface FlowDeclaration {
  /** Stable name, unique per component and cluster (names the policy and messages). */
  readonly name: string;
  readonly direction: 'ingress' | 'egress';
  /** Namespace of the component's pods the flow is for. */
  readonly namespace: string;
  /** The component's pods the flow is for (label selector in `namespace`). */
  readonly selector: PodLabels;
  readonly peer: FlowPeer;
  /** Ports at the destination pod or host. */
  readonly ports: readonly FlowPort[];
  /** Why the flow exists, for the reachability report. */
  readonly reason?: string;
  /**
   * `external`: the pods are deployed outside the platform's charts (an application's own
   * workloads), so the Helm suite cannot find them in what the chart renders.
   */
  readonly workloads?: 'external';
}

/** A Service a component renders: its pods (`selector`) and where each of its ports arrives. */
export interface ServiceDeclaration {
  readonly name: string;
  readonly namespace: string;
  /** The Service's `spec.selector`. */
  readonly selector: PodLabels;
  readonly ports: readonly ServicePortDeclaration[];
}

/** One port of a declared Service: `port` on the ClusterIP, `targetPort` at the pods. */
export interface ServicePortDeclaration {
  readonly port: number;
  /** The pods' port number (a named targetPort resolved through the pods' container ports). */
  readonly targetPort: number;
  readonly protocol: 'TCP' | 'UDP';
}

/** A flow the backup provider's pods need in a protected volume's namespace (facts.backup). */
export interface BackupPodFlow {
  /** Stable name, prefixed with `backup-` by `backupFlows`. */
  readonly name: string;
  /** The backup's pods in the consumer's namespace (label selector). */
  readonly selector: PodLabels;
  readonly peer: FlowPeer;
  readonly ports: readonly FlowPort[];
  readonly reason: string;
  /**
   * A flow of the restore verification's pods: declared only in a namespace where a backed-up
   * volume is verified (`backup.verify`); elsewhere no such pod runs.
   */
  readonly verification?: boolean;
}

/** A persistent volume a component (or an application) declares. */
export interface VolumeRequest {
  /** PersistentVolumeClaim name, unique in its namespace. */
  readonly name: string;
  readonly namespace: string;
  /** Kubernetes quantity, e.g. `10Gi`. */
  readonly size: string;
  /** Storage tier (a StorageClass of the `storage` provider). */
  readonly tier: string;
  readonly accessMode?: 'ReadWriteOnce' | 'ReadWriteMany';
  /**
   * Numeric user and group that own the volume's files: backups, restores and their
   * verification run as them (the restic mover runs unprivileged).
   */
  readonly owner?: { readonly user: number; readonly group: number };
  /** Labels the consumer wants on the claim. */
  readonly labels?: { readonly [key: string]: string };
  /**
   * What fills a new claim of the volume before its first use (the claim's `spec.dataSourceRef`):
   * the backup provider's volume populator (`volumePopulatorSource`), so that a claim created on
   * a rebuilt cluster, or after the claim was deleted, holds the latest backup and not an empty
   * volume the workload starts afresh on.
   */
  readonly dataSourceRef?: {
    readonly apiGroup: string;
    readonly kind: string;
    readonly name: string;
  };
  /** Backup policy on this cluster (its environment's); absent: not backed up. */
  readonly backup?: VolumeBackupPolicy;
  /** Where the definition declares the volume: the providers' issues about it point there. */
  readonly origin?: readonly PathSegment[];
  /**
   * Where the definition has the settings behind `size`, `tier` and `accessMode` (a default has
   * the path where the user would write it): the provider says so of the claim it makes
   * (`ManifestOrigin.fields`), so that an issue about one field of the claim points at that line.
   */
  readonly origins?: {
    readonly size?: readonly PathSegment[];
    readonly tier?: readonly PathSegment[];
    readonly accessMode?: readonly PathSegment[];
    /** The backup schedule of the cluster's environment (or what holds it by default). */
    readonly backupSchedule?: readonly PathSegment[];
  };
}

/** How often a volume is backed up and how long backups are kept, on one cluster. */
export interface VolumeBackupPolicy {
  /** Cron schedule (five fields, UTC) of the backups. */
  readonly schedule: string;
  readonly retention: BackupRetention;
  /** Restore the latest backup on a schedule and check it (default true). */
  readonly verify?: boolean;
}

/** Snapshots kept (restic `forget` policy): the last N per period, or all within a duration. */
export interface BackupRetention {
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
  /** Keep every snapshot within this duration, e.g. `3d` or `1y2m`. */
  readonly within?: string;
}

/** A value that may differ per environment: one for every environment, or one each. */
export type PerEnvironment<T> = T | { readonly [E in EnvironmentName]: T };

/** Where Prometheus scrapes a monitor's metrics (a ServiceMonitor or a PodMonitor). */
export interface MonitorTarget {
  /** `service`: the endpoints of the Services `selector` selects; `pod`: the pods it selects. */
  readonly kind: 'service' | 'pod';
  readonly selector: { readonly [key: string]: string };
  /** Port name: of the Service (`service`) or of the container (`pod`). */
  readonly port: string;
  /** HTTP path (default `/metrics`). */
  readonly path?: string;
  /** Default `http`. */
  readonly scheme?: 'http' | 'https';
  /**
   * Set when the target's pods run on the host network (Cilium's agent): they carry the nodes'
   * identity, so the scrape is a flow to the nodes on this port, not to pods (zero trust).
   */
  readonly hostPort?: number;
}

/**
 * An alert rule. Its annotations are plain text: `{{` never reaches a chart (DESIGN.md), so no
 * Prometheus templating; the alert's labels say where it fires.
 */
export interface AlertRuleDeclaration {
  /** Alert name, UpperCamelCase, unique on the cluster; users override it by this name. */
  readonly alert: string;
  /** PromQL. `$threshold` stands for `threshold` (of the cluster's environment). */
  readonly expr: string;
  readonly threshold?: PerEnvironment<number>;
  /** How long the condition must hold before the alert fires (a Prometheus duration). */
  readonly for?: PerEnvironment<string>;
  readonly severity: 'critical' | 'warning' | 'info';
  /** One sentence, plain text. */
  readonly summary: string;
  readonly description?: string;
}

/** A Grafana dashboard (its JSON model) that the `metrics` provider provisions. */
export interface DashboardDeclaration {
  /** File name stem and dashboard uid, a DNS label. */
  readonly name: string;
  readonly title: string;
  /** The dashboard's JSON model, datasource uid `prometheus`. */
  readonly json: { readonly [key: string]: JsonValue };
}

/**
 * Something worth watching: a metrics endpoint, its alert rules and dashboards. The `metrics`
 * provider turns it into a ServiceMonitor or PodMonitor (in its own chart, selecting
 * `namespace`), a PrometheusRule and dashboard ConfigMaps. A monitor is also a flow: the
 * provider's Prometheus reaches `target`'s port in `namespace`. Components never need or use
 * `metrics` for this (monitoring comes after them); they declare, the provider watches.
 */
export interface MonitorDeclaration {
  /** Unique per component and cluster, a DNS label (names the monitor objects). */
  readonly name: string;
  /** Namespace of the target (and of the series' `namespace` label). */
  readonly namespace: string;
  /** Absent: rules over series scraped elsewhere (kube-state-metrics, another monitor). */
  readonly target?: MonitorTarget;
  readonly rules?: readonly AlertRuleDeclaration[];
  readonly dashboards?: readonly DashboardDeclaration[];
}

/** Everything a component contributes on one cluster. */
export interface ClusterContribution {
  readonly application?: ApplicationDescriptor;
  readonly crds?: readonly CrdBundle[];
  readonly talos?: TalosNeeds;
  readonly bootstrap?: readonly BootstrapStep[];
  readonly bootstrapSecrets?: readonly BootstrapSecret[];
  readonly routes?: readonly RouteRequest[];
  /** Projects for workloads the platform does not deploy, which the GitOps provider makes. */
  readonly workloadProjects?: readonly WorkloadProject[];
  readonly oidcClients?: readonly OidcClientRequest[];
  readonly secrets?: readonly SecretRequirement[];
  /**
   * Every connection the component's pods open or accept. Absent: zero trust does not cover the
   * component (its namespaces stay outside default deny, with a warning). Empty: its pods need
   * no connection, or it runs no pods of its own (a Gateway object the CNI serves).
   */
  readonly flows?: readonly FlowDeclaration[];
  /**
   * Namespaces of the component whose pods declare no flows (an application the definition gives
   * none): they stay outside default deny, with a warning, while the component's other namespaces
   * are under it. Only meaningful with `flows`.
   */
  readonly flowlessNamespaces?: readonly string[];
  readonly volumes?: readonly VolumeRequest[];
  /**
   * The Services the component renders on the cluster (its own manifests or its upstream
   * chart's) that another component may call by name: a `service` flow peer naming one is its
   * selector's pods, on the targetPorts of its ports (the CNI provider's policies). The
   * reachability check compares them with the Service objects it finds rendered.
   */
  readonly services?: readonly ServiceDeclaration[];
  readonly monitors?: readonly MonitorDeclaration[];
  /**
   * How to wait, after one node rebooted, until the component has recovered from it: the
   * runbook runs it after each node of its rolling reboots and Talos upgrades, where
   * `talosctl health` checks only etcd and Kubernetes (Longhorn: every attached volume rebuilt,
   * so the next node's reboot never takes the last healthy replica of a volume).
   */
  readonly afterNodeReboot?: NodeRebootWait;
  /**
   * Per node (its hostname), what the runbook runs once it cordoned the node, before the drain
   * of a reboot or a Talos upgrade: move off it what the drain's eviction must not take while
   * the node's other pods are being evicted (Cilium: the SPIRE server, moved and recovered first,
   * so the evicted pods' volumes detach under mutual authentication that works). The runbook
   * uncordons the node after a Talos upgrade (Talos uncordons only a node it cordoned itself).
   */
  readonly beforeNodeDrain?: { readonly [hostname: string]: NodeRebootWait };
  /**
   * On a cluster of one node, which is never drained (nothing could take its pods), what the
   * runbook runs once it cordoned the node, before its reboot or Talos upgrade: stop what the
   * reboot must not kill in the middle of its writes. Talos' reboot stops the pods through the
   * kubelet's graceful shutdown, in two groups by priority (Talos' defaults: 20 seconds for
   * every pod below 2,000,000,000, then 10 for the rest), so a storage component's engine stops
   * with the workloads writing to it (Longhorn: every pod using a volume deleted and every volume
   * detached first, so that its filesystem is unmounted while the engine still runs). The
   * runbook chains the reboot to the commands with `&&`, and uncordons the node once it is back.
   */
  readonly beforeLoneNodeReboot?: NodeRebootWait;
  /**
   * What of the component can hold a node's drain (`kubectl drain` of a reboot, a Talos upgrade
   * or a retirement giving up after 5 minutes) and what the operator does about it: the reason
   * (Markdown, may hold a list) and commands that show it for the node named by the shell
   * variable `NODE` (the runbook's "When a drain gives up"; Longhorn: the instance manager's
   * PodDisruptionBudget while the node holds an attached volume or a last healthy replica).
   */
  readonly drainHeld?: NodeRebootWait;
  /** What the runbook runs for the component when a node joins, is retired or is lost. */
  readonly nodeLifecycle?: NodeLifecycle;
  /** What the runbook does when the component is down and that blocks the rest of the cluster. */
  readonly whenDown?: OutageProcedure;
  /** Facts about the capabilities the component provides on this cluster. */
  readonly facts?: ProvidedFacts;
}

// ---------------------------------------------------------------------------------------------
// The component

/** A JSON Schema (draft 2020-12) object, as plain data. */
export type JsonSchema = { readonly [key: string]: JsonValue };

/** The settings of `components.<name>` (platform-wide) and `clusters[].components.<name>`. */
export interface SettingsSpec<S> {
  /**
   * JSON Schema of the settings: an object schema with `additionalProperties: false`, a
   * description on every property. Core adds `enabled` unless the schema defines it.
   */
  readonly schema: JsonSchema;
  /** Settings when the definition says nothing. */
  readonly defaults: S;
  /**
   * Keys allowed only under the top-level `components.<name>` (the same on every cluster, e.g.
   * the chart version): a cluster override of them is refused.
   */
  readonly platformOnly?: readonly string[];
}

/** One enabled cluster as a component sees it. */
export interface ComponentCluster<S> {
  readonly cluster: ResolvedCluster;
  /** Defaults, then `components.<name>`, then `clusters[].components.<name>` (Helm's merge). */
  readonly settings: S;
  /** Path of a setting in the definition, for issues: `path('hubble', 'ui')`. */
  readonly path: (...segments: PathSegment[]) => PathSegment[];
  /** Facts of the providers of the capabilities this component needs or uses. */
  readonly provided: ProvidedFacts;
}

export interface DeclareInput<S> extends ComponentCluster<S> {
  readonly platform: ResolvedPlatform;
}

export interface Declaration extends ClusterContribution {
  readonly issues?: readonly Issue[];
}

/** A component's declaration on a cluster, as other components see it. */
export interface PeerContribution {
  readonly component: string;
  readonly contribution: ClusterContribution;
}

export interface RenderCluster<S> extends ComponentCluster<S> {
  /** What this component declared on the cluster. */
  readonly own: ClusterContribution;
  /** What every other enabled component declared on the cluster (sorted by component). */
  readonly others: readonly PeerContribution[];
}

export interface RenderInput<S> {
  readonly platform: ResolvedPlatform;
  /** The clusters the component is enabled on, in definition order. */
  readonly clusters: readonly RenderCluster<S>[];
}

/**
 * Where the definition has what made one rendered object: the setting behind the object as a
 * whole, and the settings behind single fields of it. An issue about the object found after
 * rendering (a change the API server refuses to apply, `immutable-field-changed`) points there,
 * at the line the user wrote, not at the component's root. Kept beside the manifests, never
 * written into a generated file; an object without one is placed at its component's settings.
 */
export interface ManifestOrigin {
  /** The setting the object is made from, e.g. `…applications.apps.<app>.volumes.<volume>`. */
  readonly path: readonly PathSegment[];
  /**
   * By field of the object, dotted (`spec.storageClassName`, `spec.resources.requests.storage`):
   * the setting that field is made from. A field not listed takes its closest listed parent's
   * setting, else `path`.
   */
  readonly fields?: { readonly [field: string]: readonly PathSegment[] };
}

/** Origins of a chart's objects: by cluster name, then by manifest key (`manifests.<key>`). */
export interface ManifestOrigins {
  readonly [cluster: string]: { readonly [key: string]: ManifestOrigin };
}

/** Objects a provider makes for a consumer, placed in the consumer's chart (cluster layer). */
export interface ConsumerManifests {
  readonly component: string;
  readonly cluster: string;
  readonly manifests: { readonly [key: string]: KubeObject };
  /** Where the definition has what made them (by manifest key; see `ManifestOrigin`). */
  readonly origins?: { readonly [key: string]: ManifestOrigin };
}

export interface ComponentOutput {
  readonly chart?: ChartSpec;
  /**
   * Where the definition has what made the chart's objects, by cluster and manifest key (see
   * `ManifestOrigin`); core adds those of the objects providers made for this component.
   */
  readonly origins?: ManifestOrigins;
  /** Files outside charts/ (rare). */
  readonly files?: readonly GeneratedFile[];
  /** What this provider makes for its consumers (HTTPRoutes, BitwardenSecrets, …). */
  readonly forConsumers?: readonly ConsumerManifests[];
  readonly issues?: readonly Issue[];
}

/** A platform component: pure functions from the resolved platform to its contributions. */
export interface Component<S = Values> {
  /** Key under `components:`, a DNS label. */
  readonly name: string;
  /** One line: what it deploys (schema description, README, messages). */
  readonly description: string;
  readonly settings: SettingsSpec<S>;
  readonly provides: readonly Capability[];
  /** Capabilities it cannot run without: a cluster that enables it must provide them. */
  readonly needs: readonly Capability[];
  /** Capabilities it uses when present (ordering and facts), and does without otherwise. */
  readonly uses?: readonly Capability[];
  /**
   * Capabilities whose facts it reads when present (the provider's namespace, its issuer URL)
   * while its workloads start without the provider's: declared after the provider, as with
   * `uses`, but its Application does not wait for the provider's sync wave. Grafana and Argo CD
   * log in through the OIDC provider, and start without it.
   */
  readonly reads?: readonly Capability[];
  /**
   * Why its workloads can stay unhealthy through no fault of the cluster: they check services
   * outside it at start-up (Authelia: its directory and its database, each fatal).
   * Its Application then syncs in the latest wave that the Applications waiting for it allow, so
   * that such an outage holds back only what cannot start without it (an app-of-apps sync waits
   * for every Application of a wave before the next).
   */
  readonly syncLate?: string;
  /** Pinned upstream artifacts (`homelab vendor sync` fetches them into vendor/). */
  readonly upstream: readonly UpstreamPin[];
  /** Validators of the custom resources it emits that core has no schema for (layer 2). */
  readonly validators?: readonly ObjectValidator[];
  /** System checks of facts about its runtime (layer 4; core runs them with its own). */
  readonly checks?: readonly SystemCheck[];
  /**
   * Checks of a change against what the last build wrote (its charts, as the clusters run
   * them): facts a running cluster does not follow by itself.
   */
  readonly changes?: readonly ChangeCheck[];
  declare(input: DeclareInput<S>): Declaration;
  render(input: RenderInput<S>): ComponentOutput;
}

/** A component whose settings type is erased, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: settings are validated by the composed schema.
export type AnyComponent = Component<any>;
