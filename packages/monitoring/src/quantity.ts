// Sizes and durations as Kubernetes and Prometheus read them. Pure.

const KUBERNETES_UNITS: { readonly [unit: string]: number } = {
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** Bytes of a Kubernetes quantity with a binary or decimal unit (`50Gi`, `20G`). */
export function kubernetesBytes(quantity: string): number | undefined {
  const match = /^([0-9]+)(Mi|Gi|Ti|M|G|T)$/.exec(quantity);
  if (match === null) return undefined;
  return Number(match[1]) * (KUBERNETES_UNITS[match[2] as string] as number);
}

/**
 * Bytes of a Prometheus byte size (`--storage.tsdb.retention.size`, the operator's
 * `retentionSize`): Prometheus parses it with base-2 units, so `GB` and `GiB` both mean 2^30.
 */
export function prometheusBytes(size: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/.exec(size);
  if (match === null) return undefined;
  const exponent = { B: 0, K: 1, M: 2, G: 3, T: 4 }[(match[2] as string)[0] as 'B'];
  return Number(match[1]) * 1024 ** exponent;
}

/** A byte count as the largest whole base-2 Prometheus unit (`40GiB`, `7680MiB`). */
export function formatPrometheusBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
  let exponent = 4;
  while (exponent > 0 && bytes % 1024 ** exponent !== 0) exponent--;
  return `${bytes / 1024 ** exponent}${units[exponent]}`;
}

const DURATION_UNITS: readonly (readonly [string, number])[] = [
  ['y', 365 * 86400],
  ['w', 7 * 86400],
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
  ['ms', 0.001],
];

/** Seconds of a Prometheus duration (`1h30m`), `undefined` when it is not one. */
export function durationSeconds(duration: string): number | undefined {
  const match =
    /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/.exec(
      duration,
    );
  if (match === null || duration === '') return undefined;
  let seconds = 0;
  DURATION_UNITS.forEach(([, factor], i) => {
    const value = match[i + 1];
    if (value !== undefined) seconds += Number(value) * factor;
  });
  return seconds;
}
