// Checks of the generated Applications and AppProjects. Pure: objects in, issues out.
import type { Issue, KubeObject, ObjectValidator, PathSegment } from '@homelab/core';
import { error, list, record } from '@homelab/core';
// Single-model imports: the group indexes load every model of the API (hundreds of modules).
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';

/** A generated object, where it is generated (file and key) and what in the definition made it. */
export interface LocatedObject {
  readonly output: string;
  readonly origin: readonly PathSegment[];
  readonly object: KubeObject;
}

type Json = unknown;

function text(value: Json): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isKind(object: KubeObject, kind: string): boolean {
  return object.apiVersion === 'argoproj.io/v1alpha1' && object.kind === kind;
}

type Model = new (data: never) => { validate(): void };

function modelValidator(apiVersion: string, kind: string, model: Model): ObjectValidator {
  return {
    apiVersion,
    kind,
    validate(object) {
      try {
        new model(object as never).validate();
        return [];
      } catch (cause) {
        return [cause instanceof Error ? cause.message : String(cause)];
      }
    },
  };
}

/**
 * Validators for core's `validateObjects`: Argo CD's Application and AppProject (the models of
 * `@kubernetes-models/argo-cd`, from Argo CD v3's Go types) and the Gateway API HTTPRoute
 * of charts/argo-cd (`@kubernetes-models/gateway-api`).
 */
export const argocdValidators: readonly ObjectValidator[] = [
  modelValidator('argoproj.io/v1alpha1', 'Application', Application),
  modelValidator('argoproj.io/v1alpha1', 'AppProject', AppProject),
  modelValidator('gateway.networking.k8s.io/v1', 'HTTPRoute', HTTPRoute),
];

/**
 * Every Application and AppProject against Argo CD's API types (the models of
 * `@kubernetes-models/argo-cd`, generated from Argo CD v3's Go types).
 */
export function validateArgoObjects(objects: readonly LocatedObject[]): Issue[] {
  const issues: Issue[] = [];
  for (const { output, origin, object } of objects) {
    const validator = argocdValidators.find(
      (candidate) => candidate.apiVersion === object.apiVersion && candidate.kind === object.kind,
    );
    if (validator === undefined || !isKind(object, object.kind)) continue;
    for (const problem of validator.validate(object)) {
      issues.push(
        error({
          code: 'argocd-schema',
          path: origin,
          output,
          value: object.metadata.name,
          message: `${object.kind} does not match the Argo CD API: ${typeof problem === 'string' ? problem : `${problem.path}: ${problem.message}`}`,
          expected: `a valid argoproj.io/v1alpha1 ${object.kind}`,
        }),
      );
    }
  }
  return issues;
}

/**
 * Applications that deploy from the platform repository must point at a chart the build
 * generates (`charts/<chart>` with a Chart.yaml) and at value files that exist in it, and never
 * render without one of them (`ignoreMissingValueFiles`).
 * `files` holds the generated paths relative to the output root.
 */
export function checkApplicationSources(
  objects: readonly LocatedObject[],
  repositoryUrl: string,
  files: ReadonlySet<string>,
): Issue[] {
  const issues: Issue[] = [];
  for (const { output, origin, object } of objects) {
    if (!isKind(object, 'Application')) continue;
    const source = record(record(object.spec).source);
    if (text(source.repoURL) !== repositoryUrl) continue;
    const chartPath = text(source.path) ?? '';
    const chart = /^charts\/([a-z0-9][-a-z0-9]*)$/.exec(chartPath)?.[1];
    if (chart === undefined || !files.has(`charts/${chart}/Chart.yaml`)) {
      issues.push(
        error({
          code: 'application-path',
          path: origin,
          output: `${output}.spec.source.path`,
          value: chartPath,
          message: `Application ${object.metadata.name} points at a path that is not a generated chart`,
          expected: 'charts/<chart> of a chart this build generates',
        }),
      );
      continue;
    }
    // Argo CD v3.4.4's repo-server skips a missing value file only with this flag
    // (reposerver/repository/repository.go, getResolvedValueFiles); without it Helm fails.
    if (record(source.helm).ignoreMissingValueFiles === true) {
      issues.push(
        error({
          code: 'application-missing-values-ignored',
          path: origin,
          output: `${output}.spec.source.helm.ignoreMissingValueFiles`,
          value: true,
          message: `Application ${object.metadata.name} renders charts/${chart} even where one of its value files is missing: a cluster's layer deleted by a build (the cluster removed or renamed) would render the chart without that cluster's values, and the Application's automated prune would then delete what the layer deployed (through the platform's Applications, each with its finalizer, everything on the cluster)`,
          expected:
            'no ignoreMissingValueFiles: a missing value file fails the render, and Argo CD changes nothing on the cluster',
        }),
      );
    }
    list(record(source.helm).valueFiles).forEach((valueFile, index) => {
      const file = text(valueFile) ?? '';
      if (!files.has(`charts/${chart}/${file}`)) {
        issues.push(
          error({
            code: 'application-value-file',
            path: origin,
            output: `${output}.spec.source.helm.valueFiles[${index}]`,
            value: file,
            message: `Application ${object.metadata.name} lists a value file that charts/${chart} does not have`,
            expected: `a file of charts/${chart} (env/<environment>.yaml or clusters/<cluster>.yaml)`,
          }),
        );
      }
    });
  }
  return issues;
}

