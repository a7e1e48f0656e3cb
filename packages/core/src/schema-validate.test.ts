import { readdirSync, readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, test } from 'vitest';
import { standaloneValidatorsModule } from '../scripts/standalone.mjs';
import { composeDefinitionSchema } from './definition-schema.js';
import { formatIssue, formatPath } from './issues.js';
import { definitionValidatorSource } from './load.js';
import {
  createSchemaValidator,
  didYouMean,
  schemaIssues,
  standaloneValidators,
} from './schema-validate.js';
import { evaluateCommonJs, oneFaultVariants, testComponent } from './testing.js';
import { parseYaml } from './yaml.js';

/** A component whose settings use the keywords real ones do (a oneOf of reference forms). */
const referenceComponent = testComponent({
  name: 'argocd',
  settings: {
    adminGroups: {
      description: 'Groups.',
      type: 'array',
      uniqueItems: true,
      items: { description: 'A group name.', type: 'string', pattern: '^[a-z-]+$' },
    },
    oidc: {
      description: 'Login.',
      type: 'object',
      additionalProperties: false,
      required: ['clientId', 'clientSecret'],
      properties: {
        clientId: { description: 'Client id.', type: 'string', minLength: 1 },
        clientSecret: {
          description: 'Where the secret is.',
          oneOf: [
            {
              description: 'A Secret reference.',
              type: 'object',
              additionalProperties: false,
              required: ['secretName', 'key'],
              properties: {
                secretName: { description: 'Secret.', type: 'string' },
                key: { description: 'Key.', type: 'string' },
              },
            },
            {
              description: 'An Argo CD reference.',
              type: 'string',
              pattern: '^\\$[a-z-]+:[a-z-]+$',
            },
          ],
        },
      },
    },
  },
});
const platformValidatorSource = definitionValidatorSource(
  composeDefinitionSchema([referenceComponent]),
);

const reference = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    secret: {
      description: 'A secret reference.',
      oneOf: [
        {
          description: 'A key of a Kubernetes Secret.',
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { description: 'Secret name.', type: 'string' } },
        },
        { type: 'string', pattern: '^\\$[a-z]+$' },
      ],
    },
    groups: {
      description: 'Groups.',
      type: 'array',
      uniqueItems: true,
      items: { type: 'string' },
    },
    secrets: {
      description: 'Several references.',
      type: 'array',
      items: { $ref: '#/properties/secret' },
    },
    version: {
      description: 'A version, e.g. 1.34.4.',
      type: 'string',
      pattern: '^\\d+\\.\\d+\\.\\d+$',
    },
  },
};

