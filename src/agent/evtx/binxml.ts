/**
 * BinXML (MS-EVEN6 2.2.12-2.2.19) → XML tree.
 *
 * Design note: a record is almost always one template instance: a reference
 * to a template definition stored once per chunk plus an array of typed
 * substitution values. Templates are compiled once per chunk into a small
 * tree with substitution slots (cached by their chunk offset), and each
 * record only decodes its values and expands the tree. Everything is read
 * with bounds checks against the structure it belongs to; damaged input
 * throws EvtxFormatError (caught per record by the caller), never loops:
 * every token consumes bytes, nesting depth and output size are capped.
 */
import type { XmlCData, XmlElement, XmlNode, XmlPI } from '../windows/event.ts';
import { EvtxFormatError, VALUE_BINXML, decodeValue } from './values.ts';

const TOKEN_EOF = 0x00;
const TOKEN_OPEN_START = 0x01;
const TOKEN_CLOSE_START = 0x02;
const TOKEN_CLOSE_EMPTY = 0x03;
const TOKEN_END_ELEMENT = 0x04;
const TOKEN_VALUE = 0x05;
const TOKEN_ATTRIBUTE = 0x06;
const TOKEN_CDATA = 0x07;
const TOKEN_CHAR_REF = 0x08;
const TOKEN_ENTITY_REF = 0x09;
const TOKEN_PI_TARGET = 0x0a;
const TOKEN_PI_DATA = 0x0b;
const TOKEN_TEMPLATE_INSTANCE = 0x0c;
const TOKEN_NORMAL_SUBSTITUTION = 0x0d;
const TOKEN_OPTIONAL_SUBSTITUTION = 0x0e;
const TOKEN_FRAGMENT_HEADER = 0x0f;
const FLAG_MORE = 0x40;

/** Deeper nesting than this is damage, not an event. */
const MAX_DEPTH = 64;
/** Nodes one record may expand to; bounds the work a crafted template/array combination can cause. */
const MAX_NODES = 100_000;

interface Substitution {
  sub: number;
  optional: boolean;
}

interface TemplateElement {
  name: string;
  attrs: { name: string; parts: (string | Substitution)[] }[];
  children: TemplateNode[];
}

interface TemplateInstance {
  template: TemplateNode[];
  values: Value[];
}

/** A compiled template or a record's direct content: XML with substitution slots and nested instances. */
type TemplateNode = string | XmlCData | XmlPI | Substitution | TemplateElement | TemplateInstance;

/** Nested BinXML value (type 0x21), already expanded. */
class Fragment {
  readonly nodes: XmlNode[];
  constructor(nodes: XmlNode[]) {
    this.nodes = nodes;
  }
}

type Value = null | string | string[] | Fragment;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const COMPILING = Symbol('compiling');

/** Per-chunk caches: names and templates are stored once per chunk and referenced by chunk offset. */
export class ChunkStrings {
  readonly buf: Buffer;
  private readonly names = new Map<number, string>();
  private readonly templates = new Map<number, TemplateNode[] | EvtxFormatError | typeof COMPILING>();
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  name(offset: number): string {
    let name = this.names.get(offset);
    if (name !== undefined) return name;
    if (offset + 8 > this.buf.length) throw new EvtxFormatError(`name offset 0x${offset.toString(16)} is outside the chunk`);
    const chars = this.buf.readUInt16LE(offset + 6);
    const end = offset + 8 + chars * 2;
    if (end > this.buf.length) throw new EvtxFormatError(`name at 0x${offset.toString(16)} runs past the chunk`);
    name = this.buf.toString('utf16le', offset + 8, end);
    this.names.set(offset, name);
    return name;
  }

  template(offset: number, depth: number): TemplateNode[] {
    const cached = this.templates.get(offset);
    if (cached === COMPILING) throw new EvtxFormatError(`template at 0x${offset.toString(16)} refers to itself`);
    if (cached instanceof EvtxFormatError) throw cached;
    if (cached) return cached;
    try {
      if (offset + 24 > this.buf.length) throw new EvtxFormatError(`template offset 0x${offset.toString(16)} is outside the chunk`);
      const size = this.buf.readUInt32LE(offset + 20);
      const start = offset + 24;
      if (start + size > this.buf.length) throw new EvtxFormatError(`template at 0x${offset.toString(16)} runs past the chunk`);
      // Mark it first: a template that (through damage) refers to itself fails instead of recursing.
      this.templates.set(offset, COMPILING);
      const nodes = new Reader(this, start, start + size, true, depth + 1).nodes(false);
      this.templates.set(offset, nodes);
      return nodes;
    } catch (err) {
      const error = err instanceof EvtxFormatError ? err : new EvtxFormatError(`template at 0x${offset.toString(16)}: ${(err as Error).message}`);
      this.templates.set(offset, error);
      throw error;
    }
  }
}

