/**
 * Syslog message parsers: RFC 5424 (full grammar) and RFC 3164 with the
 * variants real senders produce. Both are lenient in the way syslog receivers
 * are expected to be: a line is never refused for its syntax. What does not
 * parse is kept whole as the message, with `parseError` saying why.
 */
import type { SyslogMessage } from '../../record/normalize/syslog.ts';
import { parseRfc3339 } from '../../record/time.ts';

/** RFC 3164 4.3.3: a message without a PRI is given user.notice. */
export const DEFAULT_PRI = 13;
const MAX_TAG_LENGTH = 128;
const NS_PER_MS = 1_000_000n;
const HALF_YEAR_MS = 183 * 86_400_000;
const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

const SP = 32;
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Parses one syslog message (one frame, without its framing). `nowNs` is the
 * receipt time: RFC 3164 timestamps have no year and no zone, and are read as
 * the receiver's local time in the year that puts them closest to receipt.
 */
export function parseSyslog(text: string, nowNs: bigint): SyslogMessage {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 10 && c !== 13 && c !== 0) break;
    end--;
  }
  if (end < text.length) text = text.slice(0, end);
  const pri = readPri(text);
  if (pri === undefined) return { pri: DEFAULT_PRI, message: text, parseError: 'no valid <PRI> at the start' };
  let i = pri.next;
  // RFC 5424: a VERSION (1-3 digits, not starting with 0) and a space follow the PRI.
  if (i < text.length && text.charCodeAt(i) >= 49 && text.charCodeAt(i) <= 57) {
    let j = i + 1;
    while (j < text.length && j < i + 3 && isDigit(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) === SP) return parse5424(text, pri.value, j + 1);
  }
  return parse3164(text, pri.value, i, nowNs);
}

function readPri(text: string): { value: number; next: number } | undefined {
  if (text.charCodeAt(0) !== 60 /* < */) return undefined;
  let value = 0;
  let i = 1;
  for (; i < text.length && i <= 4; i++) {
    const c = text.charCodeAt(i);
    if (c === 62 /* > */) break;
    if (!isDigit(c)) return undefined;
    value = value * 10 + (c - 48);
  }
  if (i === 1 || text.charCodeAt(i) !== 62 || value > 191) return undefined;
  return { value, next: i + 1 };
}

/** The next space-delimited header field from `i`; undefined at the end of the text. */
function field(text: string, i: number): { value: string | undefined; next: number } | undefined {
  if (i >= text.length) return undefined;
  let j = text.indexOf(' ', i);
  if (j === -1) j = text.length;
  if (j === i) return undefined;
  const value = text.slice(i, j);
  return { value: value === '-' ? undefined : value, next: j + 1 };
}