describe('createSchemaValidator', () => {
  const validate = createSchemaValidator(reference);

  test('a oneOf with one branch of the right type reports that branch only', () => {
    expect(validate({ secret: { name: 'x', extra: 1 } })).toMatchObject([
      { path: ['secret', 'extra'], value: 'extra', message: 'is not a known key' },
    ]);
    expect(validate({ secret: 'plain' })).toMatchObject([
      { path: ['secret'], value: 'plain', expected: 'a string matching ^\\$[a-z]+$' },
    ]);
  });

  test('a misspelt required key is reported once, as unknown with the key it was meant to be', () => {
    // Given the required key `name` written as `nane`
    const issues = validate({ secret: { nane: 'x' } });
    // Then one issue names the typo and the fix; the "missing" one is the same mistake
    expect(issues.map((issue) => [formatPath(issue.path), issue.message])).toEqual([
      ['secret.nane', 'is not a known key; did you mean "name"?'],
    ]);
  });

  test('a key written one level too high names the mapping it belongs under', () => {
    // Given grafana's `policy` written beside `oidc` instead of under it
    const grafana = createSchemaValidator({
      type: 'object',
      additionalProperties: false,
      properties: {
        localLogin: { type: 'boolean' },
        oidc: {
          type: 'object',
          additionalProperties: false,
          properties: { clientId: { type: 'string' }, policy: { type: 'string' } },
        },
      },
    });
    // Then the message names where it goes; a key no mapping has gets no guess
    expect(grafana({ policy: 'two_factor', other: 1 }).map((issue) => issue.message)).toEqual([
      'is not a known key; did you mean "oidc.policy"? (a key of oidc, indented under it)',
      'is not a known key',
    ]);
  });

  test('a required key that is missing and no unknown key resembles is still reported', () => {
    const issues = validate({ secret: { other: 'x' } });
    expect(issues.map((issue) => [formatPath(issue.path), issue.message])).toEqual([
      ['secret.name', 'required key "name" is missing'],
      ['secret.other', 'is not a known key'],
    ]);
    // The expected part names the key with what it holds (its description, "Secret name.")
    expect(issues[0]?.expected).toBe('name: secret name');
  });

  test('a required key that takes listed values names them', () => {
    const node = createSchemaValidator({
      type: 'object',
      required: ['hostname', 'role'],
      properties: {
        hostname: { type: 'string' },
        role: {
          description: 'Talos machine type.',
          type: 'string',
          enum: ['controlplane', 'worker'],
        },
      },
    });
    expect(node({ hostname: 'a' }).map((issue) => [issue.message, issue.expected])).toEqual([
      [
        'required key "role" is missing',
        'role: talos machine type, one of "controlplane", "worker"',
      ],
    ]);
  });

  test('a key left empty says so and how to fill it, not "null is null"', () => {
    // Given `groups:` with nothing after it (YAML's null), its items not indented under it
    const [issue] = validate({ groups: null });
    // Then the message names the empty key and the layout expected
    expect(issue && formatIssue(issue)).toBe(
      'groups: is empty (expected a list, its items indented under it, each after "- ")',
    );
    // `name: #ops` is a key and a comment: the string is missing, quoting it is the fix
    const [comment] = validate({ secret: { name: null } });
    expect(comment && formatIssue(comment)).toBe(
      'secret.name: is empty (expected a string after the colon; a value that starts with "#" is a YAML comment, so quote it)',
    );
  });

  test('a number or a boolean where a string belongs says YAML read it so, and the form a pattern wants', () => {
    const [number] = validate({ secret: { name: 1.5 } });
    expect(number && formatIssue(number)).toBe(
      'secret.name: 1.5 is a number (expected a string (YAML reads an unquoted 1.5 as a number; quote a value that looks like one))',
    );
    const [flag] = validate({ groups: [true] });
    expect(flag && formatIssue(flag)).toBe(
      'groups[0]: true is a boolean (expected a string (YAML reads an unquoted true as a boolean; quote a value that looks like one))',
    );
    // `version: 1.34`: the form the pattern wants says more than quoting would.
    const [version] = validate({ version: 1.34 });
    expect(version && formatIssue(version)).toBe(
      'version: 1.34 is a number (expected a string: a version, e.g. 1.34.4 (YAML reads an unquoted 1.34 as a number; quote a value that looks like one))',
    );
    // A mapping where a string belongs is no YAML misreading.
    const [map] = validate({ groups: [{ a: 1 }] });
    expect(map?.expected).toBe('a string');
  });

  test('a oneOf no branch of which has the right type lists every form', () => {
    expect(validate({ secret: 5 })).toEqual([
      {
        severity: 'error',
        code: 'schema',
        path: ['secret'],
        value: 5,
        message: 'matches none of the allowed forms',
        expected: 'one of: a key of a Kubernetes Secret; or a string matching ^\\$[a-z]+$',
      },
    ]);
  });

  test('the same oneOf failing in two list items gives one issue per item', () => {
    expect(
      validate({ secrets: [5, { name: 1 }] }).map((i) => [formatPath(i.path), i.message]),
    ).toEqual([
      ['secrets[0]', 'matches none of the allowed forms'],
      ['secrets[1].name', 'is an integer'],
    ]);
  });

  test('duplicate list items point at the later one', () => {
    expect(validate({ groups: ['a', 'b', 'a'] })).toMatchObject([
      { path: ['groups', 2], value: 'a', message: 'is a duplicate of groups[0]' },
    ]);
  });

  test('the composed definition schema compiles in strict mode and refuses an empty object', () => {
    const validate = standaloneValidators(platformValidatorSource, () => undefined)('definition');
    expect(schemaIssues(validate, {}).map((i) => formatPath(i.path))).toEqual([
      'platform',
      'repository',
      'clusters',
    ]);
  });
});

