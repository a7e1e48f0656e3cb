// awk programs in generated shell, and the equality tests among them that compare two values
// awk may take for numbers. POSIX awk compares `a == b` as numbers when both sides are numeric
// strings from input (a field, a `-v` value, `split`'s elements, a variable holding one of
// these): `1e1 == 10` holds, `1.0 == 1` holds (in mawk, gawk, the One True AWK of macOS and
// BusyBox alike), and BusyBox's awk (1.35) also finds `46e40205`, too large for a double, `nan`
// and `inf` unequal to themselves, and `0x1a` equal to `26`. A name compared with a field is then
// a number comparison for some names: a node, a claim or a snapshot id that reads as a number.

/** One awk program written in shell text: `awk [-F x] [-v n=v]… '<program>'`. */
export interface AwkProgram {
  /** The program, without its single quotes. */
  readonly program: string;
  /** Offset of the program's first character in the shell text. */
  readonly offset: number;
  /** Where a character of the program is in the shell text (parts joined by `'\''` shift it). */
  textOffset(offset: number): number;
}

/** An equality test (`==`, `!=`) of an awk program between two values that may be numeric strings. */
export interface AwkEquality {
  /** The test as written: `$(2 + o) == node`. */
  readonly text: string;
  /** Offset of its first character in the program. */
  readonly offset: number;
}

// A shell word: quoted parts, escapes and plain characters up to a blank or an operator.
const SHELL_WORD = /(?:'[^']*'|"(?:[^"\\]|\\[\s\S])*"|\\[\s\S]|[^\s'"\\;&|()<>])+/y;
const SHELL_BLANKS = /(?:[ \t]|\\\n)*/y;
/** `awk` as a command word: at the text's start, after a blank, an operator or `$(`. */
const AWK_COMMAND = /(?:^|[\s;&|(])awk(?=[ \t])/g;

function shellWordAt(text: string, at: number): string | undefined {
  SHELL_WORD.lastIndex = at;
  return SHELL_WORD.exec(text)?.[0];
}

function blanksEnd(text: string, at: number): number {
  SHELL_BLANKS.lastIndex = at;
  SHELL_BLANKS.exec(text);
  return SHELL_BLANKS.lastIndex;
}

/**
 * The awk programs of shell text whose program is one single-quoted word after the options
 * (`-F`, `-v` with their values, attached or not, `--`), its parts joined by `'\''` (a single
 * quote in the program); a program read from a file (`-f`) or built from double-quoted parts is
 * not one.
 */
export function awkPrograms(text: string): AwkProgram[] {
  if (!text.includes('awk')) return [];
  const found: AwkProgram[] = [];
  for (const match of text.matchAll(AWK_COMMAND)) {
    let at = (match.index ?? 0) + match[0].length;
    let fromFile = false;
    for (;;) {
      at = blanksEnd(text, at);
      const word = shellWordAt(text, at);
      if (word === undefined || !word.startsWith('-')) break;
      at += word.length;
      if (word === '--') {
        at = blanksEnd(text, at);
        break;
      }
      if (word === '-f') fromFile = true;
      if (word === '-F' || word === '-v' || word === '-f') {
        at = blanksEnd(text, at);
        at += shellWordAt(text, at)?.length ?? 0;
      }
    }
    if (fromFile || text[at] !== "'") continue;
    // The quoted parts, joined by `'\''` (a quote in a single-quoted word): each part's start in
    // the program and in the text.
    const parts: { program: number; text: number }[] = [];
    let program = '';
    let start = at + 1;
    let close = text.indexOf("'", start);
    for (;;) {
      if (close < 0) break;
      parts.push({ program: program.length, text: start });
      program += text.slice(start, close);
      if (!text.startsWith("'\\''", close)) break;
      program += "'";
      start = close + 4;
      close = text.indexOf("'", start);
    }
    if (close < 0) continue;
    const after = text[close + 1];
    if (after !== undefined && !/[\s;&|)]/.test(after)) continue; // 'a'"b": not one quoted word
    found.push({
      program,
      offset: at + 1,
      textOffset: (offset) => {
        const part = parts.findLast((candidate) => candidate.program <= offset) ?? parts[0];
        return (part?.text ?? at + 1) + offset - (part?.program ?? 0);
      },
    });
  }
  return found;
}

