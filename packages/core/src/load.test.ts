import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { composeDefinitionSchema } from './definition-schema.js';
import { formatIssue, formatPath, type Issue } from './issues.js';
import {
  definitionValidator,
  LOAD_LIMITS,
  loadDefinition as loadWith,
  validateDefinition as validateWith,
} from './load.js';

const fixtures = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const minimal = readFileSync(join(fixtures, 'valid/minimal/platform.yaml'), 'utf8');

/** Core on its own: the definition schema with no component registered. */
const validator = definitionValidator(composeDefinitionSchema([]));
const loadDefinition = (text: string, file: string) => loadWith(text, file, validator);
const validateDefinition = (data: unknown, locate?: Parameters<typeof validateWith>[2]) =>
  validateWith(data, validator, locate);

interface ExpectedIssue {
  severity: string;
  code: string;
  path: string;
  line: number;
  column?: number;
}

function cases(kind: string): string[] {
  return readdirSync(join(fixtures, kind)).sort();
}

function summary(issue: Issue, withColumn: boolean): ExpectedIssue {
  return {
    severity: issue.severity,
    code: issue.code,
    path: formatPath(issue.path),
    line: issue.position?.line ?? -1,
    ...(withColumn && issue.position ? { column: issue.position.column } : {}),
  };
}

describe.each([
  ...cases('invalid').map((name) => ['invalid', name]),
  ...cases('warnings').map((name) => ['warnings', name]),
])('fixture %s/%s', (kind, name) => {
  const dir = join(fixtures, kind, name);
  const text = readFileSync(join(dir, 'platform.yaml'), 'utf8');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
    issues: ExpectedIssue[];
    messageIncludes?: string;
  };

  test('reports exactly the expected issues at their lines', () => {
    const { issues } = loadDefinition(text, 'platform.yaml');
    const actual = issues.map((issue, i) =>
      summary(issue, expected.issues[i]?.column !== undefined),
    );
    expect(actual).toEqual(expected.issues);
  });

  test('every issue names the file and a position, and formats on one line', () => {
    const { issues } = loadDefinition(text, 'platform.yaml');
    for (const issue of issues) {
      expect(issue.position?.file).toBe('platform.yaml');
      expect(formatIssue(issue)).toMatch(/^platform\.yaml:\d+:\d+ {2}\S/);
      expect(formatIssue(issue)).not.toContain('\n');
    }
    if (expected.messageIncludes) {
      expect(issues.map((issue) => issue.message).join('\n')).toContain(expected.messageIncludes);
    }
  });

  test(kind === 'invalid' ? 'yields no definition' : 'still yields the definition', () => {
    const { definition } = loadDefinition(text, 'platform.yaml');
    expect(definition === undefined).toBe(kind === 'invalid');
  });
});

describe('valid definitions', () => {
  test('the minimal fixture loads into plain data', () => {
    const { definition, issues } = loadDefinition(minimal, 'platform.yaml');
    expect(issues).toEqual([]);
    expect(definition?.clusters[1]?.network.bgp?.peers[0]).toEqual({
      name: 'router',
      address: '10.2.0.1',
      asn: 64501,
    });
  });
});

describe('load-balancer pools across clusters', () => {
  const overlapping = readFileSync(
    join(fixtures, 'invalid/overlap-pools-across-clusters/platform.yaml'),
    'utf8',
  );
  const withSites = (alpha: string, beta: string) =>
    overlapping
      .replace(
        '      nodeCidr: 10.1.0.0/24\n',
        `      site: ${alpha}\n      nodeCidr: 10.1.0.0/24\n`,
      )
      .replace(
        '      nodeCidr: 10.2.0.0/24\n',
        `      site: ${beta}\n      nodeCidr: 10.2.0.0/24\n`,
      );

  test('may overlap when the clusters are on different sites', () => {
    const { definition, issues } = loadDefinition(withSites('home', 'office'), 'p.yaml');
    expect(issues).toEqual([]);
    expect(definition?.clusters.map((cluster) => cluster.network.site)).toEqual(['home', 'office']);
  });

  test('are an error when both clusters name the same site, which the message names', () => {
    const { issues } = loadDefinition(withSites('home', 'home'), 'p.yaml');
    expect(issues.map((issue) => formatPath(issue.path))).toEqual([
      'clusters[1].network.loadBalancerPools[0].cidr',
      'clusters[1].network.loadBalancerPools[1].cidr',
    ]);
    expect(issues[1]?.message).toContain('clusters "alpha" and "beta" are on site "home"');
    expect(issues[1]?.position).toMatchObject({ line: 48, column: 17 });
  });
});

describe("the API endpoint's VIP across clusters", () => {
  // Two clusters of one homelab on one network (no network.site): alpha's node 10.1.0.11, its
  // L2 pool 10.1.1.0/27; beta's VIP put where alpha already answers ARP.
  const overlaps = (text: string) =>
    loadDefinition(text, 'p.yaml')
      .issues.filter((issue) => issue.code === 'overlap')
      .map(formatIssue);
  const betaAt = (address: string, text = minimal) =>
    text.replace('https://10.2.0.10:6443', `https://${address}:6443`);

  test("is refused on another cluster's node address, naming the node", () => {
    expect(overlaps(betaAt('10.1.0.11'))).toEqual([
      `p.yaml:36:15  clusters[1].endpoint: "https://10.1.0.11:6443" points at 10.1.0.11, the API endpoint's VIP of cluster "beta", which is the address of node "alpha-1" of cluster "alpha" (clusters[0].nodes[0].address): clusters "alpha" and "beta" are on one network (neither sets network.site), so both would answer ARP for it (expected a VIP no node of another cluster has, or different network.site values when "alpha" and "beta" are on separate networks)`,
    ]);
  });

  test("is refused in another cluster's LoadBalancer pool", () => {
    expect(overlaps(betaAt('10.1.1.5'))).toEqual([
      `p.yaml:36:15  clusters[1].endpoint: "https://10.1.1.5:6443" points at 10.1.1.5, the API endpoint's VIP of cluster "beta", inside load-balancer pool "default" 10.1.1.0/27 of cluster "alpha" (clusters[0].network.loadBalancerPools[0].cidr): clusters "alpha" and "beta" are on one network (neither sets network.site), so Cilium there may hand it to a LoadBalancer Service and answer for it beside the control plane (expected a VIP outside 10.1.1.0/27, or different network.site values when "alpha" and "beta" are on separate networks)`,
    ]);
  });

  test("is refused when it is another cluster's VIP too", () => {
    const both = betaAt(
      '10.1.1.200',
      minimal.replace('https://10.1.0.11:6443', 'https://10.1.1.200:6443'),
    );
    expect(overlaps(both)).toEqual([
      `p.yaml:36:15  clusters[1].endpoint: "https://10.1.1.200:6443" points at 10.1.1.200, the API endpoint's VIP of cluster "beta" and of cluster "alpha" (clusters[0].endpoint): clusters "alpha" and "beta" are on one network (neither sets network.site), so both clusters' control planes would hold it (expected a VIP of its own, or different network.site values when "alpha" and "beta" are on separate networks)`,
    ]);
  });

  test('is no error across sites, nor where the endpoint is a node of its own cluster', () => {
    const sites = betaAt('10.1.0.11')
      .replace('      lanCidr: 10.1.0.0/23\n', '      site: home\n      lanCidr: 10.1.0.0/23\n')
      .replace(
        '      nodeCidr: 10.2.0.0/24\n',
        '      site: office\n      nodeCidr: 10.2.0.0/24\n',
      );
    expect(overlaps(sites)).toEqual([]);
    expect(overlaps(betaAt('10.2.0.11'))).toEqual([]);
    expect(overlaps(minimal)).toEqual([]);
  });
});

describe('a pod or service network too wide', () => {
  test('is one error at it, naming every network it overlaps, the LAN among them', () => {
    const text = minimal.replace('      podCidr: 10.244.0.0/16\n', '      podCidr: 10.0.0.0/8\n');
    expect(text).not.toBe(minimal);
    const overlaps = loadDefinition(text, 'p.yaml').issues.filter(
      (issue) => issue.code === 'overlap',
    );
    expect(overlaps.map((issue) => [formatPath(issue.path), issue.position?.line])).toEqual([
      ['clusters[0].network.podCidr', 18],
    ]);
    expect(overlaps[0]?.message).toBe(
      'overlaps the node network 10.1.0.0/24 (clusters[0].network.nodeCidr), the service network 10.96.0.0/12 (clusters[0].network.serviceCidr), load-balancer pool "default" 10.1.1.0/27 (clusters[0].network.loadBalancerPools[0].cidr) and the nodes\' LAN 10.1.0.0/23 (clusters[0].network.lanCidr)',
    );
    expect(overlaps[0]?.expected).toBe(
      'a range that shares no address with 10.1.0.0/24, 10.96.0.0/12, 10.1.1.0/27, 10.1.0.0/23',
    );
  });

  test('one overlap alone stays at the later of the two, as before', () => {
    const text = minimal.replace('      podCidr: 10.244.0.0/16\n', '      podCidr: 10.96.0.0/16\n');
    const overlaps = loadDefinition(text, 'p.yaml').issues.filter(
      (issue) => issue.code === 'overlap',
    );
    expect(overlaps.map((issue) => [formatPath(issue.path), issue.message])).toEqual([
      [
        'clusters[0].network.serviceCidr',
        'overlaps the pod network 10.96.0.0/16 (clusters[0].network.podCidr)',
      ],
    ]);
  });
});

