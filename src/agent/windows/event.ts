/**
 * The event XML tree shared by both Windows readers: the .evtx parser builds
 * it from BinXML, the live collector from wevtutil/PowerShell XML text. One
 * mapping (eventFromTree) turns it into a WindowsEvent, so an event reads the
 * same whichever way it arrived.
 */
import type { JsonValue } from '../../record/record.ts';
import type { WindowsEvent } from '../../record/normalize/windows.ts';

export interface XmlAttr {
  name: string;
  value: string;
}

export interface XmlElement {
  name: string;
  attrs: XmlAttr[];
  children: XmlNode[];
}

export interface XmlCData {
  cdata: string;
}

export interface XmlPI {
  target: string;
  data: string;
}

/** Text children are plain (unescaped) strings. */
export type XmlNode = XmlElement | XmlCData | XmlPI | string;

export function isElement(node: XmlNode): node is XmlElement {
  return typeof node === 'object' && 'children' in node;
}

// \r is written as a character reference so it survives XML line-end normalization; in attributes
// \n and \t too (attribute value normalization would turn them into spaces).
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#xD;', '\n': '&#xA;', '\t': '&#x9;' };
// Characters XML 1.0 cannot carry even escaped: written as U+FFFD so the document stays well-formed.
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const ATTR_SPECIAL = /[&<>"\r\n\t\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(NOT_XML, '\ufffd').replace(/[&<>\r]/g, (c) => ESCAPES[c]!);
}

function escapeAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return s.replace(NOT_XML, '\ufffd').replace(/[&<>"\r\n\t]/g, (c) => ESCAPES[c]!);
}

/** The XML text of a node (no declaration), as compact as wevtutil prints it. */
export function renderXml(node: XmlNode): string {
  if (typeof node === 'string') return escapeText(node);
  if ('cdata' in node) return `<![CDATA[${node.cdata.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
  if ('target' in node) return `<?${node.target}${node.data ? ' ' + node.data.replaceAll('?>', '? >') : ''}?>`;
  let out = '<' + node.name;
  for (const a of node.attrs) out += ` ${a.name}="${escapeAttr(a.value)}"`;
  if (node.children.length === 0) return out + '/>';
  out += '>';
  for (const c of node.children) out += renderXml(c);
  return out + `</${node.name}>`;
}

export function childElement(el: XmlElement, name: string): XmlElement | undefined {
  for (const c of el.children) if (typeof c === 'object' && 'children' in c && c.name === name) return c;
  return undefined;
}

export function attr(el: XmlElement | undefined, name: string): string | undefined {
  if (!el) return undefined;
  for (const a of el.attrs) if (a.name === name) return a.value;
  return undefined;
}

/** Concatenated text content (CDATA included) of an element and its descendants. */
export function textOf(el: XmlElement | undefined): string {
  if (!el) return '';
  let s = '';
  for (const c of el.children) {
    if (typeof c === 'string') s += c;
    else if ('cdata' in c) s += c.cdata;
    else if ('children' in c) s += textOf(c);
  }
  return s;
}

function hasChildElements(el: XmlElement): boolean {
  for (const c of el.children) if (typeof c === 'object' && 'children' in c) return true;
  return false;
}

/**
 * An element as JSON, for UserData and other free-form payloads: text-only
 * elements become their text; others an object with `@attr` keys, child
 * elements by name (an array when a name repeats) and `#text`.
 */
function elementToJson(el: XmlElement): JsonValue {
  const attrs = el.attrs.filter((a) => a.name !== 'xmlns' && !a.name.startsWith('xmlns:'));
  if (attrs.length === 0 && !hasChildElements(el)) return textOf(el);
  const out: Record<string, JsonValue> = {};
  for (const a of attrs) out['@' + a.name] = a.value;
  const lists = new Set<string>();
  let text = '';
  for (const c of el.children) {
    if (typeof c === 'string') text += c;
    else if ('cdata' in c) text += c.cdata;
    else if ('children' in c) {
      const value = elementToJson(c);
      const prev = out[c.name];
      if (prev === undefined) out[c.name] = value;
      else if (lists.has(c.name)) (prev as JsonValue[]).push(value);
      else {
        out[c.name] = [prev, value];
        lists.add(c.name);
      }
    }
  }
  if (text.trim() !== '') out['#text'] = text;
  return out;
}

function toInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '') return undefined;
  const n = t.startsWith('0x') || t.startsWith('0X') ? Number.parseInt(t.slice(2), 16) : Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Record ids are 64-bit: kept exact as bigint. */
function toRecordId(text: string | undefined): bigint | undefined {
  const t = text?.trim();
  if (!t || !/^\d{1,20}$/.test(t)) return undefined;
  return BigInt(t);
}

/** `<EventData>`: named `<Data Name=..>` by name, unnamed as Data_0.., `<Binary>` as Binary, anything else by its name. */
function eventDataMap(el: XmlElement): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  let unnamed = 0;
  const put = (key: string, value: JsonValue) => {
    let k = key;
    for (let i = 2; k in out; i++) k = `${key}_${i}`;
    out[k] = value;
  };
  for (const c of el.children) {
    if (typeof c !== 'object' || !('children' in c)) continue;
    const value = hasChildElements(c) ? elementToJson(c) : textOf(c);
    if (c.name === 'Data') {
      const name = attr(c, 'Name');
      put(name !== undefined && name !== '' ? name : `Data_${unnamed++}`, value);
    } else put(c.name, value);
  }
  return out;
}

