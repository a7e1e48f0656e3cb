// The definition's text rule (core text.ts) on the real registry: a one-line setting refuses a
// line break at its own file:line:col; a setting whose schema gives a contentMediaType (a
// PromQL expression, a description) may span lines.
import { describe, expect, it } from 'vitest';
import { edit, errorsOf, FILE, lineOf, reference } from './broken-output.js';

const GRAFANA_OIDC = `      oidc:
        clientId: grafana`;
const ALERTMANAGER = `    alertmanager:
      # Credentials never go here`;

describe('the text rule on the reference platform', { timeout: 120_000 }, () => {
  it('refuses a line break in Grafana’s login button label (it would inject into grafana.ini)', async () => {
    const text = edit(
      reference,
      GRAFANA_OIDC,
      `      oidc:
        name: "Authelia\\n[auth.anonymous]\\nenabled = true"
        clientId: grafana`,
    );
    const errors = await errorsOf(text);
    expect(
      errors.map((issue) => ({
        code: issue.code,
        path: issue.path.join('.'),
        at: `${issue.position?.file}:${issue.position?.line}`,
        message: issue.message,
      })),
    ).toEqual([
      {
        code: 'text',
        path: 'components.monitoring.grafana.oidc.name',
        // The label takes the line clientId had in the reference.
        at: `${FILE}:${lineOf('clientId: grafana')}`,
        message: 'contains a line break (character 9)',
      },
    ]);
  });

  it('lets an alert rule’s expression and description span lines', async () => {
    const text = edit(
      reference,
      ALERTMANAGER,
      `    rules:
      - alert: NodeLoadHigh
        expr: |
          sum by (instance) (node_load1)
            > 8
        severity: warning
        summary: Node load above 8.
        description: |
          The node runs more than it can.
          Check what was scheduled there.
${ALERTMANAGER}`,
    );
    expect(await errorsOf(text)).toEqual([]);
    // …and the same line break in the one-line summary is refused.
    const summary = edit(text, 'summary: Node load above 8.', 'summary: "Node load\\nabove 8."');
    expect((await errorsOf(summary)).map((issue) => [issue.code, issue.path.join('.')])).toEqual([
      ['text', 'components.monitoring.rules.0.summary'],
    ]);
  });
});
