import { describe, expect, it } from 'vitest';
import { loadBalancerPoolBlocks } from './lb-ipam.js';
import type { JsonValue, KubeObject } from './types.js';

const pool = (spec: { [key: string]: JsonValue }): KubeObject => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumLoadBalancerIPPool',
  metadata: { name: 'lan' },
  spec,
});

const summary = (object: KubeObject) =>
  loadBalancerPoolBlocks(object).map((block) => ({
    text: block.text,
    size: String(block.last - block.first + 1n),
    reserved: block.reserved.map((value) => String(value - block.first)),
  }));

describe('loadBalancerPoolBlocks', () => {
  it('keeps the first and last address of a CIDR block of four or more under "No"', () => {
    const blocks = [{ cidr: '192.168.1.240/28' }, { cidr: '192.168.1.252/30' }];
    expect(summary(pool({ blocks, allowFirstLastIPs: 'No' }))).toEqual([
      { text: '192.168.1.240/28', size: '16', reserved: ['0', '15'] },
      { text: '192.168.1.252/30', size: '4', reserved: ['0', '3'] },
    ]);
    expect(summary(pool({ blocks }))).toEqual([
      { text: '192.168.1.240/28', size: '16', reserved: [] },
      { text: '192.168.1.252/30', size: '4', reserved: [] },
    ]);
    expect(summary(pool({ blocks, allowFirstLastIPs: 'Yes' }))[0]?.reserved).toEqual([]);
  });

  it('keeps nothing of a /31, a /32 or a start-to-stop range, whatever the pool says', () => {
    const blocks = [
      { cidr: '10.0.0.254/31' },
      { cidr: '10.0.0.9/32' },
      { start: '10.0.1.0', stop: '10.0.1.255' },
      { cidr: 'fd00::/126' },
      { cidr: 'fd00::4/127' },
    ];
    expect(summary(pool({ blocks, allowFirstLastIPs: 'No' }))).toEqual([
      { text: '10.0.0.254/31', size: '2', reserved: [] },
      { text: '10.0.0.9/32', size: '1', reserved: [] },
      { text: '10.0.1.0-10.0.1.255', size: '256', reserved: [] },
      { text: 'fd00::/126', size: '4', reserved: ['0', '3'] },
      { text: 'fd00::4/127', size: '2', reserved: [] },
    ]);
  });

  it('reads a block as LB IPAM does: cidr first, a start alone as one address, bad blocks left out', () => {
    const blocks = [
      { cidr: '10.0.0.0/30', start: '10.9.9.9', stop: '10.9.9.10' },
      { start: '10.0.2.7' },
      { start: '10.0.2.7', stop: '' },
      { start: '10.0.3.9', stop: '10.0.3.1' },
      { start: '10.0.3.1', stop: 'fd00::1' },
      { cidr: 'not-a-cidr' },
      { cidr: '10.0.4.1/24' },
      'a string',
    ];
    expect(summary(pool({ blocks }))).toEqual([
      { text: '10.0.0.0/30', size: '4', reserved: [] },
      { text: '10.0.2.7-10.0.2.7', size: '1', reserved: [] },
      { text: '10.0.2.7-10.0.2.7', size: '1', reserved: [] },
      { text: '10.0.4.0/24', size: '256', reserved: [] },
    ]);
    expect(loadBalancerPoolBlocks(pool({}))).toEqual([]);
  });
});
