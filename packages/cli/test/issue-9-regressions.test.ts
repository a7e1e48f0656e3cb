// Issue 9, "a test per item 1–8 that breaks it on purpose": each fault the review found in the
// reference platform is put back, either in the definition (examples/reference/platform.yaml)
// or in the generated output just before the system checks read it, and the real pipeline must
// stop with the check's code, its message and the place: the definition's file:line:col and the
// generated file or object.
import { describe, expect, it } from 'vitest';
import {
  broken,
  DEV,
  edit,
  errorsOf,
  found,
  inside,
  type Loose,
  lineOf,
  PROD,
  reference,
  STAGING,
  valueAt,
  withApplications,
  withFile,
  withObject,
  withValues,
} from './broken-output.js';

const ROUTES_FROM =
  'from: Same, or from: Selector on kubernetes.io/metadata.name In the namespaces that declare routes';

describe('issue 9: each fault of the review, put back, is caught', { timeout: 120_000 }, () => {
  it('the reference platform passes every check', async () => {
    expect(await errorsOf(reference)).toEqual([]);
  });

  it('1. a node patch configuring eth0 instead of the node’s link', async () => {
    const errors = await broken(
      withFile('clusters/dev/talos/nodes/dev-cp-1.yaml', (c) =>
        edit(c, 'name: enp3s0', 'name: eth0'),
      ),
    );
    expect(found(errors, 'node-links')).toEqual([
      {
        at: inside('link:', 'hostname: dev-cp-1'),
        output: 'clusters/dev/talos/nodes/dev-cp-1.yaml',
        message:
          'node "dev-cp-1": its patch configures LinkConfig on "eth0", which is not the link the definition names ("enp3s0"); the static address and the VIP would never come up',
      },
    ]);
    expect(errors.map((issue) => issue.code)).toEqual(['node-links']);
  });

  it('1. the L2 announcement policy on ^eth[0-9]+$', async () => {
    const errors = await broken(
      withObject('dev', 'CiliumL2AnnouncementPolicy', 'platform', (policy) => ({
        ...policy,
        spec: { ...(policy.spec as Loose), interfaces: ['^eth[0-9]+$'] },
      })),
    );
    expect(found(errors, 'l2-interfaces-match-links')).toEqual([
      {
        at: valueAt('name: enp3s0', 'hostname: dev-cp-1'),
        output: 'charts/cilium/clusters/dev.yaml#manifests.l2-announcement-policy',
        message:
          'node "dev-cp-1" has link "enp3s0", which the L2 announcement interfaces (^eth[0-9]+$) do not match: nobody on it answers ARP for the LoadBalancer pool',
      },
    ]);
  });

  it('2. the Gateway API CRDs in the same wave as Cilium, whose operator needs them at start', async () => {
    const errors = await broken(
      withApplications('dev', (app) =>
        app.name === 'gateway-api-crds' ? { ...app, wave: app.wave + 1 } : app,
      ),
    );
    // No object of Cilium's own is a Gateway API kind: kinds-before-use alone would miss it.
    expect(errors.map((issue) => issue.code)).toEqual(['crds-before-controllers']);
    expect(found(errors, 'crds-before-controllers')).toEqual([
      {
        at: inside('cilium:', 'components:'),
        output: 'Application dev-cilium',
        message:
          'cilium (wave 1) needs the CRDs of gateway-api-crds when it starts on cluster "dev", but they come in wave 1: its controller starts without them',
      },
    ]);
  });

  it('2. the runbook installing Cilium before the Gateway API CRDs', async () => {
    const runbook = 'clusters/dev/RUNBOOK.md';
    let cilium = 0;
    let crds = 0;
    const errors = await broken(
      withFile(runbook, (content) => {
        const lines = content.split('\n');
        const line = lines.find((text) => text.includes('/standard-install.yaml')) as string;
        const moved = [...lines.filter((text) => text !== line), line].join('\n');
        crds = moved.split('\n').indexOf(line) + 1;
        cilium = moved.split('\n').indexOf('helm dependency update charts/cilium') + 1;
        return moved;
      }),
    );
    expect(cilium).toBeGreaterThan(0);
    expect(crds).toBeGreaterThan(cilium);
    expect(found(errors, 'crds-before-controllers')).toEqual([
      {
        at: inside('cilium:', 'components:'),
        output: `${runbook}:${cilium}`,
        message: `the runbook of cluster "dev" installs cilium (line ${cilium}) before the CRDs of gateway-api-crds (line ${crds}): its controller starts without them`,
      },
    ]);
  });

  it('2. a longer line that merely contains a line of Cilium’s install is no install of Cilium', async () => {
    // Cilium's install ends its retry loop with the line `done`; a wait loop of another runbook
    // (`until ...; do sleep 15; done`) before the CRDs installs nothing.
    const errors = await broken(
      withFile('clusters/dev/disaster-recovery.md', (content) =>
        ['until kubectl get job x; do sleep 15; done', content].join('\n'),
      ),
    );
    expect(found(errors, 'crds-before-controllers')).toEqual([]);
  });

  it('2/7. the Gateway API CRDs of another release than the one Cilium needs', async () => {
    const errors = await broken(
      withApplications('dev', (app) => {
        if (app.name !== 'gateway-api-crds') return app;
        const spec = structuredClone(app.application.spec) as Loose;
        spec.source.targetRevision = 'v1.3.0';
        return { ...app, application: { ...app.application, spec } };
      }),
    );
    expect(found(errors, 'crds-before-controllers')).toEqual([
      {
        at: inside('cilium:', 'components:'),
        output: 'Application dev-gateway-api-crds',
        message:
          'installs the CRDs of gateway-api-crds at revision v1.3.0 on cluster "dev", but cilium needs v1.4.1',
      },
    ]);
  });

  it('3. a .helmignore that ignores *.tgz', async () => {
    let line = 0;
    const errors = await broken(
      withFile('charts/cilium/.helmignore', (content) => {
        line = content.split('\n').length;
        return `${content}*.tgz\n`;
      }),
    );
    expect(found(errors, 'helmignore-keeps-dependencies')).toEqual([
      {
        at: inside('cilium:', 'components:'),
        output: `charts/cilium/.helmignore:${line}`,
        message:
          'makes Helm skip charts/cilium-1.19.6.tgz when it loads charts/cilium: every helm install and Argo CD sync fails with "found in Chart.yaml, but missing in charts/ directory"',
      },
    ]);
  });

  it('3. a .helmignore that ignores the charts/ folder', async () => {
    const errors = await broken(withFile('charts/argo-cd/.helmignore', (c) => `${c}charts/\n`));
    expect(found(errors, 'helmignore-keeps-dependencies').map((issue) => issue.message)).toEqual([
      'makes Helm skip charts/ when it loads charts/argo-cd: every helm install and Argo CD sync fails with "found in Chart.yaml, but missing in charts/ directory"',
    ]);
  });

  it('4. the HTTPS listener turned into plain HTTP :80', async () => {
    const errors = await broken(
      withObject('prod', 'Gateway', 'platform', (gateway) => {
        const https = (gateway.spec as Loose).listeners[1];
        https.protocol = 'HTTP';
        https.port = 80;
        delete https.tls;
        return gateway;
      }),
    );
    const argocd = found(errors, 'routes-over-tls').find((issue) =>
      issue.output?.includes('argo-cd'),
    );
    expect(argocd).toEqual({
      at: inside('argocd:', PROD),
      output: 'charts/argo-cd/clusters/prod.yaml#manifests.httproute-argocd-server',
      message:
        'HTTPRoute argocd/argocd-server on cluster "prod" attaches to listener "https" of Gateway gateway/platform (HTTP): it would be served without TLS',
    });
  });

  it('4. server.insecure with the server on a LoadBalancer Service', async () => {
    const errors = await broken(
      withValues('charts/argo-cd/values.yaml', (values) => {
        values['argo-cd'].server = {
          ...values['argo-cd'].server,
          service: { type: 'LoadBalancer' },
        };
      }),
    );
    const issues = found(errors, 'argocd-server-insecure');
    expect(issues.map((issue) => issue.output)).toEqual([
      'charts/argo-cd (values on cluster dev)#argo-cd.server',
      'charts/argo-cd (values on cluster staging)#argo-cd.server',
      'charts/argo-cd (values on cluster prod)#argo-cd.server',
    ]);
    expect(issues[0]?.message).toBe(
      'Argo CD\u2019s server speaks plain HTTP (server.insecure) on cluster "dev" and is reachable without TLS (server.service.type: LoadBalancer): passwords and tokens would cross the network in clear'.replace(
        '\u2019',
        "'",
      ),
    );
  });

  it('4. production without its OIDC issuer and with the local admin off', async () => {
    const text = edit(
      reference,
      '      authelia:\n        storage:\n          postgres:\n            address: tcp://postgres.lab.example.com:5432\n            database: authelia_prod\n',
      '      authelia:\n        enabled: false\n        storage:\n          postgres:\n            address: tcp://postgres.lab.example.com:5432\n            database: authelia_prod\n',
    );
    const errors = await errorsOf(text);
    expect(found(errors, 'argocd-local-admin')).toEqual([
      {
        at: valueAt('localAdmin: false'),
        output: 'charts/argo-cd/clusters/prod.yaml#argo-cd.configs.cm["admin.enabled"]',
        message:
          'disables Argo CD\'s local admin on cluster "prod" while the OIDC login is incomplete (missing: an "oidc-provider" provider): nobody could log in',
      },
    ]);
  });

  it('5. the cascade-delete finalizer back on the CNI', async () => {
    const errors = await broken(
      withApplications('prod', (app) =>
        app.name === 'cilium'
          ? {
              ...app,
              application: {
                ...app.application,
                metadata: {
                  ...app.application.metadata,
                  finalizers: ['resources-finalizer.argocd.argoproj.io'],
                },
              },
            }
          : app,
      ),
    );
    expect(found(errors, 'critical-not-cascaded')).toEqual([
      {
        at: inside('cilium:', 'components:'),
        output: 'Application prod-cilium',
        message:
          'carries resources-finalizer.argocd.argoproj.io: deleting or renaming it would delete what cilium runs, and cluster "prod" cannot work without it',
      },
    ]);
  });

  it('5. Argo CD allowed to prune the Gateway API CRDs', async () => {
    const errors = await broken(
      withApplications('staging', (app) => {
        if (app.name !== 'gateway-api-crds') return app;
        const spec = structuredClone(app.application.spec) as Loose;
        spec.syncPolicy.syncOptions = ['ServerSideApply=true'];
        return { ...app, application: { ...app.application, spec } };
      }),
    );
    expect(found(errors, 'critical-not-cascaded')).toEqual([
      {
        at: inside('cilium:', 'components:'),
        output: 'Application staging-gateway-api-crds',
        message: 'lets Argo CD prune or delete what gateway-api-crds runs on cluster "staging"',
      },
    ]);
  });

  it('6. Cilium without its roll-out switches', async () => {
    const errors = await broken(
      withValues('charts/cilium/values.yaml', (values) => {
        delete values.cilium.rollOutCiliumPods;
        delete values.cilium.operator.rollOutPods;
        delete values.cilium.envoy.rollOutPods;
      }),
    );
    const issues = found(errors, 'cilium-config-rolls-out');
    expect(issues.map((issue) => [issue.at, issue.output])).toEqual(
      ['dev', 'prod', 'staging'].map((cluster) => [
        inside('cilium:', 'components:'),
        `charts/cilium (values on cluster ${cluster})#cilium`,
      ]),
    );
    expect(issues[0]?.message).toBe(
      'Cilium on cluster "dev" does not restart its pods when its configuration changes (rollOutCiliumPods, operator.rollOutPods, envoy.rollOutPods not true): a change synced from Git is Healthy while the pods keep the old configuration',
    );
  });

  it('7. Cilium 1.18 on Kubernetes 1.34 names the range it is tested on', async () => {
    const text = edit(reference, '  cilium:\n', '  cilium:\n    version: 1.18.12\n');
    const errors = await errorsOf(text);
    const issues = errors.filter((issue) => issue.code === 'cilium-kubernetes-version');
    expect(issues.map((issue) => issue.position?.line)).toEqual(
      text
        .split('\n')
        .flatMap((line, index) => (line.trim() === 'version: 1.34.4' ? [index + 1] : [])),
    );
    expect(issues[0]?.message).toBe(
      'is outside what Cilium 1.18.12 is tested on (Kubernetes 1.30 to 1.33)',
    );
    expect(issues[0]?.expected).toBe(
      'Kubernetes 1.30 to 1.33, or components.cilium.version 1.19.6 or 1.20.0 (it supports 1.34)',
    );
  });

  it('7. a Kubernetes release the cluster’s Talos does not support names the range', async () => {
    const errors = await errorsOf(edit(reference, 'version: 1.34.4', 'version: 1.37.0'));
    expect(
      errors.map((issue) => [issue.code, issue.position?.line, issue.message, issue.expected]),
    ).toEqual([
      [
        'kubernetes-version',
        lineOf('version: 1.34.4'),
        'is not supported by Talos 1.13',
        'Kubernetes 1.31 to 1.36',
      ],
    ]);
  });

  it('8. policy.default: role:readonly', async () => {
    const errors = await broken(
      withValues('charts/argo-cd/values.yaml', (values) => {
        values['argo-cd'].configs.rbac['policy.default'] = 'role:readonly';
      }),
    );
    const issues = found(errors, 'argocd-rbac-default');
    expect(issues.map((issue) => issue.at)).toEqual([
      inside('argocd:', DEV),
      inside('argocd:', STAGING),
      inside('argocd:', PROD),
    ]);
    expect(issues[2]).toEqual({
      at: inside('argocd:', PROD),
      output: 'charts/argo-cd (values on cluster prod)#argo-cd.configs.rbac["policy.default"]',
      message:
        'gives every user who logs in to Argo CD on cluster "prod" a role, whatever their groups: readonlyGroups and adminGroups no longer decide who sees what',
    });
  });

  it('8. a group named like an Argo CD role', async () => {
    const text = edit(
      reference,
      'adminGroups: [platform-admins]',
      'adminGroups: [platform-admins, "role:admin"]',
    );
    const errors = await errorsOf(text);
    const line = lineOf('adminGroups: [platform-admins]');
    const column = (text.split('\n')[line - 1] as string).indexOf('"role:admin"') + 1;
    expect(errors.map((issue) => [issue.code, issue.value, issue.position?.line])).toEqual([
      ['schema', 'role:admin', line],
    ]);
    expect(errors[0]?.position?.column).toBe(column);
    expect(errors[0]?.expected).toContain('not starting with "role:"');
  });

  it('8. the HTTPS listener admitting routes from every namespace', async () => {
    const errors = await broken(
      withObject('dev', 'Gateway', 'platform', (gateway) => {
        (gateway.spec as Loose).listeners[1].allowedRoutes = { namespaces: { from: 'All' } };
        return gateway;
      }),
    );
    const issues = errors.filter((issue) => issue.code === 'gateway-allowed-routes');
    expect(found(errors, 'gateway-allowed-routes')).toEqual([
      {
        at: inside('gateway:', 'hostname: dev-cp-1'),
        output:
          'charts/gateway/clusters/dev.yaml#manifests.gateway.spec.listeners[1].allowedRoutes.namespaces',
        message:
          'listener "https" of Gateway gateway/platform on cluster "dev" admits routes from every namespace: a route from there could take a path under a declared host and capture its traffic (OIDC codes among it)',
      },
    ]);
    expect(issues[0]?.expected).toContain(ROUTES_FROM);
    expect(issues[0]?.expected).toContain('argocd');
  });

  it('8. the HTTPS listener selecting namespaces by a label anyone can set', async () => {
    const errors = await broken(
      withObject('dev', 'Gateway', 'platform', (gateway) => {
        (gateway.spec as Loose).listeners[1].allowedRoutes = {
          namespaces: { from: 'Selector', selector: { matchLabels: { 'gateway-access': 'yes' } } },
        };
        return gateway;
      }),
    );
    expect(found(errors, 'gateway-allowed-routes').map((issue) => issue.message)).toEqual([
      'listener "https" of Gateway gateway/platform on cluster "dev" selects namespaces by gateway-access, a label anyone who creates a namespace can set: a route from there could take a path under a declared host and capture its traffic (OIDC codes among it)',
    ]);
  });

  it('8. the Gateway without its pinned address', async () => {
    const errors = await broken(
      withObject('dev', 'Gateway', 'platform', (gateway) => {
        delete (gateway.spec as Loose).addresses;
        return gateway;
      }),
    );
    expect(found(errors, 'gateway-address-pinned')).toEqual([
      {
        at: valueAt('address: 10.10.10.254'),
        output: 'charts/gateway/clusters/dev.yaml#manifests.gateway.spec.addresses',
        message:
          'the Gateway gateway/platform of cluster "dev" does not pin 10.10.10.254, where the runbook points DNS: it gets whatever address the controller picks',
      },
    ]);
  });

  it('8. a gateway address outside every pool is one error, not also an unpinned Gateway', async () => {
    const text = edit(reference, 'address: 10.10.10.254', 'address: 10.10.10.150');
    const errors = await errorsOf(text);
    expect(errors.map((issue) => [issue.code, issue.position?.line, issue.message])).toEqual([
      [
        'gateway-address',
        lineOf('address: 10.10.10.254'),
        'lies in none of the LoadBalancer pools of cluster "dev" (default 10.10.10.224/27): LB IPAM would never give it to the Gateway',
      ],
    ]);
  });

  it('8. a production workload without requests', async () => {
    const errors = await broken(
      withObject('prod', 'Deployment', 'coredns', (deployment) => {
        for (const container of (deployment.spec as Loose).template.spec.containers) {
          delete container.resources;
        }
        return deployment;
      }),
    );
    expect(found(errors, 'admission-policies')).toEqual([
      {
        at: inside('coredns:', 'components:'),
        output: 'charts/coredns/clusters/prod.yaml#manifests.deployment-coredns',
        message:
          'Deployment coredns/coredns on cluster "prod" violates resource-requests (deny): containers without CPU and memory requests: coredns',
      },
    ]);
  });
});
