// The settings of `components.cert-manager`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it), defaults, and a cluster's settings resolved into the issuer it gets.
// Pure.
import { createRequire } from 'node:module';
import {
  emailAddressProblem,
  error,
  type Issue,
  type JsonSchema,
  type PathSegment,
  type SecretKeyRef,
  type SettingsSpec,
} from '@homelab/core';
import type * as Tldts from 'tldts';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { CertManagerDns01, CertManagerSettings } from './generated/settings.js';
import { CERT_MANAGER_CHART, type CertManagerVersion } from './versions.js';

const require = createRequire(import.meta.url);

export type { CertManagerSettings };

/** The namespace cert-manager runs in: ClusterIssuers read their Secrets from here. */
export const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** Lifetime of the private root CA unless the definition says otherwise: ten years. */
export const DEFAULT_CA_VALIDITY_HOURS = 87600;

export const certManagerSettingsSpec: SettingsSpec<CertManagerSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  defaults: { version: CERT_MANAGER_CHART.version, issuer: { type: 'private-ca' } },
  platformOnly: ['version'],
};

/** Let's Encrypt's ACME directories. */
export const ACME_SERVERS = {
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
  production: 'https://acme-v02.api.letsencrypt.org/directory',
} as const;

export type DnsProvider = CertManagerDns01['provider'];

/** A DNS-01 solver with the Secret keys it reads. */
export type ResolvedSolver =
  | { readonly provider: 'cloudflare'; readonly apiToken: SecretKeyRef }
  | {
      readonly provider: 'rfc2136';
      readonly nameserver: string;
      readonly tsigKeyName: string;
      readonly tsigAlgorithm: string;
      readonly tsigSecret: SecretKeyRef;
    }
  | {
      readonly provider: 'route53';
      readonly region: string;
      readonly hostedZoneId: string | undefined;
      readonly accessKeyId: SecretKeyRef;
      readonly secretAccessKey: SecretKeyRef;
    };

export type ResolvedIssuer =
  | {
      readonly type: 'private-ca';
      readonly organization: string;
      readonly validityHours: number;
    }
  | {
      readonly type: 'acme';
      readonly email: string;
      readonly server: keyof typeof ACME_SERVERS;
      readonly recursiveNameservers: readonly string[];
      readonly solver: ResolvedSolver;
    };

export interface ResolvedCertManagerSettings {
  readonly version: CertManagerVersion;
  readonly issuer: ResolvedIssuer;
}

/**
 * Names the Public Suffix List has as ICANN suffixes that are still never public: `home.arpa`
 * (RFC 8375, the home network's domain, not delegated in public DNS).
 */
const SPECIAL_USE_SUFFIXES = ['home.arpa'] as const;
const EXAMPLE_DOMAINS = ['example.com', 'example.net', 'example.org'] as const;

let tldts: typeof Tldts | undefined;

/**
 * The ICANN public suffix `name` ends in (`co.uk` for `lab.example.co.uk`), or, when it ends in
 * none, its last label and `icann: false` (`lan` for `nas.lan`). The Public Suffix List comes
 * from tldts; its data is loaded on the first call, that is only when an ACME issuer is set.
 */
function icannSuffix(name: string): { suffix: string; icann: boolean } {
  tldts ??= require('tldts') as typeof Tldts;
  const parsed = tldts.parse(name, { allowPrivateDomains: false, extractHostname: false });
  return {
    suffix: parsed.publicSuffix ?? name.slice(name.lastIndexOf('.') + 1),
    icann: parsed.isIcann === true && !parsed.isIp,
  };
}

/**
 * Why Let's Encrypt refuses `name` (lower case) as a domain, as `(reason, suffix)`, or undefined:
 * Boulder (policy/pa.go `validNonWildcardDomain`) wants a name that ends in an ICANN public
 * suffix (Public Suffix List, private section ignored) and is not that suffix itself.
 */
