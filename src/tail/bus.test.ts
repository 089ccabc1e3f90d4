import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRecord } from '../record/record.ts';
import { TailBus } from './bus.ts';

test('a subscriber whose filter throws is dropped and told; publish and the other subscribers go on', () => {
  const bus = new TailBus();
  const got: string[] = [];
  const failures: Error[] = [];
  bus.subscribe({
    tenant: 'acme',
    deliver: () => {
      throw new Error('filter failed');
    },
    onError: (err) => failures.push(err),
  });
  bus.subscribe({ tenant: 'acme', deliver: (records) => got.push(...records.map((r) => r.message)) });
  const batch = [newRecord({ tenant: 'acme', message: 'one' }, 1n)];
  assert.doesNotThrow(() => bus.publish(batch));
  assert.deepEqual(got, ['one']);
  assert.deepEqual(failures.map((e) => e.message), ['filter failed']);
  assert.equal(bus.subscribers('acme'), 1, 'the failed subscriber is unsubscribed');
  bus.publish([newRecord({ tenant: 'acme', message: 'two' }, 2n)]);
  assert.deepEqual(got, ['one', 'two']);
  assert.equal(failures.length, 1);
});
