import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANIFESTS_TEMPLATE, mergeValues, mergeValuesShared, renderChart } from './helm.js';
import type { JsonValue, Values } from './types.js';
import { toYaml } from './yaml.js';

describe('mergeValues (Helm semantics)', () => {
  it('merges maps deeply, later layers winning', () => {
    expect(
      mergeValues(
        { a: { b: 1, c: { d: 1, e: 1 } }, f: 1 },
        { a: { c: { d: 2 } } },
        { a: { c: { e: 3 } }, g: 4 },
      ),
    ).toEqual({ a: { b: 1, c: { d: 2, e: 3 } }, f: 1, g: 4 });
  });

  it('replaces lists and scalars instead of merging them', () => {
    expect(mergeValues({ list: [1, 2, 3], s: 'a', m: { x: 1 } }, { list: [9], s: 'b' })).toEqual({
      list: [9],
      s: 'b',
      m: { x: 1 },
    });
  });

  it('deletes a key of values.yaml that a value file sets to null', () => {
    expect(mergeValues({ a: 1, b: { c: 1 } }, { b: null })).toEqual({ a: 1 });
  });

  it('deletes a nested key of values.yaml set to null, keeping its siblings', () => {
    expect(
      mergeValues(
        { probe: { httpGet: { port: 80 }, initialDelaySeconds: 5 } },
        { probe: { httpGet: null } },
      ),
    ).toEqual({
      probe: { initialDelaySeconds: 5 },
    });
  });

  it('keeps a null for a key values.yaml lacks, for the subchart to delete its default', () => {
    expect(mergeValues({ cilium: { a: 1 } }, { cilium: { securityContext: null } })).toEqual({
      cilium: { a: 1, securityContext: null },
    });
  });

  it('merges value files with each other before coalescing, as `-f a -f b` does', () => {
    // a.yaml deletes x, b.yaml sets x.b: the files merge to {x: {b: 2}}, which then merges
    // with values.yaml's x: {a: 1}.
    expect(mergeValues({ x: { a: 1 } }, { x: null }, { x: { b: 2 } })).toEqual({
      x: { a: 1, b: 2 },
    });
    // The other way round, the later null wins and deletes x entirely.
    expect(mergeValues({ x: { a: 1 } }, { x: { b: 2 } }, { x: null })).toEqual({});
  });

  it('does not modify its layers', () => {
    const base: Values = { a: { b: 1 } };
    const layer: Values = { a: { c: 2 } };
    mergeValues(base, layer);
    expect(base).toEqual({ a: { b: 1 } });
    expect(layer).toEqual({ a: { c: 2 } });
  });

  it('has {} as identity on either side', () => {
    const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.integer(),
        fc.string({ maxLength: 4 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const values = fc.dictionary(fc.string({ maxLength: 3 }), json, {
      maxKeys: 5,
    }) as fc.Arbitrary<Values>;
    fc.assert(
      fc.property(values, (x) => {
        expect(mergeValues(x, {})).toEqual(x);
        expect(mergeValues({}, x)).toEqual(x);
      }),
    );
  });
});

describe('mergeValuesShared', () => {
  // Small alphabets, so that layers meet often: the same keys, tables against scalars, nulls.
  const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom<JsonValue>(null, 1, 'x', true),
      fc.array(tie('value'), { maxLength: 2 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('value'), { maxKeys: 3 }),
    ),
  })).value;
  const values = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), json, {
    maxKeys: 4,
  }) as fc.Arbitrary<Values>;

  // Helm's merge written out the plain way, copying as it goes (pkg/cli/values `mergeMaps`, then
  // pkg/chart/common/util `coalesceTablesFullKey`): the reference the sharing merge must equal.
  function helmMerge(...layers: readonly Values[]): Values {
    type Table = { [key: string]: JsonValue };
    const isTable = (v: unknown): v is Table =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    const mergeMaps = (a: Table, b: Table): Table => {
      const out: Table = structuredClone(a);
      for (const [key, value] of Object.entries(b)) {
        const previous = out[key];
        out[key] =
          isTable(value) && isTable(previous) ? mergeMaps(previous, value) : structuredClone(value);
      }
      return out;
    };
    const coalesce = (dst: Table, src: Table): void => {
      for (const [key, value] of Object.entries(src)) {
        if (!Object.hasOwn(dst, key)) dst[key] = structuredClone(value);
        else if (dst[key] === null) delete dst[key];
        else if (isTable(dst[key]) && isTable(value)) coalesce(dst[key] as Table, value);
      }
    };
    const [defaults, ...files] = layers;
    let user: Table = {};
    for (const file of files) user = mergeMaps(user, file);
    if (defaults !== undefined) coalesce(user, defaults);
    return user;
  }

  it('equals Helm`s merge and leaves its layers as they were; mergeValues shares nothing', () => {
    fc.assert(
      fc.property(fc.array(values, { minLength: 1, maxLength: 4 }), (layers) => {
        const before = JSON.stringify(layers);
        const expected = helmMerge(...layers);
        expect(mergeValuesShared(...layers)).toEqual(expected);
        expect(JSON.stringify(layers)).toBe(before);
        const copy = mergeValues(...layers);
        expect(copy).toEqual(expected);
        // Emptying every table of the copy leaves the layers as they were.
        const empty = (node: unknown): void => {
          if (typeof node !== 'object' || node === null) return;
          for (const key of Object.keys(node)) {
            empty((node as Record<string, unknown>)[key]);
            delete (node as Record<string, unknown>)[key];
          }
        };
        empty(copy);
        expect(JSON.stringify(layers)).toBe(before);
      }),
      { numRuns: 3000 },
    );
  });

  it('shares what no layer changes, and copies what one does', () => {
    const env: Values = { manifests: { policy: { kind: 'P', spec: { a: 1 } } }, probe: { x: 1 } };
    const cluster: Values = { probe: { y: 2 } };
    const merged = mergeValuesShared({ probe: { z: 3 } }, env, cluster);
    expect((merged.manifests as Values).policy).toBe((env.manifests as Values).policy);
    expect(merged.probe).toEqual({ x: 1, y: 2, z: 3 });
    expect(env.probe).toEqual({ x: 1 });
    expect(cluster.probe).toEqual({ y: 2 });
  });

  it('deletes a values.yaml key a layer sets to null without touching values.yaml', () => {
    const defaults: Values = { a: { b: 1, c: 2 } };
    expect(mergeValuesShared(defaults, { a: { b: null } })).toEqual({ a: { c: 2 } });
    expect(defaults).toEqual({ a: { b: 1, c: 2 } });
  });
});

