// Layer 4 checks of the platform Gateway (DESIGN.md, "Validation layers"): every route is served
// over TLS, every route has an authentication rule, and the Gateway's certificate comes from an
// issuer that exists on the cluster. They read what the Applications deploy (our manifests) and
// what the components declared, whoever made them. Pure.
import type {
  DeployedApplication,
  DeployedCluster,
  Issue,
  JsonValue,
  KubeObject,
  RouteRequest,
  SystemCheck,
} from '@homelab/core';
import { error, labelSelectorMatches } from '@homelab/core';
import { GATEWAY_API_GROUP, NAMESPACE_NAME_LABEL } from './constants.js';

// biome-ignore lint/suspicious/noExplicitAny: navigation into plain JSON objects
type Json = any;

interface Located {
  readonly object: KubeObject;
  readonly spec: Json;
  readonly source: string;
  readonly app: DeployedApplication;
}

function groupOf(object: KubeObject): string {
  const slash = object.apiVersion.lastIndexOf('/');
  return slash === -1 ? '' : object.apiVersion.slice(0, slash);
}

function objectsOf(cluster: DeployedCluster): Located[] {
  return cluster.applications.flatMap((app) =>
    app.objects.map(({ object, source }) => ({
      object,
      spec: (object.spec ?? {}) as Json,
      source,
      app,
    })),
  );
}

const ROUTE_KINDS: ReadonlySet<string> = new Set(['HTTPRoute', 'GRPCRoute']);

function isRoute(object: KubeObject): boolean {
  return groupOf(object) === GATEWAY_API_GROUP && ROUTE_KINDS.has(object.kind);
}

function isGateway(object: KubeObject): boolean {
  return groupOf(object) === GATEWAY_API_GROUP && object.kind === 'Gateway';
}

function isCertManager(object: KubeObject, kind: string): boolean {
  return groupOf(object) === 'cert-manager.io' && object.kind === kind;
}

