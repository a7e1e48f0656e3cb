// Zero trust for Longhorn and the applications (issue 13): on the reference platform both are
// under default deny, every connection they declare is allowed by the generated policies, and
// removing the policy of one of them is a build error naming both ends; the applications' flows
// are checked where they are written (file:line:col).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  DeployedApplication,
  DeployedCluster,
  Issue,
  SystemInput,
  SystemReport,
} from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const FILE = 'platform.yaml';
const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

type Alter = (input: SystemInput) => SystemInput;

async function run(
  text: string,
  alter?: Alter,
): Promise<{ issues: Issue[]; reports: SystemReport[] }> {
  const result = await generate(
    { text, file: FILE, chartVersions: {} },
    alter === undefined ? {} : { beforeSystemChecks: alter },
  );
  return { issues: [...result.issues], reports: result.reports?.() ?? [] };
}

function errors(issues: readonly Issue[]): Issue[] {
  return issues.filter((issue) => issue.severity === 'error');
}

function at(issue: Issue): string | undefined {
  return issue.position === undefined
    ? undefined
    : `${issue.position.file}:${issue.position.line}:${issue.position.column}`;
}

/** Removes the Cilium policies `names` (per cluster) from what Argo CD would deploy. */
function withoutPolicies(names: { readonly [cluster: string]: readonly string[] }): Alter {
  return (input) => {
    const removed = new Set<string>();
    const out = {
      ...input,
      clusters: input.clusters.map(
        (deployed): DeployedCluster => ({
          ...deployed,
          applications: deployed.applications.map(
            (app): DeployedApplication => ({
              ...app,
              objects: app.objects.filter((item) => {
                const drop =
                  item.object.kind === 'CiliumNetworkPolicy' &&
                  (names[deployed.cluster.name] ?? []).includes(item.object.metadata.name);
                if (drop) removed.add(`${deployed.cluster.name}/${item.object.metadata.name}`);
                return !drop;
              }),
            }),
          ),
        }),
      ),
    };
    const wanted = Object.entries(names).flatMap(([cluster, list]) =>
      list.map((name) => `${cluster}/${name}`),
    );
    const missing = wanted.filter((name) => !removed.has(name));
    if (missing.length > 0) throw new Error(`no policy ${missing.join(', ')}`);
    return out;
  };
}

function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`"${from}" is not in the text`);
  return text.replace(from, to);
}

/** 1-based line and column of `needle` (its first character) in `text`. */
function positionOf(text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`"${needle}" is not in the text`);
  const before = text.slice(0, index).split('\n');
  return `${FILE}:${before.length}:${(before.at(-1) as string).length + 1}`;
}

describe('the reference platform under zero trust', { timeout: 120_000 }, () => {
  it('puts longhorn-system and paperless under default deny with every declared flow allowed', async () => {
    const { issues, reports } = await run(reference);
    expect(errors(issues)).toEqual([]);
    expect(
      issues.filter((issue) => /declares no flows/.test(issue.message)).map((i) => i.message),
    ).toEqual([]);
    const lines = reports.find((report) => report.name === 'reachability')?.lines ?? [];
    const headers = lines.filter((line) => line.startsWith('cluster '));
    expect(headers).toHaveLength(3);
    for (const header of headers) {
      expect(header).toMatch(/default deny on in .*longhorn-system.*paperless/);
    }
    // Every needed flow allowed on every cluster, the range and the node-level flows among them.
    for (const line of lines.filter((line) => line.includes('needed flows:'))) {
      expect(line).toMatch(/needed flows: (\d+) of \1 allowed/);
    }
    expect(lines).toContain(
      '    allowed  longhorn-system/instance-manager → longhorn-system/instance-manager 10000-20000/TCP  [longhorn.engine-replicas]',
    );
    expect(lines).toContain(
      '    allowed  nodes → longhorn-system/instance-manager 3260/TCP  [longhorn.iscsi]',
    );
    expect(lines).toContain(
      '    allowed  kube-apiserver → longhorn-system/longhorn-manager 9502/TCP  [longhorn.manager-webhooks]',
    );
    expect(lines).toContain(
      '    allowed  paperless/volsync → s3.lab.example.com 443/TCP  [applications.backup-movers-s3-paperless]',
    );
    // Longhorn's ServiceMonitor stays reachable from Prometheus, now by its declared flow.
    expect(lines).toContain(
      '    allowed  ServiceMonitor/longhorn-longhorn → longhorn-system via 9500/TCP [longhorn.metrics]',
    );
    expect(lines.some((line) => line.includes('DENIED'))).toBe(false);
  });

  it('a Longhorn or application flow whose policy is gone is a build error naming both ends', async () => {
    const { issues } = await run(
      reference,
      withoutPolicies({
        dev: ['longhorn-engine-replicas-ingress'],
        staging: ['longhorn-manager-webhooks-ingress'],
        prod: ['longhorn-iscsi-ingress', 'applications-backup-movers-s3-paperless-egress'],
      }),
    );
    const messages = errors(issues)
      .filter((issue) => issue.code === 'reachability')
      .map((issue) => issue.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'longhorn needs longhorn-system/instance-manager → longhorn-system/instance-manager 10000-20000/TCP (engines write to the replicas of other instance managers, replicas sync while rebuilding (the process port range)) on cluster "dev", but no generated policy allows it',
        `longhorn needs kube-apiserver → longhorn-system/longhorn-manager 9501/TCP (the API server calls longhorn-manager's conversion (9501) and admission (9502) webhooks) on cluster "staging", but no generated policy allows it`,
        `longhorn needs nodes → longhorn-system/instance-manager 3260/TCP (the node's iSCSI initiator logs in to the engine's target in the instance manager) on cluster "prod", but no generated policy allows it`,
        'applications needs paperless/volsync → s3.lab.example.com 443/TCP (VolSync\'s restic movers back up and restore the volume at the S3 endpoint (https://s3.lab.example.com)) on cluster "prod", but no generated policy allows it',
      ]),
    );
    expect(messages).toHaveLength(5);
  });
});