function notPublic(name: string): { suffix: string; itself: boolean } | undefined {
  for (const suffix of SPECIAL_USE_SUFFIXES) {
    if (name === suffix || name.endsWith(`.${suffix}`)) return { suffix, itself: false };
  }
  const { suffix, icann } = icannSuffix(name);
  if (!icann) return { suffix, itself: false };
  return name === suffix ? { suffix, itself: true } : undefined;
}

/** Why Let's Encrypt cannot issue for `domain`, or undefined when it can. */
export function nonPublicDomain(domain: string): string | undefined {
  const name = domain.toLowerCase();
  const refused = notPublic(name);
  if (refused !== undefined) {
    return refused.itself
      ? `${refused.suffix} is a public suffix, not a domain under one`
      : `.${refused.suffix} is not a public domain`;
  }
  for (const example of EXAMPLE_DOMAINS) {
    if (name === example || name.endsWith(`.${example}`)) {
      return `${example} is reserved for documentation (RFC 2606)`;
    }
  }
  return undefined;
}

/**
 * Why Let's Encrypt refuses `email` as the ACME account's contact (`at example.org (…)`, `whose
 * domain …`), or undefined when it takes it.
 * Boulder (policy/pa.go `ValidEmail`) wants a domain that ends in an ICANN public suffix and is
 * not one itself, and refuses `example.com`, `example.net` and `example.org` themselves
 * ("contact email has forbidden domain"); cert-manager (v1.21.1 pkg/issuer/acme/setup.go) never
 * retries a registration the server answered with a 4xx, so the issuer stays not Ready until its
 * spec changes.
 */
export function refusedContact(email: string): string | undefined {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  if ((EXAMPLE_DOMAINS as readonly string[]).includes(domain)) {
    return `at ${domain} ("contact email has forbidden domain")`;
  }
  const refused = notPublic(domain);
  if (refused === undefined) return undefined;
  return refused.itself
    ? `whose domain is a public suffix itself (${refused.suffix})`
    : `whose domain does not end in a public suffix (.${refused.suffix})`;
}

function secretRef(value: { secretName: string; key: string }): SecretKeyRef {
  return { namespace: CERT_MANAGER_NAMESPACE, name: value.secretName, key: value.key };
}

const PROVIDERS: readonly DnsProvider[] = ['cloudflare', 'rfc2136', 'route53'];

function solverOf(
  dns01: CertManagerDns01,
  path: (...segments: PathSegment[]) => PathSegment[],
  issues: Issue[],
): ResolvedSolver | undefined {
  const at = (...rest: PathSegment[]): PathSegment[] => path('issuer', 'acme', 'dns01', ...rest);
  for (const other of PROVIDERS) {
    if (other !== dns01.provider && dns01[other] !== undefined) {
      issues.push(
        error({
          code: 'cert-manager-issuer',
          path: at(other),
          message: `is set but the DNS provider is ${dns01.provider}`,
          expected: `only the ${dns01.provider} section, or provider: ${other}`,
        }),
      );
    }
  }
  const missing = (): undefined => {
    issues.push(
      error({
        code: 'cert-manager-issuer',
        path: at(),
        value: dns01.provider,
        message: `names provider ${dns01.provider} but has no ${dns01.provider} section`,
        expected: `dns01.${dns01.provider} with the provider's settings and credentials`,
      }),
    );
    return undefined;
  };
  switch (dns01.provider) {
    case 'cloudflare': {
      const section = dns01.cloudflare;
      if (section === undefined) return missing();
      return { provider: 'cloudflare', apiToken: secretRef(section.apiToken) };
    }
    case 'rfc2136': {
      const section = dns01.rfc2136;
      if (section === undefined) return missing();
      return {
        provider: 'rfc2136',
        nameserver: section.nameserver,
        tsigKeyName: section.tsigKeyName,
        tsigAlgorithm: section.tsigAlgorithm ?? 'HMACSHA512',
        tsigSecret: secretRef(section.tsigSecret),
      };
    }
    case 'route53': {
      const section = dns01.route53;
      if (section === undefined) return missing();
      return {
        provider: 'route53',
        region: section.region,
        hostedZoneId: section.hostedZoneId,
        accessKeyId: secretRef(section.accessKeyId),
        secretAccessKey: secretRef(section.secretAccessKey),
      };
    }
  }
}

