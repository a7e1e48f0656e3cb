// Loading a platform definition: YAML with source positions, guarded against hostile input, then
// JSON Schema, then semantic checks. Pure: the caller reads the file. Never throws for bad input.
import {
  Composer,
  CST,
  isAlias,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  Parser,
  type Scalar,
  type Node as YamlNode,
} from 'yaml';
import type { JsonSchema } from './contract.js';
import type { PlatformDefinition } from './generated/platform.js';
import {
  error,
  formatPath,
  hasErrors,
  type Issue,
  type PathSegment,
  type SourcePosition,
  sortIssues,
  type ValuePosition,
  warning,
} from './issues.js';
import {
  type Locator,
  type StandaloneSource,
  schemaIssues,
  standaloneValidators,
  VALIDATOR_OPTIONS,
} from './schema-validate.js';
import { semanticIssues } from './semantic.js';
import { textRule } from './text.js';

/** Checks a parsed definition against the composed definition schema. */
export type DefinitionValidator = (data: unknown, locate: Locator) => Issue[];

/** What scripts/build-standalone.mjs generates a definition validator from (schema `definition`). */
export function definitionValidatorSource(schema: JsonSchema): StandaloneSource {
  return { options: VALIDATOR_OPTIONS, schemas: { definition: schema } };
}

/**
 * The validator of `schema` (the composed definition schema): the function of the build-time
 * generated module `generated()` returns when it was generated from exactly this schema
 * (scripts/standalone.mjs, schema name `definition`), otherwise the schema compiled on first use.
 */
export function definitionValidator(
  schema: JsonSchema,
  generated: () => unknown = () => undefined,
): DefinitionValidator {
  const validators = standaloneValidators(definitionValidatorSource(schema), generated);
  return withTextRule(schema, (data, locate) =>
    schemaIssues(validators('definition'), data, locate),
  );
}

/**
 * `validate` followed by the text rule of `schema` (text.ts: one line of visible text unless
 * the schema gives a `contentMediaType`), on the values `validate` did not already report.
 */
export function withTextRule(
  schema: JsonSchema,
  validate: DefinitionValidator,
): DefinitionValidator {
  const text = textRule(schema);
  return (data, locate) => {
    const fromSchema = validate(data, locate);
    const reported = new Set(fromSchema.map((issue) => formatPath(issue.path)));
    return [...fromSchema, ...text(data, locate, reported)];
  };
}

/** Limits that keep a hostile file from exhausting memory or the stack. */
export const LOAD_LIMITS = {
  /** Bytes of UTF-8 input. */
  maxBytes: 2 * 1024 * 1024,
  /** Alias expansions (YAML's "billion laughs"). */
  maxAliasCount: 100,
  /** Nesting of mappings and lists. */
  maxDepth: 64,
  /** Entries of one mapping or list (validation cost grows faster than linearly beyond). */
  maxCollectionSize: 5000,
  /**
   * Scalars in the whole file: a 200-cluster fleet has about 12,500; the limit stops a file of
   * many lists at the limit (say 200 × 5,000 numbers) while it is still being tokenised.
   */
  maxScalars: 250_000,
  /** Issues reported; the rest are summarised in one more. */
  maxIssues: 200,
} as const;

/** CRLF and lone CR line ends as LF (YAML 1.2 reads all three as one line break). */
export function normaliseLineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/** Bytes of `text` in UTF-8, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Keeps the first `maxIssues` issues (sorted) and says how many more there were. */
function capped(issues: Issue[]): Issue[] {
  if (issues.length <= LOAD_LIMITS.maxIssues) return issues;
  const rest = issues.length - LOAD_LIMITS.maxIssues;
  const last = issues[LOAD_LIMITS.maxIssues - 1];
  return [
    ...issues.slice(0, LOAD_LIMITS.maxIssues),
    error({
      code: 'too-many-issues',
      path: [],
      value: rest,
      message: 'more issues are not shown; fix the ones above first',
      expected: `at most ${LOAD_LIMITS.maxIssues} issues per run`,
      ...(last?.position ? { position: last.position } : {}),
    }),
  ];
}

export interface LoadResult {
  /** The definition, when it has no errors (warnings may remain in `issues`). */
  readonly definition: PlatformDefinition | undefined;
  readonly issues: Issue[];
  /** Where a path of the definition sits in the file (for issues found later). */
  readonly locate?: Locator;
}

function positionAt(
  file: string,
  lineCounter: LineCounter,
  offset: number | undefined,
): SourcePosition {
  const { line, col } = lineCounter.linePos(offset ?? 0);
  return { file, line, column: col };
}

function startPosition(file: string, text: string, offset: number): SourcePosition {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { file, line, column: offset - last };
}

/** Where tokenising stopped early, and why. */
type TokenStop =
  | { readonly kind: 'too-deep'; readonly offset: number }
  | {
      readonly kind: 'too-large';
      readonly offset: number;
      readonly path: PathSegment[];
      readonly list: boolean;
    }
  | { readonly kind: 'too-many-scalars'; readonly offset: number };

