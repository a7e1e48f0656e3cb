// What an S3 endpoint of the definition may be (`components.backups.s3.endpoint`,
// `components.longhorn.backupTarget.endpoint`): the server's address, `scheme://host[:port]`
// with at most a trailing `/`. The consumers append the bucket and the folders to it (restic's
// `s3:<endpoint>/<bucket>/…`, Longhorn's AWS_ENDPOINTS), and the CNI provider's egress policy
// to the store is derived from its host and port (`urlFlowPeer`): an endpoint that does not
// parse, or whose host no policy can name, would leave the store unreachable without a word.
// Pure.
import { DEFAULT_CLUSTER_DOMAIN, hostFlowPeer, urlFlowPeer } from './flow-peers.js';
import { error, type Issue, type PathSegment } from './issues.js';
import { isDnsName } from './net.js';

/** Scheme, user info, host and port of an http(s) URL, read without parsing it. */
const AUTHORITY = /^(https?):\/\/(?:([^@/?#]*)@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::([^/?#]*))?/i;

export interface S3EndpointOptions {
  /** The issue's code, e.g. `backups-s3`. */
  readonly code: string;
  /** Where the bucket and the folder in it are set instead of in the endpoint's path. */
  readonly bucketSettings: string;
  /** The platform Gateway's domain (a routed host is the Gateway, see `urlFlowPeer`). */
  readonly gatewayDomain?: string | undefined;
  readonly clusterDomain?: string | undefined;
}

/**
 * The problem with an S3 endpoint at `path`, or none: it must be `http(s)://host[:port]`, at most
 * with a trailing `/`: no credentials (the keys are a Secret's), a port in 1–65535, a host that
 * is an IP address or a DNS name, no path (the bucket and folder are settings of their own), no
 * query and no fragment (the consumers append `/<bucket>/…`, which would land in them), and an
 * egress flow peer `urlFlowPeer` can derive. The issue never repeats user info, a query or a
 * fragment (they may hold a key): its value shows them as `****`.
 */
export function s3EndpointIssues(
  endpoint: string,
  path: readonly PathSegment[],
  options: S3EndpointOptions,
): Issue[] {
  const { code } = options;
  const issue = (message: string, expected: string, value: string = endpoint): Issue[] => [
    error({ code, path, value, message, expected }),
  ];
  const example = 'e.g. https://s3.example.com or http://minio.storage.svc:9000';
  const authority = AUTHORITY.exec(endpoint);
  if (authority === null) {
    return issue(
      'is not an http(s) URL',
      `the S3 server's address, scheme://host[:port], ${example}`,
    );
  }
  const [whole, scheme = '', userInfo, host = '', port] = authority;
  const rest = endpoint.slice(whole.length);
  const address = `${scheme.toLowerCase()}://${host}${port === undefined ? '' : `:${port}`}`;
  const shown = `${scheme.toLowerCase()}://${userInfo === undefined ? '' : '****@'}${host}${port === undefined ? '' : `:${port}`}${rest.replace(/[?#].*$/, (tail) => `${tail[0]}****`)}`;
  if (userInfo !== undefined) {
    return issue(
      'carries credentials before the host (user info ending in @): an S3 endpoint is the address of the server only, and it is written into the generated files and the runbook',
      `${address} without user info; the S3 access keys go in the Secret the secrets provider fills`,
      shown,
    );
  }
  if (port !== undefined) {
    const number = /^[0-9]{1,5}$/.test(port) ? Number(port) : Number.NaN;
    if (!(number >= 1 && number <= 65535)) {
      return issue(
        port === ''
          ? 'has a colon after the host but no port'
          : `has port ${/^[0-9]+$/.test(port) ? port : `"${port}"`}, which is not a TCP port (1–65535)`,
        `${scheme.toLowerCase()}://${host}:<port> with a port in 1–65535, or ${scheme.toLowerCase()}://${host} for ${scheme.toLowerCase() === 'https' ? 443 : 80}`,
        shown,
      );
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    return issue(
      `does not parse as a URL (its host "${host}" is neither a DNS name nor an IP address), so no egress policy to the S3 server can be derived`,
      `the S3 server's address, scheme://host[:port], ${example}`,
      shown,
    );
  }
  if (rest.includes('?')) {
    return issue(
      'has a query (?…): the bucket and the folders are appended to the endpoint, so they would land inside the query and every request would miss the bucket',
      `${address}, without the query`,
      shown,
    );
  }
  if (rest.includes('#')) {
    return issue(
      'has a fragment (#…): the bucket and the folders are appended to the endpoint, so they would land inside the fragment, which is never sent to the server',
      `${address}, without the fragment`,
      shown,
    );
  }
  if (parsed.pathname !== '/' && parsed.pathname !== '') {
    return issue(
      `has a path (${parsed.pathname}): an S3 endpoint is the address of the server only; the bucket and the folders in it are appended to it`,
      `${address}, with the bucket and the folder in ${options.bucketSettings}`,
    );
  }
  const clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const peer = hostFlowPeer(parsed.hostname, clusterDomain);
  const name = peer?.kind === 'fqdn' ? peer.name : undefined;
  // The name as the CNI provider's DNS rules take it: lower case (`hostFlowPeer` gives it so), at
  // least one dot (a pod's resolver first tries a short name through its search path).
  if (name !== undefined && !isDnsName(name)) {
    return issue(
      `has host "${name}", which is not a DNS name (letters, digits and hyphens in labels separated by dots): no DNS rule of the egress policy can allow it, so the S3 server would be unreachable`,
      `a host such as s3.example.com, a Service of the cluster such as minio.storage.svc, or an IP address, ${example}`,
    );
  }
  if (
    peer === undefined ||
    urlFlowPeer(endpoint, options.gatewayDomain, clusterDomain) === undefined
  ) {
    return issue(
      'names no host an egress policy can allow, so the S3 server would be unreachable',
      `the S3 server's address, scheme://host[:port], ${example}`,
    );
  }
  return [];
}

/** The rule of an S3 bucket name, as the issues' `expected` states it. */
const BUCKET_RULE =
  'a bucket name of 3–63 lower-case letters, digits, dots and hyphens that begins and ends with a letter or digit, with no two dots in a row, no dot beside a hyphen, and not shaped like an IP address (the rule of AWS S3, and of MinIO and restic through minio-go), e.g. homelab-backups';

/**
 * The problem with an S3 bucket name at `path`, or none, beyond what the settings schema's
 * pattern checks (3–63 of `a-z0-9.-`, a letter or digit at both ends): no `..`, `.-` or `-.`,
 * and not four dot-separated runs of digits. minio-go's `checkBucketNameCommon` (restic's S3
 * client, MinIO's) refuses exactly these, `^(\d+\.){3}\d+$` as "an ip address", and AWS the same
 * (a dot beside a hyphen, two adjacent periods, an IP address form): the bucket could never be
 * created, and every backup would fail at run time.
 */
export function s3BucketIssues(
  bucket: string,
  path: readonly PathSegment[],
  code: string,
): Issue[] {
  const problem = /^(\d+\.){3}\d+$/.test(bucket)
    ? 'is shaped like an IP address, which S3 and MinIO refuse as a bucket name'
    : bucket.includes('..')
      ? 'has two dots in a row, which S3 and MinIO refuse in a bucket name'
      : bucket.includes('.-') || bucket.includes('-.')
        ? 'has a dot beside a hyphen, which S3 and MinIO refuse in a bucket name'
        : undefined;
  return problem === undefined
    ? []
    : [error({ code, path, value: bucket, message: problem, expected: BUCKET_RULE })];
}
