import { didYouMean, error, type Issue, type PathSegment, warning } from '@homelab/core';
import { OFFICIAL_EXTENSIONS } from './generated/official-extensions.js';
import { EXTENSION_NAME } from './requirements.js';
import type { TalosVersion } from './versions.js';

/**
 * The official system extensions a siderolabs/extensions Makefile builds: every `TARGETS` and
 * `NONFREE_TARGETS` entry, as the Image Factory names them (`siderolabs/<target>`), sorted.
 */
export function parseExtensionTargets(makefile: string): string[] {
  const names = new Set<string>();
  for (const line of makefile.split('\n')) {
    const match = /^(?:NONFREE_)?TARGETS\s*\+?=\s*(\S.*)$/.exec(line);
    if (match === null) continue;
    for (const target of (match[1] ?? '').trim().split(/\s+/)) names.add(`siderolabs/${target}`);
  }
  return [...names].sort();
}

/** Where an extension was asked for: the definition's `talos.extensions` entry, or a component. */
export interface ExtensionRequest {
  readonly name: string;
  readonly path: readonly PathSegment[];
  /** The component that asked for it; undefined for the definition's own `talos.extensions`. */
  readonly component?: string;
}

/**
 * Checks extension names against the official list of the pinned release of the cluster's Talos
 * line. The Image Factory takes any name in a schematic and only fails when it builds the ISO or
 * the installer, so a typo would surface at the runbook's download step. A name missing from the
 * list of exactly the cluster's release is an error; on another patch release of the line it is a
 * warning (extensions are added in patch releases).
 */
export function officialExtensionIssues(
  version: TalosVersion,
  requests: readonly ExtensionRequest[],
): Issue[] {
  const known = OFFICIAL_EXTENSIONS[version.line];
  if (known === undefined) return [];
  const names = new Set(known.names);
  const issues: Issue[] = [];
  for (const request of requests) {
    // A malformed name has its own issue (mergeTalosRequirements, the definition's schema).
    if (names.has(request.name) || !EXTENSION_NAME.test(request.name)) continue;
    const exact = version.tag === known.tag;
    // The releases of other lines that list it: an extension added (or dropped) by a minor release.
    const elsewhere = Object.entries(OFFICIAL_EXTENSIONS)
      .filter(([line, list]) => line !== version.line && list.names.includes(request.name))
      .map(([, list]) => list.tag);
    const suggestion = elsewhere.length > 0 ? undefined : didYouMean(request.name, known.names);
    const subject =
      request.component === undefined
        ? `"${request.name}"`
        : `${request.component} asks for the Talos system extension "${request.name}", which`;
    const message =
      `${subject} is not an official system extension of Talos ${known.tag}` +
      (elsewhere.length > 0
        ? ` (Talos ${elsewhere.join(', ')} lists it: its line's extensions differ)`
        : '') +
      (exact
        ? ''
        : ` (the list this build knows for ${version.line}; the cluster runs ${version.tag}, whose list may differ)`);
    const list = `the list: the Makefile's TARGETS at https://github.com/siderolabs/extensions/tree/${known.tag}`;
    const expected =
      elsewhere.length > 0
        ? `the cluster's talos.version on a line that lists it (${elsewhere.join(', ')}), or another extension for ${version.line} (${list})`
        : `${suggestion === undefined ? 'an official extension name' : `"${suggestion}"`} (${list})`;
    const issue = {
      path: request.path,
      message,
      value: request.name,
      expected,
      code: 'talos-extension',
    };
    issues.push(exact ? error(issue) : warning(issue));
  }
  return issues;
}
