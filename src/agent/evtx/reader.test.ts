import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bufferSource, EvtxReader, type EvtxRecord } from './reader.ts';
import { EvtxFormatError } from './values.ts';
import { CLEAN_COUNTS, sampleFile } from '../../../test/helpers/evtx.ts';
import { buildChunk, buildFile, systemTemplate, systemValues, T, v, type RecordSpec } from '../../../test/helpers/evtx-builder.ts';

function readAll(data: Buffer): { records: EvtxRecord[]; reader: EvtxReader } {
  const reader = new EvtxReader(bufferSource(data));
  return { records: [...reader.records()], reader };
}

for (const [name, count] of Object.entries(CLEAN_COUNTS)) {
  test(`${name}: every record, as many as the chunk headers' record ranges say, no issues`, () => {
    const reader = EvtxReader.open(sampleFile(name));
    const ids: bigint[] = [];
    try {
      for (const r of reader.records()) {
        ids.push(r.recordId);
        assert.equal(r.event.recordId, r.recordId);
        assert.match(r.xml, /^<Event xmlns="http:\/\/schemas.microsoft.com\/win\/2004\/08\/events\/event"><System>/);
        assert.ok(r.event.provider && r.event.computer && r.event.channel, `record ${r.recordId} lacks System fields`);
      }
    } finally {
      reader.close();
    }
    assert.equal(ids.length, count);
    assert.equal(reader.stats.expectedRecords, count);
    assert.equal(reader.stats.records, count);
    assert.deepEqual(reader.issues, []);
    assert.equal(new Set(ids).size, ids.length, 'record ids are unique');
  });
}

test('sample records map to the fields Windows shows', () => {
  const find = (name: string, id: bigint) => {
    const reader = EvtxReader.open(sampleFile(name));
    try {
      for (const r of reader.records()) if (r.recordId === id) return r;
    } finally {
      reader.close();
    }
    throw new Error(`record ${id} not found in ${name}`);
  };
  const logon = find('security.evtx', 2n);
  assert.equal(logon.event.eventId, 4624);
  assert.equal(logon.event.provider, 'Microsoft-Windows-Security-Auditing');
  assert.equal(logon.event.systemTime, '2016-07-08T18:12:51.6816408Z');
  assert.equal(logon.event.eventData?.TargetUserName, 'SYSTEM');
  assert.equal(logon.event.eventData?.TargetLogonId, '0x3e7');
  assert.equal(logon.event.eventData?.LogonGuid, '{00000000-0000-0000-0000-000000000000}');
  assert.equal(logon.event.system?.Keywords, '0x8020000000000000');
  const sysmon = find('sysmon.evtx', 1742n);
  assert.equal(sysmon.event.channel, 'Microsoft-Windows-Sysmon/Operational');
  assert.equal(sysmon.event.system?.UserID, 'S-1-5-18');
  assert.equal(sysmon.event.eventData?.Image, 'C:\\Windows\\SysWOW64\\PING.EXE');
  const umdf = find('system.evtx', 46n); // UserData from a nested BinXML value
  assert.deepEqual(umdf.event.eventData, { UMDFReflectorDependencyMissing: { Dependency: 'WUDFPf' } });
  const classic = find('Application_no_crc32.evtx', 427n); // a string array repeats <Data>
  assert.deepEqual(classic.event.eventData, { Data_0: 'Windows Defender', Data_1: 'SECURITY_PRODUCT_STATE_ON', Binary: '' });
  assert.equal(classic.event.system?.Qualifiers, 0);
});

test('the damaged sample: every readable record, bad chunks reported with index, offset and reason', () => {
  const reader = EvtxReader.open(sampleFile('sample_with_a_bad_chunk_magic.evtx'));
  const ids = new Set<bigint>();
  try {
    for (const r of reader.records()) ids.add(r.recordId);
  } finally {
    reader.close();
  }
  assert.equal(ids.size, 300);
  assert.equal(reader.stats.badChunks, 2);
  assert.ok(ids.has(47675n) && ids.has(47705n), 'records after the zeroed gap in chunk 7 are recovered');
  assert.ok(!ids.has(46741n), 'the half-overwritten record is not passed off as an event');
  const errors = reader.issues.filter((i) => i.level === 'error').map((i) => i.reason);
  assert.ok(errors.includes('chunk 6 at offset 0x61000: bad chunk magic 00 00 00 00 00 00 00 00 (expected "ElfChnk\\0"); chunk skipped'), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('chunk 10 at offset 0xa1000: bad chunk magic')));
  assert.ok(errors.includes('chunk 7 at offset 0x71000: 44 of 78 records readable (record numbers 47628-47705)'));
  assert.ok(errors.some((e) => /^chunk 7: record header at offset 0x73060: bad record magic 0x0; resumed at offset 0x771d0/.test(e)));
  const chunk6 = reader.issues.find((i) => i.chunk === 6)!;
  assert.equal(chunk6.offset, 4096 + 6 * 65536);
});

