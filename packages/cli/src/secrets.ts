// The secret scan: no literal secret value may appear in the definition or in generated output.
// Secrets are declared once and referenced; a well-known credential format anywhere (a password
// or a token in a URL, GitLab/GitHub/Slack tokens, Slack and Discord webhook URLs,
// Healthchecks.io ping URLs, JWTs, AWS access keys, PEM and age private keys, Bitwarden access
// tokens) or a literal value under a secret-looking key is an error. Works on
// text, line by line, so that it covers every file type the build emits (YAML, JSON, Markdown)
// without parsing them again. A finding never carries the secret: its value is masked (at most a
// 4-character prefix that names the format, `glpa…`), and `maskIssues` masks the same values in
// every other issue (a schema error on the same line, `--json`'s `value`).
import type { GeneratedFile, Issue, PathSegment, SourcePosition } from '@homelab/core';
import { error, formatPath } from '@homelab/core';

/** Keys whose literal value would be a secret (lower case, without `-`, `_`, `.`). */
const SENSITIVE_KEY =
  /(password|passwd|passphrase|secret|token|apikey|accesskey|accesskeyid|privatekey|credentials?)$/;
/**
 * A key SENSITIVE_KEY may match, then `:`, somewhere in a text lowercased and stripped of
 * `-`, `_`, `.` as `normaliseKey` does a key: a file with none holds no sensitive key.
 */
