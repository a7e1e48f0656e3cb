// The text rule of the definition: every string is one line of visible text, unless its schema
// says it holds a document (`contentMediaType`, e.g. a PEM bundle or a PromQL expression), which
// may span lines. Values of the definition land in formats with line semantics (grafana.ini, a
// Corefile, Casbin's CSV, Alertmanager's and Authelia's YAML through upstream templates, shell
// lines of the runbook): a line break in a one-line value would start a new setting there. Control
// characters and the invisible bidirectional controls (which make text read differently from
// what it is: "Trojan Source", CVE-2021-42574) are refused everywhere.
import type { JsonSchema } from './contract.js';
import { error, formatPath, type Issue, type PathSegment } from './issues.js';
import type { Locator } from './schema-validate.js';

type SchemaNode = { readonly [key: string]: unknown };

/**
 * C0 and C1 control characters, DEL, the line and paragraph separators, the byte order mark and
 * the bidirectional marks, embeddings, overrides and isolates.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters the rule refuses
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;
/** The same, less the line feed and the tab a document may hold. */
const FORBIDDEN_IN_DOCUMENT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters the rule refuses
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What `char` is, in words a user recognises. */
function describe(char: string): string {
  if (char === '\n') return 'a line break';
  if (char === '\t') return 'a tab';
  if (char === '\u2028' || char === '\u2029')
    return `a Unicode line separator (${codePoint(char)})`;
  if (char === '\ufeff') return 'an invisible byte order mark (U+FEFF)';
  if (/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(char))
    return `the invisible bidirectional control ${codePoint(char)}, which makes text display differently from what it is`;
  return `the control character ${codePoint(char)}`;
}

/** Line and column (1-based) of offset `index` in `text`. */
function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < index; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: index - start + 1 };
}

/**
 * The text rule over a definition checked against `root` (the composed definition schema):
 * `(data, locate, skip)` returns an error per string (or mapping key) that breaks it, skipping
 * paths in `skip` (formatted paths the schema already reported, so a value is named once).
 */
export function textRule(
  root: JsonSchema,
): (data: unknown, locate: Locator, skip?: ReadonlySet<string>) => Issue[] {
  const expanded = new WeakMap<SchemaNode, readonly SchemaNode[]>();
  const patterns = new Map<string, RegExp>();
  const compiled = (pattern: string): RegExp => {
    let regex = patterns.get(pattern);
    if (regex === undefined) {
      regex = new RegExp(pattern, 'u');
      patterns.set(pattern, regex);
    }
    return regex;
  };

  const resolve = (ref: string): SchemaNode | undefined => {
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = root;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null) return undefined;
      node = (node as SchemaNode)[key];
    }
    return typeof node === 'object' && node !== null ? (node as SchemaNode) : undefined;
  };

  /** `node` and every schema that applies to the same value: its $ref, its combinators' branches. */
  const expand = (node: SchemaNode): readonly SchemaNode[] => {
    const known = expanded.get(node);
    if (known) return known;
    const out: SchemaNode[] = [];
    const seen = new Set<SchemaNode>();
    const visit = (current: SchemaNode): void => {
      if (seen.has(current)) return;
      seen.add(current);
      out.push(current);
      if (typeof current.$ref === 'string') {
        const target = resolve(current.$ref);
        if (target) visit(target);
      }
      for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
        const branches = current[keyword];
        if (Array.isArray(branches)) for (const branch of branches) visit(branch as SchemaNode);
      }
      for (const keyword of ['then', 'else']) {
        const branch = current[keyword];
        if (typeof branch === 'object' && branch !== null) visit(branch as SchemaNode);
      }
    };
    visit(node);
    expanded.set(node, out);
    return out;
  };

  /** The schemas of entry `key` of a value that `nodes` apply to. */
  const child = (nodes: readonly SchemaNode[], key: PathSegment): SchemaNode[] => {
    const out: SchemaNode[] = [];
    for (const node of nodes) {
      if (typeof key === 'number') {
        const prefix = node.prefixItems;
        const positional = Array.isArray(prefix)
          ? (prefix[key] as SchemaNode | undefined)
          : undefined;
        const items = positional ?? node.items;
        if (typeof items === 'object' && items !== null) out.push(...expand(items as SchemaNode));
        continue;
      }
      const properties = node.properties as { [key: string]: SchemaNode } | undefined;
      const named = properties && Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (named) {
        out.push(...expand(named));
        continue;
      }
      let matched = false;
      const byPattern = node.patternProperties as { [key: string]: SchemaNode } | undefined;
      for (const [pattern, schema] of Object.entries(byPattern ?? {})) {
        if (compiled(pattern).test(key)) {
          out.push(...expand(schema));
          matched = true;
        }
      }
      const additional = node.additionalProperties;
      if (!matched && typeof additional === 'object' && additional !== null)
        out.push(...expand(additional as SchemaNode));
    }
    return out;
  };

  return (data, locate, skip = new Set()) => {
    const issues: Issue[] = [];
    const report = (path: PathSegment[], text: string, index: number, key: boolean): void => {
      const char = String.fromCodePoint(text.codePointAt(index) ?? 0);
      const within = key ? undefined : lineColumn(text, index);
      const position = locate(path, key, within);
      issues.push(
        error({
          code: 'text',
          path,
          message: `${key ? 'is a key that contains' : 'contains'} ${describe(char)}${
            text.length > 1 ? ` (character ${index + 1})` : ''
          }`,
          expected: key
            ? 'a key of visible characters on one line'
            : 'one line of visible text, since a line break would start a new setting where the value lands; fold a long text with `>-`',
          ...(position ? { position } : {}),
        }),
      );
    };
    const walk = (value: unknown, nodes: readonly SchemaNode[], path: PathSegment[]): void => {
      if (typeof value === 'string') {
        if (skip.has(formatPath(path))) return;
        const document = nodes.some((node) => typeof node.contentMediaType === 'string');
        const found = (document ? FORBIDDEN_IN_DOCUMENT : FORBIDDEN).exec(value);
        if (found) report(path, value, found.index, false);
        return;
      }
      if (Array.isArray(value)) {
        value.forEach((item, index) => {
          walk(item, child(nodes, index), [...path, index]);
        });
        return;
      }
      if (typeof value !== 'object' || value === null) return;
      for (const [key, item] of Object.entries(value)) {
        const keyPath = [...path, key];
        const found = FORBIDDEN.exec(key);
        if (found && !skip.has(formatPath(keyPath))) report(keyPath, key, found.index, true);
        walk(item, child(nodes, key), keyPath);
      }
    };
    walk(data, expand(root as SchemaNode), []);
    return issues;
  };
}