/**
 * The merged settings of a cluster, with the defaults applied; issues where the issuer's type and
 * its sections disagree, or where ACME could never issue for the cluster's domain.
 */
export function resolveCertManagerSettings(
  raw: CertManagerSettings,
  context: {
    readonly platformName: string;
    readonly domain: string;
    readonly path: (...segments: PathSegment[]) => PathSegment[];
  },
): { settings: ResolvedCertManagerSettings | undefined; issues: Issue[] } {
  const { path } = context;
  const issues: Issue[] = [];
  const version = raw.version ?? CERT_MANAGER_CHART.version;
  const issuer = raw.issuer ?? { type: 'private-ca' };
  if (issuer.type === 'private-ca') {
    if (issuer.acme !== undefined) {
      issues.push(
        error({
          code: 'cert-manager-issuer',
          path: path('issuer', 'acme'),
          message: 'is set but the issuer type is private-ca',
          expected: 'type: acme to use it, or no acme section',
        }),
      );
    }
    return {
      settings: {
        version,
        issuer: {
          type: 'private-ca',
          organization: issuer.privateCa?.organization ?? context.platformName,
          validityHours: issuer.privateCa?.validityHours ?? DEFAULT_CA_VALIDITY_HOURS,
        },
      },
      issues,
    };
  }
  if (issuer.privateCa !== undefined) {
    issues.push(
      error({
        code: 'cert-manager-issuer',
        path: path('issuer', 'privateCa'),
        message: 'is set but the issuer type is acme',
        expected: 'type: private-ca to use it, or no privateCa section',
      }),
    );
  }
  const acme = issuer.acme;
  if (acme === undefined) {
    issues.push(
      error({
        code: 'cert-manager-issuer',
        path: path('issuer'),
        value: 'acme',
        message: 'has type acme but no acme section',
        expected: 'acme: { email, dns01: { provider, … } }',
      }),
    );
    return { settings: undefined, issues };
  }
  const reason = nonPublicDomain(context.domain);
  if (reason !== undefined) {
    issues.push(
      error({
        code: 'cert-manager-acme-domain',
        path: path('issuer', 'type'),
        value: context.domain,
        message: `asks Let's Encrypt for *.${context.domain}, which it never issues for (${reason})`,
        expected: 'type: private-ca for a lab domain, or a platform.domain you own in public DNS',
      }),
    );
  }
  const notAddress = emailAddressProblem(acme.email);
  const refused = notAddress === undefined ? refusedContact(acme.email) : undefined;
  if (notAddress !== undefined) {
    issues.push(
      error({
        code: 'cert-manager-acme-email',
        path: path('issuer', 'acme', 'email'),
        value: acme.email,
        message: `${notAddress}: it is the ACME account's contact, which Let's Encrypt refuses unless it is one plain address, so the account is never registered and no certificate is issued`,
        expected:
          'one address, local-part@domain, without a display name or <angle brackets>, e.g. ops@mydomain.net',
      }),
    );
  }
  if (refused !== undefined) {
    issues.push(
      error({
        code: 'cert-manager-acme-email',
        path: path('issuer', 'acme', 'email'),
        value: acme.email,
        message: `is the ACME account's contact, and Let's Encrypt refuses a contact address ${refused}: the account is never registered and cert-manager does not retry, so no certificate is issued`,
        expected: 'an address at a domain of public DNS that you read',
      }),
    );
  }
  const solver = solverOf(acme.dns01, path, issues);
  if (solver === undefined) return { settings: undefined, issues };
  return {
    settings: {
      version,
      issuer: {
        type: 'acme',
        email: acme.email,
        server: acme.server ?? 'staging',
        recursiveNameservers: [...(acme.recursiveNameservers ?? [])],
        solver,
      },
    },
    issues,
  };
}
