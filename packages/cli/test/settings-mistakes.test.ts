// Mistakes a user makes with the reference's newer settings, through the whole pipeline: each is
// one error, at the entry's line and column, that says what was expected and how to fix it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const DEV_TALOS = '      version: v1.13.9\n';

async function errorsOf(text: string): Promise<string[]> {
  const { issues, files } = await generate({ text, file: 'platform.yaml', chartVersions: {} });
  expect(files).toEqual([]);
  return issues.filter((issue) => issue.severity === 'error').map(formatIssue);
}

/** The number of the file's line that is exactly `line` (the first one), or starts with it. */
const lineOf = (text: string, line: string): number =>
  text.split('\n').findIndex((candidate) => candidate === line || candidate.startsWith(line)) + 1;

describe('talos.extensions as a user mistypes them', () => {
  it.each([
    ['an uppercase name', 'siderolabs/Intel-ucode'],
    ['a third-party image', 'ghcr.io/example/myext'],
  ])(
    '%s: says names are lowercase siderolabs/<name> and the Image Factory builds official ones only',
    async (_what, name) => {
      expect(reference).toContain(DEV_TALOS);
      const text = reference.replace(DEV_TALOS, `${DEV_TALOS}      extensions: [${name}]\n`);
      expect(await errorsOf(text)).toEqual([
        `platform.yaml:${lineOf(text, '      extensions: [')}:20  clusters[0].talos.extensions[0]: "${name}" does not have the expected form (expected an official extension name as the Image Factory lists it, siderolabs/<name> in lowercase (e.g. siderolabs/intel-ucode); the Image Factory builds only official extensions, so a third-party image (ghcr.io/…) cannot go into a schematic)`,
      ]);
    },
    60_000,
  );
});

describe('grafana.oidc.policy written beside oidc', () => {
  it('names the mapping it belongs under', async () => {
    const at = '            clientId: grafana-prod\n            policy: two_factor\n';
    expect(reference).toContain(at);
    const text = reference.replace(
      at,
      '            clientId: grafana-prod\n          policy: two_factor\n',
    );
    expect(await errorsOf(text)).toEqual([
      `platform.yaml:${lineOf(text, '            clientId: grafana-prod') + 1}:11  clusters[2].components.monitoring.grafana.policy: "policy" is not a known key; did you mean "oidc.policy"? (a key of oidc, indented under it) (expected one of: adminGroups, editorGroups, localLogin, oidc, viewerGroups)`,
    ]);
  }, 60_000);
});
