/**
 * Builds EVTX files byte by byte, following MS-EVEN6 and libevtx's format
 * notes, so tests can exercise structures the sample files lack (every value
 * type, arrays, CDATA, PI, entity/char references, nested BinXML) and damage
 * them on purpose.
 */
import { crc32 } from 'node:zlib';

export const T = {
  null: 0x00,
  string: 0x01,
  ansi: 0x02,
  int8: 0x03,
  uint8: 0x04,
  int16: 0x05,
  uint16: 0x06,
  int32: 0x07,
  uint32: 0x08,
  int64: 0x09,
  uint64: 0x0a,
  real32: 0x0b,
  real64: 0x0c,
  bool: 0x0d,
  binary: 0x0e,
  guid: 0x0f,
  sizeT: 0x10,
  filetime: 0x11,
  systemtime: 0x12,
  sid: 0x13,
  hex32: 0x14,
  hex64: 0x15,
  binxml: 0x21,
  array: 0x80,
} as const;

export interface TypedValue {
  type: number;
  bytes: Buffer;
}

/** A BinXML value (type 0x21) written by a callback. */
export interface NestedValue {
  type: typeof T.binxml;
  write: (w: BinXmlWriter) => void;
}

export const v = {
  string: (s: string): TypedValue => ({ type: T.string, bytes: Buffer.from(s, 'utf16le') }),
  strings: (items: string[]): TypedValue => ({ type: T.string | T.array, bytes: Buffer.from(items.map((s) => s + '\0').join(''), 'utf16le') }),
  ansi: (s: string): TypedValue => ({ type: T.ansi, bytes: Buffer.from(s, 'latin1') }),
  u8: (n: number): TypedValue => ({ type: T.uint8, bytes: Buffer.from([n]) }),
  i8: (n: number): TypedValue => ({ type: T.int8, bytes: Buffer.from([n & 0xff]) }),
  u16: (n: number): TypedValue => ({ type: T.uint16, bytes: le(2, n) }),
  i16: (n: number): TypedValue => ({ type: T.int16, bytes: le(2, n & 0xffff) }),
  u32: (n: number): TypedValue => ({ type: T.uint32, bytes: le(4, n) }),
  u32s: (ns: number[]): TypedValue => ({ type: T.uint32 | T.array, bytes: Buffer.concat(ns.map((n) => le(4, n))) }),
  i32: (n: number): TypedValue => ({ type: T.int32, bytes: le(4, n >>> 0) }),
  u64: (n: bigint): TypedValue => ({ type: T.uint64, bytes: le64(n) }),
  i64: (n: bigint): TypedValue => ({ type: T.int64, bytes: le64(BigInt.asUintN(64, n)) }),
  real32: (n: number): TypedValue => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    return { type: T.real32, bytes: b };
  },
  real64: (n: number): TypedValue => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    return { type: T.real64, bytes: b };
  },
  bool: (b: boolean): TypedValue => ({ type: T.bool, bytes: le(4, b ? 1 : 0) }),
  binary: (hex: string): TypedValue => ({ type: T.binary, bytes: Buffer.from(hex, 'hex') }),
  guid: (text: string): TypedValue => ({ type: T.guid, bytes: guidBytes(text) }),
  sizeT64: (n: bigint): TypedValue => ({ type: T.sizeT, bytes: le64(n) }),
  filetime: (n: bigint): TypedValue => ({ type: T.filetime, bytes: le64(n) }),
  systemtime: (parts: [number, number, number, number, number, number, number, number]): TypedValue => ({
    type: T.systemtime,
    bytes: Buffer.concat(parts.map((p) => le(2, p))),
  }),
  sid: (text: string): TypedValue => ({ type: T.sid, bytes: sidBytes(text) }),
  hex32: (n: number): TypedValue => ({ type: T.hex32, bytes: le(4, n) }),
  hex64: (n: bigint): TypedValue => ({ type: T.hex64, bytes: le64(n) }),
  null: (): TypedValue => ({ type: T.null, bytes: Buffer.alloc(0) }),
};

function le(size: number, n: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUIntLE(n, 0, size);
  return b;
}
function le64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
function guidBytes(text: string): Buffer {
  const h = text.replace(/[{}-]/g, '');
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Number.parseInt(h.slice(0, 8), 16), 0);
  b.writeUInt16LE(Number.parseInt(h.slice(8, 12), 16), 4);
  b.writeUInt16LE(Number.parseInt(h.slice(12, 16), 16), 6);
  Buffer.from(h.slice(16), 'hex').copy(b, 8);
  return b;
}
function sidBytes(text: string): Buffer {
  const [, rev, auth, ...subs] = text.split('-');
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = Number(rev);
  b[1] = subs.length;
  b.writeUIntBE(Number(auth), 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(Number(s), 8 + 4 * i));
  return b;
}