type TokenKind = 'string' | 'regex' | 'number' | 'name' | 'operator' | 'newline';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const KEYWORDS = new Set([
  'BEGIN',
  'END',
  'function',
  'func',
  'if',
  'else',
  'while',
  'for',
  'do',
  'break',
  'continue',
  'next',
  'nextfile',
  'exit',
  'return',
  'delete',
  'in',
  'getline',
  'print',
  'printf',
]);
/** Built-in variables that always hold numbers. */
const NUMERIC_VARIABLES = new Set(['NR', 'FNR', 'NF', 'RSTART', 'RLENGTH', 'ARGC']);
/** Built-in functions that return numbers; `substr`, `sprintf`, `tolower`, `toupper` return strings. */
const NUMERIC_FUNCTIONS = new Set([
  'length',
  'index',
  'match',
  'split',
  'sub',
  'gsub',
  'int',
  'rand',
  'srand',
  'sin',
  'cos',
  'atan2',
  'exp',
  'log',
  'sqrt',
  'system',
  'close',
  'fflush',
]);
const STRING_FUNCTIONS = new Set(['substr', 'sprintf', 'tolower', 'toupper']);
const OPERATORS = new Set([
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '^=',
  '!~',
  '>>',
  '**',
]);
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Whether a token ends an operand: a `/` after it divides, elsewhere it starts a regex. */
function endsOperand(token: Token | undefined): boolean {
  if (token === undefined) return false;
  if (token.kind === 'name') return !KEYWORDS.has(token.text);
  if (token.kind === 'operator') return [')', ']', '++', '--'].includes(token.text);
  return token.kind === 'string' || token.kind === 'number' || token.kind === 'regex';
}

function tokens(program: string): Token[] {
  const found: Token[] = [];
  let at = 0;
  const push = (kind: TokenKind, end: number) => {
    found.push({ kind, text: program.slice(at, end), start: at, end });
    at = end;
  };
  const last = () => found.at(-1);
  while (at < program.length) {
    const character = program[at] as string;
    if (character === ' ' || character === '\t' || character === '\r') at++;
    else if (character === '\\' && program[at + 1] === '\n') at += 2;
    else if (character === '\n') push('newline', at + 1);
    else if (character === '#') {
      const end = program.indexOf('\n', at);
      at = end < 0 ? program.length : end;
    } else if (character === '"' || (character === '/' && !endsOperand(last()))) {
      let end = at + 1;
      while (end < program.length && program[end] !== character && program[end] !== '\n')
        end += program[end] === '\\' ? 2 : 1;
      push(character === '"' ? 'string' : 'regex', Math.min(end + 1, program.length));
    } else {
      NUMBER.lastIndex = at;
      NAME.lastIndex = at;
      if (NUMBER.test(program)) push('number', NUMBER.lastIndex);
      else if (NAME.test(program)) push('name', NAME.lastIndex);
      else {
        push('operator', at + (OPERATORS.has(program.slice(at, at + 2)) ? 2 : 1));
      }
    }
  }
  return found;
}

/** Tokens that end an operand of `==`/`!=` at its nesting depth: what binds less tightly. */
const BOUNDARIES = new Set([
  ',',
  ';',
  '{',
  '}',
  '&&',
  '||',
  '?',
  ':',
  '=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '^=',
  '~',
  '!~',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '>>',
  '|',
]);

function isBoundary(token: Token): boolean {
  if (token.kind === 'newline') return true;
  if (token.kind === 'name') return KEYWORDS.has(token.text);
  return token.kind === 'operator' && BOUNDARIES.has(token.text);
}