function parse5424(text: string, pri: number, start: number): SyslogMessage {
  const names = ['TIMESTAMP', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID'] as const;
  const values: (string | undefined)[] = [];
  let i = start;
  for (const name of names) {
    const f = field(text, i);
    if (!f) return { pri, message: text, protocol: 'rfc5424', parseError: `RFC 5424 header ends before ${name}` };
    values.push(f.value);
    i = f.next;
  }
  const [timestamp, hostname, appName, procId, msgId] = values;
  const msg: SyslogMessage = { pri, message: '', protocol: 'rfc5424' };
  if (timestamp !== undefined) {
    const ts = parseTimestamp(timestamp);
    if (ts === undefined) msg.parseError = `invalid TIMESTAMP ${JSON.stringify(timestamp.slice(0, 40))}`;
    else msg.ts = ts;
  }
  if (hostname !== undefined) msg.hostname = hostname;
  if (appName !== undefined) msg.appName = appName;
  if (procId !== undefined) msg.procId = procId;
  if (msgId !== undefined) msg.msgId = msgId;

  if (i >= text.length) {
    msg.parseError ??= 'RFC 5424 message ends before STRUCTURED-DATA';
    return msg;
  }
  const c = text.charCodeAt(i);
  if (c === 45 /* - */ && (i + 1 === text.length || text.charCodeAt(i + 1) === SP)) {
    i += 2;
  } else if (c === 91 /* [ */) {
    const sd = parseStructuredData(text, i);
    if ('error' in sd) {
      msg.parseError = `malformed STRUCTURED-DATA at offset ${sd.at}: ${sd.error}`;
      msg.message = text.slice(i);
      return msg;
    }
    msg.structuredData = sd.data;
    i = sd.next;
    if (i < text.length && text.charCodeAt(i) !== SP) {
      msg.parseError = `expected a space after STRUCTURED-DATA at offset ${i}`;
      msg.message = text.slice(i);
      return msg;
    }
    i++;
  } else {
    msg.parseError ??= 'STRUCTURED-DATA is missing (expected "-" or "[")';
    msg.message = text.slice(i);
    return msg;
  }
  msg.message = i < text.length ? messageText(text.slice(i)) : '';
  return msg;
}

/**
 * MSG without its BOM (RFC 5424 6.4: MSG in UTF-8 starts with one) and without
 * one leading space: rsyslog forwards RFC 3164 messages with the space after
 * the tag's colon still in MSG ("- -  text"), and that space is not the sender's.
 */
function messageText(text: string): string {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.charCodeAt(0) === SP ? text.slice(1) : text;
}

type SdResult = { data: Record<string, Record<string, string | string[]>>; next: number } | { error: string; at: number };

/**
 * SD-ELEMENTs from `i` (which is at "["). Inside PARAM-VALUE, \" \\ and \] are
 * escapes; any other backslash is a plain backslash (RFC 5424 6.3.3). A name
 * repeated inside an element keeps all its values, in order.
 */
function parseStructuredData(text: string, i: number): SdResult {
  const data: Record<string, Record<string, string | string[]>> = {};
  const n = text.length;
  while (i < n && text.charCodeAt(i) === 91 /* [ */) {
    const idStart = ++i;
    while (i < n && !isSdNameEnd(text.charCodeAt(i))) i++;
    if (i === idStart) return { error: 'empty SD-ID', at: i };
    const id = text.slice(idStart, i);
    const params = (data[id] ??= {});
    for (;;) {
      if (i >= n) return { error: 'element is not closed with "]"', at: i };
      const c = text.charCodeAt(i);
      if (c === 93 /* ] */) {
        i++;
        break;
      }
      if (c !== SP) return { error: `unexpected ${JSON.stringify(text[i])} in SD-ELEMENT`, at: i };
      while (i < n && text.charCodeAt(i) === SP) i++;
      if (text.charCodeAt(i) === 93) continue;
      const nameStart = i;
      while (i < n && !isSdNameEnd(text.charCodeAt(i))) i++;
      if (i === nameStart) return { error: 'empty PARAM-NAME', at: i };
      const name = text.slice(nameStart, i);
      if (text.charCodeAt(i) !== 61 /* = */ || text.charCodeAt(i + 1) !== 34 /* " */) {
        return { error: `expected ="value" after ${JSON.stringify(name)}`, at: i };
      }
      i += 2;
      let value = '';
      let chunkStart = i;
      for (;;) {
        if (i >= n) return { error: `PARAM-VALUE of ${JSON.stringify(name)} is not closed with '"'`, at: i };
        const v = text.charCodeAt(i);
        if (v === 34) break;
        if (v === 92 /* \ */) {
          const e = text.charCodeAt(i + 1);
          if (e === 34 || e === 92 || e === 93) {
            value += text.slice(chunkStart, i);
            chunkStart = i + 1;
            i += 2;
            continue;
          }
        }
        i++;
      }
      value += text.slice(chunkStart, i);
      i++;
      const existing = params[name];
      if (existing === undefined) params[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else params[name] = [existing, value];
    }
  }
  return { data, next: i };
}

/** SD-NAME is printable US-ASCII except '=', SP, ']' and '"'. */
function isSdNameEnd(c: number): boolean {
  return c <= SP || c === 61 || c === 93 || c === 34 || c > 126;
}

function parse3164(text: string, pri: number, start: number, nowNs: bigint): SyslogMessage {
  const msg: SyslogMessage = { pri, message: '', protocol: 'rfc3164' };
  let i = start;
  const stamp = readBsdTimestamp(text, i, nowNs) ?? readIsoTimestamp(text, i);
  if (stamp) {
    msg.ts = stamp.ts;
    i = stamp.next;
    // HOSTNAME, unless the sender left it out and this is already the TAG.
    let j = text.indexOf(' ', i);
    if (j === -1) j = text.length;
    const token = text.slice(i, j);
    if (token.length > 0 && !token.endsWith(':') && !token.includes('[')) {
      msg.hostname = token;
      i = j + 1;
    }
  }
  const tag = readTag(text, i);
  if (tag) {
    msg.appName = tag.name;
    if (tag.pid !== undefined) msg.procId = tag.pid;
    i = tag.next;
  }
  msg.message = i < text.length ? text.slice(i) : '';
  return msg;
}

/**
 * `Mmm dd hh:mm:ss` (day space-padded or not), optionally with a year before
 * the time, a fraction, and a trailing colon (Cisco), followed by a space.
 */
function readBsdTimestamp(text: string, i: number, nowNs: bigint): { ts: bigint; next: number } | undefined {
  const month = MONTHS[text.slice(i, i + 3)];
  if (month === undefined || text.charCodeAt(i + 3) !== SP) return undefined;
  i += 4;
  if (text.charCodeAt(i) === SP) i++;
  const day = readNumber(text, i, 1, 2);
  if (!day || text.charCodeAt(day.next) !== SP) return undefined;
  i = day.next + 1;
  let year: number | undefined;
  const maybeYear = readNumber(text, i, 4, 4);
  if (maybeYear && text.charCodeAt(maybeYear.next) === SP) {
    year = maybeYear.value;
    i = maybeYear.next + 1;
  }
  const h = readNumber(text, i, 2, 2);
  if (!h || text.charCodeAt(h.next) !== 58) return undefined;
  const m = readNumber(text, h.next + 1, 2, 2);
  if (!m || text.charCodeAt(m.next) !== 58) return undefined;
  const s = readNumber(text, m.next + 1, 2, 2);
  if (!s) return undefined;
  i = s.next;
  let fracNs = 0n;
  if (text.charCodeAt(i) === 46 /* . */) {
    const fracStart = i + 1;
    i = fracStart;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    const digits = text.slice(fracStart, Math.min(i, fracStart + 9));
    if (digits.length === 0) return undefined;
    fracNs = BigInt(digits.padEnd(9, '0'));
  }
  if (text.charCodeAt(i) === 58 /* : */) i++;
  if (i < text.length && text.charCodeAt(i) !== SP) return undefined;
  if (day.value < 1 || day.value > 31 || h.value > 23 || m.value > 59 || s.value > 60) return undefined;
  const ms = localTime(year, month, day.value, h.value, m.value, Math.min(s.value, 59), nowNs);
  if (ms === undefined) return undefined;
  return { ts: BigInt(ms) * NS_PER_MS + fracNs, next: i + 1 };
}

/**
 * Local time in ms; without a year, the year that puts it closest to the
 * receipt time. Zone offsets change only on hour boundaries, so the start of
 * each local hour is computed once (per hour of receipt time) and reused.
 */
function localTime(year: number | undefined, month: number, day: number, h: number, m: number, s: number, nowNs: bigint): number | undefined {
  const nowMs = Number(nowNs / NS_PER_MS);
  const key = `${year ?? ''}-${month}-${day}-${h}`;
  let hour = hourCache.get(key);
  if (hour === undefined || Math.abs(nowMs - hour.at) > 3_600_000) {
    if (hourCache.size >= HOUR_CACHE_SIZE) hourCache.clear();
    hour = { ms: localHour(year, month, day, h, nowMs), at: nowMs };
    hourCache.set(key, hour);
  }
  return hour.ms === undefined ? undefined : hour.ms + m * 60_000 + s * 1000;
}

const HOUR_CACHE_SIZE = 4096;
const hourCache = new Map<string, { ms: number | undefined; at: number }>();

function localHour(year: number | undefined, month: number, day: number, h: number, nowMs: number): number | undefined {
  let y = year ?? new Date(nowMs).getFullYear();
  let ms = new Date(y, month, day, h).getTime();
  if (year === undefined) {
    if (ms - nowMs > HALF_YEAR_MS) ms = new Date(--y, month, day, h).getTime();
    else if (nowMs - ms > HALF_YEAR_MS) ms = new Date(++y, month, day, h).getTime();
  }
  // Date rolls 30 February into March; refuse that.
  return new Date(ms).getDate() === day ? ms : undefined;
}

/**
 * RFC 3339 text → ns. A stream's consecutive messages mostly share their
 * second and zone, so "YYYY-MM-DDTHH:MM:SS" + zone is parsed once and only the
 * fraction is read per message.
 */
function parseTimestamp(text: string): bigint | undefined {
  let j = 19;
  if (text.length < 20 || text.charCodeAt(10) !== 84 /* T */) return parseRfc3339(text);
  let fracNs = 0;
  if (text.charCodeAt(j) === 46 /* . */) {
    let scale = 100_000_000;
    while (++j < text.length && isDigit(text.charCodeAt(j))) {
      fracNs += (text.charCodeAt(j) - 48) * scale;
      scale /= 10;
    }
    if (j === 20 || j > 29) return parseRfc3339(text);
  }
  const key = text.slice(0, 19) + text.slice(j);
  if (key !== lastSecondKey) {
    const second = parseRfc3339(key);
    if (second === undefined) return undefined;
    lastSecondKey = key;
    lastSecondNs = second;
  }
  return lastSecondNs + BigInt(fracNs);
}

let lastSecondKey = '';
let lastSecondNs = 0n;

/** An RFC 3339 timestamp instead of the BSD one (rsyslog's high-precision forwarding, many appliances). */
function readIsoTimestamp(text: string, i: number): { ts: bigint; next: number } | undefined {
  if (!isDigit(text.charCodeAt(i)) || text.charCodeAt(i + 4) !== 45 /* - */) return undefined;
  let j = text.indexOf(' ', i);
  if (j === -1) j = text.length;
  const ts = parseTimestamp(text.slice(i, j));
  return ts === undefined ? undefined : { ts, next: j + 1 };
}

function readNumber(text: string, i: number, min: number, max: number): { value: number; next: number } | undefined {
  let value = 0;
  let j = i;
  while (j < text.length && j - i < max && isDigit(text.charCodeAt(j))) value = value * 10 + (text.charCodeAt(j++) - 48);
  return j - i >= min ? { value, next: j } : undefined;
}

/**
 * TAG, optionally with [PID], ended by ":" (or by "]" then a space). Text that
 * does not end its first word that way has no tag (e.g. "last message
 * repeated 3 times") and stays the message.
 */
function readTag(text: string, i: number): { name: string; pid?: string; next: number } | undefined {
  const limit = Math.min(text.length, i + MAX_TAG_LENGTH + 1);
  let j = i;
  while (j < limit) {
    const c = text.charCodeAt(j);
    if (c === SP || c === 58 /* : */ || c === 91 /* [ */) break;
    j++;
  }
  if (j === i || j >= text.length) return undefined;
  const name = text.slice(i, j);
  let pid: string | undefined;
  if (text.charCodeAt(j) === 91) {
    const close = text.indexOf(']', j + 1);
    if (close === -1 || close - j > 130) return undefined;
    pid = text.slice(j + 1, close);
    j = close + 1;
    if (text.charCodeAt(j) !== 58 && text.charCodeAt(j) !== SP && j < text.length) return undefined;
  } else if (text.charCodeAt(j) !== 58) {
    return undefined;
  }
  if (text.charCodeAt(j) === 58) j++;
  if (text.charCodeAt(j) === SP) j++;
  return pid === undefined ? { name, next: j } : { name, pid, next: j };
}
