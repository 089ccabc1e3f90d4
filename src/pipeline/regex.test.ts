import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileUserRegex, foldAsciiCase, UnsafeRegexError } from './regex.ts';

test('catastrophic patterns run in bounded time on a 100 KB line', () => {
  const line = 'a'.repeat(100_000) + '!';
  // The last two cannot run on V8's linear engine (counted repetition above 16) and run on RE2 (WebAssembly).
  for (const pattern of ['(a+)+$', '(a|aa)+$', '^(\\w+\\s?)*$', '(?i)(A+)+$', '(a*a*)+b', '(?<=a+)b', '(a{1,100})+$', '(?:a|a{2,40})+$']) {
    const re = compileUserRegex(pattern);
    const started = performance.now();
    assert.equal(re.test(line), false, pattern);
    const ms = performance.now() - started;
    // The backtracking engine would not finish; the linear engine takes milliseconds.
    assert.ok(ms < 2000, `${pattern} took ${ms} ms`);
  }
  const g = compileUserRegex('(a+)+$', { flags: 'g' });
  assert.equal(line.replace(g, 'X'), line);
});

test('patterns that need backtracking are refused with a reason', () => {
  for (const pattern of ['(a)\\1', '(?=a)b', 'a(?!b)', '(?<=(a+)+)b', '(x{1,20})\\1']) {
    assert.throws(() => compileUserRegex(pattern), (err: unknown) => err instanceof UnsafeRegexError && /needs backtracking/.test(err.message), pattern);
  }
  assert.throws(() => compileUserRegex('(unclosed'), (err: unknown) => err instanceof UnsafeRegexError && /not a valid regular expression/.test(err.message));
});

test('RE2 spellings: (?P<name>...) groups and a leading (?i)', () => {
  const re = compileUserRegex('(?i)user=(?P<user>[a-z]+)');
  assert.ok(re instanceof RegExp);
  assert.equal(re.exec('USER=Alice')?.groups?.user, 'Alice');
  assert.equal(re.flags.includes('i'), false, 'the linear engine does not take the i flag; case is folded into the pattern');
});

test('patterns V8 cannot run in linear time run on RE2: counted repetition above 16, RE2-only classes', () => {
  const trace = compileUserRegex('trace=(?P<id>[0-9a-f]{32})', { ignoreCase: true });
  assert.ok(!(trace instanceof RegExp));
  assert.equal(trace.exec('x TRACE=0123456789abcdef0123456789ABCDEF y')?.groups?.id, '0123456789abcdef0123456789ABCDEF');
  const posix = compileUserRegex('^[[:alpha:]]+$');
  assert.ok(posix.test('abc') && !posix.test('ab1'));
  const g = compileUserRegex('\\d{17}', { flags: 'g' });
  assert.equal(g instanceof RegExp ? '' : g.replace('id 12345678901234567 ok', 'N'), 'id N ok');
});

test('ASCII case folding keeps escapes, group names, classes and counts intact', () => {
  assert.equal(foldAsciiCase('ab'), '[aA][bB]');
  assert.equal(foldAsciiCase('\\d+\\w{2,3}'), '\\d+\\w{2,3}');
  assert.equal(foldAsciiCase('(?<name>x)'), '(?<name>[xX])');
  assert.equal(foldAsciiCase('[a-c_]'), '[a-c_A-C]');
  assert.equal(foldAsciiCase('[^Q]'), '[^Qq]');
  assert.equal(foldAsciiCase('\\x41\\u0042\\p{L}'), '\\x41\\u0042\\p{L}');
  const re = new RegExp(foldAsciiCase('^(?<level>warn|error)\\s[a-f0-9]{4}$'));
  assert.ok(re.test('WaRn BEEF'));
  assert.ok(!re.test('warn beefy'));
});
