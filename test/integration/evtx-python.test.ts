/**
 * Cross-check of the EVTX parser against python-evtx (an independent parser,
 * installed by scripts/install-deps.sh into .tmp/python-evtx): for every sample
 * file, the same record ids, and per record the same EventID, provider, level,
 * channel, computer, time and named EventData values.
 *
 * python-evtx renders some values its own way; those are compared by meaning:
 * hex numbers by value (it zero-pads them), GUIDs ignoring case, times to
 * within 2 µs (it converts FILETIME through a float), line ends as \n (it writes
 * \r raw into its XML), control characters dropped (as it does), binary
 * as hex (it prints base64), booleans ignoring case. String arrays are skipped:
 * it renders them as one <Data> holding <string> items, where Windows (and
 * Cairn) repeat the element per item.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EvtxReader } from '../../src/agent/evtx/reader.ts';
import { parseTimestamp } from '../../src/record/time.ts';
import { ROOT } from '../helpers/server.ts';
import { SAMPLES, sampleFile } from '../helpers/evtx.ts';

const PYTHON = process.env.CAIRN_PYTHON_EVTX ?? join(ROOT, '.tmp', 'python-evtx', 'bin', 'python');
const DUMP = join(import.meta.dirname, 'evtx', 'python_evtx_dump.py');

interface PyRecord {
  record_id: number;
  error?: string;
  event_id: string;
  provider: string;
  level: string;
  channel: string;
  computer: string;
  time: string;
  data: Record<string, string | null>;
}

function micros(text: string): bigint | undefined {
  const ns = parseTimestamp(text.replace(' ', 'T').replace('+00:00', 'Z'));
  return ns === undefined ? undefined : ns / 1000n;
}

function sameMoment(a: string, b: string): boolean {
  const x = micros(a);
  const y = micros(b);
  if (x === undefined || y === undefined) return false;
  const d = x - y;
  return d >= -2n && d <= 2n;
}

// Characters python-evtx drops from values (its RESTRICTED_CHARS).
const RESTRICTED = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]/g;

function sameValue(ours: string, theirs: string): boolean {
  // python-evtx writes \r raw into its XML, so an XML parser reads it back as \n.
  if (ours.replaceAll('\r\n', '\n').replaceAll('\r', '\n').replace(RESTRICTED, '') === theirs) return true;
  if (/^([0-9A-F]{2})+$/.test(ours)) return Buffer.from(theirs, 'base64').toString('hex').toUpperCase() === ours;
  if (/^0x[0-9a-f]+$/i.test(ours) && /^0x[0-9a-f]+$/i.test(theirs)) return BigInt(ours) === BigInt(theirs);
  if (/^(true|false)$/i.test(ours) || /^\{[0-9A-F-]{36}\}$/i.test(ours)) return ours.toLowerCase() === theirs.toLowerCase();
  // FILETIME 0: python-evtx prints datetime.min.
  if (ours === '1601-01-01T00:00:00.0000000Z') return theirs === '0001-01-01 00:00:00';
  if (/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(ours)) return sameMoment(ours, theirs);
  if (ours !== '' && Number.isFinite(Number(ours))) return Number(ours) === Number(theirs);
  return false;
}

test('python-evtx is installed (scripts/install-deps.sh)', () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run scripts/install-deps.sh`);
});

for (const name of SAMPLES) {
  test(`${name}: same records and values as python-evtx`, () => {
    const run = spawnSync(PYTHON, [DUMP, sampleFile(name)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.equal(run.status, 0, run.stderr);
    const theirs = new Map<string, PyRecord>();
    for (const line of run.stdout.split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as PyRecord;
      // python-evtx renders a half-overwritten record as an empty shell (no time, no record id); Cairn reports it instead.
      if (r.error === undefined && !r.time) continue;
      theirs.set(String(r.record_id), r);
    }
    const reader = EvtxReader.open(sampleFile(name));
    let compared = 0;
    let values = 0;
    try {
      for (const rec of reader.records()) {
        const py = theirs.get(rec.recordId.toString());
        if (!py) continue; // records python-evtx does not reach (after damage) are checked in the unit tests
        theirs.delete(rec.recordId.toString());
        const at = `record ${rec.recordId}`;
        assert.equal(py.error, undefined, `${at}: python-evtx failed: ${py.error}`);
        const e = rec.event;
        assert.equal(String(e.eventId), py.event_id, `${at} EventID`);
        assert.equal(e.provider, py.provider, `${at} provider`);
        assert.equal(String(e.level), py.level, `${at} level`);
        assert.equal(e.channel, py.channel, `${at} channel`);
        assert.equal(e.computer, py.computer, `${at} computer`);
        assert.ok(sameMoment(String(e.systemTime), py.time), `${at} time ${e.systemTime} vs ${py.time}`);
        for (const [key, value] of Object.entries(py.data)) {
          if (value === null || value.includes('<string>')) continue;
          const ours = e.eventData?.[key];
          assert.equal(typeof ours, 'string', `${at} EventData ${key} missing`);
          assert.ok(sameValue(ours as string, value), `${at} EventData ${key}: ${JSON.stringify(ours)} vs ${JSON.stringify(value)}`);
          values++;
        }
        compared++;
      }
    } finally {
      reader.close();
    }
    assert.deepEqual([...theirs.keys()], [], 'records python-evtx read that Cairn did not');
    assert.ok(compared > 0 && values > 0);
  });
}
