// What a user's own manifests must do to run in the namespaces the platform makes for the
// applications (a "Later" section of the runbook): the platform makes the namespace, the claims,
// their backups, the network policies and the route; the workloads are the user's. Pure.
import type {
  BootstrapStep,
  FlowDeclaration,
  FlowPeer,
  FlowPort,
  PodLabels,
  PodSecurityLevel,
  VolumeRequest,
} from '@homelab/core';
import { shellQuote } from '@homelab/core';
import type { ApplicationRoute } from './generated/settings.js';
import { type OidcLogin, oidcLoginText } from './oidc.js';

/** An application as the onboarding text needs it. */
export interface OnboardingApp {
  readonly name: string;
  readonly namespace: string;
  readonly podSecurity: PodSecurityLevel;
  readonly volumes: readonly VolumeRequest[];
  readonly routes: readonly ApplicationRoute[];
  /** The definition's `repositories` of the application (`*`: any). */
  readonly repositories?: readonly string[];
  /** The Secrets its workloads read (`apps.<app>.secrets`), made by the platform. */
  readonly secrets?: readonly {
    readonly name: string;
    readonly spec: { readonly keys: readonly string[] };
  }[];
}

const labels = (selector: PodLabels): string =>
  Object.entries(selector)
    .map(([key, value]) => `\`${key}: ${value}\``)
    .join(', ') || 'every pod';

const ports = (list: readonly FlowPort[]): string =>
  list
    .map(
      (port) =>
        `${port.port}${port.endPort === undefined ? '' : `-${port.endPort}`}/${port.protocol}`,
    )
    .join(', ');

function peerText(peer: FlowPeer): string {
  switch (peer.kind) {
    case 'self':
      return `its pods ${labels(peer.selector)}${peer.namespace === undefined ? '' : ` in \`${peer.namespace}\``}`;
    case 'gateway':
      return peer.host === undefined
        ? 'the Gateway'
        : `\`${peer.host}.<domain>\` through the Gateway`;
    case 'fqdn':
      return `\`${peer.name}\``;
    case 'cidr':
      return `\`${peer.cidr}\``;
    case 'service':
      return `the Service \`${peer.service}.${peer.namespace}\``;
    case 'kube-apiserver':
      return 'the Kubernetes API server';
    case 'host':
      return 'the nodes';
    case 'capability':
    case 'consumers':
      return `the provider of \`${peer.capability}\``;
    default:
      return `\`${peer.kind}\``;
  }
}

/** One Markdown line per flow of the user's own pods. */
function flowLine(flow: FlowDeclaration): string {
  const verb = flow.direction === 'ingress' ? 'accept' : 'reach';
  const from = flow.direction === 'ingress' ? 'from ' : '';
  return `    - pods ${labels(flow.selector)} ${verb} ${from}${peerText(flow.peer)} on ${ports(flow.ports)}${flow.reason === undefined ? '' : ` (${flow.reason})`}`;
}

const SECURITY: { readonly [L in PodSecurityLevel]: string } = {
  restricted:
    'Pod Security `restricted`: every container `runAsNonRoot: true` (with a numeric `runAsUser` when the image starts as root or names its user), `allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`, `seccompProfile.type: RuntimeDefault`; an image that must start as root needs `podSecurity: baseline` in the definition',
  baseline:
    'Pod Security `baseline` (the definition says so): no privileged containers, host namespaces, host paths or added capabilities beyond the default set',
  privileged: 'Pod Security `privileged` (the definition says so)',
};

/**
 * The "Later" step, or undefined when the cluster has no application. `flows`: the flows of the
 * applications' own pods (`workloads: 'external'`); `domain`: the Gateway's, when there is one.
 */
/** The admission policies of the cluster as its provider states them (`admission-policy`). */
export interface OnboardingPolicy {
  readonly engine: string;
  readonly enforcement?: 'deny' | 'warn' | 'dryrun';
  readonly rules?: readonly string[];
}

const ENFORCEMENT: { readonly [E in NonNullable<OnboardingPolicy['enforcement']>]: string } = {
  deny: 'refuse what breaks them',
  warn: 'let it through with a warning',
  dryrun: 'let it through, and only their audit reports it',
};

