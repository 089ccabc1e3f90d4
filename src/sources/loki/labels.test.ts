import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelSyntaxError, parseLabels } from './labels.ts';

test('Prometheus label text as Promtail and Alloy write it', () => {
  assert.deepEqual({ ...parseLabels('{job="varlogs", host="web-1"}', 10) }, { job: 'varlogs', host: 'web-1' });
  assert.deepEqual({ ...parseLabels('{}', 10) }, {});
  assert.deepEqual({ ...parseLabels(' { a = "1" ,b="2", } ', 10) }, { a: '1', b: '2' });
  assert.deepEqual({ ...parseLabels('{k8s.ns="x"}', 10) }, { 'k8s.ns': 'x' });
});

test('values are unquoted the way Go quotes them', () => {
  const labels = parseLabels(String.raw`{a="say \"hi\"\n\ttab\\", b="\x41\u00e9\U0001F600\101", c="é"}`, 10);
  assert.equal(labels.a, 'say "hi"\n\ttab\\');
  assert.equal(labels.b, 'Aé😀A');
  assert.equal(labels.c, 'é');
});

test('malformed label text names the problem and its offset', () => {
  const cases: [string, RegExp][] = [
    ['job="x"', /expected "\{" at offset 0/],
    ['{job="x"', /expected "," or "\}"/],
    ['{job=x}', /expected a quoted value/],
    ['{9job="x"}', /expected a label name/],
    ['{job="x} ', /unterminated value/],
    ['{job="\\q"}', /unknown escape \\q/],
    ['{job="\\x4"}', /bad \\x escape/],
    ['{job="x"} trailing', /unexpected text after/],
    ['', /expected "\{"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseLabels(text, 10), (err: Error) => err instanceof LabelSyntaxError && message.test(err.message), text);
  }
});

test('the label count is limited', () => {
  assert.throws(() => parseLabels('{a="1", b="2", c="3"}', 2), /more than 2 labels/);
});
