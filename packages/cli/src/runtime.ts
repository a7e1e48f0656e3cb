// The real runtime of the CLI, imported lazily (`--help` and usage errors never load it).
import { diffTree, formatIssue, readChartVersions, writeTree } from '@homelab/core';
import { generate } from './pipeline.js';
import type { Runtime } from './runtime-types.js';

export const runtime: Runtime = {
  generate,
  readChartVersions,
  writeTree: (outRoot, files) => {
    const plan = writeTree(outRoot, files);
    const generated = new Set(files.map((file) => file.path));
    return {
      written: plan.written.filter((path) => generated.has(path)).length,
      unchanged: plan.unchanged.length,
      removed: plan.removed.length,
      created: plan.written.filter((path) => !generated.has(path)),
    };
  },
  diffTree,
  formatIssue,
};