describe("the nodes' LAN (network.lanCidr)", () => {
  // The minimal fixture: alpha's LAN 10.1.0.0/23 holds its nodes 10.1.0.0/24, the gateway
  // 10.1.0.1 and its L2 pool 10.1.1.0/27; beta (BGP) has no lanCidr and a pool off its LAN.
  const issuesOf = (text: string) => loadDefinition(text, 'p.yaml').issues.map(formatIssue);
  const withoutLan = minimal.replace('      lanCidr: 10.1.0.0/23\n', '');

  test('an L2 pool outside the LAN is an error naming the LAN and, without lanCidr, the LAN to set', () => {
    expect(issuesOf(withoutLan)).toEqual([
      `p.yaml:21:17  clusters[0].network.loadBalancerPools[0].cidr: "10.1.1.0/27" is announced by ARP/NDP (network.l2Announcements) but is not inside the node network 10.1.0.0/24 (clusters[0].network.nodeCidr): hosts ask by ARP only for addresses on their own LAN, so Cilium's answers reach nobody who would ask (expected a range inside 10.1.0.0/24; when the LAN is larger than network.nodeCidr, set network.lanCidr to it (e.g. 10.1.0.0/23), or network.bgp to have routers learn the pool)`,
    ]);
    expect(issuesOf(minimal.replace('cidr: 10.1.1.0/27', 'cidr: 10.1.2.0/27'))).toEqual([
      `p.yaml:22:17  clusters[0].network.loadBalancerPools[0].cidr: "10.1.2.0/27" is announced by ARP/NDP (network.l2Announcements) but is not inside the nodes' LAN 10.1.0.0/23 (clusters[0].network.lanCidr): hosts ask by ARP only for addresses on their own LAN, so Cilium's answers reach nobody who would ask (expected a range inside 10.1.0.0/23, or network.bgp to have routers learn the pool)`,
    ]);
  });

  test('a pool in the pod network gets its overlap error only', () => {
    const text = withoutLan.replace('cidr: 10.1.1.0/27', 'cidr: 10.244.1.0/27');
    expect(loadDefinition(text, 'p.yaml').issues.map((issue) => issue.code)).toEqual(['overlap']);
  });

  test('the LAN holds the node range: one error at lanCidr, the gateway and pools not measured against it', () => {
    expect(issuesOf(minimal.replace('lanCidr: 10.1.0.0/23', 'lanCidr: 10.1.1.0/24'))).toEqual([
      `p.yaml:15:16  clusters[0].network.lanCidr: "10.1.1.0/24" does not hold the node range 10.1.0.0/24 (clusters[0].network.nodeCidr); the nodes' addresses sit on this LAN (expected a network holding 10.1.0.0/24, e.g. 10.1.0.0/23)`,
    ]);
    // A typo off the LAN altogether: not also the gateway outside it and the pool off it.
    expect(issuesOf(minimal.replace('lanCidr: 10.1.0.0/23', 'lanCidr: 10.2.0.0/23'))).toEqual([
      `p.yaml:15:16  clusters[0].network.lanCidr: "10.2.0.0/23" does not hold the node range 10.1.0.0/24 (clusters[0].network.nodeCidr); the nodes' addresses sit on this LAN (expected a network holding 10.1.0.0/24)`,
    ]);
  });

  test('the gateway may be anywhere on the LAN, outside the node range, but in no pool', () => {
    expect(issuesOf(minimal.replace('gateway: 10.1.0.1', 'gateway: 10.1.1.254'))).toEqual([]);
    expect(issuesOf(minimal.replace('gateway: 10.1.0.1', 'gateway: 10.1.1.30'))).toEqual([
      `p.yaml:22:17  clusters[0].network.loadBalancerPools[0].cidr: "10.1.1.0/27" holds the gateway 10.1.1.30 (clusters[0].network.gateway); Cilium would hand out the gateway's address (expected a range without 10.1.1.30)`,
    ]);
    expect(issuesOf(minimal.replace('gateway: 10.1.0.1', 'gateway: 10.1.2.1'))).toEqual([
      `p.yaml:17:16  clusters[0].network.gateway: "10.1.2.1" is outside the nodes' LAN 10.1.0.0/23 (clusters[0].network.lanCidr) (expected an address in 10.1.0.0/23)`,
    ]);
  });

  test('an endpoint on the LAN outside the node range (a VIP there) is no warning; off the LAN, one', () => {
    // Talos' Layer 2 VIP answers ARP on the control planes' link, whose network is the LAN.
    expect(issuesOf(minimal.replace('https://10.1.0.11:6443', 'https://10.1.1.200:6443'))).toEqual(
      [],
    );
    // Not in the L2 pool 10.1.1.0/27, though: Cilium would answer for it beside the VIP.
    expect(issuesOf(minimal.replace('https://10.1.0.11:6443', 'https://10.1.1.10:6443'))).toEqual([
      `p.yaml:22:17  clusters[0].network.loadBalancerPools[0].cidr: "10.1.1.0/27" holds the API endpoint's address 10.1.1.10 (clusters[0].endpoint); Cilium would hand it to a LoadBalancer Service and answer for it beside the control plane (expected a range without 10.1.1.10)`,
    ]);
    expect(issuesOf(minimal.replace('https://10.1.0.11:6443', 'https://10.1.2.200:6443'))).toEqual([
      `p.yaml:13:15  clusters[0].endpoint: "https://10.1.2.200:6443" points at 10.1.2.200, outside the nodes' LAN 10.1.0.0/23; the control plane will not answer there unless something routes it (expected an address in 10.1.0.0/23 (a control-plane node or a VIP))`,
    ]);
  });

  test('a BGP pool on the LAN is an error; off it, none', () => {
    const beta = minimal.replace(
      '      nodeCidr: 10.2.0.0/24\n',
      '      lanCidr: 10.2.0.0/23\n      nodeCidr: 10.2.0.0/24\n',
    );
    expect(issuesOf(beta)).toEqual([
      `p.yaml:45:17  clusters[1].network.loadBalancerPools[0].cidr: "10.2.1.0/27" is announced by BGP (network.bgp) but shares addresses with the nodes' LAN 10.2.0.0/23 (clusters[1].network.lanCidr): LAN hosts take them as on-link and ask by ARP, which no node answers without L2 announcements (expected a range outside 10.2.0.0/23, or network.l2Announcements instead of network.bgp)`,
    ]);
    expect(issuesOf(beta.replace('lanCidr: 10.2.0.0/23', 'lanCidr: 10.2.0.0/24'))).toEqual([]);
  });

  test('the LAN is a CIDR and shares no address with the pod or service network', () => {
    expect(issuesOf(minimal.replace('lanCidr: 10.1.0.0/23', 'lanCidr: 10.1.0.1/23'))).toEqual([
      `p.yaml:15:16  clusters[0].network.lanCidr: "10.1.0.1/23" has host bits set: the network is 10.1.0.0/23 (expected 10.1.0.0/23)`,
    ]);
    const podsOnLan = minimal
      .replace('lanCidr: 10.1.0.0/23', 'lanCidr: 10.0.0.0/8')
      .replace('podCidr: 10.244.0.0/16', 'podCidr: 172.20.0.0/16');
    expect(issuesOf(podsOnLan)).toEqual([
      `p.yaml:15:16  clusters[0].network.lanCidr: "10.0.0.0/8" overlaps the service network 10.96.0.0/12 (clusters[0].network.serviceCidr) (expected a LAN that shares no address with 10.96.0.0/12)`,
    ]);
  });
});

