// Layer 4 checks on the Talos material (DESIGN.md, "Validation layers"): what the node patches
// configure is what the definition says about the node's hardware. Talos on metal names links
// predictably (enp3s0) or, from 1.12, by the alias a LinkAliasConfig selects; a LinkConfig or a
// Layer2VIPConfig for any other name never applies, and the node keeps neither its static
// address nor the API VIP. Pure.
import {
  error,
  fileDocuments,
  type GeneratedFile,
  type Issue,
  type ResolvedNode,
  type SystemCheck,
} from '@homelab/core';
import { linkMatch } from './patches.js';

type Document = { readonly [key: string]: unknown };

/** The documents of a patch: those it was emitted from, else its parsed text. */
function documentsOf(file: GeneratedFile): Document[] {
  return fileDocuments(file).filter(
    (value): value is Document => value !== null && typeof value === 'object',
  );
}

function record(value: unknown): Document {
  return value !== null && typeof value === 'object' ? (value as Document) : {};
}

/** What is wrong with the links one node patch configures, if anything. */
function linkProblems(node: ResolvedNode, documents: readonly Document[]): string[] {
  const problems: string[] = [];
  const declared = node.link.name;
  const expectedMatch = linkMatch(node.link);
  const aliases = new Map<string, string>();
  for (const document of documents) {
    if (document.kind !== 'LinkAliasConfig') continue;
    const match = String(record(document.selector).match ?? '');
    aliases.set(String(document.name), match);
    if (expectedMatch === undefined) {
      problems.push(
        `aliases a link "${String(document.name)}" (${match}) though the definition names the link "${declared}"`,
      );
    } else if (match !== expectedMatch) {
      problems.push(
        `selects its link with ${match || 'no match'}, not the definition's hardware (${expectedMatch})`,
      );
    }
  }
  const usable = new Set<string>(declared === undefined ? aliases.keys() : [declared]);
  const uses: { what: string; name: string }[] = [];
  for (const document of documents) {
    if (document.kind === 'LinkConfig')
      uses.push({ what: 'LinkConfig', name: String(document.name) });
    if (document.kind === 'Layer2VIPConfig') {
      uses.push({ what: 'Layer2VIPConfig', name: String(document.link) });
    }
    const interfaces = record(record(record(document.machine).network)).interfaces;
    for (const device of Array.isArray(interfaces) ? interfaces : []) {
      const entry = record(device);
      if (entry.interface !== undefined) {
        uses.push({ what: 'machine.network.interfaces', name: String(entry.interface) });
      } else if (entry.deviceSelector !== undefined) {
        const selector = record(entry.deviceSelector);
        const { link } = node;
        const same =
          (link.hardwareAddr !== undefined &&
            selector.permanentAddr === link.hardwareAddr.toLowerCase()) ||
          (link.busPath !== undefined && selector.busPath === link.busPath) ||
          (link.driver !== undefined && selector.driver === link.driver);
        if (!same) {
          problems.push(
            `selects its device with ${JSON.stringify(selector)}, not the definition's ${JSON.stringify(link)}`,
          );
        }
      }
    }
  }
  for (const use of uses) {
    if (!usable.has(use.name)) {
      problems.push(
        `configures ${use.what} on "${use.name}", which is ${declared === undefined ? `no alias the patch selects (${[...aliases.keys()].join(', ') || 'none'})` : `not the link the definition names ("${declared}")`}`,
      );
    }
  }
  const selected = documents.some((document) => {
    const interfaces = record(record(document.machine).network).interfaces;
    return Array.isArray(interfaces) && interfaces.length > 0;
  });
  if (!selected && !uses.some((use) => use.what === 'LinkConfig')) {
    problems.push('configures no link for the static address');
  }
  return problems;
}

