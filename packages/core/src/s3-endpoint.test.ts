import { describe, expect, test } from 'vitest';
import { s3BucketIssues, s3EndpointIssues } from './s3-endpoint.js';

const PATH = ['components', 'backups', 's3', 'endpoint'];
const OPTIONS = { code: 'backups-s3', bucketSettings: 's3.bucket' };

/** The one issue of `endpoint`, as [value, message, expected]. */
function problem(endpoint: string): [unknown, string, string | undefined][] {
  return s3EndpointIssues(endpoint, PATH, OPTIONS).map((issue) => {
    expect([issue.severity, issue.code, issue.path]).toEqual(['error', 'backups-s3', PATH]);
    return [issue.value, issue.message, issue.expected];
  });
}

describe('s3EndpointIssues', () => {
  test('the address of a server is accepted, with at most a trailing slash', () => {
    for (const endpoint of [
      'https://s3.example.com',
      'https://s3.example.com/',
      'http://10.0.0.9:9000',
      'http://[fd00::9]:9000/',
      'http://minio.storage.svc.cluster.local:9000',
      'https://S3.EU-West-1.amazonaws.com:443',
      'https://s3.example.com:65535',
    ]) {
      expect(s3EndpointIssues(endpoint, PATH, OPTIONS)).toEqual([]);
    }
  });

  test('a port outside 1–65535 is refused at the endpoint, naming the port', () => {
    expect(problem('https://s3.example.com:99999')).toEqual([
      [
        'https://s3.example.com:99999',
        'has port 99999, which is not a TCP port (1–65535)',
        'https://s3.example.com:<port> with a port in 1–65535, or https://s3.example.com for 443',
      ],
    ]);
    expect(problem('http://s3.example.com:0')[0]?.[1]).toBe(
      'has port 0, which is not a TCP port (1–65535)',
    );
    expect(problem('http://s3.example.com:')[0]?.[1]).toBe(
      'has a colon after the host but no port',
    );
  });

  test('a host that does not parse is refused as no URL', () => {
    expect(problem('http://1.2.3.999')).toEqual([
      [
        'http://1.2.3.999',
        'does not parse as a URL (its host "1.2.3.999" is neither a DNS name nor an IP address), so no egress policy to the S3 server can be derived',
        "the S3 server's address, scheme://host[:port], e.g. https://s3.example.com or http://minio.storage.svc:9000",
      ],
    ]);
  });

  test('a query is refused, saying what to write, without repeating it', () => {
    expect(problem('http://s3.example.com?x=XQ')).toEqual([
      [
        'http://s3.example.com?****',
        'has a query (?…): the bucket and the folders are appended to the endpoint, so they would land inside the query and every request would miss the bucket',
        'http://s3.example.com, without the query',
      ],
    ]);
    expect(problem('http://s3.example.com/?X-Amz-Signature=XQ')[0]?.[0]).toBe(
      'http://s3.example.com/?****',
    );
  });

  test('a fragment is refused, saying what to write', () => {
    expect(problem('https://s3.example.com:9000#XQ')).toEqual([
      [
        'https://s3.example.com:9000#****',
        'has a fragment (#…): the bucket and the folders are appended to the endpoint, so they would land inside the fragment, which is never sent to the server',
        'https://s3.example.com:9000, without the fragment',
      ],
    ]);
  });

  test('a path is refused: the bucket and the folder are settings of their own', () => {
    expect(problem('https://s3.example.com/homelab-backups')).toEqual([
      [
        'https://s3.example.com/homelab-backups',
        'has a path (/homelab-backups): an S3 endpoint is the address of the server only; the bucket and the folders in it are appended to it',
        'https://s3.example.com, with the bucket and the folder in s3.bucket',
      ],
    ]);
    expect(problem('https://s3.example.com//')[0]?.[1]).toContain('has a path (//)');
  });

  test('credentials are refused and never repeated', () => {
    const found = problem('https://AKIAXQ:hunter2hunter2@s3.example.com?k=v');
    expect(found).toEqual([
      [
        'https://****@s3.example.com?****',
        'carries credentials before the host (user info ending in @): an S3 endpoint is the address of the server only, and it is written into the generated files and the runbook',
        'https://s3.example.com without user info; the S3 access keys go in the Secret the secrets provider fills',
      ],
    ]);
    expect(JSON.stringify(found)).not.toMatch(/AKIAXQ|hunter2|k=v/);
  });

  test('a host no DNS rule can name is refused at the endpoint', () => {
    expect(problem('https://bad_host!.example.com')).toEqual([
      [
        'https://bad_host!.example.com',
        'has host "bad_host!.example.com", which is not a DNS name (letters, digits and hyphens in labels separated by dots): no DNS rule of the egress policy can allow it, so the S3 server would be unreachable',
        'a host such as s3.example.com, a Service of the cluster such as minio.storage.svc, or an IP address, e.g. https://s3.example.com or http://minio.storage.svc:9000',
      ],
    ]);
    expect(problem('http://minio:9000')[0]?.[1]).toContain(
      'has host "minio", which is not a DNS name',
    );
    const long = ['a', 'b', 'c']
      .map((c) => c.repeat(63))
      .concat('d'.repeat(62))
      .join('.');
    expect(problem(`https://${long}`)[0]?.[1]).toContain(
      `has host "${long}", which is not a DNS name`,
    );
  });

  test('a host whose last label starts with a digit is a DNS name (core isDnsName)', () => {
    // Given hosts whose last label starts with a digit without being all digits, which the
    // endpoint's own rule refused before core's isDnsName became the one rule
    for (const endpoint of ['https://s3.example.3com', 'http://s3.storage.1a:9000']) {
      // Then they are accepted, as the CNI provider's toFQDNs check accepts them
      expect(s3EndpointIssues(endpoint, PATH, OPTIONS)).toEqual([]);
    }
    // An all-digit last label is still no name (a mistyped IPv4 address, as the URL parser reads it).
    expect(problem('https://s3.example.123')[0]?.[1]).toContain(
      'its host "s3.example.123" is neither a DNS name nor an IP address',
    );
  });

  test('another scheme is refused', () => {
    expect(problem('ftp://s3.example.com')[0]?.[1]).toBe('is not an http(s) URL');
  });
});