describe("a cluster's domain (clusters[].domain)", () => {
  // The minimal fixture: alpha (development, default alpha.lab.example.com) and beta
  // (production, default lab.example.com, the platform domain). The setting goes on line 32 of
  // beta, or line 9 of alpha, at column 13.
  const onBeta = (domain: string) =>
    minimal.replace(
      '    environment: production\n',
      `    environment: production\n    domain: ${domain}\n`,
    );
  const onAlpha = (domain: string) =>
    minimal.replace(
      '    environment: development\n',
      `    environment: development\n    domain: ${domain}\n`,
    );
  const issuesOf = (text: string) =>
    loadDefinition(text, 'p.yaml').issues.map((issue) => ({
      severity: issue.severity,
      code: issue.code,
      path: formatPath(issue.path),
      at: `${issue.position?.line}:${issue.position?.column}`,
      expected: issue.expected,
    }));

  test('a name below the platform domain, or the platform domain itself, is accepted', () => {
    const { definition, issues } = loadDefinition(onBeta('beta.lab.example.com'), 'p.yaml');
    expect(issues).toEqual([]);
    expect(definition?.clusters[1]?.domain).toBe('beta.lab.example.com');
    expect(loadDefinition(onAlpha('apps.alpha.lab.example.com'), 'p.yaml').issues).toEqual([]);
    // beta moved off the platform domain: alpha may take it.
    const both = onAlpha('lab.example.com').replace(
      '    environment: production\n',
      '    environment: production\n    domain: beta.lab.example.com\n',
    );
    expect(loadDefinition(both, 'p.yaml').issues).toEqual([]);
  });

  test('a name that is no lower-case DNS name is an error at the setting', () => {
    for (const bad of ['Beta.Lab.example.com', 'beta_1.lab.example.com', 'lab.example.com.']) {
      const [issue, ...rest] = issuesOf(onBeta(bad));
      expect(rest).toEqual([]);
      expect(issue).toMatchObject({ severity: 'error', path: 'clusters[1].domain', at: '32:13' });
      expect(issue?.expected).toMatch(/^a fully qualified DNS name/);
    }
  });

  test('a name outside the platform domain is an error naming it and a domain to use', () => {
    for (const outside of ['beta.example.org', 'example.com', 'xlab.example.com']) {
      expect(issuesOf(onBeta(outside))).toEqual([
        {
          severity: 'error',
          code: 'cluster-domain',
          path: 'clusters[1].domain',
          at: '32:13',
          expected:
            'lab.example.com or a name below it, e.g. clusters[1].domain: beta.lab.example.com',
        },
      ]);
    }
  });

  test("another cluster's domain, set or by default, is an error at the setting", () => {
    // alpha's default.
    const [taken, ...rest] = loadDefinition(onBeta('alpha.lab.example.com'), 'p.yaml').issues;
    expect(rest).toEqual([]);
    expect(taken).toMatchObject({
      severity: 'error',
      code: 'duplicate',
      path: ['clusters', 1, 'domain'],
      position: { line: 32, column: 13 },
      expected: 'a cluster domain used once, e.g. clusters[1].domain: beta.lab.example.com',
    });
    expect(taken?.message).toContain(
      'is the domain of cluster "alpha" too (its default, as a development cluster)',
    );
    // beta's default, the platform domain, set on alpha: the error is alpha's, the cluster that
    // says it; alpha's own default is the suggestion.
    expect(issuesOf(onAlpha('lab.example.com'))).toEqual([
      {
        severity: 'error',
        code: 'duplicate',
        path: 'clusters[0].domain',
        at: '9:13',
        expected: 'a cluster domain used once, e.g. clusters[0].domain: alpha.lab.example.com',
      },
    ]);
    // Both set: the second one is the duplicate.
    const twice = onAlpha('apps.lab.example.com').replace(
      '    environment: production\n',
      '    environment: production\n    domain: apps.lab.example.com\n',
    );
    const [second] = loadDefinition(twice, 'p.yaml').issues;
    expect(second).toMatchObject({ code: 'duplicate', path: ['clusters', 1, 'domain'] });
    expect(second?.message).toContain('(clusters[0].domain)');
  });
});

describe('messages', () => {
  test('a list item that lost its "- " is one error at its first key, naming the fix; a mapping\'s own repeated keys are not', () => {
    const text = readFileSync(
      join(fixtures, 'invalid/list-item-without-dash/platform.yaml'),
      'utf8',
    );
    const [issue, ...rest] = loadDefinition(text, 'p.yaml').issues;
    expect(rest).toEqual([]);
    expect(issue?.expected).toBe(
      'each key once per mapping; if these keys are the next item of the list, start it with "- " (line 56: "- hostname: …")',
    );
    // Two keys repeated in a mapping that is no list item: one error, without the list hint
    const twice = minimal.replace(
      '      serviceCidr: 10.96.0.0/12\n',
      '      serviceCidr: 10.96.0.0/12\n      podCidr: 10.245.0.0/16\n      serviceCidr: 10.97.0.0/16\n',
    );
    expect(twice).not.toBe(minimal);
    const found = loadDefinition(twice, 'p.yaml').issues;
    expect(found.map((entry) => [entry.code, formatPath(entry.path), entry.expected])).toEqual([
      ['yaml-duplicate-key', 'clusters[0].network.podCidr', 'each key once per mapping'],
    ]);
    expect(found[0]?.message).toBe(
      'and 1 more key after it ("serviceCidr") are keys this mapping already has: YAML would silently keep only one value of each',
    );
  });

  test('an unknown key points at the key and lists the known ones', () => {
    const text = minimal.replace(
      '      serviceCidr: 10.96.0.0/12\n',
      '      servicecidr: 10.96.0.0/12\n',
    );
    const { issues } = loadDefinition(text, 'p.yaml');
    const unknown = issues.find(
      (issue) => formatPath(issue.path) === 'clusters[0].network.servicecidr',
    );
    expect(unknown).toMatchObject({
      code: 'schema',
      value: 'servicecidr',
      position: { file: 'p.yaml', line: 19, column: 7 },
    });
    expect(unknown?.message).toContain('did you mean "serviceCidr"?');
    expect(unknown?.expected).toBe(
      'one of: bgp, gateway, l2Announcements, lanCidr, loadBalancerPools, nameservers, nodeCidr, podCidr, serviceCidr, site',
    );
  });

  test('an enum issue lists the allowed values', () => {
    const text = minimal.replace('environment: development', 'environment: dev');
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    expect(issue).toMatchObject({
      path: ['clusters', 0, 'environment'],
      value: 'dev',
      expected: 'one of "development", "staging", "production"',
      position: { line: 8, column: 18 },
    });
  });

  test('a pattern issue explains the expected form in words', () => {
    const text = minimal.replace('name: alpha', 'name: Alpha_1');
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    expect(issue?.path).toEqual(['clusters', 0, 'name']);
    expect(issue?.expected).toMatch(/^a DNS label: lower-case letters/);
  });

  test('an invalid label key is reported at the key', () => {
    const text = minimal.replace(
      '        installDisk: /dev/sda\n  - name: beta',
      '        installDisk: /dev/sda\n        labels:\n          "bad key": x\n  - name: beta',
    );
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    expect(issue).toMatchObject({
      path: ['clusters', 0, 'nodes', 0, 'labels', 'bad key'],
      value: 'bad key',
      position: { line: 31, column: 11 },
    });
  });

  test('the install disk is a device path or a selector Talos matches by glob', () => {
    const at = (installDisk: string) =>
      loadDefinition(
        minimal.replace(
          '        installDisk: /dev/sda\n  - name: beta',
          `        installDisk: ${installDisk}\n  - name: beta`,
        ),
        'p.yaml',
      ).issues;
    expect(at('/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S6B0NL0W100001')).toEqual([]);
    expect(at('{ serial: S6B0NL0W100001, model: Samsung SSD 980 PRO 1TB }')).toEqual([]);
    // One mistake, one issue, at the mistake: not also "matches none of the allowed forms" at
    // installDisk, nor the other form's complaint (a selector is not a string).
    const only = (installDisk: string) =>
      at(installDisk).map(
        (issue) => `${formatPath(issue.path)} ${issue.message} (${issue.expected})`,
      );
    // Talos matches each property as a glob: a `*` would select any disk.
    expect(only('{ serial: "S6B0*" }')).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.nodes\[0\]\.installDisk\.serial does not have the expected form \(a disk property value/,
      ),
    ]);
    expect(only('{ serial: "" }')).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.nodes\[0\]\.installDisk\.serial does not have the expected form/,
      ),
    ]);
    expect(only('{ seriel: S6B0NL0W100001 }')).toEqual([
      'clusters[0].nodes[0].installDisk.seriel is not a known key; did you mean "serial"? (one of: busPath, model, serial, wwid)',
    ]);
    expect(only('{ path: /dev/sda, serial: S6B0NL0W100001 }')).toEqual([
      'clusters[0].nodes[0].installDisk.path is not a known key (one of: busPath, model, serial, wwid)',
    ]);
    expect(only('{}')).toEqual([
      'clusters[0].nodes[0].installDisk has 0 key(s) (at least 1 key(s) of: busPath, model, serial, wwid)',
    ]);
    expect(only('sda')).toEqual([
      "clusters[0].nodes[0].installDisk does not have the expected form (a device path under /dev/: names of letters, digits, '_', '.' and '-' after /dev/, separated by single '/', none of them '.' or '..', e.g. /dev/sda or /dev/disk/by-id/<id>)",
    ]);
    expect(only('')).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.nodes\[0\]\.installDisk is empty \(one of: a device path under \/dev\/.*; or a selector by the properties Talos reports .*\(a mapping with its keys indented under it\)\)$/,
      ),
    ]);
    expect(only('[/dev/sda]')).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.nodes\[0\]\.installDisk matches none of the allowed forms \(one of: a device path under \/dev\/.*; or a selector by /,
      ),
    ]);
  });

  test('a kernel-named install disk on a node with data disks is a warning', () => {
    const codes = (installDisk: string) =>
      loadDefinition(
        minimal.replace(
          '        installDisk: /dev/sda\n  - name: beta',
          `        installDisk: ${installDisk}\n        disks:\n          - { name: fast, selector: { serial: S5XYZ123 }, class: ssd, tier: fast-storage }\n  - name: beta`,
        ),
        'p.yaml',
      ).issues.map((issue) => `${issue.severity} ${issue.code} ${formatPath(issue.path)}`);
    expect(codes('/dev/nvme0n1')).toEqual([
      'warning install-disk-name clusters[0].nodes[0].installDisk',
    ]);
    expect(codes('/dev/sda')).toEqual([
      'warning install-disk-name clusters[0].nodes[0].installDisk',
    ]);
    expect(codes('{ serial: S6B0NL0W100001 }')).toEqual([]);
    expect(codes('/dev/disk/by-id/wwn-0x5002538e40a1b2c3')).toEqual([]);
  });

  test("the machines' extensions are official extension names", () => {
    const at = (extensions: string) =>
      loadDefinition(
        minimal.replace(
          /( +)version: (v1\.\d+\.\d+)\n/,
          `$1version: $2\n$1extensions: ${extensions}\n`,
        ),
        'p.yaml',
      ).issues.map((issue) => formatPath(issue.path));
    expect(at('[siderolabs/intel-ucode, siderolabs/i915]')).toEqual([]);
    expect(at('[intel-ucode]')).toEqual(['clusters[0].talos.extensions[0]']);
    expect(at('[siderolabs/amd-ucode, siderolabs/amd-ucode]')).not.toEqual([]);
  });

  test('the same mistake in two clusters gives two issues', () => {
    const text = minimal.replaceAll('podCidr: 10.244.0.0/16', 'podCidr: 10.244.0.1/16');
    const { issues } = loadDefinition(text, 'p.yaml');
    expect(issues.map((issue) => formatPath(issue.path))).toEqual([
      'clusters[0].network.podCidr',
      'clusters[1].network.podCidr',
    ]);
    expect(issues[0]?.expected).toBe('10.244.0.0/16');
  });

  test('semantic checks still run on the clusters the schema accepted', () => {
    const text = minimal
      .replace('environment: development', 'environment: dev')
      .replace('cidr: 10.2.1.0/27', 'cidr: 10.2.0.0/27');
    const codes = loadDefinition(text, 'p.yaml').issues.map((issue) => [
      issue.code,
      formatPath(issue.path),
    ]);
    expect(codes).toEqual([
      ['schema', 'clusters[0].environment'],
      ['overlap', 'clusters[1].network.loadBalancerPools[0].cidr'],
    ]);
  });

  test('a pool inside the node network names the half of it that could hold the nodes, and the LAN', () => {
    // Given alpha's pool in the upper half of its /24 node network, the nodes in the lower half,
    // and no lanCidr (the LAN is the node network)
    const text = minimal
      .replace('      lanCidr: 10.1.0.0/23\n', '')
      .replace('cidr: 10.1.1.0/27', 'cidr: 10.1.0.224/27');
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    // Then the fix for a pool on the nodes' LAN is named with the addresses that work: the
    // nodes in the lower half, and the whole /24 as the LAN their addresses' prefix comes from
    expect(issue && formatIssue(issue)).toBe(
      `p.yaml:21:17  clusters[0].network.loadBalancerPools[0].cidr: "10.1.0.224/27" overlaps the node network 10.1.0.0/24 (clusters[0].network.nodeCidr) (expected a range that shares no address with 10.1.0.0/24; for a pool on the nodes' LAN (L2 announcements), make network.nodeCidr the part of it that holds the nodes, e.g. 10.1.0.0/25, set network.lanCidr: 10.1.0.0/24 (the LAN: the prefix of the nodes' addresses on their links, so they answer every LAN host directly), and keep the pool in the rest)`,
    );
  });

  test('with lanCidr set, the hint for a pool in the node range leaves the LAN as it is', () => {
    const text = minimal.replace('cidr: 10.1.1.0/27', 'cidr: 10.1.0.224/27');
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    expect(issue?.expected).toBe(
      "a range that shares no address with 10.1.0.0/24; for a pool on the nodes' LAN (L2 announcements), make network.nodeCidr the part of it that holds the nodes, e.g. 10.1.0.0/25, and keep the pool in the rest",
    );
  });

  test('a pool among the nodes in the node network gets no nodeCidr suggestion', () => {
    // Given the pool in the lower half of the node network, where the gateway and the node are
    const text = minimal.replace('cidr: 10.1.1.0/27', 'cidr: 10.1.0.32/27');
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    expect(issue?.expected).toBe('a range that shares no address with 10.1.0.0/24');
  });

  test('IPv6 networks are checked like IPv4 ones', () => {
    const text = minimal
      .replace('podCidr: 10.244.0.0/16', 'podCidr: fd00:10:244::/56')
      .replace('serviceCidr: 10.96.0.0/12', 'serviceCidr: fd00:10:244:80::/108');
    const [issue] = loadDefinition(text, 'p.yaml').issues;
    expect(issue).toMatchObject({
      code: 'overlap',
      path: ['clusters', 0, 'network', 'serviceCidr'],
      value: 'fd00:10:244:80::/108',
    });
  });
});