/** Each node patch configures the link the definition names, by name or by an alias of its hardware. */
export const nodeLinks: SystemCheck = {
  name: 'node-links',
  description:
    "Every link a node's Talos patch configures (LinkConfig, Layer2VIPConfig, Talos 1.11 interfaces) is the link the definition names for that node: its predictable name, or the alias a LinkAliasConfig in the same patch selects by the node's MAC address, bus path or driver.",
  check({ platform, files }) {
    const byPath = new Map(files.map((file) => [file.path, file]));
    const issues: Issue[] = [];
    for (const cluster of platform.clusters) {
      for (const node of cluster.nodes) {
        const output = `clusters/${cluster.name}/talos/nodes/${node.hostname}.yaml`;
        const file = byPath.get(output);
        if (file === undefined) continue;
        for (const problem of linkProblems(node, documentsOf(file))) {
          issues.push(
            error({
              code: 'node-links',
              path: ['clusters', cluster.index, 'nodes', node.index, 'link'],
              output,
              value: node.link,
              message: `node "${node.hostname}": its patch ${problem}; the static address and the VIP would never come up`,
              expected: 'the node patch configuring the link the definition names',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** Whether a document is a VolumeConfig with a TPM-sealed key. */
function sealsToTpm(document: Document): boolean {
  if (document.kind !== 'VolumeConfig') return false;
  const keys = record(document.encryption).keys;
  return Array.isArray(keys) && keys.some((key) => record(key).tpm !== undefined);
}

/** The installer image the documents set last (`machine.install.image`), if any. */
function installImageOf(documents: readonly Document[]): string | undefined {
  let image: string | undefined;
  for (const document of documents) {
    const value = record(record(document.machine).install).image;
    if (typeof value === 'string') image = value;
  }
  return image;
}

/** The Image Factory's signed UKI installer: `factory.talos.dev/installer-secureboot/<id>:<tag>`. */
const SECUREBOOT_INSTALLER = /\/installer-secureboot\/[^/]+$/;

/**
 * A node whose patches seal disk keys to the TPM installs the SecureBoot installer: Talos seals
 * them to the PCR signing public key that only a signed UKI carries (v1.12
 * internal/pkg/secureboot/tpm2/seal.go, `/.extra/tpm2-pcr-public-key.pem`); from the plain
 * installer the node cannot seal them and its installation fails.
 */
export const tpmEncryptionSecureBoot: SystemCheck = {
  name: 'tpm-encryption-secureboot',
  description:
    "Every node whose Talos patches (its role's and its own) seal a disk's encryption key to the TPM (a VolumeConfig key with `tpm`) installs the Image Factory's SecureBoot installer (`installer-secureboot`): Talos seals the key to the PCR signing key only a signed UKI carries.",
  check({ platform, files }) {
    const byPath = new Map(files.map((file) => [file.path, file]));
    const issues: Issue[] = [];
    for (const cluster of platform.clusters) {
      const dir = `clusters/${cluster.name}/talos`;
      for (const node of cluster.nodes) {
        const role = `${dir}/${node.role === 'controlplane' ? 'controlplane' : 'worker'}.yaml`;
        const own = `${dir}/nodes/${node.hostname}.yaml`;
        const roleFile = byPath.get(role);
        const nodeFile = byPath.get(own);
        if (roleFile === undefined && nodeFile === undefined) continue;
        const roleDocuments = roleFile === undefined ? [] : documentsOf(roleFile);
        const nodeDocuments = nodeFile === undefined ? [] : documentsOf(nodeFile);
        const documents = [...roleDocuments, ...nodeDocuments];
        if (!documents.some(sealsToTpm)) continue;
        const image = installImageOf(documents);
        if (image !== undefined && SECUREBOOT_INSTALLER.test(image)) continue;
        issues.push(
          error({
            code: 'tpm-encryption-secureboot',
            path: ['clusters', cluster.index, 'talos', 'diskEncryption'],
            output: installImageOf(nodeDocuments) === undefined ? role : own,
            value: image ?? '(no install image)',
            message: `node "${node.hostname}": its patches seal disk keys to the TPM but install ${image === undefined ? 'no image' : `"${image}"`}, not a SecureBoot installer; Talos cannot seal the keys without the signed UKI's PCR key, and the installation fails`,
            expected:
              'factory.talos.dev/installer-secureboot/<schematic>:<version> (booted from the SecureBoot ISO), or talos.diskEncryption other than tpm',
          }),
        );
      }
    }
    return issues;
  },
};

/** The system checks of the Talos material. */
export const TALOS_CHECKS: readonly SystemCheck[] = [nodeLinks, tpmEncryptionSecureBoot];
