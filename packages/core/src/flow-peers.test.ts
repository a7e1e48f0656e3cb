import { describe, expect, test } from 'vitest';
import {
  clusterServiceName,
  flowPeerPort,
  flowPeerPorts,
  hostFlowPeer,
  isKubeApiServerHost,
  KUBE_APISERVER_PORT,
  KUBE_APISERVER_PORTS,
  routedHostPeer,
  urlFlowPeer,
} from './flow-peers.js';

describe('urlFlowPeer', () => {
  test('a routed host of the Gateway zone is the Gateway, with the route label as host', () => {
    expect(urlFlowPeer('https://auth.lab.example.com', 'lab.example.com')).toEqual({
      peer: { kind: 'gateway', host: 'auth' },
      ports: [{ port: 443, protocol: 'TCP' }],
    });
    expect(urlFlowPeer('https://Auth.Lab.Example.com:8443/x', 'lab.example.com')).toEqual({
      peer: { kind: 'gateway', host: 'auth' },
      ports: [{ port: 8443, protocol: 'TCP' }],
    });
  });

  test('a deeper name, another zone or no Gateway: the host by name', () => {
    expect(urlFlowPeer('https://a.auth.lab.example.com', 'lab.example.com')?.peer).toEqual({
      kind: 'fqdn',
      name: 'a.auth.lab.example.com',
    });
    expect(urlFlowPeer('http://sso.example.org', 'lab.example.com')).toEqual({
      peer: { kind: 'fqdn', name: 'sso.example.org' },
      ports: [{ port: 80, protocol: 'TCP' }],
    });
    expect(urlFlowPeer('https://auth.lab.example.com', undefined)?.peer).toEqual({
      kind: 'fqdn',
      name: 'auth.lab.example.com',
    });
  });

  test('an address is a network; anything but an http(s) URL is nothing', () => {
    expect(urlFlowPeer('https://10.0.0.5:9443', 'lab.example.com')?.peer).toEqual({
      kind: 'cidr',
      cidr: '10.0.0.5/32',
    });
    expect(urlFlowPeer('https://[2001:db8::1]/', undefined)?.peer).toEqual({
      kind: 'cidr',
      cidr: '2001:db8::1/128',
    });
    expect(urlFlowPeer('ldap://auth.lab.example.com', 'lab.example.com')).toBeUndefined();
    expect(urlFlowPeer('not a url', 'lab.example.com')).toBeUndefined();
  });

  test('a Service of the cluster is the pods behind it, on the URL port', () => {
    expect(urlFlowPeer('http://minio.storage.svc.cluster.local:9000', 'lab.example.com')).toEqual({
      peer: { kind: 'service', service: 'minio', namespace: 'storage' },
      ports: [{ port: 9000, protocol: 'TCP' }],
    });
    expect(urlFlowPeer('https://dex.sso.svc.lab.internal', undefined, 'lab.internal')).toEqual({
      peer: { kind: 'service', service: 'dex', namespace: 'sso' },
      ports: [{ port: 443, protocol: 'TCP' }],
    });
    // Another cluster domain than the cluster's: not a name its DNS answers, by name.
    expect(
      urlFlowPeer('https://dex.sso.svc.cluster.local', undefined, 'lab.internal')?.peer,
    ).toEqual({ kind: 'fqdn', name: 'dex.sso.svc.cluster.local' });
  });
});

describe('routedHostPeer', () => {
  test('a host of the Gateway domain, one label below it, is the Gateway with that host', () => {
    expect(routedHostPeer('auth.lab.example.com', 'lab.example.com')).toEqual({
      kind: 'gateway',
      host: 'auth',
    });
    expect(routedHostPeer('Auth.Lab.Example.com.', 'lab.example.com')).toEqual({
      kind: 'gateway',
      host: 'auth',
    });
  });

  test('anything else is not: deeper names, patterns, the domain itself, other domains, no Gateway', () => {
    expect(routedHostPeer('a.auth.lab.example.com', 'lab.example.com')).toBeUndefined();
    expect(routedHostPeer('*.lab.example.com', 'lab.example.com')).toBeUndefined();
    expect(routedHostPeer('lab.example.com', 'lab.example.com')).toBeUndefined();
    expect(routedHostPeer('auth.dev.lab.example.com', 'lab.example.com')).toBeUndefined();
    expect(routedHostPeer('auth.notlab.example.com', 'lab.example.com')).toBeUndefined();
    expect(routedHostPeer('auth.lab.example.com', undefined)).toBeUndefined();
  });
});