/** Entries of a CST collection under construction (a flow collection's commas are no entries). */
function collectionEntries(token: CST.Token | undefined): number {
  if (!token) return 0;
  if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection')
    return token.items.length;
  return 0;
}

function isListToken(token: CST.Token): boolean {
  return (
    token.type === 'block-seq' || (token.type === 'flow-collection' && token.start.source === '[')
  );
}

/**
 * The path of the collection at `stack[upTo]`, read from the parser's stack: each enclosing
 * mapping's last key, each enclosing list's last index. Best effort: stops at a complex key.
 */
function stackPath(stack: readonly CST.Token[], upTo: number): PathSegment[] {
  const path: PathSegment[] = [];
  for (let i = 0; i < upTo; i++) {
    const token = stack[i];
    if (!token) break;
    if (
      token.type !== 'block-map' &&
      token.type !== 'block-seq' &&
      token.type !== 'flow-collection'
    )
      continue;
    if (isListToken(token)) {
      path.push(Math.max(0, token.items.length - 1));
      continue;
    }
    const key = token.items[token.items.length - 1]?.key;
    const scalar = key ? CST.resolveAsScalar(key) : null;
    if (!scalar) break;
    path.push(scalar.value);
  }
  return path;
}

/**
 * Parses to the concrete syntax tree, refusing while it reads (the parser keeps an explicit
 * stack, so this is safe and bounded on any input; the composer that builds documents recurses
 * and its cost grows with the entries, so it only ever sees bounded data): nesting deeper than
 * `maxDepth`, a mapping or list with clearly more than `maxCollectionSize` entries (the exact
 * count is checked on the data later), more than `maxScalars` scalars. Feeds `lineCounter`.
 */
function parseTokens(
  text: string,
  lineCounter: LineCounter,
): { tokens: CST.Token[]; tags: number[]; stop?: TokenStop } {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  // The offset of every tag (`!!binary`), ascending: a node's range starts after its tag.
  const tags: number[] = [];
  let atScalar = false;
  // The stack holds the document and the value under construction besides the collections.
  const stackLimit = LOAD_LIMITS.maxDepth + 2;
  // Items are added to the collection on top of the stack, or the one below a scalar being
  // read; a little slack so that the exact limit is left to the check on the data.
  const entryLimit = LOAD_LIMITS.maxCollectionSize + 2;
  let scalars = 0;
  for (const lexeme of new Lexer().lex(text)) {
    if (lexeme === CST.SCALAR || lexeme[0] === '"' || lexeme[0] === "'") scalars++;
    // A lexeme after the scalar mark is a scalar's text, never a tag (`|` block content).
    if (!atScalar && lexeme[0] === '!') tags.push(parser.offset);
    atScalar = lexeme === CST.SCALAR;
    for (const token of parser.next(lexeme)) tokens.push(token);
    const { stack } = parser;
    if (stack.length > stackLimit) {
      const top = stack[stack.length - 1];
      return {
        tokens,
        tags,
        stop: { kind: 'too-deep', offset: top && 'offset' in top ? top.offset : 0 },
      };
    }
    for (let i = stack.length - 1; i >= 0 && i >= stack.length - 3; i--) {
      const token = stack[i];
      if (token && collectionEntries(token) > entryLimit) {
        return {
          tokens,
          tags,
          stop: {
            kind: 'too-large',
            offset: 'offset' in token ? token.offset : 0,
            path: stackPath(stack, i),
            list: isListToken(token),
          },
        };
      }
    }
    if (scalars > LOAD_LIMITS.maxScalars) {
      return { tokens, tags, stop: { kind: 'too-many-scalars', offset: parser.offset } };
    }
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens, tags };
}

/** The issue for a file refused while tokenising. */
function tokenStopIssue(file: string, text: string, stop: TokenStop): Issue {
  const position = startPosition(file, text, stop.offset);
  switch (stop.kind) {
    case 'too-deep':
      return error({
        code: 'yaml-too-deep',
        path: [],
        message: `YAML nesting is deeper than ${LOAD_LIMITS.maxDepth} levels`,
        expected: `at most ${LOAD_LIMITS.maxDepth} nested mappings and lists`,
        position,
      });
    case 'too-large':
      return error({
        code: 'too-large',
        path: stop.path,
        message: `has more entries than a platform definition has in one ${stop.list ? 'list' : 'mapping'} (refused while reading, at entry ${LOAD_LIMITS.maxCollectionSize + 3})`,
        expected: `at most ${LOAD_LIMITS.maxCollectionSize} entries`,
        position,
      });
    case 'too-many-scalars':
      return error({
        code: 'too-large',
        path: [],
        message: `the file holds more than ${LOAD_LIMITS.maxScalars} values, more than a platform definition has (refused while reading, here)`,
        expected: `at most ${LOAD_LIMITS.maxScalars} values in the whole file`,
        position,
      });
  }
}

