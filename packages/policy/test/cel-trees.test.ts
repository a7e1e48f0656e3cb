// The parse trees the build writes for our templates' expressions (dist/cel-trees.cjs): one for
// every expression the templates carry, each equal to the parser's tree, the built module the one
// the current templates give, and evaluation through them the same as through the parser. Any
// other text is parsed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@bufbuild/cel';
import { ExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { equals } from '@bufbuild/protobuf';
import { evaluateCommonJs } from '@homelab/core/testing';
import { describe, expect, test, vi } from 'vitest';
import { celTreesModule, prebuiltTrees, templateExpressions } from '../src/cel-trees.js';
import { templatesByKind } from '../src/evaluate.js';
import { corpusObjects, runPolicy } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const EXEMPT = ['gatekeeper-system', 'kube-node-lease', 'kube-public', 'kube-system'];

const run = runPolicy({ clusterAdminBindings: ['break-glass'] });
const templates = run.templates('prod');
const constraints = run.constraints('prod');

/** The module the build writes, made here from the same source. */
const generated = evaluateCommonJs(celTreesModule(templateExpressions()), import.meta.url);

const corpus = corpusObjects();

/**
 * A fresh instance of evaluate.ts (its compiled programs not shared) whose prebuilt trees come
 * from `module`, and the texts it found a tree for.
 */
async function evaluatorWith(module: unknown) {
  const found = new Set<string>();
  vi.resetModules();
  vi.doMock('../src/cel-trees.js', async (importOriginal) => {
    const original = await importOriginal<typeof import('../src/cel-trees.js')>();
    const lookup = original.prebuiltTrees(() => module);
    return {
      ...original,
      prebuiltTree: (expression: string) => {
        const tree = lookup(expression);
        if (tree !== undefined) found.add(expression);
        return tree;
      },
    };
  });
  try {
    return { evaluate: await import('../src/evaluate.js'), found };
  } finally {
    vi.doUnmock('../src/cel-trees.js');
  }
}

describe('the prebuilt parse trees of the templates', () => {
  test('hold every expression of every template the component emits', () => {
    const carried = new Set<string>();
    for (const source of templatesByKind(templates).values()) {
      for (const variable of source.variables) carried.add(variable.expression);
      for (const validation of source.validations) {
        carried.add(validation.expression);
        if (validation.messageExpression !== undefined) carried.add(validation.messageExpression);
      }
    }
    expect(templatesByKind(templates).size).toBe(9);
    expect(new Set(templateExpressions())).toEqual(carried);
    expect(templateExpressions()).toHaveLength(carried.size);
  });

  test("are each the parser's tree", () => {
    const tree = prebuiltTrees(() => generated);
    for (const expression of templateExpressions()) {
      const prebuilt = tree(expression);
      const parsed = parse(expression).expr;
      expect(prebuilt, expression).toBeDefined();
      expect(parsed, expression).toBeDefined();
      if (prebuilt === undefined || parsed === undefined) continue;
      expect(equals(ExprSchema, prebuilt, parsed), expression).toBe(true);
    }
  });

  test('are built from the current templates (run `pnpm build` after changing them)', () => {
    let built: string;
    try {
      built = readFileSync(join(here, '..', 'dist', 'cel-trees.cjs'), 'utf8');
    } catch {
      throw new Error('dist/cel-trees.cjs is missing: run `pnpm build`');
    }
    expect(built, 'dist/cel-trees.cjs is stale: run `pnpm build`').toBe(
      celTreesModule(templateExpressions()),
    );
  });

  test('are found by exact text only, and not at all without a module', () => {
    const tree = prebuiltTrees(() => generated);
    const [first] = templateExpressions();
    if (first === undefined) throw new Error('no expressions');
    expect(tree(first)).toBeDefined();
    for (const other of [`${first} `, ` ${first}`, '1 + 1', '', 'constructor', '__proto__']) {
      expect(tree(other), other).toBeUndefined();
    }
    for (const module of [undefined, null, {}, { trees: 'x' }, { trees: [[1, 2]] }]) {
      expect(prebuiltTrees(() => module)(first)).toBeUndefined();
    }
    const failing = prebuiltTrees(() => {
      throw new Error('not generated');
    });
    expect(failing(first)).toBeUndefined();
  });
});

describe('evaluation through the prebuilt trees', () => {
  test('gives the verdicts of parsing every expression, on both corpora, and uses every tree', async () => {
    const prebuilt = await evaluatorWith(generated);
    const parsed = await evaluatorWith(undefined);
    const summary = (evaluate: typeof prebuilt.evaluate) =>
      evaluate
        .evaluateConstraints(templates, constraints, corpus, EXEMPT)
        .verdicts.map((verdict) => [
          verdict.constraint.metadata.name,
          corpus.indexOf(verdict.object),
          verdict.messages,
        ]);
    const expected = summary(parsed.evaluate);
    expect(expected.some(([, , messages]) => (messages as string[]).length > 0)).toBe(true);
    expect(summary(prebuilt.evaluate)).toEqual(expected);
    expect(parsed.found).toEqual(new Set());
    expect(prebuilt.found).toEqual(new Set(templateExpressions()));
  });

  test('parses an expression that is not in the table, and gives its own result', async () => {
    const prebuilt = await evaluatorWith(generated);
    const original = templateExpressions().find((text) => text.includes("!= 'NodePort'"));
    if (original === undefined) throw new Error('no NodePort expression');
    const changed = original.replace("!= 'NodePort'", "!= 'LoadBalancer'");
    const service = { kind: 'Service', spec: { type: 'NodePort' } };
    // A CREATE: the update guard (templates.ts, withUpdateGuard) does not admit it.
    const bindings = {
      variables: { anyObject: service, unchangedUpdate: false },
      'variables.anyObject': service,
      'variables.unchangedUpdate': false,
    };
    expect(prebuilt.evaluate.compile(original)(bindings)).toBe(false);
    expect(prebuilt.evaluate.compile(changed)(bindings)).toBe(true);
    expect(prebuilt.found.has(original)).toBe(true);
    expect(prebuilt.found.has(changed)).toBe(false);
    expect(() => prebuilt.evaluate.compile(`${original} &&`)).toThrow();
  });
});
