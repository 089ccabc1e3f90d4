/**
 * Loki push bodies → streams of entries. Two encodings, one result:
 * - JSON: {"streams":[{"stream":{labels},"values":[["<ns>","line",{metadata}?]]}]}
 * - protobuf logproto.PushRequest, snappy block-compressed (what Promtail,
 *   Alloy and most clients send).
 * Any syntax error refuses the whole request (400), as Loki does: a client
 * that sends one malformed entry sends malformed bodies, and retrying will not help.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { uncompress } from 'snappy';
import { HttpError } from '../../api/errors.ts';
import { LabelSyntaxError, parseLabels } from './labels.ts';

export interface LokiEntry {
  /** ns since epoch; null when the sender left it out. */
  ts: bigint | null;
  line: string;
  metadata: Record<string, string> | null;
}

export interface LokiStream {
  labels: Record<string, string>;
  entries: LokiEntry[];
}

const NS_TEXT = /^\d{1,19}$/;

const bad = (message: string) => new HttpError(400, 'invalid_push', message);

export function decodeJsonPush(body: Buffer, maxLabels: number): LokiStream[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  const streams = (doc as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) throw bad('the body needs a "streams" array: {"streams":[{"stream":{...},"values":[["<ns>","line"]]}]}');
  return streams.map((s: unknown, i): LokiStream => {
    const where = `streams[${i}]`;
    if (!isObject(s)) throw bad(`${where}: must be an object`);
    const labels = stringMap(s.stream ?? {}, `${where}.stream`, maxLabels);
    const values = s.values;
    if (!Array.isArray(values)) throw bad(`${where}.values: must be an array of ["<ns>", "line"] pairs`);
    const entries = values.map((v: unknown, j): LokiEntry => {
      const at = `${where}.values[${j}]`;
      if (!Array.isArray(v) || v.length < 2 || v.length > 3) throw bad(`${at}: must be ["<ns>", "line"] or ["<ns>", "line", {metadata}]`);
      const [ts, line, metadata] = v as unknown[];
      if (typeof ts !== 'string' || !NS_TEXT.test(ts)) throw bad(`${at}[0]: the timestamp must be a string of nanoseconds since the epoch, got ${JSON.stringify(ts)}`);
      if (typeof line !== 'string') throw bad(`${at}[1]: the line must be a string`);
      return { ts: BigInt(ts), line, metadata: metadata === undefined ? null : stringMap(metadata, `${at}[2]`, maxLabels) };
    });
    return { labels, entries };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string, max: number): Record<string, string> {
  if (!isObject(v)) throw bad(`${where}: must be an object of strings`);
  const out: Record<string, string> = Object.create(null);
  let n = 0;
  for (const key in v) {
    const value = v[key];
    if (typeof value !== 'string') throw bad(`${where}.${key}: must be a string`);
    if (++n > max) throw bad(`${where}: more than ${max} labels (sources.loki.max_labels)`);
    out[key] = value;
  }
  return out;
}

interface PbTimestamp {
  seconds: number | { toString(): string };
  nanos: number;
}
interface PbEntry {
  timestamp: PbTimestamp | null;
  line: string;
  structuredMetadata: { name: string; value: string }[];
}
interface PbPushRequest {
  streams: { labels: string; entries: PbEntry[] }[];
}

const PushRequest = protobuf
  .parse(readFileSync(new URL('./push.proto', import.meta.url), 'utf8'), { keepCase: true })
  .root.lookupType('logproto.PushRequest');

/**
 * The uncompressed length a snappy block declares in its preamble (a varint),
 * read before decompressing so a small body cannot claim gigabytes.
 */
export function snappyDeclaredLength(block: Buffer): number | undefined {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  return undefined;
}

export async function decodeProtobufPush(body: Buffer, maxBytes: number, maxLabels: number): Promise<LokiStream[]> {
  const declared = snappyDeclaredLength(body);
  if (declared === undefined) throw new HttpError(400, 'corrupt_body', 'the body is not a snappy block (it has no valid length preamble)');
  if (declared > maxBytes) throw new HttpError(413, 'body_too_large', `the snappy body decompresses to ${declared} bytes, more than ${maxBytes} (ingest.max_body_bytes)`);
  let raw: Buffer;
  try {
    raw = (await uncompress(body)) as Buffer;
  } catch (err) {
    throw new HttpError(400, 'corrupt_body', `the body is not valid snappy-compressed data: ${(err as Error).message}`);
  }
  let request: PbPushRequest;
  try {
    request = PushRequest.decode(raw) as unknown as PbPushRequest;
  } catch (err) {
    throw new HttpError(400, 'corrupt_body', `the body is not a Loki PushRequest protobuf: ${(err as Error).message}`);
  }
  return request.streams.map((s, i): LokiStream => {
    let labels: Record<string, string>;
    try {
      labels = parseLabels(s.labels, maxLabels);
    } catch (err) {
      if (err instanceof LabelSyntaxError) throw bad(`streams[${i}]: ${err.message}`);
      throw err;
    }
    const entries = s.entries.map((e, j): LokiEntry => {
      let metadata: Record<string, string> | null = null;
      if (e.structuredMetadata.length > 0) {
        if (e.structuredMetadata.length > maxLabels) throw bad(`streams[${i}].entries[${j}]: more than ${maxLabels} structured metadata pairs (sources.loki.max_labels)`);
        metadata = Object.create(null) as Record<string, string>;
        for (const pair of e.structuredMetadata) metadata[pair.name] = pair.value;
      }
      return { ts: timestampNs(e.timestamp), line: e.line, metadata };
    });
    return { labels, entries };
  });
}

function timestampNs(t: PbTimestamp | null): bigint | null {
  if (!t) return null;
  const seconds = typeof t.seconds === 'number' ? BigInt(t.seconds) : BigInt(t.seconds.toString());
  return seconds * 1_000_000_000n + BigInt(t.nanos);
}
