import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TOKEN_RULES, Tokenizer } from './tokenize.ts';

function masked(message: string, tokenizer = new Tokenizer()): string {
  tokenizer.key(message);
  const tokens = tokenizer.tokens();
  const seps = tokenizer.separators();
  return seps[0] + tokens.map((t, i) => t + seps[i + 1]).join('');
}

test('splits at whitespace and field punctuation, keeping the punctuation as separators', () => {
  const t = new Tokenizer();
  t.key('pam_unix(sshd:auth): authentication failure; logname= uid=0');
  assert.deepEqual(t.tokens(), ['pam_unix', 'sshd', 'auth', 'authentication', 'failure', 'logname', 'uid', '<*>']);
  assert.deepEqual(t.separators(), ['', '(', ':', '): ', ' ', '; ', '= ', '=', '']);
});

test('whitespace runs, tabs and control characters are one space; ends are trimmed', () => {
  assert.equal(masked('  a \t\t b\u0000c  '), 'a b c');
});

test('variables: digits, paths, URLs, dates, units, hex-colon words, empty values', () => {
  const cases: [string, string][] = [
    ['Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6', 'Received block <*> of size <*> from <*>'],
    ['Deleting C:\\Windows\\Temp\\x.log now', 'Deleting C:<*> now'],
    ['chdir(./runtime) failed', 'chdir(<*>) failed'],
    ['Input split: hdfs://master:9000/user/root/part-00000:0+4096', 'Input split: <*>'],
    ['Default file system [hdfs://10.0.0.1:8020]', 'Default file system [<*>]'],
    ['connection at Fri Jun 17 07:07:00 2005', 'connection at <*> <*> <*> <*> <*>'],
    ['stored (estimated size 5.2 KB, free 384.0 B)', 'stored (estimated size <*>, free <*>)'],
    ['took 30 ms to finish', 'took <*> to finish'],
    ['chip FF:F2:9F:16:E2:23:00:0D:60:E9:1D:DC changed', 'chip <*> changed'],
    ['peer fe80::1ff:fe23:4567:890a up', 'peer <*> up'],
    ['connection from 1.2.3.4 () at noon', 'connection from <*> (<*>) at noon'],
    ['connection from 1.2.3.4 (host.example.org) at noon', 'connection from <*> (host.example.org) at noon'],
    ['program interrupt: illegal instruction......0', 'program interrupt: illegal instruction......<*>'],
  ];
  for (const [message, expected] of cases) assert.equal(masked(message), expected, message);
});

test('words stay words: no digits, no path, not a date, unit or hex word', () => {
  for (const message of ['Transitioned from NEW to RUNNING', 'Input/output error', 'clear()', 'data: beef cafe', 'may be Mayday', 'size B']) {
    assert.equal(masked(message), message);
  }
});

test('the masked key cannot be forged by a message that contains <*>', () => {
  const t = new Tokenizer();
  assert.notEqual(t.key('a <*> b'), t.key('a 5 b'));
  assert.equal(t.key('a 5 b'), t.key('a 77 b'));
});

test('each rule can be switched off (for the benchmark ablation)', () => {
  const off = (rule: keyof typeof DEFAULT_TOKEN_RULES) => new Tokenizer({ ...DEFAULT_TOKEN_RULES, [rule]: false });
  assert.equal(masked('a=1', off('punctuation')), '<*>');
  assert.equal(masked('a 1', off('digits')), 'a 1');
  assert.equal(masked('at /tmp', off('paths')), 'at /tmp');
  assert.equal(masked('on Fri', off('dates')), 'on Fri');
  assert.equal(masked('1 KB', off('units')), '<*> KB');
  assert.equal(masked('x FF:EE:1A', off('hexColon')), 'x FF:EE:<*>');
  assert.equal(masked('x () y', off('emptyValue')), 'x () y');
  assert.equal(masked('a....b', off('leaderDots')), 'a....b');
});

test('long messages: buffers grow, and tokens past maxTokens are one variable', () => {
  const message = Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ') + '  ';
  const t = new Tokenizer(DEFAULT_TOKEN_RULES, 1000);
  t.key(message);
  assert.equal(t.tokens().length, 500);
  const capped = new Tokenizer(DEFAULT_TOKEN_RULES, 3);
  capped.key('alpha beta gamma delta (epsilon)  ');
  assert.deepEqual(capped.tokens(), ['alpha', 'beta', '<*>']);
  assert.deepEqual(capped.separators(), ['', ' ', ' ', '']);
  assert.equal(new Tokenizer(DEFAULT_TOKEN_RULES, 128).key(message).split(' ').length, 128);
});
