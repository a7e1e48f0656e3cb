import { describe, expect, test } from 'vitest';
import {
  cidrContains,
  cidrContainsCidr,
  cidrSize,
  cidrsOverlap,
  DNS_NAME_MAX_LENGTH,
  firstUsable,
  isDnsLabel,
  isDnsName,
  isIp,
  isIpv4,
  isIpv6,
  lastUsable,
  nthAddress,
  parseCidr,
  parseIp,
} from './net.js';

// Three labels of 63 characters and a last one of `last`: 192 + `last` characters.
function longName(last: number): string {
  return ['a', 'b', 'c']
    .map((c) => c.repeat(63))
    .concat('d'.repeat(last))
    .join('.');
}

describe('DNS names', () => {
  test.each([
    ['nas', true],
    ['a', true],
    ['0', true],
    ['1nas', true],
    ['a-b', true],
    ['xn--bcher-kva', true],
    ['a'.repeat(63), true],
    ['', false],
    ['a'.repeat(64), false],
    ['-nas', false],
    ['nas-', false],
    ['Nas', false],
    ['nas_1', false],
    ['*', false],
    ['a.b', false],
  ])('isDnsLabel(%j) is %s', (label, accepted) => {
    expect(isDnsLabel(label)).toBe(accepted);
  });

  test.each([
    ['kube.lab.example.com', true],
    ['a.b', true],
    ['3com.com', true],
    ['host.example.3com', true],
    ['10.0.0.1a', true],
    ['xn--bcher-kva.example', true],
    [longName(61), true],
    [longName(62), false],
    ['', false],
    ['kube', false],
    ['Kube-API.example.com', false],
    ['kube.example.com.', false],
    ['.kube.example.com', false],
    ['kube..example.com', false],
    ['-kube.example.com', false],
    ['kube-.example.com', false],
    [`${'a'.repeat(64)}.example.com`, false],
    ['_sip._tcp.example.com', false],
    ['10.0.0.300', false],
    ['10.0.0.1', false],
    ['example.123', false],
    ['*.example.com', false],
    ['xinj.example.com;id', false],
    ["xq'$(id)'x", false],
    ['kube example.com', false],
    ['kube.exämple.com', false],
  ])('isDnsName(%j) is %s', (name, accepted) => {
    expect(isDnsName(name)).toBe(accepted);
  });

  test.each([
    ['kube', true],
    ['lan', true],
    ['1nas', true],
    ['kube.lab.example.com', true],
    ['123', false],
    ['Kube', false],
    ['kube.', false],
    ['*.lan', false],
  ])('isDnsName(%j, { singleLabel: true }) is %s', (name, accepted) => {
    expect(isDnsName(name, { singleLabel: true })).toBe(accepted);
  });

  test.each([
    ['*.example.com', true],
    ['*.github.com', true],
    ['api.example.com', true],
    [`*.${longName(59)}`, true],
    [`*.${longName(60)}`, false],
    ['*.com', false],
    ['*', false],
    ['*.*.example.com', false],
    ['**.example.com', false],
    ['api.*.example.com', false],
    ['*example.com', false],
    ['sub*.example.com', false],
    ['*.Example.com', false],
    ['*.example.com.', false],
  ])('isDnsName(%j, { wildcard: true }) is %s', (name, accepted) => {
    expect(isDnsName(name, { wildcard: true })).toBe(accepted);
  });

  test.each([
    ['*.lan', true],
    ['lan', true],
    ['*', false],
    ['*.123', false],
  ])('isDnsName(%j, { wildcard: true, singleLabel: true }) is %s', (name, accepted) => {
    expect(isDnsName(name, { wildcard: true, singleLabel: true })).toBe(accepted);
  });

  test('the length limit counts the text as written, a wildcard included', () => {
    // Given a name of the longest length and the same name behind a wildcard
    const name = longName(61);
    expect(name).toHaveLength(DNS_NAME_MAX_LENGTH);
    expect(DNS_NAME_MAX_LENGTH).toBe(253);
    // Then the name is one, and the pattern, 255 characters, is not
    expect(isDnsName(name, { wildcard: true })).toBe(true);
    expect(isDnsName(`*.${name}`, { wildcard: true })).toBe(false);
  });
});