const SENSITIVE_KEY_ANYWHERE =
  /(?:password|passwd|passphrase|secret|token|apikey|accesskey|accesskeyid|privatekey|credentials?)["']?\s*:/;
/**
 * Keys that name, create or toggle a secret rather than hold one (`existingSecret`,
 * `createSecret`), and Argo CD's resource customizations, named after a kind that may end in
 * `Secret` (`resource.customizations.health.k8s.bitwarden.com_BitwardenSecret`: a Lua script).
 */
const NOT_A_VALUE_KEY =
  /^(existing|create|enable|enabled|use|generate|auto|skip|mount|with|resourcecustomizations)/;
/** Keys that hold the name of a Kubernetes Secret (`backupTargetCredentialSecret: longhorn-s3`). */
const SECRET_NAME_KEY =
  /(credentialsecret|credentialssecret|tlssecret|certsecret|certificatesecret)$/;
/** Keys whose values are never printed in an issue, whatever they hold. */
const MASKED_KEY = /(password|passwd|passphrase|secret|token|key|credentials?)$/;

/** Where to keep a secret instead, for every finding. */
const FIX =
  'keep the value in Bitwarden Secrets Manager and reference the Kubernetes Secret it fills ' +
  '(e.g. clientSecret: {secretName: argocd-oidc, key: client-secret})';
const EXPECTED = 'a reference to a Secret filled from Bitwarden, never the value';
/** Where the definition maps Secrets' keys to the secret store's entries (`secrets.<id>.<key>`). */
const INVENTORY_FIX =
  'keep the value in Bitwarden Secrets Manager and map the key to the id of the Bitwarden ' +
  'secret that holds it';
const INVENTORY_EXPECTED =
  'the id of the Bitwarden secret holding the value: a UUID (8-4-4-4-12 hexadecimal digits), as the Secrets Manager web app shows it';
const REPOSITORY_FIX =
  'remove the credentials from the URL; for a private repository set repository.access: token ' +
  '(and repository.username): the runbook makes the one Secret Argo CD reads the token from, ' +
  'from your shell, and it never goes into Git';
const REPOSITORY_EXPECTED = 'the repository URL without credentials (repository.access: token)';

interface TokenFormat {
  /** What was found, for the message. */
  readonly name: string;
  /** One regular expression source, without capturing groups. */
  readonly source: string;
  /**
   * A regular expression source that every match of `source` contains, led by a literal so that
   * V8 finds it fast (it cannot skip ahead through `source`'s leading `\b` or class).
   */
  readonly hint: string;
  /** How to fix it, when it differs from the general advice. */
  readonly fix?: string;
}

/** Credential formats that are secrets wherever they appear. */
const TOKEN_FORMATS: readonly TokenFormat[] = [
  {
    name: 'a password in a URL',
    // scheme://user:password@host; a bare user@ (ssh://git@github.com) carries no secret.
    source: String.raw`\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'"]*:[^\s/?#@'"]+@`,
    hint: String.raw`://[^\s/?#@:'"]*:[^\s/?#@'"]+@`,
    fix:
      'remove the credentials from the URL; the component reads them from a Secret filled from ' +
      'Bitwarden (map its keys under bitwarden-sm.secrets)',
  },
  {
    name: 'a token in a URL',
    // scheme://<token>@host: an access token as the URL's user (Gitea, Forgejo, GitHub and
    // Bitbucket take one there); told from a user name (git, deploy, x-access-token) by its
    // length and digits: 20 characters or more, 6 digits or more (a 40-hex token has 25 on average).
    source: String.raw`\b[A-Za-z][A-Za-z0-9+.-]*://(?=(?:[A-Za-z_-]*[0-9]){6})[A-Za-z0-9_-]{20,}@`,
    hint: String.raw`://[A-Za-z0-9_-]{20,}@`,
    fix:
      'remove the token from the URL; the component reads it from a Secret filled from ' +
      'Bitwarden (map its keys under bitwarden-sm.secrets)',
  },
  {
    name: 'a PEM private key',
    source: '-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----',
    hint: 'PRIVATE KEY',
  },
  {
    name: 'an age secret key',
    source: String.raw`\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b`,
    hint: 'AGE-SECRET-KEY-1',
    fix:
      'an age key in the definition is the public one (agePublicKey: age1…, which `age-keygen -y ' +
      '<key file>` prints); the private key stays offline with the operator, never in a file of ' +
      'the repository, a Secret or Bitwarden alone',
  },
  {
    name: 'an AWS access key id',
    source: String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
    hint: 'A(?:KI|SI)A[0-9A-Z]{16}',
  },
  {
    name: 'a GitHub token',
    source: String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b`,
    hint: 'gh[pousr]_|github_pat_',
  },
  {
    name: 'a GitLab token',
    // glpat- (personal), gldt- (deploy), glrt- (runner), glptt- (pipeline trigger), …; newer
    // ones carry a `.<version>.<checksum>` tail.
    source: String.raw`\bgl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent|ffct|wt)-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,})?`,
    hint: 'gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent|ffct|wt)-',
  },
  {
    name: 'a Slack token',
    source: String.raw`\bxox[abprs]-[0-9A-Za-z-]{10,}`,
    hint: 'xox[abprs]-',
  },
  {
    name: 'a JSON Web Token',
    // header.payload.signature, each base64url; header and payload are JSON objects ("eyJ").
    source: String.raw`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*`,
    hint: String.raw`eyJ[A-Za-z0-9_-]{10,}\.eyJ`,
  },
  {
    name: 'a Slack webhook URL',
    // https://hooks.slack.com/services/T…/B…/<secret>: whoever has it posts to the channel.
    source: String.raw`\b(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}`,
    hint: String.raw`hooks\.slack\.com/`,
    fix: "put the URL into the receiver's credentials Secret (filled from Bitwarden), never the definition",
  },
  {
    name: 'a Discord webhook URL',
    source: String.raw`\b(?:https?://)?(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]{20,}`,
    hint: String.raw`discord(?:app)?\.com/api/webhooks/`,
    fix: "put the URL into the receiver's credentials Secret (filled from Bitwarden), never the definition",
  },
  {
    name: 'a Healthchecks.io ping URL',
    // hc-ping.com/<uuid> (or /<ping key>/<slug>): whoever has it pings, and a dead man's switch
    // pinged by someone else never fires.
    source: String.raw`\b(?:https?://)?hc-ping\.com/(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9_-]{16,}/[A-Za-z0-9_-]+)`,
    hint: String.raw`hc-ping\.com/`,
    fix: "put the URL into the heartbeat receiver's credentials Secret (filled from Bitwarden) and its host alone in webhook.host",
  },
  {
    name: 'a Bitwarden Secrets Manager access token',
    // 0.<access token id>.<client secret>:<base64 of the 16-byte encryption key>
    source: String.raw`\b0\.(?:[a-z-]+\.)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\.[A-Za-z0-9]{20,}:[A-Za-z0-9+/]{20,}={0,2}`,
    hint: String.raw`0\.(?:[a-z-]+\.)?[0-9a-fA-F]{8}-`,
    fix:
      'the operator reads its machine-account token from a Secret you create by hand at bootstrap ' +
      '(see the runbook); never write it in a file',
  },
];

