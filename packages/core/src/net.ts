// Small, strict IPv4/IPv6 address and CIDR helpers. Pure; parsing through ipaddr.js, arithmetic
// on bigints so that IPv6 works the same as IPv4.
import ipaddr from 'ipaddr.js';

export type IpVersion = 4 | 6;

/** A parsed IP address. */
export interface IpAddress {
  readonly version: IpVersion;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
  /** Canonical text: dotted quad for IPv4, RFC 5952 for IPv6. */
  readonly text: string;
}

/** A parsed network in CIDR notation. */
export interface Cidr {
  readonly version: IpVersion;
  readonly prefix: number;
  /** First address of the network (host bits cleared). */
  readonly first: bigint;
  /** Last address of the network (host bits set; the broadcast address for IPv4). */
  readonly last: bigint;
  /** Number of addresses in the network. */
  readonly size: bigint;
  /** Canonical text of the network: `<first address>/<prefix>`. */
  readonly text: string;
  /** True when the written address had host bits set (`10.0.0.1/24`): `text` is the corrected form. */
  readonly hostBitsSet: boolean;
}

const BITS: { readonly [V in IpVersion]: number } = { 4: 32, 6: 128 };

function toBigInt(bytes: readonly number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function fromBigInt(version: IpVersion, value: bigint): string {
  if (version === 4) {
    // Dotted quad directly: no byte array, no ipaddr.js object (this runs for every parse).
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  }
  const bytes: number[] = [];
  let rest = value;
  for (let i = 0; i < BITS[version] / 8; i++) {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  }
  const address = ipaddr.fromByteArray(bytes);
  return address.kind() === 'ipv6'
    ? (address as ipaddr.IPv6).toRFC5952String()
    : address.toString();
}

/** Strict IPv4: four decimal parts (no `10.1`, no hex or octal forms). */
export function isIpv4(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) && ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** IPv6 without a zone index (`fe80::1%eth0` is not a platform address). */
export function isIpv6(text: string): boolean {
  return !text.includes('%') && text.includes(':') && ipaddr.IPv6.isValid(text);
}

export function isIp(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

/** The longest DNS name as text, without the trailing dot: RFC 1035's 255 octets on the wire. */
export const DNS_NAME_MAX_LENGTH = 253;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * A DNS label as the platform writes it: 1-63 lower-case letters, digits and `-`, a letter or
 * digit at each end (RFC 1123's host name label).
 */
export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

/** What a DNS name may be beyond the default, two or more labels. */
export interface DnsNameOptions {
  /**
   * A name of one label (`nas`, `lan`) counts: a LAN's resolver may answer for it, a CoreDNS
   * zone may be one. Not for a toFQDNs rule: a pod's resolver first tries a short name through
   * its search path (`<name>.<namespace>.svc.<domain>` and on), so Cilium sees other names.
   */
  readonly singleLabel?: boolean;
  /**
   * One leading wildcard label, `*.` (`*.example.com`), may precede the name: a pattern as
   * Cilium's toFQDNs `matchPattern` takes it, matching one label at that place. No other `*`.
   */
  readonly wildcard?: boolean;
}

/**
 * Whether `text` is a DNS name in the platform's canonical form: DNS labels (`isDnsLabel`, lower
 * case) joined by single dots, two or more unless `singleLabel`, at most `DNS_NAME_MAX_LENGTH`
 * (253) characters in all (a wildcard's `*.` included), no trailing dot, and a last label that is
 * not all digits (RFC 3696 section 2: `10.0.0.300` is a mistyped IPv4 address, not a name). DNS
 * compares names case-insensitively (RFC 4343): check a host a person typed (a URL's) as
 * `isDnsName(host.toLowerCase())`. Underscores (`_sip._tcp`) are refused: they name services and
 * records, never a host.
 */
export function isDnsName(text: string, options: DnsNameOptions = {}): boolean {
  if (text.length === 0 || text.length > DNS_NAME_MAX_LENGTH) return false;
  const name = options.wildcard === true && text.startsWith('*.') ? text.slice(2) : text;
  const labels = name.split('.');
  if (labels.length < 2 && options.singleLabel !== true) return false;
  if (!labels.every(isDnsLabel)) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

// Parses are memoised by their text: the checks ask about the same few dozen addresses and
// networks thousands of times per build (the reachability check tests every sampled pair against
// every CIDR rule). The results are frozen, so sharing them is safe; the maps are emptied when they
// grow large, which only a long-lived process reading many definitions reaches.
const MEMO_LIMIT = 65_536;
const ipMemo = new Map<string, IpAddress | undefined>();
const cidrMemo = new Map<string, Cidr | undefined>();

function remember<T>(memo: Map<string, T>, text: string, value: T): T {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(text, value);
  return value;
}

/** Parses an IPv4 or IPv6 address; `undefined` when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const known = ipMemo.get(text);
  if (known !== undefined || ipMemo.has(text)) return known;
  return remember(ipMemo, text, readIp(text));
}

function readIp(text: string): IpAddress | undefined {
  if (isIpv4(text)) {
    const value = toBigInt(ipaddr.IPv4.parse(text).toByteArray());
    return Object.freeze({ version: 4, value, text: fromBigInt(4, value) });
  }
  if (isIpv6(text)) {
    const value = toBigInt(ipaddr.IPv6.parse(text).toByteArray());
    return Object.freeze({ version: 6, value, text: fromBigInt(6, value) });
  }
  return undefined;
}

/**
 * Parses `address/prefix`. Host bits may be set (the result says so in `hostBitsSet` and gives the
 * corrected network in `text`); anything else that is not a CIDR gives `undefined`.
 */
export function parseCidr(text: string): Cidr | undefined {
  const known = cidrMemo.get(text);
  if (known !== undefined || cidrMemo.has(text)) return known;
  return remember(cidrMemo, text, readCidr(text));
}

function readCidr(text: string): Cidr | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const address = parseIp(match[1] ?? '');
  if (!address) return undefined;
  const prefix = Number(match[2]);
  const bits = BITS[address.version];
  if (!Number.isInteger(prefix) || prefix > bits || String(prefix) !== match[2]) return undefined;
  const hostBits = BigInt(bits - prefix);
  const size = 1n << hostBits;
  const first = (address.value >> hostBits) << hostBits;
  const last = first + size - 1n;
  return Object.freeze({
    version: address.version,
    prefix,
    first,
    last,
    size,
    text: `${fromBigInt(address.version, first)}/${prefix}`,
    hostBitsSet: first !== address.value,
  });
}

function asCidr(cidr: string | Cidr): Cidr | undefined {
  return typeof cidr === 'string' ? parseCidr(cidr) : cidr;
}

/** True when `address` lies in `cidr` (same IP version). False when either does not parse. */
export function cidrContains(cidr: string | Cidr, address: string): boolean {
  const network = asCidr(cidr);
  const ip = parseIp(address);
  if (!network || !ip || network.version !== ip.version) return false;
  return ip.value >= network.first && ip.value <= network.last;
}

/** True when every address of `inner` lies in `outer`. */
export function cidrContainsCidr(outer: string | Cidr, inner: string | Cidr): boolean {
  const a = asCidr(outer);
  const b = asCidr(inner);
  if (!a || !b || a.version !== b.version) return false;
  return b.first >= a.first && b.last <= a.last;
}

/** True when the two networks share at least one address (same IP version). */
export function cidrsOverlap(a: string | Cidr, b: string | Cidr): boolean {
  const x = asCidr(a);
  const y = asCidr(b);
  if (!x || !y || x.version !== y.version) return false;
  return x.first <= y.last && y.first <= x.last;
}

/** The `n`th address of the network (0 = network address); `undefined` when outside it. */
export function nthAddress(cidr: string | Cidr, n: bigint | number): string | undefined {
  const network = asCidr(cidr);
  if (!network) return undefined;
  const offset = BigInt(n);
  if (offset < 0n || offset >= network.size) return undefined;
  return fromBigInt(network.version, network.first + offset);
}

/**
 * First address a host can use: the one after the network address, except on point-to-point
 * (/31, /127) and single-host (/32, /128) networks where every address is usable.
 */
export function firstUsable(cidr: string | Cidr): string | undefined {
  const network = asCidr(cidr);
  if (!network) return undefined;
  return nthAddress(network, network.size <= 2n ? 0n : 1n);
}

/**
 * Last address a host can use: the one before the broadcast address for IPv4 (except /31, /32);
 * the last address for IPv6, which has no broadcast.
 */
export function lastUsable(cidr: string | Cidr): string | undefined {
  const network = asCidr(cidr);
  if (!network) return undefined;
  const back = network.version === 4 && network.size > 2n ? 2n : 1n;
  return nthAddress(network, network.size - back);
}

/** Number of addresses in the network, or `undefined` when it does not parse. */
export function cidrSize(cidr: string | Cidr): bigint | undefined {
  return asCidr(cidr)?.size;
}
