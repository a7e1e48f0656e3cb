// The output of the reference platform (examples/reference/platform.yaml, built into a scratch
// folder), read as Helm and Talos will read it: what it generates says what the design promises.
// The user's own apps/homelab/platform.yaml is never read here: it may be anything valid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cidrsOverlap,
  type KubeObject,
  parseAllDocuments,
  parseYaml,
  readChartDir,
  renderChart,
  type Values,
} from '@homelab/core';
import { withStandInScript } from '@homelab/core/testing';
import { promqlProblem, type RouteNode, receiversFor } from '@homelab/monitoring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GuideStep,
  guideSteps,
  KUBECTL,
  NEW_KEY,
  OLD_KEY,
  operatorScript,
  standInCluster,
} from './rotation-stand-in.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The scratch output root the reference platform is built into. */
const repo = mkdtempSync(join(tmpdir(), 'homelab-reference-'));

beforeAll(() => {
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'packages/cli/dist/bin.js'),
      'build',
      '--config',
      join(root, 'examples/reference/platform.yaml'),
      '--out',
      repo,
    ],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  if (result.status !== 0)
    throw new Error(`the reference platform did not build:\n${result.stderr}`);
}, 60_000);

afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
});
const clusters = [
  { name: 'dev', environment: 'development', operatorReplicas: 1 },
  { name: 'staging', environment: 'staging', operatorReplicas: 2 },
  { name: 'prod', environment: 'production', operatorReplicas: 3 },
] as const;

type Obj = Record<string, unknown>;
const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (node, key) => (typeof node === 'object' && node !== null ? (node as Obj)[key] : undefined),
    value,
  );

function render(chart: string, cluster: (typeof clusters)[number]) {
  const files = readChartDir(join(repo, 'charts', chart));
  return renderChart(files, [`env/${cluster.environment}.yaml`, `clusters/${cluster.name}.yaml`]);
}

/** The documents of a Talos patch file, merged per document kind (v1alpha1 has no kind). */
function talosPatch(cluster: string, file: string): Map<string, Obj> {
  const text = readFileSync(join(repo, 'clusters', cluster, 'talos', file), 'utf8');
  const docs = new Map<string, Obj>();
  for (const doc of parseAllDocuments(text) as Obj[]) {
    if (doc === null) continue;
    docs.set(typeof doc.kind === 'string' ? doc.kind : 'v1alpha1', doc);
  }
  return docs;
}

