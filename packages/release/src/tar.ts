// A minimal, deterministic tar writer (POSIX ustar, with a pax `path` record for names that do
// not fit). Only regular files; every field that could vary by machine is fixed by the caller.

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
