import { HomelabError } from '@homelab/core';

/**
 * `.helmignore` as Helm reads it (helm's `pkg/ignore`): one rule a line, `#` comments, blank
 * lines skipped, surrounding spaces trimmed, `!` negates, a trailing `/` matches directories
 * only, a rule with a `/` matches the whole path relative to the chart (a leading `/` changes
 * nothing more), a rule without one matches the base name; globs are Go's `filepath.Match`
 * (`*`, `?`, `[…]` with `^` negation and ranges, `\` escapes); `**` is refused. Rules apply in
 * order: the first plain rule that matches ignores the path; a `!rule` ignores every path it
 * does not match (helm's code, which differs from its docs). Helm adds `templates/.?*` after the file's rules.
 */
export interface HelmignoreRule {
  /** The line as written (trimmed). */
  readonly raw: string;
  readonly negate: boolean;
  readonly mustDir: boolean;
  /** `path`: matched against the whole relative path; `base`: against the last segment. */
  readonly scope: 'path' | 'base';
  readonly pattern: RegExp;
}

/** Translates a Go `filepath.Match` pattern into an anchored RegExp; `undefined` if malformed. */
export function globToRegExp(glob: string): RegExp | undefined {
  const chars = Array.from(glob);
  let out = '';
  let i = 0;
  const escapeChar = (ch: string) => ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  const escapeInClass = (ch: string) => ch.replace(/[\\\][^-]/g, '\\$&');
  // One (possibly escaped) character inside a class; undefined when malformed.
  const classChar = (): string | undefined => {
    let ch = chars[i];
    if (ch === undefined || ch === '-' || ch === ']') return undefined;
    if (ch === '\\') {
      i += 1;
      ch = chars[i];
      if (ch === undefined) return undefined;
    }
    i += 1;
    return ch;
  };
  while (i < chars.length) {
    const ch = chars[i] as string;
    if (ch === '*') {
      out += '[^/]*';
      i += 1;
    } else if (ch === '?') {
      out += '[^/]';
      i += 1;
    } else if (ch === '\\') {
      const next = chars[i + 1];
      if (next === undefined) return undefined;
      out += escapeChar(next);
      i += 2;
    } else if (ch === '[') {
      i += 1;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i += 1;
      }
      let body = '';
      let ranges = 0;
      for (;;) {
        if (chars[i] === ']' && ranges > 0) {
          i += 1;
          break;
        }
        const lo = classChar();
        if (lo === undefined) return undefined;
        let hi = lo;
        if (chars[i] === '-') {
          i += 1;
          const h = classChar();
          if (h === undefined) return undefined;
          hi = h;
        }
        if ((hi.codePointAt(0) ?? 0) < (lo.codePointAt(0) ?? 0)) return undefined;
        body += lo === hi ? escapeInClass(lo) : `${escapeInClass(lo)}-${escapeInClass(hi)}`;
        ranges += 1;
      }
      out += negated ? `[^${body}]` : `[${body}]`;
    } else {
      out += escapeChar(ch);
      i += 1;
    }
  }
  return new RegExp(`^${out}$`, 'u');
}

function parseRule(line: string, lineNumber: number): HelmignoreRule | undefined {
  const raw = line.trim();
  if (raw === '' || raw.startsWith('#')) return undefined;
  if (raw.includes('**')) {
    throw new HomelabError(
      `.helmignore line ${lineNumber}: "${raw}": double-star (**) syntax is not supported by Helm`,
    );
  }
  if (globToRegExp(raw) === undefined) {
    throw new HomelabError(`.helmignore line ${lineNumber}: "${raw}" is not a valid glob pattern`);
  }
  let rule = raw;
  const negate = rule.startsWith('!');
  if (negate) rule = rule.slice(1);
  const mustDir = rule.endsWith('/');
  if (mustDir) rule = rule.slice(0, -1);
  const scope = rule.includes('/') ? 'path' : 'base';
  if (rule.startsWith('/')) rule = rule.slice(1);
  const pattern = globToRegExp(rule);
  if (pattern === undefined) {
    throw new HomelabError(`.helmignore line ${lineNumber}: "${raw}" is not a valid glob pattern`);
  }
  return { raw, negate, mustDir, scope, pattern };
}

/** Helm's default rule, added after the chart's own: dot files in `templates/`. */
const DEFAULT_RULES = ['templates/.?*'];

/**
 * The rules of a `.helmignore` file followed by Helm's defaults. Throws `HomelabError` on a
 * pattern Helm refuses (the file is generated, so that is a fault of the tool).
 */
export function parseHelmignore(text: string | undefined): HelmignoreRule[] {
  const rules: HelmignoreRule[] = [];
  const lines = [...(text ?? '').split(/\r?\n/), ...DEFAULT_RULES];
  lines.forEach((line, index) => {
    const rule = parseRule(line, index + 1);
    if (rule) rules.push(rule);
  });
  return rules;
}

/** Helm's `Rules.Ignore` for one path (relative to the chart, `/`-separated). */
export function isIgnored(rules: readonly HelmignoreRule[], path: string, isDir: boolean): boolean {
  if (path === '' || path === '.' || path === './') return false;
  // Go's filepath.Base: trailing slashes do not count.
  const trimmed = path.replace(/\/+$/, '');
  const base = trimmed === '' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1);
  for (const rule of rules) {
    const matches = rule.pattern.test(rule.scope === 'base' ? base : path);
    if (rule.negate) {
      // Helm: a negated rule ignores every path it does not match; a match goes on to the next rule.
      if (rule.mustDir && !isDir) return true;
      if (!matches) return true;
      continue;
    }
    if (rule.mustDir && !isDir) continue;
    if (matches) return true;
  }
  return false;
}

/**
 * Whether Helm's loader keeps a file: it walks the chart folder, skips a directory (and all
 * below it) that the rules ignore, then tests the file itself.
 */
export function isPackaged(rules: readonly HelmignoreRule[], path: string): boolean {
  const segments = path.split('/');
  for (let depth = 1; depth < segments.length; depth += 1) {
    if (isIgnored(rules, segments.slice(0, depth).join('/'), true)) return false;
  }
  return !isIgnored(rules, path, false);
}
