// Conformance with upstream (vendor/): every key we set under `authelia` exists in the chart
// 0.11.5 and the merged values pass its values.schema.json (with the definitions.json it `$ref`s
// by URL, kept beside the archive); the generated Authelia configuration passes Authelia's own
// JSON Schema for 4.39; and, with the real Helm, the configuration.yaml the chart renders from our
// values is that configuration, its secrets are files the pod mounts, and the pod passes Pod
// Security `restricted`.

import { readFileSync } from 'node:fs';
import {
  componentSettings,
  type KubeObject,
  mergeValues,
  type PathSegment,
  parseYaml,
  type ResolvedCluster,
  type Values,
} from '@homelab/core';
import {
  findHelm,
  helmTemplate,
  podSpecOf,
  readUpstream,
  readVendoredChartFile,
  restrictedProblems,
  unknownValueKeys,
  vendored,
} from '@homelab/core/testing';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { accessFor } from '../src/access.js';
import { type AutheliaConfiguration, autheliaConfiguration } from '../src/config.js';
import { autheliaComponent } from '../src/index.js';
import { type AutheliaSettings, resolveAutheliaSettings } from '../src/settings.js';
import { AUTHELIA_CHART } from '../src/versions.js';
import { HA, type Loose, runAuthelia } from './helpers.js';

const version = AUTHELIA_CHART.version;
// Staging mails through SMTP (the notifier the chart renders from our values, startup check off).
const SMTP = {
  address: 'submissions://smtp.lab.example.com:465',
  sender: 'Auth <a@lab.example.com>',
};
const run = runAuthelia({}, { staging: { ...HA, smtp: SMTP }, prod: HA });
const chart = run.components.components.find((entry) => entry.component.name === 'authelia')?.output
  .chart;
const clusters = [
  ['dev', 'development'],
  ['staging', 'staging'],
  ['prod', 'production'],
] as const;

/** The configuration of a cluster, computed as the component computes it. */
function model(name: string): AutheliaConfiguration {
  const clusterRun = run.components.clusters.find((entry) => entry.cluster.name === name);
  if (clusterRun === undefined) throw new Error(`no cluster ${name}`);
  const cluster: ResolvedCluster = clusterRun.cluster;
  const path = (...segments: PathSegment[]) => [
    'clusters',
    cluster.index,
    'components',
    'authelia',
    ...segments,
  ];
  const settings = resolveAutheliaSettings(
    componentSettings(run.platform, autheliaComponent, cluster) as AutheliaSettings,
    cluster,
    path,
  ).settings;
  const domain = clusterRun.facts.gateway?.domain ?? cluster.domain;
  const others = [...clusterRun.contributions.entries()]
    .filter(([component]) => component !== 'authelia')
    .map(([component, contribution]) => ({ component, contribution }));
  const { access } = accessFor({ cluster, domain, settings, others, path });
  return autheliaConfiguration({ cluster, domain, settings, access });
}

/**
 * Stand-ins for the values Authelia reads from files, in the forms its schema describes: a PEM
 * block for a key, `$plaintext$…` for a client secret (Authelia reads a value that does not start
 * with `$` as plaintext: decode_hooks.go, StringToPasswordDigestHookFunc), a string otherwise.
 */
function placeholder(option: readonly PathSegment[]): string {
  const last = option[option.length - 1];
  if (last === 'key') return '-----BEGIN CERTIFICATE-----\nAAAA\nAAAA\n-----END CERTIFICATE-----\n';
  if (last === 'client_secret') return '$plaintext$read-from-a-file';
  return 'read-from-a-file-at-least-twenty-characters';
}

/** The configuration with a stand-in at every secret option (Authelia reads them from files). */
function withSecrets(configuration: AutheliaConfiguration): Values {
  const config = structuredClone(configuration.config) as Loose;
  for (const secret of configuration.secrets) {
    let node = config;
    const option = [...secret.option];
    const last = option.pop() as PathSegment;
    for (const segment of option) {
      node[segment] ??= typeof segment === 'number' ? [] : {};
      node = node[segment];
    }
    node[last] = placeholder(secret.option);
  }
  return config;
}

