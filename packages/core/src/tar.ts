// A minimal tar writer and reader. The writer is deterministic (POSIX ustar, with a pax `path`
// record for names that do not fit; only regular files; every field that could vary by machine
// is fixed by the caller): `pnpm release` packs charts with it. The reader understands what
// `helm package` (Go's archive/tar: ustar + pax) and GNU tar (`L` long names) write, enough to
// read a file out of a vendored chart archive in memory.
import { gunzipSync } from 'node:zlib';
import { HomelabError } from './issues.js';

const BLOCK = 512;
const encoder = new TextEncoder();

export interface TarEntry {
  /** Path inside the archive, `/`-separated, no leading `/`. */
  readonly path: string;
  readonly data: Uint8Array;
  /** Permission bits, e.g. 0o644. */
  readonly mode: number;
  /** Modification time, seconds since the epoch. */
  readonly mtime: number;
}

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.byteLength > length) throw new Error(`tar header field too long: ${value}`);
  header.set(bytes, offset);
}

/** Octal number, zero-padded to `length - 1` digits and NUL-terminated (as Go's archive/tar). */
function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (!Number.isSafeInteger(value) || value < 0 || digits.length > length - 1) {
    throw new Error(`tar header number out of range: ${value}`);
  }
  writeString(header, offset, length - 1, digits.padStart(length - 1, '0'));
}

function header(
  name: string,
  prefix: string,
  size: number,
  mode: number,
  mtime: number,
  type: string,
): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum is computed over spaces
  writeString(h, 156, 1, type);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  // uname, gname: empty; devmajor, devminor: zero.
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeString(h, 148, 7, sum.toString(8).padStart(6, '0'));
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

function isAscii(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/** Splits a path into ustar `prefix` and `name`, or `undefined` when it does not fit. */
function splitUstar(path: string): { prefix: string; name: string } | undefined {
  if (!isAscii(path)) return undefined;
  if (path.length <= 100) return { prefix: '', name: path };
  for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (prefix.length <= 155 && name.length <= 100 && name !== '') return { prefix, name };
  }
  return undefined;
}

/** A pax record `"<len> path=<value>\n"`, where `<len>` counts the whole record's bytes. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).byteLength;
  let length = bodyLength + 1;
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function padded(data: Uint8Array): Uint8Array[] {
  const rest = data.byteLength % BLOCK;
  return rest === 0 ? [data] : [data, new Uint8Array(BLOCK - rest)];
}

/** The tar archive of the entries, in the order given, ending with two zero blocks. */
export function tar(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const split = splitUstar(entry.path);
    if (split) {
      parts.push(
        header(split.name, split.prefix, entry.data.byteLength, entry.mode, entry.mtime, '0'),
      );
    } else {
      const pax = encoder.encode(paxRecord('path', entry.path));
      const base = entry.path.slice(entry.path.lastIndexOf('/') + 1);
      const paxName = `PaxHeaders/${isAscii(base) ? base : 'file'}`.slice(0, 100);
      parts.push(header(paxName, '', pax.byteLength, 0o644, entry.mtime, 'x'), ...padded(pax));
      const fallback = isAscii(entry.path) ? entry.path.slice(-100) : paxName;
      parts.push(header(fallback, '', entry.data.byteLength, entry.mode, entry.mtime, '0'));
    }
    parts.push(...padded(entry.data));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const total = parts.reduce((n, part) => n + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** A regular file read from a tar archive. */
export interface TarFile {
  /** Path inside the archive, `/`-separated, without a leading `./`. */
  readonly path: string;
  readonly data: Uint8Array;
}

const decoder = new TextDecoder();

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function readOctal(block: Uint8Array, offset: number, length: number, what: string): number {
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new HomelabError(`not a tar archive: bad ${what} "${text}"`);
  return Number.parseInt(text, 8);
}

/** The records of a pax extended header (`"<len> key=value\n"` each, `<len>` in bytes). */
function paxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.byteLength && data[offset] !== 0) {
    const space = data.indexOf(0x20, offset);
    const length = Number.parseInt(decoder.decode(data.subarray(offset, space)), 10);
    if (space === -1 || !(length > space - offset) || offset + length > data.byteLength) {
      throw new HomelabError('not a tar archive: malformed pax header');
    }
    const body = decoder.decode(data.subarray(space + 1, offset + length - 1));
    const eq = body.indexOf('=');
    if (eq > 0) records.set(body.slice(0, eq), body.slice(eq + 1));
    offset += length;
  }
  return records;
}