/** Reads BinXML tokens from [pos, end) of the chunk buffer. */
class Reader {
  private readonly chunk: ChunkStrings;
  private readonly buf: Buffer;
  pos: number;
  private readonly end: number;
  /** Element starts carry a 2-byte dependency id inside template definitions only. */
  private readonly dependencyId: boolean;
  private readonly depth: number;

  constructor(chunk: ChunkStrings, pos: number, end: number, dependencyId: boolean, depth: number) {
    if (depth > MAX_DEPTH) throw new EvtxFormatError('BinXML nests too deeply');
    this.chunk = chunk;
    this.buf = chunk.buf;
    this.pos = pos;
    this.end = Math.min(end, chunk.buf.length);
    this.dependencyId = dependencyId;
    this.depth = depth;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new EvtxFormatError(`BinXML truncated at chunk offset 0x${this.pos.toString(16)}`);
  }
  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  private utf16(): string {
    const chars = this.u16();
    this.need(chars * 2);
    const s = this.buf.toString('utf16le', this.pos, this.pos + chars * 2);
    this.pos += chars * 2;
    return s;
  }

  /** A name reference; the name itself follows inline when it is stored here for the first time. */
  private name(): string {
    const offset = this.u32();
    const name = this.chunk.name(offset);
    if (offset === this.pos) this.pos += 10 + name.length * 2; // next-offset, hash, count, chars, NUL
    return name;
  }

  private peek(): number {
    this.need(1);
    return this.buf[this.pos]!;
  }

  /** Content until EOF (top level) or until the end-element token (inside an element). */
  nodes(inElement: boolean): TemplateNode[] {
    const out: TemplateNode[] = [];
    while (this.pos < this.end) {
      const token = this.u8();
      switch (token & ~FLAG_MORE) {
        case TOKEN_EOF:
          if (inElement) throw new EvtxFormatError('BinXML ends inside an element');
          return out;
        case TOKEN_END_ELEMENT:
          if (!inElement) throw new EvtxFormatError(`unexpected end-element token at 0x${(this.pos - 1).toString(16)}`);
          return out;
        case TOKEN_FRAGMENT_HEADER:
          this.need(3);
          this.pos += 3;
          break;
        case TOKEN_OPEN_START:
          out.push(this.element(token));
          break;
        case TOKEN_TEMPLATE_INSTANCE:
          out.push(this.instance());
          break;
        case TOKEN_PI_TARGET: {
          const target = this.name();
          let data = '';
          if (this.pos < this.end && this.peek() === TOKEN_PI_DATA) {
            this.pos++;
            data = this.utf16();
          }
          out.push({ target, data });
          break;
        }
        case TOKEN_CDATA:
          out.push({ cdata: this.utf16() });
          break;
        default:
          out.push(this.valuePart(token));
      }
    }
    if (inElement) throw new EvtxFormatError('BinXML ends inside an element');
    return out;
  }

  /** Text, character/entity reference or substitution: what an attribute value or text content is made of. */
  private valuePart(token: number): string | Substitution {
    switch (token & ~FLAG_MORE) {
      case TOKEN_VALUE: {
        const type = this.u8();
        if (type !== 0x01) throw new EvtxFormatError(`value token with type 0x${type.toString(16)} (only strings occur here)`);
        return this.utf16();
      }
      case TOKEN_CHAR_REF:
        return String.fromCharCode(this.u16());
      case TOKEN_ENTITY_REF: {
        const name = this.name();
        return ENTITIES[name] ?? `&${name};`;
      }
      case TOKEN_NORMAL_SUBSTITUTION:
      case TOKEN_OPTIONAL_SUBSTITUTION: {
        const sub = this.u16();
        this.u8(); // declared type; the value's own descriptor is what counts
        return { sub, optional: (token & ~FLAG_MORE) === TOKEN_OPTIONAL_SUBSTITUTION };
      }
      default:
        throw new EvtxFormatError(`unexpected BinXML token 0x${token.toString(16)} at chunk offset 0x${(this.pos - 1).toString(16)}`);
    }
  }

  private element(token: number): TemplateElement {
    if (this.dependencyId) this.u16();
    this.u32(); // data size: the tokens tell where the element ends
    const name = this.name();
    const attrs: TemplateElement['attrs'] = [];
    if (token & FLAG_MORE) {
      this.u32(); // attribute list size
      while ((this.peek() & ~FLAG_MORE) === TOKEN_ATTRIBUTE) {
        this.pos++;
        const attrName = this.name();
        const parts: (string | Substitution)[] = [];
        while (isValuePart(this.peek())) parts.push(this.valuePart(this.u8()));
        attrs.push({ name: attrName, parts });
      }
    }
    const close = this.u8();
    if (close === TOKEN_CLOSE_EMPTY) return { name, attrs, children: [] };
    if (close !== TOKEN_CLOSE_START) throw new EvtxFormatError(`element <${name}> start is not closed (token 0x${close.toString(16)})`);
    const children = new Reader(this.chunk, this.pos, this.end, this.dependencyId, this.depth + 1);
    const nodes = children.nodes(true);
    this.pos = children.pos;
    return { name, attrs, children: nodes };
  }

