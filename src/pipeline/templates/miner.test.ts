import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TemplateMiner } from './miner.ts';

const textOf = (miner: TemplateMiner, message: string) => miner.mine(message).current().text;

test('lines that differ only in masked values share a template', () => {
  const m = new TemplateMiner();
  const a = m.mine('PacketResponder 1 for block blk_38865049064139660 terminating');
  const b = m.mine('PacketResponder 0 for block blk_-6952295868487656571 terminating');
  assert.equal(a, b);
  assert.equal(a.text, 'PacketResponder <*> for block <*> terminating');
  assert.equal(a.count, 2);
  assert.equal(a.example, 'PacketResponder 1 for block blk_38865049064139660 terminating');
});

test('different words are different templates until enough siblings make the position a variable', () => {
  const m = new TemplateMiner({ siblingValues: 4 });
  const ids = ['NEW to UNASSIGNED', 'UNASSIGNED to ASSIGNED', 'ASSIGNED to RUNNING'].map((s) => m.mine(`attempt_1 TaskAttempt Transitioned from ${s}`).id);
  assert.equal(new Set(ids).size, 3);
  const users = ['root', 'admin', 'oracle'].map((u) => m.mine(`Invalid user ${u} from 10.0.0.1`));
  assert.equal(new Set(users.map((t) => t.id)).size, 3);
  const fourth = m.mine('Invalid user test from 10.0.0.2');
  assert.equal(fourth.text, 'Invalid user <*> from <*>');
  for (const t of users) assert.equal(t.current(), fourth);
  assert.equal(fourth.id, users[0]!.id, 'the merged template keeps the id of its largest (then oldest) part');
  assert.equal(fourth.count, 4);
  assert.equal(m.mine('Invalid user webmaster from 10.0.0.3'), fourth);
});

test('the first token is never made a variable by siblings (it names the event)', () => {
  const m = new TemplateMiner({ siblingValues: 2 });
  const a = m.mine('syslogd startup succeeded');
  const b = m.mine('klogd startup succeeded');
  assert.notEqual(a.current(), b.current());
  assert.equal(textOf(m, 'cupsd startup succeeded'), 'cupsd startup succeeded');
});

test('a word where another line had a variable is a variable (compatibility)', () => {
  const m = new TemplateMiner();
  const ip = m.mine('authentication failure; rhost=218.188.2.4 user=root');
  const host = m.mine('authentication failure; rhost=csnsu.nsuok.edu user=root');
  assert.equal(host, ip);
  assert.equal(ip.text, 'authentication failure; rhost=<*> user=root');
  // The other way round: the word came first, the template widens and keeps its id.
  const n = new TemplateMiner();
  const word = n.mine('Failed none for invalid user admin from 1.2.3.4');
  const widened = n.mine('Failed none for invalid user 0 from 1.2.3.5');
  assert.equal(widened, word);
  assert.equal(word.text, 'Failed none for invalid user <*> from <*>');
});

test('templates of different shapes (separators, token counts) never merge', () => {
  const m = new TemplateMiner();
  assert.notEqual(m.mine('Received disconnect from 1.2.3.4: 11: Bye'), m.mine('Received disconnect from 1.2.3.4, 11: Bye'));
  assert.notEqual(m.mine('job 1 done'), m.mine('job 1 done now'));
});

test('ids are a hash of the first text: the same input gives the same ids in any miner', () => {
  const lines = ['open file 1', 'close file 2', 'open file 3', 'user a in', 'user b in', 'user c in', 'user d in'];
  const ids = (m: TemplateMiner) => lines.map((l) => m.mine(l).current().id);
  assert.deepEqual(ids(new TemplateMiner()), ids(new TemplateMiner()));
  const m = new TemplateMiner();
  const first = m.mine('open file 1');
  assert.match(first.id, /^[0-9a-f]{16}$/);
});