const TOKEN_SOURCE = TOKEN_FORMATS.map((format) => `(${format.source})`).join('|');
/** For scanning lines (global: keeps its position between matches of one line). */
const TOKEN_PATTERN = new RegExp(TOKEN_SOURCE, 'g');
/** For testing one value (no state); also a whole file, before looking at it line by line. */
const ANY_TOKEN = new RegExp(TOKEN_SOURCE);
/**
 * Text that every token contains (each format's `hint`): where it does not occur, no token does.
 * Finding nothing in a file with it is about 4 times faster than with ANY_TOKEN, whose branches
 * irregexp has to try at every position.
 */
const TOKEN_HINT = new RegExp(TOKEN_FORMATS.map((format) => format.hint).join('|'));
const URL_CREDENTIALS = 0;
const URL_TOKEN = 1;
const PEM = 2;

/** `key: value` in YAML (after any list dashes) or `"key": value` in JSON. */
const KEY_VALUE = /^(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_.\-/$]+))\s*:(?:\s+(.*?))?\s*$/;

export interface SecretScanTarget {
  /** File name for messages (a generated path, or the definition file). */
  readonly path: string;
  readonly content: string;
}

export interface SecretScanOptions {
  /**
   * Report issues with a `position` in the file (for the definition). Without it, issues about
   * generated files carry the file, line and column in their path, as DESIGN.md reserves
   * positions for the source.
   */
  readonly positions?: boolean;
  /**
   * Looks for what tokens and sensitive keys contain before looking for them (default). Only
   * tests turn it off, to show that the scan finds the same without.
   */
  readonly prefilter?: boolean;
}

/** One finding: its issue (value masked) and the secret itself, for masking other issues. */
export interface SecretFinding {
  readonly issue: Issue;
  /** The secret text. Never printed; only used to mask it elsewhere. */
  readonly secret: string;
  /** The finding's key path in the file (`clusters[0].components.argocd.oidc.clientSecret`). */
  readonly keyPath: string;
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_.]/g, '');
}

const sensitiveKeys = new Map<string, boolean>();