/** The operand of the comparison at `index` on one side (`step` -1: left, 1: right). */
function operand(list: readonly Token[], index: number, step: -1 | 1): Token[] {
  const found: Token[] = [];
  let depth = 0;
  const opens = step === 1 ? ['(', '['] : [')', ']'];
  const closes = step === 1 ? [')', ']'] : ['(', '['];
  for (let at = index + step; at >= 0 && at < list.length; at += step) {
    const token = list[at] as Token;
    if (token.kind === 'operator' && opens.includes(token.text)) depth++;
    else if (token.kind === 'operator' && closes.includes(token.text)) {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && isBoundary(token)) break;
    found.push(token);
  }
  return step === 1 ? found : found.reverse();
}

type OperandType = 'string' | 'number' | 'input' | 'unknown';

/** Where the primary expression starting at `at` ends (exclusive), or -1 when none starts there. */
function primaryEnd(list: readonly Token[], at: number): number {
  const token = list[at];
  if (token === undefined) return -1;
  const closing = (from: number): number => {
    let depth = 0;
    for (let i = from; i < list.length; i++) {
      const text = (list[i] as Token).text;
      if (text === '(' || text === '[') depth++;
      else if (text === ')' || text === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return list.length;
  };
  if (token.kind === 'string' || token.kind === 'number' || token.kind === 'regex') return at + 1;
  if (token.kind === 'operator' && token.text === '(') return closing(at);
  if (token.kind === 'operator' && token.text === '$') return primaryEnd(list, at + 1);
  if (token.kind === 'name') {
    const next = list[at + 1];
    return next?.kind === 'operator' && (next.text === '[' || next.text === '(')
      ? closing(at + 1)
      : at + 1;
  }
  return -1;
}

/** How awk types an operand: `input` is a value that may be a numeric string. */
function operandType(list: readonly Token[]): OperandType {
  if (list.length === 0) return 'unknown';
  let depth = 0;
  for (const token of list) {
    if (token.text === '(' || token.text === '[') depth++;
    else if (token.text === ')' || token.text === ']') depth--;
    else if (
      depth === 0 &&
      token.kind === 'operator' &&
      ['+', '-', '*', '/', '%', '^', '**', '++', '--', '!'].includes(token.text)
    )
      return 'number';
  }
  const end = primaryEnd(list, 0);
  if (end < 0) return 'unknown';
  if (end < list.length) return 'string'; // a concatenation
  const [first, second] = list as [Token, Token | undefined];
  if (first.kind === 'string') return 'string';
  if (first.kind === 'number') return 'number';
  if (first.text === '$') return 'input';
  if (first.text === '(') return operandType(list.slice(1, -1));
  if (first.kind !== 'name') return 'unknown';
  if (second?.text === '(') {
    if (NUMERIC_FUNCTIONS.has(first.text)) return 'number';
    return STRING_FUNCTIONS.has(first.text) ? 'string' : 'unknown';
  }
  return NUMERIC_VARIABLES.has(first.text) ? 'number' : 'input';
}

/**
 * The equality tests of an awk program whose two sides may both be numeric strings: each a field
 * (`$1`, `$(2 + o)`), a variable (set by `-v`, from a field, by `split`: what it holds is not
 * followed) or an array element. Not one: a side that is a string constant, a concatenation
 * (`$4 ""`), a number, arithmetic (`x + 0`) or a numeric built-in (`NR`, `length(…)`).
 */
export function awkNumericEqualities(program: string): AwkEquality[] {
  if (!program.includes('==') && !program.includes('!=')) return [];
  const list = tokens(program);
  const found: AwkEquality[] = [];
  list.forEach((token, index) => {
    if (token.kind !== 'operator' || (token.text !== '==' && token.text !== '!=')) return;
    const left = operand(list, index, -1);
    const right = operand(list, index, 1);
    if (operandType(left) !== 'input' || operandType(right) !== 'input') return;
    const start = (left[0] as Token).start;
    found.push({
      text: program.slice(start, (right.at(-1) as Token).end),
      offset: start,
    });
  });
  return found;
}