function policyText(policy: OnboardingPolicy | undefined): string[] {
  const podSecurity = [
    "In every application's namespace Pod Security admission enforces the namespace's level (below),",
    'in every environment: the API server refuses a pod that breaks it.',
  ];
  if (policy === undefined) {
    return [...podSecurity, 'No admission policy provider runs on this cluster.'];
  }
  const rules = policy.rules ?? [];
  return [
    ...podSecurity,
    `The platform's admission policies, ${policy.engine}, hold there too; on this cluster they ${ENFORCEMENT[policy.enforcement ?? 'deny']}${rules.length > 0 ? ':' : '.'}`,
    ...(rules.length > 0 ? ['', ...rules.map((rule) => `- ${rule}`)] : []),
  ];
}

/**
 * The AppProject of an application's own workloads (its Deployments, Services…, which the
 * platform does not deploy), which the GitOps provider makes beside the platform's projects.
 */
export function workloadProjectName(app: string): string {
  return `app-${app}`;
}

const DEPLOY_WITH_GITOPS = [
  "The platform makes each application's namespace, its claims with their backups and restore",
  'verification, its network policies and its route; its workloads (Deployments, Services,',
  'ConfigMaps…) are yours to deploy, with an Argo CD Application of your own in the AppProject',
  'the platform makes for the application (named below): `spec.project` that project,',
  "`spec.destination` the in-cluster server and the application's namespace. The project admits",
  'that namespace only and no cluster-scoped kind, so no `managedNamespaceMetadata` either (the',
  "namespace and its Pod Security labels are the platform's; `CreateNamespace=true` changes",
  'nothing, the namespace exists). It refuses every kind that decides what reaches your pods',
  "(Cilium's and Kubernetes' network policies, Ingresses, the Gateway API's routes and Gateways:",
  "declare flows and routes in the definition), Roles and RoleBindings unless the definition's",
  "`allowRoles` of the application says (Argo CD applies them above Kubernetes' escalation",
  'checks), and the other kinds the platform makes there (Secrets from the secret store,',
  'backups). Argo CD permits kinds, not names: give your claims, CronJobs, ConfigMaps and Secrets',
  "names other than the platform's in the namespace (`kubectl get` below shows them), or two",
  "Applications would share an object. Sources come from any repository unless the definition's",
  '`repositories` of the application names them (Kustomize remote bases and Helm chart',
  "dependencies are fetched outside that list). Under Cilium's default deny, Argo CD's repo-server",
  "reaches only the hosts the platform names: the platform's repository, its charts', and the",
  'hosts of `repositories` (the build warns of a project open to any host,',
  "`deployment-source-open`). Not Argo CD's `default` project: it permits every repository,",
  'destination and kind, cluster-wide ones included.',
];

const DEPLOY_BY_HAND = [
  "The platform makes each application's namespace, its claims with their backups and restore",
  'verification, its network policies and its route; its workloads (Deployments, Services,',
  'ConfigMaps…) are yours to deploy into that namespace (no GitOps controller runs on this',
  'cluster).',
];

/**
 * An Argo CD Application of the user's for `app`, to fill in: in its project, to its namespace,
 * from the first repository the definition names for it (a placeholder where it names none, or
 * only patterns). It lives in the controller's namespace, which the project does not admit, so
 * it is applied by hand (or kept by an Application outside the platform's projects).
 */
