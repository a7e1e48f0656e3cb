// The direct YAML emitter (`toYaml`) against the `yaml` package's node model
// (`toYamlReference`): the same bytes for every input, the same errors, and the direct path
// taken (not the fallback) for ordinary data.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalData,
  emitYamlDirect,
  generatedHeader,
  isAmbiguousString,
  knownAmbiguity,
  parsedAmbiguity,
  parseYaml,
  type ToYamlOptions,
  templateMarkerIssues,
  toYaml,
  toYamlDocuments,
  toYamlDocumentsReference,
  toYamlDocumentsWithData,
  toYamlReference,
  toYamlWithData,
} from './yaml.js';

// Strings a YAML writer must treat with care: indicators, YAML 1.1 and 1.2 specials, document
// markers, whitespace around line breaks, escapes, non-ASCII.
const HOSTILE = [
  '',
  ' ',
  '  ',
  'a',
  ' a',
  'a ',
  '\ta',
  'a\t',
  'a: b',
  'a:b',
  'a:',
  ':a',
  'a #b',
  'a#b',
  '#a',
  '- a',
  '-a',
  '-',
  '?',
  '? a',
  '?a',
  '---',
  '--- a',
  '---a',
  '...',
  '...a',
  '%a',
  '@a',
  '`a',
  '&a',
  '*a',
  '!a',
  '|',
  '>',
  '"',
  "'",
  '"a"',
  "'a'",
  `a"b'c`,
  'a\\b',
  '\\',
  '{{ .Values.x }}',
  '{a}',
  '[a]',
  'a,b',
  'yes',
  'Yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'Y',
  'N',
  'true',
  'False',
  'null',
  'Null',
  'NULL',
  '~',
  '0x10',
  '0o10',
  '010',
  '1_000',
  '1:20',
  '1.20',
  '1e3',
  '1E3',
  '+1',
  '-1',
  '.5',
  '1.',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '.inf',
  '-.Inf',
  '.nan',
  '.NaN',
  '<<',
  '=',
  '\u00a0',
  'a\u00a0b',
  '\u00a0a',
  '\u0085',
  '\u2028',
  '\u2029',
  'a\u2028%b',
  'a\u2029---',
  '\u2028...',
  '\ufeff',
  'é',
  '😀',
  'a😀b',
  '\ud800',
  'a\udc00',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0090',
  '\r',
  'a\r\nb',
  '\n',
  '\n\n',
  'a\n',
  'a\n\n',
  'a\n\n\n',
  '\na',
  '\n\na',
  ' \na',
  'a\n ',
  'a\n\t',
  'a \nb',
  'a\n b',
  'a\nb',
  'a\n\nb\n',
  '  a\nb',
  ' a\n b\n',
  '\n  a\n',
  'a\n---\nb',
  '---\na',
  '...\n',
  'a\n#b',
  'a\n- b',
  'a\n\tb\n',
  'a: b\nc',
  'x'.repeat(1100),
  `${'word '.repeat(30)}\nline`,
  `"quoted"\n${'long '.repeat(10)}\n  `,
];

const hostileChar = fc.oneof(
  fc.constantFrom(
    ' ',
    '\n',
    '\t',
    '\r',
    ':',
    '#',
    '-',
    '?',
    '"',
    "'",
    '\\',
    '{',
    '}',
    '[',
    ']',
    ',',
    '&',
    '*',
    '!',
    '|',
    '>',
    '%',
    '@',
    '`',
    '.',
    '~',
    '=',
    '<',
    '\u00a0',
    '\u0085',
    '\u2028',
    '\u2029',
    '\ufeff',
    '😀',
    '\u0000',
    '\u007f',
    '\ud800',
    'é',
  ),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);

const hostileToken = fc.constantFrom(
  'yes',
  'on',
  'no',
  'y',
  'true',
  'null',
  '~',
  '0x10',
  '1_000',
  '1.20',
  '1:20',
  '2001-12-14',
  '.inf',
  '<<',
  '{{',
  ': ',
  ' #',
  '- ',
  '---',
  '...',
  ' ',
  '  ',
  '\n',
  '\n\n',
  '\t',
  '\r',
  '"',
  "'",
  '\\',
  'a',
  'word',
  '1',
  '\u00a0',
  '😀',
);

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ unit: hostileChar, maxLength: 12 }),
  fc.array(hostileToken, { maxLength: 6 }).map((tokens) => tokens.join('')),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ maxLength: 10 }),
);

const hostileKey = hostileString.filter((key) => key !== '__proto__');

