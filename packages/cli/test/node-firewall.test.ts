// The Talos ingress firewall on the reference (packages/talos-config firewall.ts, the
// node-firewall check): the rules the build writes let in everything the rendered platform
// needs on the nodes, and the check fails, naming the role patch, when they leave a port out.
import { describe, expect, it } from 'vitest';
import { broken, found, type Loose, withFile, withObject } from './broken-output.js';

const WORKER = 'clusters/prod/talos/worker.yaml';
const CONTROL_PLANE = 'clusters/prod/talos/controlplane.yaml';

describe('node-firewall on the reference', { timeout: 120_000 }, () => {
  it('passes on the reference as built', async () => {
    expect(found(await broken((input) => input), 'node-firewall')).toEqual([]);
  });

  it("fails node-exporter's 9100 left out of the workers' pod rule", async () => {
    const issues = found(
      await broken(
        withFile(WORKER, (content) => {
          if (!content.includes('    - 9100\n')) throw new Error('no 9100 in the worker patch');
          return content.replace('    - 9100\n', '');
        }),
      ),
      'node-firewall',
    );
    expect(issues.map((issue) => issue.output)).toEqual([WORKER]);
    expect(issues[0]?.message).toBe(
      'the worker patch blocks inbound connections but allows 9100/tcp (pods reaching the host (a flow to the nodes or a host-network monitor)) not from 10.244.0.0/16, 10.30.10.11/32, 10.30.10.12/32, 10.30.10.13/32, 10.30.10.21/32, 10.30.10.22/32, 10.30.10.23/32: those connections are dropped by the node',
    );
  });

  it('fails a Gateway listener port no rule allows', async () => {
    const issues = found(
      await broken(
        withObject('prod', 'Gateway', 'platform', (gateway) => {
          const spec = gateway.spec as Loose;
          spec.listeners = [...spec.listeners, { ...spec.listeners[0], name: 'alt', port: 8443 }];
          return gateway;
        }),
      ),
      'node-firewall',
    );
    expect(issues.map((issue) => issue.output).sort()).toEqual([CONTROL_PLANE, WORKER]);
    expect(issues.every((issue) => issue.message.includes('allows 8443/tcp'))).toBe(true);
  });
});
