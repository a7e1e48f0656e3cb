// The S3 endpoints of the reference (the backups' restic repositories and etcd snapshots,
// Longhorn's backup target) when they are no server address: each is refused at the endpoint
// itself (file:line:col of its value), never at the component, and never accepted with its
// egress policies silently left out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPath, type Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const FILE = 'platform.yaml';
const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const BACKUPS = '    s3:\n      endpoint: https://s3.lab.example.com\n';
const LONGHORN = '    backupTarget:\n      endpoint: https://s3.lab.example.com\n';

/** The reference with the two endpoints replaced, and the line (1-based) of each. */
function withEndpoints(backups: string, longhorn: string) {
  for (const from of [BACKUPS, LONGHORN]) {
    if (!reference.includes(from)) throw new Error(`not in the reference: ${from}`);
  }
  const text = reference
    .replace(BACKUPS, `    s3:\n      endpoint: "${backups}"\n`)
    .replace(LONGHORN, `    backupTarget:\n      endpoint: "${longhorn}"\n`);
  const lineOf = (from: string) => text.slice(0, text.indexOf(from)).split('\n').length + 1;
  return {
    text,
    backupsLine: lineOf(`    s3:\n      endpoint: "${backups}"`),
    longhornLine: lineOf(`    backupTarget:\n      endpoint: "${longhorn}"`),
  };
}

async function errors(text: string): Promise<[string, number | undefined, string][]> {
  const result = await generate({ text, file: FILE, chartVersions: {} });
  return result.issues
    .filter((issue: Issue) => issue.severity === 'error')
    .map((issue) => [formatPath(issue.path), issue.position?.line, issue.message]);
}

describe('S3 endpoints that are no server address', () => {
  it('a port beyond 65535 is refused at each endpoint, with no policy quietly missing', async () => {
    const { text, backupsLine, longhornLine } = withEndpoints(
      'https://s3.example.com:99999',
      'https://s3.example.com:70000',
    );
    expect(await errors(text)).toEqual([
      [
        'components.longhorn.backupTarget.endpoint',
        longhornLine,
        'has port 70000, which is not a TCP port (1–65535)',
      ],
      [
        'components.backups.s3.endpoint',
        backupsLine,
        'has port 99999, which is not a TCP port (1–65535)',
      ],
    ]);
  });

  it('a host no DNS rule can name is refused at the endpoint, not at the component', async () => {
    const { text, backupsLine, longhornLine } = withEndpoints(
      'https://bad_host!.example.com',
      'https://bad_host!.example.com',
    );
    const message =
      'has host "bad_host!.example.com", which is not a DNS name (letters, digits and hyphens in labels separated by dots): no DNS rule of the egress policy can allow it, so the S3 server would be unreachable';
    expect(await errors(text)).toEqual([
      ['components.longhorn.backupTarget.endpoint', longhornLine, message],
      ['components.backups.s3.endpoint', backupsLine, message],
    ]);
  });

  it('a query is refused at the endpoint and never repeated', async () => {
    const { text, backupsLine } = withEndpoints(
      'http://s3.example.com?x=XQ',
      'https://s3.lab.example.com',
    );
    const found = await errors(text);
    expect(found.map(([path, line]) => [path, line])).toEqual([
      ['components.backups.s3.endpoint', backupsLine],
    ]);
    expect(found[0]?.[2]).toMatch(/^has a query/);
    expect(JSON.stringify(found)).not.toContain('XQ');
  });
});
