/**
 * BinXML substitution values (MS-EVEN6 2.2.18, libevtx "Value types") → the
 * text Windows shows in an event's XML. Every type renders to text; arrays
 * render to one text per item (the template repeats the element per item);
 * nested BinXML (0x21) is parsed by the caller.
 */

export class EvtxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvtxFormatError';
  }
}

const VALUE_STRING = 0x01;
export const VALUE_BINXML = 0x21;
const VALUE_ARRAY = 0x80;

const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n; // 100 ns intervals from 1601-01-01 to 1970-01-01

/** FILETIME (100 ns since 1601) → ns since the Unix epoch. */
export function filetimeToNs(filetime: bigint): bigint {
  return (filetime - FILETIME_UNIX_EPOCH) * 100n;
}

const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z: RFC 3339 has four-digit years

/** FILETIME → RFC 3339 with 7 fraction digits, as Windows prints `SystemTime`. */
export function formatFiletime(filetime: bigint): string {
  const ticks = filetime - FILETIME_UNIX_EPOCH;
  const frac = ((ticks % 10_000_000n) + 10_000_000n) % 10_000_000n;
  const seconds = (ticks - frac) / 10_000_000n;
  if (seconds > MAX_SECONDS) return `0x${filetime.toString(16)}`;
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${frac.toString().padStart(7, '0')}Z`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** SYSTEMTIME (year, month, weekday, day, hour, minute, second, ms) → RFC 3339. */
function formatSystemtime(b: Buffer, p: number): string {
  const year = b.readUInt16LE(p);
  const month = b.readUInt16LE(p + 2);
  const day = b.readUInt16LE(p + 6);
  const hour = b.readUInt16LE(p + 8);
  const minute = b.readUInt16LE(p + 10);
  const second = b.readUInt16LE(p + 12);
  const ms = b.readUInt16LE(p + 14);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(ms, 3)}Z`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase());

function hexBytes(b: Buffer, p: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[b[p + i]!];
  return s;
}

/** GUID, little-endian fields → `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`. */
function formatGuid(b: Buffer, p: number): string {
  const d1 = b.readUInt32LE(p).toString(16).padStart(8, '0');
  const d2 = b.readUInt16LE(p + 4).toString(16).padStart(4, '0');
  const d3 = b.readUInt16LE(p + 6).toString(16).padStart(4, '0');
  return `{${d1}-${d2}-${d3}-${hexBytes(b, p + 8, 2)}-${hexBytes(b, p + 10, 6)}}`.toUpperCase();
}

/** Security identifier → `S-1-5-21-...`; returns the text and the bytes it took. */
function formatSid(b: Buffer, p: number, end: number): [string, number] {
  if (p + 8 > end) throw new EvtxFormatError('SID is truncated');
  const revision = b[p]!;
  const count = b[p + 1]!;
  const size = 8 + 4 * count;
  if (p + size > end) throw new EvtxFormatError('SID is truncated');
  const authority = b.readUIntBE(p + 2, 6);
  let s = `S-${revision}-${authority}`;
  for (let i = 0; i < count; i++) s += `-${b.readUInt32LE(p + 8 + 4 * i)}`;
  return [s, size];
}

function trimNuls(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Real numbers: integers print without a fraction, others with up to 6 significant fraction digits. */
function formatReal(v: number): string {
  if (Number.isNaN(v)) return '-1.#IND';
  if (v === Infinity) return '1.#INF';
  if (v === -Infinity) return '-1.#INF';
  return String(v);
}

/** Bytes one item of a fixed-size type takes; 0 for variable-size types. */
function fixedSize(type: number, size: number): number {
  switch (type) {
    case 0x03:
    case 0x04:
      return 1;
    case 0x05:
    case 0x06:
      return 2;
    case 0x07:
    case 0x08:
    case 0x0b:
    case 0x0d:
    case 0x14:
      return 4;
    case 0x09:
    case 0x0a:
    case 0x0c:
    case 0x11:
    case 0x15:
      return 8;
    case 0x0f:
    case 0x12:
      return 16;
    case 0x10:
      return size % 8 === 0 ? 8 : 4;
    default:
      return 0;
  }
}

/** One fixed-size item at p. */
function formatFixed(type: number, b: Buffer, p: number, itemSize: number): string {
  switch (type) {
    case 0x03:
      return String(b.readInt8(p));
    case 0x04:
      return String(b[p]!);
    case 0x05:
      return String(b.readInt16LE(p));
    case 0x06:
      return String(b.readUInt16LE(p));
    case 0x07:
      return String(b.readInt32LE(p));
    case 0x08:
      return String(b.readUInt32LE(p));
    case 0x09:
      return b.readBigInt64LE(p).toString();
    case 0x0a:
      return b.readBigUInt64LE(p).toString();
    case 0x0b:
      return formatReal(b.readFloatLE(p));
    case 0x0c:
      return formatReal(b.readDoubleLE(p));
    case 0x0d:
      return b.readUInt32LE(p) !== 0 ? 'true' : 'false';
    case 0x0f:
      return formatGuid(b, p);
    case 0x10:
      return itemSize === 8 ? `0x${b.readBigUInt64LE(p).toString(16)}` : `0x${b.readUInt32LE(p).toString(16)}`;
    case 0x11:
      return formatFiletime(b.readBigUInt64LE(p));
    case 0x12:
      return formatSystemtime(b, p);
    case 0x14:
      return `0x${b.readUInt32LE(p).toString(16)}`;
    case 0x15:
      return `0x${b.readBigUInt64LE(p).toString(16)}`;
    default:
      throw new EvtxFormatError(`value type 0x${type.toString(16)} has no fixed size`);
  }
}

/**
 * A scalar or array value of `size` bytes at p (not BinXML, not null).
 * Returns text, or an array of texts for array types.
 */
export function decodeValue(b: Buffer, p: number, size: number, type: number): string | string[] {
  const end = p + size;
  if (end > b.length) throw new EvtxFormatError(`value of ${size} bytes runs past the chunk`);
  const base = type & 0x7f;
  if (type & VALUE_ARRAY) {
    if (base === VALUE_STRING) {
      const items = b.toString('utf16le', p, end - (size & 1)).split('\0');
      if (items.length > 1 && items[items.length - 1] === '') items.pop();
      return items;
    }
    if (base === 0x02) {
      const items = b.toString('latin1', p, end).split('\0');
      if (items.length > 1 && items[items.length - 1] === '') items.pop();
      return items;
    }
    if (base === 0x13) {
      const items: string[] = [];
      for (let q = p; q < end; ) {
        const [sid, n] = formatSid(b, q, end);
        items.push(sid);
        q += n;
      }
      return items;
    }
    const item = fixedSize(base, size);
    if (item === 0) return [hexBytes(b, p, size)];
    const items: string[] = [];
    for (let q = p; q + item <= end; q += item) items.push(formatFixed(base, b, q, item));
    return items;
  }
  switch (type) {
    case VALUE_STRING:
      return trimNuls(b.toString('utf16le', p, end - (size & 1)));
    case 0x02:
      return trimNuls(b.toString('latin1', p, end));
    case 0x0e:
    case 0x20:
    case 0x23:
      return hexBytes(b, p, size);
    case 0x13:
      return formatSid(b, p, end)[0];
    default: {
      const item = fixedSize(type, size);
      if (item === 0) return hexBytes(b, p, size);
      if (size < item) throw new EvtxFormatError(`value type 0x${type.toString(16)} needs ${item} bytes, has ${size}`);
      return formatFixed(type, b, p, item);
    }
  }
}
