import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentRegistry } from './agents.ts';

test('the dedup window keeps the last N committed batch ids', () => {
  const registry = new AgentRegistry(10, 3);
  const a = registry.touch('t', 'agent-1');
  for (const id of ['1', '2', '3', '4']) a.commit(id);
  assert.equal(a.isCommitted('1'), false, 'the oldest fell out of the window');
  assert.ok(a.isCommitted('2') && a.isCommitted('3') && a.isCommitted('4'));
  assert.equal(registry.touch('t', 'agent-1'), a, 'same tenant and id, same state');
  assert.notEqual(registry.touch('u', 'agent-1'), a, 'agent ids are per tenant');
});

test('a batch being stored is visible to a resend until it settles', async () => {
  const a = new AgentRegistry(10, 8).touch('t', 'x');
  let settle!: (v: boolean) => void;
  const p = new Promise<boolean>((r) => (settle = r));
  a.track('7', p);
  assert.equal(a.inFlight('7'), p);
  settle(true);
  await p;
  await new Promise((r) => setImmediate(r));
  assert.equal(a.inFlight('7'), undefined);
});

test('the least recently seen agent is forgotten first, never one with an open stream', () => {
  const registry = new AgentRegistry(2, 8);
  const first = registry.touch('t', 'a', { hostname: 'h-a', version: '1.0' });
  first.streams = 1;
  registry.touch('t', 'b');
  registry.touch('t', 'c');
  assert.deepEqual(registry.list('t').map((s) => s.agent_id), ['a', 'c']);
  const [a] = registry.list('t');
  assert.equal(a?.hostname, 'h-a');
  assert.equal(a?.version, '1.0');
  assert.equal(a?.streams, 1);
  assert.deepEqual(registry.list('other'), []);
});
