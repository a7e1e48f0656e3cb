// PromQL checks with the Prometheus project's own grammar (@prometheus-io/lezer-promql, the
// parser of the Prometheus web UI). The grammar recovers from errors by inserting error nodes;
// any error node makes the expression invalid. On top of the syntax, the checks Prometheus makes
// on argument types that the grammar leaves open: a function that takes a range vector gets one,
// and a binary operator never gets one. Pure.
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Functions whose argument at the given index must be a range vector (`x[5m]` or a subquery). */
const RANGE_ARGUMENT: { readonly [node: string]: number } = {
  AbsentOverTime: 0,
  AvgOverTime: 0,
  Changes: 0,
  CountOverTime: 0,
  Delta: 0,
  Deriv: 0,
  DoubleExponentialSmoothing: 0,
  FirstOverTime: 0,
  Idelta: 0,
  Increase: 0,
  Irate: 0,
  LastOverTime: 0,
  MadOverTime: 0,
  MaxOverTime: 0,
  MinOverTime: 0,
  PredictLinear: 0,
  PresentOverTime: 0,
  QuantileOverTime: 1,
  Rate: 0,
  Resets: 0,
  StddevOverTime: 0,
  StdvarOverTime: 0,
  SumOverTime: 0,
  TsOfFirstOverTime: 0,
  TsOfLastOverTime: 0,
  TsOfMaxOverTime: 0,
  TsOfMinOverTime: 0,
};

/** One problem in an expression: what, and where (0-based offset into the expression). */
export interface PromqlProblem {
  readonly offset: number;
  readonly message: string;
}

function unwrap(node: SyntaxNode): SyntaxNode {
  let current = node;
  while (current.name === 'ParenExpr' && current.firstChild !== null) current = current.firstChild;
  return current;
}

function isRangeVector(node: SyntaxNode): boolean {
  const inner = unwrap(node);
  return inner.name === 'MatrixSelector' || inner.name === 'SubqueryExpr';
}

/** Arguments of a FunctionCallBody (its expression children, in order). */
function argumentsOf(body: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = body.firstChild; child !== null; child = child.nextSibling) {
    if (!child.type.isError) out.push(child);
  }
  return out;
}

/** A short excerpt of `expr` at `offset`, for messages. */
function near(expr: string, offset: number): string {
  if (offset >= expr.length) return 'at the end';
  const excerpt = expr.slice(offset, offset + 12);
  return `near "${excerpt}${offset + 12 < expr.length ? '…' : ''}"`;
}

/**
 * Verdicts by expression. Every cluster of an environment checks the same rules, and most rules
 * are the same in every environment: parsing each distinct expression once is a third of the
 * work on a three-cluster platform. Bounded: a long-running process (tests, the benchmark's
 * in-process builds) starts over when it fills.
 */
interface Verdict {
  readonly problem: PromqlProblem | undefined;
  /** `silentWhenAbsent`'s answer, from the same parse. */
  readonly silent: string | undefined;
}
const verdicts = new Map<string, Verdict>();
const MAX_VERDICTS = 4096;

/** Both verdicts of `expr`, from one parse (the grammar's parser is most of their cost). */
function verdictOf(expr: string): Verdict {
  const known = verdicts.get(expr);
  if (known !== undefined) return known;
  let verdict: Verdict;
  if (expr.trim() === '') {
    verdict = { problem: { offset: 0, message: 'is empty' }, silent: undefined };
  } else {
    const tree = parser.parse(expr);
    const problem = firstProblem(expr, tree);
    verdict = {
      problem: problem === undefined ? undefined : Object.freeze(problem),
      silent: silentAggregate(expr, tree),
    };
  }
  if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
  verdicts.set(expr, verdict);
  return verdict;
}

/** The first problem of `expr` as PromQL, `undefined` when Prometheus would accept it. */
export function promqlProblem(expr: string): PromqlProblem | undefined {
  return verdictOf(expr).problem;
}

