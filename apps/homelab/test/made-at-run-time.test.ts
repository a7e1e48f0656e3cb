// The Secrets upstream jobs make at run time (helm/made-at-run-time.ts), which the Helm suite's
// pod-reference check counts as made: read from jobs shaped as the pinned charts render them.
import { unresolvedPodReferences } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { secretsMadeByJob } from './helm/made-at-run-time.js';

/** cilium 1.19.6 `templates/hubble/tls-cronjob/_job-spec.tpl`, as Helm renders it with the relay on. */
const certgen = (kind: 'Job' | 'CronJob', generateCA: boolean) => {
  const pod = {
    containers: [
      {
        name: 'certgen',
        command: ['/usr/bin/cilium-certgen'],
        args: [
          `--ca-generate=${String(generateCA)}`,
          '--ca-reuse-secret',
          '--ca-secret-namespace=kube-system',
          '--ca-secret-name=cilium-ca',
          '--ca-common-name=Cilium CA',
        ],
        env: [
          {
            name: 'CILIUM_CERTGEN_CONFIG',
            value:
              'certs:\n- name: hubble-server-certs\n  namespace: kube-system\n  commonName: "*.default.hubble-grpc.cilium.io"\n' +
              '  validity: 26280h\n- name: hubble-relay-client-certs\n  namespace: kube-system\n' +
              '  commonName: "*.hubble-relay.cilium.io"\n  validity: 26280h\n',
          },
        ],
      },
    ],
  };
  const template = { spec: pod };
  return {
    apiVersion: 'batch/v1',
    kind,
    metadata: { name: 'hubble-generate-certs', namespace: 'kube-system' },
    spec: kind === 'Job' ? { template } : { jobTemplate: { spec: { template } } },
  };
};

/** argo-cd 10.1.1 `templates/redis-secret-init/job.yaml`, as Helm renders it. */
const redisSecretInit = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {
    name: 'argocd-redis-secret-init',
    annotations: { 'helm.sh/hook': 'pre-install,pre-upgrade' },
  },
  spec: {
    template: {
      spec: {
        containers: [
          { name: 'secret-init', command: ['argocd', 'admin', 'redis-initial-password'] },
        ],
      },
    },
  },
};

describe('secretsMadeByJob', () => {
  it("reads Cilium's certgen: each certificate of its config with the TLS keys, and its CA when it generates one", () => {
    expect(secretsMadeByJob(certgen('Job', true), 'elsewhere')).toEqual([
      {
        kind: 'Secret',
        namespace: 'kube-system',
        name: 'hubble-server-certs',
        keys: ['ca.crt', 'tls.crt', 'tls.key'],
      },
      {
        kind: 'Secret',
        namespace: 'kube-system',
        name: 'hubble-relay-client-certs',
        keys: ['ca.crt', 'tls.crt', 'tls.key'],
      },
      { kind: 'Secret', namespace: 'kube-system', name: 'cilium-ca', keys: ['ca.crt', 'ca.key'] },
    ]);
    // The CronJob renews the same certificates; without --ca-generate=true the CA is not its own.
    expect(
      secretsMadeByJob(certgen('CronJob', false), 'kube-system').map(({ name }) => name),
    ).toEqual(['hubble-server-certs', 'hubble-relay-client-certs']);
  });

  it("reads Argo CD's redis-secret-init: argocd-redis with key auth, in the namespace the job is applied to", () => {
    expect(secretsMadeByJob(redisSecretInit, 'argocd')).toEqual([
      { kind: 'Secret', namespace: 'argocd', name: 'argocd-redis', keys: ['auth'] },
    ]);
  });

  it('makes nothing for other jobs and other kinds', () => {
    const other = structuredClone(redisSecretInit);
    other.spec.template.spec.containers[0] = {
      name: 'x',
      command: ['argocd', 'admin', 'settings'],
    };
    expect(secretsMadeByJob(other, 'argocd')).toEqual([]);
    expect(secretsMadeByJob({ ...redisSecretInit, kind: 'Deployment' }, 'argocd')).toEqual([]);
  });

  it("is what resolves hubble-relay's certificate Secret: without the job it is missing", () => {
    const relay = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hubble-relay', namespace: 'kube-system' },
      spec: {
        template: {
          spec: {
            volumes: [
              {
                name: 'tls',
                projected: {
                  sources: [
                    {
                      secret: {
                        name: 'hubble-relay-client-certs',
                        items: [{ key: 'tls.crt' }, { key: 'tls.key' }, { key: 'ca.crt' }],
                      },
                    },
                  ],
                },
              },
            ],
            containers: [{ name: 'hubble-relay' }],
          },
        },
      },
    };
    const items = [{ namespace: 'kube-system', object: relay }];
    expect(
      unresolvedPodReferences(items, secretsMadeByJob(certgen('Job', true), 'kube-system')),
    ).toEqual([]);
    expect(unresolvedPodReferences(items, []).map(({ problem }) => problem)).toEqual([
      'no Secret kube-system/hubble-relay-client-certs',
    ]);
  });
});
