// What the comparisons with the last build (`immutable-field-changed`, `crd-bundle-downgrade`,
// `cluster-network-changed`, `talos-upgrade-path`, `kubernetes-upgrade-path`) read, as the tests
// give it: a build's charts and cluster files standing for what the clusters run, and `homelab`
// run in a scratch folder with its stderr kept.
import type { GeneratedFile } from '@homelab/core';
import { type CliIo, run } from '../src/cli.js';

/** The chart folders of a build's files, as `readChart` reads them from disk. */
export function chartsOf(
  files: readonly GeneratedFile[],
): (chart: string) => Map<string, string> | undefined {
  return (chart) => {
    const prefix = `charts/${chart}/`;
    const found = files.filter((file) => file.path.startsWith(prefix));
    return found.length === 0
      ? undefined
      : new Map(found.map((file) => [file.path.slice(prefix.length), file.content]));
  };
}

/** The cluster folders of a build's files, as the runtime's `readClusterFiles` reads them. */
export function clustersOf(
  files: readonly GeneratedFile[],
): (cluster: string) => Map<string, string> | undefined {
  return (cluster) => {
    const prefix = `clusters/${cluster}/`;
    const found = files.filter((file) => file.path.startsWith(prefix));
    return found.some((file) => file.path === `${prefix}talos/controlplane.yaml`)
      ? new Map(found.map((file) => [file.path.slice(prefix.length), file.content]))
      : undefined;
  };
}

/**
 * `homelab build -c platform.yaml -o out` in `dir`, with `extra` arguments: its exit code, and
 * what it printed on stderr (`stderr()`, since the last call).
 */
export function buildIn(dir: string): {
  build: (...extra: string[]) => Promise<number>;
  stderr: () => string;
} {
  let stderr = '';
  const io: CliIo = {
    stdout: () => {},
    stderr: (text) => {
      stderr += text;
    },
    cwd: dir,
    env: {},
    isTTY: false,
  };
  return {
    build: (...extra) => {
      stderr = '';
      return run(['build', '-c', 'platform.yaml', '-o', 'out', ...extra], io);
    },
    stderr: () => stderr,
  };
}