test('merged ids resolve to the template they were merged into', () => {
  const m = new TemplateMiner();
  const alice = m.mine('user alice from host');
  m.mine('user alice from host');
  const bob = m.mine('user bob from host');
  assert.notEqual(alice, bob);
  const numeric = m.mine('user 5 from host');
  assert.equal(numeric, alice, 'the larger template keeps its id');
  assert.equal(alice.text, 'user <*> from host');
  assert.equal(bob.current(), alice);
  assert.equal(m.resolveId(bob.id), alice.id);
  assert.equal(m.get(bob.id), alice);
  assert.equal(m.get('0000000000000000'), undefined);
});

/** Distinct letter-only words: a, b, ..., z, ba, bb, ... */
const word = (i: number): string => (i < 26 ? '' : word(Math.floor(i / 26))) + String.fromCharCode(97 + (i % 26));

test('at most maxTemplates live templates; the least recently seen are evicted and counted', () => {
  const m = new TemplateMiner({ maxTemplates: 100 });
  const keep = m.mine('heartbeat from the keeper');
  for (let i = 0; i < 1000; i++) {
    // The first token names the event, so each of these is a template of its own.
    m.mine(`${word(i)} happened`);
    if (i % 50 === 0) m.mine('heartbeat from the keeper');
  }
  assert.ok(m.size <= 100);
  assert.ok(m.evictions >= 900);
  assert.equal(m.get(keep.id), keep, 'a template seen recently is kept');
  assert.equal(m.mine('heartbeat from the keeper').count, 22);
});

test('messages are mined on their first maxMessageChars characters', () => {
  const m = new TemplateMiner({ maxMessageChars: 20 });
  const a = m.mine('stack trace follows: ' + 'x'.repeat(10_000));
  const b = m.mine('stack trace follows: ' + 'y'.repeat(10_000));
  assert.equal(a, b);
  assert.equal(a.example.length, 20);
});

test('a template of a long message does not keep the whole message alive', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const m = new TemplateMiner({ maxMessageChars: 100 });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 200; i++) {
    // A flat 512 KiB string per line, each line its own template (the first word differs).
    const line = JSON.parse(JSON.stringify(`${word(i)} ${'x'.repeat(50)} ${'y'.repeat(512 * 1024)}`)) as string;
    m.mine(line);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(m.size, 200);
  assert.ok(grown < 20 * 1024 * 1024, `heap grew by ${Math.round(grown / 1048576)} MiB for 200 templates`);
});

test('first and last seen follow the event times', () => {
  const m = new TemplateMiner();
  m.mine('tick 1', 200n);
  m.mine('tick 2', 100n);
  const t = m.mine('tick 3', 300n);
  assert.equal(t.firstSeen, 100n);
  assert.equal(t.lastSeen, 300n);
});

test('a snapshot restores templates, counts, ids and aliases; mining continues where it left off', () => {
  const m = new TemplateMiner({ siblingValues: 2 });
  m.mine('user alice logged in', 5n);
  m.mine('user bob logged in', 6n);
  const before = m.mine('disk 1 full', 7n);
  const snapshot = JSON.parse(JSON.stringify(m.snapshot()));
  const n = new TemplateMiner({ siblingValues: 2 });
  n.restore(snapshot);
  assert.deepEqual(n.snapshot(), m.snapshot());
  const again = n.mine('disk 2 full', 8n);
  assert.equal(again.id, before.id);
  assert.equal(again.count, 2);
  assert.equal(n.mine('user carol logged in').text, 'user <*> logged in');
  assert.equal(n.resolveId(m.snapshot().aliases[0]![0]), m.snapshot().aliases[0]![1]);
});

test('the exact-message cache keeps lines seen twice, not every unique line', () => {
  const miner = new TemplateMiner();
  const unique = Array.from({ length: 5000 }, (_, i) => `request ${i} served in ${i % 97} ms from cache node-${i % 13}`);
  const first = unique.map((line) => miner.mine(line).id);
  // Hash collisions in the doorkeeper may admit a few early; unique lines are not kept.
  assert.ok(miner.exactCached < 50, `unique lines cached: ${miner.exactCached}`);
  const again = unique.map((line) => miner.mine(line).id);
  assert.equal(miner.exactCached, unique.length, 'a line seen twice is cached');
  // Answered from the exact cache, the same templates (all merged into one by now).
  assert.deepEqual(new Set(again).size, 1);
  assert.equal(miner.get(first[0]!)!.id, again[0]);
});
