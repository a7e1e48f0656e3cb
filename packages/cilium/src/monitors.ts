// What is worth watching in Cilium (the `monitors` the metrics provider turns into scraping,
// alerts and dashboards): the agents, the operator, Hubble's flow metrics and, on clusters that
// peer with BGP, the BGP sessions. The metrics Services are the chart's own (`metricsService`
// switched on in values.ts): Cilium comes before the Prometheus Operator CRDs, so it never ships
// ServiceMonitors itself. Pure.
import type { DashboardDeclaration, MonitorDeclaration, ResolvedCluster } from '@homelab/core';
import { CILIUM_NAMESPACE } from './constants.js';
import ciliumDashboard from './dashboards/cilium.json' with { type: 'json' };
import hubbleDashboard from './dashboards/hubble.json' with { type: 'json' };

function dashboard(name: string, json: { readonly title: string }): DashboardDeclaration {
  return { name, title: json.title, json: json as unknown as DashboardDeclaration['json'] };
}

/**
 * Lease that the Cilium agents elect a Service's L2 announcer with (Cilium 1.18-1.20,
 * `pkg/l2announcer/l2announcer.go`: `newLeaseLock`, `leasePrefix`, in `leaseNamespace()`, the
 * agents' own namespace from CILIUM_K8S_NAMESPACE).
 */
export const L2_LEASE_PREFIX = 'cilium-l2announce';

/**
 * Seconds after which a lease's last renewal means nobody announces the address any more. The
 * holder renews every retry period (the chart's defaults, which the platform keeps: lease 15s,
 * renew deadline 5s, retry 2s), and another agent takes a lease not renewed for 15s; two minutes
 * leave room for kube-state-metrics' and Prometheus' scrape delay.
 */
export const L2_LEASE_STALE_SECONDS = 120;

/**
 * Every LoadBalancer Service with an address whose L2 announcement lease is missing, held by
 * nobody, or not renewed: no node answers ARP/NDP for the address. The agents take a lease per
 * Service that has an address (`upsertSvc`), named `cilium-l2announce-<namespace>-<service>` in
 * Cilium's namespace, renewed by the holder (client-go leader election, `ReleaseOnCancel`: an
 * agent that stops clears the holder; the lease GC deletes a lease without holder every minute).
 * kube-state-metrics 2.20.0 (`internal/store/lease.go`): `kube_lease_owner{lease, namespace,
 * lease_holder}` and `kube_lease_renew_time{lease, namespace}` (seconds; none without a renew
 * time); `kube_service_status_load_balancer_ingress` per address (`internal/store/service.go`).
 */
export function l2AnnouncementLostExpr(namespace: string): string {
  const leases = `lease=~"${L2_LEASE_PREFIX}-.+"`;
  return [
    'label_replace(label_join(max by (namespace, service) (kube_service_status_load_balancer_ingress{ip!=""}), "lease", "-", "namespace", "service"),',
    `"lease", "${L2_LEASE_PREFIX}-$1", "lease", "(.+)")`,
    'unless on (lease)',
    `(kube_lease_owner{namespace="${namespace}", ${leases}, lease_holder!=""}`,
    `and on (lease) (time() - kube_lease_renew_time{namespace="${namespace}", ${leases}} < ${L2_LEASE_STALE_SECONDS}))`,
  ].join(' ');
}

