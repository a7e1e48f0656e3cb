// The reference platform broken on purpose: its definition edited, or its generated output
// changed just before the system checks read it (`generate`'s `beforeSystemChecks`), and the
// errors the real pipeline reports, with the definition's file:line:col. Shared by the tests that
// put known faults back (issue-9-regressions.test.ts, field-notes.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DeployedApplication,
  type DeployedCluster,
  type DeployedObject,
  type Issue,
  type KubeObject,
  parseYaml,
  type SystemInput,
  type SystemReport,
  toYaml,
} from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { generate } from '../src/pipeline.js';

export const FILE = 'platform.yaml';
export const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

export type Alter = (input: SystemInput) => SystemInput;

export async function errorsOf(text: string, alter?: Alter): Promise<Issue[]> {
  const result = await generate(
    { text, file: FILE, chartVersions: {} },
    alter === undefined ? {} : { beforeSystemChecks: alter },
  );
  return result.issues.filter((issue) => issue.severity === 'error');
}

/**
 * `text` built as it is: every issue, the system checks' reports, and the objects of each
 * cluster's Applications as the checks were given them.
 */
export async function generateSeen(text: string): Promise<{
  issues: Issue[];
  reports: SystemReport[];
  objects: (cluster: string) => KubeObject[];
}> {
  let seen: SystemInput | undefined;
  const result = await generate(
    { text, file: FILE, chartVersions: {} },
    {
      beforeSystemChecks: (input) => {
        seen = input;
        return input;
      },
    },
  );
  return {
    issues: [...result.issues],
    reports: result.reports?.() ?? [],
    objects: (cluster) =>
      (seen?.clusters.find((deployed) => deployed.cluster.name === cluster)?.applications ?? [])
        .flatMap((app) => app.objects)
        .map((item) => item.object),
  };
}

/** The errors of the reference platform with `alter` applied to its generated output. */
export function broken(alter: Alter): Promise<Issue[]> {
  return errorsOf(reference, alter);
}

/** code, file:line:col, output, message of each issue with `code`. */
export function found(issues: readonly Issue[], code: string) {
  return issues
    .filter((issue) => issue.code === code)
    .map((issue) => ({
      at:
        issue.position === undefined
          ? undefined
          : `${issue.position.file}:${issue.position.line}:${issue.position.column}`,
      output: issue.output,
      message: issue.message,
    }));
}

/** The 1-based line of the first line holding `needle` at or after the line holding `after`. */
export function lineOf(needle: string, after?: string): number {
  const lines = reference.split('\n');
  const start = after === undefined ? 0 : lines.findIndex((line) => line.includes(after));
  const index = lines.findIndex((line, i) => i >= start && line.includes(needle));
  if (start < 0 || index < 0) throw new Error(`"${needle}" is not in the definition`);
  return index + 1;
}

/** `file:line:col` of the first key inside the mapping `needle` opens (after `after`). */
export function inside(needle: string, after?: string): string {
  const lines = reference.split('\n');
  let index = lineOf(needle, after);
  while ((lines[index] as string).trim().startsWith('#')) index++;
  const text = lines[index] as string;
  return `${FILE}:${index + 1}:${text.length - text.trimStart().length + 1}`;
}

/** `file:line:col` of the value of the first `key: value` line holding `needle`. */
export function valueAt(needle: string, after?: string): string {
  const line = lineOf(needle, after);
  const text = reference.split('\n')[line - 1] as string;
  return `${FILE}:${line}:${text.indexOf(': ') + 3}`;
}

export const DEV = '  - name: dev';
export const STAGING = '  - name: staging';
export const PROD = '  - name: prod';

export function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`"${from}" is not in the text`);
  return text.replace(from, to);
}

// --- changing the generated output --------------------------------------------------------------

export function withFile(path: string, change: (content: string) => string): Alter {
  return (input) => {
    if (!input.files.some((file) => file.path === path)) throw new Error(`${path} not generated`);
    return {
      ...input,
      files: input.files.map((file) =>
        file.path === path ? { ...file, content: change(file.content) } : file,
      ),
    };
  };
}

export function withApplications(
  cluster: string,
  change: (app: DeployedApplication) => DeployedApplication,
): Alter {
  return (input) => ({
    ...input,
    clusters: input.clusters.map(
      (deployed): DeployedCluster =>
        deployed.cluster.name === cluster
          ? { ...deployed, applications: deployed.applications.map(change) }
          : deployed,
    ),
  });
}

export function withObject(
  cluster: string,
  kind: string,
  name: string,
  change: (object: KubeObject) => KubeObject,
): Alter {
  let seen = false;
  const alter = withApplications(cluster, (app) => ({
    ...app,
    objects: app.objects.map((item): DeployedObject => {
      if (item.object.kind !== kind || item.object.metadata.name !== name) return item;
      seen = true;
      return { ...item, object: change(structuredClone(item.object)) };
    }),
  }));
  return (input) => {
    const out = alter(input);
    if (!seen) throw new Error(`no ${kind} ${name} on cluster ${cluster}`);
    return out;
  };
}

/** A values file of a chart, parsed, changed and written back. */
export function withValues(path: string, change: (values: Loose) => void): Alter {
  return withFile(path, (content) => {
    const values = parseYaml(content) as Loose;
    change(values);
    return toYaml(values);
  });
}

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type Loose = any;
