// The runbook's "Later: deploying an application's own workloads": what the user's manifests
// must do in the namespaces the platform makes, with the values the definition gives.
import {
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { applicationsComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const storage = testComponent({ name: 'storage', provides: ['storage'] });

function step(apps: AnyJson) {
  const result = testRun(
    testDefinition(testReferenceClusters(), { components: { applications: { apps } } }),
    [storage, applicationsComponent],
  );
  const declared = result.components.clusters[2]?.contributions.get('applications') as AnyJson;
  return declared?.bootstrap?.find(
    (s: AnyJson) => s.title === "deploying an application's own workloads",
  );
}

describe("the runbook's onboarding of an application's own workloads", () => {
  const paperless = step({
    paperless: {
      volumes: { data: { size: '20Gi', tier: 'standard', owner: { user: 1000, group: 1000 } } },
      flows: [
        {
          name: 'broker',
          application: 'paperless',
          peerSelector: { 'app.kubernetes.io/name': 'paperless-redis' },
          ports: [{ port: 6379 }],
          reason: 'tasks in Redis',
        },
        { name: 'mail', fqdn: 'imap.example.com', ports: [{ port: 993 }], reason: 'IMAPS' },
      ],
    },
    wiki: { namespace: 'docs', podSecurity: 'baseline' },
  });
  const text = (paperless?.body ?? []).join('\n');

  test('is a later step that says where the workloads go (no GitOps controller here: by hand)', () => {
    expect(paperless?.when).toBe('later');
    expect(text).toContain(
      'ConfigMaps…) are yours to deploy into that namespace (no GitOps controller runs on this\ncluster).',
    );
    expect(text).not.toContain('AppProject');
    // In the definition's order.
    expect(paperless?.commands).toEqual([
      'kubectl -n paperless get persistentvolumeclaims,cronjobs,configmaps,secrets,ciliumnetworkpolicies,httproutes',
      'kubectl -n docs get persistentvolumeclaims,cronjobs,configmaps,secrets,ciliumnetworkpolicies,httproutes',
    ]);
  });

  test("names each application's namespace, level, claim, owner and the labels its flows select", () => {
    expect(text).toContain('- **paperless**, namespace `paperless`: Pod Security `restricted`');
    expect(text).toContain('- **wiki**, namespace `docs`: Pod Security `baseline`');
    expect(text).toContain(
      '  - claim `data` (ReadWriteOnce, 20Gi, `standard`): mount it by name; its files belong to 1000:1000, as which its backups read them: run as that user, with `fsGroup: 1000`; one node mounts it at a time, so a Deployment that mounts it rolls out with `strategy: Recreate`',
    );
    expect(text).toContain(
      '    - pods `app.kubernetes.io/name: paperless` reach its pods `app.kubernetes.io/name: paperless-redis` in `paperless` on 6379/TCP (tasks in Redis)',
    );
    expect(text).toContain(
      '    - pods `app.kubernetes.io/name: paperless` reach `imap.example.com` on 993/TCP (IMAPS)',
    );
    // An application without flows is outside default deny, and says so.
    expect(text).toContain(
      '  - network: no flows declared, so the namespace stays outside default deny.',
    );
    // Only the applications' own pods: none of the platform's mover or verification flows.
    expect(text).not.toContain('volsync');
  });

  test('says Pod Security holds everywhere, and the admission rules and enforcement the provider states', () => {
    expect(text).toContain(
      "Pod Security admission enforces the namespace's level (below),\nin every environment",
    );
    // No provider of admission-policy in this run
    expect(text).toContain('No admission policy provider runs on this cluster.');
    const policy = (enforcement: 'deny' | 'warn' | 'dryrun') =>
      testComponent({
        name: 'admission',
        provides: ['admission-policy'],
        contribution: () => ({
          facts: {
            'admission-policy': {
              engine: 'engine x',
              enforcement,
              rules: ['Images only from `r.example/`.', 'Requests on every container.'],
            },
          },
        }),
      });
    const body = (enforcement: 'deny' | 'warn' | 'dryrun') => {
      const result = testRun(
        testDefinition(testReferenceClusters(), {
          components: { applications: { apps: { wiki: {} } } },
        }),
        [storage, policy(enforcement), applicationsComponent],
      );
      const declared = result.components.clusters[2]?.contributions.get('applications') as AnyJson;
      return (declared.bootstrap[0].body as string[]).join('\n');
    };
    expect(body('deny')).toContain(
      "The platform's admission policies, engine x, hold there too; on this cluster they refuse what breaks them:\n\n- Images only from `r.example/`.\n- Requests on every container.\n",
    );
    expect(body('dryrun')).toContain(
      'on this cluster they let it through, and only their audit reports it:',
    );
  });

  test('is absent without applications', () => {
    expect(step({})).toBeUndefined();
  });
});

describe("with a GitOps controller: an Application of the user's to fill in", () => {
  const gitops = testComponent({
    name: 'controller',
    provides: ['gitops'],
    contribution: () => ({ facts: { gitops: { namespace: 'gitops-ns', version: 'v3.4.4' } } }),
  });
  const declared = (apps: AnyJson) => {
    const result = testRun(
      testDefinition(testReferenceClusters(), { components: { applications: { apps } } }),
      [storage, gitops, applicationsComponent],
    );
    const own = result.components.clusters[2]?.contributions.get('applications') as AnyJson;
    const found = own?.bootstrap?.find(
      (s: AnyJson) => s.title === "deploying an application's own workloads",
    );
    return (found?.body ?? []).join('\n') as string;
  };
  const yaml = (text: string, app: string) => {
    const at = text.indexOf(`An Application of yours for **${app}**`);
    const start = text.indexOf('```yaml\n', at) + '```yaml\n'.length;
    return text.slice(start, text.indexOf('\n```', start));
  };

  test("in its project, to its namespace, in the controller's namespace, from its one repository", () => {
    const text = declared({
      wiki: { namespace: 'docs', repositories: ['https://git.example.com/me/wiki.git'] },
      photos: {},
    });
    expect(yaml(text, 'wiki').split('\n')).toEqual([
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Application',
      'metadata:',
      '  name: wiki',
      '  namespace: gitops-ns',
      'spec:',
      '  project: app-wiki',
      '  source:',
      '    repoURL: https://git.example.com/me/wiki.git',
      '    path: <the folder of your manifests>',
      '    targetRevision: <a branch or tag>',
      '  destination:',
      '    server: https://kubernetes.default.svc',
      '    namespace: docs',
      '  syncPolicy:',
      '    automated: { prune: true, selfHeal: true }',
    ]);
    // Any repository (the default): a placeholder, and the text asks for it
    expect(yaml(text, 'photos')).toContain('repoURL: <the repository of your manifests>');
    // A chart registry needs chart: and a version, not a path: the placeholder stays
    const oci = declared({
      charts: { repositories: ['oci://ghcr.io/me/charts/app', 'ghcr.io/me/charts'] },
    });
    expect(yaml(oci, 'charts')).toContain('repoURL: <the repository of your manifests>');
    expect(text).toContain(
      'An Application of yours for **photos**, to fill in where it says so (the repository of your manifests, their folder and revision) and apply with `kubectl apply -f`: it lives in `gitops-ns`, which the project does not admit',
    );
  });
});
