import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { jwtKeyPath } from './jwt.ts';
import { TokenStore, roleAllows, tokenFilePath } from './tokens.ts';

test('a created token verifies to its tenant and role; the file holds only a hash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-tok-'));
  const store = new TokenStore(dir);
  const { token, entry } = store.create({ tenant: 'acme', role: 'ingest' });
  assert.deepEqual(store.verify(token), { tenant: 'acme', role: 'ingest', tokenId: entry.id });
  const file = readFileSync(tokenFilePath(dir), 'utf8');
  assert.ok(!file.includes(token.split('_')[2]!), 'the secret is not stored');
});

test('wrong, malformed, revoked and expired tokens are refused with a reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-tok-'));
  const store = new TokenStore(dir);
  const { token, entry } = store.create({ tenant: 'acme', role: 'read', expiresMs: 60_000 });
  const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  assert.deepEqual(store.verify(tampered), { error: 'unknown or revoked token' });
  assert.deepEqual(store.verify('hello'), { error: 'malformed token' });
  assert.deepEqual(store.verify(token, Date.now() + 120_000), { error: 'token expired' });
  // Another process (the CLI) revokes it; this store notices by the file changing.
  new TokenStore(dir).revoke(entry.id);
  const later = new TokenStore(dir);
  assert.deepEqual(later.verify(token), { error: 'unknown or revoked token' });
});

test('roles: admin may do everything, the others only their own', () => {
  assert.ok(roleAllows('admin', 'read') && roleAllows('admin', 'ingest') && roleAllows('admin', 'admin'));
  assert.ok(roleAllows('ingest', 'ingest') && !roleAllows('ingest', 'read'));
  assert.ok(roleAllows('read', 'read') && !roleAllows('read', 'ingest') && !roleAllows('read', 'admin'));
});

test('JWTs: signed with the data directory key, checked for signature, expiry, revocation and agreement with their entry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-tok-'));
  const store = new TokenStore(dir);
  const { token, entry } = await store.createJwt({ tenant: 'acme', role: 'ingest', expiresMs: 3_600_000, name: 'agents' });
  assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(statSync(jwtKeyPath(dir)).mode & 0o777, 0o600, 'the private key is private');
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  assert.deepEqual([payload.tenant, payload.role, payload.jti, payload.iss], ['acme', 'ingest', entry.id, 'cairn']);
  assert.equal(payload.exp * 1000, Date.parse(entry.expires!));
  // A server started before the key existed (another process issued the token) accepts it too.
  assert.deepEqual(new TokenStore(dir).verify(token), { tenant: 'acme', role: 'ingest', tokenId: entry.id });
  assert.deepEqual(store.verify(token, Date.now() + 2 * 3_600_000), { error: 'token expired' });
  // Tampering: another role in the payload with the old signature; the signature of another key.
  const [h, , sig] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...payload, role: 'admin' })).toString('base64url');
  assert.deepEqual(store.verify(`${h}.${forged}.${sig}`), { error: 'unknown or revoked token' });
  const { privateKey } = generateKeyPairSync('ed25519');
  const foreign = await new SignJWT({ tenant: 'acme', role: 'ingest' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer('cairn').setJti(entry.id).setExpirationTime('1h').sign(privateKey);
  assert.deepEqual(store.verify(foreign), { error: 'unknown or revoked token' });
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.x`;
  assert.match((store.verify(none) as { error: string }).error, /algorithm none is not accepted/);
  // Revocation by jti (the CLI in another process).
  new TokenStore(dir).revoke(entry.id);
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(store.verify(token), { error: 'unknown or revoked token' });
  assert.ok(!readFileSync(tokenFilePath(dir), 'utf8').includes(token), 'the JWT itself is not stored');
});