type Data = unknown;

const arbitraries = fc.letrec<{ value: Data; map: Data; list: Data; object: Data }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53) - 2, 1e21, 1.5, -0.1, 1e-7, 123.456),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    hostileString,
    hostileString,
    tie('list'),
    tie('map'),
    tie('object'),
  ),
  list: fc.array(tie('value'), { maxLength: 4 }),
  map: fc.dictionary(hostileKey, fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 5 }),
  // A Kubernetes object: apiVersion, kind, metadata, spec first, the rest sorted.
  object: fc.record(
    {
      apiVersion: fc.constantFrom('v1', 'apps/v1'),
      kind: hostileString,
      metadata: tie('value'),
      spec: tie('value'),
      data: tie('value'),
      zeta: tie('value'),
      Alpha: tie('value'),
      status: fc.constant(undefined),
    },
    { requiredKeys: ['apiVersion', 'kind'] },
  ),
}));

/** A document: mostly a map, a list or a Kubernetes object, sometimes a scalar. */
const data: fc.Arbitrary<Data> = fc.oneof(
  arbitraries.map,
  arbitraries.list,
  arbitraries.object,
  arbitraries.value,
);

describe('the direct YAML emitter', () => {
  it('writes the bytes of the yaml package for arbitrary data with hostile strings and keys', () => {
    let direct = 0;
    let collections = 0;
    fc.assert(
      fc.property(data, (value) => {
        if (typeof value === 'object' && value !== null) collections++;
        const reference = toYamlReference(value);
        expect(toYaml(value)).toBe(reference);
        const own = emitYamlDirect(value);
        if (own !== undefined) {
          direct++;
          expect(own).toBe(reference);
        }
      }),
      { numRuns: 3000 },
    );
    // Nearly every map or list went through the direct path (the few keys the package writes as
    // explicit `? ` keys fall back; so do top-level scalars).
    expect(collections).toBeGreaterThan(2000);
    expect(direct).toBeGreaterThan(collections * 0.9);
  });

  it('writes the bytes of the yaml package for a header and for multi-document streams', () => {
    fc.assert(
      fc.property(fc.array(data, { minLength: 1, maxLength: 3 }), (values) => {
        const header = generatedHeader('pnpm build');
        expect(toYamlDocuments(values, { header })).toBe(
          toYamlDocumentsReference(values, { header }),
        );
        expect(toYaml(values[0], { header })).toBe(toYamlReference(values[0], { header }));
      }),
      { numRuns: 500 },
    );
  });

  // Every hostile string as a key and as a value, in the top-level map, in nested maps (the
  // indent of block scalars), in sequences, sequences of sequences and maps in sequences.
  it.each(HOSTILE.map((text) => [text]))(
    'writes %j as the package does wherever it stands',
    (text) => {
      const shapes: unknown[] = [
        { [text]: text },
        { a: { [text]: text, b: [text] } },
        { a: { b: { c: text } } },
        [text],
        [[text, [text]], { [text]: [text] }],
        { a: [{ [text]: { [text]: text } }, [[text]]] },
        { apiVersion: 'v1', kind: text, metadata: { name: text }, [text]: text },
        [{ a: [[{ b: text }]] }],
      ];
      for (const shape of shapes) {
        expect(toYaml(shape)).toBe(toYamlReference(shape));
      }
    },
  );

  it('takes the direct path for plain keys and values, block literals and floats', () => {
    const value = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', labels: { 'app.kubernetes.io/name': 'x' } },
      data: {
        'config.yaml': 'a: 1\nb:\n  - c\n',
        script: '  indented\nfirst\n\n\n',
        empty: '',
        yes: 'yes',
        quoted: 'a: b',
      },
      ratio: 0.25,
      list: [[], {}, [1, [2]], { a: null, b: true }],
    };
    const own = emitYamlDirect(value);
    expect(own).toBe(toYamlReference(value));
    expect(own).toBe(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  labels:',
        '    app.kubernetes.io/name: x',
        '  name: x',
        'data:',
        '  config.yaml: |',
        '    a: 1',
        '    b:',
        '      - c',
        '  empty: ""',
        '  quoted: "a: b"',
        '  script: |2+',
        '      indented',
        '    first',
        '',
        '',
        '  "yes": "yes"',
        'list:',
        '  - []',
        '  - {}',
        '  - - 1',
        '    - - 2',
        '  - a: null',
        '    b: true',
        'ratio: 0.25',
        '',
      ].join('\n'),
    );
  });

  it('leaves top-level scalars and explicit keys to the reference path, with its output', () => {
    const long = 'k'.repeat(1100);
    for (const value of [
      'text',
      1,
      1.5,
      null,
      true,
      'a\nb\n',
      { [long]: 1 },
      [{ [`${long} `]: 1 }],
    ]) {
      expect(emitYamlDirect(value)).toBeUndefined();
      expect(toYaml(value)).toBe(toYamlReference(value));
    }
    expect(toYaml({ [long]: 1 })).toBe(`? ${long}\n: 1\n`);
  });
});

