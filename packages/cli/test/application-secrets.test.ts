// An application's own Secrets (`apps.<app>.secrets`) on the reference platform: filled from
// Bitwarden like the platform's, in the application's namespace, with the operator's token made
// there by the runbook (sm-kubernetes reads the token Secret from the BitwardenSecret's own
// namespace: internal/controller/bitwardensecret_controller.go), even where no volume is backed up.
import { parseYaml } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { edit, FILE, reference } from './broken-output.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read into the generated values.
type Loose = any;

/** The reference with an application `notes`: no volume, one Secret, mapped as `mapping` says. */
const withNotes = (mapping: string) =>
  edit(
    edit(
      reference,
      '  applications:\n    apps:\n',
      '  applications:\n    apps:\n      notes:\n        secrets:\n          notes-env:\n            keys: [SECRET_KEY]\n            description: the session key\n',
    ),
    '      paperless/data-restic:\n',
    `${mapping}      paperless/data-restic:\n`,
  );

describe("an application's own Secrets", { timeout: 180_000 }, () => {
  it('are BitwardenSecrets in its namespace, with the token made there and the entry listed', async () => {
    const result = await generate({
      text: withNotes(
        '      notes/notes-env:\n        SECRET_KEY: 3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b\n',
      ),
      file: FILE,
      chartVersions: {},
    });
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const file = (path: string) => result.files.find((candidate) => candidate.path === path);
    const dev = parseYaml(String(file('charts/applications/clusters/dev.yaml')?.content)) as Loose;
    expect(dev.manifests['bitwardensecret-notes-env'].metadata).toMatchObject({
      name: 'notes-env',
      namespace: 'notes',
    });
    expect(dev.manifests['bitwardensecret-notes-env'].spec).toMatchObject({
      secretName: 'notes-env',
      authToken: { secretName: 'bw-auth-token', secretKey: 'token' },
      map: [{ bwSecretId: '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b', secretKeyName: 'SECRET_KEY' }],
    });
    const runbook = String(file('clusters/dev/RUNBOOK.md')?.content);
    expect(runbook).toContain('- `notes/bw-auth-token` (keys `token`)');
    expect(runbook).toContain(
      '- `notes/notes-env` (applications): the session key of application notes',
    );
    expect(runbook).toContain(
      '  - Secret `notes-env` (`SECRET_KEY`), filled from the secret store',
    );
    // Without the namespace's BitwardenSecret there is no token to make: the runbook makes one
    // only where a Secret is declared
    const without = await generate({
      text: edit(
        reference,
        '  applications:\n    apps:\n',
        '  applications:\n    apps:\n      notes: {}\n',
      ),
      file: FILE,
      chartVersions: {},
    });
    expect(
      String(without.files.find((f) => f.path === 'clusters/dev/RUNBOOK.md')?.content),
    ).not.toContain('`notes/bw-auth-token`');
  });

  it('an unmapped key is an error that gives the lines to add', async () => {
    const result = await generate({ text: withNotes(''), file: FILE, chartVersions: {} });
    const errors = result.issues.filter((issue) => issue.code === 'bitwarden-unmapped');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      'applications declares Secret notes/notes-env with key "SECRET_KEY" on clusters "dev", "staging" and "prod", but the inventory maps no Bitwarden secret to it: the Secret would be made without it',
    );
    expect(result.files).toEqual([]);
  });
});
