import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScratchBuffer } from './scratch.ts';

test('a scratch buffer is reused up to its limit; larger requests get their own', () => {
  const scratch = new ScratchBuffer(1 << 20);
  const a = scratch.take(1000);
  const b = scratch.take(5000);
  assert.equal(a.buffer, b.buffer, 'reused');
  assert.equal(b.length, 5000);
  const big = scratch.take(2 << 20);
  assert.equal(big.length, 2 << 20);
  assert.equal(scratch.take(10).buffer, a.buffer, 'the huge one was not kept');
  const grown = scratch.take(600 * 1024);
  assert.notEqual(grown.buffer, a.buffer);
  assert.equal(scratch.take(100).buffer, grown.buffer);
});
