// The SPIRE watchdog: where mutual authentication is on, a CronJob restarts the SPIRE agents and
// cilium-operator after a new SPIRE server container (an OOM kill, a reboot, a power cut), with
// the least rights that takes; its script's decisions run against a stand-in kubectl.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { testDefinition } from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { SPIRE_WATCHDOG_SCRIPT } from '../src/spire-watchdog.js';
import { KUBECTL_IMAGE } from '../src/versions.js';
import { type AnyJson, referenceClusters, runCilium } from './helpers.js';

const run = runCilium(testDefinition(referenceClusters()));
const watchdog = (cluster: string): AnyJson[] =>
  (run.rendered[cluster]?.objects ?? []).filter(
    (object) => object.metadata.name === 'spire-watchdog',
  );
const one = (cluster: string, kind: string, namespace = 'cilium-spire'): AnyJson =>
  watchdog(cluster).find(
    (object) => object.kind === kind && object.metadata.namespace === namespace,
  );

describe('the SPIRE watchdog objects', () => {
  test('exist where mutual authentication is on (staging, prod), never in development', () => {
    expect(watchdog('dev')).toEqual([]);
    for (const cluster of ['staging', 'prod']) {
      expect(
        watchdog(cluster)
          .map((object) => `${object.kind} ${object.metadata.namespace}`)
          .sort(),
      ).toEqual([
        'CronJob cilium-spire',
        'Role cilium-spire',
        'Role kube-system',
        'RoleBinding cilium-spire',
        'RoleBinding kube-system',
        'ServiceAccount cilium-spire',
      ]);
    }
  });

  test('every object is part of cilium and prunable although the Application is critical', () => {
    for (const object of watchdog('prod')) {
      expect(object.metadata.labels['app.kubernetes.io/part-of']).toBe('cilium');
      expect(object.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=true');
    }
  });

  test('the CronJob runs every two minutes, one run at a time, bounded, restricted', () => {
    const cronJob = one('prod', 'CronJob');
    expect(cronJob.spec).toMatchObject({
      schedule: '*/2 * * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 60,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
    });
    const job = cronJob.spec.jobTemplate.spec;
    expect(job.backoffLimit).toBe(0);
    expect(job.activeDeadlineSeconds).toBe(600);
    const pod = job.template.spec;
    expect(job.template.metadata.labels).toEqual({
      'app.kubernetes.io/component': 'spire-recovery',
      'app.kubernetes.io/name': 'spire-watchdog',
      'app.kubernetes.io/part-of': 'cilium',
    });
    expect(pod.serviceAccountName).toBe('spire-watchdog');
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers).toHaveLength(1);
    const [container] = pod.containers;
    expect(container.image).toBe(KUBECTL_IMAGE);
    expect(KUBECTL_IMAGE).toMatch(/^docker\.io\/alpine\/kubectl:1\.\d+\.\d+$/);
    expect(container.command).toEqual(['/bin/sh', '-c', SPIRE_WATCHDOG_SCRIPT]);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources).toEqual({
      requests: { cpu: '10m', memory: '64Mi' },
      limits: { memory: '128Mi' },
    });
    expect(container.env).toEqual([{ name: 'HOME', value: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
  });

  test('its rights: list pods, and read, watch and patch only the agents and the operator, by name', () => {
    expect(one('prod', 'Role').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      {
        apiGroups: ['apps'],
        resources: ['daemonsets'],
        resourceNames: ['spire-agent'],
        verbs: ['get', 'list', 'watch', 'patch'],
      },
    ]);
    expect(one('prod', 'Role', 'kube-system').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      {
        apiGroups: ['apps'],
        resources: ['deployments'],
        resourceNames: ['cilium-operator'],
        verbs: ['get', 'list', 'watch', 'patch'],
      },
    ]);
    for (const namespace of ['cilium-spire', 'kube-system']) {
      expect(one('prod', 'RoleBinding', namespace)).toMatchObject({
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'spire-watchdog' },
        subjects: [{ kind: 'ServiceAccount', name: 'spire-watchdog', namespace: 'cilium-spire' }],
      });
    }
    // Never an exec into the SPIRE server: that credential could mint SVIDs.
    expect(JSON.stringify(watchdog('prod'))).not.toContain('pods/exec');
    expect(SPIRE_WATCHDOG_SCRIPT).not.toMatch(/\bexec\b/);
  });

  test('its one flow is to the API server, from its own pods', () => {
    const flows = run.declared.prod?.flows ?? [];
    expect(flows.filter((flow) => flow.name.startsWith('spire-watchdog'))).toEqual([
      expect.objectContaining({
        name: 'spire-watchdog-apiserver',
        direction: 'egress',
        namespace: 'cilium-spire',
        selector: { 'app.kubernetes.io/name': 'spire-watchdog' },
        peer: { kind: 'kube-apiserver' },
        ports: [{ port: 6443, protocol: 'TCP' }],
      }),
    ]);
    expect((run.declared.dev?.flows ?? []).map((flow) => flow.name)).not.toContain(
      'spire-watchdog-apiserver',
    );
  });
});

