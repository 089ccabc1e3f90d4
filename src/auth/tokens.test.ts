import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