describe('the reference platform output', () => {
  it('has every file of the chart contract in charts/cilium, charts/argo-cd, charts/monitoring and charts/platform', () => {
    for (const chart of ['cilium', 'argo-cd', 'monitoring', 'platform']) {
      const files = [...readChartDir(join(repo, 'charts', chart)).keys()];
      for (const expected of [
        'Chart.yaml',
        'package.json',
        'values.yaml',
        'values.schema.json',
        'templates/manifests.yaml',
        'README.md',
        '.helmignore',
        'env/development.yaml',
        'env/staging.yaml',
        'env/production.yaml',
        ...clusters.map((cluster) => `clusters/${cluster.name}.yaml`),
      ]) {
        expect(files, `charts/${chart}`).toContain(expected);
      }
    }
  });

  it('has the Talos bootstrap material of every cluster', () => {
    for (const cluster of clusters) {
      for (const file of ['controlplane.yaml', 'worker.yaml', 'schematic.yaml']) {
        expect(existsSync(join(repo, 'clusters', cluster.name, 'talos', file)), file).toBe(true);
      }
      expect(existsSync(join(repo, 'clusters', cluster.name, 'RUNBOOK.md'))).toBe(true);
      expect(existsSync(join(repo, 'clusters', cluster.name, 'root-application.yaml'))).toBe(true);
    }
  });

  it('gives the Cilium operator 1, 2 and 3 replicas on dev, staging and prod', () => {
    const replicas = clusters.map((cluster) =>
      get(render('cilium', cluster).values, 'cilium', 'operator', 'replicas'),
    );
    expect(replicas).toEqual(clusters.map((cluster) => cluster.operatorReplicas));
  });

  it('gives the operator a PodDisruptionBudget only where the profile asks for one', () => {
    const pdb = clusters.map((cluster) =>
      get(render('cilium', cluster).values, 'cilium', 'operator', 'podDisruptionBudget'),
    );
    expect(get(pdb[0], 'enabled')).not.toBe(true);
    expect(pdb[1]).toMatchObject({ enabled: true, maxUnavailable: 1 });
    expect(pdb[2]).toMatchObject({ enabled: true, maxUnavailable: 1 });
  });

  it('matches the Talos patches with the Cilium values: CNI none, no kube-proxy, KubePrism', () => {
    for (const cluster of clusters) {
      const controlPlane = talosPatch(cluster.name, 'controlplane.yaml').get('v1alpha1');
      const worker = talosPatch(cluster.name, 'worker.yaml').get('v1alpha1');
      for (const patch of [controlPlane, worker]) {
        expect(get(patch, 'cluster', 'network', 'cni', 'name')).toBe('none');
        expect(get(patch, 'cluster', 'proxy', 'disabled')).toBe(true);
        expect(get(patch, 'machine', 'features', 'kubePrism')).toEqual({
          enabled: true,
          port: 7445,
        });
      }
      const values = render('cilium', cluster).values;
      expect(get(values, 'cilium', 'k8sServiceHost')).toBe('localhost');
      expect(get(values, 'cilium', 'k8sServicePort')).toBe(
        get(controlPlane, 'machine', 'features', 'kubePrism', 'port'),
      );
      expect(get(values, 'cilium', 'kubeProxyReplacement')).toBe(true);
    }
  });

  it('renders LB IPAM pools that overlap no pod or service network of their cluster', () => {
    for (const cluster of clusters) {
      const patch = talosPatch(cluster.name, 'controlplane.yaml').get('v1alpha1');
      const podSubnets = get(patch, 'cluster', 'network', 'podSubnets') as string[];
      const serviceSubnets = get(patch, 'cluster', 'network', 'serviceSubnets') as string[];
      expect(podSubnets.length).toBeGreaterThan(0);
      expect(serviceSubnets.length).toBeGreaterThan(0);
      const pools = render('cilium', cluster).objects.filter(
        (object) => object.kind === 'CiliumLoadBalancerIPPool',
      );
      expect(pools.length).toBeGreaterThan(0);
      const blocks = pools.flatMap((pool) =>
        (get(pool, 'spec', 'blocks') as { cidr: string }[]).map((block) => block.cidr),
      );
      for (const block of blocks) {
        for (const network of [...podSubnets, ...serviceSubnets]) {
          expect(cidrsOverlap(block, network), `${cluster.name}: ${block} vs ${network}`).toBe(
            false,
          );
        }
      }
    }
  });

  it('announces pools with BGP on prod and with L2 announcements on dev and staging', () => {
    const kinds = (cluster: (typeof clusters)[number]) =>
      new Set(render('cilium', cluster).objects.map((object) => object.kind));
    for (const cluster of clusters) {
      const present = kinds(cluster);
      const bgp = cluster.name === 'prod';
      expect(present.has('CiliumBGPClusterConfig'), cluster.name).toBe(bgp);
      expect(present.has('CiliumL2AnnouncementPolicy'), cluster.name).toBe(!bgp);
    }
  });

  it('orders the app-of-apps: the Gateway API CRD bundles, then Cilium, then every other component', () => {
    for (const cluster of clusters) {
      const applications = render('platform', cluster).objects.filter(
        (object): object is KubeObject => object.kind === 'Application',
      );
      const wave = (component: string): number => {
        const app = applications.find(
          (object) => object.metadata.name === `${cluster.name}-${component}`,
        );
        expect(app, `${cluster.name}-${component}`).toBeDefined();
        return Number(app?.metadata.annotations?.['argocd.argoproj.io/sync-wave']);
      };
      // CRD bundles come from their own repositories, not from a chart folder of this one.
      const isBundle = (app: KubeObject): boolean =>
        !String(get(app, 'spec', 'source', 'path')).startsWith('charts/');
      const component = (app: KubeObject): string =>
        app.metadata.name.slice(cluster.name.length + 1);
      const bundles = applications.filter(isBundle).map(component);
      const others = applications
        .filter((app) => !isBundle(app))
        .map(component)
        .filter((name) => name !== 'cilium');
      expect(bundles).toContain('gateway-api-crds');
      expect(others.length).toBeGreaterThan(0);
      for (const bundle of bundles) expect(wave(bundle)).toBeLessThan(wave('cilium'));
      for (const other of others) expect(wave('cilium')).toBeLessThan(wave(other));
      // Every Application deploys a chart of this repository with both layers of its cluster.
      for (const app of applications) {
        const source = get(app, 'spec', 'source') as Obj;
        if (isBundle(app)) continue;
        const chart = String(source.path).replace(/^charts\//, '');
        expect(existsSync(join(repo, 'charts', chart, 'Chart.yaml')), chart).toBe(true);
        expect(get(source, 'helm', 'valueFiles')).toEqual([
          `env/${cluster.environment}.yaml`,
          `clusters/${cluster.name}.yaml`,
        ]);
      }
    }
  });

  it('syncs Authelia after everything that starts without it, before the applications that log in through it', () => {
    // Authelia exits at start-up when its LDAP directory or database fails; a sync waits for
    // every Application of a wave before the next, so an earlier Authelia held back the
    // backups, monitoring and Argo CD, which start without it.
    for (const cluster of clusters) {
      const waves = new Map(
        render('platform', cluster)
          .objects.filter((object): object is KubeObject => object.kind === 'Application')
          .map((app) => [
            app.metadata.name.slice(cluster.name.length + 1),
            Number(app.metadata.annotations?.['argocd.argoproj.io/sync-wave']),
          ]),
      );
      const authelia = waves.get('authelia') ?? Number.NaN;
      for (const name of ['argocd', 'monitoring', 'backups', 'longhorn', 'snapshot-controller']) {
        expect(waves.get(name), `${cluster.name}: ${name}`).toBeLessThanOrEqual(authelia);
      }
      expect(waves.get('applications'), cluster.name).toBeGreaterThan(authelia);
      expect(authelia).toBe(Math.max(...waves.values()) - 1);
    }
    expect(readFileSync(join(repo, 'charts/platform/README.md'), 'utf8')).toContain(
      '- authelia: at start-up Authelia checks its LDAP directory and its database',
    );
  });

  it('configures the Argo CD Application health check and keeps secret values out', () => {
    for (const cluster of clusters) {
      const values = render('argo-cd', cluster).values;
      const cm = get(values, 'argo-cd', 'configs', 'cm') as Values;
      const health = cm['resource.customizations.health.argoproj.io_Application'];
      expect(typeof health).toBe('string');
      expect(String(health)).toContain('hs.status');
      const oidc = parseYaml(String(cm['oidc.config'])) as Obj;
      expect(oidc.issuer).toBe(
        cluster.name === 'prod'
          ? 'https://auth.lab.example.com'
          : `https://auth.${cluster.name}.lab.example.com`,
      );
      expect(String(oidc.clientSecret)).toMatch(/^\$[a-z0-9-]+:[A-Za-z0-9_.-]+$/);
    }
  });

  it('keeps 1, 2 and 3 replicas of every volume on dev, staging and prod, never more than the nodes with its tier', () => {
    const storageNodes = { dev: 1, staging: 3, prod: 3 };
    const replicas = { dev: '1', staging: '2', prod: '3' };
    for (const cluster of clusters) {
      const all = render('longhorn', cluster).objects.filter((o) => o.kind === 'StorageClass');
      const isScratch = (o: { metadata: { name: string } }) => o.metadata.name.endsWith('-scratch');
      const classes = all.filter((o) => !isScratch(o));
      expect(classes.map((o) => o.metadata.name).sort(), cluster.name).toEqual(
        cluster.name === 'prod'
          ? ['archive', 'fast-storage', 'standard']
          : ['fast-storage', 'standard'],
      );
      for (const storageClass of classes) {
        expect(get(storageClass, 'parameters', 'numberOfReplicas')).toBe(replicas[cluster.name]);
      }
      // Every tier has a scratch class for the backups' copies: one replica, no recurring jobs,
      // volumes deleted with their claim
      const scratch = all.filter(isScratch);
      expect(scratch.map((o) => o.metadata.name).sort(), cluster.name).toEqual(
        cluster.name === 'prod'
          ? ['archive-scratch', 'fast-storage-scratch', 'standard-scratch']
          : ['fast-storage-scratch', 'standard-scratch'],
      );
      for (const storageClass of scratch) {
        expect(get(storageClass, 'parameters', 'numberOfReplicas')).toBe('1');
        expect(get(storageClass, 'parameters', 'recurringJobSelector')).toBeUndefined();
        expect(get(storageClass, 'reclaimPolicy')).toBe('Delete');
      }
      const nodes = [...readdirSync(join(repo, 'clusters', cluster.name, 'talos', 'nodes'))].filter(
        (file) =>
          talosPatch(cluster.name, `nodes/${file}`).get('v1alpha1') !== undefined &&
          get(
            talosPatch(cluster.name, `nodes/${file}`).get('v1alpha1'),
            'machine',
            'nodeLabels',
            'node.longhorn.io/create-default-disk',
          ) === 'config',
      );
      expect(nodes.length, cluster.name).toBe(storageNodes[cluster.name]);
    }
  });

  it('gives Talos what Longhorn needs: extensions, the propagated data path, the data disks', () => {
    for (const cluster of clusters) {
      const schematic = parseYaml(
        readFileSync(join(repo, 'clusters', cluster.name, 'talos', 'schematic.yaml'), 'utf8'),
      );
      expect(get(schematic, 'customization', 'systemExtensions', 'officialExtensions')).toEqual([
        'siderolabs/iscsi-tools',
        'siderolabs/util-linux-tools',
      ]);
      const worker = talosPatch(cluster.name, 'worker.yaml').get('v1alpha1');
      expect(get(worker, 'machine', 'kubelet', 'extraMounts')).toContainEqual({
        destination: '/var/lib/longhorn',
        type: 'bind',
        source: '/var/lib/longhorn',
        options: ['bind', 'rshared', 'rw'],
      });
    }
    const worker = talosPatch('prod', 'nodes/prod-worker-1.yaml');
    expect(get(worker.get('UserVolumeConfig'), 'provisioning', 'diskSelector', 'match')).toMatch(
      /^disk\.serial == "[^"]+" && !system_disk$/,
    );
  });

  it('backs the example application volume up, restores and verifies it, routes it, and gives it the private CA of its OIDC issuer, on every cluster', () => {
    for (const cluster of clusters) {
      const objects = render('applications', cluster).objects;
      const kinds = objects
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .filter((kind) => !kind.startsWith('BitwardenSecret/'))
        .sort();
      expect(kinds, cluster.name).toEqual([
        // paperless logs in through Authelia, whose certificate the platform's private CA signs
        'Certificate/platform-ca',
        // a lock a killed mover left goes within the hour (backups' unlockCronJob)
        'CronJob/data-restic-unlock',
        'CronJob/data-restore-verify',
        'HTTPRoute/paperless',
        'PersistentVolumeClaim/data',
        'ReplicationDestination/data-bootstrap',
        'ReplicationDestination/data-restore',
        'ReplicationSource/data-backup',
      ]);
      // A new claim fills itself from the latest backup: it names the bootstrap.
      const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim') as unknown as {
        spec: { dataSourceRef?: unknown };
      };
      expect(claim.spec.dataSourceRef).toEqual({
        apiGroup: 'volsync.backube',
        kind: 'ReplicationDestination',
        name: 'data-bootstrap',
      });
      const route = objects.find((o) => o.kind === 'HTTPRoute') as unknown as {
        spec: { hostnames: string[]; rules: { backendRefs: { name: string; port: number }[] }[] };
      };
      expect(route.spec.hostnames).toEqual([
        `paperless.${cluster.name === 'prod' ? '' : `${cluster.name}.`}lab.example.com`,
      ]);
      expect(route.spec.rules[0]?.backendRefs).toEqual([
        { group: '', kind: 'Service', name: 'paperless', port: 8000, weight: 1 },
      ]);
      expect(existsSync(join(repo, 'clusters', cluster.name, 'disaster-recovery.md'))).toBe(true);
    }
  });

  it('grants Talos API access to the etcd backup namespace only, with only os:etcd:backup', () => {
    for (const cluster of clusters) {
      const controlPlane = talosPatch(cluster.name, 'controlplane.yaml').get('v1alpha1');
      expect(get(controlPlane, 'machine', 'features', 'kubernetesTalosAPIAccess')).toEqual({
        enabled: true,
        allowedRoles: ['os:etcd:backup'],
        allowedKubernetesNamespaces: ['talos-backup'],
      });
    }
  });
});

