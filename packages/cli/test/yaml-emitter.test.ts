// @homelab/core's direct YAML emitter writes every file of a build byte for byte as the `yaml`
// package's node model does: the reference platform and the single-node example are generated
// twice through the whole pipeline, once with `toYaml`/`toYamlDocuments` of core's yaml module
// replaced by the reference path (`toYamlReference`/`toYamlDocumentsReference`), and every
// generated file is compared. The module is replaced where every package imports it from (core's
// built yaml.js), so chart values, Chart.yaml, manifests and Talos documents all go through it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedFile } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it, vi } from 'vitest';
import { generate } from '../src/pipeline.js';

type Emit = (value: unknown, options?: object) => string;

const emitter = vi.hoisted(() => ({ reference: false, direct: 0, referenceCalls: 0 }));

vi.mock('../../core/dist/yaml.js', async (importOriginal) => {
  const actual = await importOriginal<Record<string, unknown>>();
  const pick =
    (direct: string, reference: string): Emit =>
    (value, options) => {
      if (emitter.reference) emitter.referenceCalls++;
      else emitter.direct++;
      return (actual[emitter.reference ? reference : direct] as Emit)(value, options);
    };
  // Values files and Talos documents are written with the canonical copy made in the same walk
  // (`toYamlWithData`): the reference path is the two steps it stands for, canonicalData then
  // the reference emitter.
  const canonicalData = actual.canonicalData as (value: unknown) => unknown;
  const templateMarkerIssues = actual.templateMarkerIssues as (value: unknown) => unknown[];
  const withData = (value: unknown, options?: object) => {
    if (!emitter.reference) {
      emitter.direct++;
      return (actual.toYamlWithData as (v: unknown, o?: object) => unknown)(value, options);
    }
    emitter.referenceCalls++;
    const data = canonicalData(value);
    return {
      text: (actual.toYamlReference as Emit)(data, options),
      data,
      templateMarker: templateMarkerIssues(value).length > 0,
    };
  };
  const documentsWithData = (values: readonly unknown[], options?: object) => {
    if (!emitter.reference) {
      emitter.direct++;
      return (actual.toYamlDocumentsWithData as (v: unknown, o?: object) => unknown)(
        values,
        options,
      );
    }
    emitter.referenceCalls++;
    const data = values.map(canonicalData);
    return { text: (actual.toYamlDocumentsReference as Emit)(data, options), data };
  };
  return {
    ...actual,
    toYaml: pick('toYaml', 'toYamlReference'),
    toYamlDocuments: pick('toYamlDocuments', 'toYamlDocumentsReference'),
    toYamlWithData: withData,
    toYamlDocumentsWithData: documentsWithData,
  };
});

async function build(example: string, reference: boolean): Promise<GeneratedFile[]> {
  const file = join(repoRoot(), 'examples', example, 'platform.yaml');
  emitter.reference = reference;
  try {
    const result = await generate({ text: readFileSync(file, 'utf8'), file, chartVersions: {} });
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    return result.files;
  } finally {
    emitter.reference = false;
  }
}

describe('the direct YAML emitter in the pipeline', () => {
  it.each(['reference', 'single-node'])(
    'generates the %s example byte for byte as the reference emitter',
    async (example) => {
      emitter.direct = 0;
      emitter.referenceCalls = 0;
      const direct = await build(example, false);
      const directCalls = emitter.direct;
      const reference = await build(example, true);
      // Both runs went through the replaced module, each with its own emitter.
      expect(directCalls).toBeGreaterThan(50);
      expect(emitter.referenceCalls).toBe(directCalls);
      expect(emitter.direct).toBe(directCalls);
      expect(direct.map((file) => file.path)).toEqual(reference.map((file) => file.path));
      const yamlFiles = direct.filter((file) => file.path.endsWith('.yaml'));
      expect(yamlFiles.length).toBeGreaterThan(20);
      const differing = direct
        .filter((file, index) => file.content !== reference[index]?.content)
        .map((file) => file.path);
      expect(differing).toEqual([]);
    },
  );
});