function list(value: JsonValue | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

function namespaceOf(object: KubeObject, fallback: string): string {
  return object.metadata.namespace ?? fallback;
}

function name(object: KubeObject): string {
  return object.metadata.namespace === undefined
    ? object.metadata.name
    : `${object.metadata.namespace}/${object.metadata.name}`;
}

/** A listener that ends TLS at the Gateway with a certificate. */
function terminatesTls(listener: Json): boolean {
  return (
    listener.protocol === 'HTTPS' &&
    (listener.tls?.mode ?? 'Terminate') === 'Terminate' &&
    list(listener.tls?.certificateRefs).length > 0
  );
}

/** An HTTPRoute whose every rule only redirects to https (what an HTTP listener may serve). */
export function isHttpsRedirect(route: KubeObject): boolean {
  if (route.kind !== 'HTTPRoute') return false;
  const rules = list((route.spec as Json)?.rules);
  return (
    rules.length > 0 &&
    rules.every(
      (rule) =>
        list(rule.backendRefs).length === 0 &&
        list(rule.filters).some(
          (filter) =>
            filter.type === 'RequestRedirect' && filter.requestRedirect?.scheme === 'https',
        ),
    )
  );
}

/**
 * Whether a label selector matches a namespace known only by its name label (a missing selector is
 * Go's zero value, which selects everything).
 */
function selectorMatches(selector: Json, namespace: string): boolean {
  return labelSelectorMatches(selector ?? {}, { [NAMESPACE_NAME_LABEL]: namespace });
}

/** Why the listener refuses the route (its allowedRoutes), or undefined when it admits it. */
function refusal(
  listener: Json,
  gatewayNamespace: string,
  route: KubeObject,
  routeNamespace: string,
): string | undefined {
  const allowed = listener.allowedRoutes ?? {};
  const from = allowed.namespaces?.from ?? 'Same';
  if (from === 'Same' && routeNamespace !== gatewayNamespace) {
    return `admits routes of namespace "${gatewayNamespace}" only`;
  }
  if (from === 'Selector' && !selectorMatches(allowed.namespaces?.selector, routeNamespace)) {
    return `does not select namespace "${routeNamespace}"`;
  }
  const kinds = list(allowed.kinds);
  if (
    kinds.length > 0 &&
    !kinds.some(
      (kind) => kind.kind === route.kind && (kind.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP,
    )
  ) {
    return `admits ${kinds.map((kind) => kind.kind).join(', ')} only`;
  }
  return undefined;
}

/** Every HTTPRoute and GRPCRoute attaches to TLS-terminating listeners that admit it. */
export const routesOverTls: SystemCheck = {
  name: 'routes-over-tls',
  description:
    'Every HTTPRoute and GRPCRoute attaches to a Gateway deployed on its cluster, through listeners that admit it and terminate TLS with a certificate; a plain HTTP listener only serves redirects to https.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const objects = objectsOf(deployed);
      const gateways = new Map(
        objects
          .filter((item) => isGateway(item.object))
          .map((item) => [
            `${namespaceOf(item.object, item.app.namespace)}/${item.object.metadata.name}`,
            item,
          ]),
      );
      for (const route of objects.filter((item) => isRoute(item.object))) {
        const routeNamespace = namespaceOf(route.object, route.app.namespace);
        const problem = (message: string, expected: string): void => {
          issues.push(
            error({
              code: 'routes-over-tls',
              path: route.app.origin,
              output: route.source,
              message: `${route.object.kind} ${routeNamespace}/${route.object.metadata.name} on cluster "${deployed.cluster.name}" ${message}`,
              expected,
            }),
          );
        };
        const parents = list(route.spec.parentRefs).filter(
          (ref) =>
            (ref.kind ?? 'Gateway') === 'Gateway' &&
            (ref.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP,
        );
        if (parents.length === 0) {
          problem('attaches to no Gateway', 'a parentRef to the platform Gateway’s HTTPS listener');
          continue;
        }
        for (const ref of parents) {
          const gatewayNamespace = ref.namespace ?? routeNamespace;
          const key = `${gatewayNamespace}/${ref.name}`;
          const parent = gateways.get(key);
          if (parent === undefined) {
            problem(
              `attaches to Gateway ${key}, which no Application on the cluster deploys`,
              'a parentRef to a Gateway of the cluster',
            );
            continue;
          }
          const listeners = list(parent.spec.listeners).filter(
            (listener) =>
              (ref.sectionName === undefined || listener.name === ref.sectionName) &&
              (ref.port === undefined || listener.port === ref.port),
          );
          if (listeners.length === 0) {
            problem(
              `names listener "${ref.sectionName ?? ''}" of Gateway ${key}, which has no such listener`,
              `sectionName of one of ${list(parent.spec.listeners)
                .map((l) => l.name)
                .join(', ')}`,
            );
            continue;
          }
          for (const listener of listeners) {
            const refused = refusal(listener, gatewayNamespace, route.object, routeNamespace);
            if (refused !== undefined) {
              problem(
                `attaches to listener "${listener.name}" of Gateway ${key}, which ${refused}: the route is never served`,
                'allowedRoutes of the listener admitting the route (the namespace declares a route)',
              );
              continue;
            }
            if (terminatesTls(listener)) continue;
            if (listener.protocol === 'HTTP' && isHttpsRedirect(route.object)) continue;
            problem(
              `attaches to listener "${listener.name}" of Gateway ${key} (${listener.protocol}${listener.protocol === 'HTTPS' ? ' without a certificate' : ''}): it would be served without TLS`,
              ref.sectionName === undefined
                ? 'a sectionName naming the HTTPS listener (without one the route attaches to every listener)'
                : 'the sectionName of a listener with protocol HTTPS, tls.mode Terminate and a certificate',
            );
          }
        }
      }
    }
    return issues;
  },
};

/** What is wrong with a route's authentication rule, or undefined. */
function authProblem(
  route: RouteRequest,
  component: string,
  deployed: DeployedCluster,
): { message: string; expected: string } | undefined {
  const auth = route.auth;
  switch (auth.kind) {
    case 'app': {
      if (auth.oidcClient === undefined) return undefined;
      const clients = deployed.run.contributions.get(component)?.oidcClients ?? [];
      if (clients.some((client) => client.id === auth.oidcClient)) return undefined;
      return {
        message: `logs users in through OIDC client "${auth.oidcClient}", which ${component} does not declare`,
        expected: `an OIDC client "${auth.oidcClient}" declared by ${component}, or auth app without one (local accounts)`,
      };
    }
    case 'forward-auth': {
      const gateway = deployed.run.facts.gateway;
      if (gateway === undefined || !gateway.forwardAuth) {
        return {
          message: 'asks for forward auth, which the platform Gateway of the cluster cannot do',
          expected: 'auth app (the application logs users in) or a gateway class with forward auth',
        };
      }
      if (deployed.run.facts['oidc-provider'] === undefined) {
        return {
          message:
            'asks for forward auth, but no component provides "oidc-provider" on the cluster',
          expected: 'an OIDC provider enabled on the cluster',
        };
      }
      return undefined;
    }
    case 'none':
      if (auth.reason.trim().length > 0) return undefined;
      return {
        message: 'has no authentication and gives no reason',
        expected: 'auth none only with the definition’s reason for leaving the route open',
      };
  }
}

/** Every route has an authentication rule that holds; every route object is a declared route. */
export const routesAuthenticated: SystemCheck = {
  name: 'routes-authenticated',
  description:
    'Every route has an authentication rule that holds: the application’s own login (through an OIDC client it declares, or its local accounts), forward auth at a Gateway that can do it with an OIDC provider on the cluster, or none with a reason from the definition; every HTTPRoute or GRPCRoute served by a Gateway is such a declared route.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const declared = new Set<string>();
      for (const [component, contribution] of deployed.run.contributions) {
        for (const route of contribution.routes ?? []) {
          declared.add(`${route.namespace}/${route.name}`);
          const problem = authProblem(route, component, deployed);
          if (problem === undefined) continue;
          issues.push(
            error({
              code: 'routes-authenticated',
              path: ['clusters', deployed.cluster.index, 'components', component],
              value: route.name,
              message: `route "${route.name}" (${route.host}) of ${component} on cluster "${deployed.cluster.name}" ${problem.message}`,
              expected: problem.expected,
            }),
          );
        }
      }
      for (const item of objectsOf(deployed)) {
        if (!isRoute(item.object) || isHttpsRedirect(item.object)) continue;
        const key = `${namespaceOf(item.object, item.app.namespace)}/${item.object.metadata.name}`;
        if (declared.has(key)) continue;
        issues.push(
          error({
            code: 'routes-authenticated',
            path: item.app.origin,
            output: item.source,
            message: `${item.object.kind} ${key} on cluster "${deployed.cluster.name}" is no declared route, so no authentication rule covers it`,
            expected:
              'a route request (with its auth) to the gateway provider instead of a hand-made route',
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * The cert-manager issuer `certificate` names, with its kind: an Issuer of the certificate's
 * namespace or a ClusterIssuer (`issuer` undefined when no Application deploys it); `undefined`
 * for an issuer of another API group.
 */
function issuerOf(
  certificate: Located,
  objects: readonly Located[],
): { readonly kind: string; readonly issuer: Located | undefined } | undefined {
  const ref = certificate.spec.issuerRef ?? {};
  if ((ref.group ?? 'cert-manager.io') !== 'cert-manager.io') return undefined;
  const kind = ref.kind ?? 'Issuer';
  const certificateNamespace = namespaceOf(certificate.object, certificate.app.namespace);
  const issuer = objects.find(
    (item) =>
      isCertManager(item.object, kind) &&
      item.object.metadata.name === ref.name &&
      (kind === 'ClusterIssuer' ||
        namespaceOf(item.object, item.app.namespace) === certificateNamespace),
  );
  return { kind, issuer };
}

/** Problems of the issuer chain of `certificate`: every issuer exists, in time, with its Secret. */
function issuerChain(
  certificate: Located,
  objects: readonly Located[],
  handMade: ReadonlySet<string>,
  deployed: DeployedCluster,
  depth = 0,
): Issue[] {
  const ref = certificate.spec.issuerRef ?? {};
  const found = issuerOf(certificate, objects);
  if (found === undefined) return [];
  const { kind, issuer } = found;
  const certificateNamespace = namespaceOf(certificate.object, certificate.app.namespace);
  const problem = (message: string, expected: string): Issue =>
    error({
      code: 'gateway-certificate',
      path: certificate.app.origin,
      output: certificate.source,
      message: `Certificate ${certificateNamespace}/${certificate.object.metadata.name} on cluster "${deployed.cluster.name}" ${message}`,
      expected,
    });
  if (issuer === undefined) {
    return [
      problem(
        `is issued by ${kind} ${ref.name}, which no Application on the cluster deploys`,
        'the issuer the certificates provider publishes, deployed on the cluster',
      ),
    ];
  }
  if (issuer.app.wave > certificate.app.wave) {
    return [
      problem(
        `is issued by ${kind} ${ref.name}, which ${issuer.app.name} deploys in wave ${issuer.app.wave}, after ${certificate.app.name} (wave ${certificate.app.wave})`,
        'the issuer in an earlier sync wave than its certificates',
      ),
    ];
  }
  const caSecret = (issuer.spec as Json).ca?.secretName;
  if (typeof caSecret !== 'string' || depth >= 4) return [];
  // A CA issuer signs with a Secret of its namespace (a ClusterIssuer: cert-manager's own).
  const secretNamespace =
    kind === 'ClusterIssuer'
      ? issuer.app.namespace
      : namespaceOf(issuer.object, issuer.app.namespace);
  if (handMade.has(`${secretNamespace}/${caSecret}`)) return [];
  const ca = objects.find(
    (item) =>
      isCertManager(item.object, 'Certificate') &&
      namespaceOf(item.object, item.app.namespace) === secretNamespace &&
      item.spec.secretName === caSecret,
  );
  if (ca === undefined) {
    return [
      problem(
        `is issued by CA ${kind} ${ref.name}, whose Secret ${secretNamespace}/${caSecret} no Certificate produces and nobody makes by hand`,
        'a CA Certificate producing the issuer’s Secret, or a hand-made bootstrap secret',
      ),
    ];
  }
  return issuerChain(ca, objects, handMade, deployed, depth + 1);
}

/**
 * A served certificate without the serverAuth extended key usage, from an issuer that signs what
 * it is asked (a CA or self-signed issuer: an ACME CA sets the usages itself). cert-manager asks
 * for `digital signature, key encipherment` only when `usages` is not set (DefaultKeyUsages,
 * v1.21.1), and Apple's TLS clients refuse a server certificate without serverAuth (Apple
 * HT210176, cited there).
 */
function serverUsageProblem(
  certificate: Located,
  listener: Json,
  gateway: Located,
  objects: readonly Located[],
  deployed: DeployedCluster,
): Issue | undefined {
  const usages = list(certificate.spec.usages);
  if (usages.includes('server auth')) return undefined;
  const found = issuerOf(certificate, objects);
  if (found === undefined) return undefined;
  const { kind, issuer } = found;
  const ref = certificate.spec.issuerRef ?? {};
  const certificateNamespace = namespaceOf(certificate.object, certificate.app.namespace);
  // No issuer is issuerChain's error; an ACME CA puts serverAuth in what it issues.
  if (issuer === undefined || (issuer.spec as Json).acme !== undefined) return undefined;
  return error({
    code: 'gateway-certificate',
    path: certificate.app.origin,
    output: certificate.source,
    value: usages.length === 0 ? null : usages,
    message: `Certificate ${certificateNamespace}/${certificate.object.metadata.name} on cluster "${deployed.cluster.name}", served by listener "${listener.name}" of Gateway ${name(gateway.object)}, does not ask for the "server auth" usage: ${kind} ${ref.name} signs the usages asked for (${usages.length === 0 ? "cert-manager's default: digital signature, key encipherment" : usages.join(', ')}), and Apple's TLS clients (Safari; curl and the argocd CLI on macOS) refuse a server certificate without the serverAuth extended key usage`,
    expected: 'usages with "server auth" (e.g. digital signature, server auth)',
  });
}

/**
 * Whether a certificate name (`a.d`, `*.d`) covers `host` as a TLS client checks it (RFC 6125:
 * a wildcard stands for exactly one label); a listener's own wildcard `*.d` only by `*.d`.
 */
export function certificateCovers(names: readonly string[], host: string): boolean {
  const wanted = host.toLowerCase();
  return names.some((raw) => {
    const name = raw.toLowerCase();
    if (name === wanted) return true;
    if (!name.startsWith('*.') || wanted.startsWith('*.')) return false;
    const suffix = name.slice(1);
    const label = wanted.slice(0, -suffix.length);
    return wanted.endsWith(suffix) && label !== '' && !label.includes('.');
  });
}

/** Whether a route hostname is one a listener of that hostname serves (Gateway API matching). */
function listenerServes(listenerHostname: string | undefined, host: string): boolean {
  if (listenerHostname === undefined) return true;
  const listener = listenerHostname.toLowerCase();
  const wanted = host.toLowerCase();
  if (listener === wanted) return true;
  return listener.startsWith('*.') && wanted.endsWith(listener.slice(1));
}

/**
 * The names a served Certificate covers must include the listener's hostname and every hostname
 * of a route the listener serves: a browser refuses a host the certificate does not name (a
 * `*.d` certificate covers `a.d`, never `a.b.d`, which a `*.d` listener accepts).
 */
function hostnameProblems(
  certificate: Located,
  listener: Json,
  gateway: Located,
  objects: readonly Located[],
  deployed: DeployedCluster,
): Issue[] {
  const names = list(certificate.spec.dnsNames).filter(
    (value): value is string => typeof value === 'string',
  );
  const certificateName = `Certificate ${namespaceOf(certificate.object, certificate.app.namespace)}/${certificate.object.metadata.name}`;
  const covers = `covers ${names.length === 0 ? 'no DNS name' : names.join(', ')}`;
  const issues: Issue[] = [];
  const hostname = typeof listener.hostname === 'string' ? listener.hostname : undefined;
  if (hostname !== undefined && !certificateCovers(names, hostname)) {
    issues.push(
      error({
        code: 'gateway-certificate',
        path: certificate.app.origin,
        output: certificate.source,
        message: `listener "${listener.name}" of Gateway ${name(gateway.object)} on cluster "${deployed.cluster.name}" serves ${hostname} with ${certificateName}, which ${covers}: browsers refuse the hosts it does not name`,
        expected: `dnsNames with ${hostname}`,
      }),
    );
    return issues;
  }
  const gatewayNamespace = namespaceOf(gateway.object, gateway.app.namespace);
  for (const route of objects.filter((o) => isRoute(o.object))) {
    const routeNamespace = namespaceOf(route.object, route.app.namespace);
    const attached = list(route.spec.parentRefs).some(
      (parent) =>
        (parent.kind ?? 'Gateway') === 'Gateway' &&
        parent.name === gateway.object.metadata.name &&
        (parent.namespace ?? routeNamespace) === gatewayNamespace &&
        (parent.sectionName === undefined || parent.sectionName === listener.name),
    );
    if (!attached) continue;
    for (const host of list(route.spec.hostnames)) {
      if (typeof host !== 'string' || !listenerServes(hostname, host)) continue;
      if (certificateCovers(names, host)) continue;
      issues.push(
        error({
          code: 'gateway-certificate',
          path: route.app.origin,
          output: route.source,
          value: host,
          message: `${route.object.kind} ${name(route.object)} on cluster "${deployed.cluster.name}" is served for ${host} by listener "${listener.name}" of Gateway ${name(gateway.object)}, whose ${certificateName} ${covers}: browsers refuse the connection`,
          expected: `a host the certificate names (a wildcard stands for one label)`,
        }),
      );
    }
  }
  return issues;
}

/** Whether a ReferenceGrant of `namespace` lets Gateways of `from` reference Secret `secret`. */
function referenceGranted(
  objects: readonly Located[],
  namespace: string,
  from: string,
  secret: string,
): boolean {
  return objects.some(
    (item) =>
      groupOf(item.object) === GATEWAY_API_GROUP &&
      item.object.kind === 'ReferenceGrant' &&
      namespaceOf(item.object, item.app.namespace) === namespace &&
      list(item.spec.from).some(
        (entry) =>
          entry.group === GATEWAY_API_GROUP && entry.kind === 'Gateway' && entry.namespace === from,
      ) &&
      list(item.spec.to).some(
        (entry) =>
          (entry.group ?? '') === '' &&
          entry.kind === 'Secret' &&
          (entry.name === undefined || entry.name === secret),
      ),
  );
}

/** Every HTTPS listener's certificate comes from an issuer that exists on the cluster. */
export const gatewayCertificate: SystemCheck = {
  name: 'gateway-certificate',
  description:
    'Every certificate Secret an HTTPS listener of a Gateway serves is produced by a cert-manager Certificate (or made by hand as a bootstrap secret) whose issuer, and that issuer’s CA Secret down to the root, is deployed on the cluster no later than the certificate; a Certificate of an issuer that signs what it is asked (not ACME) asks for the "server auth" usage; the Certificate names the listener\'s hostname and every hostname of a route the listener serves (a wildcard stands for one label); a Secret of another namespace is permitted by a ReferenceGrant there.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const objects = objectsOf(deployed);
      const handMade = new Set<string>();
      for (const contribution of deployed.run.contributions.values()) {
        for (const secret of contribution.bootstrapSecrets ?? []) {
          handMade.add(`${secret.namespace}/${secret.name}`);
        }
      }
      for (const item of objects.filter((o) => isGateway(o.object))) {
        const gatewayNamespace = namespaceOf(item.object, item.app.namespace);
        for (const listener of list(item.spec.listeners)) {
          if (listener.protocol !== 'HTTPS') continue;
          for (const ref of list(listener.tls?.certificateRefs)) {
            if ((ref.kind ?? 'Secret') !== 'Secret' || (ref.group ?? '') !== '') continue;
            const namespace = ref.namespace ?? gatewayNamespace;
            if (
              namespace !== gatewayNamespace &&
              !referenceGranted(objects, namespace, gatewayNamespace, ref.name)
            ) {
              issues.push(
                error({
                  code: 'gateway-certificate',
                  path: item.app.origin,
                  output: item.source,
                  message: `listener "${listener.name}" of Gateway ${name(item.object)} on cluster "${deployed.cluster.name}" serves Secret ${namespace}/${ref.name} of another namespace, which no ReferenceGrant in ${namespace} permits: the reference is refused (ResolvedRefs false, RefNotPermitted) and the listener serves nothing`,
                  expected: `the Secret in ${gatewayNamespace}, or a ReferenceGrant in ${namespace} from Gateways of ${gatewayNamespace} to that Secret`,
                }),
              );
              continue;
            }
            if (handMade.has(`${namespace}/${ref.name}`)) continue;
            const certificate = objects.find(
              (other) =>
                isCertManager(other.object, 'Certificate') &&
                namespaceOf(other.object, other.app.namespace) === namespace &&
                other.spec.secretName === ref.name,
            );
            if (certificate === undefined) {
              issues.push(
                error({
                  code: 'gateway-certificate',
                  path: item.app.origin,
                  output: item.source,
                  message: `listener "${listener.name}" of Gateway ${name(item.object)} on cluster "${deployed.cluster.name}" serves Secret ${namespace}/${ref.name}, which no Certificate produces and nobody makes by hand: the listener would never be ready`,
                  expected: 'a Certificate with that secretName from the certificates provider',
                }),
              );
              continue;
            }
            const chain = issuerChain(certificate, objects, handMade, deployed);
            issues.push(...chain);
            if (chain.length > 0) continue;
            const usage = serverUsageProblem(certificate, listener, item, objects, deployed);
            if (usage !== undefined) issues.push(usage);
            issues.push(...hostnameProblems(certificate, listener, item, objects, deployed));
          }
        }
      }
    }
    return issues;
  },
};

/** The platform Gateway of a cluster (from the gateway facts), with where it is generated. */
function platformGateway(deployed: DeployedCluster): Located | undefined {
  const fact = deployed.run.facts.gateway;
  if (fact === undefined) return undefined;
  return objectsOf(deployed).find(
    (item) =>
      isGateway(item.object) &&
      item.object.metadata.name === fact.name &&
      namespaceOf(item.object, item.app.namespace) === fact.namespace,
  );
}

/**
 * Only namespaces that declare routes may attach routes to the platform Gateway: a route of any
 * other namespace could claim a longer path under a declared host (`argocd.<domain>/auth/…`) and
 * capture what users send there, OIDC codes among it.
 */
export const gatewayAllowedRoutes: SystemCheck = {
  name: 'gateway-allowed-routes',
  description:
    'Every listener of the platform Gateway admits routes only from its own namespace or from namespaces selected by name (`kubernetes.io/metadata.name`) that declare routes: never `from: All`, never a label anyone creating a namespace can set.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const gateway = platformGateway(deployed);
      if (gateway === undefined) continue;
      const own = namespaceOf(gateway.object, gateway.app.namespace);
      const declaring = new Set(
        [...deployed.run.contributions.values()].flatMap((contribution) =>
          (contribution.routes ?? []).map((route) => route.namespace),
        ),
      );
      const known = new Set(
        deployed.applications.flatMap((app) => [
          app.namespace,
          ...app.objects.flatMap(({ object }) =>
            object.metadata.namespace === undefined ? [] : [object.metadata.namespace],
          ),
        ]),
      );
      list(gateway.spec.listeners).forEach((listener, index) => {
        const namespaces = listener.allowedRoutes?.namespaces ?? {};
        const from = namespaces.from ?? 'Same';
        const at = `${gateway.source}.spec.listeners[${index}].allowedRoutes.namespaces`;
        const problem = (message: string): void => {
          issues.push(
            error({
              code: 'gateway-allowed-routes',
              path: gateway.app.origin,
              output: at,
              value: from,
              message: `listener "${listener.name}" of Gateway ${name(gateway.object)} on cluster "${deployed.cluster.name}" ${message}: a route from there could take a path under a declared host and capture its traffic (OIDC codes among it)`,
              expected: `from: Same, or from: Selector on ${NAMESPACE_NAME_LABEL} In the namespaces that declare routes (${[...declaring].sort().join(', ') || 'none'})`,
            }),
          );
        };
        if (from === 'Same') return;
        if (from !== 'Selector') {
          problem(`admits routes from ${from === 'All' ? 'every namespace' : `"${from}"`}`);
          return;
        }
        const selector = namespaces.selector ?? {};
        const keys = [
          ...Object.keys(selector.matchLabels ?? {}),
          ...list(selector.matchExpressions).map((expression) => expression.key),
        ];
        const others = keys.filter((key) => key !== NAMESPACE_NAME_LABEL);
        if (keys.length === 0 || others.length > 0) {
          problem(
            keys.length === 0
              ? 'selects every namespace (an empty selector)'
              : `selects namespaces by ${others.join(', ')}, a label anyone who creates a namespace can set`,
          );
          return;
        }
        const undeclared = [...known]
          .filter((ns) => ns !== own && !declaring.has(ns) && selectorMatches(selector, ns))
          .sort();
        if (undeclared.length > 0) {
          problem(`admits routes from ${undeclared.join(', ')}, which declare no route`);
        }
      });
    }
    return issues;
  },
};

/**
 * Where the gateway class can pin an address, the platform Gateway asks for the one the
 * definition (or its default) gives: the runbook's DNS record points there, and an address the
 * controller picks would move with every re-creation.
 */
export const gatewayAddressPinned: SystemCheck = {
  name: 'gateway-address-pinned',
  description:
    "Where the gateway class honours `spec.addresses`, the platform Gateway pins the address the runbook's DNS record points at (the gateway's `address`, by default the last usable address of the cluster's first LoadBalancer pool).",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const fact = deployed.run.facts.gateway;
      if (fact === undefined || deployed.run.facts['gateway-class']?.staticAddresses !== true) {
        continue;
      }
      const gateway = platformGateway(deployed);
      if (gateway === undefined) continue;
      const addresses = list(gateway.spec.addresses).map((entry) => entry?.value);
      if (fact.address !== undefined && addresses.includes(fact.address)) continue;
      // With pools, no address means the definition's was refused (outside every pool, a pool's
      // reserved first or last address): the component said so at that line already.
      if (fact.address === undefined && deployed.cluster.network.loadBalancerPools.length > 0) {
        continue;
      }
      issues.push(
        error({
          code: 'gateway-address-pinned',
          path: [...gateway.app.origin, 'address'],
          output: `${gateway.source}.spec.addresses`,
          value: addresses.length === 0 ? undefined : addresses,
          message:
            fact.address === undefined
              ? `the Gateway ${name(gateway.object)} of cluster "${deployed.cluster.name}" has no address to pin (no LoadBalancer pool gives one): DNS records would have to chase whatever it gets`
              : `the Gateway ${name(gateway.object)} of cluster "${deployed.cluster.name}" does not pin ${fact.address}, where the runbook points DNS: it gets whatever address the controller picks`,
          expected:
            fact.address === undefined
              ? 'a LoadBalancer pool on the cluster, or an address for the gateway'
              : `spec.addresses: [{type: IPAddress, value: ${fact.address}}]`,
        }),
      );
    }
    return issues;
  },
};

/** The gateway component's system checks. */
export const GATEWAY_CHECKS: readonly SystemCheck[] = [
  routesOverTls,
  routesAuthenticated,
  gatewayCertificate,
  gatewayAllowedRoutes,
  gatewayAddressPinned,
];