describe('values the generated commands and configs carry', () => {
  const issuesOf = (text: string) => loadDefinition(text, 'p.yaml').issues;
  const shown = (text: string) =>
    issuesOf(text).map((issue) => `${formatPath(issue.path)} ${issue.message}`);

  test('the API endpoint host is an IPv4 address or a DNS name', () => {
    const endpoint = (url: string) => minimal.replace('https://10.1.0.11:6443', url);
    expect(issuesOf(endpoint('https://kube.lab.example.com:6443'))).toEqual([]);
    // A host in any case (DNS compares names case-insensitively), or of one label (a LAN name)
    expect(issuesOf(endpoint('https://Kube-API.Lab.example.com:6443'))).toEqual([]);
    expect(issuesOf(endpoint('https://kube:6443'))).toEqual([]);
    const [issue, ...rest] = issuesOf(endpoint('https://xinj.example.com;id:6443'));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({
      code: 'endpoint',
      path: ['clusters', 0, 'endpoint'],
      value: 'https://xinj.example.com;id:6443',
      message:
        'has host "xinj.example.com;id", which is neither an IPv4 address nor a DNS name: no client can reach the API there',
      position: { file: 'p.yaml', line: 13, column: 15 },
    });
    expect(issue?.expected).toMatch(/^https:\/\/<IPv4 address or DNS name>:6443, e\.g\./);
    expect(shown(endpoint(`https://xq'$(id)'x`))).toEqual([
      `clusters[0].endpoint has host "xq'$(id)'x", which is neither an IPv4 address nor a DNS name: no client can reach the API there`,
    ]);
    expect(shown(endpoint('https://-kube.example.com'))).toHaveLength(1);
    expect(shown(endpoint('https://10.1.0.300:6443'))).toEqual([
      'clusters[0].endpoint has host 10.1.0.300, which is not a valid IPv4 address',
    ]);
    expect(shown(endpoint('https://10.1.0.11:70000'))).toEqual([
      'clusters[0].endpoint has port 70000, outside 1-65535',
    ]);
  });

  test('a device path is /dev/ and names, never "." or ".." nor an empty one', () => {
    const installDisk = (path: string) =>
      minimal.replace(
        'installDisk: /dev/sda\n  - name: beta',
        `installDisk: ${path}\n  - name: beta`,
      );
    expect(issuesOf(installDisk('/dev/disk/by-id/wwn-0x5002538e40a1b2c3'))).toEqual([]);
    for (const path of ['/dev/../XQ/sda', '/dev/./sda', '/dev/disk/..', '/dev//sda', '/dev/sda/']) {
      const [issue, ...rest] = issuesOf(installDisk(path));
      expect(rest).toEqual([]);
      expect(issue).toMatchObject({
        path: ['clusters', 0, 'nodes', 0, 'installDisk'],
        value: path,
        message: 'does not have the expected form',
        expected:
          "a device path under /dev/: names of letters, digits, '_', '.' and '-' after /dev/, separated by single '/', none of them '.' or '..', e.g. /dev/sda or /dev/disk/by-id/<id>",
      });
    }
    // A data disk selected by its device path: the same rule.
    const dataDisk = minimal.replace(
      'installDisk: /dev/sda\n  - name: beta',
      'installDisk: /dev/sda\n        disks:\n          - { name: fast, selector: { devPath: /dev/../sdb }, class: ssd, tier: fast-storage }\n  - name: beta',
    );
    expect(issuesOf(dataDisk)).toMatchObject([
      {
        path: ['clusters', 0, 'nodes', 0, 'disks', 0, 'selector', 'devPath'],
        value: '/dev/../sdb',
        message: 'does not have the expected form',
        expected: expect.stringContaining("none of them '.' or '..'"),
      },
    ]);
  });

  test('a target revision is a name git accepts as a branch, tag or commit', () => {
    const revision = (value: string) =>
      minimal.replace(
        'repository:\n  url: https://github.com/example/homelab-platform.git\n',
        `repository:\n  url: https://github.com/example/homelab-platform.git\n  targetRevision:\n    development: ${JSON.stringify(value)}\n`,
      );
    for (const good of ['main', 'release/1.2', '@homelab/chart-platform@1.2.0', '0123abc']) {
      expect(issuesOf(revision(good))).toEqual([]);
    }
    const [issue, ...rest] = issuesOf(revision('--XQ'));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({
      code: 'git-revision',
      path: ['repository', 'targetRevision', 'development'],
      value: '--XQ',
      message:
        'starts with "-": git reads it as an option, not a revision; Argo CD could not check it out, nor the runbook\'s git commands read it',
      expected: expect.stringMatching(
        /^a branch, tag or commit git accepts \(git check-ref-format\)/,
      ),
      position: { file: 'p.yaml', line: 7, column: 18 },
    });
    const problem = (value: string) =>
      issuesOf(revision(value)).map((i) => i.message.split(';')[0]);
    expect(problem('main..dev')).toEqual(['holds "..", which git reads as a range of commits']);
    expect(problem('release/.hidden')).toEqual([
      'has a "/"-separated component that starts with "."',
    ]);
    expect(problem('main.lock')).toEqual(['has a "/"-separated component that ends with ".lock"']);
    expect(problem('release/')).toEqual([
      'has an empty "/"-separated component (a leading, trailing or double "/")',
    ]);
    expect(problem('v1.')).toEqual(['ends with "."']);
    expect(problem('@')).toEqual(['is "@", which git reads as HEAD, not a branch or tag']);
  });

  test('the repository URL names a host Argo CD can reach', () => {
    const url = (value: string) =>
      minimal.replace(
        'url: https://github.com/example/homelab-platform.git',
        `url: ${JSON.stringify(value)}`,
      );
    expect(issuesOf(url('ssh://git@gitea.lan:2222/homelab/platform.git'))).toEqual([]);
    expect(issuesOf(url('git@github.com:example/homelab-platform.git'))).toEqual([]);
    expect(issuesOf(url('https://Git.Example.COM/homelab.git'))).toEqual([]);
    expect(issuesOf(url('git@gitea:homelab/platform.git'))).toEqual([]);
    expect(issuesOf(url('ssh://git@XQ$(id).example.com:22/x.git'))).toMatchObject([
      {
        code: 'repository-url',
        path: ['repository', 'url'],
        message:
          'has host "XQ$(id).example.com", which is neither an IP address nor a DNS name: Argo CD cannot clone from it',
        expected: expect.stringContaining('e.g. https://git.example.com/homelab.git'),
        position: { file: 'p.yaml', line: 5, column: 8 },
      },
    ]);
    expect(shown(url('git@xq`id`.example.com:x.git'))).toEqual([
      'repository.url has host "xq`id`.example.com", which is neither an IP address nor a DNS name: Argo CD cannot clone from it',
    ]);
  });
});

