// The SPIRE server of Cilium's mutual authentication keeps its data in its container: every pod
// replacement starts it empty, and cilium-operator registers the existing identities again only
// when it starts. The reference runbooks recover SPIRE after each such step; put back broken, the
// `cilium-spire-recovery` check stops the build.
import { describe, expect, it } from 'vitest';
import { broken, found, inside, type Loose, withFile, withValues } from './broken-output.js';

const RUNBOOK = 'clusters/prod/RUNBOOK.md';
const WORKERS = ['prod-worker-1', 'prod-worker-2', 'prod-worker-3'];
const ADDRESSES = ['10.30.10.21', '10.30.10.22', '10.30.10.23'];
const isRecovery = (line: string) =>
  line.includes('spire-server') ||
  line.includes('cilium-operator') ||
  line.startsWith('registered=');

/** `<command that replaced the server> | <what the runbook did next>` for each issue. */
async function summary(change: (content: string) => string): Promise<string[]> {
  const issues = found(await broken(withFile(RUNBOOK, change)), 'cilium-spire-recovery');
  for (const issue of issues) {
    expect(issue.at).toBe(inside('cilium:'));
    expect(issue.output).toBe(RUNBOOK);
  }
  return issues.map((issue) => {
    const match =
      /\(line \d+: `(\S+ \S+ \S+ \S+)[^`]*`\) (and never recovers|and goes on to node|and waits)/.exec(
        issue.message,
      );
    return `${match?.[1]} | ${match?.[2]}`;
  });
}

describe('cilium-spire-recovery', { timeout: 120_000 }, () => {
  it('the reference runbooks recover SPIRE wherever they replace its server', async () => {
    expect(found(await broken((input) => input), 'cilium-spire-recovery')).toEqual([]);
  });

  it('without the recovery, every step that replaces the server on a node it may run on is reported', async () => {
    const issues = await summary((content) =>
      content
        .split('\n')
        .filter((line) => !isRecovery(line))
        .join('\n'),
    );
    expect(issues).toEqual(
      WORKERS.flatMap((node, index) => [
        // A settings reboot: Longhorn's wait comes while identities are unregistered.
        `kubectl drain ${node} --ignore-daemonsets | and waits`,
        // A Talos upgrade (Talos drains the node itself).
        `talosctl upgrade -n ${ADDRESSES[index]} | and waits`,
        // Retiring: the drain takes the server, nothing recovers it.
        `kubectl drain ${node} --ignore-daemonsets | and never recovers`,
        // A lost node: its deletion starts the server elsewhere, empty.
        `kubectl delete node ${node} | and waits`,
      ]),
    );
  });

  it('the recovery after the wait of another component is too late', async () => {
    const issues = await summary((content) => {
      const lines = content.split('\n');
      // In the settings reboots, Longhorn's wait moved before the SPIRE recovery of each node.
      const start = lines.indexOf('## Later: changing Talos settings');
      const end = lines.indexOf('## Upgrades');
      const out = lines.slice(0, start);
      let held: string[] = [];
      for (const line of lines.slice(start, end)) {
        if (isRecovery(line) && !line.startsWith('kubectl drain')) held.push(line);
        else if (line.includes('volumes.longhorn.io')) {
          out.push(line, ...held);
          held = [];
        } else out.push(line);
      }
      return [...out, ...lines.slice(end)].join('\n');
    });
    expect(issues).toEqual(
      WORKERS.map((node) => `kubectl drain ${node} --ignore-daemonsets | and waits`),
    );
  });

  it("retiring a node without moving the server off it first leaves the drain's replacement unrecovered", async () => {
    const issues = await summary((content) =>
      content
        .split('\n')
        .filter((line) => !line.startsWith('kubectl -n cilium-spire delete pod'))
        .join('\n'),
    );
    expect(issues).toEqual(
      WORKERS.map((node) => `kubectl drain ${node} --ignore-daemonsets | and never recovers`),
    );
  });

  it('a SPIRE server whose data is on a claim needs no recovery', async () => {
    const issues = await broken((input) =>
      withValues('charts/cilium/clusters/prod.yaml', (values: Loose) => {
        values.cilium.authentication.mutual.spire.install.server.dataStorage.enabled = true;
      })(
        withFile(RUNBOOK, (content) =>
          content
            .split('\n')
            .filter((line) => !isRecovery(line))
            .join('\n'),
        )(input),
      ),
    );
    expect(found(issues, 'cilium-spire-recovery')).toEqual([]);
  });
});
