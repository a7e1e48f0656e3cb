import { error, formatPath } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import {
  findSecrets,
  isLiteralSecretValue,
  isSensitiveKey,
  maskIssues,
  maskSecret,
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
      // Argo CD's customizations of a kind named ...Secret hold Lua, not a secret
      'resource.customizations.health.k8s.bitwarden.com_BitwardenSecret',
      'resource.customizations.actions.k8s.bitwarden.com_BitwardenSecret',
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
      // A reference as a flow mapping: what the error message suggests.
      '{secretName: argocd-oidc, key: client-secret}',
      "{ key: 'api-token', secretName: cloudflare-api-token } # from Bitwarden",
    ]) {
      expect([raw, isLiteralSecretValue(raw)]).toEqual([raw, false]);
    }
  });

  it('treats a plain string, quoted or not, as a literal', () => {
    for (const raw of [
      'hunter2',
      '"hunter2"',
      "'s3cr3t'",
      '"abc",',
      'abc # a comment',
      // A flow mapping that is not exactly a reference may carry the value itself.
      '{value: hunter2}',
      '{secretName: x, key: y, value: hunter2}',
      '{secretName: x, key: {nested: hunter2}}',
    ]) {
      expect([raw, isLiteralSecretValue(raw)]).toEqual([raw, true]);
    }
  });
});