describe("the applications' routes under default deny", { timeout: 120_000 }, () => {
  const web = `          - name: web
            gateway: true
            ports: [{ port: 8000 }]
            reason: the Gateway forwards paperless.<domain> to the web server
`;

  it('a route whose application admits no Gateway flow is an error at the route', async () => {
    const text = edit(reference, web, '');
    const { issues } = await run(text);
    expect(
      errors(issues).map((issue) => [issue.code, at(issue), issue.message, issue.expected]),
    ).toEqual([
      [
        'applications-route',
        positionOf(text, 'host: paperless'),
        'sends paperless.<cluster domain> to Service paperless in paperless, which is under default deny (paperless declares flows), but no flow of paperless admits the Gateway: Cilium drops every request it forwards',
        "a flow of paperless with gateway: true to the Service's pods on their container port, e.g. { name: web, gateway: true, ports: [{ port: <container port> }] }",
      ],
    ]);
  });

  it('the policy admitting the Gateway gone: the reachability check names the route, at the route, though no pod calls it', async () => {
    const { issues, reports } = await run(
      reference,
      withoutPolicies({ prod: ['applications-paperless-web-ingress'] }),
    );
    const found = errors(issues).filter((issue) => issue.code === 'reachability');
    // The flow's own error, and the route's: at the route, naming the host browsers ask for.
    expect(found.map((issue) => [at(issue), issue.value, issue.message])).toEqual([
      [
        positionOf(reference, 'apps:\n      paperless:'),
        'gateway → paperless/paperless',
        'applications needs gateway → paperless/paperless 8000/TCP (the Gateway forwards paperless.<domain> to the web server) on cluster "prod", but no generated policy allows it',
      ],
      [
        positionOf(reference, 'host: paperless'),
        'gateway → paperless.lab.example.com',
        'applications routes paperless.lab.example.com to paperless, which is under default deny on cluster "prod", but the Gateway\'s proxy (Cilium identity ingress) reaches none of its pods there (paperless/paperless 8000/TCP (not allowed by the policies)): every request to the host is dropped',
      ],
    ]);
    expect(reports.find((report) => report.name === 'reachability')?.lines).toContain(
      '    DENIED   gateway → paperless.lab.example.com (applications) via paperless/paperless 8000/TCP (not allowed by the policies)',
    );
  });
});

describe("an application's route on a platform host", { timeout: 120_000 }, () => {
  it("is refused at the application's route, never at the component whose host it is", async () => {
    // (its OIDC client keeps its id, and so the name of its secret's Secret)
    const text = edit(
      edit(reference, 'host: paperless', 'host: auth'),
      '            oidc:\n',
      '            oidc:\n              clientId: paperless\n',
    );
    const { issues } = await run(text);
    expect(
      errors(issues).map((issue) => [issue.code, at(issue), issue.message, issue.expected]),
    ).toEqual([
      [
        'gateway-route',
        positionOf(text, 'auth\n            service: paperless'),
        'declares route "auth" for auth.<cluster domain>, which authelia (route "authelia") already routes on clusters "dev", "prod" and "staging"',
        'another host: one route per host',
      ],
    ]);
  });
});

