// The data each generated YAML file was emitted from (as parsing the file would read it back),
// by file object: readers of the output (the system checks) skip parsing it. A copy of the file
// object, or a file changed after the build (tests reintroducing a fault), is parsed. Pure.
import type { GeneratedFile, Values } from './types.js';
import {
  parseAllDocuments,
  parseYaml,
  type ToYamlOptions,
  toYamlDocumentsWithData,
  toYamlWithData,
} from './yaml.js';

type Emitted =
  | { readonly kind: 'values'; readonly data: Values }
  | { readonly kind: 'documents'; readonly data: readonly unknown[] };

const emitted = new WeakMap<GeneratedFile, Emitted>();

/** A values file (`toYaml` of one mapping) that remembers the values it holds. */
export function yamlValuesFile(
  path: string,
  values: Values,
  options: ToYamlOptions = {},
): GeneratedFile {
  return emitValuesFile(path, values, options).file;
}

/**
 * `yamlValuesFile`, and whether a key or string of `values` contains `{{` (the chart files'
 * marker check walks only the values that do). Internal to core.
 */
export function emitValuesFile(
  path: string,
  values: Values,
  options: ToYamlOptions = {},
): { file: GeneratedFile; templateMarker: boolean } {
  // The canonical copy and the text emitted from it, made in one walk of the values.
  const { text, data, templateMarker } = toYamlWithData(values, options);
  const file = { path, content: text };
  emitted.set(file, { kind: 'values', data: data as Values });
  return { file, templateMarker };
}

/** A file of YAML documents (`toYamlDocuments`) that remembers the documents it holds. */
export function yamlDocumentsFile(
  path: string,
  documents: readonly unknown[],
  options: ToYamlOptions = {},
): GeneratedFile {
  const { text, data } = toYamlDocumentsWithData(documents, options);
  const file = { path, content: text };
  emitted.set(file, { kind: 'documents', data });
  return file;
}

/** The values a file of `yamlValuesFile` holds, when this file object came from there. */
export function emittedValues(file: GeneratedFile): Values | undefined {
  const entry = emitted.get(file);
  return entry?.kind === 'values' ? entry.data : undefined;
}

/** The documents a file of `yamlDocumentsFile` holds, when this file object came from there. */
export function emittedDocuments(file: GeneratedFile): readonly unknown[] | undefined {
  const entry = emitted.get(file);
  return entry?.kind === 'documents' ? entry.data : undefined;
}

/** A generated values file's data: what it was emitted from, else its parsed text. */
export function fileValues(file: GeneratedFile): unknown {
  return emittedValues(file) ?? parseYaml(file.content);
}

/** A generated multi-document file's documents: what it was emitted from, else its parsed text. */
export function fileDocuments(file: GeneratedFile): readonly unknown[] {
  return emittedDocuments(file) ?? parseAllDocuments(file.content);
}
