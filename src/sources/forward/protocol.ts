/**
 * Forward protocol event messages (spec v1, "Event Modes") → events. The mode
 * is told by the second element: an array is Forward, a str/bin is
 * PackedForward (CompressedPackedForward with option `compressed: "gzip"`),
 * anything else is Message. Entries are [time, record], or Fluent Bit's
 * [[time, metadata], record]. A message whose shape is wrong is a FrameError
 * (the connection is closed); an entry whose time or record is wrong is
 * counted and skipped, the rest of the message stands.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { EventTime, FrameError, readArrayHeader, readRaw, unpackr } from './msgpack.ts';

const gunzip = promisify(gunzipCallback);

export interface FluentEvent {
  /** ns since epoch; undefined for a bare record (no event time: the record's own time keys count). */
  time: bigint | undefined;
  record: Record<string, unknown>;
  /** Fluent Bit's per-event metadata, when it sends any. */
  metadata: Record<string, unknown> | null;
  /** Position of the entry in its message, from 1. */
  entry: number;
}

const MAX_REPORTED_SKIPS = 100;

export interface DecodedEntries {
  events: FluentEvent[];
  /** Entries skipped. */
  invalid: number;
  /** The first skipped entries and why. */
  skipped: { entry: number; reason: string }[];
}

export interface EventMessage extends DecodedEntries {
  tag: string;
  /** option.chunk: when present the sender waits for {ack: chunk}. */
  chunk: unknown;
  /** Fluent Bit's option.fluent_signal: 0 logs, 1 metrics, 2 traces. */
  signal: number;
}

export interface DecodeLimits {
  maxMessageBytes: number;
  maxRecords: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof EventTime) && !(v instanceof Date);
}

const NS_PER_S = 1_000_000_000n;

/** An event time: EventTime, integer or fractional seconds, or a msgpack timestamp; undefined when it is none. */
export function eventTimeNs(t: unknown): bigint | undefined {
  if (t instanceof EventTime) return t.ns;
  if (typeof t === 'number' && Number.isFinite(t) && t >= 0) {
    const seconds = Math.trunc(t);
    return BigInt(seconds) * NS_PER_S + BigInt(Math.round((t - seconds) * 1e9));
  }
  if (t instanceof Date && !Number.isNaN(t.getTime()) && t.getTime() >= 0) return BigInt(t.getTime()) * 1_000_000n;
  return undefined;
}

export class EntryCollector implements DecodedEntries {
  readonly events: FluentEvent[] = [];
  invalid = 0;
  readonly skipped: { entry: number; reason: string }[] = [];
  private readonly maxRecords: number;
  constructor(maxRecords: number) {
    this.maxRecords = maxRecords;
  }

  private skip(reason: string): void {
    this.invalid++;
    if (this.skipped.length < MAX_REPORTED_SKIPS) this.skipped.push({ entry: this.events.length + this.invalid, reason });
  }

  private countOne(): void {
    if (this.events.length + this.invalid >= this.maxRecords) {
      throw new FrameError(`message holds more than max_records_per_message (${this.maxRecords}) events`, 'too_many_records');
    }
  }

  /** Adds one event given as its time and record. */
  addEvent(time: unknown, record: unknown): void {
    this.countOne();
    let metadata: Record<string, unknown> | null = null;
    if (Array.isArray(time)) {
      // Fluent Bit's event format: [[time, metadata], record].
      if (time.length !== 2 || !isObject(time[1])) return this.skip('an entry time must be a time or [time, metadata]');
      metadata = Object.keys(time[1]).length > 0 ? time[1] : null;
      time = time[0];
    }
    const ns = eventTimeNs(time);
    if (ns === undefined) return this.skip(`an entry time must be an EventTime or a number of seconds, got ${describe(time)}`);
    if (!isObject(record)) return this.skip(`an entry record must be a map, got ${describe(record)}`);
    this.events.push({ time: ns, record, metadata, entry: this.events.length + this.invalid + 1 });
  }

  /** Adds one [time, record] entry. */
  addEntry(entry: unknown): void {
    if (!Array.isArray(entry) || entry.length !== 2) {
      this.countOne();
      return this.skip(`an entry must be [time, record], got ${describe(entry)}`);
    }
    this.addEvent(entry[0], entry[1]);
  }

