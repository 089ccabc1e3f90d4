/**
 * The forward protocol's handshake (spec v1, "Handshake Messages"): the server
 * sends HELO with a fresh nonce, the client proves a shared key in PING, the
 * server answers PONG with its own proof. The key a client proves decides its
 * tenant, so one listener serves many tenants. User authorization (HELO's
 * `auth` salt) is not used: the salt is empty and PING's username/password
 * are ignored, as the spec allows.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { packr, readArrayHeader, readRaw } from './msgpack.ts';

export interface SharedKey {
  key: string;
  tenant: string;
}

export function sha512Hex(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha512');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}

/** ["HELO", {nonce, auth, keepalive}] with a new 16-byte nonce (sent as bin). */
export function createHelo(): { nonce: Buffer; message: Buffer } {
  const nonce = randomBytes(16);
  return { nonce, message: packr.pack(['HELO', { nonce, auth: Buffer.alloc(0), keepalive: true }]) };
}

export type PingResult = { tenant: string; pong: Buffer } | { failure: string; pong: Buffer };

function pong(ok: boolean, reason: string, selfHostname: string, digest: string): Buffer {
  return packr.pack(['PONG', ok, reason, selfHostname, digest]);
}

/**
 * Checks a PING message (the whole msgpack frame) against every configured
 * key. Its strings are read as raw bytes: Fluent Bit's salt is random bytes in
 * a msgpack str.
 */
export function verifyPing(frame: Buffer, nonce: Buffer, keys: readonly SharedKey[], selfHostname: string): PingResult {
  const fail = (failure: string): PingResult => ({ failure, pong: pong(false, failure, selfHostname, '') });
  const header = readArrayHeader(frame, 0);
  if (!header || header.count < 4) return fail('expected a PING message ["PING", hostname, salt, digest, username, password]');
  const fields: Buffer[] = [];
  let pos = header.next;
  for (let i = 0; i < 4; i++) {
    const raw = readRaw(frame, pos);
    if (!raw) return fail('expected a PING message: its first four elements are strings');
    fields.push(raw.bytes);
    pos = raw.next;
  }
  const [type, clientHostname, salt, digest] = fields as [Buffer, Buffer, Buffer, Buffer];
  if (type.toString('latin1') !== 'PING') return fail(`expected PING, got ${JSON.stringify(type.toString('utf8').slice(0, 20))}`);
  const claimed = digest.toString('latin1').toLowerCase();
  for (const k of keys) {
    const expected = Buffer.from(sha512Hex(salt, clientHostname, nonce, k.key), 'latin1');
    const given = Buffer.from(claimed, 'latin1');
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      return { tenant: k.tenant, pong: pong(true, '', selfHostname, sha512Hex(salt, selfHostname, nonce, k.key)) };
    }
  }
  return fail('shared_key mismatch');
}
