import type { KubeObject, Values } from '@homelab/core';

/** Locale-independent string order (UTF-16 code units), for every sort in the output. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The values sorted and without duplicates. */
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareStrings);
}

/** KubeObjects are plain JSON data; their type only names the fields we rely on. */
export function manifestMap(objects: { readonly [name: string]: KubeObject }): Values {
  return objects as unknown as Values;
}
