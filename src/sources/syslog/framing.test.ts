/** RFC 6587 framing: both methods, frames split anywhere, oversize handling, broken streams. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyslogFramer, type FramerOptions } from './framing.ts';

function octetCounted(messages: string[]): Buffer {
  return Buffer.from(messages.map((m) => `${Buffer.byteLength(m)} ${m}`).join(''));
}

interface Seen {
  frames: string[];
  truncated: boolean[];
  oversize: number[];
  errors: string[];
}

function framer(options: Partial<FramerOptions> = {}): { f: SyslogFramer; seen: Seen } {
  const seen: Seen = { frames: [], truncated: [], oversize: [], errors: [] };
  const f = new SyslogFramer(
    {
      frame: (b, t) => {
        seen.frames.push(b.toString('utf8'));
        seen.truncated.push(t);
      },
      oversize: (n) => seen.oversize.push(n),
      error: (r) => seen.errors.push(r),
    },
    { maxBytes: 64, oversize: 'reject', ...options },
  );
  return { f, seen };
}

/** Feeds `data` split at every position (and in single bytes), expecting the same frames each time. */
function feedAllSplits(data: string, options: Partial<FramerOptions> = {}): Seen {
  const bytes = Buffer.from(data);
  const whole = framer(options);
  whole.f.push(bytes);
  whole.f.end();
  for (let cut = 1; cut < bytes.length; cut++) {
    const split = framer(options);
    split.f.push(bytes.subarray(0, cut));
    split.f.push(bytes.subarray(cut));
    split.f.end();
    assert.deepEqual(split.seen, whole.seen, `split at ${cut}`);
  }
  const single = framer(options);
  for (let i = 0; i < bytes.length; i++) single.f.push(bytes.subarray(i, i + 1));
  single.f.end();
  assert.deepEqual(single.seen, whole.seen, 'byte by byte');
  return whole.seen;
}

test('newline framing: LF, CRLF, NUL padding, empty lines, a last line without LF', () => {
  const seen = feedAllSplits('<13>one\n<13>two\r\n\n<13>three\u0000\n<13>four');
  assert.equal(seen.frames.length, 4);
  assert.deepEqual(seen.frames, ['<13>one', '<13>two', '<13>three', '<13>four']);
});

test('octet counting (RFC 5425): back-to-back frames, multi-byte characters, a stray LF between frames', () => {
  const msgs = ['<13>1 - - - - - - hello', '<13>1 - - - - - - gr\u00fc\u00dfe \u2603', '<13>x\ny'];
  const data = msgs.map((m) => `${Buffer.byteLength(m)} ${m}`).join('') + `\n5 <13>z`;
  const seen = feedAllSplits(data);
  assert.deepEqual(seen.frames, [...msgs, '<13>z'], 'an LF inside a counted frame is message content');
  assert.deepEqual(seen.errors, []);
});

test('the framing is chosen by the first byte of the connection', () => {
  const counted = framer();
  counted.f.push(Buffer.from('\n\n3 <1>'));
  assert.equal(counted.f.framing, 'octet-counting');
  const lines = framer();
  lines.f.push(Buffer.from('<1>x\n'));
  assert.equal(lines.f.framing, 'newline');
});

test('oversize, reject: a counted frame is skipped by exactly its length, a line up to its LF', () => {
  const big = 'x'.repeat(100);
  const counted = feedAllSplits(`100 ${big}5 <13>a`);
  assert.deepEqual(counted.frames, ['<13>a']);
  assert.deepEqual(counted.oversize, [100]);
  const lines = feedAllSplits(`<13>a\n${big}\n<13>b\n`);
  assert.deepEqual(lines.frames, ['<13>a', '<13>b']);
  assert.deepEqual(lines.oversize, [100]);
});

test('oversize, truncate: the first maxBytes are kept and marked', () => {
  const big = 'y'.repeat(100);
  const counted = feedAllSplits(`100 ${big}5 <13>a`, { oversize: 'truncate' });
  assert.deepEqual(counted.frames, ['y'.repeat(64), '<13>a']);
  assert.deepEqual(counted.truncated, [true, false]);
  const lines = feedAllSplits(`${big}\n<13>b\n`, { oversize: 'truncate' });
  assert.deepEqual(lines.frames, ['y'.repeat(64), '<13>b']);
  assert.deepEqual(lines.truncated, [true, false]);
});

test('a frame of exactly maxBytes passes whole', () => {
  const exact = 'z'.repeat(64);
  assert.deepEqual(feedAllSplits(`64 ${exact}`).frames, [exact]);
  assert.deepEqual(feedAllSplits(`${exact}\n`).frames, [exact]);
});

test('broken octet counting stops the stream with a reason', () => {
  const cases: [string, RegExp][] = [
    ['12 <13>hello w', /closed inside a frame \(1 of 12 bytes missing\)/],
    ['99999999999999999999 x', /more than 10 digits/],
    ['5 <13>a<13>b', /expected an octet count/],
    ['5 <13>a0 x', /expected an octet count/],
    ['12', /closed inside a frame \(in its length\)/],
  ];
  for (const [data, reason] of cases) {
    const { f, seen } = framer();
    f.push(Buffer.from(data));
    f.end();
    assert.equal(seen.errors.length, 1, data);
    assert.match(seen.errors[0]!, reason);
    const before = seen.frames.length;
    f.push(Buffer.from('5 <13>c'));
    assert.equal(seen.frames.length, before, 'nothing is read after the error');
  }
});

test('a sink that asks to stop gets no more frames; the rest is read when pushed again', () => {
  for (const data of ['<13>a\n<13>b\n<13>c\n', octetCounted(['<13>a', '<13>b', '<13>c']).toString()]) {
    const frames: string[] = [];
    const f = new SyslogFramer(
      {
        frame: (b) => {
          frames.push(b.toString());
          return false;
        },
        oversize: () => undefined,
        error: (r) => assert.fail(r),
      },
      { maxBytes: 64, oversize: 'reject' },
    );
    let rest = Buffer.from(data);
    while (rest.length > 0) {
      const read = f.push(rest);
      assert.ok(read > 0 && read <= rest.length);
      rest = rest.subarray(read);
    }
    assert.deepEqual(frames, ['<13>a', '<13>b', '<13>c'], data);
  }
});

test('a huge count within the digit limit is skipped without buffering it', () => {
  const { f, seen } = framer();
  f.push(Buffer.from('9999999999 '));
  for (let i = 0; i < 100; i++) f.push(Buffer.alloc(65536, 0x41));
  assert.deepEqual(seen.oversize, [9_999_999_999]);
  assert.deepEqual(seen.frames, []);
  const held = (f as unknown as { gathered: number }).gathered;
  assert.equal(held, 0, 'nothing of a skipped frame is held');
});

test('random bytes never throw, and a newline stream never holds more than maxBytes + 1', () => {
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 300; round++) {
    const { f } = framer({ oversize: round % 2 ? 'truncate' : 'reject' });
    for (let c = 0; c < 20; c++) {
      const chunk = Buffer.alloc(Math.floor(rand() * 300));
      for (let i = 0; i < chunk.length; i++) chunk[i] = rand() < 0.1 ? 10 : rand() < 0.2 ? 48 + Math.floor(rand() * 10) : Math.floor(rand() * 256);
      f.push(chunk);
      assert.ok((f as unknown as { gathered: number }).gathered <= 65);
    }
    f.end();
  }
});
