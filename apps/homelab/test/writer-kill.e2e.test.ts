// The kill test: a real `homelab build` (the bundled CLI, dist/homelab.cjs) is SIGKILLed at
// random points of its write, at least 200 times (HOMELAB_KILL_ITERATIONS), and after every kill
// the output is exactly the old or exactly the new tree: charts/ and clusters/ together, with the
// user's files under them (a chart package.json at 0.3.0, CHANGELOG.md, node_modules/, a 700
// folder, a symlink) byte for byte and mode for mode. After the last kill a normal build
// succeeds and leaves nothing of the killed ones behind.
//
// Kill points come from a seeded generator (HOMELAB_KILL_SEED; the seed is in the test name):
//   step  HOMELAB_WRITER_PAUSE_AT=<k>: the writer stops before its step k (the lock, each staged
//         file, the commit, each rename and removal, the cleanup, and the same steps of the
//         recovery of what the previous kill left) and the test kills it there; k is drawn over
//         all the steps of that build, so every step boundary is hit.
//   time  HOMELAB_WRITER_TRACE=1: the test kills after a random delay from the moment the writer
//         takes its lock, anywhere in the write, in the middle of system calls too.
// After each kill: with no committed journal on disk, the disk itself (stage folders and the
// dead build's lock aside) must be one of the two trees; with one, a copy recovered by
// `recoverOutput` must be, and it must be the old tree when the kill came before this build's
// commit and the new one after. The chain goes on from the unrecovered disk, so the next build
// recovers it for real (and is killed during that recovery too). Two chains run side by side.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoverOutput } from '@homelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const bin = join(repo, 'packages/cli/dist/homelab.cjs');
const base = readFileSync(join(here, 'fixtures/base.yaml'), 'utf8');

const ITERATIONS = Number(process.env.HOMELAB_KILL_ITERATIONS ?? 200);
const SEED = Number(process.env.HOMELAB_KILL_SEED ?? 20_261_130);
const CHAINS = Number(process.env.HOMELAB_KILL_CHAINS ?? 2);

/** Definition B: a renamed node (a file removed, one created), another pool, a second cluster. */
const second = base
  .slice(base.indexOf('  - name: dev'))
  .replace('name: dev', 'name: lab')
  .replace('hostname: dev-cp-1', 'hostname: lab-cp-1')
  .replace("hardwareAddr: '02:00:00:00:1d:01'", "hardwareAddr: '02:00:00:00:1d:02'")
  .replaceAll('10.10.', '10.20.');
const definitions = {
  a: base,
  b: `${base.replace('hostname: dev-cp-1', 'hostname: dev-cp-9').replace('cidr: 10.10.1.0/27', 'cidr: 10.10.1.32/27')}${second}`,
} as const;
type Name = keyof typeof definitions;

/** mulberry32: small, seeded, good enough to spread kill points. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every entry under `dir`: type, mode, content digest or link target. Top-level `.homelab-*` left out when asked. */
function digest(dir: string, skipOwn = false): string {
  const hash = createHash('sha256');
  const walk = (relative: string): void => {
    const names = readdirSync(join(dir, relative)).sort();
    for (const name of names) {
      if (skipOwn && relative === '' && name.startsWith('.homelab-')) continue;
      const path = relative === '' ? name : `${relative}/${name}`;
      const stat = lstatSync(join(dir, path));
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isSymbolicLink()) hash.update(`L ${path} ${readlinkSync(join(dir, path))}\n`);
      else if (stat.isDirectory()) {
        hash.update(`D ${path} ${mode}\n`);
        walk(path);
      } else if (stat.isFile()) {
        const content = createHash('sha256')
          .update(readFileSync(join(dir, path)))
          .digest('hex');
        hash.update(`F ${path} ${mode} ${content}\n`);
      } else hash.update(`O ${path}\n`);
    }
  };
  walk('');
  return hash.digest('hex');
}

/** A copy of a tree (files, folders with their modes, symlinks). */
function copyTree(from: string, to: string): void {
  const stat = lstatSync(from);
  if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else if (stat.isDirectory()) {
    mkdirSync(to);
    for (const name of readdirSync(from)) copyTree(join(from, name), join(to, name));
    chmodSync(to, stat.mode & 0o7777);
  } else if (stat.isFile()) {
    writeFileSync(to, readFileSync(from));
    chmodSync(to, stat.mode & 0o7777);
  }
}

