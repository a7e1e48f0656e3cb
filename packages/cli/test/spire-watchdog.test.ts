// Where the SPIRE server keeps its data in its container (staging and prod of the reference), a
// power cut or an OOM kill starts it empty and cilium-operator registers no identity again until
// it restarts: the SPIRE watchdog CronJob does that without a human. Put back broken,
// `cilium-spire-watchdog` stops the build.
import type { DeployedApplication, KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import {
  broken,
  found,
  inside,
  type Loose,
  withApplications,
  withObject,
  withValues,
} from './broken-output.js';

const CHECK = 'cilium-spire-watchdog';

/** The messages of the check's issues (cluster first), after `alter`. */
async function messages(alter: Parameters<typeof broken>[0]): Promise<string[]> {
  const issues = found(await broken(alter), CHECK);
  for (const issue of issues) expect(issue.at).toBe(inside('cilium:'));
  return issues.map((issue) => issue.message);
}

/** Cilium's Application on `cluster` without the objects `drop` selects. */
const dropping = (cluster: string, drop: (object: KubeObject) => boolean) =>
  withApplications(
    cluster,
    (app): DeployedApplication =>
      app.component === 'cilium'
        ? { ...app, objects: app.objects.filter(({ object }) => !drop(object)) }
        : app,
  );

const cronJob = (change: (object: Loose) => void) =>
  withObject('prod', 'CronJob', 'spire-watchdog', (object) => {
    change(object);
    return object;
  });

describe('cilium-spire-watchdog', { timeout: 120_000 }, () => {
  it('the reference deploys the watchdog wherever SPIRE runs without its data on a claim', async () => {
    expect(await messages((input) => input)).toEqual([]);
  });

  it('without the CronJob, each cluster with SPIRE is reported', async () => {
    const alter = (input: Parameters<Parameters<typeof broken>[0]>[0]) =>
      ['staging', 'prod'].reduce(
        (out, cluster) => dropping(cluster, (object) => object.kind === 'CronJob')(out),
        input,
      );
    const issues = await messages(alter);
    // One issue for both clusters, as the pipeline words per-cluster issues that read alike.
    expect(issues).toEqual([
      expect.stringMatching(
        /^clusters "prod" and "staging": the SPIRE server keeps its data in its container, and nothing restarts the SPIRE agents and cilium-operator/,
      ),
    ]);
  });

  it('a script that restarts the operator before the agents (or not at all) is no watchdog', async () => {
    const issues = await messages(
      cronJob((object) => {
        const container = object.spec.jobTemplate.spec.template.spec.containers[0];
        container.command = [
          '/bin/sh',
          '-c',
          'kubectl -n kube-system rollout restart deployment/cilium-operator && kubectl -n cilium-spire rollout restart daemonset/spire-agent',
        ];
      }),
    );
    expect(issues).toEqual([expect.stringMatching(/^cluster "prod": .*nothing restarts/)]);
  });

  it('a suspended watchdog, or one that may run twice at once, is reported', async () => {
    const issues = await messages(
      cronJob((object) => {
        object.spec.suspend = true;
        object.spec.concurrencyPolicy = 'Allow';
      }),
    );
    expect(issues).toEqual([
      'cluster "prod": the SPIRE watchdog spire-watchdog may run twice at once (concurrencyPolicy Allow): two runs restart the workloads twice',
      'cluster "prod": the SPIRE watchdog spire-watchdog is suspended',
    ]);
  });

  it("without the operator's Role, or with the patch taken out of it, the restart would be refused", async () => {
    const withoutRole = await messages(
      dropping(
        'prod',
        (object) => object.kind === 'Role' && object.metadata.namespace === 'kube-system',
      ),
    );
    expect(withoutRole).toEqual([
      'cluster "prod": the SPIRE watchdog\'s service account cilium-spire/spire-watchdog may not patch deployments/cilium-operator in kube-system: its restart is refused',
    ]);
    const wrongName = await messages(
      withApplications('prod', (app) => ({
        ...app,
        objects: app.objects.map((item) =>
          item.object.kind === 'Role' && item.object.metadata.namespace === 'cilium-spire'
            ? {
                ...item,
                object: {
                  ...item.object,
                  rules: [
                    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
                    {
                      apiGroups: ['apps'],
                      resources: ['daemonsets'],
                      resourceNames: ['spire-server'],
                      verbs: ['get', 'list', 'watch', 'patch'],
                    },
                  ],
                },
              }
            : item,
        ),
      })),
    );
    expect(wrongName).toEqual([
      expect.stringContaining('may not patch daemonsets/spire-agent in cilium-spire'),
    ]);
  });

  it('a watchdog that may exec into pods (the SPIRE server: minting SVIDs) is reported', async () => {
    const issues = await messages(
      withObject('prod', 'Role', 'spire-watchdog', (object) =>
        object.metadata.namespace === 'cilium-spire'
          ? {
              ...object,
              rules: [
                ...(object.rules as Loose[]),
                { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
              ],
            }
          : object,
      ),
    );
    expect(issues).toEqual([
      'cluster "prod": the SPIRE watchdog\'s service account cilium-spire/spire-watchdog may exec into pods in cilium-spire: into the SPIRE server, its credential could mint SVIDs',
    ]);
  });

  it('nothing is asked where the SPIRE server keeps its data on a claim', async () => {
    const issues = await messages((input) =>
      ['staging', 'prod'].reduce(
        (out, cluster) =>
          withValues(`charts/cilium/clusters/${cluster}.yaml`, (values: Loose) => {
            values.cilium.authentication.mutual.spire.install.server.dataStorage.enabled = true;
          })(dropping(cluster, (object) => object.kind === 'CronJob')(out)),
        input,
      ),
    );
    expect(issues).toEqual([]);
  });
});