/** Whether `key` holds a secret when given a literal value. */
export function isSensitiveKey(key: string): boolean {
  const known = sensitiveKeys.get(key);
  if (known !== undefined) return known;
  const normalised = normaliseKey(key);
  const sensitive =
    SENSITIVE_KEY.test(normalised) &&
    !NOT_A_VALUE_KEY.test(normalised) &&
    !SECRET_NAME_KEY.test(normalised);
  // Keys repeat across files and clusters; the cache is bounded so that hostile input cannot grow it.
  if (sensitiveKeys.size < 10_000) sensitiveKeys.set(key, sensitive);
  return sensitive;
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
/** A plain scalar or a quoted one, as a flow mapping's value: a name, never a `{`/`[` nesting. */
const FLOW_NAME = `(?:[A-Za-z0-9._/-]+|"[A-Za-z0-9._/-]+"|'[A-Za-z0-9._/-]+')`;
/** `{secretName: <name>, key: <name>}` in either order (a trailing comment allowed). */
const SECRET_REFERENCE_FLOW = new RegExp(
  `^\\{\\s*(?:secretName\\s*:\\s*${FLOW_NAME}\\s*,\\s*key\\s*:\\s*${FLOW_NAME}|key\\s*:\\s*${FLOW_NAME}\\s*,\\s*secretName\\s*:\\s*${FLOW_NAME})\\s*,?\\s*\\}\\s*(?:#.*)?$`,
);

export function isLiteralSecretValue(raw: string): boolean {
  const value = unquote(raw);
  if (value === '' || value === '~' || value === 'null') return false;
  if (/^(true|false|yes|no|on|off)$/i.test(value)) return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return false;
  if (value === '{' || value === '[' || value === '{}' || value === '[]') return false;
  // A reference written as a flow mapping, as the fix suggests: `{secretName: x, key: y}`.
  if (SECRET_REFERENCE_FLOW.test(value)) return false;
  if (value.startsWith('&') || value.startsWith('*')) return false;
  if (value.startsWith('$')) return false;
  return true;
}

/**
 * A secret as it may be shown: the first 4 characters of a token whose format names it
 * (`glpa…`, `eyJh…`), a URL with its credentials replaced (`https://****:****@github.com…`),
 * otherwise nothing of it (`****`).
 */
export function maskSecret(value: string): string {
  const url = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@]*@([^\s/?#:]*)/.exec(value);
  if (url) return `${url[1]}****:****@${url[2]}…`;
  const token = ANY_TOKEN.exec(value);
  if (token) return `${token[0].slice(0, 4)}…`;
  return '****';
}

/** A UUID, or what is left of one (the schema reports a malformed id; it is no secret). */
const UUID = /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{1,12}){1,4}$/;

/**
 * Whether a value is the id of a secret-store entry rather than a secret: a UUID inside a
 * `secrets` map (a secret inventory maps each key of a declared Secret, e.g. `client-secret`, to
 * the id of the entry that holds its value). A malformed id is the schema's to report.
 */
export function isSecretStoreId(keyPath: string, raw: string): boolean {
  return inInventory(keyPath) && UUID.test(unquote(raw));
}

/** Whether `keyPath` is a key of the secret store's inventory (`secrets.<id>.<key>`). */
function inInventory(keyPath: string): boolean {
  return /(^|\.)secrets\./.test(keyPath);
}

/**
 * The end of a key SENSITIVE_KEY accepts, as it may be written before `normaliseKey`, and what
 * ends a key in KEY_VALUE (a closing quote, blanks, `:`): any case, `-`, `_`, `.` between and
 * after the word's letters. `toLowerCase` also turns the Kelvin sign into `k`, hence `[k\u212A]`
 * (the one other non-ASCII character that lowercases to a letter, `İ`, adds a combining dot that
 * no word holds).
 */
const SENSITIVE_KEY_SPELLED = new RegExp(
  `(?:${[
    'password',
    'passwd',
    'passphrase',
    'secret',
    'token',
    'apikey',
    'accesskey',
    'accesskeyid',
    'privatekey',
    'credential',
    'credentials',
  ]
    .map((word) => [...word].map((c) => (c === 'k' ? '[k\\u212A]' : c)).join('[-_.]*'))
    .join('|')})[-_.]*["']?\\s*:`,
  'gi',
);

/** A block scalar header (`|`, `>-`, `|2`): the value is on the lines below. */
const BLOCK_HEADER = /^[|>][-+]?\d*$/;

/**
 * Whether a text may hold a key `isSensitiveKey` accepts: the key, normalised, ends with a
 * sensitive word and a `:` follows it (after a closing quote and blanks). Lowercasing and
 * stripping the whole text as `normaliseKey` does one key keeps every such key's normal form.
 */
function mayHoldSensitiveKeys(content: string): boolean {
  return SENSITIVE_KEY_ANYWHERE.test(normaliseKey(content));
}

/** A `key: value` line's key and raw value, after any list dashes, as `findSecrets` reads it. */
function keyValueOf(trimmed: string): { key: string; raw: string } | undefined {
  let rest = trimmed;
  while (rest[0] === '-' && (rest.length === 1 || rest[1] === ' ' || rest[1] === '\t')) {
    let width = 1;
    while (rest[width] === ' ' || rest[width] === '\t') width++;
    rest = rest.slice(width);
  }
  const match = rest.includes(':') ? KEY_VALUE.exec(rest) : null;
  return match ? { key: match[1] ?? match[2] ?? match[3] ?? '', raw: match[4] ?? '' } : undefined;
}

/**
 * Where the last line starts that, read alone, is a sensitive key with a literal value or a block
 * scalar (-1: there is none). Those are the only lines where `findSecrets` reports a secret that
 * is no token (what the lines above add, the key path, can only turn a finding down). Only the
 * lines where SENSITIVE_KEY_SPELLED matches are read: in generated files they are a few keys like
 * `authToken:` that open a mapping, so the walk over every line is skipped; in a definition, the
 * walk stops after its secret inventory. It replaces `mayHoldSensitiveKeys`: a file this rejects
 * and that one accepts has no finding.
 */
function lastSensitiveKeyLine(content: string): number {
  let last = -1;
  SENSITIVE_KEY_SPELLED.lastIndex = 0;
  for (
    let word = SENSITIVE_KEY_SPELLED.exec(content);
    word;
    word = SENSITIVE_KEY_SPELLED.exec(content)
  ) {
    const start = content.lastIndexOf('\n', word.index) + 1;
    let end = content.indexOf('\n', word.index);
    if (end === -1) end = content.length;
    const rawLine = content.slice(start, end);
    const trimmed = (rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine).trimStart();
    if (trimmed !== '' && trimmed[0] !== '#') {
      const pair = keyValueOf(trimmed);
      if (
        pair !== undefined &&
        isSensitiveKey(pair.key) &&
        (BLOCK_HEADER.test(pair.raw) || isLiteralSecretValue(pair.raw))
      )
        last = start;
    }
    // The next match on a later line (one that runs on over a line end, `password\n:`, is no
    // key: the line it starts on has been read).
    SENSITIVE_KEY_SPELLED.lastIndex = end;
  }
  return last;
}

/** Whether a text may hold a token: ANY_TOKEN matches, looked for only where a hint occurs. */
function mayHoldTokens(content: string, prefilter = true): boolean {
  if (prefilter && !TOKEN_HINT.test(content)) return false;
  return ANY_TOKEN.test(content);
}

function isStructured(path: string): boolean {
  return /\.(ya?ml|json)$/i.test(path);
}

interface Frame {
  /** Column of the key (or of the dash, for a list item). */
  readonly indent: number;
  readonly key: string;
  /** For a list item: its index, counted as dashes at this column appear. */
  index?: number;
}

/** The segments of a key path as `framePath` writes it (`a.b[0].c` → `['a', 'b', 0, 'c']`). */
function segmentsOf(keyPath: string): PathSegment[] {
  if (keyPath === '(root)' || keyPath === '(text)') return [];
  const segments: PathSegment[] = [];
  for (const match of keyPath.matchAll(/\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/g)) {
    if (match[1] !== undefined) segments.push(Number(match[1]));
    else if (match[2] !== undefined) segments.push(JSON.parse(`"${match[2]}"`) as string);
    else if (match[3] !== undefined) segments.push(match[3]);
  }
  return segments;
}

function framePath(frames: readonly Frame[], key?: string): string {
  let out = '';
  for (const frame of frames) {
    if (frame.index !== undefined) out += `[${frame.index}]`;
    else out += out === '' ? frame.key : `.${frame.key}`;
  }
  if (key !== undefined) out += out === '' ? key : `.${key}`;
  return out === '' ? '(root)' : out;
}

/** The text of a PEM block from its BEGIN line to its END line (or the rest of the file). */
function pemBlock(lines: readonly string[], from: number, column: number): string {
  const out: string[] = [(lines[from] ?? '').slice(column)];
  for (let i = from + 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    out.push(line);
    if (/^-----END /.test(line)) break;
  }
  return out.join('\n');
}

/**
 * Finds literal secrets in files. One finding per secret (a token on a line under a sensitive
 * key is reported once, as the token).
 */
export function findSecrets(
  targets: readonly SecretScanTarget[],
  options: SecretScanOptions = {},
): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const prefilter = options.prefilter ?? true;
  for (const target of targets) {
    // No token format matches anywhere in the file (none matches across a line end): skip
    // matching them line by line, which is most of the scan's time.
    const tokens = mayHoldTokens(target.content, prefilter);
    const structured = isStructured(target.path);
    // Neither a token nor a sensitive key anywhere: nothing to find, and no line to walk.
    let keysUpTo = -1;
    if (structured && prefilter) keysUpTo = lastSensitiveKeyLine(target.content);
    else if (structured && mayHoldSensitiveKeys(target.content)) keysUpTo = target.content.length;
    if (!tokens && keysUpTo === -1) continue;
    // Without tokens, no line after the last sensitive key's holds a finding: the walk ends there.
    const walkUpTo = tokens ? target.content.length : keysUpTo;
    const lines = target.content.split('\n');
    const stack: Frame[] = [];
    // Inside a block scalar (`key: |`) of a sensitive key: its lines are the secret.
    let block: { indent: number; keyPath: string; line: number } | undefined;
    // Inside any other block scalar: lines that are not `key: value` belong to its key.
    let text: { indent: number; keyPath: string } | undefined;
    const report = (
      index: number,
      keyPath: string,
      column: number,
      message: string,
      secret: string,
      expected: string = EXPECTED,
    ): void => {
      const position: SourcePosition = { file: target.path, line: index + 1, column };
      findings.push({
        secret,
        keyPath,
        issue: error({
          code: 'literal-secret',
          path: options.positions ? segmentsOf(keyPath) : [],
          ...(options.positions
            ? {}
            : { output: `${target.path}:${index + 1}:${column} ${keyPath}` }),
          message,
          value: maskSecret(secret),
          expected,
          ...(options.positions ? { position } : {}),
        }),
      });
    };
    // The current line's key path, built only for a finding: `pathText`, or the first
    // `pathDepth` frames and `pathKey`.
    let pathText: string | undefined;
    let pathDepth = 0;
    let pathKey: string | undefined;
    const keyPathOf = (): string => pathText ?? framePath(stack.slice(0, pathDepth), pathKey);

    let nextLineStart = 0;
    for (let index = 0; index < lines.length; index++) {
      const rawLine = lines[index] as string;
      if (nextLineStart > walkUpTo) break;
      nextLineStart += rawLine.length + 1;
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      const trimmed = line.trimStart();
      const indentWidth = line.length - trimmed.length;
      if (block !== undefined) {
        if (trimmed === '' || indentWidth > block.indent) continue;
        block = undefined;
      }
      if (text !== undefined && trimmed !== '' && indentWidth <= text.indent) text = undefined;

      pathText = '(text)';
      let keyColumn = indentWidth + 1;
      let sensitive: { key: string; raw: string } | undefined;
      if (structured && trimmed !== '' && trimmed[0] !== '#') {
        let rest = trimmed;
        let column = indentWidth;
        // List dashes: each `- ` opens (or advances) a list item at its column.
        while (rest[0] === '-' && (rest.length === 1 || rest[1] === ' ' || rest[1] === '\t')) {
          while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? -1) > column) stack.pop();
          const top = stack[stack.length - 1];
          if (top && top.indent === column && top.index !== undefined) top.index += 1;
          else stack.push({ indent: column, key: '', index: 0 });
          let width = 1;
          while (rest[width] === ' ' || rest[width] === '\t') width++;
          column += width;
          rest = rest.slice(width);
        }
        const match = rest.includes(':') ? KEY_VALUE.exec(rest) : null;
        if (match) {
          const key = match[1] ?? match[2] ?? match[3] ?? '';
          const rawValue = match[4] ?? '';
          // Frames at or right of the key end here; the list item the key sits in (its dash is
          // left of the key) stays.
          while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? -1) >= column) stack.pop();
          pathText = undefined;
          pathDepth = stack.length;
          pathKey = key;
          keyColumn = column + 1;
          if (isSensitiveKey(key)) sensitive = { key, raw: rawValue };
          if (rawValue === '' || rawValue === '{' || rawValue === '[') {
            stack.push({ indent: column, key });
          }
          if (/^[|>][-+]?\d*$/.test(rawValue)) text = { indent: indentWidth, keyPath: keyPathOf() };
        } else if (rest !== trimmed) {
          pathText = undefined;
          pathDepth = stack.length;
          pathKey = undefined;
          keyColumn = column + 1;
        } else if (text !== undefined) {
          pathText = text.keyPath;
        }
      }

      let tokenFound = false;
      TOKEN_PATTERN.lastIndex = 0;
      // A line without a hint holds no token: one cheap test instead of trying every format.
      const lineTokens = tokens && (!prefilter || TOKEN_HINT.test(line));
      for (
        let match = lineTokens ? TOKEN_PATTERN.exec(line) : null;
        match;
        match = TOKEN_PATTERN.exec(line)
      ) {
        const which = match.slice(1).findIndex((group) => group !== undefined);
        const format = TOKEN_FORMATS[which];
        if (!format) continue;
        tokenFound = true;
        let secret = match[0];
        const inUrl = which === URL_CREDENTIALS || which === URL_TOKEN;
        if (inUrl) {
          // The whole URL (so its mask keeps scheme and host), the credentials for masking.
          const url = /^\S*/.exec(line.slice(match.index))?.[0] ?? secret;
          secret = url.replace(/["',]+$/, '');
        } else if (which === PEM) {
          secret = pemBlock(lines, index, match.index);
        }
        const keyPath = keyPathOf();
        // The platform repository's credentials are Argo CD's one hand-made Secret, not Bitwarden's.
        const repository = inUrl && keyPath === 'repository.url';
        report(
          index,
          keyPath,
          match.index + 1,
          `is ${format.name}; ${repository ? REPOSITORY_FIX : (format.fix ?? FIX)}`,
          secret,
          repository ? REPOSITORY_EXPECTED : EXPECTED,
        );
      }
      if (tokenFound || !sensitive) continue;
      const blockHeader = /^[|>][-+]?\d*$/.test(sensitive.raw);
      if (
        (blockHeader || isLiteralSecretValue(sensitive.raw)) &&
        !isSecretStoreId(keyPathOf(), sensitive.raw)
      ) {
        const keyPath = keyPathOf();
        let secret = unquote(sensitive.raw);
        if (blockHeader) {
          const body: string[] = [];
          for (let i = index + 1; i < lines.length; i++) {
            const next = lines[i] ?? '';
            const nextIndent = next.length - next.trimStart().length;
            if (next.trim() !== '' && nextIndent <= indentWidth) break;
            if (next.trim() !== '') body.push(next.trim());
          }
          secret = body.join('\n');
          block = { indent: indentWidth, keyPath, line: index };
        }
        const inventory = inInventory(keyPath);
        report(
          index,
          keyPath,
          keyColumn,
          inventory
            ? `is a literal secret value where the id of a Bitwarden secret is expected; ${INVENTORY_FIX}`
            : `is a literal secret value where a reference is expected; ${FIX}`,
          secret,
          inventory ? INVENTORY_EXPECTED : EXPECTED,
        );
      }
    }
  }
  return findings;
}