function applicationExample(app: OnboardingApp, namespace: string): string[] {
  // A Git repository (HTTPS, SSH): an OCI or Helm chart repository needs `chart:` and a
  // version instead of a path, which the example does not guess.
  const repository = (app.repositories ?? []).find(
    (entry) =>
      !entry.includes('*') &&
      !entry.startsWith('!') &&
      (/^(https?|ssh|git):\/\//.test(entry) || /^[\w.-]+@[\w.-]+:/.test(entry)) &&
      !/^oci:\/\//.test(entry),
  );
  return [
    `An Application of yours for **${app.name}**, to fill in where it says so (${repository === undefined ? 'the repository of your manifests, ' : ''}their folder and revision) and apply with \`kubectl apply -f\`: it lives in \`${namespace}\`, which the project does not admit, so no Application of the project can deploy it.`,
    '',
    '```yaml',
    'apiVersion: argoproj.io/v1alpha1',
    'kind: Application',
    'metadata:',
    `  name: ${app.name}`,
    `  namespace: ${namespace}`,
    'spec:',
    `  project: ${workloadProjectName(app.name)}`,
    '  source:',
    `    repoURL: ${repository ?? '<the repository of your manifests>'}`,
    '    path: <the folder of your manifests>',
    '    targetRevision: <a branch or tag>',
    '  destination:',
    '    server: https://kubernetes.default.svc',
    `    namespace: ${app.namespace}`,
    '  syncPolicy:',
    '    automated: { prune: true, selfHeal: true }',
    '```',
  ];
}

export function onboardingStep(
  apps: readonly OnboardingApp[],
  flows: readonly FlowDeclaration[],
  domain: string | undefined,
  policy?: OnboardingPolicy,
  gitops?: boolean,
  logins: readonly OidcLogin[] = [],
  gitopsNamespace = 'argocd',
): BootstrapStep | undefined {
  if (apps.length === 0) return undefined;
  const body: string[] = [
    ...(gitops === true ? DEPLOY_WITH_GITOPS : DEPLOY_BY_HAND),
    '',
    ...policyText(policy),
    '',
    'What each application needs:',
    '',
  ];
  for (const app of apps) {
    body.push(
      `- **${app.name}**, namespace \`${app.namespace}\`${gitops === true ? `, AppProject \`${workloadProjectName(app.name)}\`` : ''}: ${SECURITY[app.podSecurity]}.`,
    );
    for (const volume of app.volumes) {
      const owner = volume.owner;
      body.push(
        `  - claim \`${volume.name}\` (${volume.accessMode ?? 'ReadWriteOnce'}, ${volume.size}, \`${volume.tier}\`): mount it by name${
          owner === undefined
            ? ''
            : `; its files belong to ${owner.user}:${owner.group}, as which its backups read them: run as that user, with \`fsGroup: ${owner.group}\``
        }${
          (volume.accessMode ?? 'ReadWriteOnce') === 'ReadWriteOnce'
            ? '; one node mounts it at a time, so a Deployment that mounts it rolls out with `strategy: Recreate`'
            : ''
        }${volume.backup === undefined ? '' : '; a new claim is bound once its bootstrap restored its latest backup (at once when there is none), and its pods wait until then'}.`,
      );
    }
    for (const secret of app.secrets ?? []) {
      body.push(
        `  - Secret \`${secret.name}\` (${secret.spec.keys.map((key) => `\`${key}\``).join(', ')}), filled from the secret store (the runbook's step that puts the platform's secrets into it lists its entries): read it from your pods by name; a mounted Secret takes a new value within about a minute, environment variables only when the pod restarts.`,
      );
    }
    const own = flows.filter((flow) => flow.namespace === app.namespace);
    if (own.length > 0) {
      body.push(
        '  - network (default deny: nothing but DNS and these; the policies select the pods by these labels, so the pods carry them):',
        ...own.map(flowLine),
      );
    } else {
      body.push('  - network: no flows declared, so the namespace stays outside default deny.');
    }
    for (const route of app.routes) {
      const login = logins.find((entry) => entry.app === app.name && entry.host === route.host);
      body.push(
        `  - route \`https://${route.host}.${domain ?? '<domain>'}/\`: the Gateway forwards to the Service \`${route.service}\` on port ${route.port}, which you create (its pods as above); login: ${
          route.auth === 'app'
            ? login === undefined
              ? "the application's own"
              : `the application's own, ${oidcLoginText(login)}`
            : route.auth === 'forward-auth'
              ? 'the OIDC provider first (forward auth)'
              : 'none'
        }.`,
      );
    }
  }
  if (gitops === true) {
    for (const app of apps) body.push('', ...applicationExample(app, gitopsNamespace));
  }
  body.push(
    '',
    'What the platform made for them (the routes report no backend until your Services exist):',
  );
  return {
    title: "deploying an application's own workloads",
    when: 'later',
    body,
    commands: apps.map(
      (app) =>
        `kubectl -n ${shellQuote(app.namespace)} get persistentvolumeclaims,cronjobs,configmaps,secrets,ciliumnetworkpolicies,httproutes`,
    ),
  };
}