describe('monitoring on the reference platform', () => {
  /** The objects charts/monitoring renders on a cluster, by kind. */
  const monitoring = (cluster: (typeof clusters)[number], kind: string): KubeObject[] =>
    render('monitoring', cluster).objects.filter((object) => object.kind === kind);

  it('watches every component with an Application on every cluster', () => {
    for (const cluster of clusters) {
      // Applications of this repository's charts (CRD bundles come from their own repositories).
      const components = render('platform', cluster)
        .objects.filter(
          (object) =>
            object.kind === 'Application' &&
            String(get(object, 'spec', 'source', 'path')).startsWith('charts/'),
        )
        .map((object) => String(object.metadata.labels?.['app.kubernetes.io/component']));
      expect(components).toContain('cilium');
      const watched = new Set(
        ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].flatMap((kind) =>
          monitoring(cluster, kind).map(
            (object) => object.metadata.labels?.['homelab.dev/component'],
          ),
        ),
      );
      // monitoring watches the platform's own facts under the name `platform`.
      // gateway runs no workload of its own: its Gateway is served by Cilium's Envoy (watched
      // as cilium) and its Application's health by the Argo CD alerts.
      // applications holds namespaces and volumes only: its workloads are the user's.
      for (const component of components.filter(
        (name) => name !== 'gateway' && name !== 'applications',
      )) {
        expect(watched.has(component === 'monitoring' ? 'platform' : component), component).toBe(
          true,
        );
      }
      const monitors = monitoring(cluster, 'ServiceMonitor').map((object) => object.metadata.name);
      // what cilium and argocd declare (other components add their own)
      expect(monitors).toEqual(
        expect.arrayContaining([
          'argocd-application-controller',
          'argocd-repo-server',
          'argocd-server',
          'cilium-agent',
          'cilium-hubble',
          'cilium-operator',
        ]),
      );
    }
  });

  it('renders only alert rules the PromQL grammar accepts, with the alerts the issue asks for', () => {
    for (const cluster of clusters) {
      const rules = monitoring(cluster, 'PrometheusRule').flatMap((object) =>
        (get(object, 'spec', 'groups') as Obj[]).flatMap((group) => group.rules as Obj[]),
      );
      for (const rule of rules) {
        expect([rule.alert, promqlProblem(String(rule.expr))]).toEqual([rule.alert, undefined]);
      }
      const alerts = rules.map((rule) => rule.alert);
      for (const alert of [
        'NodeNotReady',
        'NodeDiskNearlyFull',
        'JobFailed',
        'EtcdSnapshotTooOld',
        'CiliumAgentDown',
        'CiliumOperatorDown',
        'ArgoCDApplicationOutOfSync',
        'ArgoCDApplicationDegraded',
      ]) {
        expect(alerts, `${cluster.name}: ${alert}`).toContain(alert);
      }
      expect(alerts.includes('CiliumBGPSessionDown'), cluster.name).toBe(cluster.name === 'prod');
    }
  });

  it('allows development longer out of sync, as the definition says', () => {
    const forOf = (cluster: (typeof clusters)[number]) =>
      monitoring(cluster, 'PrometheusRule')
        .flatMap((object) =>
          (get(object, 'spec', 'groups') as Obj[]).flatMap((group) => group.rules as Obj[]),
        )
        .find((rule) => rule.alert === 'ArgoCDApplicationOutOfSync')?.for;
    expect(clusters.map(forOf)).toEqual(['4h', '1h', '30m']);
  });

  it('provisions the Cilium, Hubble, Argo CD, backups and platform dashboards, every query parsed', () => {
    for (const cluster of clusters) {
      const dashboards = monitoring(cluster, 'ConfigMap')
        .filter((object) => object.metadata.labels?.grafana_dashboard === '1')
        .flatMap((object) => Object.values(get(object, 'data') as Obj))
        .map((text) => JSON.parse(String(text)) as Obj);
      expect(dashboards.map((dashboard) => dashboard.uid)).toEqual(
        expect.arrayContaining(['argocd', 'backups', 'cilium', 'hubble', 'platform']),
      );
      for (const dashboard of dashboards) {
        for (const panel of dashboard.panels as Obj[]) {
          for (const target of panel.targets as Obj[]) {
            expect([panel.title, promqlProblem(String(target.expr))]).toEqual([
              panel.title,
              undefined,
            ]);
          }
        }
      }
    }
  });

  it('logs into Grafana through Authelia at the cluster domain, behind the Gateway', () => {
    for (const cluster of clusters) {
      const grafana = get(
        render('monitoring', cluster).values,
        'kube-prometheus-stack',
        'grafana',
      ) as Obj;
      const auth = `https://auth.${cluster.name === 'prod' ? '' : `${cluster.name}.`}lab.example.com`;
      expect(get(grafana, 'grafana.ini', 'auth.generic_oauth')).toMatchObject({
        enabled: true,
        client_id: `grafana-${cluster.name}`,
        auth_url: `${auth}/api/oidc/authorization`,
        token_url: `${auth}/api/oidc/token`,
        api_url: `${auth}/api/oidc/userinfo`,
      });
      expect(get(grafana, 'admin', 'existingSecret')).toBe('grafana-admin');
      const routes = monitoring(cluster, 'HTTPRoute');
      expect(routes.map((route) => get(route, 'spec', 'hostnames'))).toEqual([
        [`grafana.${cluster.name === 'prod' ? '' : `${cluster.name}.`}lab.example.com`],
      ]);
    }
  });

  it("sends Watchdog to each cluster's own heartbeat check and nowhere else, and every other alert to people only", () => {
    const checks = new Set<string>();
    for (const cluster of clusters) {
      const values = get(render('monitoring', cluster).values, 'kube-prometheus-stack') as Obj;
      const route = get(values, 'alertmanager', 'config', 'route') as RouteNode;
      expect(route.routes?.[0], cluster.name).toEqual({
        receiver: 'heartbeat',
        matchers: ['alertname = "Watchdog"'],
        group_wait: '0s',
        group_interval: '1m',
        repeat_interval: '50s',
        continue: false,
      });
      const to = (labels: Record<string, string>) => receiversFor(route, labels);
      expect(to({ alertname: 'Watchdog', severity: 'none', namespace: 'monitoring' })).toEqual([
        'heartbeat',
      ]);
      expect(to({ alertname: 'NodeNotReady', severity: 'critical' })).toEqual([
        'ops-chat',
        'ops-email',
      ]);
      expect(to({ alertname: 'NodeDiskNearlyFull', severity: 'warning' })).toEqual(['ops-email']);
      const receivers = get(values, 'alertmanager', 'config', 'receivers') as Obj[];
      expect(receivers.find((receiver) => receiver.name === 'heartbeat')).toEqual({
        name: 'heartbeat',
        webhook_configs: [
          {
            url_file: '/etc/alertmanager/secrets/alertmanager-heartbeat/url',
            send_resolved: false,
          },
        ],
      });
      // Its ping URL comes from a Bitwarden secret of its own on every cluster.
      const secret = render('monitoring', cluster).objects.find(
        (object) =>
          object.kind === 'BitwardenSecret' && object.metadata.name === 'alertmanager-heartbeat',
      );
      const id = get(secret, 'spec', 'map', '0', 'bwSecretId');
      expect(typeof id, cluster.name).toBe('string');
      checks.add(id as string);
      // Alertmanager may reach the check-in host, and no other host for it.
      const policies = render('cilium', cluster).objects.filter(
        (object) =>
          object.kind === 'CiliumNetworkPolicy' &&
          object.metadata.name === 'monitoring-alertmanager-to-hc-ping-com-443-egress',
      );
      expect(get(policies[0], 'spec', 'egress', '0', 'toFQDNs'), cluster.name).toEqual([
        { matchName: 'hc-ping.com' },
      ]);
    }
    expect(checks.size).toBe(clusters.length);
  });

  it('scrapes the control plane where the Talos patches bind its metrics', () => {
    for (const cluster of clusters) {
      const patch = talosPatch(cluster.name, 'controlplane.yaml').get('v1alpha1');
      expect(get(patch, 'cluster', 'controllerManager', 'extraArgs', 'bind-address')).toBe(
        '0.0.0.0',
      );
      expect(get(patch, 'cluster', 'scheduler', 'extraArgs', 'bind-address')).toBe('0.0.0.0');
      expect(get(patch, 'cluster', 'etcd', 'extraArgs', 'listen-metrics-urls')).toBe(
        'http://0.0.0.0:2381',
      );
      const values = get(render('monitoring', cluster).values, 'kube-prometheus-stack') as Obj;
      const endpoints = get(values, 'kubeEtcd', 'endpoints') as string[];
      expect(endpoints.length).toBeGreaterThan(0);
      expect(get(values, 'kubeControllerManager', 'endpoints')).toEqual(endpoints);
      expect(
        get(talosPatch(cluster.name, 'worker.yaml').get('v1alpha1'), 'cluster', 'etcd'),
      ).toBeUndefined();
    }
  });
});

