// The SPIRE server of Cilium's mutual authentication keeps its data in its container: every pod
// replacement starts it empty, and cilium-operator registers the existing identities again only
// when it starts. The reference runbooks move the server off a node before they drain it and
// recover SPIRE after whatever else replaces it; put back broken, `cilium-spire-recovery` stops
// the build.
import { describe, expect, it } from 'vitest';
import { broken, found, inside, type Loose, withFile, withValues } from './broken-output.js';

const RUNBOOK = 'clusters/prod/RUNBOOK.md';
const WORKERS = ['prod-worker-1', 'prod-worker-2', 'prod-worker-3'];
const isRecovery = (line: string) =>
  line.includes('spire-server') ||
  line.includes('cilium-operator') ||
  line.startsWith('registered=');
const without = (drop: (line: string) => boolean) => (content: string) =>
  content
    .split('\n')
    .filter((line) => !drop(line))
    .join('\n');

/** `<command> | <what the check says of it>` for each issue. */
async function summary(change: (content: string) => string): Promise<string[]> {
  const issues = found(await broken(withFile(RUNBOOK, change)), 'cilium-spire-recovery');
  for (const issue of issues) {
    expect(issue.at).toBe(inside('cilium:'));
    expect(issue.output).toBe(RUNBOOK);
  }
  return issues.map((issue) => {
    const match =
      /\(line \d+: `(\S+ \S+ \S+ \S+)[^`]*`\) (where the SPIRE server may run without moving|and never recovers|and goes on to node|and waits)/.exec(
        issue.message,
      );
    return `${match?.[1]} | ${match?.[2]}`;
  });
}

const unmovedDrain = (command: string) =>
  `${command} | where the SPIRE server may run without moving`;

describe('cilium-spire-recovery', { timeout: 120_000 }, () => {
  it('the reference runbooks move the server before each drain and recover SPIRE after each replacement', async () => {
    expect(found(await broken((input) => input), 'cilium-spire-recovery')).toEqual([]);
  });

  it('without the move and the recovery, every drain of a node the server may run on, and every lost node, is reported', async () => {
    const issues = await summary(without(isRecovery));
    // Sorted: the runbook's blocks (one per node and operation) give the order of the issues.
    expect(issues.sort()).toEqual(
      WORKERS.flatMap((node) => [
        // A settings reboot's drain.
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
        // A Talos upgrade: the runbook drains the node before Talos does (Talos' own drain gives
        // up after 5 minutes and upgrades anyway).
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
        // Retiring.
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
        // A lost node: its deletion starts the server elsewhere, empty, and Longhorn's wait comes
        // while identities are unregistered.
        `kubectl delete node ${node} | and waits`,
      ]).sort(),
    );
  });

  it('moving the server off without recovering SPIRE is not enough', async () => {
    const issues = await summary(
      without((line) => isRecovery(line) && !line.startsWith('kubectl -n cilium-spire delete pod')),
    );
    expect(issues.sort()).toEqual(
      WORKERS.flatMap((node) => [
        // Reboot, upgrade, retire: the next wait (Longhorn's) comes while identities are
        // unregistered.
        'kubectl -n cilium-spire delete | and waits',
        'kubectl -n cilium-spire delete | and waits',
        'kubectl -n cilium-spire delete | and waits',
        // Retiring: so the drain comes with SPIRE not recovered either.
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
        `kubectl delete node ${node} | and waits`,
      ])
        // Retiring a node no longer in the definition, a worker's block and a control plane's
        // (chained lines read as the commands they run): the same, for the operator's "$NODE".
        .concat([
          'kubectl -n cilium-spire delete | and waits',
          'kubectl -n cilium-spire delete | and waits',
        ])
        .sort(),
    );
  });

  it('a lost node whose recovery comes after the wait of another component', async () => {
    const issues = await summary((content) => {
      const lines = content.split('\n');
      const start = lines.indexOf('### Replacing a dead node');
      const out: string[] = [];
      let held: string[] = [];
      lines.forEach((line, index) => {
        if (index > start && isRecovery(line)) held.push(line);
        else if (index > start && line.includes('wait --for=delete nodes.longhorn.io')) {
          out.push(line, ...held);
          held = [];
        } else out.push(line);
      });
      return out.join('\n');
    });
    expect(issues).toEqual(WORKERS.map((node) => `kubectl delete node ${node} | and waits`));
  });

  it('the afterNodeReboot recovery alone is too late for the drain: the server must be off the node first', async () => {
    const issues = await summary(
      without((line) => line.startsWith('kubectl -n cilium-spire delete pod')),
    );
    expect(issues.sort()).toEqual(
      WORKERS.flatMap((node) => [
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
        unmovedDrain(`kubectl drain ${node} --ignore-daemonsets`),
      ]).sort(),
    );
  });

  it('a SPIRE server whose data is on a claim needs none of it', async () => {
    const issues = await broken((input) =>
      withValues('charts/cilium/clusters/prod.yaml', (values: Loose) => {
        values.cilium.authentication.mutual.spire.install.server.dataStorage.enabled = true;
      })(withFile(RUNBOOK, without(isRecovery))(input)),
    );
    expect(found(issues, 'cilium-spire-recovery')).toEqual([]);
  });
});
