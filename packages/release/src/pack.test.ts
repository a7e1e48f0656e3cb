import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { packChart } from './pack.js';

const HELMIGNORE = '# generated\npackage.json\nCHANGELOG.md\nnode_modules/\n*.tgz\n';

function chartFiles(): Map<string, string> {
  return new Map([
    ['Chart.yaml', 'apiVersion: v2\nname: cilium\nversion: 1.2.0\nappVersion: 1.18.12\n'],
    ['values.yaml', 'cilium:\n  ipam:\n    mode: kubernetes\n'],
    ['env/production.yaml', 'cilium:\n  operator:\n    replicas: 3\n'],
    ['templates/manifests.yaml', '{{- range $name, $obj := .Values.manifests }}\n'],
    ['.helmignore', HELMIGNORE],
    ['package.json', '{"name":"@homelab/chart-cilium","version":"1.2.0"}\n'],
    ['CHANGELOG.md', '# @homelab/chart-cilium\n'],
    ['node_modules/.bin/x', 'x'],
  ]);
}

const OPTIONS = { chart: 'cilium', version: '1.2.0', mtime: 1_700_000_000 };

async function unpack(archive: Uint8Array): Promise<{ header: Header; body: string }[]> {
  const out: { header: Header; body: string }[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        out.push({ header, body: Buffer.concat(chunks).toString('utf8') });
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([gunzipSync(archive)]).pipe(ex);
  await done;
  return out;
}

describe('packChart', () => {
  it('gives the same bytes on every run', () => {
    const a = packChart(chartFiles(), OPTIONS);
    const b = packChart(new Map([...chartFiles().entries()].reverse()), OPTIONS);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(createHash('sha256').update(a).digest('hex')).toBe(
      createHash('sha256').update(b).digest('hex'),
    );
  });

  it('writes a gzip header with mtime 0, no file name and a fixed OS byte', () => {
    const archive = packChart(chartFiles(), OPTIONS);
    // magic, deflate, no flags (no name), mtime 0, XFL 2 (max compression), OS 3 (Unix)
    expect([...archive.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('holds the chart under its name, sorted, without the files .helmignore names', async () => {
    const entries = await unpack(packChart(chartFiles(), OPTIONS));
    expect(entries.map((e) => e.header.name)).toEqual([
      'cilium/.helmignore',
      'cilium/Chart.yaml',
      'cilium/env/production.yaml',
      'cilium/templates/manifests.yaml',
      'cilium/values.yaml',
    ]);
    expect(entries.find((e) => e.header.name === 'cilium/values.yaml')?.body).toBe(
      'cilium:\n  ipam:\n    mode: kubernetes\n',
    );
  });

  it('fixes owner, group, mode and time of every entry', async () => {
    const entries = await unpack(packChart(chartFiles(), OPTIONS));
    for (const { header } of entries) {
      expect(header).toMatchObject({
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
      });
      expect(header.mtime?.getTime()).toBe(1_700_000_000_000);
    }
  });

  it('changes with the release time', () => {
    const a = packChart(chartFiles(), OPTIONS);
    const b = packChart(chartFiles(), { ...OPTIONS, mtime: OPTIONS.mtime + 1 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('keeps paths longer than 100 characters (ustar prefix, or a pax record)', async () => {
    const files = chartFiles();
    const deep = `templates/${'d'.repeat(120)}/x.yaml`;
    const long = `templates/${'f'.repeat(130)}.yaml`;
    files.set(deep, 'a: 1\n');
    files.set(long, 'b: 2\n');
    const entries = await unpack(packChart(files, OPTIONS));
    expect(entries.find((e) => e.header.name === `cilium/${deep}`)?.body).toBe('a: 1\n');
    expect(entries.find((e) => e.header.name === `cilium/${long}`)?.body).toBe('b: 2\n');
  });

  it('refuses a Chart.yaml whose version is not the one being released', () => {
    expect(() => packChart(chartFiles(), { ...OPTIONS, version: '1.2.1' })).toThrow(
      'charts/cilium/Chart.yaml is cilium 1.2.0, expected cilium 1.2.1: regenerate (pnpm build) before releasing',
    );
  });

  it('refuses a folder without Chart.yaml', () => {
    const files = chartFiles();
    files.delete('Chart.yaml');
    expect(() => packChart(files, OPTIONS)).toThrow('charts/cilium: no Chart.yaml to package');
  });
});