describe('the direct YAML emitter on bad input', () => {
  const thrown = (emit: (value: unknown) => unknown, value: unknown): string => {
    try {
      emit(value);
    } catch (caught) {
      return (caught as Error).message;
    }
    return 'did not throw';
  };

  class Thing {
    readonly a = 1;
  }

  it.each([
    ['undefined in a list', { a: [1, undefined] }, 'cannot serialise undefined at a[1]'],
    ['undefined in a top-level list', [undefined], 'cannot serialise undefined at [0]'],
    ['NaN', { a: { b: Number.NaN } }, 'cannot serialise NaN at a.b: not a finite number'],
    [
      'Infinity',
      [Number.POSITIVE_INFINITY],
      'cannot serialise Infinity at [0]: not a finite number',
    ],
    [
      '-Infinity',
      { 'x y': [{ z: Number.NEGATIVE_INFINITY }] },
      'cannot serialise -Infinity at ["x y"][0].z: not a finite number',
    ],
    ['a function', { f: () => 1 }, 'cannot serialise function at f: not plain JSON data'],
    [
      'a Date',
      { when: new Date(0) },
      'cannot serialise a class instance at when: not plain JSON data',
    ],
    ['a Map', [new Map()], 'cannot serialise a class instance at [0]: not plain JSON data'],
    [
      'a class instance',
      { a: new Thing() },
      'cannot serialise a class instance at a: not plain JSON data',
    ],
    ['a bigint', { n: 1n }, 'cannot serialise bigint at n: not plain JSON data'],
    ['a symbol', { s: Symbol('s') }, 'cannot serialise symbol at s: not plain JSON data'],
    ['a top-level NaN', Number.NaN, 'cannot serialise NaN at (root): not a finite number'],
    [
      'the first error in key order',
      { b: Number.NaN, a: [undefined] },
      'cannot serialise undefined at a[0]',
    ],
    [
      'the first error in Kubernetes key order',
      { apiVersion: 'v1', kind: 'X', spec: Number.NaN, metadata: { f: () => 1 } },
      'cannot serialise function at metadata.f: not plain JSON data',
    ],
  ])('throws what the reference throws for %s', (_name, value, message) => {
    expect(thrown(toYaml, value)).toBe(message);
    expect(thrown(toYamlReference, value)).toBe(message);
    expect(thrown(emitYamlDirect, value)).toBe(
      typeof value === 'object' ? message : 'did not throw',
    );
  });

  it('throws what the reference throws when the direct path gave up before the error', () => {
    const value = { ['k'.repeat(1100)]: 1, z: [undefined] };
    expect(emitYamlDirect(value)).toBeUndefined();
    expect(thrown(toYaml, value)).toBe('cannot serialise undefined at z[0]');
    expect(thrown(toYamlReference, value)).toBe('cannot serialise undefined at z[0]');
  });
});