/**
 * The regular files of a tar archive, in archive order. Directories, links and other entry
 * types are skipped; pax `path` records and GNU long names are applied. Throws `HomelabError`
 * when the bytes are not a tar archive (bad header checksum, truncated entry).
 */
export function untar(archive: Uint8Array): TarFile[] {
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= archive.byteLength) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    const stored = readOctal(block, 148, 8, 'header checksum');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    if (sum !== stored) {
      throw new HomelabError(`not a tar archive: header checksum mismatch at byte ${offset}`);
    }
    const size = readOctal(block, 124, 12, 'entry size');
    const type = readString(block, 156, 1);
    const start = offset + BLOCK;
    const end = start + size;
    if (end > archive.byteLength) {
      throw new HomelabError(`not a tar archive: entry at byte ${offset} is truncated`);
    }
    const data = archive.subarray(start, end);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = readString(data, 0, data.byteLength);
      continue;
    }
    if (type === 'x') {
      paxPath = paxRecords(data).get('path');
      continue;
    }
    if (type === 'g' || type === 'K') continue;
    const magic = readString(block, 257, 6);
    const prefix = magic === 'ustar' ? readString(block, 345, 155) : '';
    const name = readString(block, 0, 100);
    const path = paxPath ?? longName ?? (prefix === '' ? name : `${prefix}/${name}`);
    longName = undefined;
    paxPath = undefined;
    if (type !== '0' && type !== '' && type !== '7') continue;
    files.push({ path: path.replace(/^(\.\/)+/, ''), data: data.slice() });
  }
  return files;
}

/**
 * One file of a gzipped chart archive (`<chart>-<version>.tgz`), read in memory, as UTF-8 text:
 * `readChartArchiveFile(bytes, 'cilium/values.yaml')`. Throws `HomelabError` when the bytes are
 * not a gzipped tar archive or the file is not in it.
 */
export function readChartArchiveFile(archive: Uint8Array, path: string): string {
  return decoder.decode(readChartArchiveBytes(archive, path));
}

/**
 * Bytes a chart archive may unpack to: far above the largest pinned chart (kube-prometheus-stack,
 * a few MB), far below what would exhaust memory, so a gzip bomb in a vendored or mirrored
 * archive is refused, not inflated.
 */
export const MAX_CHART_ARCHIVE_UNPACKED_BYTES = 512 * 1024 * 1024;

/** One file of a gzipped chart archive, as bytes (e.g. a dependency's archive under `charts/`). */
export function readChartArchiveBytes(
  archive: Uint8Array,
  path: string,
  maxUnpackedBytes: number = MAX_CHART_ARCHIVE_UNPACKED_BYTES,
): Uint8Array {
  let tarBytes: Uint8Array;
  try {
    tarBytes = gunzipSync(archive, { maxOutputLength: maxUnpackedBytes });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HomelabError(
        `the chart archive unpacks to more than ${maxUnpackedBytes} bytes, more than a chart has (reading ${path})`,
        { cause },
      );
    }
    throw new HomelabError(`not a gzipped chart archive (reading ${path})`, { cause });
  }
  const files = untar(tarBytes);
  const file = files.find((candidate) => candidate.path === path);
  if (file === undefined) {
    const top = [...new Set(files.map((f) => f.path.split('/')[0]))].sort().join(', ');
    throw new HomelabError(
      `${path} is not in the chart archive (its ${files.length} files are under: ${top || 'nothing'})`,
    );
  }
  return file.data;
}