describe('addresses', () => {
  test('strict IPv4 accepts dotted quads only', () => {
    expect(isIpv4('10.0.0.1')).toBe(true);
    expect(isIpv4('255.255.255.255')).toBe(true);
    expect(isIpv4('10.1')).toBe(false);
    expect(isIpv4('0x0a.0.0.1')).toBe(false);
    expect(isIpv4('256.0.0.1')).toBe(false);
    expect(isIpv4('10.0.0.1/24')).toBe(false);
  });

  test('IPv6 accepts compressed forms and refuses zone indexes', () => {
    expect(isIpv6('fd00::1')).toBe(true);
    expect(isIpv6('2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(isIpv6('fe80::1%eth0')).toBe(false);
    expect(isIpv6('10.0.0.1')).toBe(false);
    expect(isIp('fd00::1')).toBe(true);
    expect(isIp('not-an-ip')).toBe(false);
  });

  test('parseIp canonicalises IPv6 to RFC 5952', () => {
    expect(parseIp('2001:DB8:0:0:0:0:0:1')?.text).toBe('2001:db8::1');
    expect(parseIp('10.0.0.1')).toEqual({ version: 4, value: 0x0a000001n, text: '10.0.0.1' });
    expect(parseIp('nope')).toBeUndefined();
  });
});

describe('parseCidr', () => {
  test('IPv4 text round-trips at both ends of the range (the direct dotted-quad formatter)', () => {
    expect(parseIp('255.255.255.255')?.text).toBe('255.255.255.255');
    expect(parseIp('128.0.0.1')?.value).toBe(0x80000001n);
    expect(parseCidr('0.0.0.0/0')?.text).toBe('0.0.0.0/0');
    expect(parseCidr('192.168.255.255/16')?.text).toBe('192.168.0.0/16');
    expect(lastUsable('10.255.255.0/24')).toBe('10.255.255.254');
  });

  test('a memoised parse is shared and frozen, so no caller can change what another reads', () => {
    const first = parseCidr('10.20.0.0/16');
    expect(parseCidr('10.20.0.0/16')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(parseIp('10.20.0.1'))).toBe(true);
    expect(parseCidr('not a network')).toBeUndefined();
    expect(parseCidr('not a network')).toBeUndefined();
  });

  test('gives the network bounds of an IPv4 CIDR', () => {
    const cidr = parseCidr('10.244.0.0/16');
    expect(cidr).toMatchObject({ version: 4, prefix: 16, size: 65536n, text: '10.244.0.0/16' });
    expect(cidr?.hostBitsSet).toBe(false);
  });

  test('flags host bits and names the corrected network', () => {
    expect(parseCidr('10.0.0.1/24')).toMatchObject({ hostBitsSet: true, text: '10.0.0.0/24' });
    expect(parseCidr('fd00::1/64')).toMatchObject({ hostBitsSet: true, text: 'fd00::/64' });
  });

  test('refuses malformed CIDRs', () => {
    for (const text of [
      '10.244.0.0/33',
      '10.244.0.0',
      '10.244.0.0/',
      '10.244.0.0/016',
      'fd00::/129',
      'x/8',
      '10.0.0.0/8/8',
      ' 10.0.0.0/8',
    ]) {
      expect(parseCidr(text), text).toBeUndefined();
    }
  });

  test('handles /0 and /128', () => {
    expect(parseCidr('0.0.0.0/0')?.size).toBe(2n ** 32n);
    expect(parseCidr('::1/128')?.size).toBe(1n);
  });
});

describe('containment and overlap', () => {
  test('cidrContains checks bounds and IP version', () => {
    expect(cidrContains('10.10.10.0/25', '10.10.10.127')).toBe(true);
    expect(cidrContains('10.10.10.0/25', '10.10.10.128')).toBe(false);
    expect(cidrContains('fd00::/64', 'fd00::ffff')).toBe(true);
    expect(cidrContains('fd00::/64', '10.0.0.1')).toBe(false);
    expect(cidrContains('garbage', '10.0.0.1')).toBe(false);
  });

  test('cidrsOverlap is true exactly when a shared address exists', () => {
    expect(cidrsOverlap('10.244.0.0/16', '10.244.128.0/17')).toBe(true);
    expect(cidrsOverlap('10.2.1.0/27', '10.2.1.16/28')).toBe(true);
    expect(cidrsOverlap('10.2.1.0/27', '10.2.1.32/27')).toBe(false);
    expect(cidrsOverlap('10.96.0.0/12', '10.112.0.0/12')).toBe(false);
    expect(cidrsOverlap('fd00::/8', 'fd12::/16')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/8', 'fd00::/8')).toBe(false);
  });

  test('cidrContainsCidr requires the whole inner range', () => {
    expect(cidrContainsCidr('10.10.10.0/24', '10.10.10.224/27')).toBe(true);
    expect(cidrContainsCidr('10.10.10.0/25', '10.10.10.224/27')).toBe(false);
  });
});

describe('usable addresses', () => {
  test('IPv4 skips the network and broadcast addresses', () => {
    expect(firstUsable('10.10.10.0/24')).toBe('10.10.10.1');
    expect(lastUsable('10.10.10.0/24')).toBe('10.10.10.254');
  });

  test('point-to-point and host networks use every address', () => {
    expect(firstUsable('10.0.0.0/31')).toBe('10.0.0.0');
    expect(lastUsable('10.0.0.0/31')).toBe('10.0.0.1');
    expect(firstUsable('10.0.0.7/32')).toBe('10.0.0.7');
  });

  test('IPv6 has no broadcast address', () => {
    expect(firstUsable('fd00::/64')).toBe('fd00::1');
    expect(lastUsable('fd00::/120')).toBe('fd00::ff');
  });

  test('nthAddress stays inside the network', () => {
    expect(nthAddress('10.30.20.0/27', 31)).toBe('10.30.20.31');
    expect(nthAddress('10.30.20.0/27', 32)).toBeUndefined();
    expect(nthAddress('10.30.20.0/27', -1)).toBeUndefined();
    expect(cidrSize('10.30.20.0/27')).toBe(32n);
    expect(cidrSize('bad')).toBeUndefined();
  });
});
