// A Corefile parser for the tests: the Caddyfile lexical rules CoreDNS uses (words, quoted
// strings, braces, `#` comments, newlines ending a directive) and CoreDNS' structure (server
// blocks keyed by `[scheme://]zone[:port]`, directives with arguments and optional blocks), with
// the arguments of the plugins the generator writes checked the way each plugin's setup parses
// them. It returns the parsed blocks and every problem it finds, each with its line.

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  readonly block: readonly Directive[] | undefined;
  readonly line: number;
}

export interface ServerBlock {
  readonly keys: readonly { zone: string; port: number }[];
  readonly directives: readonly Directive[];
  readonly line: number;
}

interface Token {
  readonly text: string;
  readonly line: number;
  /** Whether the token starts a new line (a directive ends at a line break). */
  readonly first: boolean;
  readonly quoted: boolean;
}

function tokenize(text: string, problems: string[]): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let first = true;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      first = true;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\n') line++;
        value += text[i];
        i++;
      }
      if (i >= text.length) problems.push(`line ${start}: unterminated quoted string`);
      i++;
      tokens.push({ text: value, line: start, first, quoted: true });
      first = false;
    } else {
      let value = '';
      while (i < text.length && !/[\s"#]/.test(text[i] as string)) {
        value += text[i];
        i++;
      }
      tokens.push({ text: value, line, first, quoted: false });
      first = false;
    }
  }
  return tokens;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$/;