describe('hostile input', () => {
  test('a file over the size limit is refused before parsing', () => {
    const text = `# ${'x'.repeat(LOAD_LIMITS.maxBytes)}\n`;
    const { definition, issues } = loadDefinition(text, 'big.yaml');
    expect(definition).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'yaml-too-large', position: { line: 1, column: 1 } });
  });

  test('the size limit counts UTF-8 bytes, not characters, up to the byte', () => {
    // Given texts of 3-byte characters at the limit and one byte over it
    const atLimit = `#${'€'.repeat((LOAD_LIMITS.maxBytes - 2) / 3)}\n`;
    const over = `#${'€'.repeat((LOAD_LIMITS.maxBytes - 2) / 3)}x\n`;
    expect(new TextEncoder().encode(atLimit).length).toBe(LOAD_LIMITS.maxBytes);
    // Then the one at the limit is read, the other refused with its size in bytes
    expect(loadDefinition(atLimit, 'p.yaml').issues.map((issue) => issue.code)).toEqual([
      'yaml-empty',
    ]);
    expect(loadDefinition(over, 'p.yaml').issues).toMatchObject([
      { code: 'yaml-too-large', value: LOAD_LIMITS.maxBytes + 1 },
    ]);
  });

  test('a million nested brackets give one issue, without a stack overflow', () => {
    const text = `a: ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}\n`;
    const { issues } = loadDefinition(text, 'deep.yaml');
    expect(issues.map((issue) => issue.code)).toEqual(['yaml-too-deep']);
  });

  test('deep block nesting is refused too', () => {
    let text = '';
    for (let i = 0; i < 100; i++) text += `${'  '.repeat(i)}k:\n`;
    expect(loadDefinition(text, 'deep.yaml').issues.map((issue) => issue.code)).toEqual([
      'yaml-too-deep',
    ]);
  });

  test('nesting at the limit is fine for the YAML guard', () => {
    const text = `platform: ${'['.repeat(60)}${']'.repeat(60)}\n`;
    const codes = loadDefinition(text, 'p.yaml').issues.map((issue) => issue.code);
    expect(codes).not.toContain('yaml-too-deep');
    expect(codes).toContain('schema');
  });

  test('a recursive alias is refused, not followed forever', () => {
    const { issues } = loadDefinition('platform: &a\n  name: *a\n', 'p.yaml');
    expect(issues).toMatchObject([
      { code: 'cycle', path: ['platform', 'name'], position: { line: 2, column: 9 } },
    ]);
  });

  test('a mapping with too many keys is refused before schema validation', () => {
    const keys = Array.from({ length: LOAD_LIMITS.maxCollectionSize + 1 }, (_, i) => `k${i}: v`);
    const { issues } = loadDefinition(`platform:\n  ${keys.join('\n  ')}\n`, 'p.yaml');
    expect(issues).toMatchObject([
      { code: 'too-large', path: ['platform'], value: LOAD_LIMITS.maxCollectionSize + 1 },
    ]);
  });

  test('a mapping with more entries than the limit is refused as too large', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `k${i}: v`).join('\n');
    expect(loadDefinition(text, 'p.yaml').issues.map((issue) => issue.code)).toEqual(['too-large']);
  });

  test('issues beyond the cap are summarised in one', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}: v`);
    const { issues } = loadDefinition(`platform:\n  ${keys.join('\n  ')}\n`, 'p.yaml');
    expect(issues).toHaveLength(LOAD_LIMITS.maxIssues + 1);
    expect(issues[LOAD_LIMITS.maxIssues]).toMatchObject({ code: 'too-many-issues' });
    expect(issues[LOAD_LIMITS.maxIssues]?.value).toBe(300 + 4 - LOAD_LIMITS.maxIssues);
  });

  test('anchors used a few times are fine', () => {
    const text = minimal
      .replace(
        'installDisk: /dev/sda\n  - name: beta',
        'installDisk: &disk /dev/sda\n  - name: beta',
      )
      .replace(
        "'02:00:00:00:00:05' }\n        installDisk: /dev/sda",
        "'02:00:00:00:00:05' }\n        installDisk: *disk",
      );
    expect(text.match(/\*disk/g)).toHaveLength(1);
    expect(loadDefinition(text, 'p.yaml').issues).toEqual([]);
  });

  test('a __proto__ key is an unknown key, not a prototype change', () => {
    const text = minimal.replace('platform:\n', 'platform:\n  __proto__:\n    polluted: true\n');
    const { issues } = loadDefinition(text, 'p.yaml');
    expect(issues.map((issue) => formatPath(issue.path))).toEqual(['platform.__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('huge collections are refused while tokenising', { timeout: 120_000 }, () => {
  test('a 1-million-item list under 2 MiB is refused at the list, while tokenising', () => {
    const text = `${minimal}extra: [${Array.from({ length: 1_000_000 }, () => '1').join(',')}]\n`;
    expect(new TextEncoder().encode(text).length).toBeLessThan(LOAD_LIMITS.maxBytes);
    const { definition, issues } = loadDefinition(text, 'p.yaml');
    expect(definition).toBeUndefined();
    expect(issues).toMatchObject([
      {
        code: 'too-large',
        path: ['extra'],
        position: { file: 'p.yaml', line: minimal.split('\n').length, column: 8 },
        expected: `at most ${LOAD_LIMITS.maxCollectionSize} entries`,
        message:
          'has more entries than a platform definition has in one list (refused while reading, at entry 5003)',
      },
    ]);
    // Refused after about 5,000 entries of the list (the message says so): the rest of the file
    // is never tokenised (it took 10 s before the check moved into the tokeniser; `pnpm bench`
    // is where time is measured, not here).
  });

  test('a 300,000-item block list is refused at its first entry with its path', () => {
    const text = `${minimal}extra:\n  nested:\n${'  - 1\n'.repeat(300_000)}`;
    expect(text.length).toBeLessThan(LOAD_LIMITS.maxBytes);
    const { issues } = loadDefinition(text, 'p.yaml');
    expect(issues).toMatchObject([
      {
        code: 'too-large',
        path: ['extra', 'nested'],
        position: { line: minimal.split('\n').length + 2, column: 3 },
      },
    ]);
    expect(issues[0]?.message).toBe(
      'has more entries than a platform definition has in one list (refused while reading, at entry 5003)',
    );
  });

  test('a flow mapping with too many keys is refused as a mapping', () => {
    const keys = Array.from({ length: 6000 }, (_, i) => `k${i}: 1`).join(', ');
    const { issues } = loadDefinition(`platform: {${keys}}\n`, 'p.yaml');
    expect(issues).toMatchObject([
      { code: 'too-large', path: ['platform'], position: { line: 1, column: 11 } },
    ]);
    expect(issues[0]?.message).toContain('in one mapping');
  });

  test('many lists each within the limit are refused by the whole-file value limit', () => {
    const list = `[${Array.from({ length: 5000 }, () => '1').join(',')}]`;
    const lines = Array.from({ length: 60 }, (_, i) => `k${i}: ${list}`);
    const { issues } = loadDefinition(`${lines.join('\n')}\n`, 'p.yaml');
    expect(issues).toMatchObject([{ code: 'too-large', path: [] }]);
    expect(issues[0]?.message).toContain(`more than ${LOAD_LIMITS.maxScalars} values`);
    // Each line holds 5,001 values (the key and 5,000 items): the 250,001st is in line 50.
    expect(issues[0]?.position?.line).toBe(50);
  });

  test('a list of exactly the limit reaches the exact check on the data, one more is refused there', () => {
    const at = (n: number): string =>
      `platform:\n  extra: [${Array.from({ length: n }, () => '1').join(',')}]\n`;
    const codes = (n: number) =>
      loadDefinition(at(n), 'p.yaml').issues.map((i) => [i.code, i.value]);
    expect(codes(LOAD_LIMITS.maxCollectionSize)).not.toContainEqual([
      'too-large',
      expect.anything(),
    ]);
    expect(codes(LOAD_LIMITS.maxCollectionSize + 1)).toEqual([
      ['too-large', LOAD_LIMITS.maxCollectionSize + 1],
    ]);
  });
});

describe('positions of paths (locate)', () => {
  /** The locator as it was: every path of the document indexed up front by its JSON. */
  function indexedLocator(text: string) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
    const nodes = new Map<string, { value: unknown; key?: unknown }>();
    nodes.set('[]', { value: doc.contents });
    const pending: { node: unknown; path: (string | number)[] }[] = [
      { node: doc.contents, path: [] },
    ];
    for (let next = pending.pop(); next; next = pending.pop()) {
      const { node, path } = next;
      if (isMap(node)) {
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue;
          const childPath = [...path, String(pair.key.value)];
          if (nodes.has(JSON.stringify(childPath))) continue;
          nodes.set(JSON.stringify(childPath), { value: pair.value, key: pair.key });
          pending.push({ node: pair.value, path: childPath });
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => {
          nodes.set(JSON.stringify([...path, i]), { value: item });
          pending.push({ node: item, path: [...path, i] });
        });
      }
    }
    const start = (node: unknown) => (isNode(node) && node.range ? node.range[0] : undefined);
    return (path: readonly (string | number)[], key = false) => {
      for (let length = path.length; length >= 0; length--) {
        const entry = nodes.get(JSON.stringify(path.slice(0, length)));
        if (!entry) continue;
        const offset =
          (key && length === path.length ? start(entry.key) : undefined) ??
          start(entry.value) ??
          start(entry.key);
        if (offset !== undefined) {
          const { line, col } = lineCounter.linePos(offset);
          return { file: 'p.yaml', line, column: col };
        }
      }
      return undefined;
    };
  }

  test('are those of the document indexed up front, for every path and its near misses', () => {
    // Given a document with nested mappings and lists, aliases, a merge key, empty values and
    // keys that read as numbers
    const text = [
      'a:',
      '  b: &anchor',
      '    c: 1',
      '    d: [x, {e: f}, [g]]',
      '  h: *anchor',
      '  i:',
      '  <<: {m: n}',
      '  "0": zero',
      '  1: one',
      'list:',
      '  - k: v',
      '  -',
      '  - - nested',
      '    - {p: q}',
      'null: ~',
      'true: yes',
      '',
    ].join('\n');
    const expected = indexedLocator(text);
    const { locate } = loadWith(text, 'p.yaml', () => []);
    if (!locate) throw new Error('no locator');
    // Every path of the data, and each with a segment of the other kind, out of range or extra
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]) => {
      paths.push(path, [...path, 'missing'], [...path, 0], [...path, -0], [...path, 7]);
      paths.push([...path, 1.5], [...path, '0'], [...path, -1]);
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) walk(item, [...path, i]);
      } else if (typeof value === 'object' && value !== null) {
        for (const [k, item] of Object.entries(value)) walk(item, [...path, k]);
      }
    };
    walk(parseDocument(text).toJS(), []);
    expect(paths.length).toBeGreaterThan(200);
    for (const path of paths) {
      for (const key of [false, true]) {
        // Then the locator gives what the index gave
        expect([path, key, locate(path, key)]).toEqual([path, key, expected(path, key)]);
      }
    }
  });
});

describe('a position inside a multi-line string (locate with within)', () => {
  const text = [
    'a:',
    '  literal: |  # a comment on the header',
    '',
    '    first',
    '      more indented',
    '    last',
    '  kept: |+',
    '    one',
    '',
    '  folded: >',
    '    one',
    '    two',
    '  plain: one line',
    'b: 1',
    '',
  ].join('\n');

  test.each([
    // the value's line 1 is empty: its line 2 is the file's line 4, right of the indentation
    [['a', 'literal'], { line: 2, column: 1 }, { line: 4, column: 5 }],
    [['a', 'literal'], { line: 3, column: 3 }, { line: 5, column: 7 }],
    [['a', 'literal'], { line: 4, column: 2 }, { line: 6, column: 6 }],
    [['a', 'literal'], { line: 1, column: 1 }, { line: 3, column: 5 }],
    // past the block's last line (the clipped line end): the value's own position
    [['a', 'literal'], { line: 5, column: 1 }, { line: 2, column: 12 }],
    [['a', 'kept'], { line: 1, column: 2 }, { line: 8, column: 6 }],
    // a folded or plain value has no line of the file per line of the value
    [['a', 'folded'], { line: 2, column: 1 }, { line: 10, column: 11 }],
    [['a', 'plain'], { line: 1, column: 5 }, { line: 13, column: 10 }],
  ])('%j at %j of the value is %j in the file', (path, within, expected) => {
    // Given a file with block scalars
    const { locate } = loadWith(text, 'p.yaml', () => []);
    if (!locate) throw new Error('no locator');
    // When a line and column inside a value is located, then the file's line and column
    expect(locate(path, false, within)).toEqual({ file: 'p.yaml', ...expected });
  });

  test('a CRLF file counts the lines an editor shows', () => {
    const { locate } = loadWith(text.replaceAll('\n', '\r\n'), 'p.yaml', () => []);
    expect(locate?.(['a', 'literal'], false, { line: 3, column: 3 })).toEqual({
      file: 'p.yaml',
      line: 5,
      column: 7,
    });
  });
});

describe('line ends', () => {
  const broken = minimal.replace('environment: development', 'environment: dev');

  test.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR only', '\r'],
  ])('a %s file loads and reports the line and column an editor shows', (_name, eol) => {
    const valid = loadDefinition(minimal.replaceAll('\n', eol), 'p.yaml');
    expect(valid.issues).toEqual([]);
    expect(valid.definition?.clusters.map((c) => c.name)).toEqual(['alpha', 'beta']);
    const { issues } = loadDefinition(broken.replaceAll('\n', eol), 'p.yaml');
    expect(issues).toMatchObject([
      { path: ['clusters', 0, 'environment'], value: 'dev', position: { line: 8, column: 18 } },
    ]);
  });
});

describe('numbers JavaScript cannot hold', () => {
  const withAsn = (asn: string): string => minimal.replace('asn: 64501', `asn: ${asn}`);

  test.each([
    ['.inf', 'number-not-finite', 'an infinite number'],
    ['-.Inf', 'number-not-finite', 'an infinite number'],
    ['.nan', 'number-not-finite', 'not-a-number'],
    ['1e400', 'number-not-finite', 'an infinite number'],
    ['9007199254740993', 'number-unsafe', 'beyond 2^53 - 1'],
    ['0x20000000000001', 'number-unsafe', 'beyond 2^53 - 1'],
  ])('%s is refused with its text, at its position', (source, code, words) => {
    const { definition, issues } = loadDefinition(withAsn(source), 'p.yaml');
    expect(definition).toBeUndefined();
    const line =
      withAsn(source)
        .split('\n')
        .findIndex((l) => l.includes(`asn: ${source}`)) + 1;
    expect(issues).toMatchObject([
      {
        code,
        path: ['clusters', 1, 'network', 'bgp', 'peers', 0, 'asn'],
        value: source,
        position: { line, column: 18 },
      },
    ]);
    expect(issues[0]?.message).toContain(words);
    expect(formatIssue(issues[0] as Issue)).toContain(`asn: "${source}" is`);
    expect(formatIssue(issues[0] as Issue)).not.toContain('null');
  });

  test('the largest exact integer is still an integer (the schema judges it)', () => {
    const { issues } = loadDefinition(withAsn('9007199254740991'), 'p.yaml');
    expect(issues.map((issue) => issue.code)).not.toContain('number-unsafe');
    expect(issues.map((issue) => formatPath(issue.path))).toEqual([
      'clusters[1].network.bgp.peers[0].asn',
    ]);
  });

  test('a quoted ".inf" is text', () => {
    const text = minimal.replace('name: fixture', 'name: ".inf"');
    expect(loadDefinition(text, 'p.yaml').issues.map((issue) => issue.code)).not.toContain(
      'number-not-finite',
    );
  });
});

describe('tags that YAML reads as no plain data', () => {
  test.each([
    ['!!binary aGVsbG8=', '!!binary', 'binary data (base64-encoded bytes)', 'the text itself'],
    [
      '!<tag:yaml.org,2002:binary> aGVsbG8=',
      '!!binary',
      'binary data (base64-encoded bytes)',
      'the text itself',
    ],
    ['!!set {a, b}', '!!set', 'a set', 'a list or a mapping'],
    ['!!omap [a: 1]', '!!omap', 'an ordered mapping', 'a mapping'],
    ['!!timestamp 2001-12-14', '!!timestamp', 'a date and time', 'the date as text'],
  ])('name: %s is refused at its tag, the value unshown', (value, name, what, expected) => {
    // Given a string setting written with a tag the yaml library turns into a non-JSON value
    const text = minimal.replace('name: fixture', `name: ${value}`);
    // When it is loaded
    const { definition, issues } = loadDefinition(text, 'p.yaml');
    // Then one issue says what the tag makes of it, at the tag (line 2, column 9)
    expect(definition).toBeUndefined();
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'yaml-tag',
        path: ['platform', 'name'],
        message: `is tagged ${name}: YAML reads it as ${what}, which no setting of a platform definition takes`,
        expected: `${expected}, without the tag`,
        position: { file: 'p.yaml', line: 2, column: 9 },
      },
    ]);
    expect(formatIssue(issues[0] as Issue)).toBe(
      `p.yaml:2:9  platform.name: is tagged ${name}: YAML reads it as ${what}, which no setting of a platform definition takes (expected ${expected}, without the tag)`,
    );
  });

  test('a !!binary value is never shown, neither as written nor decoded', () => {
    // base64 of "https://user:hunter2@git.example.com/x.git"
    const secret = Buffer.from('https://user:hunter2@git.example.com/x.git').toString('base64');
    const text = minimal.replace(
      'url: https://github.com/example/homelab-platform.git',
      `url: !!binary ${secret}`,
    );
    const { issues } = loadDefinition(text, 'p.yaml');
    expect(issues.map((issue) => [issue.code, formatPath(issue.path)])).toEqual([
      ['yaml-tag', 'repository.url'],
    ]);
    const shown = `${JSON.stringify(issues)}\n${issues.map(formatIssue).join('\n')}`;
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain(secret.slice(0, 8));
    // the decoded bytes, as a Uint8Array would print ("104,116,116,112" for "http")
    expect(shown).not.toMatch(/104,\s*116|"0":\s*104/);
  });

  test('a tagged key names its mapping, a tag on its own line is found, an alias is refused once', () => {
    const text = minimal.replace(
      '  name: fixture\n',
      '  name: &n !!binary # bytes\n    aGVsbG8=\n  ? !!binary a2V5\n  : x\n  other: *n\n',
    );
    const { issues } = loadDefinition(text, 'p.yaml');
    expect(
      issues.map((issue) => [
        issue.code,
        formatPath(issue.path),
        issue.message.split(':')[0],
        issue.position?.line,
        issue.position?.column,
      ]),
    ).toEqual([
      ['yaml-tag', 'platform.name', 'is tagged !!binary', 2, 12],
      ['yaml-tag', 'platform', 'has a key tagged !!binary', 4, 5],
    ]);
  });

  test('tags of plain data stay allowed', () => {
    const text = minimal
      .replace('name: fixture', 'name: !!str fixture')
      .replace('domain: lab.example.com', 'domain: !<tag:yaml.org,2002:str> lab.example.com');
    const { definition, issues } = loadDefinition(text, 'p.yaml');
    expect(issues).toEqual([]);
    expect(definition?.platform).toEqual({ name: 'fixture', domain: 'lab.example.com' });
  });
});

describe('empty and odd documents', () => {
  test.each([
    ['an empty string', '', 'yaml-empty'],
    ['blank lines', '  \n\n', 'yaml-empty'],
    ['a null document', '~\n', 'yaml-empty'],
    ['a scalar', 'just text\n', 'yaml-root'],
    ['a list', '- a\n', 'yaml-root'],
  ])('%s gives one %s issue at 1:1', (_name, text, code) => {
    const { definition, issues } = loadDefinition(text, 'p.yaml');
    expect(definition).toBeUndefined();
    expect(issues).toMatchObject([{ code, position: { file: 'p.yaml', line: 1, column: 1 } }]);
  });
});

describe('validateDefinition', () => {
  test('validates plain data without positions', () => {
    const { definition, issues } = validateDefinition({ platform: { name: 'x' } });
    expect(definition).toBeUndefined();
    expect(issues.map((issue) => [formatPath(issue.path), issue.position])).toEqual([
      ['clusters', undefined],
      ['platform.domain', undefined],
      ['repository', undefined],
    ]);
  });

  test('refuses a non-object root', () => {
    expect(validateDefinition([1, 2]).issues.map((issue) => issue.message)).toEqual(['is a list']);
  });
});

describe('properties', () => {
  const lines = minimal.split('\n');

  test('any string yields a result and never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const { definition, issues } = loadDefinition(text, 'fuzz.yaml');
        expect(definition === undefined || issues.every((i) => i.severity === 'warning')).toBe(
          true,
        );
        for (const issue of issues) expect(issue.position?.file).toBe('fuzz.yaml');
      }),
      { numRuns: 300 },
    );
  });

  test('YAML-ish garbage always yields an error with a position', () => {
    const token = fc.constantFrom(
      '- ',
      ': ',
      '[',
      ']',
      '{',
      '}',
      '&a ',
      '*a',
      '"',
      "'",
      '\n',
      '  ',
      '---\n',
      '? ',
      '!!str ',
      'platform',
      'clusters',
      '10.0.0.0/8',
      '#',
      '|',
      '>',
      '\t',
      'null',
      '~',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        const { definition, issues } = loadDefinition(tokens.join(''), 'fuzz.yaml');
        expect(definition).toBeUndefined();
        expect(issues.some((issue) => issue.severity === 'error')).toBe(true);
        for (const issue of issues) {
          expect(issue.position?.line).toBeGreaterThanOrEqual(1);
          expect(issue.position?.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('deleting any line of a valid definition never throws and keeps positions in the file', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: lines.length - 1 }), (index) => {
        const text = lines.filter((_, i) => i !== index).join('\n');
        const { issues } = loadDefinition(text, 'p.yaml');
        const lineCount = text.split('\n').length;
        for (const issue of issues) {
          expect(issue.position?.line).toBeLessThanOrEqual(lineCount);
        }
      }),
    );
  });

  test('replacing any scalar value with a wrong one yields an error', () => {
    const scalarLines = lines
      .map((line, index) => ({ line, index }))
      .filter(({ line }) => /^\s*(- )?[A-Za-z]+: \S/.test(line));
    const wrong = fc.constantFrom('[]', '{}', '-1', '"10.0.0.0/33"', 'Bad Value', '99999999999');
    fc.assert(
      fc.property(fc.constantFrom(...scalarLines), wrong, ({ line, index }, replacement) => {
        fc.pre(!line.endsWith(`: ${replacement}`));
        const mutated = [...lines];
        mutated[index] = line.replace(/: .*$/, `: ${replacement}`);
        const { definition, issues } = loadDefinition(mutated.join('\n'), 'p.yaml');
        expect(definition).toBeUndefined();
        expect(issues.some((issue) => issue.severity === 'error')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('production capacity follows the placement the profile asks for', () => {
  const text = readFileSync(join(fixtures, 'invalid/production-capacity/platform.yaml'), 'utf8');

  test('strict placement (the default required anti-affinity) on too few nodes is an error that names it', () => {
    const issues = loadDefinition(text, 'p.yaml').issues.filter((i) => i.code === 'ha-capacity');
    expect(issues).toMatchObject([
      {
        severity: 'error',
        path: ['clusters', 1, 'nodes'],
        position: { line: 52, column: 7 },
        value: 2,
        message:
          'schedulable node(s) in production cluster "beta" (its workers), but production runs 3 replicas of each platform controller, one per node (antiAffinity: required, topologySpread: DoNotSchedule)',
        expected:
          'at least 3 schedulable nodes, environments.production.replicas ≤ 2, or environments.production antiAffinity: preferred and topologySpread: ScheduleAnyway (replicas may share a node)',
      },
    ]);
  });

  test('preferred anti-affinity with a ScheduleAnyway spread lets replicas share a node: no error', () => {
    const loose = `${text}environments:\n  production: { replicas: 3, antiAffinity: preferred, topologySpread: ScheduleAnyway }\n`;
    expect(loadDefinition(loose, 'p.yaml').issues.filter((i) => i.code === 'ha-capacity')).toEqual(
      [],
    );
  });

  test('one strict setting is enough for the error, and the message names it', () => {
    const spread = `${text}environments:\n  production: { replicas: 3, antiAffinity: preferred }\n`;
    expect(
      loadDefinition(spread, 'p.yaml').issues.filter((i) => i.code === 'ha-capacity'),
    ).toMatchObject([
      {
        path: ['clusters', 1, 'nodes'],
        message: expect.stringContaining(
          'runs 3 replicas of each platform controller, one per node (topologySpread: DoNotSchedule)',
        ),
      },
    ]);
  });
});

describe('an alias that names no anchor', () => {
  test('is reported as such at the alias, not as the alias limit', () => {
    const text = 'platform:\n  name: &name x\n  domain: *nmae\n';
    expect(loadDefinition(text, 'p.yaml').issues).toMatchObject([
      {
        severity: 'error',
        code: 'yaml-alias-unresolved',
        path: ['platform', 'domain'],
        value: '*nmae',
        message: 'names no anchor: no anchor &nmae is defined before this alias',
        expected:
          'an anchor &nmae on a value above this alias, or the value written out (check the alias for a typo)',
        position: { file: 'p.yaml', line: 3, column: 11 },
      },
    ]);
  });

  test('every such alias is reported, in a list too, and one whose anchor comes later says so', () => {
    const text = 'a: [1, *foo]\nb: *bar\nc: &bar 2\n';
    expect(
      loadDefinition(text, 'p.yaml').issues.map((i) => [
        i.path,
        i.message,
        i.position?.line,
        i.position?.column,
      ]),
    ).toEqual([
      [['a', 1], 'names no anchor: no anchor &foo is defined before this alias', 1, 8],
      [
        ['b'],
        'names no anchor: no anchor &bar is defined before this alias (the one on line 3 comes after it, and YAML takes only anchors defined earlier)',
        2,
        4,
      ],
    ]);
  });

  test('the real alias limit is still reported as the limit', () => {
    const text = readFileSync(join(fixtures, 'invalid/alias-bomb/platform.yaml'), 'utf8');
    expect(loadDefinition(text, 'p.yaml').issues).toMatchObject([
      {
        code: 'yaml-alias-limit',
        message: `YAML aliases expand more than ${LOAD_LIMITS.maxAliasCount} times (a resource exhaustion attack or a runaway anchor)`,
      },
    ]);
  });
});

describe('data disks that can never be provisioned', () => {
  const base = readFileSync(join(fixtures, 'invalid/data-disks/platform.yaml'), 'utf8');
  const node = (disks: string) =>
    base.replace(
      `        installDisk: /dev/sda
        disks:
          - name: fast
            selector: { serial: S5XYZ123 }
            class: ssd
            tier: fast-storage
          - name: fast
            selector: { devPath: /dev/sda }
            class: hdd
            tier: archive