/** Writes BinXML into a chunk buffer at chunk-relative positions (names and templates are chunk offsets). */
export class BinXmlWriter {
  readonly buf: Buffer;
  pos: number;
  private readonly names: Map<string, number>;
  /** Element starts carry the 2-byte dependency id (true inside template definitions). */
  dependencyId: boolean;

  constructor(buf: Buffer, pos: number, names: Map<string, number>, dependencyId: boolean) {
    this.buf = buf;
    this.pos = pos;
    this.names = names;
    this.dependencyId = dependencyId;
  }

  u8(n: number): this {
    this.buf[this.pos++] = n;
    return this;
  }
  u16(n: number): this {
    this.buf.writeUInt16LE(n, this.pos);
    this.pos += 2;
    return this;
  }
  u32(n: number): this {
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4;
    return this;
  }
  bytes(b: Buffer): this {
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }
  utf16(s: string): this {
    this.u16(s.length);
    return this.bytes(Buffer.from(s, 'utf16le'));
  }

  /** A name reference, with the name stored inline the first time it is used in the chunk. */
  name(name: string): this {
    const known = this.names.get(name);
    if (known !== undefined) return this.u32(known);
    const at = this.pos + 4;
    this.names.set(name, at);
    this.u32(at).u32(0).u16(0).u16(name.length).bytes(Buffer.from(name, 'utf16le')).u16(0);
    return this;
  }

  fragmentHeader(): this {
    return this.u8(0x0f).u8(1).u8(1).u8(0);
  }
  eof(): this {
    return this.u8(0x00);
  }

  /** <name attrs>children</name>; attrs' values are written by their callbacks. */
  element(name: string, attrs: [string, (w: this) => void][], children?: (w: this) => void): this {
    this.u8(attrs.length ? 0x41 : 0x01);
    if (this.dependencyId) this.u16(0xffff);
    const sizeAt = this.pos;
    this.u32(0);
    const start = this.pos;
    this.name(name);
    if (attrs.length) {
      const listAt = this.pos;
      this.u32(0);
      const listStart = this.pos;
      attrs.forEach(([attrName, value], i) => {
        this.u8(i < attrs.length - 1 ? 0x46 : 0x06);
        this.name(attrName);
        value(this);
      });
      this.buf.writeUInt32LE(this.pos - listStart, listAt);
    }
    if (children) {
      this.u8(0x02);
      children(this);
      this.u8(0x04);
    } else this.u8(0x03);
    this.buf.writeUInt32LE(this.pos - start, sizeAt);
    return this;
  }

  text(s: string, more = false): this {
    return this.u8(more ? 0x45 : 0x05).u8(0x01).utf16(s);
  }
  sub(index: number, type: number, optional = false): this {
    return this.u8(optional ? 0x0e : 0x0d).u16(index).u8(type);
  }
  charRef(code: number): this {
    return this.u8(0x08).u16(code);
  }
  entityRef(name: string): this {
    return this.u8(0x09).name(name);
  }
  cdata(s: string): this {
    return this.u8(0x07).utf16(s);
  }
  pi(target: string, data: string): this {
    this.u8(0x0a).name(target);
    return this.u8(0x0b).utf16(data);
  }

  /**
   * A template instance. With `define`, the definition is written inline (first
   * use in the chunk); with a number, it refers to an earlier definition at that
   * chunk offset. Returns the definition's offset.
   */
  instance(template: number | ((w: BinXmlWriter) => void), values: (TypedValue | NestedValue)[]): number {
    this.u8(0x0c).u8(0x01).u32(0x1234);
    let definition: number;
    if (typeof template === 'number') {
      definition = template;
      this.u32(definition);
    } else {
      definition = this.pos + 4;
      this.u32(definition);
      this.u32(0).bytes(Buffer.alloc(16, 0xab));
      const sizeAt = this.pos;
      this.u32(0);
      const inner = new BinXmlWriter(this.buf, this.pos, this.names, true);
      inner.fragmentHeader();
      template(inner);
      inner.eof();
      this.buf.writeUInt32LE(inner.pos - this.pos, sizeAt);
      this.pos = inner.pos;
    }
    this.u32(values.length);
    const descriptors = this.pos;
    for (const val of values) this.u16('bytes' in val ? val.bytes.length : 0).u8(val.type).u8(0);
    values.forEach((val, i) => {
      if ('bytes' in val) {
        this.bytes(val.bytes);
        return;
      }
      // Nested BinXML is written in place: its names are chunk offsets. Element starts in it have no dependency id.
      const start = this.pos;
      const inner = new BinXmlWriter(this.buf, start, this.names, false);
      val.write(inner);
      this.pos = inner.pos;
      this.buf.writeUInt16LE(this.pos - start, descriptors + i * 4);
    });
    return definition;
  }
}

