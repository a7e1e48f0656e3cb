import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awkNumericEqualities, awkPrograms } from './awk.js';
import { findOriginalAwk, originalAwkRuns } from './testing.js';

describe('awkPrograms', () => {
  const programs = (text: string) => awkPrograms(text).map((found) => found.program);

  it('reads the single-quoted program after the options, wherever awk is a command', () => {
    expect(programs(`printf '%s\\n' "$members" | awk -v node="$NODE" 'NR == 1 { next }'`)).toEqual([
      'NR == 1 { next }',
    ]);
    expect(
      programs(`previous=$(awk -F '"' -v latest="$id" '$2 == "time" { t = $4 }' "$work/ids")`),
    ).toEqual(['$2 == "time" { t = $4 }']);
    expect(programs("awk -F: -vx=1 -- '{ print $1 }' /etc/passwd")).toEqual(['{ print $1 }']);
    expect(programs("a | awk \\\n  -v x=1 '{ print x }'")).toEqual(['{ print x }']);
    expect(programs("awk 'END {\n  print NR\n}'")).toEqual(['END {\n  print NR\n}']);
  });

  it('gives where the program starts in the text', () => {
    const text = "x | awk '{ print $1 }'";
    const [found] = awkPrograms(text);
    expect(text.slice(found?.offset, (found?.offset ?? 0) + 4)).toBe('{ pr');
  });

  it("joins the parts of a program that holds a quote ('\\''), and maps its offsets back", () => {
    const text = "x | awk -v n=\"$N\" '$1 == \"it'\\''s\" { a = 1 } $2 == n { print }'";
    const [found] = awkPrograms(text);
    expect(found?.program).toBe('$1 == "it\'s" { a = 1 } $2 == n { print }');
    const at = found?.program.indexOf('$2') ?? -1;
    expect(text.slice(found?.textOffset(at), (found?.textOffset(at) ?? 0) + 7)).toBe('$2 == n');
    expect(text.slice(found?.textOffset(0), (found?.textOffset(0) ?? 0) + 2)).toBe('$1');
  });

  it('leaves out programs from files, built from double-quoted parts, and other commands', () => {
    expect(programs("awk -f prog.awk 'x'")).toEqual([]);
    expect(programs(`awk '{ print "'"$x"'" }'`)).toEqual([]);
    expect(programs("gawk '{ print }'; xawk '{ print }'; echo awk")).toEqual([]);
    expect(programs('awk "{ print }"')).toEqual([]);
  });
});

// Each line: an equality test the program `{ a = $1; split($0, parts) } <test> { … }` makes
// with `$1` = 1e1 (also in a = $1, parts[1], w and ENVIRON["E"]) and `-v v=10` (also in b = v
// "" and c = v ""); how awk compares its sides; and whether it is found. `input`: both sides
// may be numeric strings, awk compares them as numbers (1e1 equals 10) and the test is found;
// `string`: a side is a string (a concatenation, a constant, substr…), awk compares strings and
// the test is not found; `number`: a side is a number by intent (arithmetic, a constant), awk
// compares numbers and the test is not found; `held`: a variable that holds a string, compared
// as a string by awk but found (what a variable holds is not followed: a false alarm, fixed by
// writing the concatenation where it is compared). The last tests run every line with this
// machine's awk, BusyBox's and the One True AWK (macOS'), the oracle of the table.
const TABLE: ReadonlyArray<readonly [string, 'input' | 'string' | 'number' | 'held']> = [
  ['$1 == v', 'input'],
  ['$1 != v', 'input'],
  ['$(1) == v', 'input'],
  ['$(0 + 1) == v', 'input'],
  ['($1) == (v)', 'input'],
  ['a == v', 'input'],
  ['parts[1] == v', 'input'],
  ['w == v', 'input'],
  ['ENVIRON["E"] == v', 'input'],
  ['$1 == v && 1', 'input'],
  ['1 && $1 == v', 'input'],
  ['!($1 == v) == 0', 'input'],
  ['$1 "" == v', 'string'],
  ['$1 == v ""', 'string'],
  ['$1 "" == v ""', 'string'],
  ['($1 == v "")', 'string'],
  ['substr($1, 1) == v', 'string'],
  ['tolower($1) == v', 'string'],
  ['$1 == "10"', 'string'],
  ['"1e1" == v', 'string'],
  ['$1 == 10', 'number'],
  ['$1 + 0 == v', 'number'],
  ['$1 == v + 0', 'number'],
  ['$1 * 1 == v', 'number'],
  ['-$1 == -v', 'number'],
  ['b == $1', 'held'],
  ['c == a', 'held'],
];

const program = (test: string) =>
  `{ a = $1; b = v ""; c = v ""; split($0, parts) } ${test} { print "equal"; next } { print "unequal" }`;
const expectedOutcome = (kind: string, test: string): string =>
  (kind === 'input' || kind === 'number') !== test.includes('!=') ? 'equal' : 'unequal';