describe('"When a component is down" for SPIRE', () => {
  test('says the watchdog recovers within 10 minutes, and how a human reads what it did', () => {
    const down = run.declared.prod?.whenDown;
    expect(down?.symptom).toContain(
      'The `spire-watchdog` CronJob (every two minutes, in `cilium-spire`) does the recovery by itself',
    );
    expect(down?.symptom).toContain('within 10 minutes');
    expect(down?.diagnose).toEqual([
      'kubectl -n cilium-spire get pods -o wide',
      'kubectl -n cilium-spire get cronjob spire-watchdog && kubectl -n cilium-spire get jobs -l app.kubernetes.io/name=spire-watchdog',
      'kubectl -n cilium-spire logs -l app.kubernetes.io/name=spire-watchdog --tail=20',
      'kubectl -n cilium-spire exec spire-server-0 -c spire-server -- /opt/spire/bin/spire-server entry show -parentID spiffe://spiffe.cilium/cilium-operator | head -n 1',
      'kubectl get ciliumidentities.cilium.io -o name | wc -l',
    ]);
    // The selector the runbook reads the Jobs' pods by is the one the CronJob labels them with.
    const labels = one('prod', 'CronJob').spec.jobTemplate.spec.template.metadata.labels;
    expect(labels['app.kubernetes.io/name']).toBe('spire-watchdog');
    // The log lines the diagnosis quotes are the script's.
    expect(down?.diagnosis).toContain('`nothing to do`');
    expect(SPIRE_WATCHDOG_SCRIPT).toContain('nothing to do');
    expect(down?.diagnosis).toContain('`not ready`');
    expect(SPIRE_WATCHDOG_SCRIPT).toContain('is not ready');
  });
});

/** What the stand-in kubectl answers: the first rule whose text is in its arguments wins. */
interface Rule {
  readonly when: string;
  readonly stdout?: string;
  readonly fail?: boolean;
}

const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * The tools the script runs with: BusyBox's (BUSYBOX_DIR, .ci/install-busybox), as the watchdog's
 * image (alpine/kubectl, Alpine) has them, else this machine's.
 */
const TOOLS = process.env.BUSYBOX_DIR ?? process.env.PATH ?? '';
if (process.env.BUSYBOX_DIR === undefined) {
  console.warn(
    "spire-watchdog.test.ts: the script runs with this machine's sh and tools, not BusyBox's as in alpine/kubectl (set BUSYBOX_DIR: .ci/install-busybox)",
  );
}

