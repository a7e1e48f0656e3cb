/** Where a value sits in a source file (1-based line and column). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A line and column inside a multi-line string value (1-based; its first character is 1:1). */
export interface ValuePosition {
  readonly line: number;
  readonly column: number;
}

export type IssueSeverity = 'error' | 'warning';

/** One segment of a path into the definition: a mapping key or a list index. */
export type PathSegment = string | number;

/**
 * One problem found in a definition or in generated output. Validation collects these and
 * returns them all at once; only the CLI turns them into exit codes.
 */
export interface Issue {
  readonly severity: IssueSeverity;
  /**
   * Path into the definition, as segments (`['clusters', 1, 'network', 'podCidr']`), formatted
   * only when printed. For a problem found in generated output: the place of the definition
   * that produced it (the component's settings, the cluster).
   */
  readonly path: readonly PathSegment[];
  /** What is wrong, in a sentence a user can act on. */
  readonly message: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
  /** What was expected instead. */
  readonly expected?: string;
  /** Where the definition file has `path` (filled by the loader and the pipeline). */
  readonly position?: SourcePosition;
  /**
   * Where inside the string value at `path` the problem is (a bad line of a PEM bundle): the
   * position then points at that character when the file writes the value as a literal block
   * scalar (`key: |`), else at the value.
   */
  readonly within?: ValuePosition;
  /**
   * For a problem in generated output: where, e.g.
   * `charts/cilium/clusters/dev.yaml#manifests.lb-pool-default.spec.blocks[0].cidr`.
   */
  readonly output?: string;
  /** A stable machine-readable code, e.g. `schema`, `cidr-overlap`. */
  readonly code: string;
}

export interface IssueInput {
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly code: string;
  readonly value?: unknown;
  readonly expected?: string;
  readonly position?: SourcePosition;
  readonly within?: ValuePosition;
  readonly output?: string;
}

export function error(input: IssueInput): Issue {
  return { severity: 'error', ...input };
}

export function warning(input: IssueInput): Issue {
  return { severity: 'warning', ...input };
}

export function hasErrors(issues: readonly Issue[]): boolean {
  return issues.some((issue) => issue.severity === 'error');
}

/** Formats a path from segments: `['clusters', 1, 'network']` → `clusters[1].network`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One line per issue:
 * `platform.yaml:14:9  clusters[0].network.podCidr: "10.244.0.0/33" is not a CIDR (expected a.b.c.d/n)`;
 * a problem in generated output names the output after the definition path:
 * `platform.yaml:30:7  clusters[0].components.cilium → charts/cilium/clusters/dev.yaml#manifests.x: …`.
 */
export function formatIssue(issue: Issue): string {
  const where = issue.position
    ? `${issue.position.file}:${issue.position.line}:${issue.position.column}  `
    : '';
  const subject =
    issue.output === undefined
      ? formatPath(issue.path)
      : issue.path.length === 0
        ? issue.output
        : `${formatPath(issue.path)} → ${issue.output}`;
  // A message that quotes the value already reads without it in front:
  // `components.backups: backups needs "storage", …`, not `"storage" backups needs "storage"`.
  const shown =
    'value' in issue && issue.value !== undefined ? describeValue(issue.value) : undefined;
  const value = shown === undefined || issue.message.includes(shown) ? '' : `${shown} `;
  const expected = issue.expected ? ` (expected ${issue.expected})` : '';
  return visible(`${where}${subject}: ${value}${issue.message}${expected}`);
}

/**
 * `text` with the invisible characters that reorder or hide text on a terminal (bidirectional
 * controls, zero-width characters, separators, the byte order mark) written as `\uXXXX`: a
 * message quoting a hostile value shows what is there, not what it makes the line look like.
 */