function autheliaSchema(): (data: unknown) => boolean {
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    unicodeRegExp: false,
  });
  // The schema tells a bare address from `Name <address>` (the SMTP sender's oneOf) only by its
  // `email` format; its other formats are not checked here.
  ajv.addFormat('email', /^[^\s<>@]+@[^\s<>@]+$/);
  for (const format of ['hostname', 'regex', 'uri']) ajv.addFormat(format, true);
  const schema = JSON.parse(readUpstream('authelia/config-v4.39/configuration.schema.json'));
  return ajv.compile(schema);
}

describe('charts/authelia against the authelia chart 0.11.5', () => {
  it('sets only keys the chart defines, in every layer', () => {
    const upstream = parseYaml(readVendoredChartFile('authelia', version, 'values.yaml')) as Values;
    const layers = [chart?.values, ...Object.values(chart?.clusters ?? {})];
    expect(layers.length).toBe(4);
    for (const layer of layers) {
      const ours = (layer?.authelia ?? {}) as Values;
      expect(unknownValueKeys(ours, upstream)).toEqual([]);
    }
  });

  it("passes the chart's values.schema.json (with its definitions.json) on every cluster", () => {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const definitions = JSON.parse(
      readFileSync(vendored('charts', 'authelia', version, 'definitions.json'), 'utf8'),
    );
    ajv.addSchema(definitions, 'https://charts.authelia.com/definitions.json');
    const validate = ajv.compile(
      JSON.parse(readVendoredChartFile('authelia', version, 'values.schema.json')),
    );
    const upstream = parseYaml(readVendoredChartFile('authelia', version, 'values.yaml')) as Values;
    for (const [cluster] of clusters) {
      // Helm validates the chart's values coalesced with ours.
      const ok = validate(mergeValues(upstream, run.values('authelia', cluster).authelia));
      expect([cluster, ok ? [] : validate.errors]).toEqual([cluster, []]);
    }
  });
});

describe("the generated configuration against Authelia's schema (4.39)", () => {
  const validate = autheliaSchema();

  for (const [cluster] of clusters) {
    it(`validates on ${cluster}`, () => {
      const config = withSecrets(model(cluster));
      const ok = validate(config);
      expect([cluster, ok ? [] : (validate as Loose).errors]).toEqual([cluster, []]);
    });
  }

  it('refuses what Authelia refuses: a typo in a generated key', () => {
    const config = withSecrets(model('dev')) as Loose;
    config.access_control.default_polciy = 'deny';
    expect(validate(config)).toBe(false);
  });
});

const helm = findHelm();

/** The configuration.yaml the chart renders, with its secret filters read as Authelia reads them. */
function renderedConfiguration(objects: readonly KubeObject[]): {
  config: Loose;
  filters: string[];
} {
  const configMap = objects.find(
    (object) => object.kind === 'ConfigMap' && object.metadata.name === 'authelia',
  ) as Loose;
  const text: string = configMap.data['configuration.yaml'];
  const filters: string[] = [];
  // `{{ secret "/path" | mindent 10 "|" | msquote }}` and `'{{ secret "/path" }}'`
  const replaced = text.replace(/'?\{\{ secret "([^"]+)"[^}]*\}\}'?/g, (_, file: string) => {
    filters.push(file);
    return JSON.stringify(
      file.endsWith('.pem') ? placeholder(['key']) : placeholder(['client_secret']),
    );
  });
  return { config: parseYaml(replaced), filters };
}

