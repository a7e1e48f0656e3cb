import type { GeneratedFile } from '@homelab/core';

/** File content as the build produced it: text (UTF-8) or raw bytes (e.g. a vendored subchart). */
export type FileContent = string | Uint8Array;

/** A chart folder's files, by path relative to the folder (POSIX separators). */
export type ChartFiles =
  | ReadonlyMap<string, FileContent>
  | readonly GeneratedFile[]
  | readonly { readonly path: string; readonly content: FileContent }[];

const encoder = new TextEncoder();

export function toBytes(content: FileContent): Uint8Array {
  return typeof content === 'string' ? encoder.encode(content) : content;
}

/** Compares strings by UTF-16 code unit: independent of locale, unlike `localeCompare`. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The files as `[path, content]` pairs sorted by path; rejects duplicate paths. */
export function sortedEntries(files: ChartFiles): [string, FileContent][] {
  const entries: [string, FileContent][] =
    files instanceof Map
      ? [...(files as ReadonlyMap<string, FileContent>).entries()]
      : (files as readonly { path: string; content: FileContent }[]).map((f) => [
          f.path,
          f.content,
        ]);
  const seen = new Set<string>();
  for (const [path] of entries) {
    if (seen.has(path)) throw new Error(`duplicate file path in chart: ${path}`);
    seen.add(path);
  }
  return entries.sort(([a], [b]) => compareCodeUnits(a, b));
}
