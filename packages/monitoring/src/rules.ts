// Alert rules as a cluster runs them: the declared rule, the definition's overrides by alert name
// (enabled, threshold, for, severity), `$threshold` replaced by the environment's value, and the
// result checked: PromQL by the Prometheus grammar, durations, plain-text annotations. Pure.
import {
  type AlertRuleDeclaration,
  type EnvironmentName,
  error,
  type Issue,
  type PathSegment,
  type PerEnvironment,
  warning,
} from '@homelab/core';
import type { MonitoringAlertOverride } from './generated/settings.js';
import { promqlProblem, silentWhenAbsent } from './promql.js';
import { durationSeconds } from './quantity.js';

/** A rule ready for a PrometheusRule group. */
export interface ResolvedRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string | undefined;
  readonly severity: 'critical' | 'warning' | 'info';
  readonly summary: string;
  readonly description: string | undefined;
}

const THRESHOLD = /\$threshold\b/g;

function isPerEnvironment<T>(
  value: PerEnvironment<T>,
): value is { readonly [E in EnvironmentName]: T } {
  return typeof value === 'object' && value !== null;
}

/** The value for `environment` of a declared per-environment value. */
export function forEnvironment<T>(value: PerEnvironment<T>, environment: EnvironmentName): T {
  return isPerEnvironment(value) ? value[environment] : value;
}

/** An override (a value, or some environments' values) over the declared value. */
function overridden<T extends number | string>(
  declared: PerEnvironment<T> | undefined,
  override: T | { readonly [E in EnvironmentName]?: T } | undefined,
  environment: EnvironmentName,
): T | undefined {
  if (override !== undefined) {
    if (typeof override !== 'object') return override;
    const own = override[environment];
    if (own !== undefined) return own;
  }
  return declared === undefined ? undefined : forEnvironment(declared, environment);
}

/** A number as PromQL writes it (no exponent for the thresholds people write). */
function promqlNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}

/** Where a rule comes from, for issues: the declaring component's settings, or a rule of the definition. */
export interface RuleOrigin {
  /** Path of the rule (or of the component that declares it). */
  readonly path: readonly PathSegment[];
  /** Path of its `expr` when the definition holds it (rules of the definition). */
  readonly exprPath?: readonly PathSegment[];
  /** Who declares it, for messages: `cilium`, `the definition`. */
  readonly by: string;
}

/**
 * The rule as it runs in `environment`, or `undefined` when an override disables it; issues for
 * an expression Prometheus would refuse, a `$threshold` without a threshold (or the reverse), a
 * malformed duration, or `{{` in an annotation.
 */
export function resolveRule(
  rule: AlertRuleDeclaration,
  environment: EnvironmentName,
  override: MonitoringAlertOverride | undefined,
  origin: RuleOrigin,
): { rule: ResolvedRule | undefined; issues: Issue[] } {
  const issues: Issue[] = [];
  if (override?.enabled === false) return { rule: undefined, issues };
  const threshold = overridden(rule.threshold, override?.threshold, environment);
  const wantsThreshold = rule.expr.includes('$threshold');
  let expr = rule.expr;
  if (wantsThreshold && threshold === undefined) {
    issues.push(
      error({
        code: 'monitoring-rule',
        path: origin.exprPath ?? origin.path,
        value: rule.alert,
        message: `alert ${rule.alert} (${origin.by}) uses $threshold but has no threshold for ${environment}`,
        expected: 'a threshold for every environment, or no $threshold in the expression',
      }),
    );
    return { rule: undefined, issues };
  }
  if (!wantsThreshold && threshold !== undefined) {
    issues.push(
      error({
        code: 'monitoring-rule',
        path: origin.path,
        value: rule.alert,
        message: `alert ${rule.alert} (${origin.by}) has a threshold but its expression has no $threshold to put it in`,
        expected: '$threshold in the expression where the threshold goes',
      }),
    );
    return { rule: undefined, issues };
  }
  if (threshold !== undefined) expr = expr.replace(THRESHOLD, promqlNumber(threshold));
  const problem = promqlProblem(expr);
  if (problem !== undefined) {
    issues.push(
      error({
        code: 'monitoring-promql',
        path: origin.exprPath ?? origin.path,
        value: expr,
        message: `is not valid PromQL: ${problem.message} (character ${problem.offset + 1}); Prometheus would refuse alert ${rule.alert} (${origin.by})`,
        expected:
          'a PromQL expression (https://prometheus.io/docs/prometheus/latest/querying/basics/)',
      }),
    );
  }
  const aggregate = problem === undefined ? silentWhenAbsent(expr) : undefined;
  if (aggregate !== undefined) {
    // A component's rule is ours to get right (an error); a rule of the definition may mean it
    // (a warning).
    const report = origin.exprPath === undefined ? error : warning;
    issues.push(
      report({
        code: 'monitoring-silent-when-absent',
        path: origin.exprPath ?? origin.path,
        value: expr,
        message: `alert ${rule.alert} (${origin.by}) compares ${aggregate} with a number it fires for at 0, but over no series ${aggregate} is empty, not 0: the alert stays silent exactly when what it watches is gone`,
        expected: `an expression that also fires with no series, e.g. (${aggregate} or vector(0)) in place of ${aggregate}, or absent(<selector> >= 1)`,
      }),
    );
  }
  const forValue = overridden(rule.for, override?.for, environment);
  if (forValue !== undefined && durationSeconds(forValue) === undefined) {
    issues.push(
      error({
        code: 'monitoring-rule',
        path: origin.path,
        value: forValue,
        message: `alert ${rule.alert} (${origin.by}) waits "${forValue}", which is not a Prometheus duration`,
        expected: 'a duration such as 30s, 5m, 1h30m',
      }),
    );
  }
  for (const [field, text] of [
    ['summary', rule.summary],
    ['description', rule.description],
  ] as const) {
    if (text?.includes('{{')) {
      issues.push(
        error({
          code: 'monitoring-rule',
          path: origin.path,
          value: text,
          message: `alert ${rule.alert} (${origin.by}): its ${field} contains "{{", which must never reach a chart (DESIGN.md); alert labels say where an alert fires`,
          expected: 'plain text',
        }),
      );
    }
  }
  if (issues.some((issue) => issue.severity === 'error')) return { rule: undefined, issues };
  return {
    rule: {
      alert: rule.alert,
      expr,
      for: forValue,
      severity: override?.severity ?? rule.severity,
      summary: rule.summary,
      description: rule.description,
    },
    issues,
  };
}