describe("the rotation of Authelia's storage encryption key (rotating-secrets.md)", () => {
  /** The numbered steps of the guide's entry that fills `storage.encryption.key`. */
  const steps = (cluster: string): GuideStep[] => {
    const guide = readFileSync(join(repo, 'clusters', cluster, 'rotating-secrets.md'), 'utf8');
    const section = guide
      .split(/^## /m)
      .find((part) =>
        part.includes('- key `storage.encryption.key` of Secret `authelia/authelia`'),
      );
    if (section === undefined) throw new Error(`no storage key entry on ${cluster}`);
    return guideSteps(section);
  };
  const run = (cluster: string, script: string) =>
    withStandInScript(`${standInCluster(cluster)}\n${script}`, 'kubectl', KUBECTL, 20);

  it('re-encrypts the database and starts Authelia only with the key it has, on SQLite and PostgreSQL clusters', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      const result = run(cluster, operatorScript(steps(cluster), NEW_KEY));
      expect(result.status, cluster).toBe(0);
      expect(result.dir['state/violations'], cluster).toBeUndefined();
      expect(result.dir['state/db'], cluster).toBe(NEW_KEY);
      expect(result.dir['state/secret'], cluster).toBe(NEW_KEY);
      // Argo CD put the Deployment back once, the old key's copy is gone, auto-sync is back on.
      expect(result.dir['state/starts'], cluster).toBe('x\n');
      expect(
        Object.keys(result.dir).filter((file) => /^state\/(idle|old|paused-)/.test(file)),
        cluster,
      ).toEqual([]);
      // Nothing shows a key: no call of kubectl has one among its arguments outside the pod's script.
      for (const call of result.calls) {
        const outside = call.filter((arg) => !arg.includes('exec authelia storage encryption'));
        expect(outside.join(' '), cluster).not.toContain(NEW_KEY);
        expect(outside.join(' '), cluster).not.toContain(OLD_KEY);
      }
    }
  });

  it('stops before re-encrypting when the new value is too short, with Authelia still stopped and the database untouched', () => {
    const result = run('dev', operatorScript(steps('dev'), 'too-short'));
    expect(result.status).not.toBe(0);
    expect(result.dir['state/db']).toBe(OLD_KEY);
    expect(result.dir['state/old']).toBe(OLD_KEY);
    expect(result.dir['state/idle']).toBe('');
    expect(result.dir['state/starts']).toBeUndefined();
  });

  it('sees a violation when the value is synced before Authelia is stopped (the order the guide prevents)', () => {
    const [pause, before, change, ...rest] = steps('dev');
    if (pause === undefined || before === undefined || change === undefined)
      throw new Error('steps');
    const result = run('dev', operatorScript([pause, change, before, ...rest], NEW_KEY));
    // The kept "old" key is then the new one: the check of step 2 stops the operator.
    expect(result.status).not.toBe(0);
    expect(result.dir['state/violations']).toBe('the Secret changed while Authelia runs\n');
    expect(result.dir['state/db']).toBe(OLD_KEY);
  });

  it("sees a violation when auto-sync is taken away without ending the root's running sync (the guide ends it)", () => {
    // The first step as the guides had it: the automated policy off, the retried sync left on
    const [pause, ...rest] = steps('dev');
    if (pause === undefined) throw new Error('steps');
    const policyOnly = {
      ...pause,
      commands: pause.commands.filter((command) => command.includes('"automated":null')),
    };
    expect(policyOnly.commands).toHaveLength(2);
    const result = run('dev', operatorScript([policyOnly, ...rest], NEW_KEY));
    expect(result.dir['state/violations']).toBe(
      'the Deployment was patched while Argo CD still runs a sync (running-dev-platform) that applies the revision again\n',
    );
    // The guide's own first step ends it: no sync left running
    const fixed = run('dev', operatorScript(steps('dev'), NEW_KEY));
    expect(Object.keys(fixed.dir).filter((file) => file.startsWith('state/running-'))).toEqual([]);
  });
});