interface IndexedNode {
  /** The value node at this path. */
  readonly value: unknown;
  /** The key node, for paths that end in a mapping key. */
  readonly key?: unknown;
}

/**
 * Tags the `yaml` library resolves (in its core schema too) to values that are no plain data and
 * that no setting takes: they would reach the schema disguised, `!!binary` as a Uint8Array (a
 * "mapping" whose entries are the decoded bytes, printed in messages), `!!set` and `!!omap` as a
 * Set and a Map (printed as `{}`), `!!timestamp` as a Date. Refused at the tag, the value unshown.
 */
const REFUSED_TAGS: {
  readonly [tag: string]: {
    readonly name: string;
    readonly what: string;
    readonly expected: string;
  };
} = {
  'tag:yaml.org,2002:binary': {
    name: '!!binary',
    what: 'binary data (base64-encoded bytes)',
    expected: 'the text itself, without the tag',
  },
  'tag:yaml.org,2002:set': {
    name: '!!set',
    what: 'a set',
    expected: 'a list or a mapping, without the tag',
  },
  'tag:yaml.org,2002:omap': {
    name: '!!omap',
    what: 'an ordered mapping',
    expected: 'a mapping, without the tag',
  },
  'tag:yaml.org,2002:timestamp': {
    name: '!!timestamp',
    what: 'a date and time',
    expected: 'the date as text, without the tag',
  },
};

function refusedTag(node: unknown): string | undefined {
  const tag = isNode(node) ? node.tag : undefined;
  return tag !== undefined && Object.hasOwn(REFUSED_TAGS, tag) ? tag : undefined;
}

/** A node (or a mapping's key) whose tag is one of `REFUSED_TAGS`. */
interface TaggedNode {
  readonly path: PathSegment[];
  readonly node: YamlNode;
  readonly tag: string;
  /** Whether the node is a key of the mapping at `path`. */
  readonly key: boolean;
}

/**
 * One walk over the document (iterative, linear): the duplicate keys of every mapping, the
 * numbers JavaScript cannot hold and the nodes tagged as no plain data. Aliases are not followed.
 */
function indexDocument(root: unknown): {
  readonly duplicates: { readonly path: PathSegment[]; readonly key: unknown }[];
  /** Numbers JavaScript cannot hold exactly: `.inf`, `.nan`, `1e400`, integers beyond 2^53. */
  readonly inexact: { readonly path: PathSegment[]; readonly node: Scalar }[];
  /** Nodes tagged `!!binary`, `!!set`, `!!omap` or `!!timestamp` (not walked into). */
  readonly tagged: TaggedNode[];
} {
  const duplicates: { path: PathSegment[]; key: unknown }[] = [];
  const inexact: { path: PathSegment[]; node: Scalar }[] = [];
  const tagged: TaggedNode[] = [];
  const pending: { node: unknown; path: PathSegment[] }[] = [{ node: root, path: [] }];
  while (pending.length > 0) {
    const next = pending.pop();
    if (!next) break;
    const { node, path } = next;
    const tag = refusedTag(node);
    if (tag !== undefined) {
      tagged.push({ path, node: node as YamlNode, tag, key: false });
      continue;
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const keyTag = refusedTag(pair.key);
        if (keyTag !== undefined) {
          // The key's text would be the decoded value: the issue names the mapping.
          tagged.push({ path, node: pair.key as YamlNode, tag: keyTag, key: true });
          continue;
        }
        if (!isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        const childPath = [...path, name];
        if (seen.has(name)) {
          duplicates.push({ path: childPath, key: pair.key });
          continue;
        }
        seen.add(name);
        pending.push({ node: pair.value, path: childPath });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        pending.push({ node: item, path: [...path, i] });
      });
    } else if (isScalar(node) && typeof node.value === 'number') {
      const value = node.value;
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))
        inexact.push({ path, node });
    }
  }
  return { duplicates, inexact, tagged };
}

/** The issue for a node tagged as no plain data, at its tag (`tags`: every tag's offset). */
function taggedNodeIssue(
  file: string,
  lineCounter: LineCounter,
  tags: readonly number[],
  { path, node, tag, key }: TaggedNode,
): Issue {
  const refused = REFUSED_TAGS[tag] as (typeof REFUSED_TAGS)[string];
  const start = rangeStart(node);
  // The last tag before the node is its own: nothing but an anchor, space or a comment between.
  let at = start;
  if (start !== undefined) {
    let low = 0;
    let high = tags.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((tags[middle] as number) < start) low = middle + 1;
      else high = middle;
    }
    if (low > 0) at = tags[low - 1];
  }
  return error({
    code: 'yaml-tag',
    path,
    message: `${key ? 'has a key tagged' : 'is tagged'} ${refused.name}: YAML reads it as ${refused.what}, which no setting of a platform definition takes`,
    expected: refused.expected,
    position: positionAt(file, lineCounter, at),
  });
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** Issue from the `yaml` library's own errors and warnings. */
function yamlIssue(
  file: string,
  lineCounter: LineCounter,
  severity: 'error' | 'warning',
  e: { code: string; message: string; pos: [number, number] },
): Issue {
  const make = severity === 'error' ? error : warning;
  const position = positionAt(file, lineCounter, e.pos[0]);
  const message = (e.message.split('\n')[0] ?? e.message).replace(
    / at line \d+, column \d+:?$/,
    '',
  );
  return make({
    code: e.code === 'RESOURCE_EXHAUSTION' ? 'yaml-too-deep' : 'yaml',
    path: [],
    message: `YAML ${severity === 'error' ? 'syntax error' : 'warning'}: ${message}`,
    expected: 'valid YAML',
    position,
  });
}

