// Mistakes a user makes with the reference's newer settings, through the whole pipeline: each is
// one error, at the entry's line and column, that says what was expected and how to fix it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  composeDefinitionSchema,
  definitionValidator,
  formatIssue,
  validateDefinition,
} from '@homelab/core';
import { repoRoot, testDefinition, testReferenceClusters } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { REGISTRY } from '../src/registry.js';

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
    // The uppercase one also gets the name it should be (core's schema-validate `formHint`).
    ['an uppercase name', 'siderolabs/Intel-ucode', '; in lowercase: "siderolabs/intel-ucode"'],
    ['a third-party image', 'ghcr.io/example/myext', ''],
  ])(
    '%s: says names are lowercase siderolabs/<name> and the Image Factory builds official ones only',
    async (_what, name, hint) => {
      expect(reference).toContain(DEV_TALOS);
      const text = reference.replace(DEV_TALOS, `${DEV_TALOS}      extensions: [${name}]\n`);
      expect(await errorsOf(text)).toEqual([
        `platform.yaml:${lineOf(text, '      extensions: [')}:20  clusters[0].talos.extensions[0]: "${name}" does not have the expected form (expected an official extension name as the Image Factory lists it, siderolabs/<name> in lowercase (e.g. siderolabs/intel-ucode); the Image Factory builds only official extensions, so a third-party image (ghcr.io/…) cannot go into a schematic${hint})`,
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

describe('volume sizes the API server would not take as written', () => {
  const at = '            size: 20Gi\n            tier: standard\n';
  it.each([
    [
      '0Gi',
      'is 0 bytes: the API server refuses a claim of no storage ("must be greater than zero")',
    ],
    [
      '0.1Mi',
      'is 104857.6 bytes, not a whole number: the API server keeps the claim\'s request as a fractional byte value with only a warning ("must be an integer")',
    ],
  ])(
    'an application volume of %s: an error at its size, naming what the API server does',
    async (size, why) => {
      expect(reference).toContain(at);
      const text = reference.replace(at, at.replace('20Gi', size));
      expect(await errorsOf(text)).toEqual([
        `platform.yaml:${lineOf(text, `            size: ${size}`)}:19  components.applications.apps.paperless.volumes.data.size: "${size}" ${why} (expected a size of one byte or more in whole bytes, e.g. 20Gi, 1.5Gi or 512Mi)`,
      ]);
    },
    60_000,
  );

  it('1.5Gi and 0.5Mi are whole bytes: no error', async () => {
    for (const size of ['1.5Gi', '0.5Mi']) {
      const text = reference.replace(at, at.replace('20Gi', size));
      const { issues } = await generate({ text, file: 'platform.yaml', chartVersions: {} });
      expect(issues.filter((issue) => issue.severity === 'error').map(formatIssue), size).toEqual(
        [],
      );
    }
  }, 60_000);
});

describe('volume sizes of the components: none of 0 bytes', () => {
  it("refuses 0 for Prometheus' volume, Authelia's SQLite volume and the restic cache, at each setting", () => {
    const definition = testDefinition(testReferenceClusters(), {
      components: {
        monitoring: { prometheus: { storage: { size: '0Gi' } } },
        authelia: { storage: { sqlite: { size: '0Mi' } } },
        backups: { restic: { cacheCapacity: '0Gi' } },
      },
    });
    const refused = validateDefinition(
      definition,
      definitionValidator(composeDefinitionSchema(REGISTRY)),
    ).issues.map((issue) => [issue.code, issue.path.join('.')]);
    expect(refused).toEqual(
      expect.arrayContaining([
        ['schema', 'components.monitoring.prometheus.storage.size'],
        ['schema', 'components.authelia.storage.sqlite.size'],
        ['schema', 'components.backups.restic.cacheCapacity'],
      ]),
    );
    const sized = testDefinition(testReferenceClusters(), {
      components: {
        monitoring: { prometheus: { storage: { size: '10Gi' } } },
        authelia: { storage: { sqlite: { size: '1Gi' } } },
        backups: { restic: { cacheCapacity: '1Gi' } },
      },
    });
    expect(
      validateDefinition(
        sized,
        definitionValidator(composeDefinitionSchema(REGISTRY)),
      ).issues.filter((issue) => issue.path.join('.').match(/size|cacheCapacity/)),
    ).toEqual([]);
  });
});

describe("a volume's backup schedule that is no cron schedule", () => {
  it('is an error at the schedule the user wrote, not at the verification schedule', async () => {
    const at = '                development: "0 2 * * *"\n';
    expect(reference).toContain(at);
    const text = reference.replace(at, at.replace('0 2 * * *', '61 2 * * *'));
    const line = lineOf(text, '                development: "61 2 * * *"');
    expect(await errorsOf(text)).toEqual([
      `platform.yaml:${line}:30  components.applications.apps.paperless.volumes.data.backup.schedule.development → charts/applications/clusters/dev.yaml#manifests.replicationsource-paperless-data: "61 2 * * *" is not a cron schedule: minute "61" is not a value or range within 0-59 (expected five fields: minute hour day-of-month month day-of-week, or one of @yearly, @annually, @monthly, @weekly, @daily, @hourly)`,
    ]);
  }, 60_000);

  it('refuses day of week 7 (robfig/cron, the parser of VolSync, bounds it at 6), hinting at 0', async () => {
    const at = '                development: "0 2 * * *"\n';
    const text = reference.replace(at, at.replace('0 2 * * *', '0 2 * * 7'));
    const line = lineOf(text, '                development: "0 2 * * 7"');
    expect(await errorsOf(text)).toEqual([
      `platform.yaml:${line}:30  components.applications.apps.paperless.volumes.data.backup.schedule.development → charts/applications/clusters/dev.yaml#manifests.replicationsource-paperless-data: "0 2 * * 7" is not a cron schedule: day of week "7" holds 7, but robfig/cron (which Kubernetes CronJobs and VolSync parse schedules with) takes days of the week 0-6 only (expected five fields: minute hour day-of-month month day-of-week, Sunday being 0 or sun, e.g. 0 2 * * 0)`,
    ]);
  }, 60_000);

  it('refuses a schedule that never fires (30 February)', async () => {
    const at = '                development: "0 2 * * *"\n';
    const text = reference.replace(at, at.replace('0 2 * * *', '0 2 30 2 *'));
    const line = lineOf(text, '                development: "0 2 30 2 *"');
    expect(await errorsOf(text)).toEqual([
      `platform.yaml:${line}:30  components.applications.apps.paperless.volumes.data.backup.schedule.development → charts/applications/clusters/dev.yaml#manifests.replicationsource-paperless-data: "0 2 30 2 *" never fires: February has no day 30; robfig/cron accepts such a schedule and never runs it (expected a day of the month that exists in one of its months)`,
    ]);
  }, 60_000);

  it('takes @daily, which robfig/cron and VolSync both read, and refuses @midnight with a hint', async () => {
    const at = '                development: "0 2 * * *"\n';
    const daily = await generate({
      text: reference.replace(at, at.replace('"0 2 * * *"', '"@daily"')),
      file: 'platform.yaml',
      chartVersions: {},
    });
    expect(daily.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const text = reference.replace(at, at.replace('"0 2 * * *"', '"@midnight"'));
    const line = lineOf(text, '                development: "@midnight"');
    expect(await errorsOf(text)).toEqual([
      `platform.yaml:${line}:30  components.applications.apps.paperless.volumes.data.backup.schedule.development → charts/applications/clusters/dev.yaml#manifests.replicationsource-paperless-data: "@midnight" is not taken by VolSync's ReplicationSource CRD, whose schedule pattern lists only @annually, @yearly, @monthly, @weekly, @daily and @hourly (expected @daily (the same time: 00:00 UTC every day))`,
    ]);
  }, 60_000);
});