/**
 * Scans files for literal secret values. Returns one error per finding; the secret itself is
 * never in the issue (its value is masked).
 */
export function scanSecrets(
  targets: readonly SecretScanTarget[],
  options: SecretScanOptions = {},
): Issue[] {
  return findSecrets(targets, options).map((finding) => finding.issue);
}

/** Scans generated files (paths relative to the output root). */
export function scanGeneratedFiles(files: readonly GeneratedFile[]): Issue[] {
  return scanSecrets(files.map((file) => ({ path: file.path, content: file.content })));
}

/** The last named segment of an issue path (`a.b[0].clientSecret` → `clientSecret`). */
function lastKey(path: string): string | undefined {
  const segments = path.match(/[A-Za-z_$][\w$-]*|\["(?:[^"\\]|\\.)*"\]/g);
  const last = segments?.[segments.length - 1];
  if (last === undefined) return undefined;
  return last.startsWith('[') ? (JSON.parse(last.slice(1, -1)) as string) : last;
}

function holdsSecret(text: string, secrets: readonly string[]): boolean {
  if (secrets.some((secret) => (secret.length >= 3 ? text.includes(secret) : text === secret)))
    return true;
  return ANY_TOKEN.test(text);
}

/** `value` with every string that holds a secret, or sits under a secret-like key, masked. */
function maskValue(value: unknown, secrets: readonly string[], masked: boolean): unknown {
  if (typeof value === 'string')
    return masked || holdsSecret(value, secrets) ? maskSecret(value) : value;
  if (masked && value !== null && value !== undefined && typeof value !== 'object') return '****';
  if (Array.isArray(value)) return value.map((item) => maskValue(item, secrets, masked));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        maskValue(item, secrets, masked || MASKED_KEY.test(normaliseKey(key))),
      ]),
    );
  }
  return value;
}