type YamlError = { code: string; message: string; pos: [number, number] };

/** Indentation and key/value shape mistakes: the parser notices them at a later token. */
const INDENTATION_CODES = new Set([
  'BAD_INDENT',
  'MULTILINE_IMPLICIT_KEY',
  'BLOCK_AS_IMPLICIT_KEY',
  'UNEXPECTED_TOKEN',
]);

const INDENTATION_HINT =
  'consistent indentation: the keys of one mapping start in the same column, a nested key further in than its parent, a list item with "- "; a key followed by ": " (a colon and a space) before its value';

/** What to do about a YAML syntax error, in words. */
function syntaxHint(e: YamlError): string {
  if (e.code === 'TAB_AS_INDENT')
    return 'spaces for indentation (YAML does not allow tabs there; let your editor insert spaces)';
  if (/quote/i.test(e.message)) return 'a closing quote for the string that starts here';
  if (
    /must be sufficiently indented and end with a [\]}]/.test(e.message) ||
    e.code === 'MISSING_CHAR'
  )
    return 'a closing bracket for the flow collection opened here, or no bracket at all';
  if (INDENTATION_CODES.has(e.code)) return INDENTATION_HINT;
  return 'valid YAML';
}

/**
 * The offset of the last "[" or "{" before `end` that no bracket closes (quotes and comments
 * skipped): where an unterminated flow collection really starts.
 */
function unclosedBracket(text: string, end: number): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\n') quote = undefined;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const next = text.indexOf('\n', i);
      if (next === -1 || next >= end) break;
      i = next;
    } else if ((c === '"' || c === "'") && open.length > 0) quote = c;
    else if (c === '[' || c === '{') open.push(i);
    else if ((c === ']' || c === '}') && open.length > 0) open.pop();
  }
  return open[open.length - 1];
}

/**
 * The offset of a quoted scalar's opening quote that nothing closes before `end` (a quote only
 * opens a scalar where a value starts: after ": ", "- ", "[", "{", "," or indentation).
 */
function unclosedQuote(text: string, end: number): number | undefined {
  let quote: { char: string; at: number } | undefined;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (quote.char === '"' && c === '\\') i++;
      else if (c === quote.char) {
        if (quote.char === "'" && text[i + 1] === "'") i++;
        else quote = undefined;
      }
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const next = text.indexOf('\n', i);
      if (next === -1) break;
      i = next;
    } else if (
      (c === '"' || c === "'") &&
      /(^|\n)[ \t]*(- +)*$|(: |- |[[{,])[ \t]*$/.test(text.slice(Math.max(0, i - 200), i))
    )
      quote = { char: c, at: i };
  }
  return quote?.at;
}

