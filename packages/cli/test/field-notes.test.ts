// Field-note facts (docs/system-checks.md lists them with their sources) about what Argo CD and
// Cilium do with the generated files, each put back broken in the reference platform's output:
// the build must stop with the check's code, the place in the definition and the generated file.
import { APPLICATION_HEALTH_KEY, healthKey } from '@homelab/argocd';
import { CONSTRAINT_TEMPLATE_HEALTH_LUA } from '@homelab/policy';
import { describe, expect, it } from 'vitest';
import {
  broken,
  DEV,
  found,
  inside,
  type Loose,
  PROD,
  STAGING,
  withFile,
  withObject,
  withValues,
} from './broken-output.js';

describe('FIELD-NOTES facts, put back broken, are caught', { timeout: 120_000 }, () => {
  it('an app-of-apps whose Argo CD has no health check of argoproj.io/Application', async () => {
    const errors = await broken(
      withValues('charts/argo-cd/values.yaml', (values: Loose) => {
        delete values['argo-cd'].configs.cm[APPLICATION_HEALTH_KEY];
      }),
    );
    const issues = found(errors, 'argocd-application-health');
    expect(issues.map((issue) => [issue.at, issue.output])).toEqual([
      [
        inside('argocd:', DEV),
        `charts/argo-cd (values on cluster dev)#argo-cd.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
      ],
      [
        inside('argocd:', STAGING),
        `charts/argo-cd (values on cluster staging)#argo-cd.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
      ],
      [
        inside('argocd:', PROD),
        `charts/argo-cd (values on cluster prod)#argo-cd.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
      ],
    ]);
    expect(issues[0]?.message).toMatch(
      /^leaves Argo CD on cluster "dev" without a health check of argoproj\.io\/Application: the app-of-apps' \d+ sync waves would not wait for each other/,
    );
  });

  it('the same check on a cluster layer that nulls the script (what Helm would deploy)', async () => {
    const errors = await broken(
      withValues('charts/argo-cd/clusters/prod.yaml', (values: Loose) => {
        values['argo-cd'] ??= {};
        values['argo-cd'].configs ??= {};
        values['argo-cd'].configs.cm ??= {};
        values['argo-cd'].configs.cm[APPLICATION_HEALTH_KEY] = null;
      }),
    );
    expect(found(errors, 'argocd-application-health').map((issue) => issue.at)).toEqual([
      inside('argocd:', PROD),
    ]);
  });

  it("an Argo CD without the health check of Gatekeeper's ConstraintTemplate (the constraints' wave would not wait for their kinds)", async () => {
    const key = healthKey('templates.gatekeeper.sh', 'ConstraintTemplate');
    const errors = await broken(
      withValues('charts/argo-cd/clusters/prod.yaml', (values: Loose) => {
        expect(values['argo-cd'].configs.cm[key]).toBe(CONSTRAINT_TEMPLATE_HEALTH_LUA);
        delete values['argo-cd'].configs.cm[key];
      }),
    );
    const issues = found(errors, 'argocd-resource-health');
    expect(issues.map((issue) => [issue.at, issue.output])).toEqual([
      [
        inside('argocd:', PROD),
        `charts/argo-cd (values on cluster prod)#argo-cd.configs.cm["${key}"]`,
      ],
    ]);
    expect(issues[0]?.message).toMatch(
      /^leaves Argo CD on cluster "prod" without the health check of templates\.gatekeeper\.sh\/ConstraintTemplate that policy declares \(its constraints \(sync wave 2\)/,
    );
  });

  describe('Cilium BGP on prod (the reference peers with its router)', () => {
    const wiring = async (alter: Parameters<typeof broken>[0]) =>
      found(await broken(alter), 'cilium-bgp-wiring').map((issue) => [issue.output, issue.message]);

    it('the agents without the BGP control plane', async () => {
      expect(
        await wiring(
          withValues('charts/cilium/clusters/prod.yaml', (values: Loose) => {
            values.cilium.bgpControlPlane.enabled = false;
          }),
        ),
      ).toEqual([
        [
          'charts/cilium (values on cluster prod)#cilium.bgpControlPlane.enabled',
          'deploys CiliumBGPClusterConfig/platform on cluster "prod", but the Cilium agents run no BGP control plane: no session is ever opened',
        ],
      ]);
    });

    it('a peer whose peerConfigRef names no CiliumBGPPeerConfig', async () => {
      const issues = await wiring(
        withObject('prod', 'CiliumBGPClusterConfig', 'platform', (object: Loose) => {
          object.spec.bgpInstances[0].peers[0].peerConfigRef.name = 'elsewhere';
          return object;
        }),
      );
      expect(issues).toEqual([
        [
          'charts/cilium/clusters/prod.yaml#manifests.bgp-cluster-config',
          'peer "router" of CiliumBGPClusterConfig/platform on cluster "prod" refers to CiliumBGPPeerConfig "elsewhere", which is not deployed: the session has no address families and advertises nothing',
        ],
      ]);
    });

    it('an address family that selects no CiliumBGPAdvertisement', async () => {
      const issues = await wiring(
        withObject('prod', 'CiliumBGPAdvertisement', 'loadbalancer-ips', (object: Loose) => {
          object.metadata.labels = { 'homelab.dev/bgp-advertise': 'something-else' };
          return object;
        }),
      );
      expect(issues).toEqual([
        [
          'charts/cilium/clusters/prod.yaml#manifests.bgp-peer-config',
          'the ipv4/unicast family of CiliumBGPPeerConfig/platform on cluster "prod" selects no CiliumBGPAdvertisement: the peers learn no route to the LoadBalancer addresses',
        ],
      ]);
    });

    it('a node selector that selects no node, but not one that selects the control plane', async () => {
      const withSelector = (nodeSelector: unknown) =>
        withObject('prod', 'CiliumBGPClusterConfig', 'platform', (object: Loose) => {
          object.spec.nodeSelector = nodeSelector;
          return object;
        });
      expect(await wiring(withSelector({ matchLabels: { 'homelab.dev/bgp': 'peer' } }))).toEqual([
        [
          'charts/cilium/clusters/prod.yaml#manifests.bgp-cluster-config',
          'CiliumBGPClusterConfig/platform selects no node of cluster "prod": no node peers',
        ],
      ]);
      expect(
        await wiring(
          withSelector({
            matchExpressions: [
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' },
            ],
          }),
        ),
      ).toEqual([]);
    });

    const peers = async (alter: Parameters<typeof broken>[0]) =>
      found(await broken(alter), 'cilium-bgp-runbook-peers').map((issue) => issue.message);
    const nodes = [
      'prod-cp-1',
      'prod-cp-2',
      'prod-cp-3',
      'prod-worker-1',
      'prod-worker-2',
      'prod-worker-3',
    ];

    it('the reference runbook names the router and waits for every node before the hand-over', async () => {
      expect(await peers((input) => input)).toEqual([]);
    });

    it('a runbook without the BGP step: nobody configures the router, nothing waits for the sessions', async () => {
      const issues = await peers(
        withFile('clusters/prod/RUNBOOK.md', (content) =>
          content
            .split('\n')
            .filter((line) => !line.includes('ciliumbgpnodeconfigs') && !line.includes('AS 64501'))
            .join('\n'),
        ),
      );
      expect([...issues].sort()).toEqual([
        'the runbook of cluster "prod" does not name BGP peer "router" (10.30.10.1, AS 64501) of charts/cilium/clusters/prod.yaml#manifests.bgp-cluster-config: nobody configures that router, and nothing outside the cluster reaches a LoadBalancer address',
        ...nodes.map(
          (node) =>
            `the runbook of cluster "prod" never waits for the BGP sessions of node ${node} (instance asn-64512, 1 peer(s)): the hand-over goes on while no router may accept them`,
        ),
      ]);
    });

    it('a second router the runbook neither names nor waits for', async () => {
      const issues = await peers(
        withObject('prod', 'CiliumBGPClusterConfig', 'platform', (object: Loose) => {
          const [router] = object.spec.bgpInstances[0].peers;
          object.spec.bgpInstances[0].peers.push({
            ...router,
            name: 'router-2',
            peerAddress: '10.30.10.2',
          });
          return object;
        }),
      );
      const sorted = [...issues].sort();
      expect(sorted[0]).toContain('does not name BGP peer "router-2" (10.30.10.2, AS 64501)');
      expect(sorted.slice(1)).toEqual(
        nodes.map(
          (node) =>
            `the runbook of cluster "prod" never waits for the BGP sessions of node ${node} (instance asn-64512, 2 peer(s)): the hand-over goes on while no router may accept them`,
        ),
      );
    });
  });
});
