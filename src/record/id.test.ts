import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordId, tsOfRecordId } from './id.ts';

const base = { ts: 1_700_000_000_000_000_000n, tenant: 't', host: 'h', unit: 'u', message: 'm' };

test('the same event has the same id; any identity field changes it', () => {
  assert.equal(recordId(base), recordId({ ...base }));
  for (const change of [{ ts: base.ts + 1n }, { tenant: 'x' }, { host: 'x' }, { unit: 'x' }, { message: 'x' }]) {
    assert.notEqual(recordId({ ...base, ...change }), recordId(base));
  }
});

test('ids are 32 hex digits and carry their timestamp', () => {
  const id = recordId(base);
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(tsOfRecordId(id), base.ts);
  assert.equal(tsOfRecordId('nope'), undefined);
});