describe('scanSecrets', () => {
  it('finds a sensitive key however it is spelled, and skips a file with neither such a key nor a token', () => {
    const spelled = [
      'a:',
      '  Pass-Word: hunter2hunter2',
      '  "API_KEY" : abcdefgh',
      "  'client.Secret': xyz",
      '  - sess_ion_To.ken: abc',
      '',
    ].join('\n');
    const found = findSecrets([{ path: 'values.yaml', content: spelled }]);
    expect(found.map((finding) => finding.keyPath)).toEqual([
      'a.Pass-Word',
      'a.API_KEY',
      'a.client.Secret',
      'a[0].sess_ion_To.ken',
    ]);
    // The same text outside YAML or JSON is not read for keys; a token is found anywhere.
    expect(findSecrets([{ path: 'README.md', content: spelled }])).toEqual([]);
    const token = `see ghp_${'a'.repeat(36)}\n`;
    expect(findSecrets([{ path: 'README.md', content: token }]).map((f) => f.keyPath)).toEqual([
      '(text)',
    ]);
    expect(
      findSecrets([{ path: 'values.yaml', content: 'secretName: x\nexisting: y\nname: z\n' }]),
    ).toEqual([]);
    // A reference written inline, as the error's fix says, is no secret; a value beside it is.
    const inline = [
      'oidc:',
      '  clientSecret: {secretName: argocd-oidc, key: client-secret}',
      '  apiToken: {secretName: t, key: api-token, value: hunter2hunter2}',
      '',
    ].join('\n');
    expect(findSecrets([{ path: 'platform.yaml', content: inline }]).map((f) => f.keyPath)).toEqual(
      ['oidc.apiToken'],
    );
  });

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
        output: 'charts/argo-cd/values.yaml:5:7 argo-cd.configs.secret.argocdServerAdminPassword',
        message:
          'is a literal secret value where a reference is expected; keep the value in Bitwarden Secrets Manager and reference the Kubernetes Secret it fills (e.g. clientSecret: {secretName: argocd-oidc, key: client-secret})',
        value: '****',
        expected: 'a reference to a Secret filled from Bitwarden, never the value',
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
      'charts/x/values.schema.json:3:5 auth.token',
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
      'clusters/dev/talos/controlplane.yaml:2:3 machine.token',
      'clusters/dev/talos/controlplane.yaml:6:7 cluster.users[0].password',
      'clusters/dev/talos/controlplane.yaml:7:3 cluster.aescbcEncryptionSecret',
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
      ['clusters/dev/README.md:3:1 (text)', expect.stringMatching(/^is a PEM private key; /)],
      ['charts/x/README.md:1:5 (text)', expect.stringMatching(/^is an AWS access key id; /)],
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

// Samples of every credential format, assembled so that this file holds none of them whole.
const AGE_CHARS = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';
const SAMPLES: readonly { kind: string; secret: string; mask: string }[] = [
  {
    kind: 'a password in a URL',
    secret: `https://admin:${'S3cr3tPassw0rd!'}@github.com/example/homelab.git`,
    mask: 'https://****:****@github.com…',
  },
  {
    kind: 'a password in a URL',
    secret: `ssh://git:${'pw0rd'}@git.example.com/homelab.git`,
    mask: 'ssh://****:****@git.example.com…',
  },
  {
    kind: 'a token in a URL',
    secret: `https://${'0123456789abcdef0123'}${'456789abcdef01234567'}@git.lab.example.com/me/lab.git`,
    mask: 'https://****:****@git.lab.example.com…',
  },
  {
    kind: 'a Slack webhook URL',
    secret: `https://hooks.slack.com/services/${'T0AAAAAAA/B0BBBBBBB/'}${'abcdefghijklmnopqrstuvwx'}`,
    mask: 'http…',
  },
  {
    kind: 'a Discord webhook URL',
    secret: `https://discord.com/api/webhooks/${'123456789012345678'}/${'AbCdEfGhIjKlMnOpQrStUvWxYz012345'}`,
    mask: 'http…',
  },
  {
    kind: 'a Healthchecks.io ping URL',
    secret: `https://hc-ping.com/${'96c40cbd-aaaa-bbbb'}-${'cccc-8849081c0f86'}`,
    mask: 'http…',
  },
  { kind: 'a GitLab token', secret: `glpat-${'z_sxgtrfAxKr8q1TPY8Y'}`, mask: 'glpa…' },
  {
    kind: 'a GitLab token',
    secret: `glpat-${'Abcdefghijklmnopqrstu'}.01.${'1a2b3c4d5'}`,
    mask: 'glpa…',
  },
  {
    kind: 'a JSON Web Token',
    secret: `${'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'}.${'eyJzdWIiOiIxMjM0NTY3ODkwIn0'}.${'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'}`,
    mask: 'eyJh…',
  },
  {
    kind: 'a Slack token',
    secret: `xoxb-${'123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'}`,
    mask: 'xoxb…',
  },
  { kind: 'a GitHub token', secret: `ghp_${'a1B2c3D4e5'.repeat(4)}`, mask: 'ghp_…' },
  { kind: 'a GitHub token', secret: `gho_${'a1B2c3D4e5'.repeat(4)}`, mask: 'gho_…' },
  { kind: 'a GitHub token', secret: `ghs_${'a1B2c3D4e5'.repeat(4)}`, mask: 'ghs_…' },
  {
    kind: 'a GitHub token',
    secret: `github_pat_${'11ABCDEFG0'.repeat(4)}_${'x'.repeat(40)}`,
    mask: 'gith…',
  },
  { kind: 'an AWS access key id', secret: `AKIA${'IOSFODNN7EXAMPLE'}`, mask: 'AKIA…' },
  {
    kind: 'a PEM private key',
    secret: `-----BEGIN OPENSSH ${'PRIVATE KEY'}-----`,
    mask: '----…',
  },
  {
    kind: 'an age secret key',
    secret: `AGE-SECRET-KEY-1${AGE_CHARS}${AGE_CHARS.slice(0, 26)}`,
    mask: 'AGE-…',
  },
  {
    kind: 'a Bitwarden Secrets Manager access token',
    secret: `0.${'ec2c1d46-6a4b-4751-a310-af9601317f2d'}.${'C2IgxjjLF7qSshsbwe8JGcbM075YXw'}:${'X8vbvA0bduihIDe/qrzIQQ=='}`,
    mask: '0.ec…',
  },
];

/** The hosts and paths of the webhook and ping URL formats: shown in messages, no secret. */
const FORMAT_WORDS = [
  'https://hooks.slack.com/services/',
  'https://discord.com/api/webhooks/',
  'https://hc-ping.com/',
];

/** Nothing of the secret beyond its first 4 characters appears in the issues. */
function expectNoLeak(issues: unknown, secret: string): void {
  const text = JSON.stringify(issues);
  for (let start = 4; start + 6 <= secret.length; start += 3) {
    const piece = secret.slice(start, start + 6);
    // Pieces of format words or hosts are not the secret (every piece of a token still is).
    if (/^[A-Za-z.]+$/.test(piece) && /github|example|BEGIN|PRIVATE|SECRET|OPENSSH/.test(secret))
      continue;
    if (FORMAT_WORDS.some((word) => word.includes(piece))) continue;
    expect([secret, text.includes(piece)]).toEqual([secret, false]);
  }
}

describe('credentials in the repository URL', () => {
  it('point at repository.access: token, not at Bitwarden', () => {
    // Given the platform repository with a token in its URL, and an S3 endpoint with one
    const content = `repository:\n  url: https://jdoe:${'hunter2hunter2'}@github.com/jdoe/lab.git\ns3:\n  endpoint: https://key:${'hunter2hunter2'}@s3.example.com\n`;
    const issues = scanSecrets([{ path: 'p.yaml', content }], { positions: true });
    // Then the repository's fix is the access mode whose Secret the runbook makes
    expect(issues.map((issue) => [formatPath(issue.path), issue.message, issue.expected])).toEqual([
      [
        'repository.url',
        'is a password in a URL; remove the credentials from the URL; for a private repository set repository.access: token (and repository.username): the runbook makes the one Secret Argo CD reads the token from, from your shell, and it never goes into Git',
        'the repository URL without credentials (repository.access: token)',
      ],
      [
        's3.endpoint',
        'is a password in a URL; remove the credentials from the URL; the component reads them from a Secret filled from Bitwarden (map its keys under bitwarden-sm.secrets)',
        'a reference to a Secret filled from Bitwarden, never the value',
      ],
    ]);
  });
});

describe('an age private key', () => {
  it('says the definition takes the public key, and the private one stays offline', () => {
    const key = `AGE-SECRET-KEY-1${'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L'}${'QPZRY9X8GF2TVDW0S3JN54KHCE'}`;
    const [issue] = scanSecrets([
      { path: 'p.yaml', content: `backups:\n  etcd:\n    agePublicKey: ${key}\n` },
    ]);
    expect(issue?.message).toBe(
      'is an age secret key; an age key in the definition is the public one (agePublicKey: age1…, which `age-keygen -y <key file>` prints); the private key stays offline with the operator, never in a file of the repository, a Secret or Bitwarden alone',
    );
    expect(issue?.value).toBe('AGE-…');
  });
});

describe('a URL with a user and no password', () => {
  it('is a token where the user is one (20 characters or more, 6 digits or more), else a user name', () => {
    const scan = (url: string) =>
      scanSecrets([{ path: 'p.yaml', content: `repository:\n  url: ${url}\n` }]).map(
        (issue) => issue.message.split(';')[0],
      );
    expect(scan(`https://${'a1b2c3d4e5f6a7b8c9d0'}@git.example.com/me/lab.git`)).toEqual([
      'is a token in a URL',
    ]);
    // user names: git, a GitHub App's x-access-token, a long name without digits, a short one
    expect(scan('ssh://git@git.example.com/me/lab.git')).toEqual([]);
    expect(scan('https://x-access-token@github.com/me/lab.git')).toEqual([]);
    expect(scan('https://my-long-service-account-name@git.example.com/me/lab.git')).toEqual([]);
    expect(scan('https://deploy2024@git.example.com/me/lab.git')).toEqual([]);
    expect(scan('https://ci-bot-homelab-20241@git.example.com/me/lab.git')).toEqual([]);
  });
});

describe('token formats', () => {
  it.each(SAMPLES)(
    '$kind ($mask) in the definition: position, path, kind, fix, masked',
    (sample) => {
      const content = `platform:\n  name: lab\nrepository:\n  url: "${sample.secret}"\n`;
      const issues = scanSecrets([{ path: 'p.yaml', content }], { positions: true });
      const inUrl = sample.kind === 'a password in a URL' || sample.kind === 'a token in a URL';
      expect(issues).toEqual([
        {
          severity: 'error',
          code: 'literal-secret',
          path: ['repository', 'url'],
          message: expect.stringMatching(new RegExp(`^is ${sample.kind}; .*Secret`)),
          value: sample.mask,
          expected: inUrl
            ? 'the repository URL without credentials (repository.access: token)'
            : 'a reference to a Secret filled from Bitwarden, never the value',
          position: { file: 'p.yaml', line: 4, column: 9 },
        },
      ]);
      expectNoLeak(issues, sample.secret);
    },
  );

  it.each(SAMPLES)('$kind ($mask) in generated YAML and Markdown, with file:line:col', (sample) => {
    const issues = scanGeneratedFiles([
      { path: 'charts/a/values.yaml', content: `a:\n  list:\n    - b: x ${sample.secret}\n` },
      { path: 'clusters/dev/RUNBOOK.md', content: `# Runbook\n\n    ${sample.secret}\n` },
    ]);
    expect(issues.map((issue) => [issue.output, issue.value])).toEqual([
      ['charts/a/values.yaml:3:12 a.list[0].b', sample.mask],
      ['clusters/dev/RUNBOOK.md:3:5 (text)', sample.mask],
    ]);
    expectNoLeak(issues, sample.secret);
  });

  it('a PEM block is one finding whose secret is the whole block', () => {
    const content = `key: |\n  -----BEGIN ${'EC PRIVATE KEY'}-----\n  MHcCAQEEIB\n  -----END EC PRIVATE KEY-----\n`;
    const findings = findSecrets([{ path: 'x.yaml', content }]);
    expect(findings.map((finding) => [finding.issue.output, finding.secret])).toEqual([
      [
        'x.yaml:2:3 key',
        `-----BEGIN ${'EC PRIVATE KEY'}-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----`,
      ],
    ]);
  });

  it('a token under a secret-like key is reported once, as the token', () => {
    const issues = scanGeneratedFiles([
      { path: 'v.yaml', content: `gitlab:\n  token: glpat-${'z_sxgtrfAxKr8q1TPY8Y'}\n` },
    ]);
    expect(issues.map((issue) => [issue.output, issue.message.split(';')[0]])).toEqual([
      ['v.yaml:2:10 gitlab.token', 'is a GitLab token'],
    ]);
  });

  it.each([
    'https://10.10.10.11:6443',
    'ssh://git@github.com/example/homelab.git',
    'https://github.com/example/homelab.git',
    'https://user:@host.example.com/',
    'e2c1d46-6a4b-4751-a310-af9601317f2d',
    'eyJhbGciOiJIUzI1NiJ9',
    'akiaiosfodnn7example',
    '-----BEGIN CERTIFICATE-----',
    '$argocd-oidc:client-secret',
  ])('%s is no finding', (text) => {
    expect(scanSecrets([{ path: 'p.yaml', content: `a:\n  b: "${text}"\n` }])).toEqual([]);
  });

  it('a literal under a secret key in the definition gets its path with list indices', () => {
    const content = [
      'clusters:',
      '  - name: dev',
      '  - name: prod',
      '    components:',
      '      argocd:',
      '        oidc:',
      '          clientId: argocd',
      '          clientSecret: hunter2hunter2',
      '',
    ].join('\n');
    const [finding] = findSecrets([{ path: 'p.yaml', content }], { positions: true });
    expect(finding?.keyPath).toBe('clusters[1].components.argocd.oidc.clientSecret');
    expect(finding?.secret).toBe('hunter2hunter2');
    expect(finding?.issue).toMatchObject({
      value: '****',
      position: { line: 8, column: 11 },
    });
  });
});

describe('maskSecret', () => {
  it.each([
    ['hunter2hunter2', '****'],
    [`glpat-${'z_sxgtrfAxKr8q1TPY8Y'}`, 'glpa…'],
    [`https://u:p4ss@gitlab.example.com:8443/x`, 'https://****:****@gitlab.example.com…'],
    ['ab', '****'],
  ])('%s → %s', (value, masked) => {
    expect(maskSecret(value)).toBe(masked);
  });
});

describe('maskIssues', () => {
  const secret = 'hunter2hunter2';
  const url = `https://admin:${'S3cr3tPassw0rd!'}@github.com/example/x.git`;
  const findings = findSecrets(
    [
      {
        path: 'p.yaml',
        content: `clusters:\n  - oidc:\n      clientSecret: ${secret}\nrepository:\n  url: ${url}\n`,
      },
    ],
    { positions: true },
  );

  it('masks the value of an issue at a flagged path, and the secret quoted in its message', () => {
    const [masked] = maskIssues(
      [
        error({
          code: 'schema',
          path: ['clusters', 0, 'oidc', 'clientSecret'],
          message: `"${secret}" is a string, not a Secret reference`,
          value: secret,
          expected: 'an object',
        }),
      ],
      findings,
    );
    expect(masked).toEqual({
      severity: 'error',
      code: 'schema',
      path: ['clusters', 0, 'oidc', 'clientSecret'],
      message: '"****" is a string, not a Secret reference',
      value: '****',
      expected: 'an object',
    });
  });

  it("masks a found secret in a form hint's suggestion, lowercased or trimmed as the hint rewrites it", () => {
    const [masked] = maskIssues(
      [
        error({
          code: 'schema',
          path: ['elsewhere'],
          message: `"${secret.toUpperCase()} " does not match the pattern`,
          expected: `a lowercase value: "${secret}"`,
        }),
      ],
      findings,
    );
    expect([masked?.message, masked?.expected]).toEqual([
      '"**** " does not match the pattern',
      'a lowercase value: "****"',
    ]);
  });

  it('masks it without a trailing dot or prefix length, and JSON-escaped, as the hint may show it', () => {
    const quoted = 'pa"ss\\word1234';
    const withQuote = findSecrets(
      [{ path: 'p.yaml', content: `oidc:\n  clientSecret: '${quoted}'\n` }],
      { positions: true },
    );
    const [escaped] = maskIssues(
      [
        error({
          code: 'x',
          path: ['a'],
          message: 'm',
          expected: `value ${JSON.stringify(quoted)}`,
        }),
      ],
      withQuote,
    );
    expect(escaped?.expected).toBe('value "****"');
    const dotted = findSecrets(
      [{ path: 'p.yaml', content: 'oidc:\n  clientSecret: hunter2hunter2.\n' }],
      { positions: true },
    );
    const [dot] = maskIssues(
      [
        error({
          code: 'x',
          path: ['a'],
          message: 'm',
          expected: 'without the dot: "hunter2hunter2"',
        }),
      ],
      dotted,
    );
    expect(dot?.expected).toBe('without the dot: "****"');
  });

  it('masks a value that holds a found secret, wherever it is, and a URL to its host', () => {
    const issues = maskIssues(
      [
        error({ code: 'x', path: ['elsewhere'], message: 'm', value: `prefix ${secret}` }),
        error({ code: 'x', path: ['repository', 'url'], message: 'm', value: url }),
        error({ code: 'x', path: ['other', 'url'], message: 'm', value: { url, name: 'ok' } }),
      ],
      findings,
    );
    expect(issues.map((issue) => issue.value)).toEqual([
      '****',
      'https://****:****@github.com…',
      { url: 'https://****:****@github.com…', name: 'ok' },
    ]);
  });

  it('never shows values under keys named like secret, password, token or key', () => {
    const issues = maskIssues(
      [
        error({
          code: 'x',
          path: ['a', 'adminPassword'],
          message: 'm',
          value: 'not-found-by-scan',
        }),
        error({ code: 'x', path: ['a', 'api-token'], message: 'm', value: 12345 }),
        error({ code: 'x', path: ['a'], message: 'm', value: { privateKey: 'abc', name: 'n' } }),
        error({ code: 'x', path: ['a', 'name'], message: 'm', value: 'visible' }),
      ],
      [],
    );
    expect(issues.map((issue) => issue.value)).toEqual([
      '****',
      '****',
      { privateKey: '****', name: 'n' },
      'visible',
    ]);
  });

  it('masks a secret pasted as a mapping key in the path (printed, and --json segments), keeping the rest of the key', () => {
    const token = `ghp_${'aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5'}`;
    const keyed = findSecrets(
      [{ path: 'p.yaml', content: `components:\n  coredns:\n    ${token}: 1\n` }],
      { positions: true },
    );
    const issues = maskIssues(
      [
        ...keyed.map((finding) => finding.issue),
        error({
          code: 'schema',
          path: ['components', 'coredns', token],
          message: 'is not a known key',
          value: token,
        }),
        error({ code: 'x', path: ['secrets', `${token}/argocd-oidc`, 'key'], message: 'm' }),
        error({ code: 'x', path: ['repos', url], message: 'm' }),
        error({ code: 'x', path: ['platform', 'name'], message: 'm', value: 'lab' }),
      ],
      findings,
    );
    const printed = JSON.stringify(issues);
    expect(printed).not.toContain(token.slice(4));
    expect(printed).not.toContain('S3cr3tPassw0rd!');
    expect(issues.map((issue) => formatPath(issue.path))).toEqual([
      'components.coredns["ghp_…"]',
      'components.coredns["ghp_…"]',
      'secrets["ghp_…/argocd-oidc"].key',
      'repos["https://****:****@github.com…"]',
      'platform.name',
    ]);
  });

  it('shows an invalid or unknown key, even one named like a secret, but masks values under such keys', () => {
    // Given a label key that ends in "key" and is invalid, and a value under a password key
    const issues = maskIssues(
      [
        error({
          code: 'schema',
          path: ['clusters', 0, 'nodes', 0, 'labels', 'bad key'],
          message: 'is not a valid key here',
          value: 'bad key',
        }),
        error({
          code: 'schema',
          path: ['clusters', 0, 'nodes', 0, 'labels', '-x/key'],
          message: 'is not a valid key here',
          value: '-x/key',
        }),
        error({ code: 'schema', path: ['a', 'accessKey'], message: 'm', value: 'accessKey' }),
        error({ code: 'schema', path: ['a', 'password'], message: 'm', value: 'hunter2' }),
        error({ code: 'schema', path: ['a', 'ssh-key'], message: 'm', value: 'AAAAkey' }),
      ],
      [],
    );
    // Then the keys are shown as written, the values under secret-like keys are masked
    expect(issues.map((issue) => [formatPath(issue.path), issue.value])).toEqual([
      ['clusters[0].nodes[0].labels["bad key"]', 'bad key'],
      ['clusters[0].nodes[0].labels["-x/key"]', '-x/key'],
      ['a.accessKey', 'accessKey'],
      ['a.password', '****'],
      ['a.ssh-key', '****'],
    ]);
  });

  it('masks a key issue whose key holds a found secret or a token', () => {
    const token = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
    const issues = maskIssues(
      [
        error({ code: 'schema', path: ['a', token], message: 'is not a known key', value: token }),
        error({
          code: 'schema',
          path: ['a', `x${secret}`],
          message: 'is not a known key',
          value: `x${secret}`,
        }),
      ],
      findings,
    );
    expect(issues.map((issue) => issue.value)).toEqual(['ghp_…', '****']);
  });

  it('leaves the findings themselves and issues without values alone', () => {
    const own = findings.map((finding) => finding.issue);
    const plain = error({ code: 'x', path: ['a'], message: 'no value' });
    expect(maskIssues([...own, plain], findings)).toEqual([...own, plain]);
  });
});

describe('the prefilters (hints, sensitive words)', () => {
  /** Every format, and spellings the samples leave out. */
  const secrets = [
    ...SAMPLES.map((sample) => sample.secret),
    `ASIA${'IOSFODNN7EXAMPLE'}`,
    `ghu_${'a1B2c3D4e5'.repeat(4)}`,
    `glrt-${'Abcdefghijklmnopqrstu'}`,
    `0.prod.${'ec2c1d46-6a4b-4751-a310-af9601317f2d'}.${'C2IgxjjLF7qSshsbwe8JGcbM075YXw'}:${'X8vbvA0bduihIDe/qrzIQQ'}`,
    `-----BEGIN ${'PRIVATE KEY'} BLOCK-----\nabc\n-----END PRIVATE KEY BLOCK-----`,
    `postgres://user:${'pw'}@db:5432/x`,
  ];
  /** Where a token may sit: text start and end, after word and non-word characters, in quotes. */
  const around = (secret: string): string[] => [
    secret,
    `${secret}\n`,
    `\n${secret}`,
    `x${secret}`,
    `_${secret}`,
    `-${secret}-`,
    `.${secret}.`,
    `"${secret}",`,
    `(${secret})`,
    `a: ${secret}\r\nb: '${secret}'\r\n`,
    `- key: ${secret} ${secret}`,
  ];
  /** Two tokens touching or overlapping (a token inside a URL's password, one after another). */
  const pairs = secrets.flatMap((first) =>
    secrets.flatMap((second) => [
      `${first}${second}`,
      `${first}:${second}`,
      `https://user:${first}@${second}`,
    ]),
  );
  /** Sensitive keys however written, with values that are and are not secrets. */
  const keyed = [
    'a:\n  Pass-Word: hunter2hunter2\n  "API_KEY" : abcdefgh\n',
    "x:\n  - - 'client.Secret': xyz\n  - pass_word_: abc\n",
    '"api\u212Aey": abc\n',
    'privateKey: |\n  line one\n  line two\nnext: 1\n',
    'authToken:\n  existingSecret: x\npassword: $ref\ntoken: {secretName: a, key: b}\n',
    'secrets:\n  client-secret: ec2c1d46-6a4b-4751-a310-af9601317f2d\n',
    '# password: commented\nname: x\n',
    '{\n  "clientSecret": "abc",\n  "nested": {"token": "t"}\n}\n',
    'password\n: split over lines\n',
    'SECRET: x\r\n',
    'p.a.s.s.w.o.r.d: hunter2\n',
    'backupTargetCredentialSecret: s3\ncredentials: literal\n',
    'accessKeyId: AKID\nx-Credentials.: y\n"api\u212Aey_"\t : abc\n"token" :x\n',
    "- 'PassPhrase-' : one\n  - secretName: two\n    myToken:three\n",
  ];
  const texts = [
    ...secrets.flatMap(around),
    ...pairs,
    ...keyed,
    ...keyed.map((text) => `${text}url: ${secrets[0]}\n`),
  ];

  it('find the same as the scan without them, in every file type, with and without positions', () => {
    // Given texts that hold every token format and sensitive keys in many places
    for (const path of ['values.yaml', 'config.json', 'README.md']) {
      const targets = texts.map((content, i) => ({ path: `${i}/${path}`, content }));
      for (const positions of [false, true]) {
        // When scanned with and without the prefilters
        const fast = findSecrets(targets, { positions });
        const plain = findSecrets(targets, { positions, prefilter: false });
        // Then the findings are the same, in the same order
        expect(fast).toEqual(plain);
        expect(fast.length).toBeGreaterThan(texts.length);
      }
    }
  });

  it('let through every file the scan reports something in', () => {
    // Given each text alone
    for (const content of texts) {
      for (const path of ['values.yaml', 'README.md']) {
        // Then scanning it with the prefilters finds what the plain scan finds
        const plain = findSecrets([{ path, content }], { prefilter: false });
        expect([content, findSecrets([{ path, content }])]).toEqual([content, plain]);
      }
    }
  });
});