/** A record whose template uses every BinXML construct. */
function richRecord(id: bigint, template: number | null): RecordSpec & { definition?: number } {
  const spec: RecordSpec & { definition?: number } = {
    id,
    body: (w) => {
      w.fragmentHeader();
      spec.definition = w.instance(
        template ??
          systemTemplate((e) => {
            e.element('EventData', [], (d) => {
              d.element('Data', [['Name', (a) => a.text('Path')]], (x) => x.sub(7, T.string));
              d.element('Data', [['Name', (a) => a.text('Items')]], (x) => x.sub(8, T.string | T.array));
              d.element('Data', [['Name', (a) => a.text('Mixed')]], (x) => x.text('a', true).charRef(0x26).entityRef('lt').text('b'));
              d.element('Data', [['Name', (a) => a.text('Optional')], ['Extra', (a) => a.sub(9, T.string, true)]], (x) => x.sub(9, T.string, true));
              d.element('Script', [], (x) => x.cdata('if (a < b) { x(); }'));
              d.element('Binary', [], (x) => x.sub(10, T.binary));
            });
            e.element('UserData', [], (u) => u.sub(11, T.binxml));
          }),
        [
          ...systemValues({ recordId: id, eventId: 4104, level: 3, computer: 'ws-7', channel: 'Microsoft-Windows-PowerShell/Operational', provider: 'Microsoft-Windows-PowerShell' }),
          v.string('C:\\Temp\\x & "y".ps1\r\nline 2'),
          v.strings(['one', 'two']),
          v.null(),
          v.binary('DEADBEEF'),
          {
            type: T.binxml,
            write: (n) => {
              n.element('ServiceState', [['xmlns', (a) => a.text('urn:cairn:test')]], (s) => {
                s.element('Name', [], (x) => x.text(`svc-${id}`));
                s.pi('cairn', 'note="kept"');
              });
              n.eof();
            },
          },
        ],
      );
      w.eof();
    },
  };
  return spec;
}

test('BinXML: templates (inline and reused), substitutions of every shape, arrays, references, CDATA, PI, nested BinXML', () => {
  const first = richRecord(7n, null);
  const chunk = buildChunk([first, { id: 8n, body: (w) => richRecord(8n, first.definition!).body(w) }]);
  const { records, reader } = readAll(buildFile([chunk]));
  assert.deepEqual(reader.issues, []);
  assert.equal(records.length, 2);
  const r = records[0]!;
  assert.equal(
    r.xml,
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-PowerShell"/>' +
      '<EventID>4104</EventID><Level>3</Level><TimeCreated SystemTime="2022-06-18T04:26:40.0000000Z"/><EventRecordID>7</EventRecordID>' +
      '<Channel>Microsoft-Windows-PowerShell/Operational</Channel><Computer>ws-7</Computer></System>' +
      '<EventData><Data Name="Path">C:\\Temp\\x &amp; "y".ps1&#xD;\nline 2</Data><Data Name="Items">one</Data><Data Name="Items">two</Data>' +
      '<Data Name="Mixed">a&amp;&lt;b</Data><Data Name="Optional"/><Script><![CDATA[if (a < b) { x(); }]]></Script><Binary>DEADBEEF</Binary></EventData>' +
      '<UserData><ServiceState xmlns="urn:cairn:test"><Name>svc-7</Name><?cairn note="kept"?></ServiceState></UserData></Event>',
  );
  assert.deepEqual(r.event.eventData, {
    Path: 'C:\\Temp\\x & "y".ps1\r\nline 2',
    Items: 'one',
    Items_2: 'two',
    Mixed: 'a&<b',
    Optional: '',
    Script: 'if (a < b) { x(); }',
    Binary: 'DEADBEEF',
    ServiceState: { Name: 'svc-7' },
  });
  assert.equal(r.event.level, 3);
  assert.equal(r.event.eventId, 4104);
  assert.equal(r.event.systemTime, '2022-06-18T04:26:40.0000000Z');
  assert.equal(r.writtenNs, 1_455_526_400_000_000_000n); // the record header's written time, not TimeCreated
  assert.match(records[1]!.xml, /<EventRecordID>8<\/EventRecordID>[^]*<Name>svc-8<\/Name>/);
});

function simpleChunk(firstId: bigint, n: number, opts: { noCrc?: boolean } = {}): Buffer {
  const specs: RecordSpec[] = [];
  let definition = -1;
  for (let i = 0; i < n; i++) {
    const id = firstId + BigInt(i);
    specs.push({
      id,
      body: (w) => {
        w.fragmentHeader();
        const values = [...systemValues({ recordId: id }), v.string(`message ${id}`)];
        const template = systemTemplate((e) => e.element('EventData', [], (d) => d.element('Data', [['Name', (a) => a.text('Text')]], (x) => x.sub(7, T.string))));
        definition = w.instance(definition < 0 ? template : definition, values);
        w.eof();
      },
    });
  }
  return buildChunk(specs, opts);
}