/** Runs the watchdog's script with a stand-in kubectl (anything not in `rules` succeeds, silent). */
function watch(rules: readonly Rule[]): { status: number | null; output: string; calls: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'spire-watchdog-'));
  try {
    const cases = rules.map(
      (rule) =>
        `  *${quote(rule.when)}*) printf '%s' ${quote(rule.stdout ?? (rule.fail ? 'error: the server is unreachable' : ''))}${rule.fail ? ' >&2; exit 1' : '; exit 0'} ;;`,
    );
    writeFileSync(
      join(dir, 'kubectl'),
      [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >> ${quote(join(dir, 'calls'))}`,
        'case "$*" in',
        ...cases,
        '  *) exit 0 ;;',
        'esac',
        '',
      ].join('\n'),
    );
    chmodSync(join(dir, 'kubectl'), 0o755);
    writeFileSync(join(dir, 'calls'), '');
    const result = spawnSync('sh', ['-c', SPIRE_WATCHDOG_SCRIPT], {
      env: { ...process.env, PATH: `${dir}${delimiter}${TOOLS}` },
      encoding: 'utf8',
    });
    const calls = readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean);
    return { status: result.status, output: `${result.stdout}${result.stderr}`, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SERVER = 'get pods -l app=spire-server';
const OPERATORS = 'get pods -l io.cilium/app=operator,name=cilium-operator';
const AGENTS = 'get pods -l app=spire-agent';
const AGENTS_ASKED = 'cilium-spire get daemonset/spire-agent';
const OPERATOR_ASKED = 'kube-system get deployment/cilium-operator';
const RESTARTS = (calls: readonly string[]) => calls.filter((call) => call.includes(' restart '));

/** Pods listed as the script's jsonpath prints them: `<Ready> <startedAt>` a line. */
const pods = (...lines: string[]) => `${lines.join('\n')}\n`;

describe("the SPIRE watchdog's decision", () => {
  test('a server that started after the operator: the agents restarted and waited for, then the operator', () => {
    const { status, calls, output } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z', 'True 2026-12-01T10:06:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:06:30Z') },
    ]);
    expect(status).toBe(0);
    expect(output).toContain('started at 2026-12-01T10:05:00Z, after');
    expect(calls.slice(3)).toEqual([
      '-n cilium-spire get daemonset/spire-agent -o jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}',
      '-n cilium-spire rollout restart daemonset/spire-agent',
      '-n cilium-spire rollout status daemonset/spire-agent --timeout=4m',
      '-n kube-system get deployment/cilium-operator -o jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}',
      '-n kube-system rollout restart deployment/cilium-operator',
      '-n kube-system rollout status deployment/cilium-operator --timeout=4m',
    ]);
  });

  test('a server that started after an agent (the operator newer) restarts both all the same', () => {
    const { status, calls } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:06:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:06:30Z', 'True 2026-12-01T09:00:00Z') },
    ]);
    expect(status).toBe(0);
    expect(RESTARTS(calls)).toEqual([
      '-n cilium-spire rollout restart daemonset/spire-agent',
      '-n kube-system rollout restart deployment/cilium-operator',
    ]);
  });

  test('nothing restarted since: no action, only the three reads', () => {
    const { status, calls, output } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:01:00Z', 'True 2026-12-01T10:00:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:02:00Z') },
    ]);
    expect(status).toBe(0);
    expect(output).toContain('nothing to do');
    expect(calls).toHaveLength(3);
    expect(RESTARTS(calls)).toEqual([]);
  });

  test('pods that are not ready (a crash loop, a node down) are not compared', () => {
    const { status, calls } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: OPERATORS, stdout: pods('False 2026-12-01T09:00:00Z', 'True 2026-12-01T10:01:00Z') },
      { when: AGENTS, stdout: pods('False ', 'True 2026-12-01T10:02:00Z') },
    ]);
    expect(status).toBe(0);
    expect(RESTARTS(calls)).toEqual([]);
  });

  test('a server that is not ready yet: nothing compared, nothing restarted', () => {
    const { status, calls, output } = watch([
      { when: SERVER, stdout: pods('False 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:00:00Z') },
    ]);
    expect(status).toBe(0);
    expect(output).toContain('not ready');
    expect(RESTARTS(calls)).toEqual([]);
  });

  test('a failing kubectl: a non-zero status and no restart', () => {
    for (const failing of [SERVER, OPERATORS, AGENTS]) {
      const { status, calls } = watch([
        { when: failing, fail: true },
        { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
        { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z') },
        { when: AGENTS, stdout: pods('True 2026-12-01T10:00:00Z') },
      ]);
      expect(status).not.toBe(0);
      expect(RESTARTS(calls)).toEqual([]);
    }
    // Reading what was already asked for fails: still nothing restarted.
    const { status, calls } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS_ASKED, fail: true },
    ]);
    expect(status).not.toBe(0);
    expect(RESTARTS(calls)).toEqual([]);
  });

  test('a restart already asked for after the server started is waited for, never asked again', () => {
    // 11:07 at +01:00 is 10:07 UTC, after the server's 10:05: a previous run (or a human) asked.
    const { status, calls } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS_ASKED, stdout: '2026-12-01T11:07:00+01:00' },
      { when: OPERATOR_ASKED, stdout: '2026-12-01T10:08:00Z' },
    ]);
    expect(status).toBe(0);
    expect(RESTARTS(calls)).toEqual([]);
    expect(calls.filter((call) => call.includes('rollout status'))).toHaveLength(2);
    // 10:30 at +01:00 is 09:30 UTC, before the server started: asked again.
    const before = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS_ASKED, stdout: '2026-12-01T10:30:00+01:00' },
      { when: OPERATOR_ASKED, stdout: '2026-12-01T10:04:59Z' },
    ]);
    expect(RESTARTS(before.calls)).toEqual([
      '-n cilium-spire rollout restart daemonset/spire-agent',
      '-n kube-system rollout restart deployment/cilium-operator',
    ]);
  });

  test('agents that do not all roll out still get the operator restarted, and the run fails', () => {
    const { status, calls } = watch([
      { when: SERVER, stdout: pods('True 2026-12-01T10:05:00Z') },
      { when: OPERATORS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: AGENTS, stdout: pods('True 2026-12-01T10:00:00Z') },
      { when: 'rollout status daemonset/spire-agent', fail: true },
    ]);
    expect(status).toBe(1);
    expect(RESTARTS(calls)).toEqual([
      '-n cilium-spire rollout restart daemonset/spire-agent',
      '-n kube-system rollout restart deployment/cilium-operator',
    ]);
  });
});