function hasCommittedJournal(dir: string): boolean {
  return readdirSync(dir).some(
    (name) => name.startsWith('.homelab-stage-') && existsSync(join(dir, name, 'journal.json')),
  );
}

interface Run {
  readonly code: number | null;
  readonly killed: boolean;
  /** Writer steps seen on stderr before the kill, in order. */
  readonly steps: string[];
  /** Milliseconds from the writer's lock step to the exit. */
  readonly writeMs: number;
  readonly stderr: string;
}

/** Runs `homelab build` into `out`; kills it at step `pauseAt` or `delay` ms after its lock. */
function build(
  cwd: string,
  name: Name,
  kill: { pauseAt?: number; delay?: number } = {},
): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  env.HOMELAB_WRITER_TRACE = '1';
  if (kill.pauseAt !== undefined) env.HOMELAB_WRITER_PAUSE_AT = String(kill.pauseAt);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      // The two definitions take turns in one folder, so B's cluster `lab` leaves with every
      // build of A: the flag skips the comparisons with the last build (cluster-removed among
      // them), which are about running clusters, not about the writer this test kills.
      [bin, 'build', '--config', `${name}.yaml`, '--out', 'out', '--allow-immutable-changes'],
      {
        cwd,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let buffer = '';
    let stderr = '';
    const steps: string[] = [];
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    let lockAt = Number.NaN;
    const stop = (): void => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    child.stderr.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const step = /^homelab-writer-step \d+ (.*)$/.exec(line);
        if (step) {
          steps.push(step[1] as string);
          if (step[1] === 'lock') lockAt = performance.now();
          if (kill.delay !== undefined && timer === undefined && step[1] === 'lock') {
            timer = setTimeout(stop, kill.delay);
          }
        } else if (line.startsWith('homelab-writer-paused ')) stop();
        else stderr += `${line}\n`;
      }
    });
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, killed, steps, stderr, writeMs: performance.now() - lockAt });
    });
  });
}

interface Chain {
  readonly dir: string;
  readonly out: string;
  /** The tree the output holds once recovered: the last one a write committed. */
  state: Name;
}

const scratch: string[] = [];
const digests = {} as Record<Name, string>;
const tally = {
  journals: 0,
  kills: 0,
  beforeCommit: 0,
  afterCommit: 0,
  inRecovery: 0,
  completed: 0,
  byTime: 0,
};
/** Writer steps of an uninterrupted write, by transition (`ab`, `ba`). */
const steps: Record<string, number> = {};
/** Milliseconds from the lock to the end of an uninterrupted write. */
let writeMs = 0;
/** Median of three bare `node -e 0` starts: how busy the machine is, for the timing line. */
let bareNodeMs = 0;

function chainDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-kill-'));
  scratch.push(dir);
  for (const [name, text] of Object.entries(definitions))
    writeFileSync(join(dir, `${name}.yaml`), text);
  return dir;
}

/** The user's files under the output, present in both trees. */
function addForeignContent(out: string): void {
  writeFileSync(
    join(out, 'charts/cilium/package.json'),
    `${JSON.stringify({ name: '@homelab/chart-cilium', version: '0.3.0', private: true }, null, 2)}\n`,
  );
  writeFileSync(join(out, 'charts/cilium/CHANGELOG.md'), '# @homelab/chart-cilium\n\n## 0.3.0\n');
  mkdirSync(join(out, 'charts/cilium/node_modules/dep'), { recursive: true });
  writeFileSync(join(out, 'charts/cilium/node_modules/dep/index.js'), 'module.exports = 1;\n');
  mkdirSync(join(out, 'clusters/dev/private'));
  chmodSync(join(out, 'clusters/dev/private'), 0o700);
  writeFileSync(join(out, 'clusters/dev/private/notes.txt'), 'mine\n');
  symlinkSync('../charts/cilium', join(out, 'clusters/cilium-link'));
}