describe.skipIf(helm === undefined)('charts/authelia rendered by the real Helm', () => {
  const validate = autheliaSchema();
  for (const [cluster, environment] of clusters) {
    it(`renders the generated configuration, its secrets as mounted files, a restricted pod (${cluster})`, () => {
      if (chart === undefined || helm === undefined) throw new Error('no chart or no helm');
      const objects = helmTemplate(helm, {
        spec: chart,
        release: 'authelia',
        namespace: 'authelia',
        valueFiles: [`env/${environment}.yaml`, `clusters/${cluster}.yaml`],
        // values.schema.json $refs https://charts.authelia.com/definitions.json: offline, Helm
        // cannot fetch it; the suite above validates against the vendored copy.
        flags: ['--skip-schema-validation'],
      });
      const ours = model(cluster);
      const { config, filters } = renderedConfiguration(objects);
      // What we generate is what Authelia gets (the chart adds its defaults around it)
      const expected = structuredClone(ours.config) as Loose;
      expect(config).toMatchObject(expected);
      // Every secret is a file: filters for those in lists, *_FILE variables for the others
      const deployment = objects.find((object) => object.kind === 'Deployment') as Loose;
      const container = deployment.spec.template.spec.containers[0];
      const env = new Map<string, string>(
        container.env.map((entry: Loose) => [entry.name, entry.value]),
      );
      const files = [...env.entries()]
        .filter(([name]) => name.endsWith('_FILE'))
        .map(([, file]) => file);
      expect([...files, ...filters].sort()).toEqual(
        ours.secrets.map((secret) => secret.file).sort(),
      );
      for (const secret of ours.secrets) {
        const mounted = container.volumeMounts.some((mount: Loose) =>
          secret.file.startsWith(`${mount.mountPath}/`),
        );
        expect([secret.file, mounted]).toEqual([secret.file, true]);
      }
      // and the rendered configuration passes Authelia's schema
      const ok = validate(config);
      expect([cluster, ok ? [] : (validate as Loose).errors]).toEqual([cluster, []]);
      // Authelia 4.39 exits when its notifier's startup check fails: with SMTP it is off, so a
      // mail outage cannot crash-loop the pods; the file notifier keeps it.
      expect([cluster, config.notifier.disable_startup_check]).toEqual([
        cluster,
        cluster === 'staging',
      ]);
      expect(Object.keys(config.notifier).sort()).toEqual(
        cluster === 'staging'
          ? ['disable_startup_check', 'smtp']
          : ['disable_startup_check', 'filesystem'],
      );
      // Pod Security restricted, the replicas the backends allow, no generated Secret
      expect(restrictedProblems(podSpecOf(deployment) ?? {})).toEqual([]);
      expect(deployment.spec.replicas).toBe({ dev: 1, staging: 2, prod: 3 }[cluster]);
      expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
      // nothing cluster-scoped: the Application declares no cluster resources
      expect(
        objects
          .filter((object) =>
            ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Namespace'].includes(
              object.kind,
            ),
          )
          .map((object) => object.kind),
      ).toEqual([]);
      // our disruption budget selects the pods (the chart's own is off)
      const labels = deployment.spec.template.metadata.labels;
      const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget') as Loose[];
      expect(budgets.length).toBe(cluster === 'dev' ? 0 : 1);
      for (const budget of budgets) {
        expect(budget.spec.maxUnavailable).toBe(1);
        for (const [key, value] of Object.entries(budget.spec.selector.matchLabels)) {
          expect([key, labels[key]]).toEqual([key, value]);
        }
      }
      // The route's Service
      const service = objects.find((object) => object.kind === 'Service') as Loose;
      expect([service.metadata.name, service.spec.ports[0].port]).toEqual(['authelia', 80]);
    });
  }
});

