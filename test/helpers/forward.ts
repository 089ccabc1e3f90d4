/** Forward protocol clients for tests: frames built from the spec, a raw socket client, the handshake. */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ useRecords: false, variableMapSize: true });
/** Reads server answers (HELO, PONG, acks); decodes EventTime as raw bytes, which never occurs in answers. */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export const pack = (value: unknown): Buffer => packr.pack(value);

/** EventTime as the spec draws it: fixext8 (0xd7), type 0, seconds and nanoseconds big-endian. */
export function eventTime(sec: number, nsec = 0): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 0xd7;
  b[1] = 0x00;
  b.writeUInt32BE(sec, 2);
  b.writeUInt32BE(nsec, 6);
  return b;
}

function arrayHeader(n: number): Buffer {
  return Buffer.from([0x90 + n]);
}

/** One [time, record] entry; time is an EventTime buffer or integer seconds. */
export function entry(time: Buffer | number, record: object): Buffer {
  return Buffer.concat([arrayHeader(2), typeof time === 'number' ? pack(time) : time, pack(record)]);
}

/** Message mode: [tag, time, record, option?] */
export function messageMode(tag: string, time: Buffer | number, record: object, option?: object): Buffer {
  const parts = [pack(tag), typeof time === 'number' ? pack(time) : time, pack(record)];
  if (option) parts.push(pack(option));
  return Buffer.concat([arrayHeader(parts.length), ...parts]);
}

/** Forward mode: [tag, [entry, ...], option?] */
export function forwardMode(tag: string, entries: Buffer[], option?: object): Buffer {
  const count = entries.length;
  const header = count < 16 ? arrayHeader(count) : Buffer.from([0xdc, count >> 8, count & 0xff]);
  const parts = [pack(tag), Buffer.concat([header, ...entries])];
  if (option) parts.push(pack(option));
  return Buffer.concat([arrayHeader(parts.length), ...parts]);
}

/** PackedForward: [tag, bin or str32 of the entries, option?]; `asStr` sends them as Fluentd does. */
export function packedForward(tag: string, entries: Buffer[], option?: object, opts: { asStr?: boolean; gzip?: boolean } = {}): Buffer {
  let stream = Buffer.concat(entries);
  if (opts.gzip) stream = gzipSync(stream);
  let raw: Buffer;
  if (opts.asStr) {
    const h = Buffer.alloc(5);
    h[0] = 0xdb;
    h.writeUInt32BE(stream.length, 1);
    raw = Buffer.concat([h, stream]);
  } else {
    raw = pack(stream);
  }
  const parts = [pack(tag), raw];
  if (option) parts.push(pack(option));
  return Buffer.concat([arrayHeader(parts.length), ...parts]);
}

export function sha512Hex(...parts: (string | Buffer)[]): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** A raw forward client: writes bytes, reads answers in order. */
export class ForwardClient {
  readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private readonly answers: unknown[] = [];
  private waiters: (() => void)[] = [];
  ended = false;
  readonly closed: Promise<void>;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.drain();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => {
      this.ended = true;
      this.wakeAll();
    });
  }

  static async connect(port: number, tls?: ConnectionOptions): Promise<ForwardClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s: Socket = tls
        ? tlsConnect({ host: '127.0.0.1', port, ...tls }, () => resolve(s))
        : tcpConnect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    return new ForwardClient(socket);
  }

  private drain(): void {
    if (this.buffer.length === 0) return;
    try {
      const values = unpackr.unpackMultiple(this.buffer) as unknown[];
      this.answers.push(...values);
      this.buffer = Buffer.alloc(0);
    } catch (err) {
      const e = err as { incomplete?: boolean; lastPosition?: number; values?: unknown[] };
      if (!e.incomplete) throw err;
      if (e.values) this.answers.push(...e.values);
      this.buffer = this.buffer.subarray(e.lastPosition ?? 0);
    }
    this.wakeAll();
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next answer; rejects when the connection closes first or after `ms`. */
  async next(ms = 10_000): Promise<unknown> {
    const deadline = Date.now() + ms;
    while (this.answers.length === 0) {
      if (this.ended) throw new Error('connection closed before an answer');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.answers.shift();
  }

  /** Answers HELO with a PING for `key`; returns the PONG and whether its digest proves the server knows the key. */
  async handshake(key: string, clientHostname = 'test-client'): Promise<{ pong: unknown[]; serverProved: boolean }> {
    const helo = (await this.next()) as [string, { nonce: Uint8Array }];
    if (helo[0] !== 'HELO') throw new Error(`expected HELO, got ${JSON.stringify(helo)}`);
    const nonce = Buffer.from(helo[1].nonce);
    const salt = 'salt-' + Math.random().toString(36).slice(2);
    this.write(pack(['PING', clientHostname, salt, sha512Hex(salt, clientHostname, nonce, key), '', '']));
    const pong = (await this.next()) as unknown[];
    const serverProved = pong[4] === sha512Hex(salt, String(pong[3]), nonce, key);
    return { pong, serverProved };
  }

  close(): void {
    this.socket.destroy();
  }
}
