// The node-links system check on the Talos material: it passes what the generator writes, and
// fails, naming the node and the file, when a patch configures any other link (issue 9, item 1:
// `LinkConfig.name: eth0` on metal, where Talos names links enp3s0 or by their alias).
import type { GeneratedFile } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { nodeLinks, tpmEncryptionSecureBoot } from '../src/index.js';
import { file, haCluster, type TalosRun, talos } from './helpers.js';

function check(run: TalosRun, files: readonly GeneratedFile[] = run.files) {
  return nodeLinks.check({ platform: run.platform, clusters: [], files });
}

/** The run's files with `from` replaced by `to` in one of them. */
function edited(run: TalosRun, path: string, from: string, to: string): GeneratedFile[] {
  return run.files.map((file) => {
    if (file.path !== path) return file;
    expect(file.content).toContain(from);
    return { ...file, content: file.content.replace(from, to) };
  });
}

const prod = 'clusters/prod/talos/nodes';

describe('node-links', () => {
  it('passes the patches the generator writes, on Talos 1.12+ and on 1.11', () => {
    expect(check(talos([haCluster()]))).toEqual([]);
    expect(check(talos([haCluster({ talos: { version: 'v1.11.6' } })]))).toEqual([]);
  });

  it('fails a LinkConfig on eth0 where the node selects its card by MAC, naming node and file', () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-w-1.yaml`;
    const issues = check(
      run,
      edited(run, path, 'kind: LinkConfig\n', 'kind: LinkConfig\nname: eth0\n').map((file) =>
        file.path === path
          ? { ...file, content: file.content.replace(/\nname: lan0\nroutes/, '\nroutes') }
          : file,
      ),
    );
    expect(issues.map((issue) => [issue.code, issue.path, issue.output])).toEqual([
      ['node-links', ['clusters', 0, 'nodes', 3, 'link'], path],
    ]);
    expect(issues[0]?.message).toContain(
      'node "prod-w-1": its patch configures LinkConfig on "eth0", which is no alias the patch selects (lan0)',
    );
  });

  it('fails a VIP on another link than the one the definition names', () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-cp-2.yaml`;
    const issues = check(run, edited(run, path, 'link: enp1s0', 'link: eth0'));
    expect(issues.map((issue) => issue.message)).toEqual([
      'node "prod-cp-2": its patch configures Layer2VIPConfig on "eth0", which is not the link the definition names ("enp1s0"); the static address and the VIP would never come up',
    ]);
  });

  it('fails an alias that selects other hardware than the definition gives', () => {
    const run = talos([haCluster()]);
    const path = `${prod}/prod-cp-1.yaml`;
    const issues = check(run, edited(run, path, '02:00:c0:a8:1e:0b', '02:00:c0:a8:1e:ff'));
    expect(issues.map((issue) => issue.message)).toEqual([
      'node "prod-cp-1": its patch selects its link with mac(link.permanent_addr) == "02:00:c0:a8:1e:ff", not the definition\'s hardware (mac(link.permanent_addr) == "02:00:c0:a8:1e:0b"); the static address and the VIP would never come up',
    ]);
  });

  it("fails Talos 1.11's device named eth0 where the definition names enp1s0", () => {
    const run = talos([haCluster({ talos: { version: 'v1.11.6' } })]);
    const path = `${prod}/prod-cp-2.yaml`;
    const issues = check(run, edited(run, path, 'interface: enp1s0', 'interface: eth0'));
    expect(issues.map((issue) => [issue.path, issue.output])).toEqual([
      [['clusters', 0, 'nodes', 1, 'link'], path],
    ]);
  });
});

describe('tpm-encryption-secureboot', () => {
  const tpmCheck = (run: TalosRun, files: readonly GeneratedFile[] = run.files) =>
    tpmEncryptionSecureBoot.check({ platform: run.platform, clusters: [], files });

  it('passes the patches the generator writes: TPM keys with the SecureBoot installer, node-id keys with the plain one', () => {
    const prodRun = talos([haCluster()]);
    const role = file(prodRun.files, 'clusters/prod/talos/worker.yaml');
    expect(role).toContain('tpm: {}');
    expect(role).toMatch(
      /image: factory\.talos\.dev\/installer-secureboot\/[0-9a-f]{64}:v1\.12\.11\n/,
    );
    expect(tpmCheck(prodRun)).toEqual([]);
    const nodeId = talos([haCluster({ talos: { version: 'v1.12.11', diskEncryption: 'nodeID' } })]);
    const plain = file(nodeId.files, 'clusters/prod/talos/worker.yaml');
    expect(plain).toContain('nodeID: {}');
    expect(plain).toMatch(/image: factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.12\.11\n/);
    expect(tpmCheck(nodeId)).toEqual([]);
  });

  it('fails a TPM key with the plain installer, naming each node of the role and the file', () => {
    const run = talos([haCluster()]);
    const path = 'clusters/prod/talos/worker.yaml';
    const issues = tpmCheck(
      run,
      edited(run, path, 'factory.talos.dev/installer-secureboot/', 'factory.talos.dev/installer/'),
    );
    expect(issues.map((issue) => [issue.code, issue.path, issue.output])).toEqual(
      ['prod-w-1', 'prod-w-2', 'prod-w-3', 'prod-w-4'].map(() => [
        'tpm-encryption-secureboot',
        ['clusters', 0, 'talos', 'diskEncryption'],
        path,
      ]),
    );
    expect(issues[0]?.message).toMatch(
      /^node "prod-w-1": its patches seal disk keys to the TPM but install "factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.12\.11", not a SecureBoot installer;/,
    );
  });
});
