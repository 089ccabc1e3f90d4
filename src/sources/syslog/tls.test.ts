/** Client certificate names → tenant: SAN entries first, then CN; quoted SAN values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certificateNames, tenantForCertificate } from './tls.ts';

test('names come from subjectAltName in order, then the subject CN', () => {
  const cert = { subject: { CN: 'web-1' } as never, subjectaltname: 'DNS:web-1.example.com, IP Address:10.0.0.5, email:ops@example.com, URI:spiffe://example/web' };
  assert.deepEqual(certificateNames(cert), ['web-1.example.com', '10.0.0.5', 'ops@example.com', 'spiffe://example/web', 'web-1']);
});

test('JSON-quoted SAN values (names with commas or quotes) are unquoted', () => {
  const cert = { subject: {} as never, subjectaltname: 'DNS:"a, b.example", DNS:plain.example' };
  assert.deepEqual(certificateNames(cert), ['a, b.example', 'plain.example']);
});

test('the first mapped name decides; unmapped certificates map to nothing', () => {
  const map = { 'db-1': 'globex', 'web-1.example.com': 'acme' };
  assert.equal(tenantForCertificate({ subject: { CN: 'db-1' } as never, subjectaltname: 'DNS:web-1.example.com' }, map), 'acme');
  assert.equal(tenantForCertificate({ subject: { CN: 'db-1' } as never, subjectaltname: '' }, map), 'globex');
  assert.equal(tenantForCertificate({ subject: { CN: 'nobody' } as never, subjectaltname: '' }, map), undefined);
  assert.equal(tenantForCertificate({ subject: { CN: 'constructor' } as never, subjectaltname: '' }, map), undefined, 'no prototype keys');
});