describe('flows (zero trust) against the chart 0.11.5', () => {
  const upstream = parseYaml(readVendoredChartFile('authelia', version, 'values.yaml')) as Loose;
  const flows = (cluster: string) =>
    (run.declared(cluster).flows ?? []).map(
      (flow) =>
        `${flow.name} ${flow.direction} ${JSON.stringify(flow.peer)} ${flow.ports.map((port) => `${port.port}/${port.protocol}`).join(',')}`,
    );

  it("the Gateway reaches the server's port and Authelia its NTP server, as the chart sets them", () => {
    // What the chart listens on and checks its clock against at start-up.
    expect(upstream.configMap.server.port).toBe(9091);
    expect(upstream.configMap.ntp).toMatchObject({
      address: 'udp://time.cloudflare.com:123',
      disable_failure: false,
    });
    // The metrics listener is off in the chart; our values switch it on at the chart's port,
    // which the Service names `metrics` (the metrics provider's ServiceMonitor scrapes it).
    expect(upstream.configMap.telemetry.metrics).toMatchObject({ enabled: false, port: 9959 });
    const service = readVendoredChartFile('authelia', version, 'templates/service.yaml');
    expect(service).toContain('- name: metrics');
    expect(service).toContain('targetPort: metrics');
    const values = run.values('authelia', 'dev') as Loose;
    expect(values.authelia.configMap.telemetry.metrics).toEqual({ enabled: true, port: 9959 });
    expect(flows('dev')).toEqual([
      'gateway ingress {"kind":"gateway"} 9091/TCP',
      'metrics ingress {"kind":"capability","capability":"metrics"} 9959/TCP',
      'ntp egress {"kind":"fqdn","name":"time.cloudflare.com"} 123/UDP',
    ]);
    // What the check does (internal/ntp/ntp.go): an unreachable server is a warning, a clock
    // more than max_desync off stops the start; the policy's description says so.
    expect(upstream.configMap.ntp.max_desync).toBe('3 seconds');
    const ntp = (run.declared('dev').flows ?? []).find((flow) => flow.name === 'ntp');
    expect(ntp?.reason).toBe(
      'Authelia checks its clock at start-up and refuses to start when it is more than 3 s off',
    );
  });

  it('reaches the LDAP directory, PostgreSQL, Redis and SMTP the settings name', () => {
    expect(flows('prod').slice(3)).toEqual([
      'ldap egress {"kind":"fqdn","name":"ldap.lab.example.com"} 636/TCP',
      'postgres egress {"kind":"fqdn","name":"postgres.lab.example.com"} 5432/TCP',
      'redis egress {"kind":"fqdn","name":"redis.lab.example.com"} 6379/TCP',
    ]);
    const addressed = runAuthelia(
      {},
      {
        prod: {
          ...HA,
          storage: { postgres: { address: 'tcp://10.0.5.20:5432' } },
          smtp: {
            address: 'submissions://smtp.example.org:465',
            sender: 'Auth <auth@example.org>',
          },
        },
      },
    );
    const prod = (addressed.declared('prod').flows ?? []).map(
      (flow) => `${flow.name} ${JSON.stringify(flow.peer)} ${flow.ports[0]?.port}`,
    );
    expect(prod).toContain('postgres {"kind":"cidr","cidr":"10.0.5.20/32"} 5432');
    expect(prod).toContain('smtp {"kind":"fqdn","name":"smtp.example.org"} 465');
  });
});

