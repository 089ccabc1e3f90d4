import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createHelo, sha512Hex, verifyPing } from './handshake.ts';
import { packr, unpackr } from './msgpack.ts';

const keys = [
  { key: 'alpha-secret', tenant: 'alpha' },
  { key: 'beta-secret', tenant: 'beta' },
];

test('HELO carries a 16-byte nonce, an empty auth salt and keepalive', () => {
  const { nonce, message } = createHelo();
  const [type, options] = unpackr.unpack(message) as [string, Record<string, unknown>];
  assert.equal(type, 'HELO');
  assert.equal(nonce.length, 16);
  assert.deepEqual(Buffer.from(options.nonce as Uint8Array), nonce);
  assert.equal((options.auth as Uint8Array).length, 0);
  assert.equal(options.keepalive, true);
  assert.notDeepEqual(createHelo().nonce, nonce);
});

test('digest is sha512_hex(salt + hostname + nonce + key), per the spec', () => {
  const expected = createHash('sha512').update('salt').update('client.example.com').update('nonce').update('key').digest('hex');
  assert.equal(sha512Hex('salt', 'client.example.com', Buffer.from('nonce'), 'key'), expected);
});

test('a PING proving a key gets its tenant and a PONG the client can verify', () => {
  const nonce = Buffer.from('0123456789abcdef');
  // Fluent Bit packs 16 random bytes as a msgpack str: they must not be decoded as UTF-8.
  const salt = Buffer.from([0xff, 0x00, 0xfe, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const digest = sha512Hex(salt, 'fluent-bit-host', nonce, 'beta-secret');
  const ping = Buffer.concat([
    Buffer.from([0x96, 0xa4]),
    Buffer.from('PING'),
    packr.pack('fluent-bit-host'),
    Buffer.from([0xa0 + 16]),
    salt,
    packr.pack(digest),
    packr.pack(''),
    packr.pack(''),
  ]);
  const result = verifyPing(ping, nonce, keys, 'cairn.example.com');
  assert.ok('tenant' in result);
  assert.equal(result.tenant, 'beta');
  const [type, ok, reason, host, serverDigest] = unpackr.unpack(result.pong) as unknown[];
  assert.deepEqual([type, ok, reason, host], ['PONG', true, '', 'cairn.example.com']);
  assert.equal(serverDigest, sha512Hex(salt, 'cairn.example.com', nonce, 'beta-secret'));
});

test('a wrong key, a wrong nonce or a malformed PING fails with PONG false and a reason', () => {
  const nonce = Buffer.from('nonce-nonce-nonc');
  const wrongKey = packr.pack(['PING', 'h', 'salt', sha512Hex('salt', 'h', nonce, 'nope'), '', '']);
  const r1 = verifyPing(wrongKey, nonce, keys, 'srv');
  assert.ok('failure' in r1);
  assert.deepEqual(unpackr.unpack(r1.pong), ['PONG', false, 'shared_key mismatch', 'srv', '']);
  const replayed = packr.pack(['PING', 'h', 'salt', sha512Hex('salt', 'h', Buffer.from('old-nonce'), 'alpha-secret'), '', '']);
  assert.ok('failure' in verifyPing(replayed, nonce, keys, 'srv'));
  assert.match((verifyPing(packr.pack(['tag', 1, {}]), nonce, keys, 'srv') as { failure: string }).failure, /PING/);
  assert.match((verifyPing(packr.pack(['PING', 1, 2, 3]), nonce, keys, 'srv') as { failure: string }).failure, /strings/);
  assert.match((verifyPing(packr.pack(['PONG', 'a', 'b', 'c']), nonce, keys, 'srv') as { failure: string }).failure, /expected PING/);
});
