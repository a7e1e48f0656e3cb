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

describe('caCertificates as a user pastes it', () => {
  const ca = readFileSync(
    join(repoRoot(), 'packages/authelia/test/fixtures/private-ca.crt'),
    'utf8',
  ).trimEnd();
  /** The reference with `caCertificates: |` under components.authelia, the PEM indented 6. */
  const withPem = (pem: string): string => {
    const block = pem
      .split('\n')
      .map((line) => (line === '' ? '' : `      ${line}`))
      .join('\n');
    const text = reference.replace(
      '  authelia:\n    enabled: true\n',
      `  authelia:\n    enabled: true\n    caCertificates: |\n${block}\n`,
    );
    expect(text).toContain('caCertificates: |');
    return text;
  };
  const lineOf = (text: string, needle: string, from = 0): number =>
    text.split('\n').findIndex((line, index) => index >= from && line.includes(needle)) + 1;

  it('reports a private key pasted after the CA once, at its BEGIN line, never its value', async () => {
    // Given the CA's key pasted under its certificate
    const key = [
      '-----BEGIN PRIVATE KEY-----',
      'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gm',
      '-----END PRIVATE KEY-----',
    ].join('\n');
    const text = withPem(`${ca}\n${key}`);
    const { issues, files } = await build(text);
    // Then nothing is written and one error names it, where the file has the key's first line
    expect(files).toEqual([]);
    const errors = issues.filter((issue) => issue.severity === 'error');
    expect(errors.map((issue) => [issue.code, formatIssue(issue).split('  ')[0]])).toEqual([
      [
        'authelia-ca-certificates',
        `platform.yaml:${lineOf(text, '-----BEGIN PRIVATE KEY-----')}:7`,
      ],
    ]);
    expect(errors[0]?.message).toContain(
      "a PRIVATE KEY block where only certificates belong (a private key is a secret: never put it in the definition; only the CA's certificate is needed, e.g. ca.crt), at line 12, column 1 of the PEM",
    );
    expect(JSON.stringify(issues)).not.toContain('MIGHAgEAMBMGByqGSM49');
  });

  it('points at the line of the block scalar a paste broke, not at the setting', async () => {
    const lines = ca.split('\n');
    // a base64 line cut short, the END line indented further than the block
    const short = withPem(
      [...lines.slice(0, 3), lines[3]?.slice(0, 30), ...lines.slice(4)].join('\n'),
    );
    const indented = withPem([...lines.slice(0, -1), `  ${lines.at(-1)}`].join('\n'));
    const at = async (text: string) =>
      (await build(text)).issues
        .filter((issue) => issue.code === 'authelia-ca-certificates')
        .map((issue) => [issue.position?.line, issue.position?.column]);
    const start = lineOf(short, 'caCertificates: |');
    expect(await at(short)).toEqual([[start + 4, 7]]);
    expect(await at(indented)).toEqual([[lineOf(indented, '-----END CERTIFICATE-----', start), 9]]);
  });
});