const ZONE = /^(\.|([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?\.?)$/;
const DURATION = /^\d+(ms|s|m|h)$/;
const UINT = /^\d+$/;

function isIp(text: string): boolean {
  return IPV4.test(text) || IPV6.test(text);
}

/** `[dns://]ip[:port]` as forward accepts it (no host names: forward needs addresses). */
function isUpstream(text: string): boolean {
  const bare = text.replace(/^dns:\/\//, '');
  if (isIp(bare)) return true;
  const withPort = /^(.+):(\d{1,5})$/.exec(bare);
  return withPort !== null && IPV4.test(withPort[1] as string);
}

type Check = (directive: Directive) => string | undefined;

const noArgs: Check = (d) => (d.args.length === 0 ? undefined : 'takes no arguments');

/** The plugins the generator writes, with their argument checks. */
const PLUGINS: { [name: string]: Check } = {
  errors: noArgs,
  loop: noArgs,
  reload: (d) => (d.args.every((arg) => DURATION.test(arg)) ? undefined : 'takes durations'),
  loadbalance: (d) => (d.args.length <= 1 ? undefined : 'takes at most one policy'),
  ready: (d) => (d.args.length <= 1 ? undefined : 'takes at most one address'),
  health: (d) => {
    if (d.args.length > 1) return 'takes at most one address';
    for (const sub of d.block ?? []) {
      if (
        sub.name !== 'lameduck' ||
        sub.args.length !== 1 ||
        !DURATION.test(sub.args[0] as string)
      ) {
        return `has an unknown or invalid property ${sub.name}`;
      }
    }
    return undefined;
  },
  prometheus: (d) =>
    d.args.length <= 1 && d.args.every((arg) => /^[\w.-]*:\d+$/.test(arg))
      ? undefined
      : 'takes one [host]:port',
  kubernetes: (d) => {
    if (!d.args.every((arg) => ZONE.test(arg))) return 'takes zones';
    for (const sub of d.block ?? []) {
      if (
        sub.name === 'pods' &&
        ['disabled', 'insecure', 'verified'].includes(sub.args[0] ?? '') &&
        sub.args.length === 1
      )
        continue;
      if (sub.name === 'fallthrough' && sub.args.every((arg) => ZONE.test(arg))) continue;
      if (
        sub.name === 'ttl' &&
        sub.args.length === 1 &&
        UINT.test(sub.args[0] as string) &&
        Number(sub.args[0]) <= 3600
      )
        continue;
      return `has an unknown or invalid property ${sub.name}`;
    }
    return undefined;
  },
  forward: (d) => {
    const [from, ...to] = d.args;
    if (from === undefined || !ZONE.test(from)) return 'needs the zone it forwards';
    if (to.length === 0 || to.length > 15) return 'needs 1 to 15 upstreams';
    const bad = to.find((upstream) => !isUpstream(upstream));
    if (bad !== undefined) return `upstream ${bad} is not an address`;
    for (const sub of d.block ?? []) {
      if (
        sub.name === 'max_concurrent' &&
        sub.args.length === 1 &&
        UINT.test(sub.args[0] as string)
      )
        continue;
      return `has an unknown or invalid property ${sub.name}`;
    }
    return undefined;
  },
  cache: (d) => {
    if (d.args.length > 0 && !UINT.test(d.args[0] as string)) return 'takes a TTL in seconds first';
    for (const sub of d.block ?? []) {
      if (
        ['success', 'denial'].includes(sub.name) &&
        sub.args.length >= 1 &&
        sub.args.length <= 3 &&
        sub.args.every((arg) => UINT.test(arg))
      )
        continue;
      return `has an unknown or invalid property ${sub.name}`;
    }
    return undefined;
  },
  hosts: (d) => {
    for (const sub of d.block ?? []) {
      if (sub.name === 'fallthrough' || (sub.name === 'ttl' && UINT.test(sub.args[0] ?? '')))
        continue;
      if (isIp(sub.name)) {
        if (sub.args.length === 0) return `entry ${sub.name} names no host`;
        if (!sub.args.every((host) => ZONE.test(host)))
          return `entry ${sub.name} has an invalid host name`;
        continue;
      }
      return `has an invalid entry ${sub.name}`;
    }
    return undefined;
  },
};

function parseKey(text: string): { zone: string; port: number } | undefined {
  const match = /^(?:dns:\/\/)?([^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (match === null) return undefined;
  const zone = match[1] as string;
  if (!ZONE.test(zone)) return undefined;
  return { zone, port: match[2] === undefined ? 53 : Number(match[2]) };
}

/** Parses a Corefile; `problems` lists everything wrong, each with its line. */
export function parseCorefile(text: string): { blocks: ServerBlock[]; problems: string[] } {
  const problems: string[] = [];
  const tokens = tokenize(text, problems);
  let i = 0;
  const blocks: ServerBlock[] = [];

  function directives(depth: number): Directive[] {
    const out: Directive[] = [];
    while (i < tokens.length) {
      const token = tokens[i] as Token;
      if (token.text === '}' && !token.quoted) {
        i++;
        return out;
      }
      if (!token.first) {
        problems.push(`line ${token.line}: "${token.text}" does not start a line`);
        i++;
        continue;
      }
      i++;
      const args: string[] = [];
      let block: Directive[] | undefined;
      while (i < tokens.length && !(tokens[i] as Token).first) {
        const arg = tokens[i] as Token;
        if (arg.text === '{' && !arg.quoted) {
          i++;
          block = directives(depth + 1);
          break;
        }
        args.push(arg.text);
        i++;
      }
      out.push({ name: token.text, args, block, line: token.line });
    }
    problems.push(`end of file: ${depth} unclosed block(s)`);
    return out;
  }

  while (i < tokens.length) {
    const start = tokens[i] as Token;
    const keys: { zone: string; port: number }[] = [];
    while (i < tokens.length && (tokens[i] as Token).text !== '{') {
      const key = parseKey((tokens[i] as Token).text);
      if (key === undefined)
        problems.push(
          `line ${(tokens[i] as Token).line}: "${(tokens[i] as Token).text}" is not a server key`,
        );
      else keys.push(key);
      i++;
    }
    if (i >= tokens.length) {
      problems.push(`line ${start.line}: server block without "{"`);
      break;
    }
    i++;
    blocks.push({ keys, directives: directives(1), line: start.line });
  }

  const seenKeys = new Set<string>();
  for (const block of blocks) {
    for (const key of block.keys) {
      const id = `${key.zone}:${key.port}`;
      if (seenKeys.has(id)) problems.push(`line ${block.line}: server key ${id} is defined twice`);
      seenKeys.add(id);
    }
    const seen = new Set<string>();
    for (const directive of block.directives) {
      const check = PLUGINS[directive.name];
      if (check === undefined) {
        problems.push(`line ${directive.line}: unknown plugin "${directive.name}"`);
        continue;
      }
      if (seen.has(directive.name))
        problems.push(
          `line ${directive.line}: plugin "${directive.name}" appears twice in a server block`,
        );
      seen.add(directive.name);
      const problem = check(directive);
      if (problem !== undefined)
        problems.push(`line ${directive.line}: ${directive.name} ${problem}`);
    }
  }
  return { blocks, problems };
}