const header = '# generated by pnpm build; do not edit.\n';

function chart(files: Record<string, Values | string>): Map<string, string> {
  const map = new Map<string, string>();
  map.set('charts/demo/Chart.yaml', `${header}apiVersion: v2\nname: demo\nversion: 0.1.0\n`);
  map.set('charts/demo/templates/manifests.yaml', `${header}${MANIFESTS_TEMPLATE}`);
  for (const [path, content] of Object.entries(files)) {
    map.set(
      `charts/demo/${path}`,
      typeof content === 'string' ? content : toYaml(content, { header }),
    );
  }
  return map;
}

const cm = (name: string, data: Values = {}): Values => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

describe('renderChart', () => {
  const files = chart({
    'values.yaml': {
      replicas: 1,
      manifests: { zeta: cm('zeta'), alpha: cm('alpha', { mode: 'base' }) },
    },
    'env/production.yaml': {
      replicas: 3,
      manifests: { alpha: { data: { mode: 'prod' } }, mid: cm('mid') },
    },
    'clusters/prod.yaml': { manifests: { zeta: null } },
  });

  it('renders values.yaml alone', () => {
    const rendered = renderChart(files, []);
    expect(rendered.keys).toEqual(['alpha', 'zeta']);
    expect(rendered.values.replicas).toBe(1);
    expect(rendered.issues).toEqual([]);
  });

  it('merges the value files in order and ranges over manifests in sorted key order', () => {
    const rendered = renderChart(files, ['env/production.yaml', 'clusters/prod.yaml']);
    expect(rendered.values.replicas).toBe(3);
    expect(rendered.keys).toEqual(['alpha', 'mid']);
    expect(rendered.objects[0]).toEqual(cm('alpha', { mode: 'prod' }));
    expect(rendered.yaml).toBe(
      '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alpha\ndata:\n  mode: prod\n' +
        '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mid\ndata: {}\n',
    );
    expect(rendered.issues).toEqual([]);
  });

  it('finds the chart inside a list of generated files', () => {
    const list = [...files].map(([path, content]) => ({ path, content }));
    expect(renderChart(list, ['env/production.yaml']).keys).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('reports a null entry that Helm would not delete instead of rendering it', () => {
    const layered = chart({
      'values.yaml': { manifests: {} },
      'env/production.yaml': { manifests: { extra: cm('extra') } },
      'clusters/prod.yaml': { manifests: { extra: null } },
    });
    const rendered = renderChart(layered, ['env/production.yaml', 'clusters/prod.yaml']);
    expect(rendered.objects).toEqual([]);
    expect(rendered.issues.map((issue) => [issue.output, issue.code])).toEqual([
      ['charts/demo/values#manifests.extra', 'manifest-null'],
    ]);
  });

  it('reports two entries rendering the same object', () => {
    const twice = chart({ 'values.yaml': { manifests: { a: cm('same'), b: cm('same') } } });
    expect(renderChart(twice, []).issues.map((issue) => issue.code)).toEqual([
      'manifest-duplicate',
    ]);
  });

  it('validates the merged values against values.schema.json', () => {
    const withSchema = chart({
      'values.yaml': { manifests: {}, replicas: 1 },
      'env/production.yaml': { replicas: 'three', typo: true },
      'values.schema.json': JSON.stringify({
        type: 'object',
        additionalProperties: false,
        properties: { manifests: { type: 'object' }, replicas: { type: 'integer' } },
      }),
    });
    const issues = renderChart(withSchema, ['env/production.yaml']).issues;
    expect(issues.map((issue) => issue.output).sort()).toEqual([
      'charts/demo/values.schema.json#(root)',
      'charts/demo/values.schema.json#replicas',
    ]);
    expect(issues.find((issue) => issue.output?.endsWith('#(root)'))?.message).toContain('(typo)');
  });

  it('refuses a chart whose template is not the contract one', () => {
    const other = chart({ 'values.yaml': {} });
    other.set('charts/demo/templates/manifests.yaml', '{{ .Values.x }}\n');
    expect(() => renderChart(other, [])).toThrow('is not the contract');
  });

  it('refuses a value file that does not exist', () => {
    expect(() => renderChart(files, ['env/staging.yaml'])).toThrow(
      'value file charts/demo/env/staging.yaml does not exist',
    );
  });
});