function firstProblem(
  expr: string,
  tree: ReturnType<typeof parser.parse>,
): PromqlProblem | undefined {
  let problem: PromqlProblem | undefined;
  tree.iterate({
    enter(ref) {
      if (problem !== undefined) return false;
      const node = ref.node;
      if (node.type.isError) {
        const call = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(expr.slice(0, node.from));
        problem =
          expr[node.from] === '(' && call !== null
            ? { offset: call.index, message: `"${call[1]}" is not a PromQL function` }
            : { offset: node.from, message: `syntax error ${near(expr, node.from)}` };
        return false;
      }
      if (node.name === 'FunctionCall') {
        const identifier = node.getChild('FunctionIdentifier')?.firstChild;
        const body = node.getChild('FunctionCallBody');
        const index =
          identifier === null || identifier === undefined
            ? undefined
            : RANGE_ARGUMENT[identifier.name];
        if (index !== undefined && body !== null) {
          const argument = argumentsOf(body)[index];
          const name = expr.slice(identifier?.from ?? node.from, identifier?.to ?? node.from);
          if (argument === undefined) {
            problem = {
              offset: body.from,
              message: `${name}() is missing its range-vector argument`,
            };
          } else if (!isRangeVector(argument)) {
            problem = {
              offset: argument.from,
              message: `${name}() expects a range vector (e.g. x[5m]) as argument ${index + 1} ${near(expr, argument.from)}`,
            };
          }
        }
      }
      if (node.name === 'BinaryExpr') {
        for (let child = node.firstChild; child !== null; child = child.nextSibling) {
          if (child.name === 'MatrixSelector' || child.name === 'SubqueryExpr') {
            problem = {
              offset: child.from,
              message: `a binary operator cannot take a range vector ${near(expr, child.from)} (apply a function such as rate() first)`,
            };
            break;
          }
        }
      }
      return undefined;
    },
  });
  return problem;
}

/** Comparisons that hold for 0 against the number `limit`, by operator (aggregation on the left). */
const TRUE_AT_ZERO: { readonly [operator: string]: (limit: number) => boolean } = {
  Lss: (limit) => limit > 0,
  Lte: (limit) => limit >= 0,
  Eql: (limit) => limit === 0,
};
/** The same comparisons written the other way round (`1 > sum(x)`). */
const MIRRORED: { readonly [operator: string]: string } = { Gtr: 'Lss', Gte: 'Lte', Eql: 'Eql' };

/**
 * The aggregation of an expression that compares an ungrouped `sum(…)` or `count(…)` with a
 * number the comparison holds for at zero (`sum(x) < 1`, `count(x) == 0`, `1 > sum(x)`), else
 * `undefined`. Such an alert means "fire when nothing is left", but over no series at all the
 * aggregation is empty, not 0, and the comparison drops it: the alert is silent exactly when what
 * it watches is gone (a deleted Deployment, a target that no longer exists). An `or`, `absent()`
 * or `vector(0)` around it is the fix, so only the comparison at the top is looked at.
 */
export function silentWhenAbsent(expr: string): string | undefined {
  return verdictOf(expr).silent;
}

function silentAggregate(expr: string, tree: ReturnType<typeof parser.parse>): string | undefined {
  const top = tree.topNode.firstChild;
  if (top === null) return undefined;
  const node = unwrap(top);
  if (node.name !== 'BinaryExpr' || node.getChild('BoolModifier') !== null) return undefined;
  const parts: SyntaxNode[] = [];
  let operator: string | undefined;
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.name in TRUE_AT_ZERO || child.name in MIRRORED) operator = child.name;
    else parts.push(unwrap(child));
  }
  if (operator === undefined || parts.length !== 2) return undefined;
  const [left, right] = parts as [SyntaxNode, SyntaxNode];
  const [aggregate, literal, comparison] =
    left.name === 'AggregateExpr' ? [left, right, operator] : [right, left, MIRRORED[operator]];
  if (comparison === undefined || aggregate.name !== 'AggregateExpr') return undefined;
  if (literal.name !== 'NumberDurationLiteral') return undefined;
  const op = aggregate.getChild('AggregateOp')?.firstChild?.name;
  if (op !== 'Sum' && op !== 'Count') return undefined;
  if (aggregate.getChild('AggregateModifier') !== null) return undefined;
  const limit = Number(expr.slice(literal.from, literal.to));
  const holds = TRUE_AT_ZERO[comparison];
  if (holds === undefined || !Number.isFinite(limit) || !holds(limit)) return undefined;
  return expr.slice(aggregate.from, aggregate.to);
}
