/** The Windows, journald and syslog rows of DESIGN.md's record table, one assertion per cell. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeWindowsEvent, windowsLevelToSeverity } from './windows.ts';
import { normalizeJournalEntry } from './journald.ts';
import { normalizeSyslog } from './syslog.ts';

const NOW = 1_800_000_000_000_000_000n;

test('Windows Event Log mapping', () => {
  const r = normalizeWindowsEvent(
    {
      systemTime: '2024-03-01T10:20:30.1234567Z',
      computer: 'DESKTOP-1',
      provider: 'Microsoft-Windows-Kernel-Power',
      level: 2,
      channel: 'System',
      eventId: 41,
      recordId: 1234,
      message: 'The system has rebooted without cleanly shutting down first.',
      eventData: { BugcheckCode: '0' },
      system: { ActivityID: '{ABC}' },
      xml: '<Event/>',
    },
    NOW,
    true,
  );
  assert.equal(r.ts, 1_709_288_430_123_456_700n, 'ts ← TimeCreated/@SystemTime');
  assert.equal(r.observed_ts, NOW);
  assert.equal(r.os, 'windows');
  assert.equal(r.host, 'DESKTOP-1', 'host ← Computer');
  assert.equal(r.unit, 'Microsoft-Windows-Kernel-Power', 'unit ← Provider/@Name');
  assert.equal(r.severity, 3, 'Level 2 → 3');
  assert.equal(r.type, 'system', 'System channel → system');
  assert.equal(r.message, 'The system has rebooted without cleanly shutting down first.');
  assert.equal(r.correlation_id, '{ABC}');
  assert.deepEqual(r.attrs.EventData, { BugcheckCode: '0' });
  assert.equal(r.attrs.EventID, 41);
  assert.equal(r.attrs.Channel, 'System');
  assert.equal(r.attrs.RecordID, 1234);
  assert.equal(r.raw, '<Event/>', 'raw ← XML');
});

test('Windows levels and channels', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(windowsLevelToSeverity), [6, 2, 3, 4, 6, 7]);
  const base = { systemTime: '2024-01-01T00:00:00Z', computer: 'c', provider: 'p', level: 4, eventId: 1 };
  assert.equal(normalizeWindowsEvent({ ...base, channel: 'Security' }, NOW).type, 'system');
  assert.equal(normalizeWindowsEvent({ ...base, channel: 'Application' }, NOW).type, 'application');
  assert.equal(normalizeWindowsEvent({ ...base, channel: 'Microsoft-Windows-Sysmon/Operational' }, NOW).type, 'application');
  assert.equal(normalizeWindowsEvent({ ...base, channel: 'System' }, NOW).raw, null, 'raw only when configured');
});

test('journald mapping', () => {
  const entry = {
    __REALTIME_TIMESTAMP: '1700000000123456',
    __CURSOR: 's=abc',
    _HOSTNAME: 'arch-1',
    _SYSTEMD_UNIT: 'sshd.service',
    SYSLOG_IDENTIFIER: 'sshd',
    _EXE: '/usr/bin/sshd',
    PRIORITY: '3',
    MESSAGE: 'Failed password for root',
    _PID: '42',
  };
  const r = normalizeJournalEntry(entry, NOW);
  assert.equal(r.ts, 1_700_000_000_123_456_000n, 'ts ← __REALTIME_TIMESTAMP (us)');
  assert.equal(r.os, 'linux');
  assert.equal(r.host, 'arch-1', 'host ← _HOSTNAME');
  assert.equal(r.unit, 'sshd.service', 'unit ← _SYSTEMD_UNIT');
  assert.equal(r.severity, 3, 'severity ← PRIORITY');
  assert.equal(r.type, 'system', '_EXE outside /opt and /snap → system');
  assert.equal(r.message, 'Failed password for root', 'message ← MESSAGE');
  assert.equal(r.attrs._PID, '42', 'remaining fields → attrs');
  assert.equal(r.attrs.__CURSOR, undefined);
  assert.equal(r.attrs.MESSAGE, undefined);
});

test('journald unit fallbacks, application type and binary fields', () => {
  const noUnit = normalizeJournalEntry({ SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'x' }, NOW);
  assert.equal(noUnit.unit, 'kernel', 'else SYSLOG_IDENTIFIER');
  const exeOnly = normalizeJournalEntry({ _EXE: '/opt/app/bin/app', MESSAGE: 'x' }, NOW);
  assert.equal(exeOnly.unit, '/opt/app/bin/app', 'else _EXE');
  assert.equal(exeOnly.type, 'application', '_EXE under /opt → application');
  assert.equal(normalizeJournalEntry({ _EXE: '/snap/bin/x', MESSAGE: 'x' }, NOW).type, 'application');
  const binary = normalizeJournalEntry({ MESSAGE: [104, 105, 0, 255] }, NOW);
  assert.equal(binary.message, Buffer.from([104, 105, 0, 255]).toString('utf8'));
  assert.equal(normalizeJournalEntry({ MESSAGE: 'x' }, NOW).ts, NOW, 'no timestamp → receipt time');
});

test('syslog mapping', () => {
  const r = normalizeSyslog(
    {
      pri: 4 * 8 + 3, // auth.err
      ts: 1_700_000_000_000_000_000n,
      hostname: 'fw-1',
      appName: 'sshd',
      procId: '123',
      msgId: 'ID47',
      structuredData: { 'origin@1': { ip: '10.0.0.1' } },
      message: 'Invalid user admin',
      raw: '<35>1 ...',
    },
    NOW,
    { os: 'linux', keepRaw: true },
  );
  assert.equal(r.ts, 1_700_000_000_000_000_000n, 'ts ← header timestamp');
  assert.equal(r.host, 'fw-1', 'host ← HOSTNAME');
  assert.equal(r.unit, 'sshd', 'unit ← APP-NAME/TAG');
  assert.equal(r.severity, 3, 'severity ← PRI & 7');
  assert.equal(r.type, 'system', 'auth facility → system');
  assert.equal(r.os, 'linux', 'os from config');
  assert.equal(r.message, 'Invalid user admin');
  assert.deepEqual(r.attrs.sd, { 'origin@1': { ip: '10.0.0.1' } }, 'structured data → attrs');
  assert.equal(r.attrs.facility, 'auth');
  assert.equal(r.raw, '<35>1 ...');
  assert.equal(normalizeSyslog({ pri: 16 * 8 + 6, message: 'x' }, NOW).type, 'application', 'local0 → application');
  assert.equal(normalizeSyslog({ pri: 1 * 8 + 6, message: 'x' }, NOW).type, 'application', 'user → application');
  assert.equal(normalizeSyslog({ pri: 6, message: 'x' }, NOW).ts, NOW);
});