/** The next line after `index` that holds more than blanks or a comment. */
function nextContentLine(lines: readonly string[], index: number): number | undefined {
  for (let i = index + 1; i < lines.length; i++) {
    if (!/^\s*(#.*)?$/.test(lines[i] ?? '')) return i;
  }
  return undefined;
}

/** The column a line's mapping key starts in ("- " of a list item counted as indentation). */
function keyColumn(line: string): number {
  return /^[ \t]*(- +)*/.exec(line)?.[0].length ?? 0;
}

/**
 * One issue for a file's YAML syntax errors: the first one, at the place to fix, with a hint.
 * A single indentation or tab mistake makes the parser report every later line it can no longer
 * read (7 to 12 errors for one wrong space); those follow-ups are counted, not listed.
 */
function firstSyntaxError(
  file: string,
  text: string,
  lineCounter: LineCounter,
  errors: readonly YamlError[],
): Issue[] {
  const sorted = [...errors].sort((a, b) => a.pos[0] - b.pos[0]);
  const first = sorted[0];
  if (first === undefined) return [];
  if (first.code === 'RESOURCE_EXHAUSTION') return [yamlIssue(file, lineCounter, 'error', first)];
  let offset = first.pos[0];
  if (/end with a [\]}]/.test(first.message)) offset = unclosedBracket(text, offset) ?? offset;
  else if (first.code === 'MISSING_CHAR' && /quote/i.test(first.message))
    offset = unclosedQuote(text, text.length) ?? offset;
  else if (INDENTATION_CODES.has(first.code) || /indicator|same column/.test(first.message)) {
    // A value that runs on into the next line: that line and this one disagree in indentation.
    // The odd one out is the line whose key column its following line does not share.
    const multiline = sorted.find(
      (e) => e.pos[0] === first.pos[0] && e.code === 'MULTILINE_IMPLICIT_KEY',
    );
    const lines = text.split('\n');
    const line = lineCounter.linePos(offset).line - 1;
    let target = line;
    if (multiline && lineCounter.linePos(multiline.pos[1]).line - 1 > line) {
      const next = nextContentLine(lines, line);
      const after = next === undefined ? undefined : nextContentLine(lines, next);
      const column = (index: number | undefined) =>
        index === undefined ? undefined : keyColumn(lines[index] ?? '');
      if (next !== undefined && column(next) !== column(line) && column(after) !== column(next))
        target = next;
    }
    // The mistake is the line's indentation: point at its first character.
    const lineStart = lineCounter.lineStarts[target] ?? 0;
    offset = lineStart + (/^[ \t]*/.exec(lines[target] ?? '')?.[0].length ?? 0);
  }
  const message = (first.message.split('\n')[0] ?? first.message).replace(
    / at line \d+, column \d+:?$/,
    '',
  );
  const rest = sorted.length - 1;
  return [
    error({
      code: 'yaml',
      path: [],
      message: `YAML syntax error: ${message}${rest > 0 ? ` (${rest} more YAML error${rest === 1 ? '' : 's'} after it, most likely caused by this one: fix it and run again)` : ''}`,
      expected: syntaxHint(first),
      position: positionAt(file, lineCounter, offset),
    }),
  ];
}

/**
 * Where a character of a literal block scalar's value (`key: |`) is in the file: the value's
 * line N is the file's N-th line after the header's (leading empty lines are kept, each on its
 * own line), shifted right by the block's indentation. Undefined for any other value, or where
 * the file's line does not end with the value's (nothing is guessed).
 */
function literalLinePosition(
  file: string,
  text: string,
  lineCounter: LineCounter,
  node: unknown,
  within: ValuePosition,
): SourcePosition | undefined {
  if (!isScalar(node) || node.type !== 'BLOCK_LITERAL' || typeof node.value !== 'string') {
    return undefined;
  }
  const range = node.range;
  if (range === null || range === undefined) return undefined;
  const start = range[0];
  const lines = node.value.split('\n');
  const fileLine = (n: number): string | undefined => {
    const from = lineCounter.lineStarts[n - 1];
    if (from === undefined) return undefined;
    const to = lineCounter.lineStarts[n];
    return text.slice(from, to === undefined ? text.length : to - 1);
  };
  const header = lineCounter.linePos(start).line;
  // The block's indentation, from its first line that holds text.
  let indent: number | undefined;
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const written = fileLine(header + index + 1);
    if (written === undefined || !written.endsWith(line)) return undefined;
    indent = written.length - line.length;
    break;
  }
  const line = lines[within.line - 1];
  const written = fileLine(header + within.line);
  if (indent === undefined || line === undefined || written === undefined) return undefined;
  if (line !== '' && written !== ' '.repeat(indent) + line) return undefined;
  // The line begins inside the scalar (not on a line after it that the value's end reaches).
  const lineStart = lineCounter.lineStarts[header + within.line - 1];
  if (lineStart === undefined || lineStart >= range[1]) return undefined;
  return { file, line: header + within.line, column: indent + within.column };
}

/**
 * A locator over the document: the deepest node on the path that exists. A path goes down a
 * mapping by the first scalar key of that name (a string segment) and a list by index (a number);
 * not through aliases (their targets are found where the anchor is). Only issues need positions,
 * so nothing is indexed up front: each mapping's keys are, when a path first goes through it.
 */
function locatorFor(file: string, text: string, lineCounter: LineCounter, root: unknown): Locator {
  const keysOf = new Map<unknown, Map<string, IndexedNode>>();
  const child = (node: unknown, segment: PathSegment): IndexedNode | undefined => {
    if (typeof segment === 'string' && isMap(node)) {
      let keys = keysOf.get(node);
      if (keys === undefined) {
        keys = new Map();
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue;
          const name = String(pair.key.value);
          if (!keys.has(name)) keys.set(name, { value: pair.value, key: pair.key });
        }
        keysOf.set(node, keys);
      }
      return keys.get(segment);
    }
    if (typeof segment === 'number' && isSeq(node)) {
      // `-0` is index 0, as a path written out (`[0]`) reads.
      if (Number.isInteger(segment) && segment >= 0 && segment < node.items.length)
        return { value: node.items[segment] };
    }
    return undefined;
  };
  return (path: readonly PathSegment[], key = false, within?: ValuePosition) => {
    const entries: IndexedNode[] = [{ value: root }];
    for (const segment of path) {
      const next = child(entries[entries.length - 1]?.value, segment);
      if (next === undefined) break;
      entries.push(next);
    }
    if (within !== undefined && !key && entries.length === path.length + 1) {
      const inside = literalLinePosition(file, text, lineCounter, entries.at(-1)?.value, within);
      if (inside !== undefined) return inside;
    }
    for (let length = entries.length - 1; length >= 0; length--) {
      const entry = entries[length];
      if (!entry) continue;
      const offset =
        (key && length === path.length ? rangeStart(entry.key) : undefined) ??
        rangeStart(entry.value) ??
        rangeStart(entry.key);
      if (offset !== undefined) return positionAt(file, lineCounter, offset);
    }
    return undefined;
  };
}

