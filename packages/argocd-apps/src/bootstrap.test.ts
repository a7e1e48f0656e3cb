import { describe, expect, it } from 'vitest';
import { referencePlatform } from '../test/factory.js';
import { argocdBootstrapSteps } from './bootstrap.js';

describe('argocdBootstrapSteps', () => {
  it('installs Argo CD with the cluster layers, then applies the root Application', () => {
    const platform = referencePlatform();
    const prod = platform.clusters[2];
    if (prod === undefined) throw new Error('no prod');
    const steps = argocdBootstrapSteps(platform, prod, 5);
    expect(steps).toContain(
      'helm upgrade --install argocd charts/argo-cd -n argocd --create-namespace -f charts/argo-cd/env/production.yaml -f charts/argo-cd/clusters/prod.yaml',
    );
    expect(steps).toContain('kubectl apply -f clusters/prod/root-application.yaml');
    expect(steps.startsWith('5. Install Argo CD')).toBe(true);
    expect(steps).toContain('\n6. Hand over to Git');
  });

  it('skips the install step where Argo CD is disabled', () => {
    const platform = referencePlatform((clusters) => {
      const dev = clusters[0];
      if (dev) dev.components = { argocd: { enabled: false } };
    });
    const dev = platform.clusters[0];
    if (dev === undefined) throw new Error('no dev');
    expect(argocdBootstrapSteps(platform, dev)).not.toContain('helm upgrade');
  });
});
