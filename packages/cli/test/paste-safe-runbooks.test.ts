// Every example's generated documents (clusters/<cluster>/*.md) are safe to paste: each prompt
// (`read`) ends its shell block, every wait loop has a deadline, no block holds a `#` comment,
// which zsh runs as a command, nor a word zsh expands where bash does not, nor an awk test that
// compares two values awk may take for numbers, nor a guard (`: "${VAR:?…}"`) not chained to
// what it guards (core runbook-shell.ts and awk.ts; the build's own checks terminal-read-alone,
// bounded-waits, shell-comments, zsh-expansions, awk-numeric-equality and guards-chained).
// Broken on purpose in packages/core/src/system.test.ts, runbook-shell.test.ts and awk.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  awkNumericEqualities,
  awkPrograms,
  commentLines,
  endlessWaits,
  joinedBlock,
  parseBoundedWait,
  readNotLast,
  readsTerminal,
  shellBlocks,
  unchainedGuards,
  waitLoops,
  zshExpandedWords,
} from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const EXAMPLES = ['reference', 'compact', 'single-node', 'fleet'] as const;

describe('the examples’ runbooks are safe to paste', { timeout: 600_000 }, () => {
  // What the examples hold together, for the last test: the checks had something to look at.
  const readBlocks: string[] = [];
  const waits: { path: string; seconds: number; interval: number }[] = [];
  const awkTests: string[] = [];
  let kubectlWaits = 0;

  for (const example of EXAMPLES) {
    it(`${example}: every read ends its block, every wait loop is bounded, no comment, no zsh expansion`, async () => {
      // Given the example built through the whole pipeline
      const text = readFileSync(join(repoRoot(), `examples/${example}/platform.yaml`), 'utf8');
      const { files, issues } = await generate({ text, file: 'platform.yaml', chartVersions: {} });
      // Then neither check reports anything
      expect(
        issues
          .filter((issue) =>
            [
              'terminal-read-alone',
              'bounded-waits',
              'shell-comments',
              'zsh-expansions',
              'awk-numeric-equality',
              'guards-chained',
            ].includes(issue.code ?? ''),
          )
          .map((issue) => `${issue.output}: ${issue.message}`),
      ).toEqual([]);
      // And, read again here, no block goes on after its read and no wait loop lacks a bound
      const documents = files.filter(
        (file) => file.path.startsWith('clusters/') && file.path.endsWith('.md'),
      );
      expect(documents.length).toBeGreaterThan(0);
      const broken: string[] = [];
      for (const document of documents) {
        const path = `${example}: ${document.path}`;
        for (const block of shellBlocks(document.content)) {
          const late = readNotLast(block);
          if (late !== undefined) broken.push(`${path}:${late.line} read not last`);
          if (block.some((entry) => readsTerminal(entry.text))) readBlocks.push(path);
          for (const loop of waitLoops(block)) {
            if (!loop.bounded) broken.push(`${path}:${loop.line} unbounded wait`);
          }
          for (const wait of endlessWaits(block)) {
            broken.push(`${path}:${wait.line} ${wait.waits} without a --timeout`);
          }
          kubectlWaits += (
            joinedBlock(block).text.match(/kubectl (?:drain|.*rollout status)/g) ?? []
          ).length;
          for (const guard of unchainedGuards(block)) {
            broken.push(`${path}:${guard.line} guard not chained: ${guard.text.trim()}`);
          }
          for (const comment of commentLines(block)) {
            broken.push(`${path}:${comment.line} comment: ${comment.text.trim()}`);
          }
          for (const word of zshExpandedWords(block)) {
            broken.push(`${path}:${word.line} zsh expands ${word.word}`);
          }
          for (const awk of awkPrograms(joinedBlock(block).text)) {
            if (/[=!]=/.test(awk.program)) awkTests.push(path);
            for (const test of awkNumericEqualities(awk.program)) {
              broken.push(`${path} awk compares as numbers: ${test.text}`);
            }
          }
          for (const entry of block) {
            const wait = parseBoundedWait(entry.text);
            if (wait !== undefined) waits.push({ path, ...wait });
          }
        }
      }
      expect(broken).toEqual([]);
    });
  }

  it('the examples hold prompts, awk tests and bounded waits, with bounds longer than their intervals', () => {
    expect(readBlocks.length).toBeGreaterThan(0);
    expect(awkTests.length).toBeGreaterThan(0);
    expect(kubectlWaits).toBeGreaterThan(0);
    expect(waits.length).toBeGreaterThan(0);
    // Every example's runbook bootstraps etcd and waits for the API server with a bounded wait
    for (const example of EXAMPLES) {
      expect(waits.some((wait) => wait.path.startsWith(`${example}: `))).toBe(true);
    }
    for (const wait of waits) {
      expect(wait.seconds).toBeGreaterThan(wait.interval);
      expect(wait.seconds).toBeLessThanOrEqual(4 * 60 * 60);
    }
  });
});
