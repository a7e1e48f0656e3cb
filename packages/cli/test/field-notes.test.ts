// Facts of ../shared/FIELD-NOTES.md about what Argo CD does with the generated files, each put
// back broken in the reference platform's output: the build must stop with the check's code,
// the place in the definition and the generated file. (Which facts are checked where:
// docs/system-checks.md.)
import { APPLICATION_HEALTH_KEY } from '@homelab/argocd';
import { describe, expect, it } from 'vitest';
import {
  broken,
  DEV,
  found,
  inside,
  type Loose,
  PROD,
  STAGING,
  withValues,
} from './broken-output.js';

describe('FIELD-NOTES facts, put back broken, are caught', { timeout: 120_000 }, () => {
  it('an app-of-apps whose Argo CD has no health check of argoproj.io/Application', async () => {
    const errors = await broken(
      withValues('charts/argo-cd/values.yaml', (values: Loose) => {
        delete values['argo-cd'].configs.cm[APPLICATION_HEALTH_KEY];
      }),
    );
    const issues = found(errors, 'argocd-application-health');
    expect(issues.map((issue) => [issue.at, issue.output])).toEqual([
      [
        inside('argocd:', DEV),
        `charts/argo-cd (values on cluster dev)#argo-cd.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
      ],
      [
        inside('argocd:', STAGING),
        `charts/argo-cd (values on cluster staging)#argo-cd.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
      ],
      [
        inside('argocd:', PROD),
        `charts/argo-cd (values on cluster prod)#argo-cd.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
      ],
    ]);
    expect(issues[0]?.message).toMatch(
      /^leaves Argo CD on cluster "dev" without a health check of argoproj\.io\/Application: the app-of-apps' \d+ sync waves would not wait for each other/,
    );
  });

  it('the same check on a cluster layer that nulls the script (what Helm would deploy)', async () => {
    const errors = await broken(
      withValues('charts/argo-cd/clusters/prod.yaml', (values: Loose) => {
        values['argo-cd'] ??= {};
        values['argo-cd'].configs ??= {};
        values['argo-cd'].configs.cm ??= {};
        values['argo-cd'].configs.cm[APPLICATION_HEALTH_KEY] = null;
      }),
    );
    expect(found(errors, 'argocd-application-health').map((issue) => issue.at)).toEqual([
      inside('argocd:', PROD),
    ]);
  });
});
