import { describe, expect, test } from 'vitest';
import {
  volumeBackupSecret,
  volumePopulatorIgnore,
  volumePopulatorName,
  volumePopulatorSource,
} from './volumes.js';

describe('volumeBackupSecret', () => {
  test('names the restic Secret after the volume, in its namespace, with restic keys', () => {
    const volume = {
      name: 'data',
      namespace: 'paperless',
      size: '10Gi',
      tier: 'standard',
      backup: { schedule: '0 2 * * *', retention: { daily: 7 } },
    };
    expect(volumeBackupSecret(volume)).toEqual({
      name: 'data-restic',
      namespace: 'paperless',
      keys: ['RESTIC_REPOSITORY', 'RESTIC_PASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      description:
        'restic repository URL, repository password and S3 credentials of the backups of volume paperless/data',
      // Each backup, restore and verification is a new pod: nothing to restart.
      readers: [
        {
          kind: 'Job',
          name: 'the restic movers and verifications of data',
          reads: 'run',
          how: 'environment variables of each run\u2019s pod',
        },
      ],
      rotation: {
        AWS_ACCESS_KEY_ID: expect.stringContaining('Create the new access key'),
        AWS_SECRET_ACCESS_KEY: expect.stringContaining('change both together'),
        // A repository opens only with a password it holds a key for: without the provider's
        // steps, the note names restic's commands, on every cluster reading the entry.
        RESTIC_PASSWORD: expect.stringContaining(
          'on the repository of every cluster that reads this entry, add a key for the new password with the old one (`restic key add`)',
        ),
        RESTIC_REPOSITORY: expect.stringContaining('A new repository starts empty'),
      },
    });
  });

  test("names the repository RESTIC_REPOSITORY must hold, under the backup provider's prefix", () => {
    const volume = {
      name: 'data',
      namespace: 'paperless',
      size: '10Gi',
      tier: 'standard',
      backup: { schedule: '0 2 * * *', retention: { daily: 7 } },
    };
    expect(
      volumeBackupSecret(volume, 's3:http://nas.home.arpa:9000/backups/restic/prod').description,
    ).toBe(
      'restic repository URL, repository password and S3 credentials of the backups of volume paperless/data; RESTIC_REPOSITORY must be s3:http://nas.home.arpa:9000/backups/restic/prod/paperless/data',
    );
  });

  test('the rotation notes: the repository is the definition\u2019s, the password goes through the provider\u2019s steps', () => {
    const volume = {
      name: 'data',
      namespace: 'paperless',
      size: '10Gi',
      tier: 'standard',
      backup: { schedule: '0 2 * * *', retention: { daily: 7 } },
    };
    const where = '`disaster-recovery.md`, "Changing a repository\u2019s password"';
    const notes = volumeBackupSecret(volume, 's3:https://s3.example/b/restic/prod', where).rotation;
    // A new URL in the entry alone sends the backups where no restore looks, and the verification
    // compares it with the definition's: the note says it stays, and how it moves.
    expect(notes?.RESTIC_REPOSITORY).toContain(
      'it must stay `s3:https://s3.example/b/restic/prod/paperless/data`',
    );
    expect(notes?.RESTIC_REPOSITORY).not.toContain('A new repository starts empty');
    expect(notes?.RESTIC_PASSWORD).toContain(`Follow ${where} around the commands below`);
    expect(notes?.RESTIC_PASSWORD).toContain('on every cluster that reads this entry');
  });
});

describe('the backup provider’s populator', () => {
  const volume = {
    name: 'data',
    namespace: 'paperless',
    backup: { schedule: '0 2 * * *', retention: { daily: 7 } },
  };
  const populator = { apiGroup: 'volsync.backube', kind: 'ReplicationDestination' };

  test("names the volume's bootstrap as the claim's dataSourceRef", () => {
    expect(volumePopulatorName(volume)).toBe('data-bootstrap');
    expect(volumePopulatorSource(volume, populator)).toEqual({
      apiGroup: 'volsync.backube',
      kind: 'ReplicationDestination',
      name: 'data-bootstrap',
    });
  });

  test('names nothing for a volume without backups, or a provider without a populator', () => {
    expect(volumePopulatorSource({ name: 'cache' }, populator)).toBeUndefined();
    expect(volumePopulatorSource(volume, undefined)).toBeUndefined();
  });

  test('has the Application ignore the field of that one claim (never a cluster-wide entry)', () => {
    expect(volumePopulatorIgnore(volume)).toEqual({
      group: '',
      kind: 'PersistentVolumeClaim',
      name: 'data',
      namespace: 'paperless',
      jsonPointers: ['/spec/dataSource', '/spec/dataSourceRef'],
    });
  });
});
