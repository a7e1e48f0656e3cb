// The reference platform (examples/reference/platform.yaml) as the Cilium upgrade tests build
// it: every cluster on Kubernetes 1.33, the one release Cilium 1.18 (1.30–1.33), 1.19 (1.32–1.35)
// and 1.20 (1.33–1.36) all support; `components.cilium` with a version of the test's choosing;
// and `text` built over the charts a build of `over` wrote (the last build the clusters run).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { expect } from 'vitest';
import { generate } from '../src/pipeline.js';
import { chartsOf } from './last-build.js';

const K8S = 'version: 1.34.4';
const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
if (reference.split(K8S).length !== 4) throw new Error('the clusters do not run Kubernetes 1.34.4');
/** The reference, every cluster on Kubernetes 1.33.7. */
export const definition = reference.replaceAll(K8S, 'version: 1.33.7');
const CILIUM = '  cilium:\n    gatewayApi: true\n';
if (!definition.includes(CILIUM)) throw new Error("cilium's settings are not in the definition");

/**
 * The reference with `components.cilium.version` (on the line after `cilium:`) and, when given,
 * `upgradeCompatibility` (on the line after that).
 */
export function withCilium(version: string, compatibility?: string): string {
  const line = compatibility === undefined ? '' : `    upgradeCompatibility: "${compatibility}"\n`;
  return definition.replace(
    CILIUM,
    `  cilium:\n    version: ${version}\n${line}    gatewayApi: true\n`,
  );
}

/** The 1-based line of `cilium:` under the top-level components. */
export const CILIUM_LINE = definition.slice(0, definition.indexOf(CILIUM)).split('\n').length;

/** `text` built over the charts a build of `over` wrote. */
export async function buildOver(text: string, over: string) {
  const previous = await generate({ text: over, file: 'platform.yaml', chartVersions: {} });
  expect(previous.files.length).toBeGreaterThan(0);
  return generate({
    text,
    file: 'platform.yaml',
    chartVersions: {},
    previousChart: chartsOf(previous.files),
  });
}
