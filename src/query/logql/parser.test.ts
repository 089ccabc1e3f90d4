import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogQL } from './parser.ts';
import { formatMetric, formatSelector } from './format.ts';
import { UnsupportedQueryError } from './ast.ts';
import { QueryParseError } from '../search.ts';

const format = (q: string) => {
  const ast = parseLogQL(q);
  return ast.kind === 'log' ? formatSelector(ast.selector) : formatMetric(ast.expr);
};

test('queries Grafana and logcli send parse, and format back to equivalent LogQL', () => {
  const queries: [string, string][] = [
    ['{service="api"}', '{service="api"}'],
    ['{service="api",host=~"web-.*"} |= "error" != `debug`', '{service="api", host=~"web-.*"} |= "error" != "debug"'],
    ['{a="b"} |~ `\\d+` or "x"', '{a="b"} |~ `\\d+` or "x"'],
    ['{a="b"} | json | status >= 500 and method="GET"', '{a="b"} | json | status>=500 and method="GET"'],
    ['{a="b"} | logfmt --strict | duration > 1.5s, size <= 20KB', '{a="b"} | logfmt --strict | duration>1.5s and size<=20KB'],
    ['{a="b"} | regexp `(?P<ip>\\S+) (?P<code>\\d+)` | code != "200"', '{a="b"} | regexp `(?P<ip>\\S+) (?P<code>\\d+)` | code!="200"'],
    ['{a="b"} | pattern "<ip> - <_> \\"<method> <uri>\\"" | method="GET"', '{a="b"} | pattern "<ip> - <_> \\"<method> <uri>\\"" | method="GET"'],
    ['{a="b"} | line_format "{{.host}} {{ .msg | upper }}"', '{a="b"} | line_format "{{.host}} {{ .msg | upper }}"'],
    ['{a="b"} | label_format svc=service, x="{{.host}}-1"', '{a="b"} | label_format svc=service, x="{{.host}}-1"'],
    ['{a="b"} | json | drop __error__, __error_details__', '{a="b"} | json | drop __error__, __error_details__'],
    ['{a="b"} | keep host, level="err" | decolorize', '{a="b"} | keep host, level="err" | decolorize'],
    ['count_over_time({a="b"}[5m])', 'count_over_time({a="b"} [5m])'],
    ['sum by (level, detected_level) (count_over_time({label="value"} | drop __error__[1s]))', 'sum by (level, detected_level) (count_over_time({label="value"} | drop __error__ [1s]))'],
    ['sum(rate({a="b"} |= "x" [1m])) by (host)', 'sum by (host) (rate({a="b"} |= "x" [1m]))'],
    ['topk(5, sum without (host) (bytes_over_time({a="b"}[1h])))', 'topk (5, sum without (host) (bytes_over_time({a="b"} [1h])))'],
    ['vector(1)+vector(1)', 'vector(1) + vector(1)'],
    ['sum(count_over_time({a="b"}[1m])) / 60 > bool 2', 'sum (count_over_time({a="b"} [1m])) / 60 > bool 2'],
    ['count_over_time({a="b"}[5m] |= "x")', 'count_over_time({a="b"} |= "x" [5m])'],
    ['{a="b"} # a comment\n |= "x"', '{a="b"} |= "x"'],
    ['{a="b"} |> "<_> error <_>"', '{a="b"} |> "<_> error <_>"'],
  ];
  for (const [q, want] of queries) {
    assert.equal(format(q), want, q);
    assert.equal(format(format(q)), want, `format is stable for ${q}`);
  }
});

test('precedence: * before +, ^ right-associative, comparisons last', () => {
  const e = parseLogQL('1 + 2 * 3 ^ 2 ^ 2 > 4');
  assert.equal(e.kind, 'metric');
  assert.equal(formatMetric(e.kind === 'metric' ? e.expr : (undefined as never)), '1 + 2 * 3 ^ 2 ^ 2 > 4');
  const ast = (parseLogQL('1 + 2 * 3') as { expr: { op: string; right: { op: string } } }).expr;
  assert.equal(ast.op, '+');
  assert.equal(ast.right.op, '*');
  const pow = (parseLogQL('2 ^ 3 ^ 2') as { expr: { op: string; left: { type: string }; right: { op: string } } }).expr;
  assert.equal(pow.left.type, 'number');
  assert.equal(pow.right.op, '^');
});

test('unsupported constructs are named', () => {
  const cases: [string, RegExp][] = [
    ['sum_over_time({a="b"} | unwrap x [5m])', /unsupported LogQL: sum_over_time/],
    ['{a="b"} | unwrap latency', /unsupported LogQL: unwrap/],
    ['count_over_time({a="b"}[5m] offset 1h)', /unsupported LogQL: offset/],
    ['count_over_time({a="b"}[5m]) and count_over_time({a="c"}[5m])', /unsupported LogQL: set operator "and"/],
    ['sum(count_over_time({a="b"}[5m])) / on(host) sum(count_over_time({a="c"}[5m]))', /vector matching "on"/],
    ['label_replace(count_over_time({a="b"}[5m]), "x", "$1", "a", "(.*)")', /unsupported LogQL: label_replace/],
    ['{a="b"} |= ip("10.0.0.0/8")', /ip\(\) line filter/],
    ['{a="b"} | line_format "{{range .x}}{{end}}"', /template \{\{range\}\}/],
    ['{a="b"} | unpack', /unsupported LogQL: unpack/],
  ];
  for (const [q, re] of cases) {
    assert.throws(() => parseLogQL(q), (err: unknown) => err instanceof UnsupportedQueryError && re.test(err.message), q);
  }
});

test('syntax errors give the position and what was expected', () => {
  const cases: [string, number, RegExp][] = [
    ['{a="b"', 6, /","|"}"/],
    ['{a=b}', 3, /quoted value/],
    ['{a="b"} | json |', 16, /parser/],
    ['count_over_time({a="b"})', 23, /"\["/],
    ['count_over_time({a="b"}[5x])', 24, /range/],
    ['{a=~"("}', 4, /RE2/],
    ['sum by (a (count_over_time({a="b"}[1m]))', 10, /"\)"/],
    ['{a="b"} | status > "x"', 19, /number, duration or size/],
    ['', 0, /stream selector/],
    ['{a="$x"} |= $var', 12, /variable/],
  ];
  for (const [q, pos, re] of cases) {
    assert.throws(
      () => parseLogQL(q),
      (err: unknown) => err instanceof QueryParseError && err.position === pos && re.test(err.expected),
      `${q}: ${(() => {
        try {
          parseLogQL(q);
          return 'no error';
        } catch (e) {
          return `${(e as Error).message} (${(e as QueryParseError).position})`;
        }
      })()}`,
    );
  }
});

test('deep nesting and long operator chains are refused with a position, not a stack overflow', () => {
  const deep = '('.repeat(10_000) + '1' + ')'.repeat(10_000);
  const signs = '-'.repeat(10_000) + '1';
  const chain = Array.from({ length: 10_000 }, () => '1').join(' + ');
  const filters = '{job="a"} | ' + Array.from({ length: 10_000 }, (_, i) => `x${i}="1"`).join(' and ');
  const parens = '{job="a"} | ' + '('.repeat(10_000) + 'x="1"' + ')'.repeat(10_000);
  for (const q of [deep, signs, chain, filters, parens]) {
    assert.throws(() => parseLogQL(q), (err: unknown) => err instanceof QueryParseError && /nested too deeply|more than 512 operators/.test(err.message), q.slice(0, 40));
  }
  assert.doesNotThrow(() => parseLogQL('((((1))))'));
});
