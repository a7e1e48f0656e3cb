import { describe, expect, it } from 'vitest';
import {
  isLiteralSecretValue,
  isSensitiveKey,
  scanGeneratedFiles,
  scanSecrets,
} from './secrets.js';

describe('isSensitiveKey', () => {
  it('flags keys that hold secret values', () => {
    for (const key of [
      'password',
      'adminPassword',
      'clientSecret',
      'token',
      'api_key',
      'AWS_SECRET_ACCESS_KEY',
      'privateKey',
      'secret',
    ]) {
      expect([key, isSensitiveKey(key)]).toEqual([key, true]);
    }
  });

  it('does not flag keys that name, create or toggle a secret', () => {
    for (const key of [
      'existingSecret',
      'createSecret',
      'secretName',
      'secretKey',
      'secretsNamespace',
      'backupTargetCredentialSecret',
      'tokenTTL',
      'bitwardenSecretId',
    ]) {
      expect([key, isSensitiveKey(key)]).toEqual([key, false]);
    }
  });
});

describe('isLiteralSecretValue', () => {
  it('treats references, booleans, numbers, null and nested maps as no value', () => {
    for (const raw of [
      '$secret:password',
      '"$oidc.authelia.clientSecret"',
      'true',
      'false',
      '42',
      'null',
      '~',
      '""',
      "''",
      '{',
      '[]',
    ]) {
      expect([raw, isLiteralSecretValue(raw)]).toEqual([raw, false]);
    }
  });

  it('treats a plain string, quoted or not, as a literal', () => {
    for (const raw of ['hunter2', '"hunter2"', "'s3cr3t'", '"abc",', 'abc # a comment']) {
      expect([raw, isLiteralSecretValue(raw)]).toEqual([raw, true]);
    }
  });
});

describe('scanSecrets', () => {
  it('takes a UUID in a secret inventory for the id of a store entry, and a UUID elsewhere for a value', () => {
    const definition = [
      'components:',
      '  bitwarden-sm:',
      '    secrets:',
      '      argocd/argocd-oidc:',
      '        client-secret: 0b6f0c1e-8a57-4d52-9c3e-2f8e4b1a7d10',
      '        truncated: 0b6f0c1e-8a57-4d52',
      '        pasted-secret: hunter2',
      '  grafana:',
      '    adminPassword: 0b6f0c1e-8a57-4d52-9c3e-2f8e4b1a7d10',
      '',
    ].join('\n');
    const issues = scanSecrets([{ path: 'platform.yaml', content: definition }], {
      positions: true,
    });
    expect(issues.map((issue) => [issue.position?.line, issue.path.join('.')])).toEqual([
      [7, 'components.bitwarden-sm.secrets.argocd/argocd-oidc.pasted-secret'],
      [9, 'components.grafana.adminPassword'],
    ]);
  });

  it('reports a literal password in generated YAML with its file, line and key path, never its value', () => {
    const issues = scanGeneratedFiles([
      {
        path: 'charts/argo-cd/values.yaml',
        content:
          'argo-cd:\n  configs:\n    secret:\n      createSecret: true\n      argocdServerAdminPassword: hunter2\n',
      },
    ]);
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'literal-secret',
        path: [],
        output: 'charts/argo-cd/values.yaml:5 argo-cd.configs.secret.argocdServerAdminPassword',
        message: 'is a literal secret value; declare the secret and reference it instead',
        expected: 'a reference to a declared secret, never its value',
      },
    ]);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('accepts references and secret names', () => {
    const issues = scanGeneratedFiles([
      {
        path: 'charts/argo-cd/values.yaml',
        content: [
          'argo-cd:',
          '  configs:',
          '    cm:',
          '      oidc.config: |',
          '        clientSecret: $oidc.authelia:clientSecret',
          '    secret:',
          '      createSecret: false',
          '  redis:',
          '    existingSecret: argocd-redis',
          '  manifests:',
          '    bw:',
          '      spec:',
          '        authToken:',
          '          secretName: bw-auth-token',
          '          secretKey: token',
          '',
        ].join('\n'),
      },
    ]);
    expect(issues).toEqual([]);
  });

  it('reports secrets in JSON files with the nested key path', () => {
    const issues = scanGeneratedFiles([
      {
        path: 'charts/x/values.schema.json',
        content: '{\n  "auth": {\n    "token": "abc",\n    "enabled": true\n  }\n}\n',
      },
    ]);
    expect(issues.map((issue) => issue.output)).toEqual([
      'charts/x/values.schema.json:3 auth.token',
    ]);
  });

  it('reports a literal under a list item and a block scalar value', () => {
    const issues = scanGeneratedFiles([
      {
        path: 'clusters/dev/talos/controlplane.yaml',
        content:
          'machine:\n  token: abcdef.0123456789abcdef\ncluster:\n  users:\n    - name: admin\n      password: x\n  aescbcEncryptionSecret: |\n    c2VjcmV0\n',
      },
    ]);
    expect(issues.map((issue) => issue.output)).toEqual([
      'clusters/dev/talos/controlplane.yaml:2 machine.token',
      'clusters/dev/talos/controlplane.yaml:6 cluster.users.password',
      'clusters/dev/talos/controlplane.yaml:7 cluster.aescbcEncryptionSecret',
    ]);
  });

  it('finds PEM private keys and token formats in any file, Markdown included', () => {
    const issues = scanGeneratedFiles([
      {
        path: 'clusters/dev/README.md',
        content: 'Run:\n\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n',
      },
      { path: 'charts/x/README.md', content: `key ${'AKIA'}ABCDEFGHIJKLMNOP here\n` },
      { path: 'charts/x/README.md', content: '-----BEGIN CERTIFICATE-----\n' },
    ]);
    expect(issues.map((issue) => [issue.output, issue.message])).toEqual([
      ['clusters/dev/README.md:3 (text)', 'contains a PEM private key'],
      ['charts/x/README.md:1 (text)', 'contains an AWS access key id'],
    ]);
  });

  it('ignores key-like prose in Markdown and comments in YAML', () => {
    const issues = scanSecrets([
      { path: 'README.md', content: 'password: see the runbook\n' },
      { path: 'a.yaml', content: '# password: example\nname: x\n' },
    ]);
    expect(issues).toEqual([]);
  });

  it('gives positions in the definition file when asked', () => {
    const issues = scanSecrets(
      [{ path: '/x/platform.yaml', content: 'platform:\n  name: a\n  apiToken: "abc"\n' }],
      {
        positions: true,
      },
    );
    expect(issues).toEqual([
      expect.objectContaining({
        path: ['platform', 'apiToken'],
        position: { file: '/x/platform.yaml', line: 3, column: 3 },
      }),
    ]);
  });
});
