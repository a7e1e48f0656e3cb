import type { KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { REPO } from '../test/fleet.js';
import {
  argocdValidators,
  checkApplicationSources,
  checkProjectPermissions,
  type LocatedObject,
  validateArgoObjects,
} from './checks.js';

function application(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'dev-longhorn', namespace: 'argocd' },
    spec: {
      project: 'platform',
      destination: { server: 'https://kubernetes.default.svc', namespace: 'longhorn-system' },
      source: {
        repoURL: REPO,
        path: 'charts/longhorn',
        targetRevision: 'main',
        helm: { valueFiles: ['env/development.yaml', 'clusters/dev.yaml'] },
      },
      ...spec,
    } as KubeObject['spec'],
  };
}

function project(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: { name: 'platform', namespace: 'argocd' },
    spec: {
      sourceRepos: [REPO],
      destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'longhorn-system' }],
      clusterResourceWhitelist: [{ group: 'storage.k8s.io', kind: 'StorageClass' }],
      ...spec,
    } as KubeObject['spec'],
  };
}

const ORIGIN = ['clusters', 0, 'components', 'longhorn'];

const at = (object: KubeObject, output = 'x'): LocatedObject => ({
  output,
  origin: ORIGIN,
  object,
});

const FILES = new Set([
  'charts/longhorn/Chart.yaml',
  'charts/longhorn/env/development.yaml',
  'charts/longhorn/clusters/dev.yaml',
]);

describe('validateArgoObjects', () => {
  it('accepts a well-formed Application and AppProject', () => {
    expect(validateArgoObjects([at(application()), at(project())])).toEqual([]);
  });

  it('refuses an Application whose fields have the wrong type', () => {
    const broken = application({ source: { repoURL: 42, path: 'charts/longhorn' } });
    const issues = validateArgoObjects([at(broken, 'charts/platform#manifests.x')]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'argocd-schema',
      path: ORIGIN,
      output: 'charts/platform#manifests.x',
      value: 'dev-longhorn',
    });
    expect(issues[0]?.message).toContain('repoURL must be string');
  });

  it('refuses an AppProject without its required fields', () => {
    const broken = project({ destinations: [{ server: 7 }] });
    expect(validateArgoObjects([at(broken)]).map((issue) => issue.code)).toEqual(['argocd-schema']);
  });

  it('offers validators for Application, AppProject and HTTPRoute to core', () => {
    expect(
      argocdValidators.map((validator) => `${validator.apiVersion} ${validator.kind}`),
    ).toEqual([
      'argoproj.io/v1alpha1 Application',
      'argoproj.io/v1alpha1 AppProject',
      'gateway.networking.k8s.io/v1 HTTPRoute',
    ]);
    const route = argocdValidators[2];
    expect(
      route?.validate({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r' },
        spec: { hostnames: 'x' },
      }),
    ).toHaveLength(1);
  });
});

describe('checkApplicationSources', () => {
  it('accepts an Application whose chart and value files are generated', () => {
    expect(checkApplicationSources([at(application())], REPO, FILES)).toEqual([]);
  });

  it('refuses a path that is not a generated chart', () => {
    const broken = application({
      source: { repoURL: REPO, path: 'charts/longhron', targetRevision: 'main' },
    });
    const issues = checkApplicationSources([at(broken, 'p')], REPO, FILES);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'application-path',
        path: ORIGIN,
        output: 'p.spec.source.path',
        value: 'charts/longhron',
      }),
    ]);
  });

  it('refuses a value file the chart does not have', () => {
    const broken = application({
      source: {
        repoURL: REPO,
        path: 'charts/longhorn',
        targetRevision: 'main',
        helm: { valueFiles: ['env/development.yaml', 'clusters/staging.yaml'] },
      },
    });
    const issues = checkApplicationSources([at(broken, 'p')], REPO, FILES);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'application-value-file',
        path: ORIGIN,
        output: 'p.spec.source.helm.valueFiles[1]',
        value: 'clusters/staging.yaml',
      }),
    ]);
  });

  it('refuses an Application that renders its chart without a missing value file', () => {
    const lenient = application({
      source: {
        repoURL: REPO,
        path: 'charts/longhorn',
        targetRevision: 'main',
        helm: {
          valueFiles: ['env/development.yaml', 'clusters/dev.yaml'],
          ignoreMissingValueFiles: true,
        },
      },
    });
    expect(checkApplicationSources([at(lenient, 'p')], REPO, FILES)).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'application-missing-values-ignored',
        path: ORIGIN,
        output: 'p.spec.source.helm.ignoreMissingValueFiles',
        value: true,
      }),
    ]);
    // false is Argo CD's default: the render fails on a missing file.
    const strict = application({
      source: {
        repoURL: REPO,
        path: 'charts/longhorn',
        targetRevision: 'main',
        helm: {
          valueFiles: ['env/development.yaml', 'clusters/dev.yaml'],
          ignoreMissingValueFiles: false,
        },
      },
    });
    expect(checkApplicationSources([at(strict, 'p')], REPO, FILES)).toEqual([]);
  });

  it('leaves sources from other repositories alone', () => {
    const external = application({
      source: {
        repoURL: 'https://github.com/kubernetes-sigs/gateway-api',
        path: 'config/crd/standard',
      },
    });
    expect(checkApplicationSources([at(external)], REPO, FILES)).toEqual([]);
  });
});

describe('checkProjectPermissions', () => {
  it('accepts an Application its project permits', () => {
    expect(checkProjectPermissions([at(application()), at(project())])).toEqual([]);
  });

  it('refuses a source repository the project does not list', () => {
    const issues = checkProjectPermissions([
      at(application()),
      at(project({ sourceRepos: ['https://git.example.com/other.git'] })),
    ]);
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['project-source', 'x.spec.source.repoURL', REPO],
    ]);
  });

  it('compares repositories as Argo CD does: without .git or a trailing slash, in any case', () => {
    const permissive = project({ sourceRepos: ['https://GIT.example.com/homelab/platform/'] });
    expect(checkProjectPermissions([at(application()), at(permissive)])).toEqual([]);
    const glob = project({ sourceRepos: ['https://git.example.com/homelab/*'] });
    expect(checkProjectPermissions([at(application()), at(glob)])).toEqual([]);
  });

  it('refuses a destination namespace the project does not list', () => {
    const issues = checkProjectPermissions([
      at(application()),
      at(
        project({
          destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'kube-system' }],
        }),
      ),
    ]);
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'project-destination',
        'x.spec.destination',
        'https://kubernetes.default.svc longhorn-system',
      ],
    ]);
  });

  it('refuses a project that is not generated', () => {
    const issues = checkProjectPermissions([
      at(application({ project: 'default' })),
      at(project()),
    ]);
    expect(issues).toEqual([
      expect.objectContaining({ code: 'application-project', value: 'default' }),
    ]);
  });

  it('refuses a wildcard on cluster-scoped resources', () => {
    const issues = checkProjectPermissions([
      at(project({ clusterResourceWhitelist: [{ group: '*', kind: '*' }] }), 'proj'),
    ]);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'project-wildcard',
        path: ORIGIN,
        output: 'proj.spec.clusterResourceWhitelist[0]',
      }),
    ]);
  });
});
