import { describe, expect, test } from 'vitest';
import {
  cidrContains,
  cidrContainsCidr,
  cidrSize,
  cidrsOverlap,
  firstUsable,
  isDnsName,
  isIp,
  isIpv4,
  isIpv6,
  lastUsable,
  nthAddress,
  parseCidr,
  parseIp,
} from './net.js';

describe('addresses', () => {
  test('a DNS name is dot-separated labels of letters, digits and inner hyphens', () => {
    expect(isDnsName('kube.lab.example.com')).toBe(true);
    expect(isDnsName('Kube-API.example.com')).toBe(true);
    expect(isDnsName('kube')).toBe(true);
    expect(isDnsName('xinj.example.com;id')).toBe(false);
    expect(isDnsName("xq'$(id)'x")).toBe(false);
    expect(isDnsName('-kube.example.com')).toBe(false);
    expect(isDnsName('kube..example.com')).toBe(false);
    expect(isDnsName('kube.example.com.')).toBe(false);
    expect(isDnsName(`${'a'.repeat(64)}.example.com`)).toBe(false);
    expect(isDnsName('10.0.0.300')).toBe(false);
    expect(isDnsName('')).toBe(false);
  });

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
