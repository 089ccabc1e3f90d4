import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlPicture, displayExact, displayLine, stripAnsi } from './ansi.ts';

const RED = '\u001b[31;1mRED\u001b[0m';

test('the list removes colour and cursor sequences and keeps the text', () => {
  assert.equal(displayLine(`${RED} plain`), 'RED plain');
  assert.equal(stripAnsi('\u001b[2J\u001b[Hcleared'), 'cleared');
  assert.equal(stripAnsi('\u001b]0;window title\u0007after'), 'after');
  assert.equal(stripAnsi('\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\'), 'link');
  assert.equal(stripAnsi('\u009b31mC1 CSI'), 'C1 CSI');
});

test('the list shows line breaks and other controls visibly', () => {
  assert.equal(displayLine('a\nb\r\nc'), 'a ↵ b ↵ c');
  assert.equal(displayLine('bell\u0007 nul\u0000 bs\u0008'), 'bell␇ nul␀ bs␈');
  assert.equal(displayLine('lone esc \u001b'), 'lone esc ␛');
  assert.equal(displayLine('del\u007f'), 'del␡');
});

test('the expanded record shows every escape character as ␛ and keeps newlines and tabs', () => {
  assert.equal(displayExact(RED), '␛[31;1mRED␛[0m');
  assert.equal(displayExact('a\n\tb\r'), 'a\n\tb␍');
  assert.equal(displayExact('\u0085next line'), '⟦U+0085⟧next line');
});

test('bidirectional overrides are shown, not obeyed', () => {
  assert.equal(displayLine('user\u202Egnp.exe'), 'user⟦U+202E⟧gnp.exe');
  assert.equal(displayExact('\u2066x\u2069'), '⟦U+2066⟧x⟦U+2069⟧');
});

test('control pictures', () => {
  assert.equal(controlPicture('\u001b'), '␛');
  assert.equal(controlPicture('\u0000'), '␀');
  assert.equal(controlPicture('\u009f'), '⟦U+009F⟧');
});

test('HTML is left as text: escaping is the renderer\'s job and never skipped', () => {
  const html = '<img src=x onerror=alert(1)><script>alert(2)</script>&amp;';
  assert.equal(displayLine(html), html);
  assert.equal(displayExact(html), html);
});
