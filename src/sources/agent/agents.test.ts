import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentRegistry, SeqWindow } from './agents.ts';

test('the dedup window keeps the last N committed batch ids', () => {
  const registry = new AgentRegistry(10, 3, 1000);
  const a = registry.touch('t', 'agent-1');
  for (const id of ['1', '2', '3', '4']) a.commit(id);
  assert.equal(a.isCommitted('1'), false, 'the oldest fell out of the window');
  assert.ok(a.isCommitted('2') && a.isCommitted('3') && a.isCommitted('4'));
  assert.equal(registry.touch('t', 'agent-1'), a, 'same tenant and id, same state');
  assert.notEqual(registry.touch('u', 'agent-1'), a, 'agent ids are per tenant');
});

test('a batch being stored is visible to a resend until it settles', async () => {
  const a = new AgentRegistry(10, 8, 1000).touch('t', 'x');
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
  const registry = new AgentRegistry(2, 8, 1000);
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

test('the record window keeps committed seqs as merged intervals and forgets those below the window', () => {
  const w = new SeqWindow(1000);
  w.add(10, 19);
  w.add(30, 39);
  assert.equal(w.intervals, 2);
  assert.deepEqual([9, 10, 19, 20, 29, 30, 39, 40].map((s) => w.has(s)), [false, true, true, false, false, true, true, false]);
  w.add(20, 29);
  assert.equal(w.intervals, 1, 'adjacent intervals merge');
  w.addAll([45, 41, 40, 42, 50]);
  assert.deepEqual([40, 42, 43, 45, 46, 50].map((s) => w.has(s)), [true, true, false, true, false, true]);
  w.add(3990, 4020);
  w.add(5000, 5009);
  assert.equal(w.has(10), false, 'more than the window below the highest seq is forgotten');
  assert.equal(w.has(4009), true, 'what is inside the window is kept, trimmed to its floor');
  assert.equal(w.has(4008), false);
  const many = new SeqWindow(1e9, 4);
  for (let i = 0; i < 10; i++) many.add(i * 10, i * 10);
  assert.equal(many.intervals, 4, 'at most maxIntervals intervals, the oldest go first');
  assert.equal(many.has(0), false);
  assert.equal(many.has(90), true);
});