const SYSTEM_NUMBERS = ['Version', 'Task', 'Opcode'] as const;
/** Payload elements other than EventData that carry an event's data. */
const PAYLOADS = new Set(['UserData', 'ProcessingErrorData', 'DebugData', 'BinaryEventData']);

/**
 * `<Event>` → WindowsEvent (DESIGN.md mapping). Missing pieces get neutral
 * defaults rather than failing: a damaged event still becomes a record.
 */
export function eventFromTree(event: XmlElement, xml?: string): WindowsEvent {
  const system = childElement(event, 'System');
  const provider = childElement(system ?? event, 'Provider');
  const eventIdEl = system && childElement(system, 'EventID');
  const extra: Record<string, JsonValue> = {};
  for (const key of SYSTEM_NUMBERS) {
    const n = toInt(textOf(system && childElement(system, key)));
    if (n !== undefined) extra[key] = n;
  }
  const keywords = textOf(system && childElement(system, 'Keywords')).trim();
  if (keywords) extra.Keywords = keywords;
  const qualifiers = toInt(attr(eventIdEl, 'Qualifiers'));
  if (qualifiers !== undefined) extra.Qualifiers = qualifiers;
  const guid = attr(provider, 'Guid');
  if (guid) extra.ProviderGuid = guid;
  const sourceName = attr(provider, 'EventSourceName');
  if (sourceName) extra.EventSourceName = sourceName;
  const correlation = system && childElement(system, 'Correlation');
  const activity = attr(correlation, 'ActivityID');
  if (activity) extra.ActivityID = activity;
  const related = attr(correlation, 'RelatedActivityID');
  if (related) extra.RelatedActivityID = related;
  const execution = system && childElement(system, 'Execution');
  for (const key of ['ProcessID', 'ThreadID'] as const) {
    const n = toInt(attr(execution, key));
    if (n !== undefined) extra[key] = n;
  }
  const userId = attr(system && childElement(system, 'Security'), 'UserID');
  if (userId) extra.UserID = userId;

  let eventData: Record<string, JsonValue> | undefined;
  let message: string | undefined;
  for (const c of event.children) {
    if (typeof c !== 'object' || !('children' in c)) continue;
    if (c.name === 'EventData') eventData = { ...eventData, ...eventDataMap(c) };
    else if (PAYLOADS.has(c.name)) {
      const inner = c.name === 'UserData' ? c.children.filter(isElement) : [c];
      eventData = { ...eventData };
      for (const el of inner) eventData[el.name] = elementToJson(el);
    } else if (c.name === 'RenderingInfo') {
      const m = textOf(childElement(c, 'Message')).trim();
      if (m) message = m;
    }
  }

  const out: WindowsEvent = {
    systemTime: attr(system && childElement(system, 'TimeCreated'), 'SystemTime') ?? '',
    computer: textOf(system && childElement(system, 'Computer')).trim(),
    provider: attr(provider, 'Name') ?? sourceName ?? '',
    level: toInt(textOf(system && childElement(system, 'Level'))) ?? 0,
    channel: textOf(system && childElement(system, 'Channel')).trim(),
    eventId: toInt(textOf(eventIdEl)) ?? 0,
    system: extra,
  };
  const recordId = toRecordId(textOf(system && childElement(system, 'EventRecordID')));
  if (recordId !== undefined) out.recordId = recordId;
  if (message !== undefined) out.message = message;
  if (eventData) out.eventData = eventData;
  if (xml !== undefined) out.xml = xml;
  return out;
}
