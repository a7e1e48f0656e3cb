import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  podSpecOf,
  readUpstream,
  readVendoredChartFile,
  repoRoot,
  restrictedProblems,
  upstreamReference,
  vendored,
} from './testing.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('vendored upstream data for tests', () => {
  // The expected digests are those of the files as published inside each pinned chart archive
  // (sha256 of the extracted file, taken once when the pins were vendored).
  it.each([
    [
      'cilium',
      '1.18.12',
      'values.yaml',
      '8be6251e71714fdbb19e38e8c55284098d624da97dc375ec8cb820e0e3b5e020',
    ],
    [
      'longhorn',
      '1.8.1',
      'templates/crds.yaml',
      '59f42ae9060a63ce9273ccd065eeefd9707fb14b633b7bed2471c3e5c4fffa10',
    ],
    [
      'argo-cd',
      '10.1.1',
      'values.yaml',
      '8ee687712e738650ab9e7f3e2d1f4fb4ad877e26a8eaed539f957e1d66872086',
    ],
    [
      'sm-operator',
      '2.0.3',
      'values.schema.json',
      'cb202219ad9c4f5d8b29d500db38ebf4d4124cb8ab90d7b8a11624e47986e678',
    ],
  ])('reads %s %s %s verbatim out of its chart archive', (chart, version, file, digest) => {
    expect(sha256(readVendoredChartFile(chart, version, file))).toBe(digest);
  });

  it('resolves upstream files under vendor/upstream of this repository', () => {
    expect(upstreamReference('talos', 'v1.12.11', 'config.schema.json')).toBe(
      join(repoRoot(), 'vendor/upstream/talos/v1.12.11/config.schema.json'),
    );
    expect(JSON.parse(readUpstream('talos', 'v1.12.11', 'config.schema.json')).$id).toBe(
      'https://talos.dev/v1.12/schemas/config.schema.json',
    );
  });

  it('fails loudly, naming the path, when an artifact is not vendored', () => {
    expect(() => vendored('charts', 'nope')).toThrow(
      `vendored upstream artifact not found: ${join(repoRoot(), 'vendor/charts/nope')}`,
    );
    expect(() => readVendoredChartFile('cilium', '0.0.1', 'values.yaml')).toThrow(
      'vendor/charts/cilium/0.0.1/cilium-0.0.1.tgz',
    );
  });

  it('names the chart file that is not in the archive', () => {
    expect(() => readVendoredChartFile('cilium', '1.18.12', 'valuez.yaml')).toThrow(
      'cilium/valuez.yaml is not in the chart archive',
    );
  });
});

describe('restrictedProblems (Pod Security Standard restricted)', () => {
  const compliant = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
  };

  it('passes a pod that runs as non-root, drops every capability and uses RuntimeDefault', () => {
    expect(restrictedProblems(compliant)).toEqual([]);
  });

  it('names every rule a pod breaks', () => {
    const pod = {
      hostNetwork: true,
      containers: [
        {
          name: 'app',
          securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
          ports: [{ containerPort: 80, hostPort: 80 }],
        },
      ],
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
    };
    expect(restrictedProblems(pod)).toEqual([
      'hostNetwork is true',
      'volume root is of type hostPath',
      'container app is privileged',
      'container app does not set allowPrivilegeEscalation: false',
      'container app does not run as non-root',
      'container app has no RuntimeDefault seccomp profile',
      'container app does not drop ALL capabilities',
      'container app adds capability NET_ADMIN',
      'container app uses host port 80',
    ]);
  });

  it('finds the pod spec of workloads', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { spec: compliant } },
    };
    expect(podSpecOf(deployment)).toBe(compliant);
    expect(podSpecOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })).toBe(
      undefined,
    );
  });
});