export function visible(text: string): string {
  return text.replace(
    /[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** Sorts issues by file position, then path, so output is stable; removes exact duplicates. */
export function sortIssues(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  const unique: { issue: Issue; key: string }[] = [];
  for (const issue of issues) {
    const key = `${issue.severity}\u0000${formatIssue(issue)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push({ issue, key });
  }
  return unique
    .sort((a, b) => {
      const la = a.issue.position?.line ?? Number.MAX_SAFE_INTEGER;
      const lb = b.issue.position?.line ?? Number.MAX_SAFE_INTEGER;
      if (la !== lb) return la - lb;
      const ca = a.issue.position?.column ?? 0;
      const cb = b.issue.position?.column ?? 0;
      if (ca !== cb) return ca - cb;
      return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    })
    .map((entry) => entry.issue);
}

/** `a`, `a and b`, `a, b and c` (`or` for `conjunction: 'or'`); nothing for no items. */
export function wordList(items: readonly string[], conjunction: 'and' | 'or' = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`;
}

/** `cluster "dev"`, `clusters "dev" and "prod"`, `clusters "dev", "prod" and "staging"`. */
export function clusterList(names: readonly string[]): string {
  const quoted = wordList(names.map((name) => `"${name}"`));
  return names.length <= 1 ? `cluster ${quoted}` : `clusters ${quoted}`;
}

const CLUSTER_MENTION = /\bcluster "((?:[^"\\]|\\.)*)"/g;
const PLACEHOLDER = 'cluster "\u0000"';

/**
 * Merges the issues that differ only in the one cluster they name (`… on cluster "dev" …`,
 * the same code, place, path, output and value), so that one cause across a fleet reads once:
 * `… on clusters "dev", "prod" and "staging" …`. Keeps the order of the first of each group.
 */
export function mergeClusterIssues(issues: readonly Issue[]): Issue[] {
  const groups = new Map<string, { issue: Issue; clusters: string[] }>();
  const out: (Issue | { group: string })[] = [];
  for (const issue of issues) {
    const names = new Set<string>();
    const normalise = (text: string): string =>
      text.replace(CLUSTER_MENTION, (_match, name: string) => {
        names.add(name);
        return PLACEHOLDER;
      });
    const message = normalise(issue.message);
    const expected = issue.expected === undefined ? undefined : normalise(issue.expected);
    const [cluster] = names;
    // A message that names its cluster in other words too (`clusters/dev.yaml`) stays as it is.
    const elsewhere =
      cluster !== undefined && `${message}\u0000${expected ?? ''}`.includes(cluster);
    if (names.size !== 1 || cluster === undefined || elsewhere) {
      out.push(issue);
      continue;
    }
    const key = JSON.stringify([
      issue.severity,
      issue.code,
      issue.position ?? null,
      issue.path,
      issue.output ?? null,
      issue.value === undefined ? null : describeValue(issue.value),
      message,
      expected ?? null,
    ]);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { issue, clusters: [cluster] });
      out.push({ group: key });
    } else if (!group.clusters.includes(cluster)) {
      group.clusters.push(cluster);
    }
  }
  return out.map((entry) => {
    if (!('group' in entry)) return entry;
    const { issue, clusters } = groups.get(entry.group) as { issue: Issue; clusters: string[] };
    if (clusters.length === 1) return issue;
    const list = clusterList(clusters);
    const merge = (text: string): string => text.replace(CLUSTER_MENTION, list);
    return {
      ...issue,
      message: merge(issue.message),
      ...(issue.expected === undefined ? {} : { expected: merge(issue.expected) }),
    };
  });
}

/** Raised when a definition or the generated output has errors; carries every issue. */
export class ValidationError extends Error {
  readonly issues: readonly Issue[];
  /**
   * `options.subject` names where the errors are when that is not the definition (`the output
   * tree` for a chart's package.json): the summary never blames the definition for them.
   */
  constructor(issues: readonly Issue[], options?: { cause?: unknown; subject?: string }) {
    super(
      `${issues.filter((i) => i.severity === 'error').length} error(s) in ${options?.subject ?? 'the platform definition'}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** A fault of the tool or its environment (not of the user's definition). */
export class HomelabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HomelabError';
  }
}
