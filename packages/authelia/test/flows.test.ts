// The peers of the backends Authelia's settings name (core's one rule for a host).
import { describe, expect, it } from 'vitest';
import { addressPeer } from '../src/flows.js';

describe("Authelia's backend addresses", () => {
  it('a Service of the cluster is the pods behind it, on the address port; an address a network; a name by name', () => {
    expect(addressPeer('tcp://postgres.databases.svc.cluster.local:5432')).toEqual({
      peer: { kind: 'service', service: 'postgres', namespace: 'databases' },
      port: 5432,
    });
    expect(addressPeer('ldap://lldap.auth-users.svc.lab.internal:3890', 'lab.internal')).toEqual({
      peer: { kind: 'service', service: 'lldap', namespace: 'auth-users' },
      port: 3890,
    });
    expect(addressPeer('ldaps://192.168.1.20')).toEqual({
      peer: { kind: 'cidr', cidr: '192.168.1.20/32' },
      port: 636,
    });
    expect(addressPeer('submissions://smtp.example.com:465')).toEqual({
      peer: { kind: 'fqdn', name: 'smtp.example.com' },
      port: 465,
    });
  });
});