describe('didYouMean', () => {
  test('suggests a close key, case-insensitively', () => {
    expect(didYouMean('podCird', ['nodeCidr', 'podCidr', 'serviceCidr'])).toBe('podCidr');
    expect(didYouMean('NODECIDR', ['nodeCidr', 'podCidr'])).toBe('nodeCidr');
  });

  test('stays quiet when nothing is close', () => {
    expect(didYouMean('hubble', ['nodeCidr', 'podCidr'])).toBeUndefined();
  });
});

const notGenerated = (): unknown => {
  throw new Error('not generated');
};

/** The definitions of test/fixtures that parse as YAML, by fixture folder. */
function fixtureDefinitions(): { name: string; data: unknown }[] {
  const root = new URL('../test/fixtures/', import.meta.url);
  const out: { name: string; data: unknown }[] = [];
  const folders = (url: URL) =>
    readdirSync(url, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  for (const group of folders(root)) {
    for (const name of folders(new URL(`${group}/`, root))) {
      const text = readFileSync(new URL(`${group}/${name}/platform.yaml`, root), 'utf8');
      try {
        out.push({ name: `${group}/${name}`, data: parseYaml(text) });
      } catch {
        // broken YAML, alias bombs: the loader refuses them before the schema sees them
      }
    }
  }
  return out;
}

function errorsOf(validate: ValidateFunction, data: unknown): unknown {
  return validate(data) ? [] : structuredClone(validate.errors);
}

describe('the build-time standalone validator of the platform schema', () => {
  const generated = evaluateCommonJs(
    standaloneValidatorsModule(platformValidatorSource),
    import.meta.url,
  );
  const standalone = standaloneValidators(platformValidatorSource, () => generated)('definition');
  const compiled = standaloneValidators(platformValidatorSource, notGenerated)('definition');

  test('is used when it was generated from the current schema and options', () => {
    expect(typeof generated.definition).toBe('function');
    expect(standalone).toBe(generated.definition);
    expect(compiled).not.toBe(generated.definition);
  });

  test('gives the same errors as the compiled schema on every fixture and its mutations', () => {
    const fixtures = fixtureDefinitions();
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    const minimal = fixtures.find((f) => f.name === 'valid/minimal')?.data as {
      clusters: { [key: string]: unknown }[];
    };
    // The minimal fixture plus the optional sections it leaves out (profiles, Argo CD's oneOf).
    const extended = {
      ...minimal,
      environments: { production: { replicas: 3 } },
      components: {
        argocd: { oidc: { clientId: 'argocd', clientSecret: { secretName: 's', key: 'k' } } },
      },
      clusters: minimal.clusters.map((cluster, i) =>
        i > 0
          ? cluster
          : {
              ...cluster,
              components: {
                argocd: {
                  adminGroups: ['admins', 'ops'],
                  oidc: { clientId: 'argocd', clientSecret: '$argocd-oidc:secret' },
                },
              },
            },
      ),
    };
    expect(errorsOf(compiled, extended)).toEqual([]);
    const inputs = [...fixtures.map((f) => f.data), ...oneFaultVariants(extended, 'podCird')];
    const fromStandalone = inputs.map((data) => errorsOf(standalone, data));
    const fromCompiled = inputs.map((data) => errorsOf(compiled, data));
    expect(fromStandalone).toEqual(fromCompiled);
    // The comparison covers the keywords the issue mapping turns into words.
    const keywords = new Set(
      (fromCompiled as { keyword: string }[][]).flat().map((error) => error.keyword),
    );
    expect([...keywords].sort()).toEqual(
      expect.arrayContaining([
        'additionalProperties',
        'maximum',
        'minItems',
        'minimum',
        'oneOf',
        'pattern',
        'required',
        'type',
        'uniqueItems',
      ]),
    );
  });

  test('is ignored when stale: the schema is compiled instead', () => {
    const stale = { ...generated, fingerprint: '{"options":{},"schemas":{}}' };
    const validate = standaloneValidators(platformValidatorSource, () => stale)('definition');
    expect(validate).not.toBe(generated.definition);
    expect(errorsOf(validate, {})).toEqual(errorsOf(compiled, {}));
    expect((errorsOf(validate, {}) as { params: unknown }[]).map((e) => e.params)).toEqual([
      { missingProperty: 'platform' },
      { missingProperty: 'repository' },
      { missingProperty: 'clusters' },
    ]);
  });
});
