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
  it('masks a secret in a schema issue elsewhere that quotes it, as in the finding itself', async () => {
    const secret = 'hunter2hunter2';
    // The password pasted as the client secret, and reused in a cluster's name (refused there)
    const text = reference
      .replace(/( {6}clientSecret:)\n(?: {8}.*\n)+/, `$1 ${secret}\n`)
      .replace('  - name: dev\n', `  - name: dev-${secret}!\n`);
    expect(text).toContain(`clientSecret: ${secret}`);
    expect(text).toContain(`name: dev-${secret}!`);
    const { issues, files } = await build(text);
    expect(files).toEqual([]);
    const named = issues.find((issue) => formatPath(issue.path) === 'clusters[0].name');
    expect([named?.code, named?.value]).toEqual(['schema', '****']);
    expect(issues.map(formatIssue).join('\n')).not.toContain('hunter2');
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('reports a secret pasted where a reference or a Bitwarden id goes once, saying what goes there', async () => {
    const secret = 'hunter2-Sup3rS3cret-abcdef';
    const at = async (text: string, path: string) =>
      (await build(text)).issues
        .filter((issue) => issue.severity === 'error' && formatPath(issue.path) === path)
        .map((issue) => [issue.code, issue.value, issue.expected]);
    // Argo CD's client secret: a mapping or Argo CD's $<secret>:<key> string
    const argocd = reference.replace(/( {6}clientSecret:)\n(?: {8}.*\n)+/, `$1 ${secret}\n`);
    expect(await at(argocd, 'components.argocd.oidc.clientSecret')).toEqual([
      ['literal-secret', '****', 'a reference to a Secret filled from Bitwarden, never the value'],
    ]);
    // Grafana's: a mapping only (the schema's "is a string" is the same mistake)
    const grafana = reference.replace(
      /( {8}clientSecret:)\n {10}secretName: grafana-oidc\n {10}key: client-secret\n/,
      `$1 ${secret}\n`,
    );
    expect(grafana).not.toBe(reference);
    expect(await at(grafana, 'components.monitoring.grafana.oidc.clientSecret')).toEqual([
      ['literal-secret', '****', 'a reference to a Secret filled from Bitwarden, never the value'],
    ]);
    // The Bitwarden inventory: a secret's id, never its value
    const inventory = reference.replace(
      'password: 4ae524ef-0a54-4c56-a384-4482dff66d3d',
      `password: ${secret}`,
    );
    expect(inventory).not.toBe(reference);
    const [found] = await at(
      inventory,
      'components.bitwarden-sm.secrets["monitoring/alertmanager-smtp"].password',
    );
    expect(found).toEqual([
      'literal-secret',
      '****',
      'the id of the Bitwarden secret holding the value: a UUID (8-4-4-4-12 hexadecimal digits), as the Secrets Manager web app shows it',
    ]);
    // A value of the right form there is no secret, and passes
    const moved = await build(
      reference.replace(
        'password: 4ae524ef-0a54-4c56-a384-4482dff66d3d',
        'password: 5ae524ef-0a54-4c56-a384-4482dff66d3d',
      ),
    );
    expect(moved.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
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