export interface RecordSpec {
  id: bigint;
  written?: bigint;
  /** Writes the record's BinXML (fragment header, instance, EOF). */
  body: (w: BinXmlWriter) => void;
}

/** One chunk: header with correct checksums unless told otherwise. */
export function buildChunk(records: RecordSpec[], opts: { noCrc?: boolean } = {}): Buffer {
  const buf = Buffer.alloc(65536);
  const names = new Map<string, number>();
  let pos = 512;
  let last = 512;
  for (const r of records) {
    last = pos;
    buf.writeUInt32LE(0x2a2a, pos);
    buf.writeBigUInt64LE(r.id, pos + 8);
    buf.writeBigUInt64LE(r.written ?? 131_000_000_000_000_000n, pos + 16);
    const w = new BinXmlWriter(buf, pos + 24, names, false);
    r.body(w);
    let end = w.pos + 4;
    end = (end + 7) & ~7;
    const size = end - pos;
    buf.writeUInt32LE(size, pos + 4);
    buf.writeUInt32LE(size, pos + size - 4);
    pos = end;
  }
  buf.write('ElfChnk\0', 0, 'latin1');
  const first = records[0]?.id ?? 1n;
  const lastId = records.at(-1)?.id ?? 0n;
  buf.writeBigUInt64LE(first, 8);
  buf.writeBigUInt64LE(lastId, 16);
  buf.writeBigUInt64LE(first, 24);
  buf.writeBigUInt64LE(lastId, 32);
  buf.writeUInt32LE(128, 40);
  buf.writeUInt32LE(last, 44);
  buf.writeUInt32LE(pos, 48);
  buf.writeUInt32LE(opts.noCrc ? 4 : 0, 120);
  if (!opts.noCrc) {
    buf.writeUInt32LE(crc32(buf.subarray(512, pos)), 52);
    buf.writeUInt32LE(crc32(buf.subarray(128, 512), crc32(buf.subarray(0, 120))), 124);
  }
  return buf;
}

/** A file: header (4096 bytes) + chunks. `chunkCount` defaults to the number of chunks. */
export function buildFile(chunks: Buffer[], opts: { chunkCount?: number; noCrc?: boolean } = {}): Buffer {
  const h = Buffer.alloc(4096);
  h.write('ElfFile\0', 0, 'latin1');
  h.writeBigUInt64LE(0n, 8);
  h.writeBigUInt64LE(BigInt(Math.max(0, chunks.length - 1)), 16);
  h.writeUInt32LE(128, 32);
  h.writeUInt16LE(1, 36);
  h.writeUInt16LE(3, 38);
  h.writeUInt16LE(4096, 40);
  h.writeUInt16LE(opts.chunkCount ?? chunks.length, 42);
  h.writeUInt32LE(opts.noCrc ? 4 : 0, 120);
  if (!opts.noCrc) h.writeUInt32LE(crc32(h.subarray(0, 120)), 124);
  return Buffer.concat([h, ...chunks]);
}

/** The usual <Event><System>..</System><EventData>..</EventData></Event> template, values 0..6 for System. */
export function systemTemplate(eventData: (w: BinXmlWriter) => void): (w: BinXmlWriter) => void {
  return (w) =>
    w.element('Event', [['xmlns', (a) => a.text('http://schemas.microsoft.com/win/2004/08/events/event')]], (e) => {
      e.element('System', [], (s) => {
        s.element('Provider', [['Name', (a) => a.sub(0, T.string)]]);
        s.element('EventID', [], (x) => x.sub(1, T.uint16));
        s.element('Level', [], (x) => x.sub(2, T.uint8));
        s.element('TimeCreated', [['SystemTime', (a) => a.sub(3, T.filetime)]]);
        s.element('EventRecordID', [], (x) => x.sub(4, T.uint64));
        s.element('Channel', [], (x) => x.sub(5, T.string));
        s.element('Computer', [], (x) => x.sub(6, T.string));
      });
      eventData(e);
    });
}

/** Values 0..6 of systemTemplate. */
export function systemValues(o: { provider?: string; eventId?: number; level?: number; time?: bigint; recordId: bigint; channel?: string; computer?: string }): TypedValue[] {
  return [
    v.string(o.provider ?? 'TestProvider'),
    v.u16(o.eventId ?? 1000),
    v.u8(o.level ?? 4),
    v.filetime(o.time ?? 133_000_000_000_000_000n),
    v.u64(o.recordId),
    v.string(o.channel ?? 'Application'),
    v.string(o.computer ?? 'host-1'),
  ];
}