describe('canonicalData', () => {
  // JSON-like maps and lists with single-line strings: the `yaml` package reads some block
  // scalars back differently (a top-level `|1` before an empty line, a blank line of spaces among
  // leading empty lines) and drops a byte order mark first in a document, with or without the
  // direct emitter (generated files hold none of these).
  const line = fc
    .oneof(fc.string({ unit: hostileChar, maxLength: 12 }), fc.constantFrom(...HOSTILE))
    .filter((text) => !text.includes('\n') && !text.startsWith('\ufeff'));
  const { collection } = fc.letrec<{ value: Data; collection: Data }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      line,
      tie('collection'),
    ),
    collection: fc.oneof(
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(
        line.filter((key) => key !== '__proto__'),
        fc.oneof(tie('value'), fc.constant(undefined)),
        { maxKeys: 5 },
      ),
      fc.record(
        {
          apiVersion: fc.constant('v1'),
          kind: line,
          metadata: tie('value'),
          zeta: tie('value'),
          Alpha: tie('value'),
        },
        { requiredKeys: ['apiVersion', 'kind'] },
      ),
    ),
  }));

  it('is the data parseYaml(toYaml(value)) returns, keys in the same order', () => {
    fc.assert(
      fc.property(collection, (value) => {
        const yaml = toYaml(value);
        const canonical = canonicalData(value);
        const parsed = parseYaml(yaml);
        expect(canonical).toEqual(parsed);
        expect(JSON.stringify(canonical)).toBe(JSON.stringify(parsed));
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    [{ a: [1, { b: Number.NaN }] }, 'cannot serialise NaN at a[1].b: not a finite number'],
    [{ a: [1, 2], b: { c: () => 1 } }, 'cannot serialise function at b.c: not plain JSON data'],
    [
      { apiVersion: 'v1', kind: 'X', zeta: [new Date(0)], metadata: { name: 'x' } },
      'cannot serialise a class instance at zeta[0]: not plain JSON data',
    ],
  ])('names the path of what it cannot serialise (%#)', (value, message) => {
    expect(() => canonicalData(value)).toThrow(message);
    expect(() => toYaml(value)).toThrow(message);
  });
});

describe('the ambiguity of YAML 1.1 suspects without parsing', () => {
  // The characters of `YAML11_SUSPECT`'s number-like forms, and the ones next to its edges.
  const suspectChar = fc.constantFrom(
    ...'0123456789-+_:. eExXoObBaAcCdDfFtTzZ'.split(''),
    '1',
    '0',
    '.',
    '-',
    'g',
    '#',
    '\t',
  );
  const suspectText = fc.oneof(
    fc.string({ unit: suspectChar, minLength: 1, maxLength: 12 }),
    fc
      .tuple(fc.constantFrom('', '-', '+', '.', '0', '1'), fc.string({ unit: suspectChar }))
      .map(([start, rest]) => start + rest),
    fc
      .array(
        fc.constantFrom(
          ...['0b', '0x', '0o', '0', '1', '7', '9', '00', '_', ':', '.', '-', '+', 'e', 'E'],
          ...['a', 'b', 'B', 'c', 'd', 'f', 'F', 't', 'T', 'Z', 'z', ' ', '2001-12-14', '-05:00'],
        ),
        { minLength: 1, maxLength: 6 },
      )
      .map((tokens) => tokens.join('')),
    fc.uuid(),
    fc.ipV4(),
    fc.integer().map(String),
    fc.nat(100).map((days) => `${days}d`),
  );

  it('answers as the YAML 1.1 and 1.2 parses wherever it answers', () => {
    fc.assert(
      fc.property(suspectText, (text) => {
        expect(isAmbiguousString(text)).toBe(parsedAmbiguity(text));
      }),
      { numRuns: 20_000 },
    );
    for (const text of HOSTILE) expect(isAmbiguousString(text)).toBe(parsedAmbiguity(text));
  });

  it.each([
    ['8080', true],
    ['-1', true],
    ['+0', true],
    ['007', true],
    ['12345678901234567890123', true],
    ['yes', true],
    ['Off', true],
    ['Y', true],
    ['=', true],
    ['<<', true],
    ['10.30.10.1', false],
    ['1.20.3', false],
    ['0.0.0.0', false],
    ['7ebd1a44-dc2a-435e-aa12-40570847d047', false],
    ['3d', false],
    ['15d', false],
    ['0a', false],
    ['1f', false],
    ['0b1c', false],
    ['2001-12-1a', false],
  ])('knows %j without parsing: ambiguous %s', (text, ambiguous) => {
    expect(knownAmbiguity(text)).toBe(ambiguous);
    expect(parsedAmbiguity(text)).toBe(ambiguous);
  });

  it.each([
    ['1.20'],
    ['1e3'],
    ['1_000'],
    ['1:20'],
    ['0x1f'],
    ['0b101'],
    ['0b1_0'],
    ['1b'],
    ['2001-12-14'],
    ['2001-12-14t21:59:43.10-05:00'],
    ['1a: b'],
    ['1d '],
    ['1 d'],
    ['.5'],
    ['...'],
    ['-.inf'],
    ['1a:'],
  ])('leaves %j to the parses', (text) => {
    expect(knownAmbiguity(text)).toBeUndefined();
  });
});

describe('toYamlWithData and toYamlDocumentsWithData', () => {
  const outcome = (make: () => { text: string; data: unknown }) => {
    try {
      const { text, data } = make();
      return { text, data, json: JSON.stringify(data) };
    } catch (caught) {
      return { thrown: (caught as Error).message, name: (caught as Error).name };
    }
  };
  const twoSteps = (value: unknown, options: ToYamlOptions) => {
    const data = canonicalData(value);
    return { text: toYaml(data, options), data };
  };
  const twoStepsDocuments = (values: readonly unknown[], options: ToYamlOptions) => {
    const data = values.map((value) => canonicalData(value));
    return { text: toYamlDocuments(data, options), data };
  };
  const header = generatedHeader('pnpm build');
  const optionSets: ToYamlOptions[] = [
    {},
    { header },
    { forbidTemplateMarkers: true },
    { header, forbidTemplateMarkers: true },
  ];

  const marker = (value: unknown, options: ToYamlOptions): boolean | string => {
    try {
      return toYamlWithData(value, options).templateMarker;
    } catch {
      return 'threw';
    }
  };

  it('give the text and the copy of canonicalData then toYaml, for arbitrary data', () => {
    let markers = 0;
    fc.assert(
      fc.property(data, fc.constantFrom(...optionSets), (value, options) => {
        expect(outcome(() => toYamlWithData(value, options))).toStrictEqual(
          outcome(() => twoSteps(value, options)),
        );
        // Whether a key or string holds `{{`, as the marker check's own walk finds it.
        const found = marker(value, options);
        if (found !== 'threw') {
          expect(found).toBe(templateMarkerIssues(value).length > 0);
          if (found) markers++;
        }
      }),
      // A fixed seed: the count of inputs holding `{{` below is then the same on every run.
      { numRuns: 3000, seed: 20261201 },
    );
    expect(markers).toBeGreaterThan(100);
    fc.assert(
      fc.property(
        fc.array(data, { maxLength: 3 }),
        fc.constantFrom(...optionSets),
        (values, options) => {
          expect(outcome(() => toYamlDocumentsWithData(values, options))).toStrictEqual(
            outcome(() => twoStepsDocuments(values, options)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  class List extends Array<unknown> {}
  const sparse: unknown[] = [1];
  sparse[2] = 3;
  const nullPrototype = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1 });

  it.each([
    ['an own __proto__ key', JSON.parse('{"a": 1, "__proto__": {"b": 2}, "c": [3]}')],
    ['a nested __proto__ key', { x: JSON.parse('{"__proto__": [1]}') }],
    ['a list with a hole', { a: sparse }],
    ['a hole before an error', { a: sparse, b: Number.NaN }],
    ['a subclass of Array', { a: List.from([1, 2]) }],
    ['an empty subclass of Array', { a: new List() }],
    ['a map with a null prototype', { a: nullPrototype }],
    ['undefined in a list', { a: [1, undefined] }],
    ['undefined in a top-level list', [undefined]],
    ['undefined members', { a: undefined, b: { c: undefined } }],
    ['a template marker', { b: '{{ x }}', a: [Number.NaN] }],
    ['a template marker in a key', { '{{': 1 }],
    ['a template marker in a dropped member', { a: 1, 'x{{': undefined }],
    ['a template marker in a block string', { a: 'x\n{{ y }}\n', b: ['{{'] }],
    ['a long key', { ['k'.repeat(1100)]: 1, z: [undefined] }],
    ['a scalar', 'text'],
    ['a NaN', Number.NaN],
    ['a Kubernetes object', { kind: 'X', apiVersion: 'v1', zeta: 1, spec: { b: 1, a: 2 } }],
    ['integer-like keys', { b: 1, '10': 2, '9': 3, apiVersion: 'v1', kind: 'X' }],
  ])('give what the two steps give for %s', (_name, value) => {
    const found = marker(value, {});
    if (found !== 'threw') expect(found).toBe(templateMarkerIssues(value).length > 0);
    for (const options of optionSets) {
      expect(outcome(() => toYamlWithData(value, options))).toStrictEqual(
        outcome(() => twoSteps(value, options)),
      );
      expect(outcome(() => toYamlDocumentsWithData([{ a: 1 }, value], options))).toStrictEqual(
        outcome(() => twoStepsDocuments([{ a: 1 }, value], options)),
      );
    }
  });

  it('keep the copy apart from the input', () => {
    const value = { b: [{ c: 1 }], a: { d: 'x' } };
    const { data } = toYamlWithData(value);
    expect(data).toEqual(value);
    expect(Object.keys(data as object)).toEqual(['a', 'b']);
    expect((data as typeof value).b).not.toBe(value.b);
    expect((data as typeof value).b[0]).not.toBe(value.b[0]);
  });
});
