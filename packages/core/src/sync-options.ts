// An object's own Argo CD sync options (`argocd.argoproj.io/sync-options`, a comma list), read and
// merged. Pure.
import type { KubeObject } from './types.js';

export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

/**
 * The option that lets Argo CD prune an object the definition drops from an Application that
 * syncs with `Prune=false` (a critical one): gitops-engine v3.4 `isPruningDisabled` reads the live
 * object's own `Prune` option before the Application's default, and the automated sync policy
 * prunes (`prune: true`).
 */
export const PRUNE = 'Prune=true';

/** The options of a comma list (maybe absent), trimmed, empty ones left out. */
function splitOptions(options: string | undefined): string[] {
  return (options ?? '')
    .split(',')
    .map((option) => option.trim())
    .filter((option) => option !== '');
}

/** The options of an object's own sync-options annotation, trimmed, empty ones left out. */
export function objectSyncOptions(object: KubeObject): string[] {
  return splitOptions(object.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION]);
}

/**
 * `options` (a comma list, maybe absent) with `option` added, unless an option of the same name
 * (`Prune=` for `Prune=true`) is already there: a choice made where the object is made stays.
 */
export function mergeSyncOption(options: string | undefined, option: string): string {
  const list = splitOptions(options);
  const name = option.slice(0, option.indexOf('=') + 1);
  if (list.some((entry) => entry.startsWith(name))) return list.join(',');
  return [...list, option].join(',');
}

/** A copy of `object` whose sync options include `option` (merged as `mergeSyncOption` does). */
export function withSyncOption(object: KubeObject, option: string): KubeObject {
  const annotations = object.metadata.annotations ?? {};
  return {
    ...object,
    metadata: {
      ...object.metadata,
      annotations: {
        ...annotations,
        [SYNC_OPTIONS_ANNOTATION]: mergeSyncOption(annotations[SYNC_OPTIONS_ANNOTATION], option),
      },
    },
  };
}