`,
      `        installDisk: { serial: SYS001 }
        disks:
${disks}`,
    );
  const dataDisk = (issues: Issue[]) =>
    issues
      .filter((i) => i.code === 'data-disk' && i.path[3] === 0)
      .map((i) => [
        formatPath(i.path),
        i.value,
        i.message,
        i.expected,
        i.position?.line,
        i.position?.column,
      ]);

  test('two data disks with one serial on a node are an error at the second selector', () => {
    const text = node(`          - name: fast
            selector: { serial: S5XYZ123 }
            class: ssd
            tier: fast-storage
          - name: bulk
            selector: { serial: S5XYZ123, model: WDC }
            class: hdd
            tier: archive
`);
    expect(text).not.toBe(base);
    expect(dataDisk(loadDefinition(text, 'p.yaml').issues)).toEqual([
      [
        'clusters[0].nodes[0].disks[1].selector',
        { serial: 'S5XYZ123', model: 'WDC' },
        'selects the same disk as clusters[0].nodes[0].disks[0].selector on node "alpha-1"; two data disks need two physical disks',
        'a selector that tells the disks apart (serial or wwid), or one data disk',
        36,
        23,
      ],
    ]);
  });

  test("a data disk selected by the install disk's serial is an error at its serial", () => {
    const text = node(`          - name: fast
            selector: { serial: SYS001 }
            class: ssd
            tier: fast-storage
