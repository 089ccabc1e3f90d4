import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeWindowsEvent } from '../../record/normalize/windows.ts';
import { eventFromTree, renderXml } from './event.ts';
import { EventXmlReader, parseEventXml, WindowsXmlError } from './xml.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'windows');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const events = (name: string) => parseEventXml(fixture(name)).map((el) => eventFromTree(el, renderXml(el)));

test('wevtutil /f:RenderedXml: System fields, rendered message, EventData, UserData', () => {
  const [scm, power, dcom, cleared] = events('wevtutil-system-rendered.xml');
  assert.equal(scm!.provider, 'Service Control Manager');
  assert.equal(scm!.eventId, 7036);
  assert.equal(scm!.recordId, 1000n);
  assert.equal(scm!.computer, 'WS-0042.corp.example');
  assert.equal(scm!.channel, 'System');
  assert.equal(scm!.systemTime, '2024-03-05T09:12:44.1234567Z');
  assert.equal(scm!.message, 'The Windows Update service entered the running state.');
  assert.deepEqual(scm!.eventData, { param1: 'Windows Update', param2: 'running', Binary: '770075006100750073006500720076002F0034000000' });
  assert.deepEqual(scm!.system, { Version: 0, Task: 0, Opcode: 0, Keywords: '0x8080000000000000', Qualifiers: 16384, ProviderGuid: '{555908d1-a6d7-4695-8e1e-26931d2012f4}', EventSourceName: 'Service Control Manager', ProcessID: 668, ThreadID: 7712 });
  assert.equal(power!.level, 1);
  assert.equal(power!.system?.UserID, 'S-1-5-18');
  assert.equal(dcom!.system?.ActivityID, '{f1e2d3c4-b5a6-4789-8abc-def012345678}');
  assert.match(dcom!.message!, /CLSID \r\n\{C2F03A33-21F5-47FA-B4BB-156362A2F239\}\r\n to the user NT AUTHORITY\\SYSTEM & others\.$/);
  assert.deepEqual(cleared!.eventData, {
    LogFileCleared: { SubjectUserSid: 'S-1-5-21-3623811015-3361044348-30300820-1013', SubjectUserName: 'j.doe', SubjectDomainName: 'CORP', Channel: 'Application', BackupPath: '' },
  });
});

test('mapped to records as DESIGN.md says', () => {
  const [scm, power, dcom] = events('wevtutil-system-rendered.xml');
  const r = normalizeWindowsEvent(power!, 0n, true);
  assert.equal(r.severity, 2); // Level 1 (critical) → crit
  assert.equal(r.host, 'WS-0042.corp.example');
  assert.equal(r.unit, 'Microsoft-Windows-Kernel-Power');
  assert.equal(r.type, 'system');
  assert.equal(r.os, 'windows');
  assert.equal(r.ts, 1_709_629_982_500_000_000n);
  assert.match(r.raw!, /^<Event xmlns="http:\/\/schemas.microsoft.com\/win\/2004\/08\/events\/event"><System><Provider Name="Microsoft-Windows-Kernel-Power"/);
  assert.equal(normalizeWindowsEvent(dcom!, 0n).severity, 4);
  assert.equal(normalizeWindowsEvent(dcom!, 0n).correlation_id, '{f1e2d3c4-b5a6-4789-8abc-def012345678}');
  assert.equal(normalizeWindowsEvent(scm!, 0n).attrs.EventID, 7036);
});

test('wevtutil /f:xml without rendering, and PowerShell ToXml output with unnamed Data and non-ASCII text', () => {
  const [logon, failed] = events('wevtutil-security.xml');
  assert.equal(logon!.message, undefined);
  assert.equal(logon!.eventData?.TargetUserName, 'j.doe');
  assert.equal(logon!.eventData?.LogonType, '10');
  assert.equal(failed!.eventData?.Status, '0xc000006d');
  assert.match(normalizeWindowsEvent(failed!, 0n).message, /^Microsoft-Windows-Security-Auditing event 4625: SubjectUserSid=S-1-0-0 /);
  const [msi, crash, spp] = events('powershell-application.xml');
  assert.equal(msi!.message, 'Product: Café Tools 日本語 -- Installation completed successfully.');
  assert.equal(msi!.eventData?.Data_0, 'Product: Café Tools 日本語 -- Installation completed successfully.');
  assert.equal(msi!.eventData?.Data_6, '');
  assert.equal(crash!.level, 2);
  assert.equal(normalizeWindowsEvent(crash!, 0n).type, 'application');
  assert.equal(spp!.message, undefined);
  assert.equal(spp!.provider, 'Microsoft-Windows-Security-SPP');
});

test('the same events however the output is split into chunks', () => {
  const text = fixture('wevtutil-system-rendered.xml');
  const whole = parseEventXml(text).map((e) => renderXml(e));
  for (const size of [1, 7, 100, 4096]) {
    const reader = new EventXmlReader();
    const got = [];
    for (let i = 0; i < text.length; i += size) got.push(...reader.write(text.slice(i, i + size)));
    got.push(...reader.end());
    assert.deepEqual(got.map((e) => renderXml(e)), whole, `chunks of ${size}`);
  }
  assert.equal(whole.length, 5);
});

test('bad output: malformed XML, output cut inside an event, an oversized event are clear errors', () => {
  assert.throws(() => parseEventXml('<Events><Event><System></Event></Events>'), WindowsXmlError);
  assert.throws(() => parseEventXml('<Events><Event><System>'), /ended inside an <Event>/);
  assert.throws(() => new EventXmlReader(100).write(`<Event><Data>${'x'.repeat(200)}</Data></Event>`), /longer than 100 characters/);
  // Events completed before the damage come with the error.
  const reader = new EventXmlReader();
  assert.throws(
    () => reader.write('<Events><Event><System><EventRecordID>1</EventRecordID></System></Event><Event><<'),
    (err: WindowsXmlError) => err.events.length === 1 && err.events[0]!.name === 'Event',
  );
});