beforeAll(async () => {
  expect(existsSync(bin), `${bin} is missing: run pnpm build first`).toBe(true);
  const starts = [0, 1, 2].map(() => {
    const started = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    return performance.now() - started;
  });
  bareNodeMs = starts.sort((x, y) => x - y)[1] as number;
  const dir = chainDir();
  const out = join(dir, 'out');
  expect((await build(dir, 'a')).code).toBe(0);
  addForeignContent(out);
  expect((await build(dir, 'a')).code).toBe(0);
  digests.a = digest(out);
  const ab = await build(dir, 'b');
  writeMs = ab.writeMs;
  expect(ab.code).toBe(0);
  steps.ab = ab.steps.length;
  digests.b = digest(out);
  const ba = await build(dir, 'a');
  expect(ba.code).toBe(0);
  steps.ba = ba.steps.length;
  expect(digest(out)).toBe(digests.a);
}, 120_000);

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Checks the disk after a kill; returns the tree it recovers to. */
function verify(chain: Chain, run: Run, target: Name, label: string): Name {
  // The raw disk: exactly a tree (stage folders of an uncommitted write and the dead build's
  // lock aside) unless a committed journal waits for the next build.
  let name: Name | undefined;
  if (!hasCommittedJournal(chain.out)) {
    const raw = digest(chain.out, true);
    name = raw === digests.a ? 'a' : raw === digests.b ? 'b' : undefined;
    expect([label, name !== undefined]).toEqual([label, true]);
  } else {
    // Recovered on a copy (the next killed build recovers the real one): exactly a tree.
    const probe = join(chain.dir, 'probe');
    rmSync(probe, { recursive: true, force: true });
    copyTree(chain.out, probe);
    recoverOutput(probe);
    const recovered = digest(probe);
    name = recovered === digests.a ? 'a' : recovered === digests.b ? 'b' : undefined;
    expect([label, name !== undefined]).toEqual([label, true]);
    expect([label, readdirSync(probe).sort()]).toEqual([label, ['charts', 'clusters']]);
    tally.journals += 1;
  }
  // Before this write's commit: the previous tree; after it: the new one.
  const ownCommit = run.steps.lastIndexOf('commit');
  const after = ownCommit >= 0 && run.steps.length > ownCommit + 1;
  if (!run.killed) {
    expect([label, run.code, name]).toEqual([label, 0, target]);
    tally.completed += 1;
  } else if (after) {
    expect([label, name]).toEqual([label, target]);
    tally.afterCommit += 1;
  } else {
    // Killed before its own commit: the recovered tree is the one the previous kill had
    // committed to. A kill by time may land later than the last step it saw: either tree.
    const byTime = label.includes('"delay"');
    const expected =
      byTime || run.steps.at(-1) === 'commit' ? [chain.state, target] : [chain.state];
    expect([label, expected.includes(name as Name)]).toEqual([label, true]);
    tally.beforeCommit += 1;
    if (run.steps.some((step) => step.startsWith('recover '))) tally.inRecovery += 1;
  }
  return name as Name;
}

/** Writer steps the recovery of what a killed build left takes (0 when nothing is left). */
function recoverySteps(out: string): number {
  let steps = 0;
  for (const name of readdirSync(out)) {
    if (!name.startsWith('.homelab-stage-')) continue;
    const journal = join(out, name, 'journal.json');
    if (!existsSync(journal)) {
      steps += 1; // discard
      continue;
    }
    const { operations, stages } = JSON.parse(readFileSync(journal, 'utf8')) as {
      operations: unknown[];
      stages: unknown[];
    };
    steps += 1 + operations.length + 1 + stages.length;
  }
  return steps;
}

async function runChain(chain: Chain, seed: number, kills: number): Promise<void> {
  const next = random(seed);
  for (let i = 0; tally.kills < ITERATIONS && i < kills * 3; i++) {
    const target: Name = chain.state === 'a' ? 'b' : 'a';
    const byTime = next() < 0.2;
    // Every step of this build: recovering what the last kill left, then its own write.
    const total = recoverySteps(chain.out) + (steps[`${chain.state}${target}`] ?? 0);
    const kill = byTime
      ? { delay: Math.floor(next() * writeMs) }
      : { pauseAt: 1 + Math.floor(next() * total) };
    const label = `${chain.dir} #${i} ${chain.state}→${target} ${JSON.stringify(kill)}`;
    const run = await build(chain.dir, target, kill);
    expect([label, run.stderr]).toEqual([label, '']);
    if (run.killed) {
      tally.kills += 1;
      if (byTime) tally.byTime += 1;
    }
    chain.state = verify(chain, run, target, label);
  }
  // A normal build after the last kill: recovers, then writes, and leaves nothing behind.
  const final: Name = chain.state === 'a' ? 'b' : 'a';
  const run = await build(chain.dir, final);
  expect(run.code).toBe(0);
  expect(digest(chain.out)).toBe(digests[final]);
  expect(readdirSync(chain.out).sort()).toEqual(['charts', 'clusters']);
  expect(
    JSON.parse(readFileSync(join(chain.out, 'charts/cilium/package.json'), 'utf8')).version,
  ).toBe('0.3.0');
  expect(readFileSync(join(chain.out, 'charts/cilium/Chart.yaml'), 'utf8')).toContain(
    'version: 0.3.0',
  );
}

