import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStage, record } from '../../../test/helpers/pipeline.ts';
import { StageConfigError } from '../options.ts';

const redact = async (message: string, options: Record<string, unknown> = {}) => {
  const { run } = buildStage('r', { type: 'redact', ...options });
  const [r] = await run([record(message)]);
  return r!;
};

test('each built-in rule masks what it is for and leaves look-alikes', async () => {
  const cases: [string, string, string[]][] = [
    ['mail alice.b+x@example.co.uk now', 'mail [REDACTED:email] now', ['email']],
    ['from 203.0.113.9:22 and 10.0.0.1.', 'from [REDACTED:ipv4]:22 and [REDACTED:ipv4].', ['ipv4']],
    ['version 1.2.3.4.5 and 999.1.1.1 stay', 'version 1.2.3.4.5 and 999.1.1.1 stay', []],
    ['peer 2001:db8::8a2e:370:7334 and ::ffff:192.0.2.1.', 'peer [REDACTED:ipv6] and [REDACTED:ipv6].', ['ipv6']],
    ['at 12:34:56 mac 00:1a:2b:3c:4d:5e', 'at 12:34:56 mac 00:1a:2b:3c:4d:5e', []],
    ['card 4111 1111 1111 1111 ok', 'card [REDACTED:credit_card] ok', ['credit_card']],
    ['card 4111-1111-1111-1112 fails Luhn, order 1234567890123 has no issuer prefix', 'card 4111-1111-1111-1112 fails Luhn, order 1234567890123 has no issuer prefix', []],
    ['Authorization: Bearer abc.DEF-123_xyz~', 'Authorization: Bearer [REDACTED:bearer]', ['bearer']],
    ['key AKIAIOSFODNN7EXAMPLE used', 'key [REDACTED:aws_key] used', ['aws_key']],
    ['token ghp_' + 'a'.repeat(36) + ' leaked', 'token [REDACTED:github_token] leaked', ['github_token']],
    ['slack xoxb-1234567890-abcdef', 'slack [REDACTED:slack_token]', ['slack_token']],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'jwt [REDACTED:jwt]', ['jwt']],
    ['login password=hunter2 user=bob', 'login password=[REDACTED:secret_value] user=bob', ['secret_value']],
    ['{"api_key": "s3cr3t-value"}', '{"api_key": "[REDACTED:secret_value]"}', ['secret_value']],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- done', '[REDACTED:private_key] done', ['private_key']],
  ];
  for (const [input, want, fired] of cases) {
    const r = await redact(input);
    assert.equal(r.message, want, input);
    assert.deepEqual(r.attrs.redacted ?? [], fired, input);
  }
});

test('message, raw and every text in attrs (nested, arrays) are masked; other fields are not', async () => {
  const { run } = buildStage('r', { type: 'redact' });
  const [r] = await run([
    record('user bob@example.com logged in', {
      raw: '<13>host app: user bob@example.com logged in',
      attrs: { client: { ip: '198.51.100.4', history: ['10.1.1.1', { note: 'mail eve@example.org' }] }, count: 3 },
    }),
  ]);
  assert.equal(r!.message, 'user [REDACTED:email] logged in');
  assert.equal(r!.raw, '<13>host app: user [REDACTED:email] logged in');
  assert.deepEqual(r!.attrs.client, { ip: '[REDACTED:ipv4]', history: ['[REDACTED:ipv4]', { note: 'mail [REDACTED:email]' }] });
  assert.equal(r!.attrs.count, 3);
  assert.deepEqual(r!.attrs.redacted, ['email', 'ipv4']);
  assert.equal(r!.host, 'web-1');
});

test('rule selection, custom regexes (RE2 syntax), mask and fields options', async () => {
  const r = await redact('patient MRN-123456 mailed bob@example.com from 10.0.0.1', {
    rules: ['email'],
    custom: [{ name: 'mrn', regex: 'mrn-\\d{6}', ignore_case: true }],
    mask: '***',
    mark: false,
  });
  assert.equal(r.message, 'patient *** mailed *** from 10.0.0.1');
  assert.equal(r.attrs.redacted, undefined);
  const only = await redact('bob@example.com', { fields: 'attrs' });
  assert.equal(only.message, 'bob@example.com');
});

test('option errors name the key; a custom regex needing backtracking is refused', () => {
  const problems = (options: Record<string, unknown>) => {
    try {
      buildStage('r', { type: 'redact', ...options });
    } catch (err) {
      assert.ok(err instanceof StageConfigError);
      return err.problems.map((p) => `${p.key}: ${p.message}`);
    }
    assert.fail('expected a StageConfigError');
  };
  assert.match(problems({ rules: ['email', 'ssn'] })[0]!, /^rules\.1: unknown rule "ssn"/);
  assert.match(problems({ custom: [{ name: 'x', regex: '(\\w+)\\1' }] })[0]!, /^custom\.0\.regex: .*needs backtracking/);
  assert.match(problems({ custom: [{ name: 'X y', regex: 'a' }] })[0]!, /^custom\.0\.name: /);
});

test('a record the stage fails on is kept with its text replaced, never as it was', async () => {
  const { run, count } = buildStage('r', { type: 'redact' });
  const hostile: Record<string, unknown> = {};
  Object.defineProperty(hostile, 'secret', { enumerable: true, get: () => { throw new Error('boom'); } });
  const [r] = await run([record('password=hunter2', { raw: 'password=hunter2', attrs: { nested: hostile as never } })]);
  assert.equal(r!.message, '[REDACTED: redaction failed]');
  assert.equal(r!.raw, '[REDACTED: redaction failed]');
  assert.deepEqual(r!.attrs, { pipeline_error: { stage: 'r', error: 'boom' } });
  assert.equal(await count('pipeline_errors_total', { stage: 'r' }), 1);
});