/** Argo CD's glob: `*` matches any run of characters. */
function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(value);
}

/** Argo CD compares repository URLs without a trailing `.git` or `/`, case-insensitively. */
function normaliseRepo(url: string): string {
  return url
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/**
 * Every Application's project exists among the objects and permits its source repository and
 * its destination (server and namespace); no project allows `*` on cluster-scoped resources.
 */
export function checkProjectPermissions(objects: readonly LocatedObject[]): Issue[] {
  const issues: Issue[] = [];
  // Projects are per cluster: an Application sees the projects generated in the same file
  // (its cluster's layer of charts/platform, or its root-application.yaml).
  const fileOf = (output: string): string => output.split('#')[0] ?? output;
  const projects = new Map<string, LocatedObject>();
  const projectKey = (output: string, name: string): string => `${fileOf(output)}\u0000${name}`;
  for (const located of objects) {
    if (!isKind(located.object, 'AppProject')) continue;
    projects.set(projectKey(located.output, located.object.metadata.name), located);
    list(record(located.object.spec).clusterResourceWhitelist).forEach((entry, index) => {
      const { group, kind } = record(entry);
      if (group === '*' || kind === '*') {
        issues.push(
          error({
            code: 'project-wildcard',
            path: located.origin,
            output: `${located.output}.spec.clusterResourceWhitelist[${index}]`,
            value: `${String(group)}/${String(kind)}`,
            message: `AppProject ${located.object.metadata.name} allows every cluster-scoped kind`,
            expected: 'the exact group and kind of each cluster-scoped resource',
          }),
        );
      }
    });
  }

  for (const { output, origin, object } of objects) {
    if (!isKind(object, 'Application')) continue;
    const spec = record(object.spec);
    const projectName = text(spec.project) ?? '';
    const project = projects.get(projectKey(output, projectName));
    if (project === undefined) {
      issues.push(
        error({
          code: 'application-project',
          path: origin,
          output: `${output}.spec.project`,
          value: projectName,
          message: `Application ${object.metadata.name} uses a project that is not generated`,
          expected:
            [...projects.values()]
              .filter((candidate) => fileOf(candidate.output) === fileOf(output))
              .map((candidate) => candidate.object.metadata.name)
              .sort()
              .join(', ') || 'a generated AppProject',
        }),
      );
      continue;
    }
    const projectSpec = record(project.object.spec);
    const repoURL = text(record(spec.source).repoURL) ?? '';
    const repos = list(projectSpec.sourceRepos).map((repo) => text(repo) ?? '');
    if (!repos.some((repo) => globMatch(normaliseRepo(repo), normaliseRepo(repoURL)))) {
      issues.push(
        error({
          code: 'project-source',
          path: origin,
          output: `${output}.spec.source.repoURL`,
          value: repoURL,
          message: `is not among the source repositories of project ${projectName}`,
          expected: repos.join(', ') || 'a permitted repository',
        }),
      );
    }
    const destination = record(spec.destination);
    const server = text(destination.server) ?? '';
    const namespace = text(destination.namespace) ?? '';
    const permitted = list(projectSpec.destinations).some((entry) => {
      const allowed = record(entry);
      return (
        globMatch(text(allowed.server) ?? '', server) &&
        globMatch(text(allowed.namespace) ?? '', namespace)
      );
    });
    if (!permitted) {
      issues.push(
        error({
          code: 'project-destination',
          path: origin,
          output: `${output}.spec.destination`,
          value: `${server} ${namespace}`,
          message: `is not a destination project ${projectName} permits`,
          expected: list(projectSpec.destinations)
            .map((entry) => `${String(record(entry).server)} ${String(record(entry).namespace)}`)
            .join(', '),
        }),
      );
    }
  }
  return issues;
}
