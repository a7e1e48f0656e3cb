import { createHash } from 'node:crypto';

/** The longest name of a Kubernetes object (a DNS label), Cilium's `k8sMaxResourceNameLength`. */
const MAX_RESOURCE_NAME = 63;

/**
 * A name as Cilium v1.19.6 shortens it (pkg/shortener `ShortenK8sResourceName`): one longer than
 * 63 characters becomes its first 52, a dash and ten characters of its SHA-256 in hex with
 * `0 1 3 a e` spelled `g h k m t` (kubectl's hash encoding, so the name stays a DNS label). The
 * operator names a Gateway's Service `cilium-gateway-<name>` shortened so, and labels it with the
 * Gateway's name shortened so (operator/pkg/model/translation/gateway-api/translator.go). Names
 * are DNS subdomains, so characters and bytes are one.
 */
export function shortenK8sResourceName(name: string): string {
  if (name.length <= MAX_RESOURCE_NAME) return name;
  const hex = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const encoded = hex.replace(/[013ae]/g, (digit) => HASH_LETTERS[digit] ?? digit);
  return `${name.slice(0, MAX_RESOURCE_NAME - 10 - 1)}-${encoded}`;
}

const HASH_LETTERS: Readonly<Record<string, string>> = { 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' };
