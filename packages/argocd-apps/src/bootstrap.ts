// Runbook steps that bring Argo CD up on a cluster and hand over to Git. Pure: Markdown text
// for the cluster's runbook (clusters/<cluster>/…), which @homelab/talos-config writes.
import type { ResolvedCluster, ResolvedPlatform } from '@homelab/core';
import { ARGOCD_CHART_NAME } from './argocd.js';
import { ARGOCD_NAMESPACE, resolveArgocdSettings } from './settings.js';

/** Markdown steps, numbered from `first`: install Argo CD from charts/argo-cd, apply the root. */
export function argocdBootstrapSteps(
  _platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  first = 1,
): string {
  const { settings } = resolveArgocdSettings(cluster);
  const layers = `-f charts/${ARGOCD_CHART_NAME}/env/${cluster.environment}.yaml -f charts/${ARGOCD_CHART_NAME}/clusters/${cluster.name}.yaml`;
  const steps: string[] = [];
  if (settings.enabled) {
    steps.push(
      [
        'Install Argo CD from the generated chart (same release name as its Application, so that Argo CD adopts it):',
        '',
        '```sh',
        `helm dependency build charts/${ARGOCD_CHART_NAME}`,
        `helm upgrade --install argocd charts/${ARGOCD_CHART_NAME} -n ${ARGOCD_NAMESPACE} --create-namespace ${layers}`,
        '```',
      ].join('\n'),
    );
  } else {
    steps.push(
      `Argo CD is not managed by the platform on this cluster: install it in the \`${ARGOCD_NAMESPACE}\` namespace yourself.`,
    );
  }
  steps.push(
    [
      'Hand over to Git: apply the root Application; it installs `charts/platform`, whose Applications deploy every component in sync-wave order.',
      '',
      '```sh',
      `kubectl apply -f clusters/${cluster.name}/root-application.yaml`,
      `kubectl -n ${ARGOCD_NAMESPACE} get applications -w`,
      '```',
    ].join('\n'),
  );
  return `${steps.map((step, index) => `${first + index}. ${step.replaceAll('\n', '\n   ').replaceAll('\n   \n', '\n\n')}`).join('\n')}\n`;
}
