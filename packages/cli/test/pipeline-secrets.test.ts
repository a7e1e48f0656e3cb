// The secret scan as the build runs it (packages/cli/src/pipeline.ts) on the reference platform:
// a secret is reported once, where the definition has it, and never printed, in any issue.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, formatPath, LOAD_LIMITS } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/index.js';

const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const build = (text: string) => generate({ text, file: 'platform.yaml', chartVersions: {} });

describe('the secret scan in the build', () => {
  it('masks a secret in the schema issue that quotes it, as in the finding itself', async () => {
    const secret = 'hunter2hunter2';
    const text = reference.replace(/( {6}clientSecret:)\n(?: {8}.*\n)+/, `$1 ${secret}\n`);
    expect(text).toContain(`clientSecret: ${secret}`);
    const { issues, files } = await build(text);
    expect(files).toEqual([]);
    const at = issues
      .filter((issue) => formatPath(issue.path) === 'components.argocd.oidc.clientSecret')
      .map((issue) => [issue.code, issue.value]);
    expect(at).toContainEqual(['literal-secret', '****']);
    expect(at.some(([code]) => code !== 'literal-secret')).toBe(true);
    expect(issues.map(formatIssue).join('\n')).not.toContain('hunter2');
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('reports a password in the repository URL once, in the definition, though it reaches the output', async () => {
    const password = 'S3cr3tPassw0rd';
    const text = reference.replace(
      'url: https://github.com/example/homelab-platform.git',
      `url: https://admin:${password}@github.com/example/homelab-platform.git`,
    );
    const { issues, files } = await build(text);
    expect(files).toEqual([]);
    const secrets = issues.filter((issue) => issue.code === 'literal-secret');
    expect(
      secrets.map((issue) => [formatPath(issue.path), issue.position?.line, issue.value]),
    ).toEqual([
      [
        'repository.url',
        text.split('\n').findIndex((line) => line.includes(password)) + 1,
        'https://****:****@github.com…',
      ],
    ]);
    expect(JSON.stringify(issues)).not.toContain(password);
  });

  it('does not scan a definition refused for its size', async () => {
    const text = `platform:\n  adminPassword: hunter2\n${'#'.repeat(LOAD_LIMITS.maxBytes)}\n`;
    const { issues } = await build(text);
    expect(issues.map((issue) => issue.code)).toEqual(['yaml-too-large']);
  });

  it('finds a secret in a CR-only definition at the line an editor shows', async () => {
    const { issues } = await build('platform:\r  name: x\r  adminPassword: hunter2\r');
    expect(issues.find((issue) => issue.code === 'literal-secret')?.position).toEqual({
      file: 'platform.yaml',
      line: 3,
      column: 3,
    });
  });
});
