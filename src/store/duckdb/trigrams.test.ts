import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrigramBloom, mayMatch, usesTrigrams } from './trigrams.ts';
import { parseSearch } from '../../query/search.ts';

test('never a false negative: every substring of added text may be contained, in any case', () => {
  const b = new TrigramBloom();
  const lines = ['Connection reset by peer 10.0.0.1:443', 'PacketResponder 1 for block blk_38865049064139660 terminating', 'Ünïcödé µs latency=12ms'];
  for (const l of lines) b.add(l);
  for (const l of lines) {
    for (let i = 0; i < l.length; i++) {
      for (let j = i + 1; j <= l.length; j++) {
        const s = l.slice(i, j);
        assert.ok(b.mayContain(s), s);
        assert.ok(b.mayContain(s.toUpperCase()) || /[^\x00-\x7f]/.test(s), s.toUpperCase());
      }
    }
  }
});

test('prunes needles that were never added', () => {
  const b = new TrigramBloom();
  for (let i = 0; i < 20000; i++) b.add(`request ${i} handled in ${i % 97}ms by worker-${i % 13}`);
  assert.equal(b.mayContain('zq7needle4k'), false);
  assert.equal(b.mayContain('timeout'), false);
  assert.equal(b.mayContain('handled'), true);
  assert.equal(b.mayContain('ab'), true, 'shorter than a trigram: cannot prune');
});

test('OR of filters contains both', () => {
  const a = new TrigramBloom();
  const b = new TrigramBloom();
  a.add('alpha beta');
  b.add('gamma delta');
  a.or(b);
  assert.ok(a.mayContain('alpha') && a.mayContain('delta'));
});

test('queries: AND needs every needle, OR any, negation and fields never prune', () => {
  const b = new TrigramBloom();
  b.add('disk full on /var');
  assert.equal(mayMatch(parseSearch('disk full'), b), true);
  assert.equal(mayMatch(parseSearch('disk timeout'), b), false);
  assert.equal(mayMatch(parseSearch('timeout OR disk'), b), true);
  assert.equal(mayMatch(parseSearch('timeout OR oops'), b), false);
  assert.equal(mayMatch(parseSearch('-timeout'), b), true);
  assert.equal(mayMatch(parseSearch('host:timeout'), b), true);
  assert.equal(mayMatch(parseSearch('"full on /var"'), b), true);
  assert.equal(usesTrigrams(parseSearch('host:web-1')), false);
  assert.equal(usesTrigrams(parseSearch('host:web-1 timeout')), true);
  assert.equal(usesTrigrams(parseSearch('timeout OR host:x')), false);
});