  private instance(): TemplateInstance {
    this.u8(); // unknown, 1
    this.u32(); // template id (first bytes of its GUID)
    const definition = this.u32();
    if (definition === this.pos) {
      // The definition is stored here, on its first use in the chunk: step over it.
      this.need(24);
      const size = this.buf.readUInt32LE(this.pos + 20);
      this.need(24 + size);
      this.pos += 24 + size;
    }
    const template = this.chunk.template(definition, this.depth);
    const count = this.u32();
    this.need(count * 4);
    const descriptors = this.pos;
    this.pos += count * 4;
    const values: Value[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const size = this.buf.readUInt16LE(descriptors + i * 4);
      const type = this.buf[descriptors + i * 4 + 2]!;
      this.need(size);
      values[i] = this.value(type, size);
      this.pos += size;
    }
    return { template, values };
  }

  private value(type: number, size: number): Value {
    if (type === 0 || size === 0) return (type & 0x80) !== 0 ? [] : null;
    if (type === VALUE_BINXML) {
      const nested = new Reader(this.chunk, this.pos, this.pos + size, false, this.depth + 1).nodes(false);
      return new Fragment(expand(nested, [], { nodes: 0 }));
    }
    return decodeValue(this.buf, this.pos, size, type);
  }
}

function isValuePart(token: number): boolean {
  const t = token & ~FLAG_MORE;
  return t === TOKEN_VALUE || t === TOKEN_CHAR_REF || t === TOKEN_ENTITY_REF || t === TOKEN_NORMAL_SUBSTITUTION || t === TOKEN_OPTIONAL_SUBSTITUTION;
}

function isSubstitution(node: TemplateNode): node is Substitution {
  return typeof node === 'object' && 'sub' in node;
}

interface Budget {
  nodes: number;
}

function count(budget: Budget, n = 1): void {
  budget.nodes += n;
  if (budget.nodes > MAX_NODES) throw new EvtxFormatError(`event expands to more than ${MAX_NODES} XML nodes`);
}

function valueText(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(', ');
  return v.nodes.map((n) => (typeof n === 'string' ? n : '')).join('');
}

/**
 * Template + values → XML nodes. An array value substituted as an element's
 * content repeats the element once per item (MS-EVEN6 rendering), e.g. one
 * `<Data>` per string of a string array.
 */
function expand(nodes: TemplateNode[], values: Value[], budget: Budget, only?: { sub: number; item: string }): XmlNode[] {
  const out: XmlNode[] = [];
  for (const node of nodes) {
    if (typeof node === 'string') {
      count(budget);
      out.push(node);
    } else if ('sub' in node) {
      const v = only && only.sub === node.sub ? only.item : (values[node.sub] ?? null);
      if (v === null) continue;
      count(budget);
      if (v instanceof Fragment) {
        count(budget, v.nodes.length);
        out.push(...v.nodes);
      } else out.push(valueText(v));
    } else if ('template' in node) {
      out.push(...expand(node.template, node.values, budget));
    } else if ('children' in node) {
      const array = node.children.find((c): c is Substitution => isSubstitution(c) && Array.isArray(values[c.sub]));
      if (array) {
        const items = values[array.sub] as string[];
        for (const item of items.length ? items : ['']) out.push(expandElement(node, values, budget, { sub: array.sub, item }));
      } else out.push(expandElement(node, values, budget));
    } else {
      count(budget);
      out.push(node);
    }
  }
  return out;
}

function expandElement(el: TemplateElement, values: Value[], budget: Budget, only?: { sub: number; item: string }): XmlElement {
  count(budget);
  const attrs = [];
  for (const a of el.attrs) {
    // An attribute made only of null substitutions is left out, as Windows does (`<Security/>` without UserID).
    if (a.parts.length > 0 && a.parts.every((p) => typeof p !== 'string' && (values[p.sub] ?? null) === null)) continue;
    let value = '';
    for (const p of a.parts) value += typeof p === 'string' ? p : valueText(values[p.sub] ?? null);
    attrs.push({ name: a.name, value });
  }
  return { name: el.name, attrs, children: expand(el.children, values, budget, only) };
}

/**
 * One record's BinXML at [start, end) of the chunk → its XML nodes (normally
 * a single `<Event>` element).
 */
export function parseRecordXml(chunk: ChunkStrings, start: number, end: number): XmlNode[] {
  const nodes = new Reader(chunk, start, end, false, 0).nodes(false);
  return expand(nodes, [], { nodes: 0 });
}
