// "Retiring a node no longer in the definition": on every cluster where Longhorn runs, each block
// (a worker's, a control plane's) patches the Longhorn node of `$NODE` (scheduling off, eviction
// requested) and waits until no replica names it, after the cordon and before the drain, chained
// with `&&` to the drain and the reset. Put back broken, `longhorn-node-lifecycle` stops the build.
import { parseBoundedWait, type SystemInput, WAIT_SECONDS } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { broken, found } from './broken-output.js';

const CLUSTERS = ['dev', 'staging', 'prod'];
const HEADING = '\n### Retiring a node no longer in the definition\n';
const isEvict = (line: string) => line.includes('patch nodes.longhorn.io "$NODE" ');
/** The wait for the replicas: core's boundedWait, its condition on the replicas of `$NODE`. */
const isWait = (line: string) =>
  parseBoundedWait(line)?.condition.includes('get replicas.longhorn.io') === true;

/** Applies `edit` to each line list of the section's ```sh blocks in `cluster`'s runbook. */
function editRemoved(cluster: string, edit: (lines: string[]) => string[]) {
  return (input: SystemInput): SystemInput => ({
    ...input,
    files: input.files.map((file) => {
      if (file.path !== `clusters/${cluster}/RUNBOOK.md`) return file;
      const content = file.content as string;
      const start = content.indexOf(HEADING);
      const end = content.indexOf('\n### ', start + HEADING.length);
      const section = content
        .slice(start, end)
        .replace(
          /^```sh\n([\s\S]*?)^```$/gm,
          (_all, body: string) => `\`\`\`sh\n${edit(body.split('\n')).join('\n')}\`\`\``,
        );
      return { ...file, content: content.slice(0, start) + section + content.slice(end) };
    }),
  });
}

describe('longhorn-node-lifecycle: a node no longer in the definition', {
  timeout: 180_000,
}, () => {
  it('the reference runbooks evict and wait between the cordon and the drain, chained', async () => {
    const sections: string[] = [];
    const issues = await broken((input) => {
      for (const cluster of CLUSTERS) {
        const content = input.files.find((file) => file.path === `clusters/${cluster}/RUNBOOK.md`)
          ?.content as string;
        const start = content.indexOf(HEADING);
        sections.push(content.slice(start, content.indexOf('\n### ', start + HEADING.length)));
      }
      return input;
    });
    expect(found(issues, 'longhorn-node-lifecycle')).toEqual([]);
    for (const section of sections) {
      const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
        (m[1] as string).split('\n'),
      );
      expect(blocks).toHaveLength(2);
      for (const lines of blocks) {
        const at = (test: (line: string) => boolean) => lines.findIndex(test);
        const cordon = at((line) => line === 'kubectl cordon "$NODE" &&');
        const drain = at((line) => line.startsWith('kubectl drain "$NODE" '));
        expect(cordon).toBeGreaterThan(0);
        expect(at(isEvict)).toBeGreaterThan(cordon);
        expect(at(isWait)).toBe(at(isEvict) + 1);
        // bounded: it gives up after the replica move's bound, and says so, instead of for ever
        expect(parseBoundedWait(lines[at(isWait)] ?? '')).toMatchObject({
          seconds: WAIT_SECONDS.replicaMove,
          interval: 10,
        });
        expect(lines[at(isWait)]).toContain('Longhorn replicas are still on the node');
        expect(drain).toBeGreaterThan(at(isWait));
        expect(lines[drain]).toBe(
          'kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m &&',
        );
        expect(lines[drain + 1]).toBe('talosctl reset -n "$NODE_ADDRESS" --graceful=true &&');
        expect(lines.slice(cordon, drain + 1).every((line) => line.endsWith(' &&'))).toBe(true);
      }
    }
  });

  it('without the wait (dev), reordered (staging), unchained (prod): each block is reported', async () => {
    const dev = editRemoved('dev', (lines) => lines.filter((line) => !isWait(line)));
    const staging = editRemoved('staging', (lines) => {
      const moved = lines.filter((line) => isEvict(line) || isWait(line));
      const rest = lines.filter((line) => !moved.includes(line));
      const drain = rest.findIndex((line) => line.startsWith('kubectl drain'));
      return [...rest.slice(0, drain + 1), ...moved, ...rest.slice(drain + 1)];
    });
    const prod = editRemoved('prod', (lines) =>
      lines.map((line) => (line.startsWith('kubectl drain') ? line.replace(/ &&$/, '') : line)),
    );
    const issues = found(
      await broken((input) => prod(staging(dev(input)))),
      'longhorn-node-lifecycle',
    );
    const order = (role: string) =>
      `the runbook's block for a ${role} no longer in the definition does not patch its Longhorn node (allowScheduling false, evictionRequested true) and wait until no replica names it after kubectl cordon and before kubectl drain: the reset wipes the replicas still on the node, a volume's last healthy one included`;
    const chain = (role: string) =>
      `the runbook's block for a ${role} no longer in the definition does not chain its steps from kubectl cordon to kubectl drain with &&, the drain on the line right before talosctl reset: a pasted block runs the reset (which wipes the node's replicas) after the eviction failed or the drain gave up`;
    expect(issues.map((issue) => [issue.output, issue.message]).sort()).toEqual([
      ['clusters/dev/RUNBOOK.md', order('control plane')],
      ['clusters/dev/RUNBOOK.md', order('worker')],
      ['clusters/prod/RUNBOOK.md', chain('control plane')],
      ['clusters/prod/RUNBOOK.md', chain('worker')],
      ['clusters/staging/RUNBOOK.md', order('control plane')],
      ['clusters/staging/RUNBOOK.md', order('worker')],
    ]);
  });
});