describe.skipIf(helm === undefined)(
  'a private CA (caCertificates) rendered by the real Helm',
  () => {
    // Given prod's backends signed by a private CA
    const CA = readFileSync(new URL('./fixtures/private-ca.crt', import.meta.url), 'utf8');
    const withCa = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: CA } });
    const caChart = withCa.components.components.find(
      (entry) => entry.component.name === 'authelia',
    )?.output.chart;

    it('sets only keys the chart defines and passes its values.schema.json', () => {
      const upstream = parseYaml(
        readVendoredChartFile('authelia', version, 'values.yaml'),
      ) as Values;
      expect(
        unknownValueKeys((caChart?.clusters.prod?.authelia ?? {}) as Values, upstream),
      ).toEqual([]);
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema(
        JSON.parse(
          readFileSync(vendored('charts', 'authelia', version, 'definitions.json'), 'utf8'),
        ),
        'https://charts.authelia.com/definitions.json',
      );
      const validate = ajv.compile(
        JSON.parse(readVendoredChartFile('authelia', version, 'values.schema.json')),
      );
      expect(validate(mergeValues(upstream, withCa.values('authelia', 'prod').authelia))).toBe(
        true,
      );
    });

    it('mounts the CA at /certificates, points certificates_directory there, rolls on change', () => {
      if (caChart === undefined || helm === undefined) throw new Error('no chart or no helm');
      const objects = helmTemplate(helm, {
        spec: caChart,
        release: 'authelia',
        namespace: 'authelia',
        valueFiles: ['env/production.yaml', 'clusters/prod.yaml'],
        flags: ['--skip-schema-validation'],
      }) as Loose[];
      // the chart's Secret holds the PEM as a *.crt file (Authelia loads .crt, .pem, .cer)
      const secret = objects.find((object) => object.kind === 'Secret');
      expect(secret?.metadata.name).toBe('authelia-certificates');
      expect(Object.keys(secret.data)).toEqual(['ca-certificates.crt']);
      expect(Buffer.from(secret.data['ca-certificates.crt'], 'base64').toString('utf8')).toBe(CA);
      // mounted where the configuration says
      const { config } = renderedConfiguration(objects);
      expect(config.certificates_directory).toBe('/certificates');
      const deployment = objects.find((object) => object.kind === 'Deployment');
      const pod = deployment.spec.template.spec;
      const volume = pod.volumes.find(
        (entry: Loose) => entry.secret?.secretName === secret.metadata.name,
      );
      expect(pod.containers[0].volumeMounts).toContainEqual(
        expect.objectContaining({ name: volume.name, mountPath: '/certificates' }),
      );
      // the chart has no checksum of that Secret: ours rolls the pods when the CA changes
      expect(
        deployment.spec.template.metadata.annotations['homelab.dev/ca-certificates-sha256'],
      ).toMatch(/^[0-9a-f]{64}$/);
      // still Pod Security restricted, and the configuration passes Authelia's schema
      expect(restrictedProblems(podSpecOf(deployment) ?? {})).toEqual([]);
      const validate = autheliaSchema();
      expect(validate(config) ? [] : (validate as Loose).errors).toEqual([]);
    });
  },
);

describe("the users database the runbook describes, against Authelia's v4.39 user-database schema", () => {
  const schema = JSON.parse(readUpstream('authelia/config-v4.39/user-database.schema.json'));
  const validate = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false }).compile(
    schema,
  );
  // An argon2id digest as `authelia crypto hash generate argon2` prints it (commas in its
  // parameters): in a YAML flow mapping it must be quoted
  const HASH =
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$q0pYl9Q2lZrEXx0P3c8o6mbUMVdCMJkp9Lr2lB9U3dM';
  const described = () => {
    const description = run.declared('dev').secrets?.[1]?.description ?? '';
    return /YAML `(users: .*?)`/.exec(description)?.[1];
  };
  const filled = (template: string, hash: string) =>
    template
      .replace('{<name>:', '{alice:')
      .replace('displayname: <name>', 'displayname: Alice')
      .replace('<address>', 'alice@example.com')
      .replace('<hash>', hash);

  it('takes the template filled in: displayname and password given, the hash as Authelia writes it, the groups the definition names', () => {
    const template = described();
    expect(template).toBeDefined();
    const database = parseYaml(filled(template as string, HASH)) as Loose;
    expect(validate(database) ? [] : validate.errors).toEqual([]);
    expect(database.users.alice.password).toBe(HASH);
    // Each group the template names is one the definition lists (the OIDC clients' policies)
    expect(database.users.alice.groups.length).toBeGreaterThan(0);
    for (const group of database.users.alice.groups) {
      expect(run.declared('dev').facts?.['oidc-provider']?.groups).toContain(group);
    }
  });

  it('is refused without the quotes the template asks for (the digest splits at its commas), and without a password', () => {
    const template = described() as string;
    const unquoted = parseYaml(filled(template.replace("'<hash>'", '<hash>'), HASH)) as Loose;
    expect(validate(unquoted)).toBe(false);
    const noPassword = parseYaml(
      filled(template.replace(", password: '<hash>'", ''), HASH),
    ) as Loose;
    expect(validate(noPassword)).toBe(false);
  });
});
