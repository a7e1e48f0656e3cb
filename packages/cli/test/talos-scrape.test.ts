// What kube-prometheus-stack scrapes on the Talos nodes, against the Talos patches the build
// writes (the talos-scrape-targets check, broken on purpose on the reference): Talos binds
// kube-controller-manager and kube-scheduler to 127.0.0.1 and serves etcd's metrics only behind
// client certificates unless the control-plane patch says otherwise, and the kubelets, scraped
// with their certificates verified, need serving certificates from the cluster CA.
import { describe, expect, it } from 'vitest';
import { broken, found, inside, type Loose, PROD, withFile, withValues } from './broken-output.js';

const CONTROL_PLANE = 'clusters/prod/talos/controlplane.yaml';
const WORKER = 'clusters/prod/talos/worker.yaml';

function replace(from: string, to: string): (content: string) => string {
  return (content) => {
    if (!content.includes(from)) throw new Error(`"${from}" is not in the file`);
    return content.replace(from, to);
  };
}

describe('talos-scrape-targets on the reference', { timeout: 120_000 }, () => {
  it('passes on the reference as built', async () => {
    expect(found(await broken((input) => input), 'talos-scrape-targets')).toEqual([]);
  });

  it("refuses a scheduler left on Talos' 127.0.0.1 while Prometheus scrapes it at the control planes", async () => {
    const errors = await broken(
      withFile(
        CONTROL_PLANE,
        replace(
          '  scheduler:\n    extraArgs:\n      bind-address: 0.0.0.0\n',
          '  scheduler:\n    extraArgs:\n      bind-address: 127.0.0.1\n',
        ),
      ),
    );
    const issues = found(errors, 'talos-scrape-targets');
    expect(issues.map((issue) => [issue.at, issue.output])).toEqual([
      [inside('monitoring:', PROD), CONTROL_PLANE],
    ]);
    expect(issues[0]?.message).toBe(
      'Prometheus scrapes kubeScheduler at the control planes of cluster "prod", but the Talos control-plane patch leaves it bound to 127.0.0.1: every scrape is refused and KubeSchedulerDown fires for ever',
    );
  });

  it("refuses etcd metrics on another port than the chart's Service, and none at all", async () => {
    const elsewhere = found(
      await broken(
        withFile(
          CONTROL_PLANE,
          replace(
            'listen-metrics-urls: http://0.0.0.0:2381',
            'listen-metrics-urls: http://0.0.0.0:2382',
          ),
        ),
      ),
      'talos-scrape-targets',
    );
    expect(elsewhere.map((issue) => issue.message)).toEqual([
      'Prometheus scrapes etcd of cluster "prod" at http://<control plane>:2381, but the Talos control-plane patch serves etcd\'s metrics on http://0.0.0.0:2382: the etcd alerts see no member',
    ]);
    const none = found(
      await broken(
        withFile(
          CONTROL_PLANE,
          replace('      listen-metrics-urls: http://0.0.0.0:2381\n', '      x: "1"\n'),
        ),
      ),
      'talos-scrape-targets',
    );
    expect(none.map((issue) => issue.output)).toEqual([CONTROL_PLANE]);
    expect(none[0]?.message).toMatch(/on no such listener/);
  });

  it("refuses control-plane endpoints that are not the control planes' addresses", async () => {
    const errors = await broken(
      withValues('charts/monitoring/clusters/prod.yaml', (values: Loose) => {
        values['kube-prometheus-stack'].kubeEtcd.endpoints = ['10.30.10.11', '10.30.10.12'];
      }),
    );
    const issues = found(errors, 'talos-scrape-targets');
    expect(issues.map((issue) => issue.output)).toEqual(['charts/monitoring/clusters/prod.yaml']);
    expect(issues[0]?.message).toMatch(
      /^Prometheus scrapes etcd of cluster "prod" at 10\.30\.10\.11, 10\.30\.10\.12, which are not its control planes' addresses \(10\.30\.10\.11, 10\.30\.10\.12, 10\.30\.10\.13\)/,
    );
  });

  it('refuses verified kubelet scrapes where the kubelets serve self-signed certificates', async () => {
    const errors = await broken(
      withFile(WORKER, replace('      rotate-server-certificates: "true"\n', '      x: "1"\n')),
    );
    const issues = found(errors, 'talos-scrape-targets');
    expect(issues.map((issue) => [issue.at, issue.output])).toEqual([
      [inside('monitoring:', PROD), WORKER],
    ]);
    expect(issues[0]?.message).toMatch(
      /^Prometheus verifies the kubelets' serving certificates on cluster "prod" .* the Talos worker patch does not have the kubelet request one from the cluster CA/,
    );
    // Without the approver the requests stay pending.
    const approver = found(
      await broken(
        withFile(
          CONTROL_PLANE,
          replace(
            'https://raw.githubusercontent.com/alex1989hu/kubelet-serving-cert-approver/v0.11.0/deploy/standalone-install.yaml',
            'https://example.com/other.yaml',
          ),
        ),
      ),
      'talos-scrape-targets',
    );
    expect(approver.map((issue) => issue.output)).toEqual([CONTROL_PLANE]);
    // Scraped without verification (the chart's default), the same patch passes.
    const unverified = found(
      await broken((input) =>
        withValues('charts/monitoring/values.yaml', (values: Loose) => {
          values['kube-prometheus-stack'].kubelet.serviceMonitor.insecureSkipVerify = true;
        })(
          withFile(
            WORKER,
            replace('      rotate-server-certificates: "true"\n', '      x: "1"\n'),
          )(input),
        ),
      ),
      'talos-scrape-targets',
    );
    expect(unverified).toEqual([]);
  });
});