describe('SIGKILL during homelab build', () => {
  it(`leaves the old or the new tree, never a mix, over ${ITERATIONS} kills (seed ${SEED})`, async () => {
    expect(digests.a).not.toBe(digests.b);
    const started = performance.now();
    const chains: Chain[] = [];
    for (let c = 0; c < CHAINS; c++) {
      const dir = chainDir();
      copyTree(join(scratch[0] as string, 'out'), join(dir, 'out'));
      chains.push({ dir, out: join(dir, 'out'), state: 'a' });
    }
    const per = Math.ceil(ITERATIONS / CHAINS);
    await Promise.all(chains.map((chain, c) => runChain(chain, SEED + c, per)));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `kill test: ${tally.kills} builds killed in ${seconds} s by ${CHAINS} chains, a bare node start taking ${Math.round(bareNodeMs)} ms (seed ${SEED}; ` +
        `${tally.beforeCommit} before their commit, ${tally.inRecovery} of them while recovering, ` +
        `${tally.afterCommit} after it, ${tally.journals} leaving a journal to complete; ${tally.byTime} by time; ` +
        `${tally.completed} more completed before their kill)`,
    );
    expect(tally.kills).toBeGreaterThanOrEqual(ITERATIONS);
    // The kills landed on both sides of the commit and inside recoveries.
    expect(tally.beforeCommit).toBeGreaterThan(ITERATIONS / 10);
    expect(tally.afterCommit).toBeGreaterThan(ITERATIONS / 10);
    expect(tally.inRecovery).toBeGreaterThan(0);
  }, 900_000);

  it('a first build killed at any step leaves no output or the whole output, never one root', async () => {
    const dir = chainDir();
    const out = join(dir, 'out');
    const cold = await build(dir, 'a');
    expect(cold.code).toBe(0);
    const whole = digest(out, true);
    mkdirSync(join(dir, 'empty'));
    const empty = digest(join(dir, 'empty'));
    // Every step from the commit on (the two roots move in one after the other), and some of
    // the staging steps before it.
    const commit = cold.steps.indexOf('commit') + 1;
    expect(cold.steps.slice(commit, commit + 2)).toEqual([
      'apply tree charts',
      'apply tree clusters',
    ]);
    const points = [2, Math.floor(commit / 2), commit - 1];
    for (let step = commit; step <= cold.steps.length; step++) points.push(step);
    for (const pauseAt of points) {
      rmSync(out, { recursive: true, force: true });
      const run = await build(dir, 'a', { pauseAt });
      const label = `cold build killed at step ${pauseAt} (${run.steps.at(-1)})`;
      expect([label, run.killed]).toEqual([label, true]);
      if (existsSync(out) && !hasCommittedJournal(out)) {
        // Only the lock and stage folders, or the whole output.
        const raw = digest(out, true);
        expect([label, raw === empty || raw === whole]).toEqual([label, true]);
      }
      const probe = join(dir, 'probe');
      rmSync(probe, { recursive: true, force: true });
      if (existsSync(out)) copyTree(out, probe);
      else mkdirSync(probe);
      recoverOutput(probe);
      const recovered = readdirSync(probe).length === 0 ? 'none' : digest(probe);
      expect([label, recovered]).toEqual([label, pauseAt > commit ? whole : 'none']);
    }
  }, 120_000);

  it('the two definitions differ in charts/ and clusters/ (so every kill has something to break)', () => {
    const dir = chainDir();
    const trees: Record<string, string> = {};
    for (const name of ['a', 'b'] as const) {
      const result = spawnSync(
        process.execPath,
        [bin, 'build', '--config', `${name}.yaml`, '--out', name],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(result.status).toBe(0);
      trees[`${name}/charts`] = digest(join(dir, name, 'charts'));
      trees[`${name}/clusters`] = digest(join(dir, name, 'clusters'));
    }
    expect(trees['a/charts']).not.toBe(trees['b/charts']);
    expect(trees['a/clusters']).not.toBe(trees['b/clusters']);
    expect(existsSync(join(dir, 'b/clusters/lab'))).toBe(true);
    expect(existsSync(join(dir, 'a/clusters/lab'))).toBe(false);
  }, 60_000);
});
