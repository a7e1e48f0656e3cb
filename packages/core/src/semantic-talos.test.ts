// The Talos patch releases a line runs the platform from (SUPPORTED_TALOS' `floor`, semantic.ts):
// the ones before a fix the platform's volumes need are refused at the version, on the minimal
// fixture (alpha on v1.12.11, beta on v1.13.9).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { composeDefinitionSchema } from './definition-schema.js';
import { formatIssue } from './issues.js';
import { definitionValidator, loadDefinition } from './load.js';

const minimal = readFileSync(
  fileURLToPath(new URL('../test/fixtures/valid/minimal/platform.yaml', import.meta.url)),
  'utf8',
);
const validator = definitionValidator(composeDefinitionSchema([]));
const shown = (alpha: string, beta: string) =>
  loadDefinition(
    minimal
      .replace('version: v1.12.11', `version: ${alpha}`)
      .replace('version: v1.13.9', `version: ${beta}`),
    'p.yaml',
    validator,
  ).issues.map(formatIssue);

describe('the first patch release of a Talos line', () => {
  test('v1.12.0 to v1.12.4 and v1.13.0 to v1.13.2 are refused at the version, naming the fix', () => {
    expect(shown('v1.12.4', 'v1.13.2')).toEqual([
      'p.yaml:10:16  clusters[0].talos.version: "v1.12.4" is refused: Talos v1.12.0 to v1.12.4 no longer hold /var/mnt, the parent of every user volume: when the kubelet restarts (an upgrade, a config change) Talos unmounts it and every user volume under it, the storage disks mounted there included (siderolabs/talos#12797, fixed in v1.12.5) (expected v1.12.5 or a later v1.12 release)',
      'p.yaml:33:16  clusters[1].talos.version: "v1.13.2" is refused: Talos v1.13.0 to v1.13.2 mount /var/lib/kubelet into the kubelet without shared propagation: after a kubelet restart, what it mounts for running pods (projected Secrets, CSI volumes) lands where those pods never see it (siderolabs/talos#13352, fixed in v1.13.3) (expected v1.13.3 or a later v1.13 release)',
    ]);
    expect(shown('v1.12.0', 'v1.13.0')).toHaveLength(2);
  });

  test('the fixed releases, later ones and the 1.11 line pass', () => {
    expect(shown('v1.12.5', 'v1.13.3')).toEqual([]);
    expect(shown('v1.12.11', 'v1.13.9')).toEqual([]);
    expect(shown('v1.11.0', 'v1.13.9')).toEqual([]);
  });
});