function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // Also as a form hint rewrites it (core's `formHint`: lowercased, trimmed, without a trailing
    // dot or a prefix length), in any case, and as JSON quotes it (its `"` and `\` escaped).
    const trimmed = secret.trim();
    const forms = [
      secret,
      trimmed,
      trimmed.replace(/\.$/, ''),
      trimmed.replace(/\/\d{1,3}$/, ''),
      JSON.stringify(secret).slice(1, -1),
    ];
    for (const form of new Set(forms)) {
      if (form.length < 6) continue;
      const pattern = new RegExp(form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      out = out.replace(pattern, () => maskSecret(secret));
    }
  }
  return out;
}

/**
 * A key of the path with what is secret in it masked: a found secret, a token (its first four
 * characters kept), a URL's user and password. The rest of the key stays readable
 * (`ghp_…/argocd-oidc`).
 */
function maskSegment(segment: string, secrets: readonly string[]): string {
  if (!holdsSecret(segment, secrets)) return segment;
  return maskText(segment, secrets).replace(TOKEN_PATTERN, (token) => {
    // A URL's credentials (the token runs to its `@`): `scheme://****:****@`.
    const scheme = token.endsWith('@') ? /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(token) : null;
    return scheme ? `${scheme[0]}****:****@` : `${token.slice(0, 4)}…`;
  });
}

