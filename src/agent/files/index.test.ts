import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../util/logger.ts';
import { DiskBuffer } from '../buffer/buffer.ts';
import { fileInputSchema } from '../config.ts';
import type { Input } from '../input.ts';
import { createAgentMetrics } from '../metrics.ts';
import { decodeRecord } from '../record.ts';
import { createFileInput } from './index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'cairn-files-'));

interface Harness {
  buffer: DiskBuffer;
  input: Input;
  metrics: ReturnType<typeof createAgentMetrics>;
  /** Messages buffered so far (read and acknowledged from the buffer). */
  messages: string[];
  records: Record<string, any>[];
  stop(): Promise<void>;
}

function start(dir: string, config: Record<string, unknown>): Harness {
  const buffer = DiskBuffer.open({ dir: join(dir, 'buffer'), maxBytes: 64 << 20, segmentBytes: 1 << 20, policy: 'block', fsyncIntervalMs: 5 });
  const metrics = createAgentMetrics();
  const cfg = fileInputSchema.parse({ scan_interval: '30ms', poll_interval: '10ms', ...config });
  const input = createFileInput(cfg, 'test', { buffer, hostname: 'host-1', os: 'linux', stateDir: dir, logger: silentLogger, metrics, claims: new Map() });
  const h: Harness = {
    buffer,
    input,
    metrics,
    messages: [],
    records: [],
    async stop() {
      await input.stop();
      await buffer.close();
    },
  };
  input.start();
  void (async () => {
    for (;;) {
      const chunk = await buffer.read(1000, 1 << 20);
      if (!chunk) return;
      for (const r of chunk.records) {
        const rec = decodeRecord(r.record);
        h.records.push(rec);
        h.messages.push(rec.message as string);
      }
      buffer.ack(chunk.lo, chunk.hi);
    }
  })();
  return h;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const lines = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix} ${from + i}`);
const write = (file: string, ls: string[]) => appendFileSync(file, ls.map((l) => l + '\n').join(''));

test('globs and excludes; each line becomes a record with host, unit, file and the configured fields', async () => {
  const dir = tmp();
  mkdirp(join(dir, 'logs', 'sub'));
  write(join(dir, 'logs', 'a.log'), ['alpha 1']);
  write(join(dir, 'logs', 'sub', 'b.log'), ['beta 1']);
  write(join(dir, 'logs', 'c.log.gz'), ['not me']);
  const h = start(dir, { paths: [join(dir, 'logs', '**', '*.log*')], exclude: ['*.gz'], service: 'web', attrs: { env: 'prod' } });
  await until('two lines', () => h.messages.length >= 2);
  write(join(dir, 'logs', 'a.log'), ['alpha 2']);
  await until('third line', () => h.messages.length >= 3);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(h.messages.sort(), ['alpha 1', 'alpha 2', 'beta 1']);
  const a = h.records.find((r) => r.message === 'alpha 1')!;
  assert.deepEqual([a.host, a.unit, a.service, a.os, a.type], ['host-1', 'a.log', 'web', 'linux', 'application']);
  assert.deepEqual(JSON.parse(a.attrsJson), { env: 'prod', file: join(dir, 'logs', 'a.log') });
  await h.stop();
});

test('rename rotation: the old file is read to its end (late writes too), the new one from its start; nothing twice', async () => {
  const dir = tmp();
  const file = join(dir, 'app.log');
  write(file, lines('r', 0, 100));
  const h = start(dir, { paths: [file] });
  await until('first 100', () => h.messages.length >= 100);
  write(file, lines('r', 100, 150));
  renameSync(file, `${file}.1`);
  write(`${file}.1`, lines('r', 150, 160)); // the app writes on to its open file for a moment
  write(file, lines('r', 160, 200));
  await until('all 200', () => h.messages.length >= 200);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(h.messages.toSorted((x, y) => Number(x.split(' ')[1]) - Number(y.split(' ')[1])), lines('r', 0, 200));
  assert.ok((await h.metrics.registry.getSingleMetricAsString('cairn_agent_file_rotations_total')).includes('kind="rename"'));
  await h.stop();
});

test('copytruncate: a file that shrinks is read again from its start', async () => {
  const dir = tmp();
  const file = join(dir, 'app.log');
  write(file, lines('c', 0, 50));
  const h = start(dir, { paths: [file] });
  await until('first 50', () => h.messages.length >= 50);
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  await new Promise((r) => setTimeout(r, 50));
  write(file, lines('c', 50, 60));
  await until('10 more', () => h.messages.length >= 60);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(h.messages, lines('c', 0, 60));
  // Truncated and regrown past the old offset while the agent was down: told apart by its first bytes.
  await h.stop();
  truncateSync(file, 0);
  write(file, lines('C', 0, 100));
  const h2 = start(dir, { paths: [file] });
  await until('the rewritten file', () => h2.messages.length >= 100);
  assert.deepEqual(h2.messages, lines('C', 0, 100));
  await h2.stop();
});

test('a restart resumes after the last buffered line: no gap, no repeat; an unfinished line waits for its newline', async () => {
  const dir = tmp();
  const file = join(dir, 'app.log');
  write(file, lines('s', 0, 30));
  appendFileSync(file, 'half a li');
  const h = start(dir, { paths: [file] });
  await until('30', () => h.messages.length >= 30);
  await h.stop();
  appendFileSync(file, 'ne\n');
  write(file, lines('s', 30, 40));
  const h2 = start(dir, { paths: [file] });
  await until('the rest', () => h2.messages.length >= 11);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(h2.messages, ['half a line', ...lines('s', 30, 40)]);
  await h2.stop();
});

test('start_at end skips what a file held before; multiline joins a stack trace and flushes it after the timeout', async () => {
  const dir = tmp();
  const file = join(dir, 'app.log');
  write(file, ['old 1', 'old 2']);
  const h = start(dir, { paths: [file], start_at: 'end', multiline: { start: '^\\d{4}-', timeout: '100ms' } });
  await new Promise((r) => setTimeout(r, 100));
  write(file, ['2024-05-01 error: boom', '  at f (a.js:1)', '  at g (b.js:2)', '2024-05-01 ok']);
  await until('two records', () => h.messages.length >= 2);
  assert.deepEqual(h.messages, ['2024-05-01 error: boom\n  at f (a.js:1)\n  at g (b.js:2)', '2024-05-01 ok']);
  await h.stop();
});

test('encodings: UTF-16LE with BOM and latin1 files', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'w.log'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Ereignis ä\r\nzwei\r\n', 'utf16le')]));
  writeFileSync(join(dir, 'l.log'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  const h = start(dir, { paths: [join(dir, 'w.log')], encoding: 'utf16le' });
  const h2 = start(join(dir, 'x') + mkdirp(join(dir, 'x')), { paths: [join(dir, 'l.log')], encoding: 'latin1' });
  await until('lines', () => h.messages.length >= 2 && h2.messages.length >= 1);
  assert.deepEqual(h.messages, ['Ereignis ä', 'zwei']);
  assert.deepEqual(h2.messages, ['café']);
  await h.stop();
  await h2.stop();
});

test('a deleted file is closed and forgotten', async () => {
  const dir = tmp();
  const file = join(dir, 'gone.log');
  write(file, ['one']);
  const h = start(dir, { paths: [file] });
  await until('one', () => h.messages.length >= 1);
  const key = h.buffer.positionKeys('file:')[0]!;
  rmSync(file);
  await until('forgotten', () => h.buffer.position(key) === undefined, 4000);
  await h.stop();
});

function mkdirp(path: string): string {
  mkdirSync(path, { recursive: true });
  return '';
}

test('an over-long line among short ones: truncated and marked, its neighbours intact, in order', async () => {
  const dir = tmp();
  const file = join(dir, 'app.log');
  const long = 'ü'.repeat(2000); // 4000 bytes
  write(file, ['short 1', long, 'short 2', 'ünï 3']);
  const h = start(dir, { paths: [file], max_line_bytes: 1024 });
  try {
    await until('four records', () => h.records.length >= 4);
    assert.deepEqual(
      h.records.map((r) => [Buffer.byteLength(r.message as string), JSON.parse(r.attrsJson as string).truncated ?? false]),
      [
        [7, false],
        [1024, true],
        [7, false],
        [7, false],
      ],
    );
    assert.equal(h.records[1]!.message, 'ü'.repeat(512));
    assert.deepEqual([h.records[0]!.message, h.records[2]!.message, h.records[3]!.message], ['short 1', 'short 2', 'ünï 3']);
    assert.deepEqual(h.records.map((r) => r.unit), ['app.log', 'app.log', 'app.log', 'app.log']);
  } finally {
    await h.stop();
  }
});
