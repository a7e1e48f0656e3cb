// Gatekeeper down, its webhooks failing closed: the CNI and DNS providers' namespaces must be
// skipped by them, put back broken in the reference platform's generated values.
import { describe, expect, it } from 'vitest';
import { broken, found, type Loose, withValues } from './broken-output.js';

/** Each issue's generated file and the namespace it names, sorted. */
function where(issues: readonly { output: string | undefined; message: string }[]): string[] {
  return issues
    .map((issue) => `${issue.output} ${/namespace "([^"]+)"/.exec(issue.message)?.[1]}`)
    .sort();
}

const failClosed = (values: Loose) => {
  values.gatekeeper.validatingWebhookFailurePolicy = 'Fail';
};

describe("Gatekeeper's webhooks during an outage of Gatekeeper", { timeout: 120_000 }, () => {
  it("the reference (the chart's failurePolicy Ignore) passes", async () => {
    expect(found(await broken((input) => input), 'admission-webhook-outage')).toEqual([]);
  });

  it('failing closed with CoreDNS in a namespace the webhooks review is an error on every cluster', async () => {
    const issues = found(
      await broken(withValues('charts/gatekeeper/values.yaml', failClosed)),
      'admission-webhook-outage',
    );
    expect(where(issues)).toEqual(
      ['dev', 'prod', 'staging'].map(
        (cluster) =>
          `charts/gatekeeper (values on cluster ${cluster})#gatekeeper.validatingWebhookFailurePolicy coredns`,
      ),
    );
    expect(issues[0]?.message).toBe(
      'Gatekeeper\'s validatingWebhookFailurePolicy is Fail on cluster "dev" while namespace "coredns" of the dns provider (coredns) is not skipped by its webhooks (missing from controllerManager.exemptNamespaces and postInstall.labelNamespace.extraNamespaces): with Gatekeeper\'s pods down, no pod of coredns could be created, and Gatekeeper needs the CNI to come back',
    );
  });

  it('failing closed with the CNI namespace exempt by the flag but not labelled is an error, and both lists pass', async () => {
    const issues = found(
      await broken(
        withValues('charts/gatekeeper/values.yaml', (values: Loose) => {
          values.gatekeeper.mutatingWebhookFailurePolicy = 'Fail';
          values.gatekeeper.controllerManager.exemptNamespaces.push('coredns');
          values.gatekeeper.postInstall.labelNamespace.extraNamespaces = ['coredns'];
        }),
      ),
      'admission-webhook-outage',
    );
    expect(where(issues)).toEqual(
      ['dev', 'prod', 'staging'].map(
        (cluster) =>
          `charts/gatekeeper (values on cluster ${cluster})#gatekeeper.mutatingWebhookFailurePolicy kube-system`,
      ),
    );
    expect(issues[0]?.message).toContain(
      'namespace "kube-system" of the cni provider (cilium) is not skipped by its webhooks (missing from postInstall.labelNamespace.extraNamespaces)',
    );
    const fixed = found(
      await broken(
        withValues('charts/gatekeeper/values.yaml', (values: Loose) => {
          failClosed(values);
          values.gatekeeper.controllerManager.exemptNamespaces.push('coredns');
          values.gatekeeper.postInstall.labelNamespace.extraNamespaces.push('coredns');
        }),
      ),
      'admission-webhook-outage',
    );
    expect(fixed).toEqual([]);
  });
});