/** `path` with the secrets in its keys masked (a token pasted as a mapping key). */
function maskPath(path: readonly PathSegment[], secrets: readonly string[]): PathSegment[] {
  return path.map((segment) =>
    typeof segment === 'string' ? maskSegment(segment, secrets) : segment,
  );
}

/**
 * Masks secrets in issues that are not secret findings themselves: the `value` of an issue at a
 * path the scan flagged, under a key named like a secret (password, secret, token, key), or
 * holding a found secret or a token format; and found secrets quoted in messages. The value of an
 * issue about a key (the key itself, already printed in the path) is masked only for a secret
 * or token it holds.
 */
export function maskIssues(issues: readonly Issue[], findings: readonly SecretFinding[]): Issue[] {
  const secrets = [...new Set(findings.map((finding) => finding.secret).filter((s) => s !== ''))];
  const flagged = new Set(findings.map((finding) => finding.keyPath));
  return issues.map((original) => {
    // A key of the path may be the secret (a token pasted as a mapping key): the path is printed
    // and is in --json's `path` and `segments`, whatever else the issue is about.
    const issue = { ...original, path: maskPath(original.path, secrets) };
    if (issue.code === 'literal-secret') return issue;
    const path = formatPath(original.path);
    const key = lastKey(path);
    // An issue about a key itself (an unknown key, an invalid label key: its value is the key,
    // the path's last segment) shows it: the path prints the same text, and a key's name is no
    // secret however it is named (`"bad key"` ends in "key"). Its value is still masked when it
    // holds a found secret or a token.
    const aboutKey = typeof issue.value === 'string' && issue.value === original.path.at(-1);
    const byPath =
      !aboutKey && (flagged.has(path) || (key !== undefined && MASKED_KEY.test(normaliseKey(key))));
    const masked: Issue = {
      ...issue,
      message: maskText(issue.message, secrets),
      ...(issue.expected === undefined ? {} : { expected: maskText(issue.expected, secrets) }),
    };
    if (!('value' in issue) || issue.value === undefined) return masked;
    return { ...masked, value: maskValue(issue.value, secrets, byPath) };
  });
}
