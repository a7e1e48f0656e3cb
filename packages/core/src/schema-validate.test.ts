import { describe, expect, test } from 'vitest';
import { createSchemaValidator, didYouMean, schemaIssues } from './schema-validate.js';

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
  },
};

describe('createSchemaValidator', () => {
  const validate = createSchemaValidator(reference);

  test('a oneOf with one branch of the right type reports that branch only', () => {
    expect(validate({ secret: { name: 'x', extra: 1 } })).toMatchObject([
      { path: 'secret.extra', value: 'extra', message: 'is not a known key' },
    ]);
    expect(validate({ secret: 'plain' })).toMatchObject([
      { path: 'secret', value: 'plain', expected: 'a string matching ^\\$[a-z]+$' },
    ]);
  });

  test('a oneOf no branch of which has the right type lists every form', () => {
    expect(validate({ secret: 5 })).toEqual([
      {
        severity: 'error',
        code: 'schema',
        path: 'secret',
        value: 5,
        message: 'matches none of the allowed forms',
        expected: 'one of: A key of a Kubernetes Secret; or a string matching ^\\$[a-z]+$',
      },
    ]);
  });

  test('the same oneOf failing in two list items gives one issue per item', () => {
    expect(validate({ secrets: [5, { name: 1 }] }).map((i) => [i.path, i.message])).toEqual([
      ['secrets[0]', 'matches none of the allowed forms'],
      ['secrets[1].name', 'is an integer'],
    ]);
  });

  test('duplicate list items point at the later one', () => {
    expect(validate({ groups: ['a', 'b', 'a'] })).toMatchObject([
      { path: 'groups[2]', value: 'a', message: 'is a duplicate of groups[0]' },
    ]);
  });

  test('the platform schema compiles in strict mode and refuses an empty object', () => {
    expect(schemaIssues({}).map((i) => i.path)).toEqual(['platform', 'repository', 'clusters']);
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
