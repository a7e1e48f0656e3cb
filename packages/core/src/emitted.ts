// The documents each generated YAML file was emitted from (as `parseAllDocuments` would read them
// back), by file object: readers of the output (the system checks) skip parsing them. A copy of
// the file object, or a file changed after the build (tests reintroducing a fault), is parsed.
// Pure.
import type { GeneratedFile } from './types.js';
import { canonicalData, type ToYamlOptions, toYamlDocuments } from './yaml.js';

const emitted = new WeakMap<GeneratedFile, readonly unknown[]>();

/** A file of YAML documents (`toYamlDocuments`) that remembers the documents it holds. */
export function yamlDocumentsFile(
  path: string,
  documents: readonly unknown[],
  options: ToYamlOptions = {},
): GeneratedFile {
  const file = { path, content: toYamlDocuments(documents, options) };
  emitted.set(
    file,
    documents.map((document) => canonicalData(document)),
  );
  return file;
}

/** The documents a file of `yamlDocumentsFile` holds, when this file object came from there. */
export function emittedDocuments(file: GeneratedFile): readonly unknown[] | undefined {
  return emitted.get(file);
}
