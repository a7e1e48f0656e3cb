import { mergeValues, parseYaml, type Values } from '@homelab/core';
import {
  readVendoredChartFile,
  testCluster,
  testDefinition,
  testNodes,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { KUBE_PRISM_PORT } from '../src/constants.js';
import { CILIUM_RELEASES } from '../src/versions.js';
import { type AnyJson, referenceClusters, runCilium } from './helpers.js';

const { output, rendered, declared } = runCilium(testDefinition(referenceClusters()));
const cilium = (name: string): AnyJson => rendered[name]?.values.cilium;

describe('operator HA per environment', () => {
  test('replicas are 1, 2 and 3 for development, staging and production', () => {
    expect(['dev', 'staging', 'prod'].map((c) => cilium(c).operator.replicas)).toEqual([1, 2, 3]);
  });

  test('a PodDisruptionBudget with maxUnavailable 1 exists only in staging and production', () => {
    expect(cilium('dev').operator.podDisruptionBudget).toEqual({ enabled: false });
    for (const c of ['staging', 'prod']) {
      expect(cilium(c).operator.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    }
  });

  test("development removes upstream's required anti-affinity once the subchart coalesces", () => {
    const upstream = parseYaml(readVendoredChartFile('cilium', '1.18.12', 'values.yaml')) as Values;
    const effective = mergeValues(upstream, cilium('dev')) as AnyJson;
    expect(upstream.operator).toHaveProperty(
      'affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution',
    );
    expect(effective.operator.affinity).toEqual({});
  });

  test("staging replaces upstream's required anti-affinity with a preferred one", () => {
    const upstream = parseYaml(readVendoredChartFile('cilium', '1.18.12', 'values.yaml')) as Values;
    const effective = mergeValues(upstream, cilium('staging')) as AnyJson;
    expect(Object.keys(effective.operator.affinity.podAntiAffinity)).toEqual([
      'preferredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(effective.operator.topologySpreadConstraints[0].whenUnsatisfiable).toBe(
      'ScheduleAnyway',
    );
  });

  test('production rolls out with maxUnavailable 0 and spreads with DoNotSchedule', () => {
    expect(cilium('prod').operator.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect(cilium('prod').operator.topologySpreadConstraints[0].whenUnsatisfiable).toBe(
      'DoNotSchedule',
    );
  });

  test('a one-node cluster rolls the operator out by replacing it (its host ports leave no room for a surge pod)', () => {
    expect(cilium('dev').operator.updateStrategy.rollingUpdate).toEqual({
      maxSurge: 0,
      maxUnavailable: 1,
    });
  });

  test('environment layers carry the HA values and cluster layers carry none when clusters agree', () => {
    expect(Object.keys(output.chart?.environments ?? {}).sort()).toEqual([
      'development',
      'production',
      'staging',
    ]);
    expect((output.chart as AnyJson).environments.production.cilium.operator.replicas).toBe(3);
    expect((output.chart as AnyJson).clusters.prod.cilium.operator).toBeUndefined();
  });

  test('two clusters of one environment that differ keep their difference in their own layer', () => {
    const { output: out, rendered: r } = runCilium(
      testDefinition([
        testCluster('dev', 'development', 1),
        testCluster('lab', 'development', 2, { nodes: [...testNodes('lab', 2, 2)] as AnyJson }),
      ]),
    );
    expect(
      (out.chart as AnyJson).environments.development.cilium.operator.updateStrategy,
    ).toBeUndefined();
    expect((r.dev as AnyJson).values.cilium.operator.updateStrategy.rollingUpdate.maxSurge).toBe(0);
    expect((r.lab as AnyJson).values.cilium.operator.updateStrategy).toBeUndefined();
    expect((r.lab as AnyJson).values.cilium.operator.replicas).toBe(1);
  });
});

describe('Talos-correct base values', () => {
  test('Cilium reaches the API through KubePrism on the port Talos is asked to open', () => {
    const talos = declared.dev?.talos;
    expect(cilium('dev').k8sServiceHost).toBe('localhost');
    expect(cilium('dev').k8sServicePort).toBe(talos?.kubePrism?.port);
    expect(talos?.kubePrism).toEqual({ port: 7445 });
    expect(KUBE_PRISM_PORT).toBe(7445);
  });

  test('IPAM comes from Kubernetes, kube-proxy is replaced and the cgroup v2 mount is Talos’', () => {
    const v = cilium('prod');
    expect([v.ipam, v.kubeProxyReplacement, v.cgroup]).toEqual([
      { mode: 'kubernetes' },
      true,
      { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
    ]);
  });

  test('capabilities are the upstream defaults without SYS_MODULE, per release', () => {
    for (const version of ['1.18.12', '1.20.0'] as const) {
      const upstream = parseYaml(
        readVendoredChartFile('cilium', version, 'values.yaml'),
      ) as AnyJson;
      const caps = upstream.securityContext.capabilities;
      const release = CILIUM_RELEASES[version];
      expect([...release.ciliumAgentCapabilities].sort()).toEqual(
        caps.ciliumAgent.filter((c: string) => c !== 'SYS_MODULE').sort(),
      );
      expect([...release.cleanCiliumStateCapabilities].sort()).toEqual(
        caps.cleanCiliumState.filter((c: string) => c !== 'SYS_MODULE').sort(),
      );
    }
  });

  test('Gateway API, ALPN and appProtocol are on; Hubble runs relay and UI with in-cluster certificates', () => {
    const v = cilium('staging');
    expect(v.gatewayAPI).toEqual({
      enabled: true,
      enableAlpn: true,
      enableAppProtocol: true,
      gatewayClass: { create: 'true' },
    });
    expect([v.hubble.relay.enabled, v.hubble.ui.enabled, v.hubble.tls.auto.method]).toEqual([
      true,
      true,
      'cronJob',
    ]);
  });

  test('cluster layers carry the cluster name and its announcement mode', () => {
    expect(cilium('prod').cluster).toEqual({ name: 'prod' });
    expect(cilium('prod').bgpControlPlane).toEqual({ enabled: true });
    expect(cilium('prod').l2announcements).toBeUndefined();
    expect(cilium('dev').l2announcements).toEqual({ enabled: true });
    expect(cilium('dev').k8sClientRateLimit).toEqual({ qps: 30, burst: 60 });
    expect(cilium('dev').bgpControlPlane).toBeUndefined();
  });

  test('Hubble relay and UI switched off on one cluster are switched off in its layer only', () => {
    const [dev, ...rest] = referenceClusters();
    const { rendered: r } = runCilium(
      testDefinition([
        { ...dev, components: { cilium: { hubble: { relay: false, ui: false } } } },
        ...rest,
      ]),
    );
    expect(
      [r.dev?.values.cilium, r.staging?.values.cilium].map((v: AnyJson) => ({
        enabled: v.hubble.enabled,
        relay: v.hubble.relay.enabled,
        ui: v.hubble.ui.enabled,
        tls: v.hubble.tls,
      })),
    ).toEqual([
      {
        enabled: true,
        relay: false,
        ui: false,
        tls: { auto: { enabled: true, method: 'cronJob' } },
      },
      { enabled: true, relay: true, ui: true, tls: { auto: { enabled: true, method: 'cronJob' } } },
    ]);
  });

  test('agent, operator and Hubble metrics are on, behind Services, without ServiceMonitors', () => {
    const { rendered: r } = runCilium(testDefinition(referenceClusters()));
    for (const name of ['dev', 'staging', 'prod']) {
      const values = r[name]?.values.cilium as AnyJson;
      expect(values.prometheus).toEqual({ enabled: true, metricsService: true });
      expect(values.operator.prometheus).toEqual({ enabled: true, metricsService: true });
      expect(values.hubble.metrics.enabled).toEqual([
        'dns',
        'drop',
        'tcp',
        'flow',
        'port-distribution',
        'icmp',
        'httpV2',
      ]);
      // The Prometheus Operator CRDs come after Cilium: the chart's own ServiceMonitors stay off.
      expect(values.prometheus.serviceMonitor).toBeUndefined();
    }
  });
});

describe('issue 9: versions, roll-outs, resources', () => {
  test('every workload reading Cilium config rolls out when it changes (broken: the agents keep the old config)', () => {
    const base = output.chart?.values.cilium as AnyJson;
    expect([
      base.rollOutCiliumPods,
      base.operator.rollOutPods,
      base.envoy.rollOutPods,
      base.hubble.relay.rollOutPods,
      base.hubble.ui.rollOutPods,
    ]).toEqual([true, true, true, true, true]);
  });

  test("rolls the agents and the Envoy proxies out one node at a time (Cilium's default is two)", () => {
    for (const cluster of ['dev', 'prod']) {
      const values = cilium(cluster);
      expect([cluster, values.updateStrategy, values.envoy.updateStrategy]).toEqual([
        cluster,
        { rollingUpdate: { maxUnavailable: 1 } },
        { rollingUpdate: { maxUnavailable: 1 } },
      ]);
    }
  });

  test('every workload gets requests scaled by the profile (production twice development), and a memory limit but the agent', () => {
    const dev = cilium('dev');
    const prod = cilium('prod');
    // The agent's BPF maps count against its memory cgroup: a limit would kill the node's
    // network (its DNS proxy) as the policies grow.
    expect(dev.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' } });
    expect(prod.resources).toEqual({ requests: { cpu: '200m', memory: '512Mi' } });
    for (const values of [dev, prod]) {
      for (const workload of [
        values.operator,
        values.envoy,
        values.hubble.relay,
        values.hubble.ui.frontend,
        values.hubble.ui.backend,
      ]) {
        expect(Object.keys(workload.resources.requests).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(workload.resources.limits)).toEqual(['memory']);
      }
    }
  });

  test('refuses a Cilium release on a Kubernetes version it is not tested on, naming the range and what fits', () => {
    const { issues } = runCilium(
      testDefinition(
        referenceClusters().map((cluster) => ({ ...cluster, kubernetes: { version: '1.34.4' } })),
        { components: { cilium: { version: '1.18.12' } } },
      ),
    );
    const versionIssues = issues.filter((issue) => issue.code === 'cilium-kubernetes-version');
    expect(versionIssues).toHaveLength(3);
    expect(versionIssues[0]).toMatchObject({
      path: ['clusters', 0, 'kubernetes', 'version'],
      value: '1.34.4',
      message: 'is outside what Cilium 1.18.12 is tested on (Kubernetes 1.30 to 1.33)',
      expected:
        'Kubernetes 1.30 to 1.33, or components.cilium.version 1.19.6 or 1.20.0 (it supports 1.34)',
    });
  });

  test('the default release fits the reference Kubernetes 1.34', () => {
    expect(output.chart?.dependency?.version).toBe('1.19.6');
    expect(CILIUM_RELEASES['1.19.6'].kubernetes).toEqual([32, 35]);
  });
});
