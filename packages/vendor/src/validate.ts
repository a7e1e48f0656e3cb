// Checks of a pin list before anything is fetched or written: every pin names a safe place under
// vendor/, a URL we can fetch, an SPDX licence, and no two pins claim the same file.
import { error, type Issue, type UpstreamPin, vendorPath } from '@homelab/core';
import { SPDX_EXPRESSION } from './licence.js';
import { LOCK_FILE } from './lock.js';
import { isSafeRelativePath } from './paths.js';

/** One path segment: a chart name or version (`cilium`, `v1.21.1`, `1.0.0-rc.1+build`). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Issues of a pin list (path `pins[i].<field>`); `[]` when every pin can be synced. */
export function pinIssues(pins: readonly UpstreamPin[]): Issue[] {
  const issues: Issue[] = [];
  const owners = new Map<string, number>();
  pins.forEach((pin, i) => {
    const at = (field: string) => `pins[${i}].${field}`;
    const bad = (field: string, value: unknown, message: string, expected: string) =>
      issues.push(
        error({ code: 'pin-invalid', path: [], output: at(field), value, message, expected }),
      );
    if (pin.kind === 'helm-chart') {
      if (!SEGMENT.test(pin.name)) {
        bad('name', pin.name, 'is not a chart name', 'letters, digits, ".", "_", "-"');
      }
      if (!SEGMENT.test(pin.version)) {
        bad(
          'version',
          pin.version,
          'is not a chart version',
          'a version such as 1.18.12 or v1.21.1',
        );
      }
      if (!isHttpUrl(pin.repository)) {
        bad(
          'repository',
          pin.repository,
          'is not an HTTP(S) Helm repository URL',
          'https://<host>/<path> (OCI registries are not supported)',
        );
      }
    } else if (pin.kind === 'file') {
      if (!isSafeRelativePath(pin.path) || pin.path === LOCK_FILE) {
        bad(
          'path',
          pin.path,
          'is not a path inside vendor/',
          'e.g. upstream/talos/v1.12.11/config.schema.json',
        );
      } else if (pin.path.endsWith('.tgz') && pin.path.startsWith('charts/')) {
        bad('path', pin.path, 'looks like a chart archive', 'a helm-chart pin for chart archives');
      }
      if (!isHttpUrl(pin.url)) {
        bad('url', pin.url, 'is not an HTTP(S) URL', 'where upstream publishes the file');
      }
      if (pin.version === '') bad('version', pin.version, 'is empty', 'the upstream release');
    } else {
      const kind = (pin as { kind?: unknown }).kind;
      bad('kind', kind, 'is not a pin kind', '"helm-chart" or "file"');
      return;
    }
    if (!SPDX_EXPRESSION.test(pin.licence)) {
      bad('licence', pin.licence, 'is not an SPDX licence expression', 'e.g. Apache-2.0, AGPL-3.0');
    }
    const path = vendorPath(pin);
    const first = owners.get(path);
    if (first === undefined) owners.set(path, i);
    else {
      issues.push(
        error({
          code: 'pin-duplicate',
          path: [],
          output: `pins[${i}]`,
          value: path,
          message: `claims the same vendor file as pins[${first}]`,
          expected: 'one pin per file',
        }),
      );
    }
  });
  // A file cannot also be a folder of another pin's file.
  const paths = [...owners.keys()].sort();
  for (const path of paths) {
    const inside = paths.find((other) => other.startsWith(`${path}/`));
    if (inside === undefined) continue;
    issues.push(
      error({
        code: 'pin-duplicate',
        path: [],
        output: `pins[${owners.get(inside)}]`,
        value: inside,
        message: `lies inside the file of pins[${owners.get(path)}] (${path})`,
        expected: 'pins whose files do not nest',
      }),
    );
  }
  return issues;
}

/** A short description of a pin for error messages. */
export function describePin(pin: UpstreamPin): string {
  return pin.kind === 'helm-chart'
    ? `chart ${pin.name} ${pin.version} (${pin.repository})`
    : `file ${pin.path} ${pin.version} (${pin.url})`;
}
