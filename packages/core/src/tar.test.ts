import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  MAX_CHART_ARCHIVE_UNPACKED_BYTES,
  readChartArchiveBytes,
  readChartArchiveFile,
  type TarEntry,
  tar,
  untar,
} from './tar.js';

const text = (value: string) => new TextEncoder().encode(value);
const entry = (path: string, data: string): TarEntry => ({
  path,
  data: text(data),
  mode: 0o644,
  mtime: 0,
});

/** Rewrites the type flag of the header at `offset` and recomputes its checksum. */
function retype(archive: Uint8Array, offset: number, type: string): Uint8Array {
  const out = archive.slice();
  out[offset + 156] = type.charCodeAt(0);
  out.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = offset; i < offset + 512; i++) sum += out[i] ?? 0;
  out.set(text(`${sum.toString(8).padStart(6, '0')}\0 `), offset + 148);
  return out;
}

describe('untar', () => {
  it('reads back what tar wrote: short, prefixed (>100) and pax (>255) paths with their bytes', () => {
    const long = `demo/${'templates/'.repeat(12)}file.yaml`;
    const veryLong = `demo/${'x'.repeat(300)}.yaml`;
    const entries = [
      entry('demo/Chart.yaml', 'name: demo\n'),
      entry(long, 'a: 1\n'),
      entry(veryLong, 'b: 2\n'),
      entry('demo/empty', ''),
    ];
    expect(long.length).toBeGreaterThan(100);
    const files = untar(tar(entries));
    expect(files.map((f) => [f.path, new TextDecoder().decode(f.data)])).toEqual([
      ['demo/Chart.yaml', 'name: demo\n'],
      [long, 'a: 1\n'],
      [veryLong, 'b: 2\n'],
      ['demo/empty', ''],
    ]);
  });

  it('applies a GNU long-name entry (type L) to the file after it', () => {
    const name = `demo/${'n'.repeat(150)}.yaml`;
    const archive = retype(
      tar([entry('././@LongLink', `${name}\0`), entry('demo/truncated-name', 'c: 3\n')]),
      0,
      'L',
    );
    expect(untar(archive).map((f) => f.path)).toEqual([name]);
  });

  it('skips directories and strips a leading ./', () => {
    const archive = retype(tar([entry('./demo/', ''), entry('./demo/values.yaml', 'x')]), 0, '5');
    expect(untar(archive).map((f) => f.path)).toEqual(['demo/values.yaml']);
  });

  it('refuses bytes whose header checksum is wrong', () => {
    const archive = tar([entry('demo/Chart.yaml', 'name: demo\n')]);
    archive[3] = 0x41;
    expect(() => untar(archive)).toThrow('not a tar archive: header checksum mismatch at byte 0');
  });

  it('refuses a truncated archive', () => {
    const archive = tar([entry('demo/big', 'y'.repeat(2000))]);
    expect(() => untar(archive.subarray(0, 1024))).toThrow(
      'not a tar archive: entry at byte 0 is truncated',
    );
  });
});

describe('readChartArchiveFile', () => {
  const archive = gzipSync(
    tar([entry('demo/Chart.yaml', 'name: demo\n'), entry('demo/values.yaml', 'replicas: 1\n')]),
  );

  it('reads one file of a gzipped chart archive as text', () => {
    expect(readChartArchiveFile(archive, 'demo/values.yaml')).toBe('replicas: 1\n');
  });

  it('names the file and what the archive holds when the file is missing', () => {
    expect(() => readChartArchiveFile(archive, 'other/values.yaml')).toThrow(
      'other/values.yaml is not in the chart archive (its 2 files are under: demo)',
    );
  });

  it('refuses an archive that unpacks beyond the bound (a gzip bomb), without inflating it', () => {
    // 64 MiB of zeros gzip to ~64 KiB; unpacked against a 1 MiB bound.
    const bomb = gzipSync(tar([entry('demo/values.yaml', '0'.repeat(64 * 1024 * 1024))]));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(() => readChartArchiveBytes(bomb, 'demo/values.yaml', 1024 * 1024)).toThrow(
      'the chart archive unpacks to more than 1048576 bytes, more than a chart has (reading demo/values.yaml)',
    );
    // The default bound reads a real-sized chart.
    expect(readChartArchiveBytes(archive, 'demo/values.yaml').length).toBe(12);
    expect(MAX_CHART_ARCHIVE_UNPACKED_BYTES).toBe(512 * 1024 * 1024);
  });

  it('refuses bytes that are not gzip', () => {
    expect(() => readChartArchiveFile(text('plain text'), 'demo/values.yaml')).toThrow(
      'not a gzipped chart archive (reading demo/values.yaml)',
    );
  });
});