/** Cilium's monitors on a cluster. */
export function ciliumMonitors(cluster: ResolvedCluster): MonitorDeclaration[] {
  const bgp = cluster.network.bgp !== undefined;
  // As the manifests announce (`l2Resources`): L2 only where no BGP.
  const l2 = cluster.network.l2Announcements !== undefined && !bgp;
  return [
    {
      name: 'agent',
      namespace: CILIUM_NAMESPACE,
      target: {
        kind: 'service',
        selector: { 'app.kubernetes.io/name': 'cilium-agent' },
        port: 'metrics',
        // On the host network: the chart's agent's `prometheus.port`.
        hostPort: 9962,
      },
      rules: [
        {
          alert: 'CiliumAgentDown',
          expr: `up{job="cilium-agent"} == 0 or kube_daemonset_status_number_unavailable{namespace="${CILIUM_NAMESPACE}",daemonset="cilium"} > 0`,
          for: { development: '15m', staging: '10m', production: '5m' },
          severity: 'critical',
          summary:
            'A Cilium agent is down or unavailable: pods on its node lose networking and policy updates.',
          description:
            'The instance or daemonset labels say where. Check the cilium pod on that node (kubectl -n kube-system logs ds/cilium) and cilium status.',
        },
        ...(bgp
          ? [
              {
                alert: 'CiliumBGPSessionDown',
                expr: 'cilium_bgp_control_plane_session_state == 0',
                for: { development: '15m', staging: '5m', production: '2m' },
                severity: 'critical' as const,
                summary:
                  'A BGP session of Cilium with a router is down: LoadBalancer addresses may be unreachable.',
                description:
                  'The neighbor label names the router. cilium bgp peers shows the session states; check the router and the CiliumBGPClusterConfig.',
              },
            ]
          : []),
        ...(l2
          ? [
              {
                alert: 'CiliumL2AnnouncementLost',
                expr: l2AnnouncementLostExpr(CILIUM_NAMESPACE),
                for: { development: '15m', staging: '5m', production: '2m' },
                severity: 'critical' as const,
                summary:
                  "No node announces a LoadBalancer Service's address on the LAN: its L2 announcement lease is missing, held by no node or no longer renewed, so nobody answers ARP for the address (the Gateway is unreachable from the LAN while the cluster looks healthy).",
                description: `The namespace and service labels name the Service, lease its Lease in ${CILIUM_NAMESPACE}. kubectl -n ${CILIUM_NAMESPACE} get lease shows its holder and renew time; kubectl get ciliuml2announcementpolicies -o yaml shows the policy's conditions (a node selector or interface pattern that matches nothing); check the Cilium agents on the nodes the policy selects.`,
              },
            ]
          : []),
      ],
      dashboards: [dashboard('cilium', ciliumDashboard)],
    },
    {
      name: 'operator',
      namespace: CILIUM_NAMESPACE,
      target: {
        kind: 'service',
        selector: { 'app.kubernetes.io/name': 'cilium-operator' },
        port: 'metrics',
        // On the host network: the chart's operator's `operator.prometheus.port` (host network).
        hostPort: 9963,
      },
      rules: [
        {
          // The operator's LB IPAM gives every LoadBalancer Service its address from the pools
          // (the Gateway's Service included); one it cannot serve (a pool exhausted, no pool
          // its selector matches, a requested address in use) keeps an empty
          // status.loadBalancer and is reachable from nowhere. kube-state-metrics 2.20.0
          // (internal/store/service.go) has `kube_service_spec_type{type}` for every Service and
          // one `kube_service_status_load_balancer_ingress` per address, none without.
          alert: 'LoadBalancerServiceWithoutAddress',
          expr: 'kube_service_spec_type{type="LoadBalancer"} unless on (namespace, service) kube_service_status_load_balancer_ingress',
          for: { development: '30m', staging: '15m', production: '10m' },
          severity: 'critical',
          summary:
            'A LoadBalancer Service has no address: the LB IPAM pools could not give it one (exhausted, no pool selects it, or its requested address is taken), so nothing outside the cluster reaches it.',
          description:
            'The namespace and service labels name it. kubectl get ciliumloadbalancerippools shows each pool with its free addresses and conflicts; kubectl describe service shows the events.',
        },
        {
          alert: 'CiliumOperatorDown',
          expr: 'absent(up{job="cilium-operator"} == 1)',
          for: { development: '30m', staging: '15m', production: '5m' },
          severity: 'warning',
          summary:
            'No Cilium operator is up: IP pools, BGP and Gateway resources are not reconciled.',
        },
      ],
    },
    {
      name: 'hubble',
      namespace: CILIUM_NAMESPACE,
      target: {
        kind: 'service',
        selector: { 'app.kubernetes.io/name': 'hubble' },
        port: 'hubble-metrics',
        // On the host network: the chart's `hubble.metrics.port`, served by the agent.
        hostPort: 9965,
      },
      dashboards: [dashboard('hubble', hubbleDashboard)],
    },
  ];
}
