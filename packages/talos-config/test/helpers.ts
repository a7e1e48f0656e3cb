import { type GeneratedFile, parseAllDocuments } from '@homelab/core';

export function file(files: readonly GeneratedFile[], path: string): string {
  const found = files.find((f) => f.path === path);
  if (found === undefined) {
    throw new Error(`${path} not generated; have ${files.map((f) => f.path).join(', ')}`);
  }
  return found.content;
}

// biome-ignore lint/suspicious/noExplicitAny: test access into parsed YAML
export type Doc = any;

/** Every YAML document of a generated file, as plain data. */
export function docs(files: readonly GeneratedFile[], path: string): Doc[] {
  return parseAllDocuments(file(files, path)) as Doc[];
}

/** The document of `kind`, or the v1alpha1 partial (no kind) when `kind` is undefined. */
export function doc(files: readonly GeneratedFile[], path: string, kind?: string): Doc {
  const found = docs(files, path).filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`${path}: ${found.length} documents of kind ${kind}`);
  return found[0];
}