describe('s3BucketIssues', () => {
  const BUCKET = ['components', 'backups', 's3', 'bucket'];

  test('names S3 and MinIO accept pass', () => {
    for (const bucket of [
      'homelab-backups',
      'a.b-c',
      'abc',
      'backups.2024',
      '1.2.3',
      '1.2.3.4.5',
    ]) {
      expect(s3BucketIssues(bucket, BUCKET, 'backups-s3')).toEqual([]);
    }
  });

  test.each([
    ['a..b', 'has two dots in a row, which S3 and MinIO refuse in a bucket name'],
    ['a.-b', 'has a dot beside a hyphen, which S3 and MinIO refuse in a bucket name'],
    ['a-.b', 'has a dot beside a hyphen, which S3 and MinIO refuse in a bucket name'],
    ['192.168.1.1', 'is shaped like an IP address, which S3 and MinIO refuse as a bucket name'],
    ['999.1.1.1', 'is shaped like an IP address, which S3 and MinIO refuse as a bucket name'],
  ])('%s is refused at the bucket, naming the rule', (bucket, message) => {
    const issues = s3BucketIssues(bucket, BUCKET, 'backups-s3');
    expect(issues.map((issue) => [issue.code, issue.path, issue.value, issue.message])).toEqual([
      ['backups-s3', BUCKET, bucket, message],
    ]);
    expect(issues[0]?.expected).toBe(
      'a bucket name of 3–63 lower-case letters, digits, dots and hyphens that begins and ends with a letter or digit, with no two dots in a row, no dot beside a hyphen, and not shaped like an IP address (the rule of AWS S3, and of MinIO and restic through minio-go), e.g. homelab-backups',
    );
  });
});