test('checksums: a mismatch is reported and the chunk is still read; NO_CRC32 files are not checked', () => {
  const chunk = simpleChunk(1n, 5);
  const damaged = Buffer.from(chunk);
  damaged[700] = damaged[700]! ^ 0xff; // inside the first record's template: the records checksum no longer matches
  const { records, reader } = readAll(buildFile([damaged]));
  assert.ok(reader.issues.some((i) => i.level === 'warning' && /event records checksum mismatch/.test(i.reason)));
  assert.ok(records.length >= 1 && records.length <= 5);

  const header = Buffer.from(chunk);
  header[20] = header[20]! ^ 0x01; // the last record number: header checksum mismatch
  const second = readAll(buildFile([header]));
  assert.ok(second.reader.issues.some((i) => /chunk 0 at offset 0x1000: header checksum mismatch/.test(i.reason)));
  assert.equal(second.records.length, 5);

  const noCrc = readAll(buildFile([simpleChunk(1n, 3, { noCrc: true })], { noCrc: true }));
  assert.deepEqual(noCrc.reader.issues, []);
  assert.equal(noCrc.records.length, 3);
});

test('a dirty file whose header undercounts its chunks: all chunks are read; unused space past the count is not damage', () => {
  const garbage = Buffer.alloc(65536, 0x5a);
  const { records, reader } = readAll(buildFile([simpleChunk(1n, 3), simpleChunk(4n, 2), garbage], { chunkCount: 1 }));
  assert.deepEqual(records.map((r) => r.recordId), [1n, 2n, 3n, 4n, 5n]);
  assert.deepEqual(reader.issues, []);
  // The same garbage inside the declared count is a bad chunk.
  const declared = readAll(buildFile([simpleChunk(1n, 3), garbage, simpleChunk(4n, 2)]));
  assert.equal(declared.records.length, 5);
  assert.equal(declared.reader.stats.badChunks, 1);
  assert.match(declared.reader.issues[0]!.reason, /^chunk 1 at offset 0x11000: bad chunk magic 5a 5a 5a 5a 5a 5a 5a 5a/);
});

test('a file cut short: the records before the cut, the chunk reported as truncated', () => {
  const file = buildFile([simpleChunk(1n, 4), simpleChunk(5n, 4)]);
  const chunk1 = 4096 + 65536;
  const cut = file.subarray(0, chunk1 + 1400);
  const { records, reader } = readAll(cut);
  assert.ok(records.length >= 4 && records.length < 8, `read ${records.length}`);
  assert.ok(reader.issues.some((i) => /chunk 1 at offset 0x11000: truncated: the file ends 1400 of 65536 bytes into the chunk/.test(i.reason)));
  assert.ok(reader.issues.some((i) => /chunk 1 at offset 0x11000: \d of 4 records readable/.test(i.reason)));
  const headerOnly = readAll(file.subarray(0, chunk1 + 100));
  assert.ok(headerOnly.reader.issues.some((i) => /truncated: the file ends 100 bytes into the chunk header; chunk skipped/.test(i.reason)));
});

test('a record whose template reference is garbage is skipped and reported; its neighbours are read', () => {
  const chunk = buildChunk([
    { id: 1n, body: (w) => (w.fragmentHeader(), w.instance(systemTemplate(() => {}), systemValues({ recordId: 1n })), w.eof()) },
    { id: 2n, body: (w) => (w.fragmentHeader(), w.instance(60000, systemValues({ recordId: 2n })), w.eof()) },
    { id: 3n, body: (w) => (w.fragmentHeader(), w.instance(systemTemplate(() => {}), systemValues({ recordId: 3n })), w.eof()) },
  ]);
  const { records, reader } = readAll(buildFile([chunk]));
  assert.deepEqual(records.map((r) => r.recordId), [1n, 3n]);
  assert.equal(reader.stats.badRecords, 1);
  assert.match(reader.issues.find((i) => i.recordId === 2n)!.reason, /^chunk 0: record 2 at offset 0x\w+ could not be parsed: .*; record skipped$/);
});

test('not an EVTX file: a clear error, not a crash', () => {
  assert.throws(() => [...new EvtxReader(bufferSource(Buffer.from('{"message":"hello"}\n'))).records()], EvtxFormatError);
  assert.throws(() => [...new EvtxReader(bufferSource(readFileSync(new URL(import.meta.url)))).records()], /not an EVTX file/);
  // A damaged file header with chunks behind it is read anyway.
  const file = buildFile([simpleChunk(1n, 2)]);
  file.write('XXXX', 0, 'latin1');
  const { records, reader } = readAll(file);
  assert.equal(records.length, 2);
  assert.match(reader.issues[0]!.reason, /file header is damaged/);
});