/**
 * Aliases that name no anchor defined before them, in document order (the `yaml` library resolves
 * an alias to the last anchor of its name before it, and throws `Unresolved alias` at conversion
 * otherwise), with their paths; `later`: where an anchor of that name comes after the alias.
 */
function unresolvedAliases(
  root: YamlNode,
): { readonly path: PathSegment[]; readonly node: YamlNode; readonly later?: YamlNode }[] {
  const anchored = new Map<string, YamlNode[]>();
  const ordered: { path: PathSegment[]; node: YamlNode }[] = [];
  const pending: { node: unknown; path: PathSegment[] }[] = [{ node: root, path: [] }];
  while (pending.length > 0) {
    const next = pending.pop();
    if (!next || !isNode(next.node)) continue;
    const { node, path } = next;
    ordered.push({ path, node });
    if (!isCollection(node)) continue;
    const children: { node: unknown; path: PathSegment[] }[] = [];
    node.items.forEach((item, i) => {
      if (isPair(item)) {
        const name = isScalar(item.key) ? String(item.key.value) : undefined;
        children.push({ node: item.key, path });
        children.push({ node: item.value, path: name === undefined ? path : [...path, name] });
      } else children.push({ node: item, path: [...path, i] });
    });
    for (let i = children.length - 1; i >= 0; i--)
      pending.push(children[i] as (typeof children)[0]);
  }
  for (const { node } of ordered) {
    if (!isAlias(node) && typeof node.anchor === 'string') {
      anchored.set(node.anchor, [...(anchored.get(node.anchor) ?? []), node]);
    }
  }
  const seen = new Set<YamlNode>();
  const out: { path: PathSegment[]; node: YamlNode; later?: YamlNode }[] = [];
  for (const { node, path } of ordered) {
    if (isAlias(node)) {
      const defined = (anchored.get(node.source) ?? []).some((anchor) => seen.has(anchor));
      if (!defined) {
        const later = anchored.get(node.source)?.[0];
        out.push({ path, node, ...(later === undefined ? {} : { later }) });
      }
    }
    seen.add(node);
  }
  return out;
}

function firstAlias(root: YamlNode | null | undefined): YamlNode | undefined {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isAlias(node)) return node;
    if (isCollection(node)) {
      for (const item of node.items) {
        if (isPair(item)) pending.push(item.value, item.key);
        else pending.push(item);
      }
    }
  }
  return undefined;
}

/**
 * Refuses data no definition has: a structure that contains itself (a recursive YAML alias) or a
 * mapping or list with more than `maxCollectionSize` entries. Iterative; visits each object once.
 */
function shapeIssue(data: unknown, locate: Locator | undefined): Issue | undefined {
  const onPath = new Set<object>();
  const done = new Set<object>();
  const stack: { value: object; path: PathSegment[]; exit: boolean }[] = [];
  if (typeof data === 'object' && data !== null) stack.push({ value: data, path: [], exit: false });
  while (stack.length > 0) {
    const frame = stack.pop();
    if (!frame) break;
    const { value, path } = frame;
    if (frame.exit) {
      onPath.delete(value);
      done.add(value);
      continue;
    }
    if (done.has(value)) continue;
    // Positions only for an issue: looking one up for every object would cost more than the walk.
    const at = (): { position?: SourcePosition } => {
      const position = locate?.(path);
      return position ? { position } : {};
    };
    const entries: [PathSegment, unknown][] = Array.isArray(value)
      ? value.map((item, i): [PathSegment, unknown] => [i, item])
      : Object.entries(value);
    if (entries.length > LOAD_LIMITS.maxCollectionSize) {
      return error({
        code: 'too-large',
        path,
        value: entries.length,
        message: `entries in one ${Array.isArray(value) ? 'list' : 'mapping'} is more than a platform definition has`,
        expected: `at most ${LOAD_LIMITS.maxCollectionSize} entries`,
        ...at(),
      });
    }
    onPath.add(value);
    stack.push({ value, path, exit: true });
    for (const [key, child] of entries) {
      if (typeof child !== 'object' || child === null) continue;
      if (onPath.has(child)) {
        const aliasPosition = locate?.([...path, key]);
        return error({
          code: 'cycle',
          path: [...path, key],
          message: 'contains itself (a YAML alias refers to an anchor that encloses it)',
          expected: 'plain, finite data',
          ...(aliasPosition ? { position: aliasPosition } : at()),
        });
      }
      stack.push({ value: child, path: [...path, key], exit: false });
    }
  }
  return undefined;
}

