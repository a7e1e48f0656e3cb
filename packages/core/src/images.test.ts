import { describe, expect, it } from 'vitest';
import { imageRepository, resolvedImage } from './images.js';

describe('resolvedImage', () => {
  it.each([
    ['busybox:1.37.0', 'docker.io/library/busybox:1.37.0'],
    ['longhornio/longhorn-manager:v1.8.1', 'docker.io/longhornio/longhorn-manager:v1.8.1'],
    ['quay.io/cilium/cilium:v1.19.6', 'quay.io/cilium/cilium:v1.19.6'],
    ['localhost/app:1', 'localhost/app:1'],
    ['registry.lan:5000/app:1', 'registry.lan:5000/app:1'],
    ['nas:5000/app:1', 'nas:5000/app:1'],
  ])('%s is %s', (image, resolved) => {
    expect(resolvedImage(image)).toBe(resolved);
  });
});

describe('imageRepository', () => {
  it.each([
    [
      'quay.io/cilium/cilium:v1.19.6@sha256:0df5b2750b64c49843aba1d649e9eaf61467cb0645ad3171db6f6962c095ac92',
      'quay.io/cilium/cilium',
    ],
    ['busybox:1.37.0', 'docker.io/library/busybox'],
    ['busybox', 'docker.io/library/busybox'],
    ['longhornio/csi-attacher:v4.8.1', 'docker.io/longhornio/csi-attacher'],
    ['registry.lan:5000/team/app:1.2', 'registry.lan:5000/team/app'],
    ['registry.lan:5000/team/app', 'registry.lan:5000/team/app'],
    ['ghcr.io/spiffe/spire-agent@sha256:1d04', 'ghcr.io/spiffe/spire-agent'],
  ])('%s is in %s', (image, repository) => {
    expect(imageRepository(image)).toBe(repository);
  });
});
