import { describe, expect, it } from 'vitest';
import type { JsonSchema } from './contract.js';
import { formatPath } from './issues.js';
import { textRule } from './text.js';

/** A schema with the shapes the composed definition schema uses: $ref, oneOf, maps, lists. */
const schema = {
  $defs: {
    settings: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        certificates: { type: 'string', contentMediaType: 'application/x-pem-file' },
        rules: {
          type: 'array',
          items: {
            oneOf: [
              {
                type: 'object',
                properties: { expr: { type: 'string', contentMediaType: 'text/x-promql' } },
              },
              { type: 'object', properties: { summary: { type: 'string' } } },
            ],
          },
        },
        apps: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { reason: { type: 'string' } } },
        },
      },
    },
  },
  type: 'object',
  properties: { settings: { $ref: '#/$defs/settings' } },
} as unknown as JsonSchema;

const rule = textRule(schema);
const check = (data: unknown, skip?: ReadonlySet<string>) =>
  rule(data, () => undefined, skip).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));

describe('the text rule', () => {
  it('refuses a line break in a one-line value, through $ref and a map of entries', () => {
    expect(
      check({
        settings: {
          name: 'Authelia\n[auth.anonymous]\nenabled = true',
          apps: { paperless: { reason: 'backups\r' } },
        },
      }),
    ).toEqual([
      { path: 'settings.name', message: 'contains a line break (character 9)' },
      {
        path: 'settings.apps.paperless.reason',
        message: 'contains the control character U+000D (character 8)',
      },
    ]);
  });

  it('lets a document (contentMediaType) span lines, in a list item of one oneOf branch', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(
      check({
        settings: { certificates: pem, rules: [{ expr: 'sum(\n  up\n)' }, { summary: 'a\nb' }] },
      }),
    ).toEqual([
      { path: 'settings.rules[1].summary', message: 'contains a line break (character 2)' },
    ]);
  });

  it('refuses bidirectional controls and other invisible characters even in a document', () => {
    expect(
      check({
        settings: {
          certificates: 'ok\n\u202eevil',
          name: 'admins\u2066',
          apps: { 'paper\u200fless': { reason: 'x' } },
        },
      }),
    ).toEqual([
      {
        path: 'settings.certificates',
        message:
          'contains the invisible bidirectional control U+202E, which makes text display differently from what it is (character 4)',
      },
      {
        path: 'settings.name',
        message:
          'contains the invisible bidirectional control U+2066, which makes text display differently from what it is (character 7)',
      },
      {
        path: 'settings.apps["paper\u200fless"]',
        message:
          'is a key that contains the invisible bidirectional control U+200F, which makes text display differently from what it is (character 6)',
      },
    ]);
  });

  it('names NUL, DEL, C1 controls, separators and the byte order mark; accepts other Unicode', () => {
    const messages = ['a\u0000', 'a\u007f', 'a\u0085', 'a\u2028', '\ufeffa', 'a\tb'].map(
      (name) => check({ settings: { name } })[0]?.message,
    );
    expect(messages).toEqual([
      'contains the control character U+0000 (character 2)',
      'contains the control character U+007F (character 2)',
      'contains the control character U+0085 (character 2)',
      'contains a Unicode line separator (U+2028) (character 2)',
      'contains an invisible byte order mark (U+FEFF) (character 1)',
      'contains a tab (character 2)',
    ]);
    expect(check({ settings: { name: 'Anmeldung über Authelia 🔐 — ログイン' } })).toEqual([]);
  });

  it('skips a value the schema already reported', () => {
    expect(check({ settings: { name: 'a\nb' } }, new Set(['settings.name']))).toEqual([]);
  });

  it('checks values the schema does not describe (no schema: one line)', () => {
    expect(check({ other: ['x\ny'] })).toEqual([
      { path: 'other[0]', message: 'contains a line break (character 2)' },
    ]);
  });
});