/**
 * Validates plain data (already parsed) as a platform definition: JSON Schema, then semantic
 * checks on the well-formed parts. `locate` gives positions; without it, issues have none.
 */
export function validateDefinition(
  data: unknown,
  validator: DefinitionValidator,
  locate: Locator = () => undefined,
): LoadResult {
  const shape = shapeIssue(data, locate);
  if (shape) return { definition: undefined, issues: [shape], locate };
  const fromSchema = validator(data, locate);
  const semantic =
    typeof data === 'object' && data !== null && !Array.isArray(data)
      ? semanticIssues(
          data as PlatformDefinition,
          locate,
          fromSchema.map((issue) => formatPath(issue.path)),
        )
      : [];
  const issues = sortIssues([...fromSchema, ...semantic]);
  return {
    definition: hasErrors(issues) ? undefined : (data as PlatformDefinition),
    issues,
    locate,
  };
}

/**
 * Parses and validates a platform definition. `file` names the source in positions. Every
 * problem comes back as an issue with file:line:column; nothing is thrown for bad input.
 */
export function loadDefinition(
  source: string,
  file: string,
  validator: DefinitionValidator,
): LoadResult {
  const fail = (issue: Issue): LoadResult => ({ definition: undefined, issues: [issue] });
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4): a text
  // of at most a third of the limit in units is within it, without counting its bytes.
  const bytes = source.length * 3 > LOAD_LIMITS.maxBytes ? utf8Length(source) : 0;
  if (bytes > LOAD_LIMITS.maxBytes) {
    return fail(
      error({
        code: 'yaml-too-large',
        path: [],
        value: bytes,
        message: `bytes is larger than a platform definition may be`,
        expected: `at most ${LOAD_LIMITS.maxBytes} bytes (2 MiB)`,
        position: { file, line: 1, column: 1 },
      }),
    );
  }
  // YAML allows CR, LF and CRLF line ends; the parser only knows the last two. Positions are
  // counted on the normalised text, so a CR-only file reports the lines an editor shows.
  const text = normaliseLineEnds(source);
  const lineCounter = new LineCounter();
  const { tokens, tags, stop } = parseTokens(text, lineCounter);
  if (stop !== undefined) return fail(tokenStopIssue(file, text, stop));
  // Duplicate keys are found by the index below: yaml's own check is quadratic in the keys.
  const documents = [...new Composer({ uniqueKeys: false }).compose(tokens, true, text.length)];
  const [doc, second] = documents;
  if (!doc) {
    return fail(emptyFileIssue(file));
  }
  const syntax = [
    ...firstSyntaxError(file, text, lineCounter, doc.errors),
    ...doc.warnings.map((e) => yamlIssue(file, lineCounter, 'warning', e)),
  ];
  if (second) {
    syntax.push(
      error({
        code: 'yaml-multiple-documents',
        path: [],
        message: 'the file holds more than one YAML document',
        expected: 'a single document (remove the "---" line and what follows, or merge it)',
        position: positionAt(file, lineCounter, second.range[0]),
      }),
    );
  }
  if (hasErrors(syntax)) return { definition: undefined, issues: sortIssues(syntax) };

  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) {
    return fail(emptyFileIssue(file));
  }
  if (!isMap(root)) {
    return fail(
      error({
        code: 'yaml-root',
        path: [],
        value: isScalar(root) ? root.value : undefined,
        message: `the document is ${isSeq(root) ? 'a list' : 'a scalar'}`,
        expected: 'a mapping with platform, repository and clusters',
        position: positionAt(file, lineCounter, root.range?.[0]),
      }),
    );
  }

  const index = indexDocument(root);
  if (index.duplicates.length > 0) {
    // One error per mapping: a list item that lost its "- " repeats every key of the item above.
    const byMapping = new Map<string, (typeof index.duplicates)[number][]>();
    for (const duplicate of index.duplicates) {
      const parent = JSON.stringify(duplicate.path.slice(0, -1));
      byMapping.set(parent, [...(byMapping.get(parent) ?? []), duplicate]);
    }
    const duplicates = [...byMapping.values()].map((group) => {
      const [{ path, key }] = group as [(typeof index.duplicates)[number]];
      const position = positionAt(file, lineCounter, rangeStart(key));
      if (group.length === 1) {
        return error({
          code: 'yaml-duplicate-key',
          path,
          value: path[path.length - 1],
          message: 'is a duplicate key: YAML would silently keep only one of the values',
          expected: 'each key once per mapping',
          position,
        });
      }
      const keys = group.map((entry) => `"${String(entry.path[entry.path.length - 1])}"`);
      const inList = typeof path[path.length - 2] === 'number';
      return error({
        code: 'yaml-duplicate-key',
        path,
        value: path[path.length - 1],
        message: `and ${group.length - 1} more ${group.length === 2 ? 'key' : 'keys'} after it (${keys.slice(1).join(', ')}) are keys this mapping already has: YAML would silently keep only one value of each`,
        expected: inList
          ? `each key once per mapping; if these keys are the next item of the list, start it with "- " (line ${position?.line ?? '?'}: "- ${String(path[path.length - 1])}: …")`
          : 'each key once per mapping',
        position,
      });
    });
    return { definition: undefined, issues: capped(sortIssues([...syntax, ...duplicates])) };
  }
  if (index.inexact.length > 0 || index.tagged.length > 0) {
    // Values YAML reads as something no setting takes: refused with their place, before the
    // conversion (a tagged value is never shown: `!!binary` may well hide a secret).
    const values = [
      ...index.inexact.map(({ path, node }) => inexactNumberIssue(file, lineCounter, path, node)),
      ...index.tagged.map((tagged) => taggedNodeIssue(file, lineCounter, tags, tagged)),
    ];
    return { definition: undefined, issues: capped(sortIssues([...syntax, ...values])) };
  }

  const unresolved = unresolvedAliases(root);
  if (unresolved.length > 0) {
    const aliases = unresolved.map(({ path, node, later }) => {
      const source = isAlias(node) ? node.source : '';
      const laterLine =
        later === undefined ? undefined : positionAt(file, lineCounter, rangeStart(later))?.line;
      return error({
        code: 'yaml-alias-unresolved',
        path,
        value: `*${source}`,
        message: `names no anchor: no anchor &${source} is defined before this alias${laterLine === undefined ? '' : ` (the one on line ${laterLine} comes after it, and YAML takes only anchors defined earlier)`}`,
        expected: `an anchor &${source} on a value above this alias, or the value written out (check the alias for a typo)`,
        position: positionAt(file, lineCounter, rangeStart(node)),
      });
    });
    return { definition: undefined, issues: capped(sortIssues([...syntax, ...aliases])) };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: LOAD_LIMITS.maxAliasCount });
  } catch (cause) {
    const alias = firstAlias(root);
    // The `yaml` library's words for the alias limit ("Excessive alias count indicates a resource
    // exhaustion attack"); an unresolved alias is reported above, before the conversion.
    const aliasBomb =
      cause instanceof ReferenceError && /excessive alias count/i.test(cause.message);
    return {
      definition: undefined,
      issues: sortIssues([
        ...syntax,
        error({
          code: aliasBomb ? 'yaml-alias-limit' : 'yaml',
          path: [],
          message: aliasBomb
            ? `YAML aliases expand more than ${LOAD_LIMITS.maxAliasCount} times (a resource exhaustion attack or a runaway anchor)`
            : `the YAML could not be converted: ${cause instanceof Error ? cause.message : String(cause)}`,
          expected: aliasBomb
            ? `at most ${LOAD_LIMITS.maxAliasCount} alias expansions`
            : 'plain YAML data',
          position: positionAt(file, lineCounter, alias?.range?.[0] ?? root.range?.[0]),
        }),
      ]),
    };
  }

  const locate = locatorFor(file, text, lineCounter, root);
  const result = validateDefinition(data, validator, locate);
  const issues = sortIssues([...syntax, ...result.issues]);
  return {
    definition: hasErrors(issues) ? undefined : result.definition,
    issues: capped(issues),
    locate,
  };
}

