import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRecord, type LogRecord } from '../../record/record.ts';
import { parseLogSelector } from './parser.ts';
import { Pipeline } from './pipeline.ts';
import { compilePattern, parseLogfmt, parseJsonLine } from './parsers.ts';
import { compileTemplate } from './template.ts';
import { labelPaths, structuredMetadata } from '../labels.ts';
import { compileJsRegex, captureGroups, re2ForStore } from '../regex.ts';

const rec = (over: Partial<LogRecord> & { message: string }) => newRecord({ host: 'web-1', service: 'api', severity: 3, ...over }, 1_700_000_000_000_000_000n);
const run = (q: string, r: LogRecord) => new Pipeline(parseLogSelector(q)).process(r);

test('parsers: json flattening and raw numbers, logfmt quoting, pattern literals', () => {
  assert.deepEqual(parseJsonLine('{"a":{"b":1.50,"c":[1]},"d-e":true,"n":null,"s":"x"}'), [['a_b', '1.50'], ['d_e', 'true'], ['s', 'x']]);
  assert.equal(parseJsonLine('[1]'), null);
  assert.equal(parseJsonLine('not json'), null);
  assert.deepEqual(parseLogfmt('a=1 b="two words" c= d e="q\\"x"', false), [['a', '1'], ['b', 'two words'], ['c', ''], ['d', ''], ['e', 'q"x']]);
  assert.equal(parseLogfmt('a="open', true), null);
  const p = compilePattern('<ip> - [<_>] "<method> <path>"');
  assert.deepEqual(p.match('10.0.0.1 - [x y] "GET /a"'), [['ip', '10.0.0.1'], ['method', 'GET'], ['path', '/a']]);
  assert.equal(p.match('10.0.0.1 [x]'), null);
  assert.throws(() => compilePattern('<a><b>'), /separated/);
});

test('a parser never overrides a stream label; its value becomes <name>_extracted', () => {
  const r = rec({ message: '{"host":"from-line","service":"","level":"x","tier":"line"}', attrs: { tier: 'meta' } });
  const out = run('{service="api"} | json', r)!;
  assert.equal(out.labels.get('host'), 'web-1');
  assert.equal(out.labels.get('host_extracted'), 'from-line');
  assert.equal(out.labels.get('tier'), 'line', 'parsed labels override structured metadata');
  assert.deepEqual(out.labels.streamPart().host, 'web-1');
  assert.equal(run('{host=""} | json', rec({ message: '{"host":"h"}', host: '' }))!.labels.get('host'), 'h', 'an empty stream label can be filled');
});

test('label filters: strings, numbers, durations, sizes; non-numbers drop the line', () => {
  const r = rec({ message: 'status=503 took=1.5s size=2KiB name=Alice' });
  const keep = (f: string) => run(`{service="api"} | logfmt | ${f}`, r) !== null;
  assert.ok(keep('status >= 500 and status < 600'));
  assert.ok(keep('took > 1s, took < 2000ms'));
  assert.ok(keep('size > 2KB') && !keep('size > 2KiB'));
  assert.ok(keep('name =~ "A.*" or name = "x"'));
  assert.ok(!keep('name =~ "li"'), 'label regexes match the whole value');
  assert.ok(!keep('name > 3'), 'a non-number fails a numeric filter');
  assert.ok(keep('missing = ""'));
  assert.ok(keep('(status = 503 or status = 1) status != 200'));
});

test('formats: line_format, label_format, drop, keep, decolorize', () => {
  const r = rec({ message: '\u001b[31merror\u001b[0m method=GET path=/a', attrs: { http: { status: 500 } } });
  const out = run('{service="api"} | decolorize | logfmt | line_format "{{.method | lower}} {{.path}} {{.http_status}}" | label_format verb=method, st="{{.http_status}}x" | drop host | keep verb, st, service', r)!;
  assert.equal(out.line, 'get /a 500');
  assert.deepEqual(out.labels.allLabels(), { service: 'api', verb: 'GET', st: '500x' });
  assert.equal(run('{service="api"} | line_format "{{.service}}" |= "api"', rec({ message: 'x' }))!.line, 'api');
});