  /**
   * Decodes a MessagePackEventStream (PackedForward entries). With
   * `bareRecords`, a map in the stream is a record without an event time
   * (what Fluentd's msgpack formatter writes).
   */
  addPackedStream(stream: Buffer, bareRecords = false): void {
    if (stream.length === 0) return;
    try {
      unpackr.unpackMultiple(stream, (entry: unknown) => {
        if (bareRecords && isObject(entry)) {
          this.countOne();
          this.events.push({ time: undefined, record: entry, metadata: null, entry: this.events.length + this.invalid + 1 });
        } else {
          this.addEntry(entry);
        }
      });
    } catch (err) {
      if (err instanceof FrameError) throw err;
      throw new FrameError(`PackedForward entries are not a valid MessagePack stream: ${(err as Error).message}`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return 'binary';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

function decodeRest(frame: Buffer, pos: number): unknown[] {
  if (pos >= frame.length) return [];
  try {
    return unpackr.unpackMultiple(frame.subarray(pos)) as unknown[];
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError(`invalid MessagePack in the message: ${(err as Error).message}`);
  }
}

/**
 * Decodes one complete event message (not nil, not a handshake message).
 * Async because CompressedPackedForward entries are gunzipped off the event loop.
 */
export async function decodeEventMessage(frame: Buffer, limits: DecodeLimits): Promise<EventMessage> {
  const header = readArrayHeader(frame, 0);
  if (!header || header.count < 2 || header.count > 4) {
    throw new FrameError(`a forward message is [tag, time, record, option?] or [tag, entries, option?]; got an array of ${header?.count ?? 0}`);
  }
  const tagRaw = readRaw(frame, header.next);
  if (!tagRaw) throw new FrameError('the first element of a forward message (the tag) must be a string');
  const tag = tagRaw.bytes.toString('utf8');
  const second = frame[tagRaw.next]!;
  const isArray = second >= 0x90 && second <= 0x9f ? true : second === 0xdc || second === 0xdd;
  const packed = isArray ? null : readRaw(frame, tagRaw.next);
  const out = new EntryCollector(limits.maxRecords);
  let option: unknown;
  if (packed) {
    // PackedForward / CompressedPackedForward: [tag, <<entries>>, option?]
    const rest = decodeRest(frame, packed.next);
    if (rest.length !== header.count - 2) throw new FrameError('invalid PackedForward message');
    option = rest[0];
    let stream = packed.bytes;
    if (isObject(option) && option.compressed === 'gzip') {
      try {
        stream = await gunzip(stream, { maxOutputLength: limits.maxMessageBytes });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
          throw new FrameError(`CompressedPackedForward entries decompress to more than max_message_bytes (${limits.maxMessageBytes} bytes)`, 'message_too_large');
        }
        throw new FrameError(`CompressedPackedForward entries are not valid gzip: ${e.message}`, 'corrupt_body');
      }
    }
    out.addPackedStream(stream);
  } else if (isArray) {
    // Forward: [tag, [[time, record], ...], option?]
    const rest = decodeRest(frame, tagRaw.next);
    const entries = rest[0] as unknown[];
    if (entries.length > limits.maxRecords) {
      throw new FrameError(`message holds more than max_records_per_message (${limits.maxRecords}) events`, 'too_many_records');
    }
    option = rest[1];
    for (const entry of entries) out.addEntry(entry);
  } else {
    // Message: [tag, time, record, option?]
    if (header.count < 3) throw new FrameError('a Message mode message is [tag, time, record, option?]');
    const rest = decodeRest(frame, tagRaw.next);
    option = rest[2];
    out.addEvent(rest[0], rest[1]);
  }
  if (option !== undefined && option !== null && !isObject(option)) {
    throw new FrameError(`the option element of a forward message must be a map, got ${describe(option)}`);
  }
  const opts = (option ?? {}) as Record<string, unknown>;
  const signal = typeof opts.fluent_signal === 'number' ? opts.fluent_signal : 0;
  return { tag, chunk: opts.chunk, signal, events: out.events, invalid: out.invalid, skipped: out.skipped };
}