describe('hostFlowPeer', () => {
  test('one rule: address, Service of the cluster, public name', () => {
    expect(hostFlowPeer('192.168.1.10')).toEqual({ kind: 'cidr', cidr: '192.168.1.10/32' });
    expect(hostFlowPeer('[FD00::1]')).toEqual({ kind: 'cidr', cidr: 'fd00::1/128' });
    expect(hostFlowPeer('Postgres.Databases.svc.cluster.local.')).toEqual({
      kind: 'service',
      service: 'postgres',
      namespace: 'databases',
    });
    expect(hostFlowPeer('redis.cache.svc')).toEqual({
      kind: 'service',
      service: 'redis',
      namespace: 'cache',
    });
    expect(hostFlowPeer('ldap.example.com')).toEqual({ kind: 'fqdn', name: 'ldap.example.com' });
    expect(hostFlowPeer('')).toBeUndefined();
  });
});

describe('clusterServiceName', () => {
  test('reads <service>.<namespace>.svc, with or without the cluster domain', () => {
    expect(clusterServiceName('ntfy.notify.svc.cluster.local')).toEqual({
      service: 'ntfy',
      namespace: 'notify',
    });
    expect(clusterServiceName('Gotify.Tools.svc')).toEqual({
      service: 'gotify',
      namespace: 'tools',
    });
    expect(clusterServiceName('ntfy.notify.svc.lab.internal', 'lab.internal')).toEqual({
      service: 'ntfy',
      namespace: 'notify',
    });
  });

  test('is undefined for a public name, another domain, a short name or a malformed one', () => {
    expect(clusterServiceName('hc-ping.com')).toBeUndefined();
    expect(clusterServiceName('ntfy.notify.svc.cluster.local', 'lab.internal')).toBeUndefined();
    expect(clusterServiceName('ntfy.notify')).toBeUndefined();
    expect(clusterServiceName('notify.svc')).toBeUndefined();
    expect(clusterServiceName('a.b.c.svc.cluster.local')).toBeUndefined();
    expect(clusterServiceName('svc.example.com')).toBeUndefined();
  });
});

describe('the API server by its Service name', () => {
  const api = { kind: 'kube-apiserver' };
  test('every name of the kubernetes Service is the API server, not a Service peer or a host', () => {
    for (const host of [
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      'Kubernetes.Default.SVC.cluster.local.',
      'kubernetes.default',
      'kubernetes',
    ]) {
      expect(hostFlowPeer(host)).toEqual(api);
      expect(isKubeApiServerHost(host)).toBe(true);
    }
    // With the cluster's own DNS domain
    expect(hostFlowPeer('kubernetes.default.svc.lab.internal', 'lab.internal')).toEqual(api);
    expect(hostFlowPeer('kubernetes.default.svc.cluster.local', 'lab.internal')).toEqual({
      kind: 'fqdn',
      name: 'kubernetes.default.svc.cluster.local',
    });
    // Another Service named kubernetes, another name starting with it: as before
    expect(hostFlowPeer('kubernetes.other.svc')).toEqual({
      kind: 'service',
      service: 'kubernetes',
      namespace: 'other',
    });
    expect(hostFlowPeer('kubernetes.io')).toEqual({ kind: 'fqdn', name: 'kubernetes.io' });
  });

  test("on the API server's own port (6443 on Talos), whatever port its Service was called on", () => {
    expect(urlFlowPeer('https://kubernetes.default.svc', undefined)).toEqual({
      peer: api,
      ports: [{ port: 6443, protocol: 'TCP' }],
    });
    expect(urlFlowPeer('https://kubernetes.default.svc.cluster.local:443/api', 'x.org')).toEqual({
      peer: api,
      ports: [{ port: 6443, protocol: 'TCP' }],
    });
    expect(KUBE_APISERVER_PORT).toBe(6443);
    expect(flowPeerPort({ kind: 'kube-apiserver' }, 443)).toBe(6443);
    expect(flowPeerPort({ kind: 'fqdn', name: 'db.example.org' }, 5432)).toBe(5432);
    expect(flowPeerPorts({ kind: 'kube-apiserver' }, [{ port: 443, protocol: 'TCP' }])).toEqual(
      KUBE_APISERVER_PORTS,
    );
  });
});
