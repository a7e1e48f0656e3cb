// Container image references as the container runtime resolves them (the admission policy's
// allowed registries are matched against this form; `ApplicationDescriptor.imageRepositories`
// is written in it).

/**
 * The image with its registry written out: a first path segment with a dot or a colon (or
 * `localhost`) is a registry; otherwise the image is on Docker Hub, `docker.io/`, and a name
 * without a path is under `library/` (`longhornio/longhorn-ui:v1` is
 * `docker.io/longhornio/longhorn-ui:v1`, `busybox:1` is `docker.io/library/busybox:1`).
 */
export function resolvedImage(image: string): string {
  if (/^(localhost|[^/]*[.:][^/]*)\//.test(image)) return image;
  return `docker.io/${image.includes('/') ? '' : 'library/'}${image}`;
}

/**
 * The repository of an image as the runtime resolves it, without tag or digest:
 * `quay.io/cilium/cilium:v1.19.6@sha256:…` is `quay.io/cilium/cilium`, `busybox:1` is
 * `docker.io/library/busybox`. A registry's port (`registry.lan:5000/app:1`) stays.
 */
export function imageRepository(image: string): string {
  const resolved = resolvedImage(image);
  const withoutDigest = resolved.split('@')[0] as string;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}
