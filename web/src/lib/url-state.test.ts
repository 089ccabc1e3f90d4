import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STATE, formatUrl, parseUrl, switchView, type AppState } from './url-state.ts';

test('/?q= opens Explore on the query over the default range', () => {
  assert.deepEqual(parseUrl('/', '?q=timeout'), { ...DEFAULT_STATE, q: 'timeout' });
});

test('every view round-trips through the URL', () => {
  const states: AppState[] = [
    { ...DEFAULT_STATE, q: 'service:api level>=warning "a b" &x=1#frag', from: 'now-6h', to: 'now', sel: '0123abcd' },
    { ...DEFAULT_STATE, from: '2026-01-05T10:00:00.000Z', to: '2026-01-05T11:00:00.000Z' },
    { ...DEFAULT_STATE, view: 'live', q: 'host:web-1' },
    { ...DEFAULT_STATE, view: 'patterns', q: 'service:api', from: 'now-24h' },
    { ...DEFAULT_STATE, view: 'related', id: 'ff'.repeat(16), window: 30 },
    { ...DEFAULT_STATE, view: 'system' },
  ];
  for (const s of states) {
    const url = new URL(formatUrl(s), 'http://x');
    assert.deepEqual(parseUrl(url.pathname, url.search), s, formatUrl(s));
  }
});

test('defaults are left out of the URL', () => {
  assert.equal(formatUrl(DEFAULT_STATE), '/');
  assert.equal(formatUrl({ ...DEFAULT_STATE, view: 'live' }), '/live');
  assert.equal(formatUrl({ ...DEFAULT_STATE, q: 'a b' }), '/?q=a+b');
});

test('parameters a view does not have are dropped', () => {
  assert.deepEqual(parseUrl('/system', '?q=x&from=now-1d'), { ...DEFAULT_STATE, view: 'system' });
  assert.equal(formatUrl({ ...DEFAULT_STATE, view: 'live', q: 'x', from: 'now-1d', sel: 'abc' }), '/live?q=x');
});

test('unknown paths and bad windows fall back to defaults; trailing slashes are ignored', () => {
  assert.equal(parseUrl('/nope', '').view, 'explore');
  assert.equal(parseUrl('/patterns/', '').view, 'patterns');
  assert.equal(parseUrl('/related', '?id=a&window=-4').window, 0);
  assert.equal(parseUrl('/related', '?id=a&window=x').window, 0);
});

test('switching views keeps the query and range where the view has them', () => {
  const explore: AppState = { ...DEFAULT_STATE, q: 'x', from: 'now-6h', sel: 'abc' };
  assert.deepEqual(switchView(explore, 'patterns'), { ...DEFAULT_STATE, view: 'patterns', q: 'x', from: 'now-6h' });
  assert.deepEqual(switchView(explore, 'live'), { ...DEFAULT_STATE, view: 'live', q: 'x' });
  assert.deepEqual(switchView(switchView(explore, 'patterns'), 'explore'), { ...DEFAULT_STATE, q: 'x', from: 'now-6h' });
});