`);
    expect(dataDisk(loadDefinition(text, 'p.yaml').issues)).toEqual([
      [
        'clusters[0].nodes[0].disks[0].selector.serial',
        'SYS001',
        'is the serial of node "alpha-1"\'s install disk (installDisk.serial); Talos never provisions a user volume on the system disk, so data disk "fast" would never appear',
        'the serial of another disk (`talosctl get disks --insecure` lists them)',
        32,
        33,
      ],
    ]);
  });

  test('distinct serials pass', () => {
    const text = node(`          - name: fast
            selector: { serial: S5XYZ123 }
            class: ssd
            tier: fast-storage
          - name: bulk
            selector: { serial: S5XYZ124 }
            class: hdd
            tier: archive
`);
    expect(dataDisk(loadDefinition(text, 'p.yaml').issues)).toEqual([]);
  });
});

describe('a hostname longer than a DNS label', () => {
  test('is reported once, as too long (max 63), with the form a label has', () => {
    const long = `a${'b'.repeat(69)}`;
    const text = minimal.replace('hostname: alpha-1', `hostname: ${long}`);
    expect(text).not.toBe(minimal);
    const issues = loadDefinition(text, 'p.yaml').issues.filter((i) => i.code === 'schema');
    expect(issues).toMatchObject([
      {
        path: ['clusters', 0, 'nodes', 0, 'hostname'],
        value: long,
        message: 'is too long: 70 characters',
        expected:
          "at most 63 characters (a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
        position: { line: lineOf(text, long), column: 19 },
      },
    ]);
  });

  test('63 characters are fine', () => {
    const text = minimal.replace('hostname: alpha-1', `hostname: a${'b'.repeat(62)}`);
    expect(loadDefinition(text, 'p.yaml').issues.filter((i) => i.code === 'schema')).toEqual([]);
  });
});

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((line) => line.includes(needle)) + 1;
}

// A value that misses its form by a common slip says which, with the value it should be.
describe('the fix a form error names', () => {
  const shown = (text: string) =>
    loadDefinition(text, 'p.yaml').issues.map((issue) => [formatPath(issue.path), issue.expected]);
  const domain = (value: string) => minimal.replace(/^ {2}domain: .*$/m, `  domain: ${value}`);

  test('an uppercase or dotted domain: in lowercase, without the trailing dot', () => {
    const [upper] = shown(domain('Lab.Example.com'));
    expect(upper?.[1]).toMatch(/; in lowercase: "lab\.example\.com"$/);
    const [dotted] = shown(domain('lab.example.com.'));
    expect(dotted?.[1]).toMatch(/; without the trailing dot: "lab\.example\.com"$/);
  });

  test('a character outside ASCII (a Cyrillic a, a Unicode hyphen): which, and where', () => {
    const [cyrillic] = shown(minimal.replace('name: alpha', 'name: \u0430lpha'));
    expect(cyrillic).toEqual([
      'clusters[0].name',
      expect.stringMatching(
        /; it holds U\+0430 \("\u0430"\) at character 1, outside ASCII: a look-alike of a letter or dash pasted from a document\? Type it again$/,
      ),
    ]);
  });

  test('no blame on a character outside ASCII where the value fails for another reason', () => {
    // A Cyrillic a and a space: without the a it still is no DNS label
    const [both] = shown(minimal.replace('name: alpha', "name: '\u0430l pha'"));
    expect(both?.[1]).not.toContain('outside ASCII');
  });

  test('a quoted number where an integer is expected: without the quotes', () => {
    expect(shown(minimal.replace('localAsn: 64512', 'localAsn: "64512"'))).toEqual([
      [
        'clusters[1].network.bgp.localAsn',
        'an integer (without the quotes: YAML reads "64512" as text)',
      ],
    ]);
  });
});