describe("the applications' flows in the definition", { timeout: 120_000 }, () => {
  const mail = `          - name: mail
            fqdn: imap.example.com`;

  it('a flow to an unknown application, an invalid FQDN, a reversed range or an unknown capability is an error at the flow', async () => {
    let text = edit(reference, 'application: paperless', 'application: paperles');
    text = edit(text, mail, mail.replace('imap.example.com', 'IMAP.example.com.'));
    text = edit(text, 'ports: [{ port: 6379 }]', 'ports: [{ port: 6379, endPort: 6000 }]');
    const { issues } = await run(text);
    const found = errors(issues)
      .filter((issue) => issue.code === 'applications-flow')
      .map((issue) => ({ at: at(issue), message: issue.message }));
    // The first error of a flow stops it: the broker's reversed range is reported, its peer not.
    expect(found).toEqual(
      expect.arrayContaining([
        {
          at: positionOf(text, 'IMAP.example.com.'),
          message: 'is not a DNS name or a pattern with one leading wildcard label',
        },
        {
          at: positionOf(text, '6000 }'),
          message: 'ends the range at or below its first port 6379',
        },
      ]),
    );
    expect(new Set(found.map((entry) => entry.at)).size).toBe(2);

    const unknown = edit(reference, 'application: paperless', 'application: paperles');
    const second = errors((await run(unknown)).issues).filter(
      (issue) => issue.code === 'applications-flow',
    );
    expect(second.map((issue) => [at(issue), issue.message, issue.expected])).toEqual([
      [
        positionOf(unknown, 'paperles\n'),
        'is not an application enabled on this cluster',
        'one of paperless',
      ],
    ]);

    const capability = edit(reference, 'application: paperless\n', 'capability: object-store\n');
    const third = errors((await run(capability)).issues).filter(
      (issue) => issue.code === 'applications-flow',
    );
    expect(third.map((issue) => [at(issue), issue.message])).toEqual([
      [positionOf(capability, 'object-store'), 'is not a capability a component can provide'],
    ]);
  });

  it('a port outside 1-65535 is refused by the schema, at the port', async () => {
    const text = edit(reference, 'ports: [{ port: 993 }]', 'ports: [{ port: 99300 }]');
    const found = errors((await run(text)).issues);
    expect(found.length).toBeGreaterThan(0);
    expect(found.map((issue) => at(issue))).toContain(positionOf(text, '99300'));
  });

  it('an application without flows stays outside default deny, with the warning', async () => {
    const text = edit(
      reference,
      reference.slice(
        reference.indexOf('        # Zero trust: with flows'),
        reference.indexOf('        volumes:\n          data:'),
      ),
      '',
    );
    const { issues, reports } = await run(text);
    expect(errors(issues)).toEqual([]);
    expect(
      issues
        .filter((issue) => issue.code === 'reachability' && issue.severity === 'warning')
        .map((issue) => issue.message),
    ).toEqual([
      'applications declares no flows for paperless on clusters dev, staging, prod: its namespace paperless stays outside default deny (zero trust does not cover it, nor any namespace it shares)',
    ]);
    const headers = (reports.find((report) => report.name === 'reachability')?.lines ?? []).filter(
      (line) => line.startsWith('cluster '),
    );
    for (const header of headers) expect(header).not.toMatch(/paperless/);
  });
});

describe("an application in a platform component's namespace", { timeout: 120_000 }, () => {
  it("is an error at its namespace naming the component, and the monitoring namespace's default deny is checked", async () => {
    const text = reference.replace(
      '    apps:\n      paperless:\n',
      '    apps:\n      dashboards:\n        namespace: monitoring\n      paperless:\n',
    );
    expect(text).not.toBe(reference);
    const line = text.split('\n').indexOf('        namespace: monitoring') + 1;
    const { issues } = await run(text);
    const found = errors(issues);
    const own = found.filter((issue) => issue.code === 'applications-namespace');
    expect(own.map((issue) => [at(issue), issue.value])).toEqual([
      [`${FILE}:${line}:20`, 'monitoring'],
    ]);
    expect(own[0]?.message).toContain('the namespace monitoring deploys into on clusters');
    expect(own[0]?.message).toContain("takes the whole namespace out of Cilium's default deny");
    expect(
      found
        .filter((issue) => issue.code === 'platform-namespaces-default-deny')
        .map((issue) => issue.message),
    ).toContain(
      'namespace "monitoring", where monitoring declares its flows, is outside Cilium\'s default deny on cluster "dev" because applications leaves it without flows: monitoring\'s pods there accept and send anything',
    );
  });
});
