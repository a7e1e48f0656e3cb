// The secret scan: no literal secret value may appear in the definition or in generated output.
// Secrets are declared once and referenced; a value under a secret-looking key, a PEM private key
// or a well-known token format in any file is an error. Works on text, line by line, so that it
// covers every file type the build emits (YAML, JSON, Markdown) without parsing them again.
import type { GeneratedFile, Issue, SourcePosition } from '@homelab/core';
import { error } from '@homelab/core';

/** Keys whose literal value would be a secret (lower case, without `-`, `_`, `.`). */
const SENSITIVE_KEY =
  /(password|passwd|passphrase|secret|token|apikey|accesskey|accesskeyid|privatekey|credentials?)$/;
/** Keys that name, create or toggle a secret rather than hold one (`existingSecret`, `createSecret`). */
const NOT_A_VALUE_KEY = /^(existing|create|enable|enabled|use|generate|auto|skip|mount|with)/;
/** Keys that hold the name of a Kubernetes Secret (`backupTargetCredentialSecret: longhorn-s3`). */
const SECRET_NAME_KEY =
  /(credentialsecret|credentialssecret|tlssecret|certsecret|certificatesecret)$/;

/** Token formats that are secrets wherever they appear. */
const TOKEN_PATTERNS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'a PEM private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { name: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  {
    name: 'a GitHub token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/,
  },
  {
    name: 'a Bitwarden access token',
    pattern:
      /\b0\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9]{20,}:[A-Za-z0-9+/=]{16,}/,
  },
];

/** `key: value` in YAML (optionally a list item) or `"key": value` in JSON. */
const KEY_VALUE =
  /^(\s*)(?:-\s+)?(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_.\-/$]+))\s*:(?:\s+(.*?))?\s*$/;

export interface SecretScanTarget {
  /** File name for messages (a generated path, or the definition file). */
  readonly path: string;
  readonly content: string;
}

export interface SecretScanOptions {
  /**
   * Report issues with a `position` in the file (for the definition). Without it, issues about
   * generated files carry the file in their path, as DESIGN.md reserves positions for the source.
   */
  readonly positions?: boolean;
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_.]/g, '');
}

/** Whether `key` holds a secret when given a literal value. */
export function isSensitiveKey(key: string): boolean {
  const normalised = normaliseKey(key);
  return (
    SENSITIVE_KEY.test(normalised) &&
    !NOT_A_VALUE_KEY.test(normalised) &&
    !SECRET_NAME_KEY.test(normalised)
  );
}

function unquote(raw: string): string {
  let value = raw.replace(/,$/, '').trim();
  // A trailing YAML comment is not part of the value.
  if (!value.startsWith('"') && !value.startsWith("'")) value = value.replace(/\s+#.*$/, '');
  if (value.length >= 2 && (value.startsWith('"') || value.startsWith("'"))) {
    const quote = value[0];
    if (value.endsWith(quote ?? '')) value = value.slice(1, -1);
  }
  return value;
}

/**
 * Whether a scalar is a literal secret value: not empty, not a boolean, number or null, not a
 * reference (`$secret:key`, `$name`, `${VAR}`), not the start of a nested map or list.
 */
export function isLiteralSecretValue(raw: string): boolean {
  const value = unquote(raw);
  if (value === '' || value === '~' || value === 'null') return false;
  if (/^(true|false|yes|no|on|off)$/i.test(value)) return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return false;
  if (value === '{' || value === '[' || value === '{}' || value === '[]') return false;
  if (value.startsWith('&') || value.startsWith('*')) return false;
  if (value.startsWith('$')) return false;
  return true;
}

/** A UUID, or what is left of one (the schema reports a malformed id; it is no secret). */
const UUID = /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{1,12}){1,4}$/;

/**
 * Whether a value is the id of a secret-store entry rather than a secret: a UUID inside a
 * `secrets` map (a secret inventory maps each key of a declared Secret, e.g. `client-secret`, to
 * the id of the entry that holds its value). A malformed id is the schema's to report.
 */
export function isSecretStoreId(keyPath: string, raw: string): boolean {
  return /(^|\.)secrets\./.test(keyPath) && UUID.test(unquote(raw));
}

function isStructured(path: string): boolean {
  return /\.(ya?ml|json)$/i.test(path);
}

interface Frame {
  readonly indent: number;
  readonly key: string;
}

/**
 * Scans files for literal secret values. Returns one error per finding; the secret itself is
 * never repeated in the issue (its value is left out).
 */
export function scanSecrets(
  targets: readonly SecretScanTarget[],
  options: SecretScanOptions = {},
): Issue[] {
  const issues: Issue[] = [];
  for (const target of targets) {
    const lines = target.content.split('\n');
    const structured = isStructured(target.path);
    const stack: Frame[] = [];
    lines.forEach((line, index) => {
      const report = (keyPath: string, column: number, message: string): void => {
        const position: SourcePosition = { file: target.path, line: index + 1, column };
        issues.push(
          error({
            code: 'literal-secret',
            path: options.positions && keyPath !== '(text)' ? keyPath.split('.') : [],
            ...(options.positions ? {} : { output: `${target.path}:${index + 1} ${keyPath}` }),
            message,
            expected: 'a reference to a declared secret, never its value',
            ...(options.positions ? { position } : {}),
          }),
        );
      };
      for (const { name, pattern } of TOKEN_PATTERNS) {
        const match = pattern.exec(line);
        if (match) report('(text)', match.index + 1, `contains ${name}`);
      }
      if (!structured) return;
      const trimmed = line.trimStart();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const match = KEY_VALUE.exec(line);
      if (!match) return;
      const indentText = match[1] ?? '';
      // A list item's key sits after `- `: treat it as nested one level deeper.
      const dash = /^\s*-\s+/.exec(line);
      const indent = dash ? dash[0].length : indentText.length;
      const key = match[2] ?? match[3] ?? match[4] ?? '';
      const rawValue = match[5] ?? '';
      while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? -1) >= indent) stack.pop();
      const keyPath = [...stack.map((frame) => frame.key), key].join('.');
      if (
        isSensitiveKey(key) &&
        !isSecretStoreId(keyPath, rawValue) &&
        (/^[|>][-+]?\d*$/.test(rawValue) || isLiteralSecretValue(rawValue))
      ) {
        report(
          keyPath,
          indent + 1,
          'is a literal secret value; declare the secret and reference it instead',
        );
      }
      if (rawValue === '' || rawValue === '{' || rawValue === '[') stack.push({ indent, key });
    });
  }
  return issues;
}

/** Scans generated files (paths relative to the output root). */
export function scanGeneratedFiles(files: readonly GeneratedFile[]): Issue[] {
  return scanSecrets(files.map((file) => ({ path: file.path, content: file.content })));
}