/** BusyBox's userland (BUSYBOX_DIR, .ci/install-busybox), as in the images our scripts run in. */
const busybox = ((dir) =>
  dir !== undefined && existsSync(join(dir, 'busybox')) ? dir : undefined)(process.env.BUSYBOX_DIR);
const inCi = process.env.CI === 'true' || process.env.CI === '1';
/** Kernighan's awk, macOS' (ORIGINAL_AWK_DIR, .ci/install-original-awk). */
const originalAwk = findOriginalAwk();
const runsOriginal = originalAwkRuns('awk.test.ts');
if (busybox === undefined && !inCi)
  console.log(
    "awk.test.ts: the table runs with this machine's awk only, not BusyBox's (BUSYBOX_DIR)",
  );

describe('awkNumericEqualities', () => {
  it.each(TABLE)('%s: %s', (test, kind) => {
    const found = awkNumericEqualities(program(test));
    expect(found.length > 0).toBe(kind === 'input' || kind === 'held');
  });

  it("gives each test as written, where it starts, in the runbook's and the scripts' programs", () => {
    const quorum =
      'NR == 1 { o = ($1 == "NODE"); next } NF != 5 + o || $(5 + o) != "false" { bad = 1 } $(2 + o) == node { found = 1; next }';
    const found = awkNumericEqualities(quorum);
    expect(found.map((test) => test.text)).toEqual(['$(2 + o) == node']);
    expect(quorum.slice(found[0]?.offset)).toMatch(/^\$\(2 \+ o\) == node \{/);
    expect(
      awkNumericEqualities(
        '{ for (i = 2; i <= NF; i++) { name = $i; if (sub(/^ephemeral:/, "", name)) name = $1 "-" name; if (name == claim) { print $1; break } } }',
      ).map((test) => test.text),
    ).toEqual(['name == claim']);
    expect(
      awkNumericEqualities(
        '$2 == "time" { t = $4 } $2 == "short_id" { if ($4 "" == latest "") exit; p = $4 " " t } END { print p }',
      ),
    ).toEqual([]);
    expect(
      awkNumericEqualities('NR == FNR { claim[$1] = $2; next } ($1 in claim) && $2 != ""'),
    ).toEqual([]);
  });

  it('reads a / after a value as division and elsewhere as a regular expression', () => {
    expect(awkNumericEqualities('{ x = $1 / 2 } x == y').map((test) => test.text)).toEqual([
      'x == y',
    ]);
    expect(awkNumericEqualities('/==/ { print } $1 ~ /a == b/')).toEqual([]);
    expect(awkNumericEqualities('{ print "a == b" } # c == d')).toEqual([]);
  });

  const awks: [string, string | undefined][] = [['this machine', process.env.PATH]];
  if (busybox !== undefined) awks.push(['BusyBox', busybox]);
  if (originalAwk !== undefined) awks.push(["the One True AWK (macOS')", originalAwk]);
  it.each(awks)('agrees with the awk of %s on every line of the table', (_, path) => {
    const disagree = TABLE.filter(([test, kind]) => {
      const run = spawnSync('awk', ['-v', 'v=10', '-v', 'w=1e1', program(test)], {
        input: '1e1 x\n',
        encoding: 'utf8',
        env: { PATH: path, E: '1e1' },
      });
      expect(run.stderr).toBe('');
      return run.stdout.trim() !== expectedOutcome(kind, test);
    });
    expect(disagree).toEqual([]);
  });

  it('the oracle tells the kinds apart (broken on purpose: every test a string comparison)', () => {
    const run = spawnSync('awk', ['-v', 'v=10', program('$1 "" == v')], {
      input: '1e1 x\n',
      encoding: 'utf8',
    });
    expect(run.stdout.trim()).not.toBe(expectedOutcome('input', '$1 == v'));
  });

  it.runIf(busybox !== undefined || inCi)(
    "BusyBox's awk reads nan, inf and hex as numbers: nan unequal to itself, 0x1a equal to 26",
    () => {
      const compare = (test: string, left: string, right: string) =>
        spawnSync('awk', ['-v', `v=${right}`, program(test)], {
          input: `${left} x\n`,
          encoding: 'utf8',
          env: { PATH: busybox },
        }).stdout.trim();
      // What the message says of BusyBox, and why a name is compared as a string
      expect(compare('$1 == v', 'nan', 'nan')).toBe('unequal');
      expect(compare('$1 == v', 'inf', 'inf')).toBe('unequal');
      expect(compare('$1 == v', '0x1a', '26')).toBe('equal');
      expect(compare('$1 "" == v', 'nan', 'nan')).toBe('equal');
      expect(compare('$1 "" == v', '0x1a', '26')).toBe('unequal');
    },
  );

  it.runIf(runsOriginal)(
    "runs the table with the One True AWK, macOS' awk (in CI: required)",
    () => {
      expect(originalAwk).toBeDefined();
    },
  );

  it.runIf(inCi)('runs the table with BusyBox in CI', () => {
    expect(busybox).toBeDefined();
  });
});