/**
 * A number JavaScript (and JSON) cannot hold as written: YAML 1.2's `.inf`/`.nan` (and `1e400`,
 * which overflows) would reach the schema as `Infinity`/`NaN` and print as `null`; an integer
 * beyond 2^53 - 1 would silently become another integer.
 */
function inexactNumberIssue(
  file: string,
  lineCounter: LineCounter,
  path: PathSegment[],
  node: Scalar,
): Issue {
  const source = (node as Scalar & { source?: string }).source ?? String(node.value);
  const value = node.value as number;
  const finite = Number.isFinite(value);
  return error({
    code: finite ? 'number-unsafe' : 'number-not-finite',
    path,
    value: source,
    message: finite
      ? `is an integer beyond 2^53 - 1: it would be read as ${value}, not as written`
      : `is read by YAML as ${Number.isNaN(value) ? 'not-a-number' : 'an infinite number'}, which no setting accepts`,
    expected: finite
      ? `an integer from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER} (quote it if it is text)`
      : 'a finite number (quote the value if it is text)',
    position: positionAt(file, lineCounter, rangeStart(node)),
  });
}

/** An empty file, or one holding only comments or `null`. */
function emptyFileIssue(file: string): Issue {
  return error({
    code: 'yaml-empty',
    path: [],
    message: 'the file holds no platform definition',
    expected: 'a mapping with platform, repository and clusters',
    position: { file, line: 1, column: 1 },
  });
}