test('templates: functions, if/else, trimming; unsupported constructs are named', () => {
  const t = compileTemplate('{{- if .a -}} A={{ .a | upper | printf "%s!" }} {{- else }}none{{ end }} {{ default "d" .b }} {{ replace "x" "y" .c }}');
  const labels = { a: 'v', c: 'xox' } as Record<string, string>;
  assert.equal(t.render({ labels: (n) => labels[n] ?? '', line: '', tsNs: 0n }), 'A=V! d yoy');
  assert.throws(() => compileTemplate('{{ range .x }}{{ end }}'), /template \{\{range\}\}/);
  assert.throws(() => compileTemplate('{{ nosuchfn .x }}'), /template function nosuchfn/);
});

test('structured metadata names: flattening and the readings of "_"', () => {
  assert.deepEqual(labelPaths('http_status'), [['http_status'], ['http', 'status'], ['http.status']]);
  assert.equal(labelPaths('a_b_c_d_e').length, 3);
  const r = rec({ message: 'x', trace_id: 't1', attrs: { 'http.status': 200, user: { id: 7, tags: ['a'] }, empty: '' } });
  assert.deepEqual(structuredMetadata(r), { trace_id: 't1', http_status: '200', user_id: '7', user_tags: '["a"]' });
  assert.equal(run('{http_status="200", user_id="7"}', r) !== null, true);
});

test('RE2 spellings map to JavaScript; groups are numbered the same way', () => {
  assert.ok(compileJsRegex('(?i)ERROR').test('error'));
  assert.ok(compileJsRegex('(?s)a.b').test('a\nb'));
  assert.ok(compileJsRegex('(?P<x>a)\\z').test('a'));
  assert.deepEqual(captureGroups('(a)(?:b)(?P<n>c)[(](?<m>d)'), [undefined, 'n', 'm']);
  assert.equal(re2ForStore('(?<m>d)'), '(?P<m>d)');
  // Inline flag groups are RE2 (and DuckDB) syntax; they run on the RE2 engine.
  assert.ok(compileJsRegex('a(?i:b)').test('aB'));
});

test('a template that fails on a line marks it TemplateFormatErr and keeps it, as Loki does', () => {
  const bad = rec({ message: 'bad %zz escape', attrs: { q: '%zz' } });
  const out = run('{service="api"} | line_format "{{ __line__ | urldecode }}"', bad)!;
  assert.equal(out.line, 'bad %zz escape', 'the line is unchanged');
  assert.equal(out.labels.get('__error__'), 'TemplateFormatErr');
  assert.match(out.labels.get('__error_details__'), /URI/);
  const labelled = run('{service="api"} | label_format d="{{ .q | urldecode }}", ok="{{ .service }}"', bad)!;
  assert.equal(labelled.labels.get('__error__'), 'TemplateFormatErr');
  assert.equal(labelled.labels.get('d'), '', 'the failed label is not set');
  assert.equal(labelled.labels.get('ok'), 'api', 'the other labels are');
  assert.equal(run('{service="api"} | line_format "{{ __line__ | urldecode }}" | __error__=""', bad), null, 'and can be filtered out');
});

test('template output is bounded: a function cannot blow a line up to gigabytes', () => {
  const line = rec({ message: 'x'.repeat(1000) });
  for (const q of [
    '{service="api"} | line_format "{{ __line__ | repeat 100000000 }}"',
    '{service="api"} | line_format "{{ alignLeft 900000000 __line__ }}"',
    '{service="api"} | line_format "{{ alignRight 900000000 __line__ }}"',
    `{service="api"} | line_format "{{ replace \\"x\\" \\"${'y'.repeat(2000)}\\" __line__ }}"`,
    `{service="api"} | line_format "${'{{ __line__ | repeat 1000 }}'.repeat(40)}"`,
  ]) {
    const out = run(q, line)!;
    assert.equal(out.labels.get('__error__'), 'TemplateFormatErr', q.slice(0, 80));
    assert.match(out.labels.get('__error_details__'), /too long/);
    assert.equal(out.line, line.message);
  }
  assert.equal(run('{service="api"} | line_format "{{ __line__ | repeat 3 }}"', rec({ message: 'ab' }))!.line, 'ababab');
});
