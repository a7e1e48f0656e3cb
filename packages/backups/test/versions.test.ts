// The restic the restore-verification suite runs (.ci/install-restic) is the one the verification
// CronJob runs (RESTIC_VERSION, which Renovate bumps through its `// renovate:` comment): a bump
// that left CI's restic behind would test the script against another restic than the deployed one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { RESTIC_IMAGE, RESTIC_VERSION } from '../src/versions.js';

describe('the restic release', () => {
  it("of the verification job is the one CI's restore-verification suite installs", () => {
    const script = readFileSync(join(repoRoot(), '.ci/install-restic'), 'utf8');
    const ci = /^RESTIC_VERSION=(\S+)$/m.exec(script)?.[1];
    expect({ ci, image: RESTIC_IMAGE }).toEqual({
      ci: `v${RESTIC_VERSION}`,
      image: `docker.io/restic/restic:${RESTIC_VERSION}`,
    });
  });
});
